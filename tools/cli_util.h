// Small helpers shared by the CLI's subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "unicache/client.h"

namespace unicache::cli {

// Prints "unicache <command>: <status message>" and a hint to stderr; returns exit code 1.
int Fail(const std::string& command, const Status& status, const std::string& hint = "");

// Adds an option that takes a SIZE ("512MiB", "4GiB", bytes) into *bytes.
CLI::Option* AddSizeOption(CLI::App& app, const std::string& name, uint64_t* bytes,
                           const std::string& help);

// Returns the node address to talk to: the first of a comma-separated --peers list,
// else UNICACHE_PEERS, else 127.0.0.1:8470.
std::string PickNode(const std::string& peers);

// Returns the --peers list to use: `peers`, else UNICACHE_PEERS, else 127.0.0.1:8470.
std::string PeerList(const std::string& peers);

// Connects the cluster client to `discovery` when set, else to PeerList(peers), with the other
// settings from `options`.
Result<std::unique_ptr<Client>> ConnectClient(const std::string& peers,
                                              const std::string& discovery,
                                              ClientOptions options = {});

}  // namespace unicache::cli
