#include "cli_util.h"

#include <cstdio>
#include <cstdlib>

#include "common/units.h"

namespace unicache::cli {

int Fail(const std::string& command, const Status& status, const std::string& hint) {
  std::fprintf(stderr, "unicache %s: %s\n", command.c_str(), status.message().c_str());
  if (!hint.empty()) std::fprintf(stderr, "hint: %s\n", hint.c_str());
  return 1;
}

CLI::Option* AddSizeOption(CLI::App& app, const std::string& name, uint64_t* bytes,
                           const std::string& help) {
  return app.add_option_function<std::string>(
      name,
      [bytes, name](const std::string& text) {
        Result<uint64_t> v = ParseSize(text);
        if (!v.ok()) throw CLI::ValidationError(name, v.status().message());
        *bytes = *v;
      },
      help + " (SIZE: bytes, or with a unit: KiB, MiB, GiB, TiB)");
}

std::string PeerList(const std::string& peers) {
  std::string list = peers;
  if (list.empty()) {
    const char* env = std::getenv("UNICACHE_PEERS");
    if (env != nullptr) list = env;
  }
  return list.empty() ? "127.0.0.1:8470" : list;
}

std::string PickNode(const std::string& peers) {
  std::string list = PeerList(peers);
  return list.substr(0, list.find(','));
}

Result<std::unique_ptr<Client>> ConnectClient(const std::string& peers,
                                              const std::string& discovery, ClientOptions options) {
  if (discovery.empty()) {
    options.peers = PeerList(peers);
  } else {
    options.discovery = discovery;
  }
  return Client::Connect(options);
}

}  // namespace unicache::cli
