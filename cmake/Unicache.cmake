# Helpers that keep every part's CMakeLists.txt to a few lines.

# -Wno-mismatched-new-delete: g++ 12 flags Asio's coroutine-frame allocator falsely (GCC PR 104370).
set(UNICACHE_WARNINGS -Wall -Wextra -Wpedantic -Wno-missing-field-initializers -Wno-mismatched-new-delete)
if(UNICACHE_WERROR)
  list(APPEND UNICACHE_WARNINGS -Werror)
endif()
if(UNICACHE_SANITIZE)
  # g++ 12's -Wmaybe-uninitialized misfires inside <regex> and Asio under the sanitizers.
  list(APPEND UNICACHE_WARNINGS -Wno-maybe-uninitialized)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# unicache_library(NAME [DEPS targets...]): a static library from every *.cc in the
# current directory except tests and benchmarks.
function(unicache_library name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "_(test|benchmark)\\.cc$")
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_compile_options(${name} PRIVATE ${UNICACHE_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# unicache_tests(NAME [DEPS targets...]): one gtest binary from every *_test.cc in the
# current directory, each test registered with ctest under the label "unit".
function(unicache_tests name)
  if(NOT UNICACHE_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  if(NOT srcs)
    return()
  endif()
  add_executable(${name} ${srcs})
  target_compile_options(${name} PRIVATE ${UNICACHE_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  include(GoogleTest)
  gtest_discover_tests(${name} PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
endfunction()

# unicache_benchmarks(NAME [DEPS targets...]): one Google Benchmark binary from every
# *_benchmark.cc in the current directory.
function(unicache_benchmarks name)
  if(NOT UNICACHE_BUILD_BENCH)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_benchmark.cc)
  if(NOT srcs)
    return()
  endif()
  add_executable(${name} ${srcs})
  target_compile_options(${name} PRIVATE ${UNICACHE_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark benchmark::benchmark_main)
endfunction()
