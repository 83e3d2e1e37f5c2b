// Storage layouts: words checked bit by bit against docs/dialect.md, and
// round trips.
#include "einloom/Reference/Kernels.h"

#include <gtest/gtest.h>

using namespace einloom::ref;

static PackParams layout(PackFormat f, int64_t bits = 0, int64_t tr = 0,
                         int64_t tc = 0, QuantKind k = QuantKind::Signed) {
  PackParams p;
  p.format = f;
  p.bits = bits;
  p.tileRows = tr;
  p.tileCols = tc;
  p.kind = k;
  return p;
}

static void roundTrip(const Tensor &x, const PackParams &p) {
  std::vector<Tensor> packed;
  std::string err;
  ASSERT_TRUE(pack(x, p, packed, err)) << err;
  std::vector<const Tensor *> in;
  for (const Tensor &t : packed)
    in.push_back(&t);
  Tensor back;
  ASSERT_TRUE(unpack(in, p, x.shape, x.dtype, back, err)) << err;
  EXPECT_EQ(back.data, x.data);
}

TEST(Pack, Fragment4OneElement) {
  // Element (k=1, n=0) = 5: lane 0 (n = lane/4), i = 1 (k = 2*(lane%4) + i%2),
  // j = 0, so p = 1, which sits at nibble (1%2)*4 + 1/2 = 4: bits 16..19.
  Tensor w(DType::I4, {16, 16});
  w.data[1 * 16 + 0] = 5;
  std::vector<Tensor> out;
  std::string err;
  ASSERT_TRUE(pack(w, layout(PackFormat::Fragment, 4), out, err)) << err;
  ASSERT_EQ(out[0].numel(), 32);
  EXPECT_EQ(out[0].data[0], double(5 << 16));
  for (int i = 1; i < 32; ++i)
    EXPECT_EQ(out[0].data[i], 0) << i;
  // Element (k=8, n=9): i = 2 (k = 8), lane = 4*(9%8) = 4, j = 1 -> p = 6,
  // nibble (0)*4 + 3 = 3: bits 12..15 of word lane 4. Signed -1 -> 0xF.
  Tensor v(DType::I4, {16, 16});
  v.data[8 * 16 + 9] = -1;
  ASSERT_TRUE(pack(v, layout(PackFormat::Fragment, 4), out, err));
  EXPECT_EQ(out[0].data[4], double(0xF << 12));
}

TEST(Pack, Fragment8OneElement) {
  // (k=5, n=2): lane%4 = 1, b = 1, r = 0, lane = 2*4 + 1 = 9 -> word 18, byte 1.
  Tensor w(DType::I8, {32, 8});
  w.data[5 * 8 + 2] = -2;
  std::vector<Tensor> out;
  std::string err;
  ASSERT_TRUE(pack(w, layout(PackFormat::Fragment, 8), out, err)) << err;
  EXPECT_EQ(out[0].data[18], double(0xFE << 8));
}

TEST(Pack, FragmentRejectsCodesThatDoNotFit) {
  Tensor w(DType::I8, {16, 16});
  w.data[0] = 9; // a 4-bit signed field holds -8..7
  std::vector<Tensor> out;
  std::string err;
  EXPECT_FALSE(pack(w, layout(PackFormat::Fragment, 4), out, err));
  EXPECT_NE(err.find("does not fit a 4-bit signed field"), std::string::npos) << err;
  EXPECT_TRUE(pack(w, layout(PackFormat::Fragment, 4, 0, 0, QuantKind::Unsigned), out, err));
}

TEST(Pack, TiledCslWords) {
  Tensor x(DType::F16, {2, 4});
  x.data[1] = 1.0;        // (0,1): position 1
  x.data[1 * 4 + 3] = -2; // (1,3): position 7
  std::vector<Tensor> out;
  std::string err;
  ASSERT_TRUE(pack(x, layout(PackFormat::TiledCsl, 0, 2, 4), out, err)) << err;
  EXPECT_EQ(out[0].data, (std::vector<double>{0, 4}));
  uint32_t w0 = (1u << 16) | 0x3C00u, w1 = (7u << 16) | 0xC000u;
  EXPECT_EQ(out[1].data, (std::vector<double>{double(w0), double(w1), double(w1), double(w1)}));
}

TEST(Pack, TwoFourMetadata) {
  Tensor x(DType::F16, {1, 16});
  x.data[1] = 3;
  x.data[3] = 5;  // group 0: indices 1, 3 -> field 1 | 3 << 2 = 13
  x.data[6] = 7;  // group 1: index 2 and the filler 0 -> field 0 | 2 << 2 = 8
  std::vector<Tensor> out;
  std::string err;
  ASSERT_TRUE(pack(x, layout(PackFormat::TwoFour), out, err)) << err;
  EXPECT_EQ(out[0].data[0], 3);
  EXPECT_EQ(out[0].data[1], 5);
  EXPECT_EQ(out[0].data[2], 0);
  EXPECT_EQ(out[0].data[3], 7);
  // groups 2 and 3 are empty: filler 0, 1 -> field 4
  EXPECT_EQ(out[1].data[0], double(13 | (8 << 4) | (4 << 8) | (4 << 12)));
  x.data[2] = 1;
  EXPECT_FALSE(pack(x, layout(PackFormat::TwoFour), out, err));
}

TEST(Pack, BitPlanes) {
  // 5 = 0101, -3 = 1101 (4-bit two's complement).
  Tensor x(DType::I8, {2});
  x.data = {5, -3};
  std::vector<Tensor> out;
  std::string err;
  ASSERT_TRUE(pack(x, layout(PackFormat::BitPlanes, 4), out, err)) << err;
  EXPECT_EQ(out[0].shape, (std::vector<int64_t>{4, 1}));
  EXPECT_EQ(out[0].data, (std::vector<double>{3, 0, 3, 2}));
}

TEST(Pack, RoundTrips) {
  Random rng(9);
  Tensor f4(DType::I4, {32, 48});
  fillRandom(f4, rng, Role::Data);
  roundTrip(f4, layout(PackFormat::Fragment, 4));
  Tensor f8(DType::I8, {64, 24});
  fillRandom(f8, rng, Role::Data);
  roundTrip(f8, layout(PackFormat::Fragment, 8));
  Tensor h(DType::F16, {37, 70});
  fillRandom(h, rng, Role::Data);
  for (size_t i = 0; i < h.data.size(); ++i)
    if (i % 5)
      h.data[i] = 0; // 80% sparse
  roundTrip(h, layout(PackFormat::TiledCsl, 0, 16, 32));
  Tensor b(DType::F32, {8, 12});
  fillRandom(b, rng, Role::Data);
  for (size_t i = 0; i < 48; ++i)
    b.data[i] = 0;
  roundTrip(b, layout(PackFormat::BlockCsr, 0, 4, 4));
  Tensor bp(DType::I8, {3, 70});
  fillRandom(bp, rng, Role::Codes, 0, 63);
  roundTrip(bp, layout(PackFormat::BitPlanes, 6, 0, 0, QuantKind::Unsigned));
}

TEST(Pack, CorruptPackedDataIsAnError) {
  Tensor offsets(DType::I32, {2});
  offsets.data = {0, 100}; // claims 100 words
  Tensor words(DType::I32, {4});
  Tensor out;
  std::string err;
  EXPECT_FALSE(unpack({&offsets, &words}, layout(PackFormat::TiledCsl, 0, 2, 2), {2, 2},
                      DType::F16, out, err));
  EXPECT_NE(err.find("corrupt"), std::string::npos);
  words.data = {double(int32_t(0x7fff0000)), 0, 0, 0}; // position out of the tile
  offsets.data = {0, 4};
  EXPECT_FALSE(unpack({&offsets, &words}, layout(PackFormat::TiledCsl, 0, 2, 2), {2, 2},
                      DType::F16, out, err));
}
