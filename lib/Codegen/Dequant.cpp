//===- Dequant.cpp - dequantization recipes and their host model ----------===//
#include "einloom/Codegen/Dequant.h"

#include "einloom/Reference/Tensor.h"

#include <cmath>
#include <cstring>

using namespace einloom;
using namespace einloom::codegen;

uint32_t DequantRecipe::selector(unsigned i, unsigned h) const {
  // prmt's bytes 0-3 are the word's, 4-7 the second source's.
  if (path == DequantPath::PrmtHalf) // [byte 2i, 0x64, byte 2i+1, 0x64]
    return 0x4040 | (2 * i) | ((2 * i + 1) << 8);
  // PrmtFloat: [byte 2i+h, 0x00, 0x00, 0x4b] of 0x4b000000.
  return 0x7440 | (2 * i + h);
}

std::optional<DequantRecipe> einloom::codegen::dequantRecipe(unsigned bits, bool isSigned,
                                                             bool bf16, std::string &why) {
  DequantRecipe r;
  r.bits = bits;
  r.isSigned = isSigned;
  r.bf16 = bf16;
  r.offset = isSigned ? int64_t(1) << (bits - 1) : 0;
  uint32_t exponent = bf16 ? 0x43004300u : 0x64006400u;
  switch (bits) {
  case 2:
  case 4: {
    r.path = DequantPath::Lop3;
    r.regsPerWord = 16 / bits;
    uint32_t field = (1u << bits) - 1;
    r.mask = field | field << 16;
    uint32_t sign = isSigned ? (1u << (bits - 1)) * 0x10001u : 0;
    r.magic = exponent | sign;
    r.bias = bf16 ? 128 : 1024;
    r.pairedNibbles = bits == 4 && !bf16;
    return r;
  }
  case 8:
    r.regsPerWord = 2;
    r.wordXor = isSigned ? 0x80808080u : 0;
    if (bf16) {
      r.path = DequantPath::PrmtFloat;
      r.magic = 0x4b000000u;
      r.bias = 8388608.0; // 2^23
    } else {
      r.path = DequantPath::PrmtHalf;
      r.magic = 0x64646464u;
      r.bias = 1024;
    }
    return r;
  case 3: {
    // The low bit pair as a 2-bit field, then the high bit (and a signed
    // code's sign flip, in the magic) at bit 2 of each half.
    r.path = DequantPath::Lop3Split;
    r.regsPerWord = 8;
    r.mask = 0x00030003u;
    r.highMask = 0x00040004u;
    r.magic = exponent | (isSigned ? r.highMask : 0u);
    r.bias = bf16 ? 128 : 1024;
    return r;
  }
  default:
    why = std::to_string(bits) +
          "-bit codes have no register dequantization (2, 3, 4 and 8 bits do)";
    return std::nullopt;
  }
}

namespace {
/// PTX lop3.b32 with truth table `lut` (bit (a<<2 | b<<1 | c) of lut).
uint32_t lop3(uint32_t a, uint32_t b, uint32_t c, uint32_t lut) {
  uint32_t d = 0;
  for (int bit = 0; bit < 32; ++bit) {
    unsigned idx = ((a >> bit & 1) << 2) | ((b >> bit & 1) << 1) | (c >> bit & 1);
    d |= ((lut >> idx) & 1) << bit;
  }
  return d;
}

/// PTX prmt.b32 (default mode): byte i of d is byte sel[4i+2:4i] of {b, a}.
uint32_t prmt(uint32_t a, uint32_t b, uint32_t sel) {
  uint64_t both = uint64_t(b) << 32 | a;
  uint32_t d = 0;
  for (int i = 0; i < 4; ++i) {
    unsigned s = (sel >> (4 * i)) & 7;
    d |= uint32_t((both >> (8 * s)) & 0xff) << (8 * i);
  }
  return d;
}

/// A half (f16 or bf16) register operation, each result rounded once to
/// nearest even as the hardware's .rn instructions do.
struct HalfOps {
  ref::DType t;
  double value(uint16_t bits) const { return ref::floatFromBits(t, bits); }
  uint16_t round(double x) const {
    return static_cast<uint16_t>(ref::floatBits(t, ref::roundTo(t, x)));
  }
  uint16_t sub(uint16_t a, uint16_t b) const { return round(value(a) - value(b)); }
  uint16_t mul(uint16_t a, uint16_t b) const { return round(value(a) * value(b)); }
};

float asFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
} // namespace

std::vector<uint16_t> einloom::codegen::modelDequantize(const DequantRecipe &r,
                                                        const std::vector<uint32_t> &words,
                                                        int64_t N, int64_t K,
                                                        const GroupParams &g) {
  std::vector<uint16_t> out(static_cast<size_t>(N * K), 0);
  HalfOps ops{r.bf16 ? ref::DType::BF16 : ref::DType::F16};
  int64_t groups = g.groupSize ? K / g.groupSize : 1;
  for (int64_t kt = 0; kt < K / 64; ++kt)
    for (int64_t nb = 0; nb < N / 16; ++nb)
      for (int64_t lane = 0; lane < 32; ++lane) {
        // The lane's 16-byte (4-bit) load: `bits` consecutive words.
        int64_t first = aFragmentWord(N, kt, nb, lane, r.bits);
        for (int64_t j = 0; j < 16; ++j) {
          uint32_t word = words[first + j / r.regsPerWord] ^ r.wordXor;
          unsigned i = j % r.regsPerWord;
          // The row's scale and zero point for this k step's group.
          auto [row, kk] = aFragmentElement(lane, j, 0);
          int64_t n = nb * 16 + row, k = kt * 64 + kk;
          int64_t si = g.groupSize ? n * groups + k / g.groupSize : n;
          uint16_t s = g.scaleBits[si];
          int64_t z = (g.zeros.empty() ? 0 : g.zeros[si]) + r.offset;
          uint16_t half[2];
          if (r.path == DequantPath::PrmtFloat) {
            // Per half: f32 2^23 + byte, minus 2^23 + z (exact), times s
            // (exact: 9 x 8 significant bits), one cvt.rn.bf16x2.f32.
            for (unsigned h = 0; h < 2; ++h) {
              float x = asFloat(prmt(word, r.magic, r.selector(i, h)));
              float d = x - static_cast<float>(r.bias + z);
              float y = d * static_cast<float>(ops.value(s));
              half[h] = ops.round(static_cast<double>(y));
            }
          } else {
            uint32_t x = r.path == DequantPath::PrmtHalf
                             ? prmt(word, r.magic, r.selector(i))
                             : lop3(word >> r.shift(i), r.maskFor(i), r.magicFor(i),
                                    DequantRecipe::lut);
            if (r.path == DequantPath::Lop3Split) {
              uint32_t high = words[first + 2];
              int sh = r.highShift(static_cast<unsigned>(j));
              high = sh >= 0 ? high >> sh : high << -sh;
              x = lop3(high, r.highMask, x, DequantRecipe::lut);
            }
            uint16_t zc = ops.round(r.bias + static_cast<double>(z));
            // A raised field: fma(x, 1/16, -(bias / 16 + z)), rounded once.
            uint16_t zcRaised = ops.round(-(r.bias / 16 + static_cast<double>(z)));
            for (unsigned h = 0; h < 2; ++h) {
              uint16_t xv = static_cast<uint16_t>(x >> (16 * h));
              uint16_t d = r.raisedField(i) ? ops.round(ops.value(xv) / 16 + ops.value(zcRaised))
                                            : ops.sub(xv, zc);
              half[h] = ops.mul(d, s);
            }
          }
          for (unsigned h = 0; h < 2; ++h) {
            auto [rr, kh] = aFragmentElement(lane, j, h);
            out[(nb * 16 + rr) * K + kt * 64 + kh] = half[h];
          }
        }
      }
  return out;
}

/// Register `r` (0 or 1) of an interleaved word of nibbles: four codes,
/// one in the low bits of each byte (a shift and a lop3).
static uint32_t nibbles(uint32_t w, unsigned r) { return (w >> (4 * r)) & 0x0F0F0F0Fu; }

uint32_t einloom::codegen::packU4ForWidening(const std::array<uint8_t, 8> &codes) {
  uint32_t w = 0;
  for (unsigned j = 0; j < 4; ++j)
    w |= uint32_t(codes[j] & 0xf) << (8 * j) | uint32_t(codes[j + 4] & 0xf) << (8 * j + 4);
  return w;
}

uint32_t einloom::codegen::widenU4Register(uint32_t w, unsigned r, uint32_t s, uint32_t z) {
  uint32_t p = nibbles(w, r) * s; // imul: bytes q·s, no carries
  uint32_t zs = (z * s & 0xffu) * 0x01010101u; // the group's constant, once
  return sub4(p, zs);
}

std::array<uint32_t, 3> einloom::codegen::packS6ForWidening(const std::array<int8_t, 16> &codes) {
  // Words 0 and 1: the low nibbles of codes 0-7 and 8-15, interleaved as
  // W4's; word 2: the high bit pairs.
  std::array<uint8_t, 8> low[2];
  uint32_t high = 0;
  for (unsigned c = 0; c < 16; ++c) {
    uint32_t u = uint32_t(codes[c] + 32) & 0x3f;
    low[c / 8][c % 8] = static_cast<uint8_t>(u & 0xf);
    high |= (u >> 4) << (2 * (c / 4) + 8 * (c % 4));
  }
  return {packU4ForWidening(low[0]), packU4ForWidening(low[1]), high};
}

uint32_t einloom::codegen::widenS6Register(const std::array<uint32_t, 3> &w, unsigned r) {
  uint32_t low = nibbles(w[r / 2], r % 2);
  uint32_t high = ((w[2] >> (2 * r)) & 0x03030303u) << 4; // shift, lop3, shift
  return sub4(low | high, 0x20202020u);                     // or, then sub4
}
