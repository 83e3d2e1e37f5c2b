//===- TuningDatabaseTest.cpp - the tuning database's text format ---------===//
#include "einloom/Plan/TuningDatabase.h"

#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

using namespace einloom;

namespace {
const char *kPlan = "#loom.plan<tile_m = 64, tile_n = 16, tile_k = 64, warps_m = 4, "
                    "warps_n = 1, mma = wgmma_k16, stages = 8, producer = tma, order = ba>";

TuningEntry entry(int64_t m, int64_t n, int64_t k, double us, const char *gpu = "NVIDIA H200") {
  TuningEntry e;
  e.key = {"sm_90a", "mk,nk->mn", "f16 f16 -> f16 acc f32", {1, m, n, k}};
  e.gpu = gpu;
  e.micros = us;
  e.date = "2026-12-05";
  e.plan = kPlan;
  return e;
}

std::string errorOf(llvm::StringRef text) {
  llvm::Expected<TuningDatabase> db = TuningDatabase::parse(text, "t.db");
  if (db)
    return "";
  return llvm::toString(db.takeError());
}
} // namespace

TEST(TuningDatabase, WritesAndReadsBack) {
  TuningDatabase db;
  db.upsert(entry(16, 28672, 8192, 110.5));
  db.upsert(entry(1, 4096, 4096, 9.25));
  std::string text = db.serialize();
  llvm::Expected<TuningDatabase> back = TuningDatabase::parse(text, "t.db");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  ASSERT_EQ(back->entries().size(), 2u);
  EXPECT_EQ(back->entries()[0].str(), entry(16, 28672, 8192, 110.5).str());
  EXPECT_EQ(back->entries()[1].key.sizes[3], 4096);
  EXPECT_DOUBLE_EQ(back->entries()[1].micros, 9.25);
  EXPECT_EQ(back->serialize(), text);
}

TEST(TuningDatabase, UpsertReplacesTheSameKeyAndGpu) {
  TuningDatabase db;
  db.upsert(entry(16, 4096, 4096, 20));
  db.upsert(entry(16, 4096, 4096, 15));
  db.upsert(entry(16, 4096, 4096, 30, "NVIDIA H100"));
  ASSERT_EQ(db.entries().size(), 2u);
  EXPECT_DOUBLE_EQ(db.entries()[0].micros, 15);
}

TEST(TuningDatabase, LooksUpExactThenBucketThenGpu) {
  TuningDatabase db;
  db.upsert(entry(16, 28672, 8192, 110));
  db.upsert(entry(16, 20000, 8192, 90));
  db.upsert(entry(16, 28672, 8192, 120, "NVIDIA H100"));
  TuningKey k = entry(16, 28672, 8192, 0).key;
  ASSERT_TRUE(db.lookup(k));
  EXPECT_DOUBLE_EQ(db.lookup(k, "NVIDIA H100")->micros, 120);
  EXPECT_DOUBLE_EQ(db.lookup(k, "NVIDIA H200")->micros, 110);
  // 30000 shares 28672's bucket (32768), and is nearer to it than to 20000.
  k.sizes[2] = 30000;
  EXPECT_DOUBLE_EQ(db.lookup(k, "NVIDIA H200")->micros, 110);
  k.sizes[2] = 21000;
  EXPECT_DOUBLE_EQ(db.lookup(k, "NVIDIA H200")->micros, 90);
  // Another bucket, M (exact up to 64), type or target: none.
  k.sizes[2] = 40000;
  EXPECT_EQ(db.lookup(k), nullptr);
  k = entry(17, 28672, 8192, 0).key;
  EXPECT_EQ(db.lookup(k), nullptr);
  k = entry(16, 28672, 8192, 0).key;
  k.types = "bf16 bf16 -> bf16 acc f32";
  EXPECT_EQ(db.lookup(k), nullptr);
  k = entry(16, 28672, 8192, 0).key;
  k.target = "sm_80";
  EXPECT_EQ(db.lookup(k), nullptr);
}

TEST(TuningDatabase, RefusesMalformedFilesNamingTheLine) {
  std::string good = "einloom-tuning 1\n" + entry(16, 4096, 4096, 10).str() + "\n";
  EXPECT_EQ(errorOf(good), "");
  EXPECT_EQ(errorOf(""), "t.db:1: empty file: no 'einloom-tuning 1' header");
  EXPECT_NE(errorOf("einloom-tuning 2\n").find("t.db:1: expected the header"), std::string::npos);
  std::string text = good + "sm_90a | GPU | mk,nk->mn\n";
  EXPECT_NE(errorOf(text).find("t.db:3: expected 8 fields"), std::string::npos);
  std::string line = entry(16, 4096, 4096, 10).str();
  auto with = [&](const std::string &from, const std::string &to) {
    std::string l = line;
    l.replace(l.find(from), from.size(), to);
    return "einloom-tuning 1\n" + l + "\n";
  };
  EXPECT_NE(errorOf(with("1x16x4096x4096", "1x16x4096")).find("batch x M x N x K"),
            std::string::npos);
  EXPECT_NE(errorOf(with("1x16x4096x4096", "1x0x4096x4096")).find("not a positive integer"),
            std::string::npos);
  EXPECT_NE(errorOf(with("10.00 us", "fast")).find("positive number of microseconds"),
            std::string::npos);
  EXPECT_NE(errorOf(with("10.00 us", "-3 us")).find("positive number of microseconds"),
            std::string::npos);
  EXPECT_NE(errorOf(with("#loom.plan<", "plan<")).find("#loom.plan<...>"), std::string::npos);
  EXPECT_NE(errorOf(with("mk,nk->mn", "mknkmn")).find("an einsum"), std::string::npos);
  // Comments and blank lines are fine anywhere.
  EXPECT_EQ(errorOf("# hello\n\neinloom-tuning 1\n# more\n" + line + "\n\n"), "");
}

TEST(TuningDatabase, SavesAtomically) {
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("tuning", "db", path));
  TuningDatabase db;
  db.upsert(entry(32, 6144, 4096, 12.5));
  ASSERT_FALSE(bool(db.save(path)));
  llvm::Expected<TuningDatabase> back = TuningDatabase::load(path);
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->entries().size(), 1u);
  EXPECT_FALSE(llvm::sys::fs::exists(path + ".tmp"));
  llvm::sys::fs::remove(path);
  EXPECT_FALSE(bool(TuningDatabase::load(path)));
}
