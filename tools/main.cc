// unicache: the one command-line tool (serve, get, ls, demo, ...).
#include <cstdio>

#include "commands.h"
#include "common/logging.h"

int main(int argc, char** argv) {
  CLI::App app{"unicache: a distributed cache between AI jobs and cloud object storage"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->envname("UNICACHE_LOG_LEVEL");
  int exit_code = 0;
  unicache::cli::AddServeCommand(app, &exit_code);
  unicache::cli::AddGetCommand(app, &exit_code);
  unicache::cli::AddLsCommand(app, &exit_code);
  unicache::cli::AddDemoCommand(app, &exit_code);
  unicache::cli::AddKvCommand(app, &exit_code);
  unicache::cli::AddWarmCommand(app, &exit_code);
  unicache::cli::AddStatusCommand(app, &exit_code);
  unicache::cli::AddMountCommand(app, &exit_code);
  app.parse_complete_callback([&] {
    if (auto st = unicache::InitLogging(log_level); !st.ok()) {
      throw CLI::ValidationError("--log-level", st.message());
    }
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "unicache: %s (see --help)\n", e.what());
    return e.get_exit_code() == 0 ? 2 : e.get_exit_code();
  }
  return exit_code;
}
