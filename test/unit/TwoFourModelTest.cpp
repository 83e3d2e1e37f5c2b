//===- TwoFourModelTest.cpp - 2:4 operands as mma.sp reads them ------------===//
//
// The reference packs random 2:4 weights (docs/dialect.md's two_four); the
// host model of mma.sp m16n8k32 (TwoFourModel.h) builds each lane's A and
// metadata registers from the packed data and rebuilds the dense 16 x 32
// block the instruction multiplies. Every block must equal the weight bit
// for bit, with groups keeping 0, 1 or 2 values, and for weights pruned by
// the reference (magnitude 2:4). A wrong lane mapping or invalid metadata
// must be caught.
//
//===----------------------------------------------------------------------===//
#include "TwoFourModel.h"

#include "einloom/Reference/Kernels.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

using namespace einloom::test;

namespace {
/// A rows x cols weight (f16 bit patterns, never a zero of either sign for
/// a kept value) whose groups of four keep `perGroup` values at random
/// positions, or a random count of 0-2 when perGroup < 0.
std::vector<uint16_t> twoFourWeight(int64_t rows, int64_t cols, int perGroup, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint16_t> w(rows * cols, 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < cols / 4; ++g) {
      int keep = perGroup >= 0 ? perGroup : static_cast<int>(rng() % 3);
      int pos[4] = {0, 1, 2, 3};
      std::shuffle(pos, pos + 4, rng);
      for (int i = 0; i < keep; ++i)
        w[r * cols + 4 * g + pos[i]] = uint16_t(0x3c00 + rng() % 0x3ff) ^ (rng() % 2 ? 0x8000 : 0);
    }
  return w;
}

struct Packed24 {
  std::vector<uint16_t> values, meta;
};

Packed24 pack(const std::vector<uint16_t> &w, int64_t rows, int64_t cols, bool prune) {
  Packed24 p{std::vector<uint16_t>(rows * cols / 2), std::vector<uint16_t>(rows * cols / 16)};
  std::string err;
  EXPECT_TRUE(einloom::ref::packTwoFourBits(w.data(), rows, cols, prune, p.values.data(),
                                            p.meta.data(), err))
      << err;
  return p;
}

/// A packed N x K weight whose metadata words are all random (equal and
/// descending position pairs included).
Packed24 corruptMetadata(int64_t N, int64_t K) {
  Packed24 p = pack(twoFourWeight(N, K, 2, 9), N, K, false);
  std::mt19937 rng(4);
  for (uint16_t &m : p.meta)
    m = uint16_t(rng());
  return p;
}

/// Rebuilds every 16 x 32 block through the lanes' registers; the number of
/// elements that differ from `want`, and whether all metadata was valid.
int64_t mismatches(const Packed24 &p, const std::vector<uint16_t> &want, int64_t rows,
                   int64_t cols, bool &valid, int metaLaneShift = 0) {
  int64_t bad = 0;
  valid = true;
  for (int64_t r0 = 0; r0 < rows; r0 += 16)
    for (int64_t k0 = 0; k0 < cols; k0 += 32) {
      SpFragment lanes[32];
      for (int l = 0; l < 32; ++l)
        lanes[l] = spFragment(p.values, p.meta, cols, r0, k0, l);
      if (metaLaneShift) // a kernel that hands the metadata from the wrong lanes
        for (int g = 0; g < 8; ++g)
          std::swap(lanes[4 * g].meta, lanes[4 * g + metaLaneShift].meta);
      bool ok = true;
      auto dense = spDecode(lanes, ok);
      valid = valid && ok;
      for (int r = 0; r < 16; ++r)
        for (int k = 0; k < 32; ++k)
          bad += dense[r * 32 + k] != want[(r0 + r) * cols + k0 + k];
    }
  return bad;
}

class TwoFourModel : public ::testing::TestWithParam<int> {};

TEST_P(TwoFourModel, BlocksEqualTheWeight) {
  int perGroup = GetParam();
  int64_t rows = 48, cols = 128;
  auto w = twoFourWeight(rows, cols, perGroup, 11 + perGroup);
  Packed24 p = pack(w, rows, cols, /*prune=*/false);
  bool valid = false;
  EXPECT_EQ(mismatches(p, w, rows, cols, valid), 0);
  EXPECT_TRUE(valid);
}

// 0, 1 or 2 values in every group (0%, 25%, 50% density), and a mix.
INSTANTIATE_TEST_SUITE_P(KeptPerGroup, TwoFourModel, ::testing::Values(0, 1, 2, -1));

TEST(TwoFourModel, PrunedWeightsRoundTrip) {
  // Dense random weights pruned by the reference keep each group's two
  // largest magnitudes; the registers must rebuild that pruned weight.
  int64_t rows = 32, cols = 64;
  auto w = twoFourWeight(rows, cols, 4, 5);
  Packed24 p = pack(w, rows, cols, /*prune=*/true);
  std::vector<uint16_t> pruned(w);
  for (int64_t i = 0; i < rows * cols; i += 4) {
    int order[4] = {0, 1, 2, 3};
    std::stable_sort(order, order + 4, [&](int a, int b) {
      return (w[i + a] & 0x7fff) > (w[i + b] & 0x7fff);
    });
    pruned[i + order[2]] = pruned[i + order[3]] = 0;
  }
  bool valid = false;
  EXPECT_EQ(mismatches(p, pruned, rows, cols, valid), 0);
  EXPECT_TRUE(valid);
}

TEST(TwoFourModel, TheCheckCanFail) {
  int64_t rows = 16, cols = 64;
  auto w = twoFourWeight(rows, cols, 2, 3);
  Packed24 p = pack(w, rows, cols, false);
  bool valid = false;
  // Metadata from lane 4g + 2 instead of 4g: most blocks come out wrong.
  EXPECT_GT(mismatches(p, w, rows, cols, valid, /*metaLaneShift=*/2), 0);
  // Both positions of a group equal: invalid metadata, reported.
  p.meta[0] = uint16_t((p.meta[0] & ~0xfu) | 0x5u); // positions 1 and 1
  mismatches(p, w, rows, cols, valid);
  EXPECT_FALSE(valid);
}

/// The producer's stages, read back through the swizzle as ldmatrix reads
/// them, equal the weight's tiles (zeros outside it), every element written
/// once: odd N and K (K not a multiple of 64), tiles of 64 and 128 rows.
struct StageCase {
  int64_t N, K, bm;
  int perGroup;
};
class TwoFourStage : public ::testing::TestWithParam<StageCase> {};

TEST_P(TwoFourStage, StagesEqualTheDenseTiles) {
  StageCase c = GetParam();
  auto w = twoFourWeight(c.N, c.K, c.perGroup, 21);
  Packed24 p = pack(w, c.N, c.K, false);
  for (int64_t r0 = 0; r0 < c.N; r0 += c.bm)
    for (int64_t kt = 0; kt * 64 < c.K; ++kt) {
      std::vector<uint16_t> stage;
      ASSERT_TRUE(twoFourStage(p.values, p.meta, c.N, c.K, r0, kt, c.bm, 128, stage));
      for (int64_t r = 0; r < c.bm; ++r)
        for (int64_t k = 0; k < 64; ++k) {
          int64_t gr = r0 + r, gk = kt * 64 + k;
          uint16_t want = gr < c.N && gk < c.K ? w[gr * c.K + gk] : 0;
          uint16_t got = stage[r * 64 + ((k / 8) ^ (r % 8)) * 8 + k % 8];
          ASSERT_EQ(got, want) << "row " << gr << " col " << gk;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, TwoFourStage,
                         ::testing::Values(StageCase{64, 64, 64, 2}, StageCase{100, 208, 64, -1},
                                           StageCase{130, 176, 128, -1}, StageCase{70, 80, 64, 0},
                                           StageCase{64, 128, 128, 1}));

/// The mma.sp kernel: its compressed stages, read by each warp's lanes as
/// the MMA core loads them (every 16-row fragment, both k32 steps), give
/// back through the instruction's reading (spDecode) the weight's dense
/// 16 x 32 blocks (rows inside the weight; the others are never stored),
/// with valid metadata; every stage place written at most once.
class TwoFourSpStage : public ::testing::TestWithParam<StageCase> {};

TEST_P(TwoFourSpStage, LanesRebuildTheDenseBlocks) {
  StageCase c = GetParam();
  auto w = twoFourWeight(c.N, c.K, c.perGroup, 31);
  Packed24 p = pack(w, c.N, c.K, false);
  for (int64_t r0 = 0; r0 < c.N; r0 += c.bm)
    for (int64_t kt = 0; kt * 64 < c.K; ++kt) {
      std::vector<uint16_t> stage;
      ASSERT_TRUE(twoFourSpStage(p.values, p.meta, c.N, c.K, r0, kt, c.bm, stage));
      for (int64_t f = 0; f < c.bm / 16; ++f)
        for (int64_t ks = 0; ks < 2; ++ks) {
          // Warps of 16 rows (warps_m = 4 at 64 rows) or 32 (2 x 2 warps).
          int64_t warpRow = (f / 2) * 32, frag = f % 2;
          SpFragment lanes[32];
          for (int l = 0; l < 32; ++l)
            lanes[l] = spFragmentFromStage(stage, warpRow, frag, ks, l);
          bool valid = false;
          auto dense = spDecode(lanes, valid);
          ASSERT_TRUE(valid) << "rows " << r0 + 16 * f << ", tile " << kt << ", step " << ks;
          for (int64_t r = 0; r < 16 && r0 + 16 * f + r < c.N; ++r)
            for (int64_t k = 0; k < 32; ++k) {
              int64_t gr = r0 + 16 * f + r, gk = kt * 64 + 32 * ks + k;
              ASSERT_EQ(dense[r * 32 + k], w[gr * c.K + gk]) << "row " << gr << " col " << gk;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, TwoFourSpStage,
                         ::testing::Values(StageCase{64, 64, 64, 2}, StageCase{100, 192, 64, -1},
                                           StageCase{130, 128, 128, -1}, StageCase{70, 64, 64, 0},
                                           StageCase{64, 128, 128, 1}, StageCase{16, 4096, 64, 2}));

TEST(TwoFourSpStage, TheCheckCanFail) {
  // Lanes that read the metadata of the other k32 step rebuild wrong
  // blocks.
  int64_t N = 64, K = 128;
  auto w = twoFourWeight(N, K, 2, 13);
  Packed24 p = pack(w, N, K, false);
  std::vector<uint16_t> stage;
  ASSERT_TRUE(twoFourSpStage(p.values, p.meta, N, K, 0, 0, 64, stage));
  SpFragment lanes[32];
  for (int l = 0; l < 32; ++l) {
    lanes[l] = spFragmentFromStage(stage, 0, 0, 0, l);
    lanes[l].meta = spFragmentFromStage(stage, 0, 0, 1, l).meta;
  }
  bool valid = false;
  auto dense = spDecode(lanes, valid);
  int64_t bad = 0;
  for (int64_t r = 0; r < 16; ++r)
    for (int64_t k = 0; k < 32; ++k)
      bad += dense[r * 32 + k] != w[r * K + k];
  EXPECT_GT(bad, 0);
}

TEST(TwoFourSpStage, CorruptMetadataStaysInTheStage) {
  // Any metadata word stays in its place of the stage (the copies'
  // addresses do not depend on it); mma.sp then gets it as it is (wrong
  // numbers, and spDecode reports pairs that are not valid).
  int64_t N = 64, K = 128;
  Packed24 p = corruptMetadata(N, K);
  bool anyInvalid = false;
  for (int64_t kt = 0; kt < 2; ++kt) {
    std::vector<uint16_t> stage;
    ASSERT_TRUE(twoFourSpStage(p.values, p.meta, N, K, 0, kt, 64, stage));
    for (int64_t f = 0; f < 4; ++f) {
      SpFragment lanes[32];
      for (int l = 0; l < 32; ++l)
        lanes[l] = spFragmentFromStage(stage, 16 * f, 0, 0, l);
      bool valid = true;
      spDecode(lanes, valid);
      anyInvalid = anyInvalid || !valid;
    }
  }
  EXPECT_TRUE(anyInvalid);
}

TEST(TwoFourStage, CorruptMetadataStaysInTheStage) {
  // Any metadata (equal positions included) gives wrong numbers but never
  // a store outside the stage: the addresses do not depend on it.
  int64_t N = 64, K = 128;
  Packed24 p = corruptMetadata(N, K);
  std::vector<uint16_t> stage;
  EXPECT_TRUE(twoFourStage(p.values, p.meta, N, K, 0, 1, 64, 128, stage));
}
} // namespace
