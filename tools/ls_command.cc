// unicache ls: lists objects of an origin through the cache.
#include <cstdio>
#include <memory>

#include "cli_util.h"
#include "client/object_client.h"
#include "commands.h"
#include "common/object_path.h"
#include "common/units.h"

namespace unicache::cli {
namespace {

struct LsFlags {
  std::string peers;
  std::string target;  // ORIGIN[/PREFIX]
  bool recursive = false;
  bool long_format = false;
};

int RunLs(const LsFlags& f) {
  size_t slash = f.target.find('/');
  std::string origin = f.target.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : f.target.substr(slash + 1);
  if (origin.empty()) return Fail("ls", InvalidArgument("expected ORIGIN[/PREFIX]"));
  if (Status st = ValidatePrefix(prefix); !st.ok()) return Fail("ls", st);
  ObjectClient client(PickNode(f.peers));
  ListOptions options;
  options.prefix = prefix;
  options.delimiter = f.recursive ? "" : "/";
  size_t listed = 0;
  do {
    Result<ListPage> page = client.List(origin, options);
    if (!page.ok()) {
      return Fail("ls", page.status(),
                  page.status().code() == StatusCode::kUnavailable
                      ? "is a node running at " + client.node() + "? (--peers HOST:PORT)"
                      : "");
    }
    listed += page->prefixes.size() + page->objects.size();
    for (const std::string& p : page->prefixes) std::printf("%s\n", p.c_str());
    for (const ObjectInfo& o : page->objects) {
      if (f.long_format) {
        std::printf("%12llu  %s\n", static_cast<unsigned long long>(o.size), o.path.c_str());
      } else {
        std::printf("%s\n", o.path.c_str());
      }
    }
    options.token = page->next_token;
  } while (!options.token.empty());
  // Like ls(1) on a missing path: a typo in the prefix must not look like an empty directory.
  if (listed == 0) return Fail("ls", NotFound("no objects under " + f.target));
  return 0;
}

}  // namespace

void AddLsCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<LsFlags>();
  CLI::App* cmd = app.add_subcommand("ls", "List ORIGIN[/PREFIX] through the cache");
  cmd->add_option("target", flags->target, "ORIGIN[/PREFIX]")->required();
  cmd->add_flag("-r,--recursive", flags->recursive, "List everything below the prefix");
  cmd->add_flag("-l,--long", flags->long_format, "Show sizes");
  cmd->add_option("--peers", flags->peers,
                  "HOST:PORT of a node (default: $UNICACHE_PEERS or 127.0.0.1:8470)");
  cmd->callback([flags, exit_code] { *exit_code = RunLs(*flags); });
}

}  // namespace unicache::cli
