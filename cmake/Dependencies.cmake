# Third-party libraries, all from Debian 12 packages (see README.md "Dependencies").
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)                 # Asio + Beast (header-only)
find_package(CURL REQUIRED)                       # outgoing HTTP: origins, peers, CLI
find_package(OpenSSL REQUIRED)                    # HMAC-SHA256 for S3/Azure signing
find_package(nlohmann_json 3.10 REQUIRED)         # JSON on the wire
find_package(spdlog REQUIRED)                     # logging
find_package(PkgConfig REQUIRED)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)      # block keys, checksums
pkg_check_modules(FUSE3 REQUIRED IMPORTED_TARGET fuse3)           # unicache mount
find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)                 # command line
if(UNICACHE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(UNICACHE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
