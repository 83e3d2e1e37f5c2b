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

TEST(Pack, BitmapMasksAndValues) {
  // 20 x 24 f16 in 16 x 16 tiles (2 x 2 tiles, the edge ones partial):
  // (0,0) = 1, (3,9) = -2, (4,0) = 0.5 and (19,23) = 3; -0.0 at (1,1) is
  // left out.
  Tensor x(DType::F16, {20, 24});
  x.data[0] = 1;
  x.data[3 * 24 + 9] = -2;
  x.data[4 * 24 + 0] = 0.5;
  x.data[1 * 24 + 1] = -0.0;
  x.data[19 * 24 + 23] = 3;
  std::vector<Tensor> out;
  std::string err;
  ASSERT_TRUE(pack(x, layout(PackFormat::Bitmap, 0, 16, 16), out, err)) << err;
  ASSERT_EQ(out.size(), 3u);
  // Tile 0 holds three values (padded to 8), tiles 1 and 2 none, tile 3 one.
  EXPECT_EQ(out[0].data, (std::vector<double>{0, 8, 8, 8, 16}));
  ASSERT_EQ(out[1].numel(), 4 * 16 * 16 / 32);
  // Tile 0, block 0 (rows 0-7, columns 0-7): (0,0) is bit 0 of half 0,
  // (4,0) bit 0 of half 1. Block 1 (columns 8-15): (3,9) is bit 3*8+1.
  EXPECT_EQ(out[1].data[0], 1);
  EXPECT_EQ(out[1].data[1], 1);
  EXPECT_EQ(out[1].data[2], double(1u << 25));
  // Tile 3 (rows 16-19, columns 16-23): (3,7) of its block 0, bit 31 of
  // half 0: the word read as a signed i32.
  EXPECT_EQ(out[1].data[3 * 8], double(INT32_MIN));
  // Values in block order, then half, then bit: (0,0), (4,0), (3,9).
  EXPECT_EQ(std::vector<double>(out[2].data.begin(), out[2].data.begin() + 4),
            (std::vector<double>{1, 0.5, -2, 0}));
  EXPECT_EQ(out[2].data[8], 3);
}

TEST(Pack, BitmapRoundTripsAndRejectsCorruptData) {
  Random rng(4);
  for (double density : {0.0, 0.3, 0.7, 1.0}) {
    Tensor h(DType::BF16, {70, 130});
    fillRandom(h, rng, Role::Data);
    for (double &v : h.data)
      if (rng.uniform() >= density)
        v = 0;
    roundTrip(h, layout(PackFormat::Bitmap, 0, 64, 64));
  }
  Tensor h(DType::F16, {16, 16});
  h.data[5] = 1;
  std::vector<Tensor> p;
  std::string err;
  ASSERT_TRUE(pack(h, layout(PackFormat::Bitmap, 0, 16, 16), p, err));
  Tensor out;
  auto unpackIt = [&] {
    err.clear();
    return unpack({&p[0], &p[1], &p[2]}, layout(PackFormat::Bitmap, 0, 16, 16), {16, 16},
                  DType::F16, out, err);
  };
  ASSERT_TRUE(unpackIt()) << err;
  p[1].data[0] = 0x1ff; // nine marked elements, eight values (one padded to 8)
  EXPECT_FALSE(unpackIt());
  EXPECT_NE(err.find("corrupt bitmap data: tile 0 has 8 values for 9"), std::string::npos) << err;
  p[1].data[0] = 32;
  p[0].data[1] = 4; // not on a 16-byte boundary
  EXPECT_FALSE(unpackIt());
  EXPECT_NE(err.find("16-byte boundary"), std::string::npos) << err;
  p[0].data[1] = 1e12; // not an int32
  EXPECT_FALSE(unpackIt());
  p[0].data[1] = 8;
  ASSERT_TRUE(unpackIt()) << err;
  // A mark outside a partial tile.
  Tensor e(DType::F16, {12, 16});
  e.data[0] = 1;
  ASSERT_TRUE(pack(e, layout(PackFormat::Bitmap, 0, 16, 16), p, err));
  p[1].data[7] = 1; // block 3 (rows 8-15), half 1: row 12
  EXPECT_FALSE(unpack({&p[0], &p[1], &p[2]}, layout(PackFormat::Bitmap, 0, 16, 16), {12, 16},
                      DType::F16, out, err));
  EXPECT_NE(err.find("outside the tile's 12 x 16"), std::string::npos) << err;
  EXPECT_FALSE(pack(e, layout(PackFormat::Bitmap, 0, 12, 16), p, err));
}
