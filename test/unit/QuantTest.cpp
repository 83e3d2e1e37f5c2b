// Quantize/dequantize against hand-computed codes.
#include "einloom/Reference/Kernels.h"

#include <cmath>
#include <gtest/gtest.h>

using namespace einloom::ref;

static Tensor make(DType t, std::vector<int64_t> shape, std::vector<double> v) {
  Tensor x(t, std::move(shape));
  x.data = std::move(v);
  return x;
}

TEST(Quant, PerTensorSignedTiesToEven) {
  Tensor x = make(DType::F32, {5}, {1.25, 1.75, -0.25, 100, -100});
  Tensor s = make(DType::F32, {}, {0.5});
  QuantParams q;
  q.bits = 8;
  Tensor r;
  std::string err;
  ASSERT_TRUE(quantize(x, s, nullptr, q, DType::I8, r, err)) << err;
  EXPECT_EQ(r.data, (std::vector<double>{2, 4, 0, 127, -128}));
}

TEST(Quant, PerGroupAsymmetricRoundTrip) {
  // 4 rows, groups of 2 along axis 0, one column: scales [0.5, 2], zeros [8, 1].
  Tensor x = make(DType::F32, {4, 1}, {-1.0, 2.0, 4.0, 100.0});
  Tensor s = make(DType::F16, {2, 1}, {0.5, 2});
  Tensor z = make(DType::F16, {2, 1}, {8, 1});
  QuantParams q;
  q.bits = 4;
  q.kind = QuantKind::Unsigned;
  q.zeroPoint = true;
  q.granularity = Granularity::PerGroup;
  q.groupSize = 2;
  Tensor codes, back;
  std::string err;
  ASSERT_TRUE(quantize(x, s, &z, q, DType::I8, codes, err)) << err;
  // -1/0.5+8 = 6; 2/0.5+8 = 12; 4/2+1 = 3; 100/2+1 = 51 -> clamp 15
  EXPECT_EQ(codes.data, (std::vector<double>{6, 12, 3, 15}));
  ASSERT_TRUE(dequantize(codes, s, &z, q, DType::F32, back, err)) << err;
  EXPECT_EQ(back.data, (std::vector<double>{-1, 2, 4, 28}));
}

TEST(Quant, PerChannel) {
  Tensor x = make(DType::F32, {2, 2}, {1, 1, 1, 1});
  Tensor s = make(DType::F32, {2}, {0.25, 0.5});
  QuantParams q;
  q.bits = 8;
  q.granularity = Granularity::PerChannel;
  q.axis = 1;
  Tensor r;
  std::string err;
  ASSERT_TRUE(quantize(x, s, nullptr, q, DType::I8, r, err)) << err;
  EXPECT_EQ(r.data, (std::vector<double>{4, 2, 4, 2}));
}

TEST(Quant, BipolarCodesAreOdd) {
  Tensor x = make(DType::F32, {6}, {0, 0.9, 2, 2.1, -7, 100});
  Tensor s = make(DType::F32, {}, {1});
  QuantParams q;
  q.bits = 2;
  q.kind = QuantKind::Bipolar;
  Tensor r;
  std::string err;
  ASSERT_TRUE(quantize(x, s, nullptr, q, DType::I8, r, err)) << err;
  EXPECT_EQ(r.data, (std::vector<double>{1, 1, 1, 3, -3, 3}));
}

TEST(Quant, Fp8SaturatesAndNaNGivesZeroCode) {
  Tensor x = make(DType::F32, {3}, {1, 500, -0.3});
  Tensor s = make(DType::F32, {}, {1});
  QuantParams q;
  q.bits = 8;
  q.kind = QuantKind::E4M3;
  Tensor r;
  std::string err;
  ASSERT_TRUE(quantize(x, s, nullptr, q, DType::F8E4M3FN, r, err)) << err;
  EXPECT_EQ(r.data, (std::vector<double>{1, 448, -0.3125}));

  QuantParams i8;
  Tensor n = make(DType::F32, {1}, {NAN});
  ASSERT_TRUE(quantize(n, s, nullptr, i8, DType::I8, r, err));
  EXPECT_EQ(r.data[0], 0);
}

TEST(Quant, ErrorOnBadScaleShape) {
  Tensor x = make(DType::F32, {4}, {1, 2, 3, 4});
  Tensor s = make(DType::F32, {2}, {1, 1});
  QuantParams q;
  Tensor r;
  std::string err;
  EXPECT_FALSE(quantize(x, s, nullptr, q, DType::I8, r, err));
  EXPECT_NE(err.find("does not fit"), std::string::npos);
}
