//===- Monarch.cpp - FFT convolution as Monarch matrix products -----------===//
//
// The constants, index maps and host model of include/einloom/Codegen/
// Monarch.h. The model is written as the kernel will run it: each step a
// dense DFT matrix product over a reshaped block, then pointwise twiddles,
// rows handed to the next step; no bit reversal anywhere.
//
//===----------------------------------------------------------------------===//
#include "einloom/Codegen/Monarch.h"
#include "einloom/Reference/Tensor.h"

#include <cmath>

using namespace einloom::codegen;

namespace {
bool isPowerOfTwo(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

} // namespace

double ModelArith::operand(double x) const {
  switch (p) {
  case Precision::F16: return einloom::ref::roundTo(einloom::ref::DType::F16, x);
  case Precision::BF16: return einloom::ref::roundTo(einloom::ref::DType::BF16, x);
  default: return store(x);
  }
}

Complex einloom::codegen::unitRoot(int64_t num, int64_t den) {
  // exp(-2 pi i num / den), with num reduced first so that large products
  // keep full precision.
  int64_t r = ((num % den) + den) % den;
  double angle = -2.0 * M_PI * double(r) / double(den);
  return {std::cos(angle), std::sin(angle)};
}

namespace {

/// Each level's matrices and twiddles, computed once (the kernel's
/// constants; a level's rows all share them).
struct Levels {
  std::vector<std::vector<Complex>> dft, idft, tw, itw;
  Levels(const MonarchPlan &plan) {
    int64_t n = plan.length;
    for (size_t i = 0; i < plan.radices.size(); ++i) {
      int64_t r = plan.radices[i];
      dft.push_back(dftMatrix(r));
      idft.push_back(dft.back());
      for (Complex &v : idft.back())
        v = std::conj(v);
      tw.push_back(twiddles(n, r, false));
      // The outermost level's twiddles carry the 1/n of the whole inverse.
      itw.push_back(twiddles(n, r, true, i == 0 ? 1.0 / double(plan.length) : 1.0));
      n /= r;
    }
  }
};

/// One step at level `i` over `x` (length n = radices[i] * ...), in place:
/// forward into the digit-reversed order, or its inverse.
void step(const MonarchPlan &plan, const Levels &lv, const ModelArith &ar, size_t i, Complex *x,
          int64_t n, bool inverse) {
  int64_t r0 = plan.radices[i], m = n / r0;
  const std::vector<Complex> &f = inverse ? lv.idft[i] : lv.dft[i];
  std::vector<Complex> block(x, x + n), out(static_cast<size_t>(n));
  auto product = [&]() { // block (r0 x m, row-major) <- F * block, operands rounded
    std::fill(out.begin(), out.end(), Complex(0));
    if (!ar.exact())
      for (Complex &v : block)
        v = ar.operand(v);
    for (int64_t a = 0; a < r0; ++a)
      for (int64_t b = 0; b < r0; ++b) {
        Complex w = ar.operand(f[a * r0 + b]);
        for (int64_t j = 0; j < m; ++j)
          out[a * m + j] = ar.add(out[a * m + j], ar.mul(w, block[b * m + j]));
      }
    block.swap(out);
  };
  if (m == 1) { // the last level: a plain DFT of r0
    product();
  } else if (!inverse) {
    product();
    for (int64_t e = 0; e < n; ++e)
      block[e] = ar.mul(block[e], ar.store(lv.tw[i][e]));
    for (int64_t k1 = 0; k1 < r0; ++k1)
      step(plan, lv, ar, i + 1, block.data() + k1 * m, m, false);
  } else {
    for (int64_t k1 = 0; k1 < r0; ++k1)
      step(plan, lv, ar, i + 1, block.data() + k1 * m, m, true);
    for (int64_t e = 0; e < n; ++e)
      block[e] = ar.mul(block[e], ar.store(lv.itw[i][e]));
    product();
  }
  std::copy(block.begin(), block.end(), x);
}
} // namespace

bool MonarchPlan::forLength(int64_t n, MonarchPlan &plan, std::string &err) {
  if (!isPowerOfTwo(n) || n < 4 || n > (int64_t(1) << 22)) {
    err = "the Monarch FFT takes a power of two from 4 to 4194304 complex points, not " +
          std::to_string(n);
    return false;
  }
  int bits = 0;
  while ((int64_t(1) << bits) < n)
    ++bits;
  int order = bits <= 10 ? 2 : bits <= 15 ? 3 : 4;
  plan.length = n;
  plan.radices.clear();
  for (int i = 0; i < order; ++i)
    plan.radices.push_back(int64_t(1) << (bits / order + (i < bits % order ? 1 : 0)));
  return true;
}

int64_t MonarchPlan::frequencyAt(int64_t p) const {
  int64_t freq = 0, scale = 1, n = length;
  for (int64_t r : radices) {
    int64_t m = n / r;
    freq += scale * (p / m);
    p %= m;
    scale *= r;
    n = m;
  }
  return freq;
}

int64_t MonarchPlan::positionOf(int64_t k) const {
  int64_t p = 0, n = length;
  for (int64_t r : radices) {
    n /= r;
    p += (k % r) * n;
    k /= r;
  }
  return p;
}

std::vector<Complex> einloom::codegen::dftMatrix(int64_t r) {
  std::vector<Complex> f(static_cast<size_t>(r * r));
  for (int64_t j = 0; j < r; ++j)
    for (int64_t k = 0; k < r; ++k)
      f[j * r + k] = unitRoot(j * k, r);
  return f;
}

std::vector<Complex> einloom::codegen::twiddles(int64_t n, int64_t r0, bool inverse,
                                                double scale) {
  int64_t m = n / r0;
  std::vector<Complex> w(static_cast<size_t>(n));
  for (int64_t k1 = 0; k1 < r0; ++k1)
    for (int64_t j2 = 0; j2 < m; ++j2) {
      Complex v = unitRoot(k1 * j2, n);
      w[k1 * m + j2] = (inverse ? std::conj(v) : v) * scale;
    }
  return w;
}

std::vector<Complex> einloom::codegen::monarchForward(const MonarchPlan &plan,
                                                      const std::vector<Complex> &x,
                                                      Precision precision) {
  std::vector<Complex> out(x);
  step(plan, Levels(plan), ModelArith{precision}, 0, out.data(), plan.length, false);
  return out;
}

std::vector<Complex> einloom::codegen::monarchInverse(const MonarchPlan &plan,
                                                      const std::vector<Complex> &X,
                                                      Precision precision) {
  std::vector<Complex> out(X);
  step(plan, Levels(plan), ModelArith{precision}, 0, out.data(), plan.length, true);
  return out;
}

double einloom::codegen::skippableInverseBlocks(const MonarchPlan &plan, int64_t cutoff,
                                                int64_t blockK, bool centered) {
  int64_t h = plan.length, r = plan.radices.back();
  std::vector<int64_t> order(static_cast<size_t>(r));
  for (int64_t j = 0; j < r; ++j)
    order[j] = !centered ? j : j % 2 == 0 ? j / 2 : r - 1 - j / 2;
  auto nonZero = [&](int64_t f) { return f < cutoff || f > h - cutoff; };
  int64_t blocks = 0, zero = 0;
  // The first inverse products are the leaf DFTs: r consecutive positions.
  for (int64_t base = 0; base < h; base += r)
    for (int64_t b = 0; b < r; b += blockK) {
      bool any = false;
      for (int64_t j = b; j < std::min(r, b + blockK) && !any; ++j)
        any = nonZero(plan.frequencyAt(base + order[j]));
      ++blocks;
      zero += !any;
    }
  return blocks ? double(zero) / double(blocks) : 0.0;
}

bool einloom::codegen::realConvolution(const double *u, int64_t N, const double *k, int64_t L,
                                       bool causal, int64_t freqCutoff, const double *preGate,
                                       const double *postGate, double *y, std::string &err,
                                       Precision precision) {
  if (!isPowerOfTwo(N) || L < 1 || L > N) {
    err = "the Monarch convolution takes N a power of two and a filter of 1 to N taps (N = " +
          std::to_string(N) + ", L = " + std::to_string(L) + ")";
    return false;
  }
  int64_t M = causal ? 2 * N : N, h = M / 2;
  MonarchPlan plan;
  if (!MonarchPlan::forLength(h, plan, err))
    return false;
  ModelArith ar{precision};
  const Levels levels(plan); // the constants, shared by the three transforms
  // The 16-bit types hold the input, filter, gates and result.
  auto io = [&](double x) {
    return precision == Precision::F16 || precision == Precision::BF16 ? ar.operand(x) : x;
  };
  // Real input of M as h complex points, zero-padded.
  auto halve = [&](const double *x, int64_t len, const double *gate) {
    std::vector<Complex> z(static_cast<size_t>(h));
    for (int64_t j = 0; j < h; ++j) {
      auto at = [&](int64_t i) {
        return i < len ? ar.store(io(x[i]) * (gate ? io(gate[i]) : 1.0)) : 0.0;
      };
      z[j] = {at(2 * j), at(2 * j + 1)};
    }
    step(plan, levels, ar, 0, z.data(), h, false);
    return z;
  };
  std::vector<Complex> Z = halve(u, N, preGate), ZK = halve(k, L, nullptr);
  // The spectrum of a real sequence at natural frequency f (0 <= f <= h)
  // from its halved spectrum in digit-reversed order: the even and odd
  // samples' spectra come from Z[f] and conj(Z[h - f]).
  auto realSpectrum = [&](const std::vector<Complex> &S, int64_t f) {
    Complex a = S[plan.positionOf(f % h)], b = std::conj(S[plan.positionOf((h - f) % h)]);
    Complex even = ar.store((a + b) * 0.5), odd = ar.store((a - b) * Complex(0, -0.5));
    return ar.add(even, ar.mul(ar.store(unitRoot(f, M)), odd));
  };
  // The product, by position (frequency frequencyAt(p)), and at h.
  auto product = [&](int64_t f) {
    if (freqCutoff > 0 && f >= freqCutoff)
      return Complex(0);
    return ar.mul(realSpectrum(Z, f), realSpectrum(ZK, f));
  };
  std::vector<Complex> Y(static_cast<size_t>(h));
  for (int64_t p = 0; p < h; ++p)
    Y[p] = product(plan.frequencyAt(p));
  Complex nyquist = product(h);
  // Folded back into h complex points: even + i odd, where even and odd
  // are the halves' spectra of the real result.
  std::vector<Complex> W(static_cast<size_t>(h));
  for (int64_t p = 0; p < h; ++p) {
    int64_t f = plan.frequencyAt(p);
    Complex a = Y[p], b = std::conj(f == 0 ? nyquist : Y[plan.positionOf(h - f)]);
    Complex even = ar.store((a + b) * 0.5),
            odd = ar.mul(ar.store((a - b) * 0.5), ar.store(std::conj(unitRoot(f, M))));
    W[p] = ar.add(even, Complex(0, 1) * odd);
  }
  step(plan, levels, ar, 0, W.data(), h, true); // in place: the result's halves
  for (int64_t n = 0; n < N; ++n) {
    double v = n % 2 ? W[n / 2].imag() : W[n / 2].real();
    y[n] = io(ar.store(v * (postGate ? io(postGate[n]) : 1.0)));
  }
  return true;
}
