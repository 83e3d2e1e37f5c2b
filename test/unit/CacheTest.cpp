// The on-disk kernel cache: hits, corruption, permissions, eviction, and
// several processes writing and reading at once.
#include "einloom/runtime/Cache.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace einloom::rt;

namespace {
std::string freshDir(const char *name) {
  char tmpl[] = "/tmp/einloom-cache-test.XXXXXX";
  std::string base = mkdtemp(tmpl);
  return base + "/" + name;
}

Bundle sampleBundle(const std::string &ptx) {
  Bundle b;
  b.target = "sm_90a";
  b.source = "main";
  b.buffers = {{"arg0", "input", "f16", {4, 8}, 64}, {"out0", "output", "f16", {4, 4}, 32}};
  BundleKernel k;
  k.name = "k";
  k.args = {0, 1};
  k.op = "einsum";
  k.spec = "mk,nk->mn";
  k.acc = "f32";
  k.operands = {0};
  k.result = 1;
  b.kernels = {k};
  b.launchOrder = {0};
  b.ptx = ptx;
  return b;
}

const std::string kKey = "0123456789abcdef0123456789abcdef";
const std::string kKey2 = "fedcba9876543210fedcba9876543210";

mode_t modeOf(const std::string &p) {
  struct stat st;
  stat(p.c_str(), &st);
  return st.st_mode & 0777;
}
} // namespace

TEST(DiskCache, StoresAndFindsAndCreatesThePrivateDirectory) {
  std::string dir = freshDir("nested/einloom");
  std::unique_ptr<DiskCache> c;
  ASSERT_TRUE(DiskCache::open(dir, 1 << 20, c)) << dir;
  EXPECT_EQ(modeOf(dir), 0700u);
  Bundle got;
  std::string note;
  EXPECT_FALSE(c->lookup(kKey, got, &note));
  EXPECT_EQ(note, "not cached");
  ASSERT_TRUE(c->store(kKey, sampleBundle("ptx one")));
  ASSERT_TRUE(c->lookup(kKey, got, &note)) << note;
  EXPECT_EQ(got.ptx, "ptx one");
  EXPECT_EQ(modeOf(dir + "/" + kKey + ".bundle"), 0600u);
  // Another handle (as another process would) sees the same entry.
  std::unique_ptr<DiskCache> c2;
  ASSERT_TRUE(DiskCache::open(dir, 1 << 20, c2));
  EXPECT_TRUE(c2->lookup(kKey, got));
  CacheStats st;
  ASSERT_TRUE(c->stats(st));
  EXPECT_EQ(st.entries, 1u);
  EXPECT_GT(st.bytes, 0u);
  ASSERT_TRUE(c->clear());
  ASSERT_TRUE(c->stats(st));
  EXPECT_EQ(st.entries, 0u);
  EXPECT_FALSE(c->lookup(kKey, got));
}

TEST(DiskCache, DiscardsCorruptAndTruncatedEntries) {
  std::string dir = freshDir("c");
  std::unique_ptr<DiskCache> c;
  ASSERT_TRUE(DiskCache::open(dir, 1 << 20, c));
  std::string path = dir + "/" + kKey + ".bundle";
  for (int damage = 0; damage < 2; ++damage) {
    ASSERT_TRUE(c->store(kKey, sampleBundle("some ptx text")));
    std::string bytes;
    {
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    if (damage == 0)
      bytes[bytes.size() - 3] ^= 0x20; // flipped bits
    else
      bytes.resize(bytes.size() / 2); // truncated
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    Bundle got;
    std::string note;
    EXPECT_FALSE(c->lookup(kKey, got, &note));
    EXPECT_NE(note.find("discarded a corrupt entry"), std::string::npos) << note;
    EXPECT_NE(access(path.c_str(), F_OK), 0) << "a corrupt entry must be removed";
  }
}

TEST(DiskCache, RefusesUnsafeEntriesAndDirectories) {
  std::string dir = freshDir("c");
  std::unique_ptr<DiskCache> c;
  ASSERT_TRUE(DiskCache::open(dir, 1 << 20, c));
  ASSERT_TRUE(c->store(kKey, sampleBundle("x")));
  std::string path = dir + "/" + kKey + ".bundle";
  chmod(path.c_str(), 0666);
  Bundle got;
  std::string note;
  EXPECT_FALSE(c->lookup(kKey, got, &note));
  EXPECT_NE(note.find("group- or world-writable"), std::string::npos) << note;
  EXPECT_EQ(access(path.c_str(), F_OK), 0) << "refused, not deleted";
  // A symlink in place of an entry is not followed.
  unlink(path.c_str());
  ASSERT_EQ(symlink("/etc/hostname", path.c_str()), 0);
  EXPECT_FALSE(c->lookup(kKey, got, &note));
  // A world-writable cache directory is refused.
  chmod(dir.c_str(), 0777);
  std::unique_ptr<DiskCache> c2;
  Status s = DiskCache::open(dir, 1 << 20, c2);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("group- or world-writable"), std::string::npos) << s.message();
  // A file where the directory should be.
  std::string file = freshDir("f");
  std::ofstream(file) << "x";
  EXPECT_FALSE(DiskCache::open(file, 1 << 20, c2));
  // Keys are hex digests only: no path tricks.
  EXPECT_FALSE(DiskCache::validKey("../../etc/passwd0000"));
  EXPECT_FALSE(c->store("short", sampleBundle("x")));
}

TEST(DiskCache, EvictsLeastRecentlyUsed) {
  std::string dir = freshDir("c");
  std::unique_ptr<DiskCache> c;
  std::string big(4000, 'p');
  size_t entryBytes = writeBundle(sampleBundle(big)).size();
  ASSERT_TRUE(DiskCache::open(dir, 2 * entryBytes + 100, c)); // room for two
  std::string keys[3] = {std::string(32, 'a'), std::string(32, 'b'), std::string(32, 'c')};
  ASSERT_TRUE(c->store(keys[0], sampleBundle(big)));
  usleep(20000);
  ASSERT_TRUE(c->store(keys[1], sampleBundle(big)));
  usleep(20000);
  Bundle got;
  ASSERT_TRUE(c->lookup(keys[0], got)); // a is now the most recent
  usleep(20000);
  ASSERT_TRUE(c->store(keys[2], sampleBundle(big))); // evicts b
  EXPECT_TRUE(c->lookup(keys[0], got));
  EXPECT_FALSE(c->lookup(keys[1], got));
  EXPECT_TRUE(c->lookup(keys[2], got));
  CacheStats st;
  ASSERT_TRUE(c->stats(st));
  EXPECT_LE(st.bytes, st.capBytes);
}

TEST(DiskCache, ConcurrentProcessesNeverSeeAPartialEntry) {
  std::string dir = freshDir("c");
  std::unique_ptr<DiskCache> c;
  ASSERT_TRUE(DiskCache::open(dir, 64 << 20, c));
  const int procs = 6, rounds = 40;
  std::vector<pid_t> kids;
  for (int p = 0; p < procs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::unique_ptr<DiskCache> mine;
      if (!DiskCache::open(dir, 64 << 20, mine))
        _exit(2);
      for (int r = 0; r < rounds; ++r) {
        // Half the processes write the shared key (large, so that a torn
        // write would show); all read it and check what they get.
        const std::string &key = r % 2 ? kKey : kKey2;
        if (p % 2 == 0 && !mine->store(key, sampleBundle(std::string(200000, char('a' + p)))))
          _exit(3);
        Bundle got;
        std::string note;
        if (mine->lookup(key, got, &note)) {
          if (got.ptx.size() != 200000 || got.ptx.find_first_not_of(got.ptx[0]) != std::string::npos)
            _exit(4); // mixed content from two writers
        } else if (note != "not cached") {
          _exit(5); // only a clean miss is acceptable
        }
      }
      _exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int status = 0;
    waitpid(k, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child exit " << WEXITSTATUS(status);
  }
  Bundle got;
  EXPECT_TRUE(c->lookup(kKey, got));
  // No temporary files are left behind.
  CacheStats st;
  ASSERT_TRUE(c->stats(st));
  EXPECT_EQ(st.entries, 2u);
}
