//===- Monarch.h - FFT convolution as Monarch matrix products ----*- C++ -*-===//
//
// How `loom.fftconv` is to run on tensor cores (FlashFFTConv's approach):
// the FFT of length n is written as an order-d Monarch decomposition, d
// dense DFT matrix products with pointwise twiddles between them, so that
// the work is matrix multiplication. This header holds the decomposition's
// constants and index maps, and a host model that executes them in f64
// exactly as the kernel will order them; the unit tests compare the model
// with the reference convolution (itself checked against FFTW), so the
// constants are checked before any kernel reads them.
//
// One step of order d on a length n = r0 * m (m = r1 * ... * r_{d-1}),
// the input read as an r0 x m row-major matrix A[j1][j2] = x[m * j1 + j2]:
//   1. B = F_r0 * A          (a DFT down each column: an r0 x r0 product)
//   2. C[k1][j2] = B[k1][j2] * w_n^(k1 * j2)                (the twiddles)
//   3. each row of C through the order d - 1 step of length m.
// Row k1 then holds frequencies k1 + r0 * k2 in the inner step's order:
// the spectrum comes out digit-reversed (position p holds frequency
// `frequencyAt(p)`), which the convolution never undoes: the filter's
// spectrum is stored in the same order, the product is pointwise, and the
// inverse runs the steps backwards with conjugate matrices, taking the
// digit-reversed spectrum back to natural order. 1/n is folded into the
// inverse's first twiddles.
//
// Real input (`realConvolution`): a real sequence of length M (2N causal,
// N circular) is read as M/2 complex values z[j] = x[2j] + i x[2j+1]; the
// spectrum of x follows from Z[k] and Z[M/2 - k] (positions `partner`
// apart in the digit-reversed order), and the product's inverse is folded
// back the same way before one inverse complex FFT of M/2.
//
// This header has no MLIR dependency.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_CODEGEN_MONARCH_H
#define EINLOOM_CODEGEN_MONARCH_H

#include <complex>
#include <cstdint>
#include <string>
#include <vector>

namespace einloom::codegen {

using Complex = std::complex<double>;

/// The arithmetic a model run imitates. F64: exact enough to check the
/// decomposition. F32: an f32 FFT (what PyTorch's convolution computes).
/// F16, BF16: the kernel's tensor-core steps, each matrix product's inputs
/// (the data and the DFT matrix) rounded to the 16-bit type and summed in
/// f32; twiddles, the real-input halving and the spectra's product in f32;
/// the input, filter, gates and result in the 16-bit type.
enum class Precision { F64, F32, F16, BF16 };

/// The arithmetic of a model run in `p`: `store` rounds a value to what a
/// step keeps (f32, or f64 exactly), `operand` to a tensor-core input.
struct ModelArith {
  Precision p;
  bool exact() const { return p == Precision::F64; }
  double store(double x) const { return exact() ? x : double(float(x)); }
  Complex store(Complex z) const { return {store(z.real()), store(z.imag())}; }
  double operand(double x) const;
  Complex operand(Complex z) const { return {operand(z.real()), operand(z.imag())}; }
  /// a * b, each product and sum kept at the step's precision.
  Complex mul(Complex a, Complex b) const {
    if (exact())
      return a * b;
    double re = store(store(a.real() * b.real()) - store(a.imag() * b.imag()));
    double im = store(store(a.real() * b.imag()) + store(a.imag() * b.real()));
    return {re, im};
  }
  Complex add(Complex a, Complex b) const { return store(a + b); }
};

/// exp(-2 pi i num / den), num reduced first so that large products keep
/// full precision (the twiddles, computed in f64 and rounded once).
Complex unitRoot(int64_t num, int64_t den);

/// An FFT length as Monarch factors.
struct MonarchPlan {
  int64_t length = 0;             ///< the complex FFT's length n
  std::vector<int64_t> radices;   ///< r0 * r1 * ... = n; order = radices.size()

  /// The plan for a complex FFT of length n: a power of two from 4 to 2^22;
  /// order 2 up to 1024 (16 x 16, 32 x 32), order 3 up to 2^15, order 4
  /// beyond, with the bits split as evenly as they go (larger radices
  /// first). False with `err` for another length.
  static bool forLength(int64_t n, MonarchPlan &plan, std::string &err);

  int64_t order() const { return static_cast<int64_t>(radices.size()); }
  /// The natural frequency held at position p of the digit-reversed output.
  int64_t frequencyAt(int64_t p) const;
  /// The position of natural frequency k (frequencyAt's inverse).
  int64_t positionOf(int64_t k) const;
};

/// F_r[j][k] = exp(-2 pi i j k / r), row-major (the forward DFT matrix of a
/// step; the inverse uses its conjugate).
std::vector<Complex> dftMatrix(int64_t r);
/// The twiddles of the step of length n with leading radix r0: r0 x (n/r0),
/// w[k1][j2] = exp(-2 pi i k1 j2 / n). With `inverse`, conjugated and
/// scaled by `scale` (the folded 1/n on the inverse's first step).
std::vector<Complex> twiddles(int64_t n, int64_t r0, bool inverse, double scale = 1.0);

/// The forward FFT of `x` (natural order, length plan.length) into the
/// digit-reversed order, by the plan's matrix products.
std::vector<Complex> monarchForward(const MonarchPlan &plan, const std::vector<Complex> &x,
                                    Precision precision = Precision::F64);
/// The inverse of monarchForward, with the 1/n folded in: a digit-reversed
/// spectrum back to the natural-order sequence.
std::vector<Complex> monarchInverse(const MonarchPlan &plan, const std::vector<Complex> &X,
                                    Precision precision = Precision::F64);

/// Frequency sparsity (a filter cut off at `cutoff`, so that the folded
/// spectrum the inverse starts from is zero except at f < cutoff and
/// f > h - cutoff): the fraction of the inverse's first matrix products'
/// K blocks, `blockK` wide, that are all zero and can be skipped. With the
/// leaf's K index in natural order the non-zeros sit at both ends of every
/// block row; `centered` orders it 0, r-1, 1, r-2, ... (each frequency
/// next to its mirror), which gathers them (the DFT matrix's columns are
/// permuted alike, so the product is unchanged).
double skippableInverseBlocks(const MonarchPlan &plan, int64_t cutoff, int64_t blockK,
                              bool centered);

/// One row of `loom.fftconv` by the model: y = irfft(rfft(u') * K)[0, N),
/// u' = u * preGate (zero-padded to M = 2N causal, N circular), K the
/// spectrum of the filter `k` (length L <= N) with every frequency at or
/// above `freqCutoff` removed (0: none), then y * postGate. Gates may be
/// null. N a power of two from 8 (causal 4) to 2^22 (causal 2^21). In
/// `precision`'s arithmetic (see Precision).
bool realConvolution(const double *u, int64_t N, const double *k, int64_t L, bool causal,
                     int64_t freqCutoff, const double *preGate, const double *postGate,
                     double *y, std::string &err, Precision precision = Precision::F64);

} // namespace einloom::codegen

#endif
