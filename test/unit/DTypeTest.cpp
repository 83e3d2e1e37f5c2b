// Rounding to each dtype, checked against values worked out from the formats.
#include "einloom/Reference/Tensor.h"

#include <cmath>
#include <gtest/gtest.h>

using namespace einloom::ref;

TEST(DType, F16RoundsToNearestEven) {
  const double ulp = std::ldexp(1.0, -10); // f16 spacing at 1.0
  EXPECT_EQ(roundTo(DType::F16, 1.0 + ulp / 2), 1.0);             // tie, to even
  EXPECT_EQ(roundTo(DType::F16, 1.0 + 1.5 * ulp), 1.0 + 2 * ulp); // tie, to even
  EXPECT_EQ(roundTo(DType::F16, 1.0 + 0.6 * ulp), 1.0 + ulp);
  EXPECT_EQ(roundTo(DType::F16, 65519.0), 65504.0);
  EXPECT_TRUE(std::isinf(roundTo(DType::F16, 65520.0))); // rounds past max
  EXPECT_EQ(roundTo(DType::F16, std::ldexp(1.0, -25)), 0.0); // half the min subnormal, to even
  EXPECT_EQ(roundTo(DType::F16, std::ldexp(1.5, -24)), std::ldexp(2.0, -24));
}

TEST(DType, BF16AndF32) {
  EXPECT_EQ(roundTo(DType::BF16, 1.0 + std::ldexp(1.0, -8)), 1.0);
  EXPECT_EQ(roundTo(DType::BF16, 1.0 + std::ldexp(3.0, -8)), 1.0 + std::ldexp(1.0, -6));
  EXPECT_EQ(roundTo(DType::F32, 0.1), static_cast<double>(0.1f));
}

TEST(DType, Fp8) {
  EXPECT_EQ(roundTo(DType::F8E4M3FN, 464.0), 448.0); // tie to even at the top
  EXPECT_TRUE(std::isnan(roundTo(DType::F8E4M3FN, 465.0))); // no inf: NaN
  EXPECT_EQ(roundToSaturating(DType::F8E4M3FN, 1e6), 448.0);
  EXPECT_EQ(roundToSaturating(DType::F8E4M3FN, -1e6), -448.0);
  EXPECT_EQ(roundTo(DType::F8E5M2, 57344.0), 57344.0);
  EXPECT_TRUE(std::isinf(roundTo(DType::F8E5M2, 65536.0)));
  EXPECT_EQ(roundTo(DType::F8E4M3FN, -0.3), -0.3125);
  // Results saturate (8-bit floats only); everything else rounds as roundTo.
  EXPECT_EQ(roundResult(DType::F8E4M3FN, 1000.0), 448.0);
  EXPECT_EQ(roundResult(DType::F8E5M2, -1e6), -57344.0);
  EXPECT_EQ(roundResult(DType::F8E4M3FN, -0.3), -0.3125);
  EXPECT_TRUE(std::isinf(roundResult(DType::F16, 1e6)));
}

TEST(DType, IntegersWrap) {
  EXPECT_EQ(roundTo(DType::I8, 127.0), 127.0);
  EXPECT_EQ(roundTo(DType::I8, 128.0), -128.0);
  EXPECT_EQ(roundTo(DType::I4, 9.0), -7.0);
  EXPECT_EQ(roundTo(DType::I32, 2147483648.0), -2147483648.0);
  EXPECT_EQ(roundTo(DType::I32, -3.7), -3.0); // truncation toward zero
}

TEST(DType, FloatBits) {
  EXPECT_EQ(floatBits(DType::F16, 1.0), 0x3C00u);
  EXPECT_EQ(floatBits(DType::F16, -2.0), 0xC000u);
  EXPECT_EQ(floatBits(DType::F16, std::ldexp(1.0, -24)), 0x0001u);
  EXPECT_EQ(floatBits(DType::F16, 65504.0), 0x7BFFu);
  EXPECT_EQ(floatBits(DType::BF16, 1.0), 0x3F80u);
  EXPECT_EQ(floatBits(DType::F8E4M3FN, 1.0), 0x38u);
  EXPECT_EQ(floatBits(DType::F8E4M3FN, 448.0), 0x7Eu);
  EXPECT_EQ(floatBits(DType::F8E5M2, 1.0), 0x3Cu);
  for (uint32_t b = 0; b < 0x7C00; b += 7)
    EXPECT_EQ(floatBits(DType::F16, floatFromBits(DType::F16, b)), b);
  EXPECT_TRUE(std::isnan(floatFromBits(DType::F8E4M3FN, 0x7F)));
}

TEST(Random, SeededAndInRange) {
  Random a(42), b(42), c(43);
  EXPECT_EQ(a.next(), b.next());
  EXPECT_NE(a.next(), c.next());
  Tensor t(DType::I4, {1000});
  Random r(1);
  fillRandom(t, r, Role::Data);
  double lo = 0, hi = 0;
  for (double v : t.data) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_EQ(lo, -8);
  EXPECT_EQ(hi, 7);
}
