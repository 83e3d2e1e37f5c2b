//===- SparseModelTest.cpp - the Tiled-CSL producer, on the host ----------===//
//
// The reference packs random sparse weights into Tiled-CSL; a host model of
// the sparse kernel's producer (lib/Codegen/SparseProducer.cpp) rebuilds
// each shared-memory stage as the kernel does: the tile's bounds with their
// clamps, thread t's register chunks t, t + T, ... and the chunks past them,
// each word's value stored at its masked slot of a zero-filled stage. The
// stage is then read back through the dense producers' swizzle (chunk c of
// row r at c ^ (r % 8), lib/Codegen/Producers.cpp), as ldmatrix reads it,
// and must equal the weight's tile bit for bit, at densities from 0% to
// 100% and for partial edge tiles. Corrupt data must never make the model
// read outside the buffers or write outside the stage.
//
//===----------------------------------------------------------------------===//
#include "SparseModel.h"

#include <gtest/gtest.h>

using namespace einloom::test;

namespace {
struct Case {
  int64_t rows, cols, bm;
  double density;
};

/// Every tile that `stageOf(tm, tk, stage)` rebuilds must equal the dense
/// weight's tile (zero outside the matrix; a zero of either sign as +0),
/// read back through the swizzle as ldmatrix reads it.
template <typename StageOf>
void expectTilesMatch(const Case &c, const std::vector<uint16_t> &dense, StageOf stageOf) {
  int64_t tilesK = (c.cols + kTileK - 1) / kTileK, tilesM = (c.rows + c.bm - 1) / c.bm;
  for (int64_t tm = 0; tm < tilesM; ++tm)
    for (int64_t tk = 0; tk < tilesK; ++tk) {
      std::vector<uint16_t> stage;
      ASSERT_TRUE(stageOf(tilesK, tm, tk, stage));
      for (int64_t r = 0; r < c.bm; ++r)
        for (int64_t k = 0; k < kTileK; ++k) {
          int64_t gr = tm * c.bm + r, gk = tk * kTileK + k;
          uint16_t want = gr < c.rows && gk < c.cols ? dense[gr * c.cols + gk] : 0;
          if ((want & 0x7fffu) == 0)
            want = 0;
          ASSERT_EQ(readStage(stage, r, k), want)
              << "tile (" << tm << ", " << tk << ") element (" << r << ", " << k << ")";
        }
    }
}

/// Offsets corruption `kind`: 0 a wild value, 1 a negative one, 2 two
/// offsets swapped.
void corruptOffsets(std::vector<int32_t> &o, int kind, std::mt19937 &rng) {
  size_t n = o.size();
  if (kind == 0)
    o[rng() % n] = static_cast<int32_t>(rng());
  else if (kind == 1)
    o[rng() % n] = -static_cast<int32_t>(rng() % 100000);
  else
    std::swap(o[rng() % n], o[rng() % n]);
}

class SparseModel : public ::testing::TestWithParam<Case> {};

TEST_P(SparseModel, StagesEqualTheDenseTiles) {
  const Case &c = GetParam();
  std::vector<uint16_t> dense;
  Packed p = packRandom(c.rows, c.cols, c.bm, c.density, 7, dense);
  std::string err;
  ASSERT_TRUE(validateTiledCsl(p.offsets.data(), static_cast<int64_t>(p.offsets.size()),
                               p.words.data(), static_cast<int64_t>(p.words.size()), c.rows,
                               c.cols, c.bm, kTileK, err))
      << err;
  // The kernel's staged chunks (SparseWeight::stagedChunks), and none:
  // every chunk through the overflow loop.
  for (int64_t regChunks : {std::max<int64_t>(1, c.bm * kTileK / 2 / 4 / kThreads), int64_t(0)})
    expectTilesMatch(c, dense, [&](int64_t tilesK, int64_t tm, int64_t tk,
                                   std::vector<uint16_t> &stage) {
      return modelStage(p, tilesK, tm, tk, c.bm, regChunks, stage);
    });
}

INSTANTIATE_TEST_SUITE_P(
    Densities, SparseModel,
    ::testing::Values(Case{128, 256, 64, 0.0}, Case{128, 256, 64, 0.3}, Case{128, 256, 64, 1.0},
                      Case{256, 128, 128, 0.1}, Case{256, 128, 128, 0.5},
                      Case{256, 128, 128, 1.0}, Case{100, 150, 64, 0.2},
                      Case{70, 200, 128, 0.9}, Case{64, 64, 64, 0.02}));

TEST(SparseModel, TheCheckCanFail) {
  // A slot computed without the swizzle lands elsewhere: the comparison
  // above would catch a format whose slots do not match the stage layout.
  std::vector<uint16_t> dense;
  Packed p = packRandom(64, 64, 64, 1.0, 3, dense);
  std::vector<uint16_t> stage;
  ASSERT_TRUE(modelStage(p, 1, 0, 0, 64, 4, stage));
  int mismatches = 0;
  for (int64_t r = 0; r < 64; ++r)
    for (int64_t k = 0; k < 64; ++k)
      mismatches += stage[r * 64 + k] != dense[r * 64 + k];
  EXPECT_GT(mismatches, 1000);
}

TEST(SparseModel, BanksAreBalanced) {
  // A full 64 x 64 tile: each run of 32 words stored by one instruction
  // (word q of 32 consecutive chunks) falls in 32 distinct banks.
  std::vector<uint16_t> dense;
  Packed p = packRandom(64, 64, 64, 1.0, 5, dense);
  ASSERT_EQ(p.words.size(), 4096u);
  for (int64_t block = 0; block < 4096 / 128; ++block)
    for (int64_t q = 0; q < 4; ++q) {
      std::vector<int> seen(32, 0);
      for (int64_t lane = 0; lane < 32; ++lane) {
        uint32_t slot = p.words[block * 128 + 4 * lane + q] >> 16;
        ++seen[(slot / 2) % 32];
      }
      for (int n : seen)
        EXPECT_LE(n, 2) << "block " << block << " word " << q;
    }
}

TEST(SparseModel, CorruptDataStaysInBounds) {
  std::vector<uint16_t> dense;
  Packed good = packRandom(256, 256, 64, 0.3, 11, dense);
  std::mt19937 rng(99);
  int rejected = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    Packed p = good;
    int64_t n = static_cast<int64_t>(p.offsets.size());
    if (trial % 4 == 3)
      p.words[rng() % p.words.size()] = rng();
    else
      corruptOffsets(p.offsets, trial % 4, rng);
    std::string err;
    bool valid = validateTiledCsl(p.offsets.data(), n, p.words.data(),
                                  static_cast<int64_t>(p.words.size()), 256, 256, 64, kTileK, err);
    if (!valid) {
      ++rejected;
      EXPECT_NE(err.find("corrupt tiled_csl data"), std::string::npos) << err;
    }
    // Whatever the check says, the kernel's clamps keep it inside.
    for (int64_t tm = 0; tm < 4; ++tm)
      for (int64_t tk = 0; tk < 4; ++tk) {
        std::vector<uint16_t> stage;
        ASSERT_TRUE(modelStage(p, 4, tm, tk, 64, 4, stage)) << "trial " << trial;
      }
  }
  EXPECT_GT(rejected, 1000);
}

// The bitmap decode (SparseModel.h's modelBitmapStage, the steps the bitmap
// kernel is to run) rebuilds every tile bit for bit, read back through the
// swizzle as ldmatrix reads it.
class BitmapModel : public ::testing::TestWithParam<Case> {};

TEST_P(BitmapModel, StagesEqualTheDenseTiles) {
  const Case &c = GetParam();
  std::vector<uint16_t> dense;
  PackedBitmap p = packRandomBitmap(c.rows, c.cols, c.bm, c.density, 13, dense);
  ASSERT_FALSE(p.offsets.empty());
  std::string err;
  ASSERT_TRUE(validateBitmap(p.offsets.data(), static_cast<int64_t>(p.offsets.size()),
                             p.masks.data(), static_cast<int64_t>(p.masks.size()),
                             static_cast<int64_t>(p.values.size()), c.rows, c.cols, c.bm, kTileK,
                             err))
      << err;
  expectTilesMatch(c, dense, [&](int64_t tilesK, int64_t tm, int64_t tk,
                                 std::vector<uint16_t> &stage) {
    return modelBitmapStage(p, tilesK, tm, tk, c.bm, stage);
  });
}

INSTANTIATE_TEST_SUITE_P(
    Densities, BitmapModel,
    ::testing::Values(Case{128, 256, 64, 0.0}, Case{128, 256, 64, 0.5}, Case{128, 256, 64, 1.0},
                      Case{256, 128, 128, 0.3}, Case{256, 128, 128, 0.7},
                      Case{256, 128, 128, 1.0}, Case{100, 150, 64, 0.6},
                      Case{70, 200, 128, 0.9}, Case{64, 64, 64, 0.02}));

TEST(BitmapModel, StoresAreConflictFree) {
  // Each row store of a warp is 32 16-byte chunks; a quarter warp's 8
  // chunks (one 128-byte wavefront) must fall in 8 distinct 16-byte bank
  // groups, the chunk index within its 128-byte row.
  std::vector<uint16_t> dense;
  for (int64_t bm : {64, 128}) {
    PackedBitmap p = packRandomBitmap(bm, 64, bm, 0.5, 3, dense);
    std::vector<uint16_t> stage;
    std::vector<int64_t> chunks;
    ASSERT_TRUE(modelBitmapStage(p, 1, 0, 0, bm, stage, &chunks));
    int64_t perThread = bm * kTileK / 32 / kThreads, storesPerThread = perThread * 4;
    for (int64_t warp = 0; warp < 4; ++warp)
      for (int64_t s = 0; s < storesPerThread; ++s)
        for (int64_t quarter = 0; quarter < 4; ++quarter) {
          std::vector<int> seen(8, 0);
          for (int64_t l = 0; l < 8; ++l) {
            int64_t th = warp * 32 + quarter * 8 + l;
            ++seen[chunks[th * storesPerThread + s] % 8];
          }
          for (int n : seen)
            EXPECT_EQ(n, 1) << "tile rows " << bm << ", warp " << warp << ", store " << s;
        }
  }
}

TEST(BitmapModel, CorruptDataStaysInBounds) {
  std::vector<uint16_t> dense;
  PackedBitmap good = packRandomBitmap(128, 128, 64, 0.5, 17, dense);
  std::mt19937 rng(5);
  int rejected = 0;
  for (int trial = 0; trial < 1000; ++trial) {
    PackedBitmap p = good;
    int64_t n = static_cast<int64_t>(p.offsets.size());
    if (trial % 4 == 3)
      p.masks[rng() % p.masks.size()] = rng();
    else
      corruptOffsets(p.offsets, trial % 4, rng);
    std::string err;
    if (!validateBitmap(p.offsets.data(), n, p.masks.data(), static_cast<int64_t>(p.masks.size()),
                        static_cast<int64_t>(p.values.size()), 128, 128, 64, kTileK, err)) {
      ++rejected;
      EXPECT_NE(err.find("corrupt bitmap data"), std::string::npos) << err;
    }
    for (int64_t tm = 0; tm < 2; ++tm)
      for (int64_t tk = 0; tk < 2; ++tk) {
        std::vector<uint16_t> stage;
        ASSERT_TRUE(modelBitmapStage(p, 2, tm, tk, 64, stage)) << "trial " << trial;
      }
  }
  EXPECT_GT(rejected, 500);
}
// The block-sparse walk (SparseModel.h's modelBlockRow): each block row's
// tiles, multiplied by the activations' K tiles they name, give the dense
// product's rows; empty blocks are never visited; corrupt row pointers and
// column indices stay in bounds.
TEST(BlockSparseModel, RowsEqualTheDenseProduct) {
  const int64_t N = 192, K = 256, M = 3;
  std::mt19937 rng(21);
  for (double density : {0.0, 0.3, 0.7, 1.0}) {
    Tensor w(DType::F16, {N, K});
    for (int64_t i = 0; i < N / 64; ++i)
      for (int64_t j = 0; j < K / 64; ++j)
        if ((rng() % 1000) / 1000.0 < density)
          for (int64_t r = 0; r < 64; ++r)
            for (int64_t c = 0; c < 64; ++c)
              w.data[(i * 64 + r) * K + j * 64 + c] = roundTo(DType::F16, int(rng() % 17) - 8.0);
    PackParams p;
    p.format = PackFormat::BlockCsr;
    p.tileRows = p.tileCols = 64;
    std::vector<Tensor> out;
    std::string err;
    ASSERT_TRUE(pack(w, p, out, err)) << err;
    std::vector<int32_t> rowPtr, colIdx;
    for (double v : out[0].data)
      rowPtr.push_back(static_cast<int32_t>(v));
    for (double v : out[1].data)
      colIdx.push_back(static_cast<int32_t>(v));
    std::vector<uint16_t> blocks;
    for (double v : out[2].data)
      blocks.push_back(static_cast<uint16_t>(floatBits(DType::F16, v)));
    // The capacity is every block (the bundle's); the launch gives the
    // stored ones (at least one block).
    colIdx.resize(static_cast<size_t>(N / 64 * K / 64), 0);
    blocks.resize(std::max<size_t>(blocks.size(), 4096), 0);
    std::vector<double> x(static_cast<size_t>(M * K));
    for (double &v : x)
      v = int(rng() % 9) - 4.0;
    int64_t visited = 0;
    for (int64_t row = 0; row < N / 64; ++row) {
      std::vector<BlockTile> tiles;
      ASSERT_TRUE(modelBlockRow(rowPtr, colIdx, blocks, K, row, tiles));
      visited += static_cast<int64_t>(tiles.size());
      for (int64_t r = 0; r < 64; ++r)
        for (int64_t m = 0; m < M; ++m) {
          double got = 0, want = 0;
          for (const BlockTile &t : tiles)
            for (int64_t k = 0; k < 64; ++k)
              got += floatFromBits(DType::F16, readStage(t.stage, r, k)) * x[m * K + t.k0 + k];
          for (int64_t k = 0; k < K; ++k)
            want += w.data[(row * 64 + r) * K + k] * x[m * K + k];
          ASSERT_EQ(got, want) << "density " << density << " row " << row * 64 + r;
        }
    }
    EXPECT_EQ(visited, rowPtr.back()) << "every stored block once, no empty one";
  }
}

TEST(BlockSparseModel, CorruptIndicesStayInBounds) {
  std::vector<int32_t> rowPtr{0, 2, 3}, colIdx{0, 3, 1, 0, 0, 0, 0, 0};
  std::vector<uint16_t> blocks(3 * 4096, 0x3c00);
  std::mt19937 rng(4);
  const int32_t wild[] = {-1, INT32_MIN, INT32_MAX, 7, 1000};
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<int32_t> rp = rowPtr, ci = colIdx;
    (trial % 2 ? rp[rng() % rp.size()] : ci[rng() % ci.size()]) = wild[rng() % 5];
    std::vector<uint16_t> given(blocks.begin(), blocks.begin() + (1 + trial % 3) * 4096);
    for (int64_t row = 0; row < 2; ++row) {
      std::vector<BlockTile> tiles;
      ASSERT_TRUE(modelBlockRow(rp, ci, given, 256, row, tiles)) << "trial " << trial;
      EXPECT_LE(tiles.size(), 4u);
      for (const BlockTile &t : tiles)
        EXPECT_TRUE(t.k0 >= 0 && t.k0 <= 192);
    }
  }
}
} // namespace
