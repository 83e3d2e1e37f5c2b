//===- MonarchTest.cpp - the FFT convolution's Monarch model --------------===//
//
// The decomposition the FFT-convolution kernels are to use
// (include/einloom/Codegen/Monarch.h): its plans, its digit-reversed index
// maps, its forward and inverse transforms against a direct DFT, and whole
// convolutions (causal and circular, partial filters, frequency cutoffs,
// gates) against the reference `loom.fftconv` (lib/Reference/FFTConv.cpp,
// itself checked against FFTW and a direct sum) to 1e-12, for N from 256
// to 4M.
//
//===----------------------------------------------------------------------===//
#include "einloom/Codegen/Monarch.h"
#include "einloom/Reference/Kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

using namespace einloom;
using namespace einloom::codegen;

namespace {
TEST(Monarch, Plans) {
  auto radices = [](int64_t n) {
    MonarchPlan p;
    std::string err;
    EXPECT_TRUE(MonarchPlan::forLength(n, p, err)) << err;
    return p.radices;
  };
  using V = std::vector<int64_t>;
  EXPECT_EQ(radices(256), (V{16, 16}));
  EXPECT_EQ(radices(512), (V{32, 16}));
  EXPECT_EQ(radices(1024), (V{32, 32}));
  EXPECT_EQ(radices(2048), (V{16, 16, 8}));
  EXPECT_EQ(radices(32768), (V{32, 32, 32}));
  EXPECT_EQ(radices(65536), (V{16, 16, 16, 16}));
  EXPECT_EQ(radices(int64_t(1) << 22), (V{64, 64, 32, 32}));
  EXPECT_EQ(radices(4), (V{2, 2}));
  MonarchPlan p;
  std::string err;
  for (int64_t bad : std::vector<int64_t>{0, 2, 3, 6, 1000, int64_t(1) << 23}) {
    EXPECT_FALSE(MonarchPlan::forLength(bad, p, err)) << bad;
    EXPECT_NE(err.find("power of two from 4 to 4194304"), std::string::npos) << err;
  }
}

TEST(Monarch, IndexMapsAreInverse) {
  for (int64_t n : std::vector<int64_t>{16, 2048, 65536}) {
    MonarchPlan p;
    std::string err;
    ASSERT_TRUE(MonarchPlan::forLength(n, p, err));
    std::vector<bool> seen(static_cast<size_t>(n));
    for (int64_t pos = 0; pos < n; ++pos) {
      int64_t f = p.frequencyAt(pos);
      ASSERT_TRUE(f >= 0 && f < n && !seen[f]);
      seen[f] = true;
      ASSERT_EQ(p.positionOf(f), pos);
    }
    // Digit-reversed: frequency 1 is at the start of the second block of
    // the last level, not at position 1.
    EXPECT_EQ(p.positionOf(1), n / p.radices[0]);
  }
}

TEST(Monarch, TransformsMatchTheDft) {
  std::mt19937 rng(1);
  std::normal_distribution<double> g;
  for (int64_t n : std::vector<int64_t>{16, 64, 512, 2048}) {
    MonarchPlan p;
    std::string err;
    ASSERT_TRUE(MonarchPlan::forLength(n, p, err));
    std::vector<Complex> x(static_cast<size_t>(n));
    for (Complex &v : x)
      v = {g(rng), g(rng)};
    std::vector<Complex> X = monarchForward(p, x);
    double worst = 0;
    for (int64_t pos = 0; pos < n; pos += std::max<int64_t>(1, n / 97)) {
      int64_t f = p.frequencyAt(pos);
      Complex want = 0;
      for (int64_t j = 0; j < n; ++j)
        want += x[j] * std::polar(1.0, -2 * M_PI * double((j * f) % n) / double(n));
      worst = std::max(worst, std::abs(X[pos] - want));
    }
    EXPECT_LT(worst, 1e-10 * n) << "n = " << n;
    std::vector<Complex> back = monarchInverse(p, X);
    double round = 0;
    for (int64_t j = 0; j < n; ++j)
      round = std::max(round, std::abs(back[j] - x[j]));
    EXPECT_LT(round, 1e-13) << "n = " << n;
  }
}

struct Case {
  int64_t N, L;
  bool causal;
  int64_t cutoff;
  bool gates;
};

class MonarchConv : public ::testing::TestWithParam<Case> {};

TEST_P(MonarchConv, MatchesTheReference) {
  const Case &c = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(c.N + c.L));
  std::normal_distribution<double> g;
  auto randomTensor = [&](std::vector<int64_t> shape) {
    ref::Tensor t(ref::DType::F64, shape);
    for (double &v : t.data)
      v = g(rng);
    return t;
  };
  ref::Tensor u = randomTensor({1, c.N}), k = randomTensor({1, c.L});
  ref::Tensor pre = randomTensor({1, c.N}), post = randomTensor({1, c.N});
  ref::FFTConvParams params;
  params.causal = c.causal;
  params.freqCutoff = c.cutoff;
  params.method = ref::ConvMethod::FFT;
  ref::Tensor want;
  std::string err;
  ASSERT_TRUE(ref::fftconv(u, k, c.gates ? &pre : nullptr, c.gates ? &post : nullptr, params,
                           ref::DType::F64, want, err))
      << err;
  std::vector<double> y(static_cast<size_t>(c.N));
  ASSERT_TRUE(realConvolution(u.data.data(), c.N, k.data.data(), c.L, c.causal, c.cutoff,
                              c.gates ? pre.data.data() : nullptr,
                              c.gates ? post.data.data() : nullptr, y.data(), err))
      << err;
  double worst = 0, scale = 0;
  for (int64_t n = 0; n < c.N; ++n) {
    worst = std::max(worst, std::abs(y[n] - want.data[n]));
    scale = std::max(scale, std::abs(want.data[n]));
  }
  EXPECT_LT(worst, 1e-12 * scale) << "max error " << worst << " against " << scale;
}

INSTANTIATE_TEST_SUITE_P(
    Lengths, MonarchConv,
    ::testing::Values(Case{256, 256, true, 0, false}, Case{256, 256, false, 0, true},
                      Case{1024, 100, true, 0, true}, Case{1024, 1024, false, 64, false},
                      Case{4096, 4096, true, 200, true}, Case{16384, 77, false, 0, false},
                      Case{65536, 65536, true, 0, false}, Case{262144, 1000, false, 5000, true},
                      Case{int64_t(1) << 20, int64_t(1) << 20, true, 0, false},
                      Case{int64_t(1) << 22, 4096, false, 0, true},
                      Case{int64_t(1) << 21, int64_t(1) << 21, true, 0, true}),
    [](const ::testing::TestParamInfo<Case> &i) {
      const Case &c = i.param;
      return "N" + std::to_string(c.N) + "_L" + std::to_string(c.L) +
             (c.causal ? "_causal" : "_circular") +
             (c.cutoff ? "_cutoff" + std::to_string(c.cutoff) : "") + (c.gates ? "_gated" : "");
    });

TEST(MonarchConv, TheCheckCanFail) {
  // A twiddle table built for the wrong length (as a kernel indexing the
  // wrong level would read) breaks the transform far beyond the tolerance.
  MonarchPlan p;
  std::string err;
  ASSERT_TRUE(MonarchPlan::forLength(256, p, err));
  std::vector<Complex> good = twiddles(256, 16, false), bad = twiddles(512, 16, false);
  double diff = 0;
  for (size_t i = 0; i < good.size(); ++i)
    diff = std::max(diff, std::abs(good[i] - bad[i]));
  EXPECT_GT(diff, 0.1);
}

TEST(MonarchPrecision, TheKernelsArithmetic) {
  // The same gated causal convolutions in f32 (an f32 FFT, as PyTorch's
  // convolution computes) and in the kernels' arithmetic (16-bit operands
  // of each DFT product, f32 sums), all on the same bf16-valued inputs,
  // against the f64 reference: the error a GPU run should show. Each step
  // down in precision must cost error, and stay within a few units of its
  // type's rounding (f32 2^-24, f16 2^-11, bf16 2^-8) per Monarch level.
  std::mt19937 rng(21);
  std::normal_distribution<double> g;
  for (int64_t N : std::vector<int64_t>{1024, 8192, 65536}) {
    auto bf16Data = [&](int64_t n) {
      std::vector<double> v(static_cast<size_t>(n));
      for (double &x : v)
        x = ref::roundTo(ref::DType::BF16, g(rng));
      return v;
    };
    std::vector<double> u = bf16Data(N), k = bf16Data(N), pre = bf16Data(N), post = bf16Data(N);
    for (double &x : k)
      x = ref::roundTo(ref::DType::BF16, x / std::sqrt(double(N)));
    std::vector<double> want(static_cast<size_t>(N)), y(static_cast<size_t>(N));
    std::string err;
    ASSERT_TRUE(realConvolution(u.data(), N, k.data(), N, true, 0, pre.data(), post.data(),
                                want.data(), err))
        << err;
    double scale = 0;
    for (double v : want)
      scale = std::max(scale, std::abs(v));
    auto errorOf = [&](Precision p) {
      EXPECT_TRUE(realConvolution(u.data(), N, k.data(), N, true, 0, pre.data(), post.data(),
                                  y.data(), err, p))
          << err;
      double worst = 0;
      for (int64_t n = 0; n < N; ++n)
        worst = std::max(worst, std::abs(y[n] - want[n]));
      return worst / scale;
    };
    double f32 = errorOf(Precision::F32), f16 = errorOf(Precision::F16),
           bf16 = errorOf(Precision::BF16);
    MonarchPlan plan;
    ASSERT_TRUE(MonarchPlan::forLength(N, plan, err));
    double levels = double(plan.order());
    std::printf("N = %lld (order %d): max error / max |y|: f32 %.2e, f16 %.2e, bf16 %.2e\n",
                static_cast<long long>(N), static_cast<int>(plan.order()), f32, f16, bf16);
    EXPECT_LT(f32, 8 * levels * std::ldexp(1.0, -24)) << N;
    EXPECT_LT(f16, 8 * levels * std::ldexp(1.0, -11)) << N;
    EXPECT_LT(bf16, 8 * levels * std::ldexp(1.0, -8)) << N;
    EXPECT_LT(f32, f16);
    EXPECT_LT(f16, bf16);
  }
}

TEST(MonarchFrequencySparse, CenteredLeavesSkipBlocks) {
  // 75% zero bins (cutoff h / 8). The inverse's first products are the
  // leaf DFTs over the spectrum's most significant digit; in natural order
  // every K block of them holds a non-zero (the low frequencies and their
  // mirrors sit at both ends), so nothing can be skipped. Ordered centered,
  // with the largest radix last (any order of radices is a valid plan) and
  // K blocks no wider than half the leaf (16 for a leaf of 32, 8 for 16:
  // m16n8k8), half of the leaf products' blocks are zero.
  std::mt19937 rng(4);
  std::normal_distribution<double> g;
  for (int64_t n : std::vector<int64_t>{1024, 8192, 65536}) {
    MonarchPlan p;
    std::string err;
    ASSERT_TRUE(MonarchPlan::forLength(n, p, err));
    std::sort(p.radices.begin(), p.radices.end());
    int64_t leaf = p.radices.back(), blockK = std::min<int64_t>(16, leaf / 2);
    double natural = skippableInverseBlocks(p, n / 8, blockK, false);
    double centered = skippableInverseBlocks(p, n / 8, blockK, true);
    std::printf("n = %lld (leaf %lld, K blocks of %lld): skippable at 75%% zero bins: natural "
                "%.2f, centered %.2f\n",
                static_cast<long long>(n), static_cast<long long>(leaf),
                static_cast<long long>(blockK), natural, centered);
    EXPECT_EQ(natural, 0.0) << n;
    EXPECT_GE(centered, 0.5) << n;
    EXPECT_EQ(skippableInverseBlocks(p, n, blockK, true), 0.0); // no cutoff
    // The reordered plan is still the FFT: a round trip gives back x.
    std::vector<Complex> x(static_cast<size_t>(n));
    for (Complex &v : x)
      v = {g(rng), g(rng)};
    std::vector<Complex> back = monarchInverse(p, monarchForward(p, x));
    double worst = 0;
    for (int64_t j = 0; j < n; ++j)
      worst = std::max(worst, std::abs(back[j] - x[j]));
    EXPECT_LT(worst, 1e-12) << n;
  }
}

TEST(MonarchConv, BadLengths) {
  std::vector<double> u(300), k(300), y(300);
  std::string err;
  EXPECT_FALSE(realConvolution(u.data(), 300, k.data(), 10, true, 0, nullptr, nullptr, y.data(),
                               err));
  EXPECT_NE(err.find("N a power of two"), std::string::npos) << err;
  EXPECT_FALSE(realConvolution(u.data(), 256, k.data(), 257, true, 0, nullptr, nullptr, y.data(),
                               err));
  std::vector<double> big(static_cast<size_t>(1) << 23);
  EXPECT_FALSE(realConvolution(big.data(), int64_t(1) << 23, big.data(), 8, true, 0, nullptr,
                               nullptr, big.data(), err));
  EXPECT_NE(err.find("power of two from 4 to 4194304"), std::string::npos) << err;
}
} // namespace
