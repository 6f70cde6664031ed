// unicache: the one command-line tool (serve, get, ls, demo, ...).
#include <cstdio>
#include <string>
#include <string_view>

#include "commands.h"
#include "common/logging.h"
#include "progress.h"

namespace {

// Returns the first argument that is neither an option nor an option's value, or "" when none:
// the subcommand the user meant. `app`'s own options that take a value are skipped with it.
std::string FirstCommandWord(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("-")) return std::string(arg);
    if (arg.find('=') != std::string_view::npos) continue;
    const CLI::Option* option = app.get_option_no_throw(std::string(arg));
    if (option != nullptr && option->get_type_size() > 0) ++i;  // skip its value
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"unicache: a distributed cache between AI jobs and cloud object storage"};
  app.require_subcommand(1);
  // Options of the tool itself may also follow the subcommand: `unicache ls --log-level debug`.
  app.fallthrough();
  app.set_version_flag("--version", std::string("unicache ") + UNICACHE_VERSION);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->envname("UNICACHE_LOG_LEVEL");
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "No progress lines (results and errors still print)");
  int exit_code = 0;
  unicache::cli::AddServeCommand(app, &exit_code);
  unicache::cli::AddGetCommand(app, &exit_code);
  unicache::cli::AddLsCommand(app, &exit_code);
  unicache::cli::AddDemoCommand(app, &exit_code);
  unicache::cli::AddKvCommand(app, &exit_code);
  unicache::cli::AddWarmCommand(app, &exit_code);
  unicache::cli::AddStatusCommand(app, &exit_code);
  unicache::cli::AddMountCommand(app, &exit_code);
  unicache::cli::AddSimCommand(app, &exit_code);
  app.parse_complete_callback([&] {
    if (auto st = unicache::InitLogging(log_level); !st.ok()) {
      throw CLI::ValidationError("--log-level", st.message());
    }
    unicache::cli::SetQuietProgress(quiet);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::string word = FirstCommandWord(app, argc, argv);
    std::string commands;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) {
      commands += (commands.empty() ? "" : ", ") + sub->get_name();
      known = known || sub->get_name() == word;
    }
    if (!word.empty() && !known) {
      std::fprintf(stderr, "unicache: unknown command '%s'\nhint: the commands are %s\n",
                   word.c_str(), commands.c_str());
      return 2;
    }
    std::fprintf(stderr, "unicache: %s (see --help)\n", e.what());
    return e.get_exit_code() == 0 ? 2 : e.get_exit_code();
  }
  return exit_code;
}
