//===- TwoFourModel.h - 2:4 operands as mma.sp reads them -------*- C++ -*-===//
//
// A host model of the registers a warp hands to `mma.sp.sync.aligned.m16n8k32`
// (f16/bf16, sparsity selector 0) for one 16 x 32 block of a weight packed
// in docs/dialect.md's two_four layout, and of what the instruction makes
// of them: the dense 16 x 32 A it multiplies. The kernel that issues mma.sp
// must hand over exactly these registers; the tests check that the packed
// layout, read this way, gives back the weight bit for bit. Also modelled:
// the decoding producer of the sparse kernel (twoFourStage), which rebuilds
// the dense swizzled stage that the mma.sync core reads, and the
// compressed stage of the mma.sp kernel (twoFourSpStage) with the
// registers its lanes load from it (spFragmentFromStage).
//
// The instruction's reading (PTX ISA, "sparse mma metadata" for m16n8k32
// 16-bit types, as LLVM's sparse-mma integration test also uses it):
// - A is the compressed 16 x 16 block, in a dense m16n8k16 A fragment's
//   registers: lane l (g = l / 4, t = l % 4) holds compressed columns
//   2t, 2t + 1 of rows g (a0) and g + 8 (a1), and columns 8 + 2t, 9 + 2t
//   of the same rows (a2, a3), low half first.
// - With selector 0 the metadata comes from lanes 4g and 4g + 1: lane
//   4g + p gives, for logical columns 16p .. 16p + 15, row g's sixteen bits
//   (low half) and row g + 8's (high half). Bits 4j .. 4j + 3 of a half
//   belong to the group of four logical columns 16p + 4j ..: the position
//   (0-3) of the group's first kept value (compressed column 2(4p + j)) in
//   the low two bits, of its second in the high two.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_TEST_TWOFOURMODEL_H
#define EINLOOM_TEST_TWOFOURMODEL_H

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace einloom::test {

/// One lane's registers for mma.sp m16n8k32 (selector 0).
struct SpFragment {
  uint32_t a[4] = {0, 0, 0, 0};
  uint32_t meta = 0;
};

/// Lane `lane`'s registers for the block of rows r0 .. r0 + 15 and logical
/// columns k0 .. k0 + 31 (k0 a multiple of 32) of a rows x K weight packed
/// as two_four: `values` rows x K/2, `meta` rows x K/16.
inline SpFragment spFragment(const std::vector<uint16_t> &values,
                             const std::vector<uint16_t> &meta, int64_t K, int64_t r0,
                             int64_t k0, int lane) {
  SpFragment f;
  int64_t g = lane / 4, t = lane % 4, half = K / 2, words = K / 16;
  auto pair = [&](int64_t row, int64_t ccol) {
    int64_t at = row * half + k0 / 2 + ccol;
    return uint32_t(values[at]) | uint32_t(values[at + 1]) << 16;
  };
  f.a[0] = pair(r0 + g, 2 * t);
  f.a[1] = pair(r0 + g + 8, 2 * t);
  f.a[2] = pair(r0 + g, 8 + 2 * t);
  f.a[3] = pair(r0 + g + 8, 8 + 2 * t);
  if (t < 2) {
    int64_t w = k0 / 16 + t;
    f.meta = uint32_t(meta[(r0 + g) * words + w]) | uint32_t(meta[(r0 + g + 8) * words + w]) << 16;
  }
  return f;
}

/// The dense 16 x 32 block (row-major) that mma.sp multiplies, rebuilt from
/// the warp's 32 lanes of registers as the instruction reads them. A group
/// whose two positions are equal is invalid metadata: `valid` turns false.
inline std::array<uint16_t, 16 * 32> spDecode(const SpFragment (&lanes)[32], bool &valid) {
  std::array<uint16_t, 16 * 32> dense{};
  valid = true;
  for (int row = 0; row < 16; ++row) {
    int g = row % 8;
    for (int p = 0; p < 2; ++p) {
      uint32_t m = lanes[4 * g + p].meta >> (row < 8 ? 0 : 16);
      for (int j = 0; j < 4; ++j) {
        int group = 4 * p + j; // of 8 along the 32 columns
        int ccol = 2 * group;  // its first compressed column
        // Compressed column c of row `row`: lane 4g + (c % 8) / 2, register
        // 2 (c >= 8) + (row >= 8), half c % 2.
        auto value = [&](int c) {
          const SpFragment &f = lanes[4 * g + (c % 8) / 2];
          uint32_t r = f.a[(c >= 8 ? 2 : 0) + (row >= 8 ? 1 : 0)];
          return uint16_t(c % 2 ? r >> 16 : r & 0xffff);
        };
        int i0 = (m >> (4 * j)) & 3, i1 = (m >> (4 * j + 2)) & 3;
        if (i0 == i1)
          valid = false;
        dense[row * 32 + 4 * group + i0] = value(ccol);
        dense[row * 32 + 4 * group + i1] = value(ccol + 1);
      }
    }
  }
  return dense;
}

/// The sparse kernel's 2:4 producer (lib/Codegen/SparseProducer.cpp,
/// loadTwoFour and twoFourDecode) on the host: the stage of K tile `kTile`
/// for the `bm` rows from `row0` of an N x K weight, as `threads` threads
/// write it (thread t's item i: row t / 4 + (threads / 4) i, quarter t % 4;
/// loads clamped into the buffers, an item outside the weight zeroed; chunk
/// c of row r at c ^ (r % 8) of the row's 128 bytes). Returns false if a
/// store left the stage or hit a place another store had written.
inline bool twoFourStage(const std::vector<uint16_t> &values, const std::vector<uint16_t> &meta,
                         int64_t N, int64_t K, int64_t row0, int64_t kTile, int64_t bm,
                         int64_t threads, std::vector<uint16_t> &stage) {
  stage.assign(static_cast<size_t>(bm * 64), 0xdead); // never-written marker
  std::vector<bool> written(stage.size(), false);
  int64_t items = bm * 4 / threads;
  int64_t gk = std::min<int64_t>(kTile, (K + 63) / 64 - 1);
  for (int64_t t = 0; t < threads; ++t)
    for (int64_t i = 0; i < items; ++i) {
      int64_t r = t / 4 + (threads / 4) * i, q = t % 4;
      bool valid = row0 + r < N && kTile * 64 + 16 * q < K;
      int64_t row = std::min(row0 + r, N - 1), col = gk * 64 + 16 * q;
      int64_t byte = std::min(row * K + col, N * K - 16); // the values' bytes: K a row
      int64_t word = std::min((row * K + col) / 16, N * K / 16 - 1);
      uint32_t v[4], m = valid ? meta[word] : 0;
      for (int j = 0; j < 4; ++j)
        v[j] = valid ? uint32_t(values[byte / 2 + 2 * j]) | uint32_t(values[byte / 2 + 2 * j + 1]) << 16
                     : 0;
      uint16_t out[16];
      for (int j = 0; j < 4; ++j) {
        uint32_t i0 = (m >> (4 * j)) & 3, i1 = (m >> (4 * j + 2)) & 3;
        for (uint32_t p = 0; p < 4; ++p)
          out[4 * j + p] = uint16_t((i0 == p ? v[j] & 0xffff : 0) | (i1 == p ? v[j] >> 16 : 0));
      }
      for (int h = 0; h < 2; ++h) {
        int64_t chunk = (2 * q + h) ^ (r % 8);
        for (int e = 0; e < 8; ++e) {
          int64_t at = r * 64 + chunk * 8 + e;
          if (at < 0 || at >= static_cast<int64_t>(stage.size()) || written[at])
            return false;
          written[at] = true;
          stage[at] = out[8 * h + e];
        }
      }
    }
  return true;
}

/// The mma.sp form's copies (lib/Codegen/SparseProducer.cpp,
/// copyTwoFourStage) on the host: the stage of K tile `kTile` of the `bm`
/// rows from `row0` (K a multiple of 64): row r's 64 bytes of values as its
/// logical chunks 0-3 and its four metadata words as the first half of
/// logical chunk 4, chunk c at c ^ (r % 8); a row past the weight copies
/// the weight's last row. Returns false if a copy left the stage or hit a
/// place another copy had written.
inline bool twoFourSpStage(const std::vector<uint16_t> &values, const std::vector<uint16_t> &meta,
                           int64_t N, int64_t K, int64_t row0, int64_t kTile, int64_t bm,
                           std::vector<uint16_t> &stage) {
  stage.assign(static_cast<size_t>(bm * 64), 0xdead); // never-written marker
  std::vector<bool> written(stage.size(), false);
  auto put = [&](int64_t at, uint16_t v) {
    if (at < 0 || at >= static_cast<int64_t>(stage.size()) || written[at])
      return false;
    written[at] = true;
    stage[at] = v;
    return true;
  };
  for (int64_t r = 0; r < bm; ++r) {
    int64_t row = std::min(row0 + r, N - 1);
    for (int64_t q = 0; q < 4; ++q) // 16 bytes: 8 values
      for (int64_t e = 0; e < 8; ++e)
        if (!put(r * 64 + ((q ^ (r % 8)) * 8) + e, values[row * (K / 2) + 32 * kTile + 8 * q + e]))
          return false;
    for (int64_t w = 0; w < 4; ++w) // 8 bytes: 4 words
      if (!put(r * 64 + (4 ^ (r % 8)) * 8 + w, meta[row * (K / 16) + 4 * kTile + w]))
        return false;
  }
  return true;
}

/// Lane `lane`'s mma.sp registers at step `ks` (0 or 1: logical columns
/// 32 ks ..) for fragment `frag` of a warp whose rows start at `warpRow`,
/// read from a twoFourSpStage stage as lib/Codegen/MmaCore.cpp reads it:
/// ldmatrix.x4 with the dense kernel's A addresses of step ks (lane 8j + rr
/// gives matrix j's row rr: fragment row rr + 8 (j % 2), logical chunk
/// 2 ks + j / 2), and metadata word 2 ks + lane % 2 of logical chunk 4 of
/// fragment rows lane / 4 (low half) and lane / 4 + 8 (high half).
inline SpFragment spFragmentFromStage(const std::vector<uint16_t> &stage, int64_t warpRow,
                                      int64_t frag, int64_t ks, int lane) {
  SpFragment f;
  int64_t base = warpRow + 16 * frag;
  auto address = [&](int supplier) { // ldmatrix: the row address lane `supplier` gives
    int64_t rowInFrag = supplier % 16, chunkLane = supplier / 16, r8 = supplier % 8;
    return (base + rowInFrag) * 64 + ((chunkLane + 2 * ks) ^ r8) * 8;
  };
  for (int j = 0; j < 4; ++j) {
    int64_t at = address(8 * j + lane / 4) + 2 * (lane % 4);
    f.a[j] = uint32_t(stage[at]) | uint32_t(stage[at + 1]) << 16;
  }
  int64_t g = lane / 4;
  int64_t at = (base + g) * 64 + (4 ^ g) * 8 + 2 * ks + lane % 2; // row g's word
  f.meta = uint32_t(stage[at]) | uint32_t(stage[at + 8 * 64]) << 16;
  return f;
}

} // namespace einloom::test

#endif // EINLOOM_TEST_TWOFOURMODEL_H
