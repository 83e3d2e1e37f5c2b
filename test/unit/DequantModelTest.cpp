//===- DequantModelTest.cpp - the kernel's register dequantization, on the host
//
// The reference packs random codes into the a_fragment layout; the host
// model reads them lane by lane as the kernel does (its word addresses, its
// lop3/prmt constants, its f16/bf16/f32 rounding per instruction) and must
// reproduce the reference dequantization bit for bit, for every bit width,
// group size, zero-point mode and half type.
//
//===----------------------------------------------------------------------===//
#include "einloom/Codegen/Dequant.h"
#include "einloom/Plan/Contraction.h"
#include "einloom/Reference/Kernels.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

using namespace einloom;
using namespace einloom::codegen;
using namespace einloom::ref;

namespace {
struct Case {
  unsigned bits;
  bool isSigned;
  bool zero;
  int64_t group; // 0: per channel
  bool bf16;
};

struct Weight {
  Tensor codes, scale, zp;
  GroupParams g;
  QuantParams q;
};

/// Random codes over the whole range, scales spanning signs, tiny and large
/// magnitudes (products that round, and subnormal results), zero points
/// over the code range.
Weight makeWeight(const Case &c, int64_t N, int64_t K, uint32_t seed) {
  std::mt19937 rng(seed);
  Weight w;
  w.q.bits = c.bits;
  w.q.kind = c.isSigned ? QuantKind::Signed : QuantKind::Unsigned;
  w.q.zeroPoint = c.zero;
  w.q.granularity = c.group ? Granularity::PerGroup : Granularity::PerChannel;
  w.q.axis = c.group ? 1 : 0;
  w.q.groupSize = c.group;
  int64_t lo = w.q.minCode(), hi = w.q.maxCode();
  std::uniform_int_distribution<int64_t> code(lo, hi);
  w.codes = Tensor(DType::I8, {N, K});
  for (double &v : w.codes.data)
    v = static_cast<double>(code(rng));
  std::vector<int64_t> sshape = c.group ? std::vector<int64_t>{N, K / c.group}
                                        : std::vector<int64_t>{N};
  DType half = c.bf16 ? DType::BF16 : DType::F16;
  w.scale = Tensor(half, sshape);
  std::uniform_real_distribution<double> mant(-2, 2);
  std::uniform_int_distribution<int> expo(-20, 6);
  for (double &v : w.scale.data) {
    v = roundTo(half, std::ldexp(mant(rng), expo(rng)));
    w.g.scaleBits.push_back(static_cast<uint16_t>(floatBits(half, v)));
  }
  w.g.groupSize = c.group;
  if (c.zero) {
    w.zp = Tensor(DType::I8, sshape);
    for (double &v : w.zp.data) {
      v = static_cast<double>(code(rng));
      w.g.zeros.push_back(static_cast<int64_t>(v));
    }
  }
  return w;
}

PackParams aFragmentParams(unsigned bits, bool isSigned) {
  PackParams p;
  p.format = PackFormat::AFragment;
  p.bits = bits;
  p.kind = isSigned ? QuantKind::Signed : QuantKind::Unsigned;
  return p;
}

std::vector<uint32_t> packWords(const Tensor &codes, unsigned bits, bool isSigned) {
  PackParams p = aFragmentParams(bits, isSigned);
  std::vector<Tensor> out;
  std::string err;
  EXPECT_TRUE(pack(codes, p, out, err)) << err;
  std::vector<uint32_t> words;
  for (double v : out.at(0).data)
    words.push_back(static_cast<uint32_t>(static_cast<int64_t>(v)));
  return words;
}

/// The reference dequantization as bit patterns.
std::vector<uint16_t> reference(const Weight &w, bool bf16) {
  DType half = bf16 ? DType::BF16 : DType::F16;
  Tensor out;
  std::string err;
  EXPECT_TRUE(dequantize(w.codes, w.scale, w.q.zeroPoint ? &w.zp : nullptr, w.q, half, out, err))
      << err;
  std::vector<uint16_t> bits;
  for (double v : out.data)
    bits.push_back(static_cast<uint16_t>(floatBits(half, v)));
  return bits;
}

std::string name(const Case &c) {
  return std::to_string(c.bits) + (c.isSigned ? "-bit signed" : "-bit unsigned") +
         (c.zero ? " with zero points" : "") +
         (c.group ? ", group " + std::to_string(c.group) : ", per channel") +
         (c.bf16 ? ", bf16" : ", f16");
}
} // namespace

TEST(DequantModel, ReproducesTheReferenceBitForBit) {
  int checked = 0;
  uint32_t seed = 1;
  for (unsigned bits : {2u, 3u, 4u, 8u})
    for (bool isSigned : {false, true})
      for (bool zero : {false, true})
        for (int64_t group : {int64_t(0), int64_t(32), int64_t(64), int64_t(128)})
          for (bool bf16 : {false, true}) {
            Case c{bits, isSigned, zero, group, bf16};
            int64_t N = 48, K = 256;
            Weight w = makeWeight(c, N, K, seed++);
            std::string why;
            std::optional<DequantRecipe> r = dequantRecipe(bits, isSigned, bf16, why);
            ASSERT_TRUE(r) << why;
            std::vector<uint16_t> got =
                modelDequantize(*r, packWords(w.codes, bits, isSigned), N, K, w.g);
            std::vector<uint16_t> want = reference(w, bf16);
            int64_t bad = 0, first = -1;
            for (size_t i = 0; i < want.size(); ++i)
              if (got[i] != want[i] && bad++ == 0)
                first = static_cast<int64_t>(i);
            EXPECT_EQ(bad, 0) << name(c) << ": first mismatch at (n, k) = (" << first / K
                              << ", " << first % K << "): model 0x" << std::hex
                              << (first >= 0 ? got[first] : 0) << ", reference 0x"
                              << (first >= 0 ? want[first] : 0);
            ++checked;
          }
  EXPECT_EQ(checked, 4 * 2 * 2 * 4 * 2);
}

// The test above can fail: a recipe that forgets the sign-bit flip, or
// words in another layout, do not reproduce the reference.
TEST(DequantModel, DetectsAWrongSignFlipAndAWrongLayout) {
  Case c{4, true, false, 128, false};
  int64_t N = 32, K = 128;
  Weight w = makeWeight(c, N, K, 99);
  std::string why;
  DequantRecipe r = *dequantRecipe(4, true, false, why);
  std::vector<uint32_t> words = packWords(w.codes, 4, true);
  std::vector<uint16_t> want = reference(w, false);
  EXPECT_EQ(modelDequantize(r, words, N, K, w.g), want);
  DequantRecipe noFlip = r;
  noFlip.magic = 0x64006400u;
  EXPECT_NE(modelDequantize(noFlip, words, N, K, w.g), want);
  // The mma.sync B-fragment layout of the K x N transpose holds the same
  // codes in another order.
  Tensor t(DType::I8, {K, N});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      t.data[k * N + n] = w.codes.data[n * K + k];
  PackParams p;
  p.format = PackFormat::Fragment;
  p.bits = 4;
  std::vector<Tensor> out;
  ASSERT_TRUE(pack(t, p, out, why)) << why;
  std::vector<uint32_t> other;
  for (double v : out[0].data)
    other.push_back(static_cast<uint32_t>(static_cast<int64_t>(v)));
  EXPECT_NE(modelDequantize(r, other, N, K, w.g), want);
}

TEST(DequantModel, EachLaneLoadsItsOwnConsecutiveWords) {
  // A 4-bit lane's words of one tile are one aligned 16-byte load, and the
  // 32 lanes of a tile cover 512 consecutive bytes.
  for (int64_t lane = 0; lane < 32; ++lane) {
    int64_t w = aFragmentWord(64, 1, 2, lane, 4);
    EXPECT_EQ(w % 4, 0);
    EXPECT_EQ(w, aFragmentWord(64, 1, 2, 0, 4) + 4 * lane);
  }
  // Every (row, k) of a 16 x 64 tile is one lane's register half, once.
  std::vector<int> seen(16 * 64, 0);
  for (int64_t lane = 0; lane < 32; ++lane)
    for (int64_t j = 0; j < 16; ++j)
      for (int64_t h = 0; h < 2; ++h) {
        auto [row, k] = aFragmentElement(lane, j, h);
        ASSERT_LT(row, 16);
        ASSERT_LT(k, 64);
        ++seen[row * 64 + k];
      }
  for (int s : seen)
    EXPECT_EQ(s, 1);
}

namespace {
/// The mixed-input wgmma kernel's CTA tile, modelled on the host with the
/// generator's index formulas: the producer's copy of each K tile's packed
/// run (tileBase + rowOrigin·rowBytes + stage byte), each warp's row
/// (warpRow = (warp mod warps_m)·16), each lane's first word
/// ((warpRow / 16·32 + lane)·4·bits) and the words of register j
/// (j / regsPerWord), wgmma m64nNk16's register A (warp w of a warpgroup
/// holds rows 16w to 16w + 15 as mma.sync's m16n8k16 A) and accumulators
/// (n8 tile i / 4: rows g and g + 8, columns 2t and 2t + 1), then the
/// epilogue's (row, column) of accumulator (n, half, e). Returns the tile's
/// M x tokens result (row-major, rows past N or tokens past T unwritten: 0);
/// `wordRead` is told which packed word each register came from.
std::vector<double> modelWgmmaTile(const DequantRecipe &r, const std::vector<uint16_t> &deq,
                                   const std::vector<double> &x, int64_t N, int64_t K,
                                   int64_t T, int64_t bm, int64_t bn, int64_t rowOrigin,
                                   int64_t tokenOrigin, bool bf16,
                                   const std::function<void(int64_t, int64_t, int64_t, int64_t,
                                                            int64_t)> &wordRead,
                                   int64_t warpsM) {
  DType half = bf16 ? DType::BF16 : DType::F16;
  int64_t rowBytes = 8 * r.bits, warps = bm / 16;
  std::vector<double> acc(warps * 32 * (bn / 2), 0.0);
  for (int64_t kt = 0; kt < K / 64; ++kt) {
    int64_t tileBase = kt * N * rowBytes; // issuePackedCopies
    for (int64_t warp = 0; warp < warps; ++warp) {
      int64_t warpRow = (warp % warpsM) * (bm / warpsM);
      for (int64_t lane = 0; lane < 32; ++lane) {
        int64_t laneByte = (warpRow / 16 * 32 + lane) * 4 * r.bits; // packedLaneOffset
        // The warpgroup's 64 x 16 A of each k step, this warp's rows.
        for (int64_t ks = 0; ks < 4; ++ks) {
          for (int64_t reg = 0; reg < 4; ++reg) {
            int64_t j = 4 * ks + reg;
            int64_t wi = j / r.regsPerWord;
            int64_t globalWord = (tileBase + rowOrigin * rowBytes + laneByte + 4 * wi) / 4;
            wordRead(globalWord, kt, (rowOrigin + warpRow) / 16, lane, wi);
            for (int64_t h = 0; h < 2; ++h) {
              auto [row, k] = aFragmentElement(lane, j, h);
              // wgmma: warp (warp mod 4) of its warpgroup holds rows
              // 16 (warp mod 4) of the warpgroup's 64.
              int64_t wgRow = 64 * (warp / 4) + 16 * (warp % 4) + row;
              int64_t n = rowOrigin + warpRow + row, kk = kt * 64 + k;
              double w = n < N ? floatFromBits(half, deq[n * K + kk]) : 0.0;
              // The warp that holds wgRow's accumulators: the same warp,
              // lanes with g = row mod 8.
              int64_t owner = wgRow / 16;
              for (int64_t col = 0; col < bn; ++col) {
                int64_t t = tokenOrigin + col;
                double xv = t < T ? x[t * K + kk] : 0.0;
                int64_t rr = wgRow % 16;
                int64_t l = (rr % 8) * 4 + (col % 8) / 2;
                int64_t i = (col / 8) * 4 + (rr / 8) * 2 + col % 2;
                acc[(owner * 32 + l) * (bn / 2) + i] += w * xv;
              }
            }
          }
        }
      }
    }
  }
  // storeEpilogue with one 16-row fragment a warp and bn / 8 n8 tiles.
  std::vector<double> out(bm * bn, 0.0);
  for (int64_t warp = 0; warp < warps; ++warp) {
    int64_t warpRow = (warp % warpsM) * (bm / warpsM);
    for (int64_t lane = 0; lane < 32; ++lane)
      for (int64_t n = 0; n < bn / 8; ++n)
        for (int64_t hf = 0; hf < 2; ++hf)
          for (int64_t e = 0; e < 2; ++e) {
            int64_t row = warpRow + lane / 4 + 8 * hf, col = 2 * (lane % 4) + 8 * n + e;
            if (rowOrigin + row < N && tokenOrigin + col < T)
              out[row * bn + col] = acc[(warp * 32 + lane) * (bn / 2) + n * 4 + hf * 2 + e];
          }
  }
  return out;
}
} // namespace

TEST(DequantModel, WgmmaMixedInputTileMatchesTheProduct) {
  // One and two warpgroups, 4- and 8-bit codes, a partial last weight tile
  // (N = 80) and a partial token tile: every element of the CTA's result
  // equals the f64 product of the dequantized weight and the activations.
  struct TileCase {
    unsigned bits;
    int64_t bm, bn, rowOrigin, tokenOrigin;
  };
  int64_t N = 80, K = 256, T = 40;
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> x(T * K);
  for (double &v : x)
    v = roundTo(DType::F16, u(rng));
  for (TileCase tc : {TileCase{4, 64, 32, 64, 32}, TileCase{8, 128, 64, 0, 0},
                      TileCase{2, 128, 16, 0, 32}}) {
    Case c{tc.bits, false, true, 64, false};
    Weight w = makeWeight(c, N, K, 11 + tc.bits);
    std::string why;
    DequantRecipe r = *dequantRecipe(tc.bits, false, false, why);
    std::vector<uint32_t> words = packWords(w.codes, tc.bits, false);
    std::vector<uint16_t> deq = modelDequantize(r, words, N, K, w.g);
    int64_t badWords = 0;
    auto check = [&](int64_t word, int64_t kt, int64_t nb, int64_t lane, int64_t wi) {
      // Past the weight's last row the copy is predicated off (rows read
      // as zeros); elsewhere the word is the a_fragment layout's.
      if (nb < N / 16 && word != aFragmentWord(N, kt, nb, lane, tc.bits) + wi)
        ++badWords;
    };
    std::vector<double> got = modelWgmmaTile(r, deq, x, N, K, T, tc.bm, tc.bn, tc.rowOrigin,
                                             tc.tokenOrigin, false, check, tc.bm / 16);
    EXPECT_EQ(badWords, 0) << tc.bits << "-bit codes, " << tc.bm << " rows";
    int64_t bad = 0;
    for (int64_t i = 0; i < tc.bm; ++i)
      for (int64_t j = 0; j < tc.bn; ++j) {
        int64_t n = tc.rowOrigin + i, t = tc.tokenOrigin + j;
        double want = 0;
        if (n < N && t < T)
          for (int64_t k = 0; k < K; ++k)
            want += floatFromBits(DType::F16, deq[n * K + k]) * x[t * K + k];
        if (std::abs(got[i * tc.bn + j] - want) > 1e-9 * (1 + std::abs(want)))
          ++bad;
      }
    EXPECT_EQ(bad, 0) << tc.bits << "-bit codes, " << tc.bm << " x " << tc.bn << " tile";
    // The mma.sync kernel's warp grid (2 x 2 warps of 32 rows) read as
    // wgmma's rows puts the weight's rows under the wrong accumulators.
    if (tc.bm == 128) {
      std::vector<double> wrong = modelWgmmaTile(r, deq, x, N, K, T, tc.bm, tc.bn, tc.rowOrigin,
                                                 tc.tokenOrigin, false,
                                                 [](int64_t, int64_t, int64_t, int64_t, int64_t) {},
                                                 2);
      EXPECT_NE(wrong, got);
    }
  }
}

TEST(DequantModel, RefusesWidthsWithNoKernel) {
  std::string why;
  EXPECT_FALSE(dequantRecipe(5, false, false, why));
  EXPECT_NE(why.find("5-bit"), std::string::npos) << why;
  EXPECT_FALSE(dequantRecipe(6, true, true, why));
}

TEST(APackedLayout, RoundTripsAndRejectsBadShapes) {
  for (unsigned bits : {2u, 3u, 4u, 8u})
    for (bool isSigned : {false, true}) {
      Weight w = makeWeight({bits, isSigned, false, 64, false}, 32, 192, bits * 7 + isSigned);
      PackParams p = aFragmentParams(bits, isSigned);
      std::vector<Tensor> out;
      std::string err;
      ASSERT_TRUE(pack(w.codes, p, out, err)) << err;
      EXPECT_EQ(out[0].numel(), 32 * 192 * int64_t(bits) / 32);
      Tensor back;
      ASSERT_TRUE(unpack({&out[0]}, p, {32, 192}, DType::I8, back, err)) << err;
      EXPECT_EQ(back.data, w.codes.data);
    }
  PackParams p = aFragmentParams(4, /*isSigned=*/true);
  std::vector<Tensor> out;
  std::string err;
  Tensor odd(DType::I8, {16, 96});
  EXPECT_FALSE(pack(odd, p, out, err));
  EXPECT_NE(err.find("K % 64"), std::string::npos) << err;
  Tensor big(DType::I8, {16, 64});
  big.data[5] = 8; // not a signed 4-bit code
  EXPECT_FALSE(pack(big, p, out, err));
  EXPECT_NE(err.find("does not fit"), std::string::npos) << err;
}

// The byte packer behind einloomPackWeight and einloom.pack_weight writes
// exactly the reference's words (every width and signedness), and refuses
// what the reference refuses.
TEST(APackedLayout, BytePackerMatchesTheReference) {
  for (unsigned bits : {2u, 3u, 4u, 8u})
    for (bool isSigned : {false, true}) {
      Weight w = makeWeight({bits, isSigned, false, 64, false}, 48, 128, bits * 11 + isSigned);
      std::vector<Tensor> ref;
      std::string err;
      ASSERT_TRUE(pack(w.codes, aFragmentParams(bits, isSigned), ref, err)) << err;
      std::vector<uint8_t> bytes(w.codes.data.size());
      for (size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<uint8_t>(static_cast<int64_t>(w.codes.data[i]) & 0xFF);
      std::vector<uint32_t> words(48 * 128 * bits / 32);
      ASSERT_TRUE(packAFragmentWords(bytes.data(), 48, 128, bits, isSigned, words.data(), err))
          << err;
      for (size_t i = 0; i < words.size(); ++i)
        ASSERT_EQ(static_cast<int32_t>(words[i]), static_cast<int64_t>(ref[0].data[i]))
            << bits << "-bit " << (isSigned ? "signed" : "unsigned") << " word " << i;
    }
  std::vector<uint8_t> bytes(16 * 64, 0);
  std::vector<uint32_t> words(16 * 64 / 8);
  std::string err;
  EXPECT_FALSE(packAFragmentWords(bytes.data(), 16, 96, 4, false, words.data(), err));
  EXPECT_NE(err.find("K % 64"), std::string::npos) << err;
  bytes[3] = 0x10; // 16: not an unsigned 4-bit code
  EXPECT_FALSE(packAFragmentWords(bytes.data(), 16, 64, 4, false, words.data(), err));
  EXPECT_NE(err.find("does not fit"), std::string::npos) << err;
}

// The 3-bit layout as docs/dialect.md writes it, bit by bit: element
// (row, k) of lane 0's register j, half h, has its low bit pair in word
// j / 8 at bits 2(j mod 8 + 8h) and its high bit in word 2 at bit j + 16h.
TEST(APackedLayout, ThreeBitCodesSplitAsDocumented) {
  struct Placed {
    int64_t n, k;
    uint8_t code;
    int64_t lowWord, lowShift, highBit;
  };
  // j = 0, h = 0 / 1; j = 9 (k step 2, register 1: row 8, k 32); j = 2
  // (register 2: k 8), h = 1.
  for (Placed pl : {Placed{0, 0, 5, 0, 0, 0}, Placed{0, 1, 6, 0, 16, 16},
                    Placed{8, 32, 3, 1, 2, 9}, Placed{0, 9, 4, 0, 20, 18}}) {
    std::vector<uint8_t> codes(16 * 64, 0);
    codes[pl.n * 64 + pl.k] = pl.code;
    std::vector<uint32_t> words(16 * 64 * 3 / 32);
    std::string err;
    ASSERT_TRUE(packAFragmentWords(codes.data(), 16, 64, 3, false, words.data(), err)) << err;
    std::vector<uint32_t> want(words.size(), 0);
    want[pl.lowWord] = uint32_t(pl.code & 3) << pl.lowShift;
    want[2] |= uint32_t(pl.code >> 2) << pl.highBit;
    EXPECT_EQ(words, want) << "code " << int(pl.code) << " at (" << pl.n << ", " << pl.k << ")";
  }
}

// W4A8 widening (Dequant.h): sub4 is byte-wise subtraction for every pair
// of bytes, and the widened registers give (q - z)·s exactly, byte by byte
// in k order, for every code, zero point and scale whose products fit a
// byte and whose result fits int8.
TEST(WidenU4, Sub4IsByteWiseSubtraction) {
  for (uint32_t a = 0; a < 256; ++a)
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t A = a | (255 - a) << 8 | (a ^ 0x5a) << 16 | b << 24;
      uint32_t B = b | a << 8 | (b ^ 0xa5) << 16 | (255 - b) << 24;
      uint32_t got = sub4(A, B);
      for (unsigned i = 0; i < 4; ++i)
        ASSERT_EQ((got >> (8 * i)) & 0xff, (((A >> (8 * i)) - (B >> (8 * i))) & 0xff))
            << a << " - " << b << " byte " << i;
    }
}

TEST(WidenU4, ReproducesTheInt8ValuesBitForBit) {
  std::mt19937 rng(8);
  int checked = 0;
  for (uint32_t s = 1; s <= 17; ++s)
    for (uint32_t z = 0; z < 16; ++z) {
      if (15 * s > 255 || z * s > 255)
        continue;
      for (int trial = 0; trial < 40; ++trial) {
        std::array<uint8_t, 8> q;
        for (uint8_t &c : q)
          c = static_cast<uint8_t>(rng() % 16);
        uint32_t w = packU4ForWidening(q);
        for (unsigned r = 0; r < 2; ++r) {
          uint32_t reg = widenU4Register(w, r, s, z);
          for (unsigned i = 0; i < 4; ++i) {
            int want = (int(q[4 * r + i]) - int(z)) * int(s);
            if (want < -128 || want > 127)
              continue; // outside int8: the scheme's ranges exclude it
            ASSERT_EQ(static_cast<int8_t>((reg >> (8 * i)) & 0xff), want)
                << "q " << int(q[4 * r + i]) << " z " << z << " s " << s;
            ++checked;
          }
        }
      }
    }
  EXPECT_GT(checked, 10000);
}

TEST(WidenU4, DetectsAWrongInterleave) {
  // Codes 0..7 packed in plain nibble order (code j in nibble j) widen to
  // the wrong k order: the check above would fail.
  std::array<uint8_t, 8> q{1, 2, 3, 4, 5, 6, 7, 8};
  uint32_t plain = 0;
  for (unsigned j = 0; j < 8; ++j)
    plain |= uint32_t(q[j]) << (4 * j);
  EXPECT_NE(widenU4Register(plain, 0, 3, 0), widenU4Register(packU4ForWidening(q), 0, 3, 0));
  EXPECT_EQ(widenU4Register(packU4ForWidening(q), 0, 3, 0), 0x0C090603u);
  EXPECT_EQ(widenU4Register(packU4ForWidening(q), 1, 3, 8), uint32_t(0x00FDFAF7u));
}

// W6A8 unpacking (Dequant.h): three words give four registers of four
// signed 6-bit codes as int8 bytes in k order, for every code.
TEST(WidenS6, ReproducesTheCodesBitForBit) {
  std::mt19937 rng(6);
  for (int trial = 0; trial < 2000; ++trial) {
    std::array<int8_t, 16> q;
    for (int8_t &c : q)
      c = static_cast<int8_t>(int(rng() % 64) - 32);
    if (trial < 64) // every code somewhere, the extremes included
      for (unsigned c = 0; c < 16; ++c)
        q[c] = static_cast<int8_t>((trial + c) % 64 - 32);
    std::array<uint32_t, 3> w = packS6ForWidening(q);
    for (unsigned r = 0; r < 4; ++r) {
      uint32_t reg = widenS6Register(w, r);
      for (unsigned i = 0; i < 4; ++i)
        ASSERT_EQ(static_cast<int8_t>((reg >> (8 * i)) & 0xff), q[4 * r + i])
            << "trial " << trial << " register " << r << " byte " << i;
    }
  }
  // Codes of 0 are stored as 32 (high bits 10, low nibble 0); code 1 = 31
  // as 63: its nibble is word 0's nibble 2, its high bits the field at bit
  // 8 of word 2. High bits in plain code order (code c at bit 2c) would
  // widen register 0 wrongly.
  std::array<int8_t, 16> q{};
  q[1] = 31;
  std::array<uint32_t, 3> w = packS6ForWidening(q);
  EXPECT_EQ(w[0], 0x00000F00u);
  EXPECT_EQ(w[1], 0u);
  EXPECT_EQ(w[2], 0xAAAAABAAu);
  std::array<uint32_t, 3> plain = w;
  plain[2] = 0xAAAAAAAEu; // code 1's high bits at bit 2
  EXPECT_NE(widenS6Register(plain, 0), widenS6Register(w, 0));
  EXPECT_EQ(widenS6Register(w, 0), 0x00001F00u);
}

// The cp.async kernels stage each K tile's scales and zero points in
// shared memory (WeightQuant::stagedScales): a thread copies, per weight
// row, the aligned 4-byte word holding the element of the tile's first
// group, at = n * rowStride + g * groupStride, from byte (2 at) & ~3 of the
// 16-bit scales and byte at & ~3 of the 8-bit zero points; a lane reads its
// groups' scale as half (at & 1) and zero point as byte (at & 3) of those
// words. A model of both sides, over weights stored N x K (row stride K /
// group, group stride 1) and K x N (row stride 1, group stride N): every
// group of every tile must read back its own scale and zero point, and the
// layouts where one word cannot hold a tile's two groups of 32 must not be
// staged.
TEST(DequantModel, StagedScaleWordsHoldEveryGroupOfTheTile) {
  mlir::MLIRContext ctx;
  std::mt19937 rng(11);
  for (int64_t group : {32, 64, 128, 256})
    for (bool kByN : {false, true})
      for (int64_t N : {16, 48}) {
        int64_t K = 512, groups = K / group;
        einloom::WeightQuant q;
        q.groupSize = group;
        q.scaleType = mlir::Float16Type::get(&ctx);
        q.zeroType = mlir::IntegerType::get(&ctx, 8);
        q.scaleRowStride = kByN ? 1 : groups;
        q.scaleGroupStride = kByN ? N : 1;
        bool expectStaged = !(group == 32 && kByN);
        ASSERT_EQ(q.stagedScales(), expectStaged) << group << " " << kByN;
        if (!q.stagedScales())
          continue;
        EXPECT_EQ(q.stagedScaleBytes(64), 64 * 4 * 2);
        std::vector<uint16_t> scales(static_cast<size_t>(N * groups));
        std::vector<int8_t> zeros(scales.size());
        for (size_t i = 0; i < scales.size(); ++i) {
          scales[i] = static_cast<uint16_t>(rng());
          zeros[i] = static_cast<int8_t>(rng() % 16);
        }
        // Every word lies inside its buffer (N is a multiple of 16, so both
        // buffers' sizes are multiples of 4): the copies never read past it.
        auto word = [](const void *base, size_t bytes, int64_t byte) {
          EXPECT_LE(size_t(byte + 4), bytes);
          uint32_t w = 0;
          for (int i = 0; i < 4 && size_t(byte + i) < bytes; ++i)
            w |= uint32_t(static_cast<const uint8_t *>(base)[byte + i]) << (8 * i);
          return w;
        };
        for (int64_t kt = 0; kt < K / 64; ++kt)
          for (int64_t n = 0; n < N; ++n) {
            int64_t g0 = kt * 64 / group;
            int64_t at0 = n * q.scaleRowStride + g0 * q.scaleGroupStride;
            uint32_t sw = word(scales.data(), scales.size() * 2, (2 * at0) & ~int64_t(3));
            uint32_t zw = word(zeros.data(), zeros.size(), at0 & ~int64_t(3));
            for (int64_t gi = 0; gi < q.groupsPerTile(); ++gi) {
              int64_t g = (kt * 64 + 32 * gi) / group;
              int64_t at = n * q.scaleRowStride + g * q.scaleGroupStride;
              uint16_t s = static_cast<uint16_t>(sw >> (16 * (at & 1)));
              int8_t z = static_cast<int8_t>(zw >> (8 * (at & 3)));
              ASSERT_EQ(s, scales[at]) << "group " << group << (kByN ? " KxN" : " NxK")
                                       << " tile " << kt << " row " << n << " half " << gi;
              ASSERT_EQ(z, zeros[at]) << "group " << group << " tile " << kt << " row " << n;
            }
          }
      }
}
