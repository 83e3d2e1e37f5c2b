// The runner's comparison of a GPU result with the reference (Compare.h),
// and the reference's sums of the products' magnitudes that it relies on.
#include "einloom/Reference/Compare.h"
#include "einloom/Reference/Kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>

using namespace einloom::ref;

static std::vector<int64_t> all(size_t n) {
  std::vector<int64_t> at(n);
  std::iota(at.begin(), at.end(), 0);
  return at;
}

TEST(Compare, MagnitudeSumsAbsoluteProducts) {
  Tensor a(DType::F32, {2, 2}), b(DType::F32, {2});
  a.data = {1, -2, -3, 4};
  b.data = {3, 4};
  Tensor plain, mag;
  std::string err;
  EinsumOptions m;
  m.magnitude = true;
  ASSERT_TRUE(einsum({&a, &b}, {"ik", "k"}, "i", DType::F64, {}, plain, err)) << err;
  ASSERT_TRUE(einsum({&a, &b}, {"ik", "k"}, "i", DType::F64, m, mag, err)) << err;
  EXPECT_EQ(plain.data, (std::vector<double>{-5, 7}));
  EXPECT_EQ(mag.data, (std::vector<double>{11, 25}));
  EXPECT_EQ(einsumAt({&a, &b}, {"ik", "k"}, "i", {0}, m), 11);
  EXPECT_EQ(einsumAt({&a, &b}, {"ik", "k"}, "i", {0}, {}), -5);
  // No 32-bit wrap on magnitudes: they are a scale, not a result.
  Tensor big(DType::I8, {2}), ones(DType::I8, {2});
  big.data = {-128, -128};
  ones.data = {1, 1};
  EinsumOptions wrap;
  wrap.intAccBits = 32;
  wrap.magnitude = true;
  EXPECT_EQ(einsumAt({&big, &ones}, {"k", "k"}, "", {}, wrap), 256);
}

TEST(Compare, RelativeL2AndNaN) {
  std::vector<double> want{1, 2, 3, 4}, got{1, 2, 3, 4.001};
  Agreement a = compare(got.data(), want.data(), all(4));
  EXPECT_NEAR(a.relErr, 0.001 / std::sqrt(30.0), 1e-12);
  EXPECT_NEAR(a.maxAbs, 0.001, 1e-12);
  EXPECT_TRUE(a.pass(1e-3));
  EXPECT_FALSE(a.pass(1e-4));
  got[2] = std::numeric_limits<double>::quiet_NaN();
  Agreement n = compare(got.data(), want.data(), all(4));
  EXPECT_EQ(n.nans, 1);
  EXPECT_FALSE(n.pass(1.0));
  // Only the listed elements count.
  Agreement some = compare(got.data(), want.data(), {0, 1});
  EXPECT_EQ(some.relErr, 0);
  EXPECT_TRUE(some.pass(0));
}

TEST(Compare, TheSameOverflowAgrees) {
  // An f16 result past 65504 is inf in the kernel and in the rounded
  // reference: that element agrees, and the rest are measured as before
  // (before, inf - inf made the error NaN and the check failed).
  double inf = std::numeric_limits<double>::infinity();
  std::vector<double> want{1, 2, inf, -inf}, got{1, 2.002, inf, -inf};
  Agreement a = compare(got.data(), want.data(), all(4));
  EXPECT_EQ(a.sameInfinities, 2);
  EXPECT_NEAR(a.relErr, 0.002 / std::sqrt(5.0), 1e-12);
  EXPECT_TRUE(a.pass(1e-3));
  // An infinity against a number, or against the other infinity, fails.
  got[2] = 65504;
  EXPECT_FALSE(compare(got.data(), want.data(), all(4)).pass(1.0));
  got[2] = -inf;
  EXPECT_FALSE(compare(got.data(), want.data(), all(4)).pass(1.0));
}

TEST(Compare, CancellingSumMeasuredAgainstItsTerms) {
  // A scalar that sums 4096 products of size about 1 to 1e-4: a correct
  // f32 sum is off by about 1e-6, far more than 4e-3 of 1e-4 relative...
  double want = 1e-4, got = want + 1e-6, magnitude = 4096;
  Agreement plain = compare(&got, &want, {0});
  EXPECT_FALSE(plain.pass(4e-3));
  // ...but tiny against the usual size of such a sum, sqrt(4096) = 64.
  Agreement scaled = compare(&got, &want, {0}, &magnitude, 4096);
  EXPECT_TRUE(scaled.cancels);
  EXPECT_NEAR(scaled.scaledErr, 1e-6 / 64, 1e-15);
  EXPECT_TRUE(scaled.pass(4e-3));
  EXPECT_TRUE(scaled.passByScale(4e-3));
  // A wrong value is still wrong: one product (of size 1) left out.
  double wrong = want + 1;
  EXPECT_FALSE(compare(&wrong, &want, {0}, &magnitude, 4096).pass(4e-3));
  // A sum that does not cancel is measured only against itself.
  double usualWant = 64, usualGot = 64 * (1 + 1e-2);
  Agreement usual = compare(&usualGot, &usualWant, {0}, &magnitude, 4096);
  EXPECT_FALSE(usual.cancels);
  EXPECT_FALSE(usual.pass(4e-3));
}

TEST(Compare, MagnitudesFollowTheOrderOfTheIndices) {
  // Elements 2 and 0 of three are checked; the magnitudes come in that
  // order. Element 2 cancels (its terms are large), element 0 does not.
  std::vector<double> want{64, 5, 1e-4}, got{64, 5, 1e-4 + 1e-6};
  std::vector<double> magnitude{4096, 64};
  Agreement a = compare(got.data(), want.data(), {2, 0}, magnitude.data(), 4096);
  // ||want|| = 64 is the usual size of the sums, sqrt(4096^2 + 64^2) / 64:
  // no cancellation, so the measure stays ||got - want|| / ||want||.
  EXPECT_FALSE(a.cancels);
  EXPECT_NEAR(a.relErr, 1e-6 / std::sqrt(64.0 * 64 + 1e-8), 1e-15);
  // The scalar alone, with its own magnitude, cancels.
  Agreement b = compare(got.data(), want.data(), {2}, magnitude.data(), 4096);
  EXPECT_TRUE(b.cancels);
}
