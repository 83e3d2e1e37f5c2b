//===- BlockScalesTest.cpp - the block-scale promotion's host model -------===//
//
// The TMA wgmma kernel's block-scale promotion (loom.einsum scale_block) as
// a host model that uses the kernel's own index functions
// (include/einloom/Codegen/BlockScales.h): every thread of a warpgroup, each
// of its m64nN accumulators, summed block by block over K and promoted with
// the scales the thread loaded for its slots, for every tile of a problem
// with partial tiles and blocks, in both orientations (order = ab, and ba:
// the weight's rows on the MMA's M). The result must equal the reference's
// block-scaled product (ref::applyBlockScales, then the plain sum).
//
//===----------------------------------------------------------------------===//
#include "einloom/Codegen/BlockScales.h"
#include "einloom/Reference/Kernels.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace einloom;
using namespace einloom::codegen::blockscales;

namespace {
ref::Tensor randomTensor(std::vector<int64_t> shape, ref::Random &r, double lo, double hi) {
  ref::Tensor t(ref::DType::F64, std::move(shape));
  for (double &v : t.data)
    v = lo + (hi - lo) * r.uniform();
  return t;
}

/// The model: x (tokens x K) times w (rows x K) with block scales sa
/// (tokens x KB) and sw (ceil(rows / bn) x KB), on tiles of tileM x tileN
/// (tileM = 64: one warpgroup), transposed or not, as the kernel computes it.
/// Returns tokens x rows.
std::vector<double> kernelModel(const ref::Tensor &x, const ref::Tensor &w, const ref::Tensor &sa,
                                const ref::Tensor &sw, int64_t bk, int64_t bn, int64_t tileN,
                                bool transposed) {
  int64_t tokens = x.shape[0], rows = w.shape[0], k = x.shape[1];
  int64_t kb = (k + bk - 1) / bk;
  // The kernel's A and B: tokens first (ab) or the weight's rows first (ba).
  const ref::Tensor &a = transposed ? w : x, &b = transposed ? x : w;
  int64_t m = a.shape[0], n = b.shape[0], tileM = 64;
  std::vector<double> out(tokens * rows, 0.0);
  for (int64_t m0 = 0; m0 < m; m0 += tileM)
    for (int64_t n0 = 0; n0 < n; n0 += tileN)
      for (int64_t t = 0; t < 128; ++t) {
        int64_t warp = t / 32, lane = t % 32, g = lane / 4, tq = lane % 4;
        std::vector<double> sums(tileN / 2, 0.0);
        for (int64_t blk = 0; blk < kb; ++blk) {
          // The thread's scales for this block (rows or columns past the
          // tensors read row 0, as the kernel's loads do).
          std::vector<double> slots;
          auto clamp = [](int64_t v, int64_t size) { return v < size ? v : 0; };
          if (transposed) {
            slots.push_back(sw.data[(m0 / bn) * kb + blk]);
            for (int64_t j = 0; j < tileN / 4; ++j)
              slots.push_back(sa.data[clamp(n0 + tokenColumn(j, tq), n) * kb + blk]);
          } else {
            int64_t row = m0 + warp * 16 + g;
            slots.push_back(sa.data[clamp(row, m) * kb + blk]);
            slots.push_back(sa.data[clamp(row + 8, m) * kb + blk]);
            slots.push_back(sw.data[(n0 / bn) * kb + blk]);
          }
          for (int64_t i = 0; i < tileN / 2; ++i) {
            int64_t r = m0 + warp * 16 + accRow(i, g), c = n0 + accCol(i, tq);
            double part = 0;
            for (int64_t kk = blk * bk; kk < std::min(k, (blk + 1) * bk); ++kk)
              if (r < m && c < n)
                part += a.data[r * k + kk] * b.data[c * k + kk];
            double s = transposed ? slots[1 + tokenSlot(i)] * slots[0]
                                  : slots[rowSlot(i)] * slots[2];
            sums[i] += part * s;
          }
        }
        for (int64_t i = 0; i < tileN / 2; ++i) {
          int64_t r = m0 + warp * 16 + accRow(i, g), c = n0 + accCol(i, tq);
          if (r < m && c < n)
            out[transposed ? c * rows + r : r * rows + c] = sums[i];
        }
      }
  return out;
}

void expectModelMatchesReference(int64_t tokens, int64_t rows, int64_t k, int64_t bk, int64_t bn,
                                 int64_t tileN, bool transposed) {
  ref::Random r(tokens * 131 + rows * 7 + k + (transposed ? 1 : 0));
  int64_t kb = (k + bk - 1) / bk, nb = (rows + bn - 1) / bn;
  ref::Tensor x = randomTensor({tokens, k}, r, -1, 1), w = randomTensor({rows, k}, r, -1, 1);
  ref::Tensor sa = randomTensor({tokens, kb}, r, 0.25, 4), sw = randomTensor({nb, kb}, r, 0.25, 4);
  ref::Tensor xs, ws;
  std::string err;
  ASSERT_TRUE(ref::applyBlockScales(x, w, "mk", "nk", "mn", sa, sw, bk, bn, xs, ws, err)) << err;
  std::vector<double> got = kernelModel(x, w, sa, sw, bk, bn, tileN, transposed);
  for (int64_t i = 0; i < tokens; ++i)
    for (int64_t j = 0; j < rows; ++j) {
      double want = 0;
      for (int64_t kk = 0; kk < k; ++kk)
        want += xs.data[i * k + kk] * ws.data[j * k + kk];
      ASSERT_NEAR(got[i * rows + j], want, 1e-9 * (1 + std::fabs(want)))
          << "token " << i << ", row " << j << (transposed ? " (transposed)" : "");
    }
}
} // namespace

// Not transposed: 64-row tiles of tokens, 32-wide tiles of the weight's
// rows, blocks of 32 x 32 (so a tile sits in one weight block); partial
// token, row and K blocks.
TEST(BlockScalesModel, PromotionMatchesTheReference) {
  expectModelMatchesReference(/*tokens=*/70, /*rows=*/100, /*k=*/200, /*bk=*/32, /*bn=*/32,
                              /*tileN=*/32, /*transposed=*/false);
}

// Transposed (few tokens): the weight's rows on the MMA's M (64 a tile,
// inside one 128-row block), tokens 16 and 8 a tile; the token slots cover
// every column of the tile.
TEST(BlockScalesModel, TransposedPromotionMatchesTheReference) {
  expectModelMatchesReference(/*tokens=*/17, /*rows=*/200, /*k=*/300, /*bk=*/128, /*bn=*/128,
                              /*tileN=*/16, /*transposed=*/true);
  expectModelMatchesReference(/*tokens=*/5, /*rows=*/130, /*k=*/256, /*bk=*/128, /*bn=*/64,
                              /*tileN=*/8, /*transposed=*/true);
}

// The slots' layout: each of a thread's columns is the column of exactly
// one token slot, and the two row slots are rows g and g + 8.
TEST(BlockScalesModel, SlotsCoverTheThreadsColumnsAndRows) {
  for (int64_t tileN : {8, 16, 64, 256})
    for (int64_t tq = 0; tq < 4; ++tq)
      for (int64_t i = 0; i < tileN / 2; ++i) {
        EXPECT_EQ(tokenColumn(tokenSlot(i), tq), accCol(i, tq));
        EXPECT_LT(tokenSlot(i), tileN / 4);
        EXPECT_EQ(accRow(i, 3), 3 + 8 * rowSlot(i));
      }
}
