//===- BlockSparseTest.cpp - persistent BSR schedules ---------------------===//
//
// The schedule a block-sparse kernel is to walk (include/einloom/Codegen/
// BlockSparse.h), on weights packed by the reference's block_csr with very
// uneven rows (empty, single-block and full rows): every stored block is
// visited once and no empty one, each CTA gets its equal share of blocks,
// every row is written once, and the host model of the schedule (partial
// rows through the fixup) equals the dense product.
//
//===----------------------------------------------------------------------===//
#include "einloom/Codegen/BlockSparse.h"
#include "einloom/Reference/Kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace einloom;
using namespace einloom::codegen;

namespace {
struct Bsr {
  std::vector<int64_t> rowPtr, colIdx;
  std::vector<double> blocks;
  ref::Tensor dense;
};

/// A (rows * br) x (cols * bc) weight whose block row r keeps each block
/// with a probability that varies wildly by row (rows 0 mod 5 empty, 1 mod
/// 5 full), packed by the reference.
Bsr randomBsr(int64_t rows, int64_t cols, int64_t br, int64_t bc, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> g;
  Bsr w;
  w.dense = ref::Tensor(ref::DType::F64, {rows * br, cols * bc});
  for (int64_t r = 0; r < rows; ++r) {
    double keep = r % 5 == 0 ? 0.0 : r % 5 == 1 ? 1.0 : u(rng) * 0.3;
    for (int64_t c = 0; c < cols; ++c)
      if (u(rng) < keep)
        for (int64_t i = 0; i < br; ++i)
          for (int64_t k = 0; k < bc; ++k)
            w.dense.data[(r * br + i) * cols * bc + c * bc + k] = g(rng);
  }
  ref::PackParams p;
  p.format = ref::PackFormat::BlockCsr;
  p.tileRows = br;
  p.tileCols = bc;
  std::vector<ref::Tensor> packed;
  std::string err;
  EXPECT_TRUE(ref::pack(w.dense, p, packed, err)) << err;
  for (double v : packed[0].data)
    w.rowPtr.push_back(static_cast<int64_t>(v));
  for (double v : packed[1].data)
    w.colIdx.push_back(static_cast<int64_t>(v));
  w.blocks = packed[2].data;
  return w;
}

TEST(BlockSparse, SchedulesBalanceAndMatchTheDenseProduct) {
  const int64_t br = 4, bc = 8;
  for (int64_t rows : {1, 7, 40})
    for (int64_t ctas : {1, 3, 16, 132}) {
      Bsr w = randomBsr(rows, 12, br, bc, static_cast<uint32_t>(rows * 1000 + ctas));
      int64_t total = w.rowPtr.back();
      std::vector<std::vector<BsrWork>> schedule;
      std::string err;
      ASSERT_TRUE(scheduleBsr(w.rowPtr, ctas, schedule, err)) << err;
      ASSERT_EQ(static_cast<int64_t>(schedule.size()), ctas);
      std::vector<int> visits(static_cast<size_t>(total), 0), writes(static_cast<size_t>(rows), 0);
      for (int64_t c = 0; c < ctas; ++c) {
        int64_t mine = 0;
        for (const BsrWork &item : schedule[c]) {
          ASSERT_TRUE(item.begin >= w.rowPtr[item.row] && item.end <= w.rowPtr[item.row + 1]);
          for (int64_t j = item.begin; j < item.end; ++j)
            ++visits[j];
          mine += item.end - item.begin;
          writes[item.row] += item.writes;
        }
        // An equal share: floor or ceil of total / ctas.
        EXPECT_GE(mine, total / ctas) << "CTA " << c;
        EXPECT_LE(mine, (total + ctas - 1) / ctas) << "CTA " << c;
      }
      for (int v : visits)
        EXPECT_EQ(v, 1);
      for (int n : writes)
        EXPECT_EQ(n, 1);
      std::vector<double> x(static_cast<size_t>(12 * bc));
      std::mt19937 rng(3);
      std::normal_distribution<double> g;
      for (double &v : x)
        v = g(rng);
      std::vector<double> y = executeBsr(w.rowPtr, w.colIdx, w.blocks, br, bc, x, schedule);
      for (int64_t i = 0; i < rows * br; ++i) {
        double want = 0;
        for (int64_t k = 0; k < 12 * bc; ++k)
          want += w.dense.data[i * 12 * bc + k] * x[k];
        EXPECT_NEAR(y[i], want, 1e-12 * (1 + std::abs(want))) << "row " << i;
      }
    }
}

TEST(BlockSparse, EmptyWeightsAndBadRowPointers) {
  std::vector<std::vector<BsrWork>> schedule;
  std::string err;
  // Every row empty: each still written once (zeros).
  ASSERT_TRUE(scheduleBsr({0, 0, 0, 0}, 4, schedule, err));
  int items = 0;
  for (const auto &s : schedule)
    for (const BsrWork &w : s) {
      EXPECT_TRUE(w.writes && !w.partial && w.begin == w.end);
      ++items;
    }
  EXPECT_EQ(items, 3);
  EXPECT_FALSE(scheduleBsr({0, 3, 2}, 2, schedule, err));
  EXPECT_NE(err.find("row_ptr decreases at row 1"), std::string::npos) << err;
  EXPECT_FALSE(scheduleBsr({1, 3}, 2, schedule, err));
  EXPECT_NE(err.find("start at 0"), std::string::npos) << err;
  EXPECT_FALSE(scheduleBsr({0, 3}, 0, schedule, err));
  EXPECT_NE(err.find("at least one CTA"), std::string::npos) << err;
}

TEST(BlockSparse, ASplitRowNeedsItsFixup) {
  // One full row of 8 blocks over 4 CTAs: four pieces, three partial sums
  // and the last piece writing; dropping the fixup loses three quarters.
  std::vector<std::vector<BsrWork>> schedule;
  std::string err;
  ASSERT_TRUE(scheduleBsr({0, 8}, 4, schedule, err));
  int partial = 0, writers = 0;
  for (const auto &s : schedule)
    for (const BsrWork &w : s) {
      partial += w.partial;
      writers += w.writes;
    }
  EXPECT_EQ(partial, 4);
  EXPECT_EQ(writers, 1);
  std::vector<double> blocks(8, 1.0), x(8, 1.0);
  std::vector<int64_t> cols{0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(executeBsr({0, 8}, cols, blocks, 1, 1, x, schedule)[0], 8.0);
  for (auto &s : schedule)
    for (BsrWork &w : s)
      w.partial = false; // no fixup: each piece overwrites the row
  EXPECT_EQ(executeBsr({0, 8}, cols, blocks, 1, 1, x, schedule)[0], 2.0);
}
} // namespace
