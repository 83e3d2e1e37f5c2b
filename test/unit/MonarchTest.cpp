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

#include <cmath>
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
