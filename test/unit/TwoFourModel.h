//===- TwoFourModel.h - 2:4 operands as mma.sp reads them -------*- C++ -*-===//
//
// A host model of the registers a warp hands to `mma.sp.sync.aligned.m16n8k32`
// (f16/bf16, sparsity selector 0) for one 16 x 32 block of a weight packed
// in docs/dialect.md's two_four layout, and of what the instruction makes
// of them: the dense 16 x 32 A it multiplies. The kernel that issues mma.sp
// must hand over exactly these registers; the tests check that the packed
// layout, read this way, gives back the weight bit for bit.
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

} // namespace einloom::test

#endif // EINLOOM_TEST_TWOFOURMODEL_H
