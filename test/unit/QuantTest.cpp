// Quantize/dequantize against hand-computed codes.
#include "einloom/Reference/Kernels.h"

#include <cmath>
#include <cstdio>
#include <random>
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

// FP8 promotion (issue "Quantized activations"): with the accumulator
// keeping about 14 bits (fp8TensorCoreDot's model of Hopper's fp8 wgmma),
// a long K loses accuracy unless the partial sums are promoted into f32
// every 128 K, as DeepGEMM does. Measured here on the model: the relative
// error of 64 dot products of e4m3 values (activations and weights in
// [-1, 3): mostly positive products, as post-activation data gives) at
// K = 4096 and 16384, without and with promotion.
static double fp8DotError(int64_t k, int64_t promoteEvery, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 3.0);
  std::vector<double> a(static_cast<size_t>(k)), b(static_cast<size_t>(k));
  double err = 0, norm = 0;
  for (int row = 0; row < 64; ++row) {
    for (int64_t i = 0; i < k; ++i) {
      a[i] = roundTo(DType::F8E4M3FN, u(rng));
      b[i] = roundTo(DType::F8E4M3FN, u(rng));
    }
    double exact = 0;
    for (int64_t i = 0; i < k; ++i)
      exact += a[i] * b[i];
    double got = fp8TensorCoreDot(a.data(), b.data(), k, 14, promoteEvery);
    err += (got - exact) * (got - exact);
    norm += exact * exact;
  }
  return std::sqrt(err / norm);
}

TEST(Quant, Fp8PromotionBoundsTheAccumulatorError) {
  double raw4k = fp8DotError(4096, 0, 1), raw16k = fp8DotError(16384, 0, 2);
  double pro4k = fp8DotError(4096, 128, 1), pro16k = fp8DotError(16384, 128, 2);
  std::printf("fp8 dot, 14-bit accumulator: relative error %.2e (K = 4096) and %.2e "
              "(16384) without promotion; %.2e and %.2e promoting every 128\n",
              raw4k, raw16k, pro4k, pro16k);
  // Without promotion the truncation error grows with K (towards the
  // percent range DeepSeek-V3 reports); with it, the error is that of one
  // 128-long window, a tenth or less, and does not grow with K.
  EXPECT_GT(raw4k, 1e-3);
  EXPECT_GT(raw16k, 2 * raw4k);
  EXPECT_LT(pro4k, raw4k / 10);
  EXPECT_LT(pro16k, raw16k / 50);
  EXPECT_LT(pro16k, 2 * pro4k);
  // Group sums of 3 (one odd sum per 32 products): past 2^14 the
  // accumulator's last unit is 2, so 6000 groups lose units without
  // promotion and none with it; a 24-bit accumulator loses none either.
  std::vector<double> a(32 * 6000, 0.0), b(32 * 6000, 1.0);
  for (size_t g = 0; g < a.size(); g += 32)
    a[g] = 3.0;
  int64_t k = static_cast<int64_t>(a.size());
  EXPECT_LT(fp8TensorCoreDot(a.data(), b.data(), k, 14, 0), 18000.0);
  EXPECT_EQ(fp8TensorCoreDot(a.data(), b.data(), k, 14, 128), 18000.0);
  EXPECT_EQ(fp8TensorCoreDot(a.data(), b.data(), k, 24, 0), 18000.0);
}
