// The subcommands of the `unicache` CLI. Each Add*Command registers one subcommand on `app`;
// its callback runs the command and stores the process exit code in *exit_code.
#pragma once

#include <CLI/CLI.hpp>

namespace unicache::cli {

void AddServeCommand(CLI::App& app, int* exit_code);
void AddGetCommand(CLI::App& app, int* exit_code);
void AddLsCommand(CLI::App& app, int* exit_code);
void AddDemoCommand(CLI::App& app, int* exit_code);
void AddKvCommand(CLI::App& app, int* exit_code);
void AddWarmCommand(CLI::App& app, int* exit_code);
void AddStatusCommand(CLI::App& app, int* exit_code);
void AddMountCommand(CLI::App& app, int* exit_code);
void AddSimCommand(CLI::App& app, int* exit_code);

}  // namespace unicache::cli
