// Long convolution: identities and the direct/FFT cross-check.
#include "einloom/Reference/Kernels.h"

#include <cmath>
#include <gtest/gtest.h>

using namespace einloom::ref;

static Tensor conv(const Tensor &u, const Tensor &k, FFTConvParams p,
                   const Tensor *pre = nullptr, const Tensor *post = nullptr) {
  Tensor y;
  std::string err;
  EXPECT_TRUE(fftconv(u, k, pre, post, p, DType::F64, y, err)) << err;
  return y;
}

static Tensor randomTensor(std::vector<int64_t> shape, uint64_t seed) {
  Tensor t(DType::F64, std::move(shape));
  Random r(seed);
  fillRandom(t, r, Role::Data);
  return t;
}

TEST(FFTConv, DeltaKernelIsIdentity) {
  Tensor u = randomTensor({3, 64}, 1);
  Tensor k(DType::F64, {1});
  k.data = {1};
  for (ConvMethod m : {ConvMethod::Direct, ConvMethod::FFT}) {
    FFTConvParams p;
    p.method = m;
    Tensor y = conv(u, k, p);
    for (size_t i = 0; i < u.data.size(); ++i)
      EXPECT_NEAR(y.data[i], u.data[i], 1e-12);
  }
}

TEST(FFTConv, ShiftKernelDelays) {
  Tensor u(DType::F64, {5});
  u.data = {1, 2, 3, 4, 5};
  Tensor k(DType::F64, {2});
  k.data = {0, 1};
  FFTConvParams causal;
  causal.method = ConvMethod::Direct;
  EXPECT_EQ(conv(u, k, causal).data, (std::vector<double>{0, 1, 2, 3, 4}));
  FFTConvParams circ = causal;
  circ.causal = false;
  EXPECT_EQ(conv(u, k, circ).data, (std::vector<double>{5, 1, 2, 3, 4}));
}

TEST(FFTConv, DirectAndFFTAgree) {
  // Per-channel kernels broadcast over the batch; partial kernel length.
  Tensor u = randomTensor({2, 3, 96}, 2);
  Tensor k = randomTensor({3, 40}, 3);
  for (bool causal : {true, false})
    for (int64_t cutoff : {0, 1, 7, 50}) {
      FFTConvParams d, f;
      d.causal = f.causal = causal;
      d.freqCutoff = f.freqCutoff = cutoff;
      d.method = ConvMethod::Direct;
      f.method = ConvMethod::FFT;
      Tensor a = conv(u, k, d), b = conv(u, k, f);
      for (size_t i = 0; i < a.data.size(); ++i)
        ASSERT_NEAR(a.data[i], b.data[i], 1e-9) << causal << " " << cutoff << " " << i;
    }
}

TEST(FFTConv, CutoffKeepingEverythingChangesNothing) {
  Tensor u = randomTensor({32}, 4), k = randomTensor({32}, 5);
  FFTConvParams all, none;
  all.method = none.method = ConvMethod::Direct;
  all.freqCutoff = 33; // M = 64: frequencies 0..32
  Tensor a = conv(u, k, all), b = conv(u, k, none);
  for (size_t i = 0; i < a.data.size(); ++i)
    EXPECT_NEAR(a.data[i], b.data[i], 1e-10);
}

TEST(FFTConv, DcOnlyCircularIsMeanTimesSum) {
  // Keeping only frequency 0 of a circular kernel makes it constant sum(k)/N,
  // so every output is sum(k) * sum(u) / N.
  Tensor u = randomTensor({16}, 6), k = randomTensor({16}, 7);
  FFTConvParams p;
  p.causal = false;
  p.freqCutoff = 1;
  p.method = ConvMethod::Direct;
  double su = 0, sk = 0;
  for (double v : u.data) su += v;
  for (double v : k.data) sk += v;
  for (double y : conv(u, k, p).data)
    EXPECT_NEAR(y, su * sk / 16, 1e-12);
}

TEST(FFTConv, Gates) {
  Tensor u = randomTensor({8}, 8);
  Tensor k(DType::F64, {1});
  k.data = {1};
  Tensor two(DType::F64, {8}), three(DType::F64, {8});
  for (auto &v : two.data) v = 2;
  for (auto &v : three.data) v = 3;
  FFTConvParams p;
  Tensor y = conv(u, k, p, &two, &three);
  for (size_t i = 0; i < u.data.size(); ++i)
    EXPECT_NEAR(y.data[i], 6 * u.data[i], 1e-12);
}

TEST(FFTConv, Errors) {
  Tensor u(DType::F64, {8}), k(DType::F64, {9}), y;
  std::string err;
  EXPECT_FALSE(fftconv(u, k, nullptr, nullptr, {}, DType::F64, y, err));
  EXPECT_NE(err.find("exceeds"), std::string::npos);
}
