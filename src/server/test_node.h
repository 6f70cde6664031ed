// TestNode: a real Node on 127.0.0.1 in a temporary directory, for tests of the transports and
// clients that talk to one (KV over HTTP and shared memory, the C API). Not thread-safe.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "server/node.h"

namespace unicache {

class TestNode {
 public:
  // Starts a node with one local origin (DIR/origin), 64 MiB RAM and SSD tiers and the given
  // KV namespaces ("NAME=QUOTA"); its KV socket is DIR/cache/kv.sock.
  static Result<std::unique_ptr<TestNode>> Start(std::vector<std::string> kv_namespaces) {
    std::string templ =
        (std::filesystem::temp_directory_path() / "unicache-testnode-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) return Internal("mkdtemp failed");
    std::unique_ptr<TestNode> t(new TestNode(templ));
    std::filesystem::create_directories(t->dir_ + "/origin");
    NodeOptions o;
    o.listen = "127.0.0.1:0";
    o.origins = {t->dir_ + "/origin"};
    o.cache_dir = t->dir_ + "/cache";
    o.ram_bytes = 64ull << 20;
    o.ssd_bytes = 64ull << 20;
    o.origin_threads = 4;
    o.ssd_threads = 4;
    o.peer_threads = 4;
    o.kv_threads = 4;
    o.io_threads = 2;
    o.kv_namespaces = std::move(kv_namespaces);
    ASSIGN_OR_RETURN(t->node_, Node::Start(o));
    return t;
  }
  ~TestNode() {
    node_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Stops the node (its KV socket goes away) and keeps the directory.
  void StopNode() { node_.reset(); }
  std::string address() const { return node_->address(); }
  std::string kv_socket() const { return dir_ + "/cache/kv.sock"; }

 private:
  explicit TestNode(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  std::unique_ptr<Node> node_;
};

}  // namespace unicache
