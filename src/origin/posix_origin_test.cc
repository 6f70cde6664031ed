#include "origin/posix_origin.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "origin/origin.h"

namespace unicache {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed with its contents on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "unicache-posix-XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::span<const std::byte> AsBytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

class PosixOriginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Origin>> o = OpenPosixOrigin(root_.path());
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    origin_ = std::move(o).value();
  }

  // Writes `content` to `rel` under the root, creating directories.
  void WriteFile(const std::string& rel, const std::string& content) {
    fs::path p = fs::path(root_.path()) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
    ASSERT_TRUE(out.good());
  }
  std::string ReadFile(const std::string& rel) {
    std::ifstream in(fs::path(root_.path()) / rel, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  ObjectInfo StatOk(const std::string& path) {
    Result<ObjectInfo> info = origin_->Stat(path);
    EXPECT_TRUE(info.ok()) << path << ": " << info.status().ToString();
    return info.ok() ? *info : ObjectInfo{};
  }

  // Reads `len` bytes at `offset`; returns what was read.
  Result<std::string> ReadAt(const std::string& path, const std::string& version, uint64_t offset,
                             size_t len) {
    std::string buf(len, '\0');
    Result<size_t> n =
        origin_->Read(path, version, offset, std::as_writable_bytes(std::span(buf.data(), len)));
    if (!n.ok()) return n.status();
    buf.resize(*n);
    return buf;
  }

  ListPage ListOk(const ListOptions& options) {
    Result<ListPage> page = origin_->List(options);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? *page : ListPage{};
  }

  static std::vector<std::string> Paths(const ListPage& page) {
    std::vector<std::string> out;
    for (const ObjectInfo& o : page.objects) out.push_back(o.path);
    return out;
  }

  // The standard tree used by the listing tests.
  void MakeTree() {
    WriteFile("a.txt", "a");
    WriteFile("b/c.txt", "cc");
    WriteFile("b/d/e.txt", "eee");
    WriteFile("b/d/f.txt", "ffff");
    WriteFile("bz.txt", "z");
    WriteFile("g/h.txt", "h");
    fs::create_directories(fs::path(root_.path()) / "empty");
  }

  ScratchDir root_;
  std::unique_ptr<Origin> origin_;
};

TEST_F(PosixOriginTest, SchemeIsFile) { EXPECT_EQ(origin_->Scheme(), "file"); }

TEST_F(PosixOriginTest, StatReportsSizeAndVersion) {
  WriteFile("dir/obj.bin", "hello");
  ObjectInfo info = StatOk("dir/obj.bin");
  EXPECT_EQ(info.path, "dir/obj.bin");
  EXPECT_EQ(info.size, 5u);
  EXPECT_FALSE(info.version.empty());
  EXPECT_GT(info.mtime_ms, 0);
  EXPECT_EQ(StatOk("dir/obj.bin").version, info.version);  // stable while unchanged
}

TEST_F(PosixOriginTest, StatOfMissingOrDirectoryIsNotFound) {
  WriteFile("dir/obj.bin", "x");
  EXPECT_EQ(origin_->Stat("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(origin_->Stat("dir/nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(origin_->Stat("dir").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(origin_->Stat("dir/obj.bin/under-a-file").status().code(), StatusCode::kNotFound);
}

TEST_F(PosixOriginTest, DeleteRemovesTheFileAndTheFoldersItLeavesEmpty) {
  WriteFile("a/b/c/one.bin", "1");
  WriteFile("a/two.bin", "2");
  ASSERT_TRUE(origin_->Delete("a/b/c/one.bin").ok());
  EXPECT_FALSE(fs::exists(fs::path(root_.path()) / "a/b"));  // c and b were left empty
  EXPECT_EQ(ReadFile("a/two.bin"), "2");                     // a was not
  EXPECT_TRUE(origin_->Delete("a/b/c/one.bin").ok());        // already gone: not an error
  EXPECT_TRUE(origin_->Delete("never/was").ok());
  ASSERT_TRUE(origin_->Delete("a/two.bin").ok());
  EXPECT_FALSE(fs::exists(fs::path(root_.path()) / "a"));
  EXPECT_TRUE(fs::exists(root_.path()));  // never the root
  WriteFile("d/e.bin", "e");
  EXPECT_EQ(origin_->Delete("d").code(), StatusCode::kNotFound);  // a directory is no object
  EXPECT_EQ(ReadFile("d/e.bin"), "e");
}

TEST_F(PosixOriginTest, VersionChangesWhenContentChanges) {
  WriteFile("v.bin", "first");
  std::string v1 = StatOk("v.bin").version;
  WriteFile("v.bin", "second version");
  ObjectInfo after = StatOk("v.bin");
  EXPECT_NE(after.version, v1);
  EXPECT_EQ(after.size, 14u);
  WriteFile("v.bin", "3rd");
  EXPECT_NE(StatOk("v.bin").version, after.version);
}

TEST_F(PosixOriginTest, ReadWholeAndAtOffset) {
  WriteFile("r.bin", "0123456789");
  std::string v = StatOk("r.bin").version;
  Result<std::string> all = ReadAt("r.bin", v, 0, 10);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, "0123456789");
  Result<std::string> mid = ReadAt("r.bin", v, 3, 4);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(*mid, "3456");
}

TEST_F(PosixOriginTest, ShortReadAtEof) {
  WriteFile("r.bin", "0123456789");
  std::string v = StatOk("r.bin").version;
  Result<std::string> tail = ReadAt("r.bin", v, 7, 100);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, "789");
  Result<std::string> at_end = ReadAt("r.bin", v, 10, 5);
  ASSERT_TRUE(at_end.ok());
  EXPECT_EQ(*at_end, "");
  Result<std::string> past_end = ReadAt("r.bin", v, 1000, 5);
  ASSERT_TRUE(past_end.ok());
  EXPECT_EQ(*past_end, "");
}

TEST_F(PosixOriginTest, LargeReadIsComplete) {
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + (i >> 12));
  WriteFile("big.bin", big);
  std::string v = StatOk("big.bin").version;
  Result<std::string> r = ReadAt("big.bin", v, 0, big.size());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r == big);
}

TEST_F(PosixOriginTest, ReadWithStaleVersionIsPreconditionFailed) {
  WriteFile("s.bin", "old");
  std::string v1 = StatOk("s.bin").version;
  WriteFile("s.bin", "new content");
  Result<std::string> r = ReadAt("s.bin", v1, 0, 3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPreconditionFailed);
  EXPECT_EQ(ReadAt("s.bin", "bogus-version", 0, 3).status().code(),
            StatusCode::kPreconditionFailed);
}

TEST_F(PosixOriginTest, ReadOfMissingIsNotFound) {
  EXPECT_EQ(ReadAt("missing", "v", 0, 1).status().code(), StatusCode::kNotFound);
}

TEST_F(PosixOriginTest, ListFlatIsRecursiveAndSorted) {
  MakeTree();
  ListPage page = ListOk(ListOptions{});
  EXPECT_EQ(Paths(page), (std::vector<std::string>{"a.txt", "b/c.txt", "b/d/e.txt", "b/d/f.txt",
                                                   "bz.txt", "g/h.txt"}));
  EXPECT_TRUE(page.prefixes.empty());
  EXPECT_TRUE(page.next_token.empty());
  ASSERT_EQ(page.objects.size(), 6u);
  EXPECT_EQ(page.objects[2].size, 3u);
  EXPECT_EQ(page.objects[2].version, StatOk("b/d/e.txt").version);
}

TEST_F(PosixOriginTest, ListWithDelimiterGivesOneLevel) {
  MakeTree();
  ListOptions o;
  o.delimiter = "/";
  ListPage page = ListOk(o);
  EXPECT_EQ(Paths(page), (std::vector<std::string>{"a.txt", "bz.txt"}));
  EXPECT_EQ(page.prefixes, (std::vector<std::string>{"b/", "empty/", "g/"}));

  o.prefix = "b/";
  page = ListOk(o);
  EXPECT_EQ(Paths(page), (std::vector<std::string>{"b/c.txt"}));
  EXPECT_EQ(page.prefixes, (std::vector<std::string>{"b/d/"}));

  o.prefix = "b/d/";
  page = ListOk(o);
  EXPECT_EQ(Paths(page), (std::vector<std::string>{"b/d/e.txt", "b/d/f.txt"}));
  EXPECT_TRUE(page.prefixes.empty());
}

TEST_F(PosixOriginTest, PrefixFiltersByPartialNames) {
  MakeTree();
  ListOptions o;
  o.prefix = "b";
  EXPECT_EQ(Paths(ListOk(o)),
            (std::vector<std::string>{"b/c.txt", "b/d/e.txt", "b/d/f.txt", "bz.txt"}));
  o.prefix = "b/d/e";
  EXPECT_EQ(Paths(ListOk(o)), (std::vector<std::string>{"b/d/e.txt"}));
  o.prefix = "b/";
  EXPECT_EQ(Paths(ListOk(o)), (std::vector<std::string>{"b/c.txt", "b/d/e.txt", "b/d/f.txt"}));

  o.delimiter = "/";
  o.prefix = "b";
  ListPage page = ListOk(o);
  EXPECT_EQ(Paths(page), (std::vector<std::string>{"bz.txt"}));
  EXPECT_EQ(page.prefixes, (std::vector<std::string>{"b/"}));
}

TEST_F(PosixOriginTest, ListOfMissingPrefixIsEmpty) {
  MakeTree();
  for (std::string prefix : {"nope/", "nope/deeper/x", "zzz", "a.txt/"}) {
    ListOptions o;
    o.prefix = prefix;
    ListPage page = ListOk(o);
    EXPECT_TRUE(page.objects.empty()) << prefix;
    EXPECT_TRUE(page.prefixes.empty()) << prefix;
    EXPECT_TRUE(page.next_token.empty()) << prefix;
  }
}

TEST_F(PosixOriginTest, PaginationReturnsEveryObjectExactlyOnce) {
  std::set<std::string> expected;
  for (int d = 0; d < 4; ++d) {
    for (int f = 0; f < 7; ++f) {
      std::string rel = "d" + std::to_string(d) + "/sub" + std::to_string(f % 2) + "/f" +
                        std::to_string(f) + ".bin";
      WriteFile(rel, "x");
      expected.insert(rel);
    }
  }
  WriteFile("top.bin", "y");
  expected.insert("top.bin");

  for (size_t max_keys : {1, 3, 4, 29, 1000}) {
    SCOPED_TRACE(max_keys);
    std::vector<std::string> got;
    ListOptions o;
    o.max_keys = max_keys;
    int pages = 0;
    for (;;) {
      ListPage page = ListOk(o);
      ++pages;
      ASSERT_LE(page.objects.size() + page.prefixes.size(), max_keys);
      for (auto& p : Paths(page)) got.push_back(p);
      if (page.next_token.empty()) break;
      ASSERT_LT(pages, 1000) << "pagination does not end";
      o.token = page.next_token;
    }
    EXPECT_EQ(got, std::vector<std::string>(expected.begin(), expected.end()));
    EXPECT_EQ(pages, static_cast<int>((expected.size() + max_keys - 1) / max_keys));
  }
}

TEST_F(PosixOriginTest, PaginationWithDelimiterCoversPrefixesAndObjects) {
  for (int i = 0; i < 5; ++i) WriteFile("dir" + std::to_string(i) + "/x", "x");
  for (int i = 0; i < 5; ++i) WriteFile("file" + std::to_string(i), "x");
  std::vector<std::string> all;
  ListOptions o;
  o.delimiter = "/";
  o.max_keys = 3;
  for (int pages = 0; pages < 100; ++pages) {
    ListPage page = ListOk(o);
    EXPECT_LE(page.objects.size() + page.prefixes.size(), 3u);
    for (auto& p : page.prefixes) all.push_back(p);
    for (auto& p : Paths(page)) all.push_back(p);
    if (page.next_token.empty()) break;
    o.token = page.next_token;
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"dir0/", "dir1/", "dir2/", "dir3/", "dir4/", "file0",
                                           "file1", "file2", "file3", "file4"}));
}

TEST_F(PosixOriginTest, SymlinkInsideRootWorks) {
  WriteFile("real/data.bin", "payload");
  ASSERT_EQ(::symlink("real/data.bin", (root_.path() + "/link.bin").c_str()), 0);
  ASSERT_EQ(::symlink("real", (root_.path() + "/alias").c_str()), 0);
  ObjectInfo info = StatOk("link.bin");
  EXPECT_EQ(info.size, 7u);
  Result<std::string> r = ReadAt("link.bin", info.version, 0, 7);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "payload");
  EXPECT_EQ(StatOk("alias/data.bin").size, 7u);
  EXPECT_EQ(Paths(ListOk(ListOptions{})),
            (std::vector<std::string>{"alias/data.bin", "link.bin", "real/data.bin"}));
}

TEST_F(PosixOriginTest, SymlinkEscapingRootIsDeniedAndNotListed) {
  ScratchDir outside;
  { std::ofstream(outside.path() + "/secret.txt") << "top secret"; }
  WriteFile("ok.txt", "fine");
  ASSERT_EQ(
      ::symlink((outside.path() + "/secret.txt").c_str(), (root_.path() + "/abs-escape").c_str()),
      0);
  ASSERT_EQ(
      ::symlink("../../../../../../../../../../etc/passwd", (root_.path() + "/rel-escape").c_str()),
      0);
  ASSERT_EQ(::symlink(outside.path().c_str(), (root_.path() + "/dir-escape").c_str()), 0);

  EXPECT_EQ(origin_->Stat("abs-escape").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(origin_->Stat("rel-escape").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(origin_->Stat("dir-escape/secret.txt").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ReadAt("abs-escape", "any", 0, 10).status().code(), StatusCode::kPermissionDenied);

  EXPECT_EQ(Paths(ListOk(ListOptions{})), (std::vector<std::string>{"ok.txt"}));
  ListOptions o;
  o.delimiter = "/";
  ListPage page = ListOk(o);
  EXPECT_EQ(Paths(page), (std::vector<std::string>{"ok.txt"}));
  EXPECT_TRUE(page.prefixes.empty());
}

TEST_F(PosixOriginTest, DanglingSymlinkIsNotFoundAndNotListed) {
  WriteFile("ok.txt", "fine");
  ASSERT_EQ(::symlink("does-not-exist", (root_.path() + "/dangling").c_str()), 0);
  EXPECT_EQ(origin_->Stat("dangling").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Paths(ListOk(ListOptions{})), (std::vector<std::string>{"ok.txt"}));
}

TEST_F(PosixOriginTest, WriteCreatesDirectories) {
  std::string data = "written through";
  Result<ObjectInfo> info = origin_->Write("new/deep/dir/file.bin", AsBytes(data));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->path, "new/deep/dir/file.bin");
  EXPECT_EQ(info->size, data.size());
  EXPECT_EQ(ReadFile("new/deep/dir/file.bin"), data);
  EXPECT_EQ(StatOk("new/deep/dir/file.bin").version, info->version);
  Result<std::string> back = ReadAt("new/deep/dir/file.bin", info->version, 0, 100);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
}

TEST_F(PosixOriginTest, WriteReplacesAtomically) {
  WriteFile("obj", "original bytes");
  std::string v1 = StatOk("obj").version;
  // A reader that opened the old file keeps seeing the old bytes: the new file was renamed over
  // it, never written in place.
  std::ifstream old_reader(fs::path(root_.path()) / "obj", std::ios::binary);
  ASSERT_TRUE(old_reader.is_open());

  std::string data = "replacement";
  Result<ObjectInfo> info = origin_->Write("obj", AsBytes(data));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_NE(info->version, v1);
  EXPECT_EQ(ReadFile("obj"), data);
  std::string old_bytes(std::istreambuf_iterator<char>(old_reader), {});
  EXPECT_EQ(old_bytes, "original bytes");
  EXPECT_EQ(ReadAt("obj", v1, 0, 5).status().code(), StatusCode::kPreconditionFailed);

  // No temporary files are left behind, and listings show just the object.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root_.path())) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"obj"}));
  EXPECT_EQ(Paths(ListOk(ListOptions{})), (std::vector<std::string>{"obj"}));
}

TEST_F(PosixOriginTest, WriteEmptyObject) {
  Result<ObjectInfo> info = origin_->Write("empty", {});
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 0u);
  EXPECT_EQ(ReadFile("empty"), "");
}

TEST_F(PosixOriginTest, WriteThroughEscapingSymlinkIsDenied) {
  ScratchDir outside;
  ASSERT_EQ(::symlink(outside.path().c_str(), (root_.path() + "/out").c_str()), 0);
  std::string data = "x";
  Result<ObjectInfo> info = origin_->Write("out/file", AsBytes(data));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(fs::exists(fs::path(outside.path()) / "file"));
}

TEST_F(PosixOriginTest, TemporaryFilesAreHiddenFromListings) {
  WriteFile("obj", "x");
  WriteFile("obj.unicache-tmp-123-4", "partial");
  EXPECT_EQ(Paths(ListOk(ListOptions{})), (std::vector<std::string>{"obj"}));
}

TEST(OpenPosixOriginTest, MissingDirectoryIsNotFound) {
  ScratchDir dir;
  Result<std::unique_ptr<Origin>> o = OpenPosixOrigin(dir.path() + "/missing");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), StatusCode::kNotFound);
}

TEST(OpenPosixOriginTest, RegularFileIsRejected) {
  ScratchDir dir;
  std::ofstream(dir.path() + "/file") << "x";
  Result<std::unique_ptr<Origin>> o = OpenPosixOrigin(dir.path() + "/file");
  EXPECT_FALSE(o.ok());
}

TEST(ParseOriginSpecTest, NameEqualsUri) {
  Result<OriginSpec> s = ParseOriginSpec("data=/mnt/data");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "data");
  EXPECT_EQ(s->uri, "/mnt/data");

  s = ParseOriginSpec("my_origin-1=azure://acct/container/prefix");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "my_origin-1");
  EXPECT_EQ(s->uri, "azure://acct/container/prefix");

  s = ParseOriginSpec("s3=s3://bucket/key?region=us-east-1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "s3");
  EXPECT_EQ(s->uri, "s3://bucket/key?region=us-east-1");
}

TEST(ParseOriginSpecTest, BareDirectoryOrUriIsLocal) {
  for (std::string text :
       {"/mnt/data", "relative/dir", "file:///mnt/data", "azure://acct/c?sv=1&sig=x"}) {
    Result<OriginSpec> s = ParseOriginSpec(text);
    ASSERT_TRUE(s.ok()) << text << ": " << s.status().ToString();
    EXPECT_EQ(s->name, "local") << text;
    EXPECT_EQ(s->uri, text);
  }
}

TEST(ParseOriginSpecTest, NameLimits) {
  EXPECT_TRUE(ParseOriginSpec(std::string(64, 'n') + "=/x").ok());
  const std::vector<std::string> bad_specs = {
      std::string(65, 'n') + "=/x", "=/x", "bad name=/x", "a.b=/x", "a/b=/x", "\xc3\xbc=/x"};
  for (const std::string& bad : bad_specs) {
    Result<OriginSpec> s = ParseOriginSpec(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ParseOriginSpecTest, EmptyInputOrUriIsInvalid) {
  EXPECT_EQ(ParseOriginSpec("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseOriginSpec("name=").status().code(), StatusCode::kInvalidArgument);
}

TEST(OpenOriginTest, RelativeFileUriIsInvalidArgument) {
  Result<std::unique_ptr<Origin>> o = OpenOrigin({"x", "file://relative/dir"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenOrigin({"x", "file://"}).status().code(), StatusCode::kInvalidArgument);
}

TEST(OpenOriginTest, MissingDirectoryIsNotFound) {
  ScratchDir dir;
  EXPECT_EQ(OpenOrigin({"x", "file://" + dir.path() + "/missing"}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(OpenOrigin({"x", dir.path() + "/missing"}).status().code(), StatusCode::kNotFound);
}

TEST(OpenOriginTest, UnsupportedSchemeIsInvalidArgument) {
  EXPECT_EQ(OpenOrigin({"x", "ftp://host/dir"}).status().code(), StatusCode::kInvalidArgument);
}

TEST(OpenOriginTest, OpensADirectoryByUriOrPath) {
  ScratchDir dir;
  std::ofstream(dir.path() + "/obj") << "12345";
  for (std::string uri : {"file://" + dir.path(), dir.path()}) {
    Result<std::unique_ptr<Origin>> o = OpenOrigin({"x", uri});
    ASSERT_TRUE(o.ok()) << uri << ": " << o.status().ToString();
    Result<ObjectInfo> info = (*o)->Stat("obj");
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->size, 5u);
  }
}

}  // namespace
}  // namespace unicache
