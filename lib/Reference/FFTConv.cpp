//===- FFTConv.cpp - reference long convolution ---------------------------===//
//
// Two independent paths: a direct O(N L) sum, and an FFTW path for large N.
// Tests cross-check them on small N.
//
//===----------------------------------------------------------------------===//
#include "einloom/Reference/Kernels.h"

#include <cmath>
#include <complex>
#include <fftw3.h>
#include <memory>

using namespace einloom::ref;

namespace {
/// The kernel with frequencies at or above the cutoff removed, as a real
/// length-M sequence (M = 2N causal, N circular): a direct DFT and inverse.
std::vector<double> truncatedKernel(const double *k, int64_t L, int64_t M,
                                    int64_t cutoff) {
  std::vector<std::complex<double>> spec(static_cast<size_t>(M));
  const double twoPi = 2.0 * M_PI;
  for (int64_t m = 0; m < M; ++m) {
    if (std::min(m, M - m) >= cutoff)
      continue;
    std::complex<double> s = 0;
    for (int64_t j = 0; j < L; ++j)
      s += k[j] * std::polar(1.0, -twoPi * double((m * j) % M) / double(M));
    spec[m] = s;
  }
  std::vector<double> out(static_cast<size_t>(M));
  for (int64_t j = 0; j < M; ++j) {
    std::complex<double> s = 0;
    for (int64_t m = 0; m < M; ++m)
      s += spec[m] * std::polar(1.0, twoPi * double((m * j) % M) / double(M));
    out[j] = s.real() / double(M);
  }
  return out;
}

void directRow(const double *u, const double *k, int64_t N, int64_t L,
               const FFTConvParams &p, double *y) {
  if (p.freqCutoff > 0) {
    int64_t M = p.causal ? 2 * N : N;
    std::vector<double> kf = truncatedKernel(k, L, M, p.freqCutoff);
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t j = 0; j < M; ++j) {
        int64_t idx = ((n - j) % M + M) % M;
        if (idx < N)
          s += kf[j] * u[idx];
      }
      y[n] = s;
    }
    return;
  }
  for (int64_t n = 0; n < N; ++n) {
    double s = 0;
    for (int64_t j = 0; j < L; ++j) {
      int64_t idx = n - j;
      if (idx < 0) {
        if (p.causal)
          break;
        idx = ((idx % N) + N) % N;
      }
      s += k[j] * u[idx];
    }
    y[n] = s;
  }
}

/// FFTW path: y = irfft(rfft(u_pad) * rfft(k_pad))[:N].
class FFTRow {
public:
  FFTRow(int64_t N, bool causal) : N(N), M(causal ? 2 * N : N) {
    real = fftw_alloc_real(static_cast<size_t>(M));
    spectrum = fftw_alloc_complex(static_cast<size_t>(M / 2 + 1));
    kspec.resize(static_cast<size_t>(M / 2 + 1));
    forward = fftw_plan_dft_r2c_1d(static_cast<int>(M), real, spectrum, FFTW_ESTIMATE);
    inverse = fftw_plan_dft_c2r_1d(static_cast<int>(M), spectrum, real, FFTW_ESTIMATE);
  }
  ~FFTRow() {
    fftw_destroy_plan(forward);
    fftw_destroy_plan(inverse);
    fftw_free(real);
    fftw_free(spectrum);
  }
  FFTRow(const FFTRow &) = delete;
  FFTRow &operator=(const FFTRow &) = delete;

  void setKernel(const double *k, int64_t L, int64_t cutoff) {
    load(k, L);
    fftw_execute(forward);
    for (int64_t m = 0; m <= M / 2; ++m) {
      bool keep = cutoff <= 0 || m < cutoff; // min(m, M - m) == m here
      kspec[m] = keep ? std::complex<double>(spectrum[m][0], spectrum[m][1]) : 0.0;
    }
  }

  void run(const double *u, double *y) {
    load(u, N);
    fftw_execute(forward);
    for (int64_t m = 0; m <= M / 2; ++m) {
      std::complex<double> v =
          std::complex<double>(spectrum[m][0], spectrum[m][1]) * kspec[m];
      spectrum[m][0] = v.real();
      spectrum[m][1] = v.imag();
    }
    fftw_execute(inverse);
    for (int64_t n = 0; n < N; ++n)
      y[n] = real[n] / double(M);
  }

private:
  void load(const double *x, int64_t n) {
    for (int64_t i = 0; i < M; ++i)
      real[i] = i < n ? x[i] : 0.0;
  }
  int64_t N, M;
  double *real;
  fftw_complex *spectrum;
  std::vector<std::complex<double>> kspec;
  fftw_plan forward, inverse;
};
} // namespace

bool einloom::ref::fftconv(const Tensor &u, const Tensor &k,
                           const Tensor *preGate, const Tensor *postGate,
                           const FFTConvParams &p, DType resultType,
                           Tensor &result, std::string &err) {
  if (u.rank() < 1 || k.rank() < 1 || k.rank() > u.rank()) {
    err = "fftconv: input " + u.typeStr() + " and kernel " + k.typeStr() +
          " do not fit";
    return false;
  }
  int64_t N = u.shape.back(), L = k.shape.back();
  if (L > N) {
    err = "fftconv: kernel length " + std::to_string(L) +
          " exceeds sequence length " + std::to_string(N);
    return false;
  }
  for (const Tensor *g : {preGate, postGate})
    if (g && g->shape != u.shape) {
      err = "fftconv: a gate's shape differs from the input's";
      return false;
    }
  int64_t off = u.rank() - k.rank();
  for (int64_t i = 0; i + 1 < k.rank(); ++i)
    if (k.shape[i] != 1 && k.shape[i] != u.shape[off + i]) {
      err = "fftconv: kernel dimension " + std::to_string(i) +
            " does not broadcast";
      return false;
    }

  result = Tensor(resultType, u.shape);
  int64_t rows = N ? u.numel() / N : 0;
  bool useFFT = p.method == ConvMethod::FFT ||
                (p.method == ConvMethod::Auto && N * L > (int64_t(1) << 16));
  std::unique_ptr<FFTRow> fft;
  if (useFFT && N > 0)
    fft = std::make_unique<FFTRow>(N, p.causal);
  std::vector<int64_t> ustr = u.strides(), kstr = k.strides();
  std::vector<double> in(static_cast<size_t>(N)), out(static_cast<size_t>(N));
  int64_t lastKernelRow = -1;
  for (int64_t r = 0; r < rows; ++r) {
    // The kernel row: u's leading index, aligned right, size-1 dims broadcast.
    int64_t krow = 0, rem = r;
    for (int64_t d = u.rank() - 2; d >= 0; --d) {
      int64_t i = rem % u.shape[d];
      rem /= u.shape[d];
      int64_t kd = d - off;
      if (kd >= 0 && k.shape[kd] != 1)
        krow += i * kstr[kd];
    }
    for (int64_t n = 0; n < N; ++n)
      in[n] = u.data[r * N + n] * (preGate ? preGate->data[r * N + n] : 1.0);
    const double *kp = k.data.data() + krow;
    if (fft) {
      if (krow != lastKernelRow)
        fft->setKernel(kp, L, p.freqCutoff);
      lastKernelRow = krow;
      fft->run(in.data(), out.data());
    } else {
      directRow(in.data(), kp, N, L, p, out.data());
    }
    for (int64_t n = 0; n < N; ++n)
      result.data[r * N + n] = roundTo(
          resultType, out[n] * (postGate ? postGate->data[r * N + n] : 1.0));
  }
  return true;
}
