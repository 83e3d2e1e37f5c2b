// Reference einsum against hand-computed values and algebraic identities.
#include "einloom/Reference/Kernels.h"

#include <gtest/gtest.h>

using namespace einloom::ref;

static Tensor make(DType t, std::vector<int64_t> shape, std::vector<double> v) {
  Tensor x(t, std::move(shape));
  x.data = std::move(v);
  return x;
}

static Tensor run(std::vector<const Tensor *> in, std::vector<std::string> subs,
                  std::string out, DType rt = DType::F64, EinsumOptions o = {}) {
  Tensor r;
  std::string err;
  EXPECT_TRUE(einsum(in, subs, out, rt, o, r, err)) << err;
  return r;
}

TEST(Einsum, Matmul) {
  Tensor a = make(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = make(DType::F32, {3, 2}, {7, 8, 9, 10, 11, 12});
  Tensor c = run({&a, &b}, {"ik", "kj"}, "ij");
  EXPECT_EQ(c.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(c.data, (std::vector<double>{58, 64, 139, 154}));
  // Transposed operand modes address the same data differently.
  Tensor ct = run({&b, &a}, {"kj", "ik"}, "ji");
  EXPECT_EQ(ct.data, (std::vector<double>{58, 139, 64, 154}));
}

TEST(Einsum, Fp8ResultsSaturate) {
  // A row sum in e4m3: 300 + 300 = 600 is past 448, the largest finite value.
  Tensor a = make(DType::F8E4M3FN, {2, 2}, {288, 320, 0.5, -0.25});
  Tensor r = run({&a}, {"ij"}, "i", DType::F8E4M3FN);
  EXPECT_EQ(r.data, (std::vector<double>{448, 0.25}));
}

TEST(Einsum, TraceDiagonalSumOuter) {
  Tensor m = make(DType::F32, {3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_EQ(run({&m}, {"ii"}, "").data, (std::vector<double>{15}));
  EXPECT_EQ(run({&m}, {"ii"}, "i").data, (std::vector<double>{1, 5, 9}));
  EXPECT_EQ(run({&m}, {"ij"}, "j").data, (std::vector<double>{12, 15, 18}));
  Tensor u = make(DType::F32, {2}, {1, 2});
  Tensor v = make(DType::F32, {3}, {3, 4, 5});
  EXPECT_EQ(run({&u, &v}, {"i", "j"}, "ij").data,
            (std::vector<double>{3, 4, 5, 6, 8, 10}));
}

TEST(Einsum, ThreeOperandsEqualTwoSteps) {
  Tensor a = make(DType::F64, {2, 3}, {1, -2, 3, 0.5, 5, -1});
  Tensor b = make(DType::F64, {3, 2}, {2, 1, 0, -1, 4, 3});
  Tensor c = make(DType::F64, {2, 2}, {1, 2, -3, 4});
  Tensor ab = run({&a, &b}, {"ij", "jk"}, "ik");
  Tensor abc = run({&ab, &c}, {"ik", "kl"}, "il");
  EXPECT_EQ(run({&a, &b, &c}, {"ij", "jk", "kl"}, "il").data, abc.data);
}

TEST(Einsum, SameOperandTwice) {
  Tensor a = make(DType::F64, {2, 2}, {1, 2, 3, 4});
  // a . a^T
  EXPECT_EQ(run({&a, &a}, {"ik", "jk"}, "ij").data, (std::vector<double>{5, 11, 11, 25}));
}

TEST(Einsum, RoundsOnceToTheResultType) {
  // 1 + 2^-11 + 2^-11: f64 accumulation then one rounding gives 1 + 2^-10.
  Tensor a = make(DType::F32, {3}, {1, 0x1p-11, 0x1p-11});
  EXPECT_EQ(run({&a}, {"i"}, "", DType::F16).data[0], 1 + 0x1p-10);
}

TEST(Einsum, Int32AccumulatorWraps) {
  Tensor a = make(DType::I32, {2}, {2147483647, 1});
  EinsumOptions o;
  o.intAccBits = 32;
  EXPECT_EQ(run({&a}, {"i"}, "", DType::I32, o).data[0], -2147483648.0);
}

TEST(Einsum, Tf32DropsLowMantissaBits) {
  Tensor a = make(DType::F32, {1}, {1 + 0x1p-12});
  Tensor b = make(DType::F32, {1}, {1});
  EinsumOptions o;
  o.tf32 = true;
  EXPECT_EQ(run({&a, &b}, {"i", "i"}, "", DType::F32, o).data[0], 1.0);
  EXPECT_EQ(run({&a, &b}, {"i", "i"}, "", DType::F32).data[0], 1 + 0x1p-12);
}

TEST(Einsum, ZeroSizedSumIsZero) {
  Tensor a(DType::F32, {2, 0});
  EXPECT_EQ(run({&a}, {"ij"}, "i").data, (std::vector<double>{0, 0}));
}

TEST(Einsum, Errors) {
  Tensor a = make(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor r;
  std::string err;
  EXPECT_FALSE(einsum({&a, &a}, {"ij", "jk"}, "ik", DType::F32, {}, r, err));
  EXPECT_NE(err.find("label 'j' has sizes 3 and 2"), std::string::npos) << err;
  EXPECT_FALSE(einsum({&a}, {"ijk"}, "i", DType::F32, {}, r, err));
  EXPECT_FALSE(einsum({&a}, {"ij"}, "z", DType::F32, {}, r, err));
}
