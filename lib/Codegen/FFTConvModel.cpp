//===- FFTConvModel.cpp - the fused FFT convolution kernel on the host -----===//
//
// FFTConvKernelPlan's plan and the host model of the kernel (see
// include/einloom/Codegen/FFTConvKernel.h). The model keeps the kernel's
// shared memory as an array, fills and reads it through the header's
// index maps lane by lane, and multiplies fragments by assembling each
// mma.sync's 16 x 16 and 16 x 8 operands from the 32 lanes' registers as
// the PTX ISA lays them out (written out here, not through the header's
// maps, so that a wrong map gives a wrong result).
//
//===----------------------------------------------------------------------===//
#include "einloom/Codegen/FFTConvKernel.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <memory>
#include <vector>

using namespace einloom::codegen;

bool FFTConvKernelPlan::build(const FFTConvShape &s, FFTConvKernelPlan &p, std::string &why,
                              int64_t inner) {
  auto pow2 = [](int64_t n) { return n > 0 && (n & (n - 1)) == 0; };
  int64_t M = s.causal ? 2 * s.N : s.N;
  // One fused kernel up to N = 8192 (causal M = 16384; circular 8192, as the
  // f32 staging of a circular 16384 would not fit shared memory); two
  // passes above, up to M = kMaxTwoPass.
  int64_t shortest = s.causal ? 128 : 256, fusedLongest = 8192,
          longest = s.causal ? kMaxTwoPass / 2 : kMaxTwoPass;
  if (!pow2(s.N) || M < 256 || s.N > longest) {
    why = "the FFT convolution kernels take N a power of two from " + std::to_string(shortest) +
          " to " + std::to_string(longest) + " (" + (s.causal ? "causal" : "circular") +
          "), not " + std::to_string(s.N) +
          (pow2(s.N) ? (s.N > longest ? "; longer sequences need an order-4 outer pass, which "
                                        "does not exist yet"
                                      : "; pad the sequence")
                     : "; pad the sequence to a power of two");
    return false;
  }
  if (s.heads < 1 || s.rows < 1 || s.rows % s.heads != 0) {
    why = "the filter rows (" + std::to_string(s.heads) + ") must divide the sequences (" +
          std::to_string(s.rows) + ")";
    return false;
  }
  if (s.L < 1 || s.L > s.N) {
    why = "the filter must have 1 to N taps";
    return false;
  }
  p = FFTConvKernelPlan();
  p.shape = s;
  p.M = M;
  bool twoPass = s.N > fusedLongest || inner > 0;
  if (twoPass) {
    if (s.dynamicLead > 0) {
      why = "a dynamic batch is supported up to N = " + std::to_string(fusedLongest) +
            " (the fused kernel); give the batch a static size for N = " + std::to_string(s.N);
      return false;
    }
    // The longest inner rows that fit, with at least 16 of them (an mma
    // tile of the outer transform): fewer, longer rows cost fewer products.
    p.Q = inner > 0 ? inner : std::min(kMaxLength, M / 16);
    p.P = M / p.Q;
    if (!pow2(p.Q) || p.Q < 1024 || p.Q > kMaxLength || p.P < 16 || p.P > kMaxOuter) {
      why = "no two-pass plan splits the padded length " + std::to_string(M) + " into rows of " +
            std::to_string(p.Q);
      return false;
    }
    p.pass = Pass::Inner;
  } else {
    p.Q = M;
  }
  int bits = 0;
  while ((int64_t(1) << bits) < p.Q)
    ++bits;
  // The larger radix first, as MonarchPlan; with a frequency cutoff the
  // larger one second, where the right products skip the zero spectrum.
  bool cutoff = s.cutoff > 0 && !twoPass;
  p.r0 = int64_t(1) << (cutoff ? bits / 2 : (bits + 1) / 2);
  p.r1 = p.Q / p.r0;
  p.center = cutoff;
  if (p.center && p.sharedBytes() > kMaxSharedBytes)
    p.center = false; // (M = 16384: the cutoff's zeros are skipped where they fall)
  // 32-bit unsigned offsets into the sequences and the workspace.
  if (s.rows * s.N >= (int64_t(1) << 32) || p.workspaceFloats() >= (int64_t(1) << 32)) {
    why = "the convolution needs a workspace of " + std::to_string(p.workspaceFloats() >> 28) +
          " GiB (or sequences of 2^32 elements and more); the kernels address at most 16 GiB: "
          "split the batch or the heads";
    return false;
  }
  if (p.Q > kMaxLength || p.sharedBytes() > kMaxSharedBytes ||
      (twoPass && p.outerPass().sharedBytes() > kMaxSharedBytes)) {
    why = "the FFT convolution kernels would need " + std::to_string(p.sharedBytes() / 1024) +
          " KiB of shared memory for N = " + std::to_string(s.N) + ", more than a CTA has";
    return false;
  }
  return true;
}

namespace {
using Regs8 = std::array<double, 8>; // an A fragment: four registers of two
using Regs4 = std::array<double, 4>; // a B fragment (2 registers) or C (4 values)

/// mma.sync m16n8k16 over the 32 lanes, laid out as the PTX ISA gives it;
/// products exact (16-bit inputs), each sum kept at `ar`'s precision.
void mma(const ModelArith &ar, const std::array<Regs8, 32> &a, const std::array<Regs4, 32> &b,
         std::array<Regs4, 32> &c) {
  double A[16][16], B[16][8], C[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int q = 0; q < 4; ++q) // a0,a1: (g, 2t); a2,a3: (g+8, 2t); a4..a7: columns + 8
      for (int h = 0; h < 2; ++h)
        A[g + 8 * (q % 2)][2 * t + 8 * (q / 2) + h] = a[lane][2 * q + h];
    for (int q = 0; q < 2; ++q) // b0,b1: rows 2t, 2t+1; b2,b3: rows 2t+8, 2t+9; column g
      for (int h = 0; h < 2; ++h)
        B[2 * t + 8 * q + h][g] = b[lane][2 * q + h];
    for (int e = 0; e < 4; ++e) // c0,c1: (g, 2t..); c2,c3: (g+8, 2t..)
      C[g + 8 * (e / 2)][2 * t + e % 2] = c[lane][e];
  }
  for (int r = 0; r < 16; ++r)
    for (int n = 0; n < 8; ++n) {
      double s = 0;
      for (int k = 0; k < 16; ++k)
        s = ar.store(s + A[r][k] * B[k][n]);
      C[r][n] = ar.store(C[r][n] + s);
    }
  for (int lane = 0; lane < 32; ++lane)
    for (int e = 0; e < 4; ++e)
      c[lane][e] = C[lane / 4 + 8 * (e / 2)][2 * (lane % 4) + e % 2];
}

using Dft = FFTConvKernelPlan::Dft;

struct Model {
  const FFTConvKernelPlan &p;
  ModelArith ar;
  std::vector<double> smem; // 16-bit elements, as values
  std::vector<Complex> tw;  // w_M^(k1 j2), [k1][j2], f32

  /// The products run in f16 whatever the sequences' 16-bit type (the
  /// scales keep them in range); F64 is exact throughout.
  Model(const FFTConvKernelPlan &p, Precision precision)
      : p(p), ar{precision == Precision::F64 ? Precision::F64 : Precision::F16},
        smem(static_cast<size_t>(p.sharedHalves())) {
    bool outer = p.pass == FFTConvKernelPlan::Pass::Outer; // F_P alone, no twiddle table
    for (Dft d : {Dft::Left, Dft::Right, Dft::RightInverse}) {
      if (outer && d != Dft::Left)
        continue;
      int64_t r = p.radix(d);
      std::vector<Complex> f = dftMatrix(r);
      for (int64_t a = 0; a < r; ++a)
        for (int64_t c = 0; c < r; ++c) {
          auto [row, col] = p.dftSource(d, a, c);
          smem[p.dftReal(d) + a * p.dftPitch(r) + c] = ar.operand(f[row * r + col].real());
          smem[p.dftImag(d) + a * p.dftPitch(r) + c] = ar.operand(f[row * r + col].imag());
        }
    }
    if (!outer) {
      tw.resize(static_cast<size_t>(p.Q));
      for (int64_t k1 = 0; k1 < p.r0; ++k1)
        for (int64_t j2 = 0; j2 < p.r1; ++j2)
          tw[k1 * p.r1 + j2] = ar.store(unitRoot(k1 * j2, p.Q));
    }
  }

  /// A fragment's registers (pairs of values) at the offsets `offset(q)`
  /// from `base`, times `sign`.
  template <class Regs, class Offset>
  Regs regs(int64_t base, double sign, Offset offset) {
    Regs r;
    for (size_t q = 0; q < r.size() / 2; ++q) {
      int64_t at = base + offset(int(q));
      r[2 * q] = sign * smem[at];
      r[2 * q + 1] = sign * smem[at + 1];
    }
    return r;
  }
  Regs8 aRegs(int64_t base, int lane, int64_t pitch, int64_t row0, int64_t col0, double sign = 1) {
    return regs<Regs8>(base, sign, [&](int q) {
      return aFragmentOffset<int64_t>(lane / 4, lane % 4, pitch, row0, col0, q);
    });
  }
  Regs4 bRegs(int64_t base, int lane, int64_t pitch, int64_t n0, int64_t k0, double sign = 1) {
    return regs<Regs4>(base, sign, [&](int q) {
      return bFragmentOffset<int64_t>(lane / 4, lane % 4, pitch, n0, k0, q);
    });
  }

  using Epilogue = std::function<void(int64_t i, int64_t j, int lane, const Regs4 &re,
                                      const Regs4 &im)>;

  /// A left product by F_r0 (conj F_r0 with `inverse`) of the B operand in
  /// buffer `src`, warp by warp as the kernel splits it.
  void left(int64_t src, bool inverse, const std::function<bool(int64_t)> &stepZero,
            const std::function<bool(int64_t)> &rowsNeeded, const Epilogue &epi) {
    int64_t pairs = p.r0 / 16, tiles = p.r1 / 8, wr = p.leftWarpRows(),
            wc = p.warps() / wr;
    for (int64_t w = 0; w < p.warps(); ++w)
      for (int64_t i = w % wr; i < pairs; i += wr) {
        if (!rowsNeeded(i))
          continue;
        for (int64_t j = w / wr; j < tiles; j += wc) {
          std::array<Regs4, 32> re{}, im{};
          for (int64_t s = 0; s < 2 * pairs; ++s) {
            if (stepZero(s))
              continue;
            bool imagK = s >= pairs;
            int64_t col0 = 16 * (s % pairs);
            // Re rows: [Fr, -Fi] (inverse [Fr, Fi]); Im rows: [Fi, Fr] ([-Fi, Fr]).
            std::array<Regs8, 32> aRe, aIm;
            std::array<Regs4, 32> b;
            for (int lane = 0; lane < 32; ++lane) {
              Regs8 fr = aRegs(p.dftReal(Dft::Left), lane, p.dftPitch(p.r0), 16 * i, col0);
              Regs8 fi = aRegs(p.dftImag(Dft::Left), lane, p.dftPitch(p.r0), 16 * i, col0,
                               inverse ? -1 : 1);
              aRe[lane] = imagK ? fi : fr;
              if (imagK)
                for (double &v : aRe[lane])
                  v = -v;
              aIm[lane] = imagK ? fr : fi;
              b[lane] = bRegs(src, lane, p.pitchLeft(), 8 * j, 16 * s);
            }
            mma(ar, aRe, b, re);
            mma(ar, aIm, b, im);
          }
          for (int lane = 0; lane < 32; ++lane)
            epi(i, j, lane, re[lane], im[lane]);
        }
      }
  }

  /// A right product by F_r1 (conj F_r1 with `inverse`) of the A operand in
  /// buffer `src`; column pairs `skip(j)` are known zero (their epilogue
  /// gets zeros).
  void right(int64_t src, bool inverse, const std::function<bool(int64_t)> &stepZero,
             const std::function<bool(int64_t)> &skip, const Epilogue &epi) {
    Dft matrix = inverse ? Dft::RightInverse : Dft::Right;
    int64_t rowTiles = p.r0 / 16, pairs = p.r1 / 8, half = p.r1 / 16, wc = p.rightWarpCols(),
            wr = p.warps() / wc;
    for (int64_t w = 0; w < p.warps(); ++w)
      for (int64_t j = w % wc; j < pairs; j += wc)
        for (int64_t i = w / wc; i < rowTiles; i += wr) {
          std::array<Regs4, 32> re{}, im{};
          for (int64_t s = 0; s < 2 * half && !skip(j); ++s) {
            if (stepZero(s))
              continue;
            bool imagK = s >= half;
            int64_t k0 = 16 * (s % half);
            // Re columns: [Fr; -Fi] (inverse [Fr; Fi]); Im columns: [Fi; Fr] ([-Fi; Fr]).
            std::array<Regs8, 32> a;
            std::array<Regs4, 32> bRe, bIm;
            for (int lane = 0; lane < 32; ++lane) {
              a[lane] = aRegs(src, lane, p.pitchRight(), 16 * i, 16 * s);
              Regs4 fr = bRegs(p.dftReal(matrix), lane, p.dftPitch(p.r1), 8 * j, k0);
              Regs4 fi = bRegs(p.dftImag(matrix), lane, p.dftPitch(p.r1), 8 * j, k0,
                               inverse ? -1 : 1);
              bRe[lane] = imagK ? fi : fr;
              if (imagK)
                for (double &v : bRe[lane])
                  v = -v;
              bIm[lane] = imagK ? fr : fi;
            }
            mma(ar, a, bRe, re);
            mma(ar, a, bIm, im);
          }
          for (int lane = 0; lane < 32; ++lane)
            epi(i, j, lane, re[lane], im[lane]);
        }
  }

  /// Left-product epilogue of the forward transform: times the twiddles,
  /// into buffer B as a right product's A operand.
  void twiddleIntoB(int64_t i, int64_t j, int lane, const Regs4 &re, const Regs4 &im) {
    for (int e = 0; e < 4; ++e) {
      int64_t k1 = 16 * i + cRow<int64_t>(lane / 4, e), j2 = 8 * j + cCol<int64_t>(lane % 4, e);
      Complex v = ar.mul({re[e], im[e]}, tw[k1 * p.r1 + j2]);
      int64_t at = p.bufferB() + k1 * p.pitchRight() + j2;
      smem[at] = ar.operand(v.real());
      smem[at + p.r1] = ar.operand(v.imag());
    }
  }

  /// Steps 1-3 for one sequence pair (or filter): x (re, im; nulls are
  /// zeros) of `len` values, times `scale`, into buffer A; the forward right product's
  /// elements go to `spectrum(k1, k2, value)`.
  void forward(const double *re, const double *im, int64_t len, bool filter, double scale,
               const std::function<void(int64_t, int64_t, Complex)> &spectrum) {
    for (int64_t n = 0; n < p.Q; ++n) {
      int64_t j1 = n / p.r1, j2 = n % p.r1, at = p.bufferA() + j2 * p.pitchLeft() + j1;
      smem[at] = n < len && re ? ar.operand(re[n] * scale) : 0.0;
      smem[at + p.r0] = n < len && im ? ar.operand(im[n] * scale) : 0.0;
    }
    left(p.bufferA(), false, [&](int64_t s) { return p.forwardStepZero(s, filter); },
         [](int64_t) { return true; },
         [&](int64_t i, int64_t j, int lane, const Regs4 &a, const Regs4 &b) {
           twiddleIntoB(i, j, lane, a, b);
         });
    right(p.bufferB(), false, [](int64_t) { return false; },
          [&](int64_t j) { return !filter && p.spectrumTileZero(j); },
          [&](int64_t i, int64_t j, int lane, const Regs4 &a, const Regs4 &b) {
            for (int e = 0; e < 4; ++e)
              spectrum(16 * i + cRow<int64_t>(lane / 4, e), 8 * j + cCol<int64_t>(lane % 4, e),
                       {a[e], b[e]});
          });
  }

  /// Steps 4-5 (buffer A holds the product with the spectrum): the inverse
  /// transform; output n (n = r1 j1 + j2, the rows needed) to `out(n, v)`.
  void inverse(const std::function<void(int64_t, Complex)> &out) {
    // 4. the inverse right product, times conj twiddles, into buffer B.
    right(p.bufferA(), true, [&](int64_t st) { return p.inverseStepZero(st); },
          [](int64_t) { return false; },
          [&](int64_t i, int64_t j, int lane, const Regs4 &a, const Regs4 &b) {
            for (int e = 0; e < 4; ++e) {
              int64_t k1 = 16 * i + cRow<int64_t>(lane / 4, e),
                      j2 = 8 * j + cCol<int64_t>(lane % 4, e);
              Complex v = ar.mul({a[e], b[e]}, std::conj(tw[k1 * p.r1 + j2]));
              int64_t at = p.bufferB() + j2 * p.pitchLeft() + k1;
              smem[at] = ar.operand(v.real());
              smem[at + p.r0] = ar.operand(v.imag());
            }
          });
    // 5. the inverse left product.
    left(p.bufferB(), true, [](int64_t) { return false; },
         [&](int64_t i) { return p.outputRowsNeeded(i); },
         [&](int64_t i, int64_t j, int lane, const Regs4 &a, const Regs4 &b) {
           for (int e = 0; e < 4; ++e) {
             int64_t j1 = 16 * i + cRow<int64_t>(lane / 4, e);
             if (p.outputRowNeeded(j1))
               out(p.r1 * j1 + 8 * j + cCol<int64_t>(lane % 4, e), {a[e], b[e]});
           }
         });
  }
};

/// The outer kernels' twiddle w_M^(k1 q), as the kernels form it.
struct OuterTwiddles {
  ModelArith ar;
  int64_t M, bits;
  std::vector<Complex> low, high;
  OuterTwiddles(ModelArith ar, int64_t M) : ar(ar), M(M), bits(outerTwiddleLowBits(M)) {
    for (int64_t e = 0; e < (int64_t(1) << bits); ++e)
      low.push_back(ar.store(unitRoot(e, M)));
    for (int64_t e = 0; e < (M >> bits); ++e)
      high.push_back(ar.store(unitRoot(e << bits, M)));
  }
  Complex operator()(int64_t k1, int64_t q) const {
    int64_t e = (k1 * q) & (M - 1);
    return ar.mul(low[e & ((int64_t(1) << bits) - 1)], high[e >> bits]);
  }
};

/// An outer kernel's CTA (a tile of kOuterTile columns from q0): `x(p, j)`
/// (already in f32) scaled by the power of two below its largest
/// magnitude into the buffer, the left product (conj F_P with `inverse`),
/// and each element (k1 or p, j) unscaled to `out`.
void outerTile(Model &m, bool inverse, bool filter, const std::function<Complex(int64_t, int64_t)> &x,
               const std::function<void(int64_t, int64_t, Complex)> &out) {
  const FFTConvKernelPlan &o = m.p;
  std::vector<Complex> v(static_cast<size_t>(o.r0 * o.r1));
  double largest = 0;
  for (int64_t p = 0; p < o.r0; ++p)
    for (int64_t j = 0; j < o.r1; ++j) {
      v[p * o.r1 + j] = x(p, j);
      largest = std::max({largest, std::abs(v[p * o.r1 + j].real()),
                          std::abs(v[p * o.r1 + j].imag())});
    }
  double scale = powerOfTwoScale(largest);
  for (int64_t p = 0; p < o.r0; ++p)
    for (int64_t j = 0; j < o.r1; ++j) {
      int64_t at = o.bufferA() + j * o.pitchLeft() + p;
      m.smem[at] = m.ar.operand(v[p * o.r1 + j].real() * scale);
      m.smem[at + o.r0] = m.ar.operand(v[p * o.r1 + j].imag() * scale);
    }
  m.left(o.bufferA(), inverse,
         [&](int64_t s) { return !inverse && o.forwardStepZero(s, filter); },
         [&](int64_t i) { return !inverse || o.outputRowsNeeded(i); },
         [&](int64_t i, int64_t j, int lane, const Regs4 &a, const Regs4 &b) {
           for (int e = 0; e < 4; ++e) {
             int64_t row = 16 * i + cRow<int64_t>(lane / 4, e);
             if (!inverse || o.outputRowNeeded(row))
               out(row, 8 * j + cCol<int64_t>(lane % 4, e), Complex(a[e], b[e]) / scale);
           }
         });
}
} // namespace

double einloom::codegen::powerOfTwoScale(double largest) {
  // (Zero, an f32 subnormal, infinity and NaN leave the data as it is.)
  if (!(largest >= std::ldexp(1.0, -126)) || !std::isfinite(largest))
    return 1.0;
  int e;
  std::frexp(largest, &e); // largest = f * 2^e, 0.5 <= f < 1
  return std::ldexp(1.0, -std::clamp(e, -100, 100));
}

void einloom::codegen::fftconvKernelModel(const FFTConvKernelPlan &p, const double *u,
                                          const double *k, const double *preGate,
                                          const double *postGate, double *y,
                                          Precision precision) {
  Model m(p, precision);
  const ModelArith &ar = m.ar;
  const ModelArith ioArith{precision};
  const FFTConvShape &s = p.shape;
  bool io16 = precision == Precision::F16 || precision == Precision::BF16;
  auto io = [&](double x) { return io16 ? ioArith.operand(x) : x; };
  // Two passes: the outer kernels' model and twiddles, and the rows
  // between the passes of one pair or filter (complex f32, [k1][q]).
  FFTConvKernelPlan o = p.outerPass();
  std::unique_ptr<Model> om = p.twoPass() ? std::make_unique<Model>(o, precision) : nullptr;
  std::unique_ptr<OuterTwiddles> otw =
      p.twoPass() ? std::make_unique<OuterTwiddles>(ar, p.M) : nullptr;
  std::vector<Complex> rows;
  // The outer forward transform of one pair or filter (x(n) below len,
  // zero past).
  auto outerForward = [&](bool filter, int64_t len,
                          const std::function<Complex(int64_t)> &x) {
    rows.resize(static_cast<size_t>(p.M));
    for (int64_t tile = 0; tile < p.outerTiles(); ++tile) {
      int64_t q0 = tile * o.r1;
      outerTile(*om, false, filter,
                [&](int64_t pp, int64_t j) {
                  int64_t n = p.Q * pp + q0 + j;
                  return n < len ? x(n) : Complex(0);
                },
                [&](int64_t k1, int64_t j, Complex v) {
                  rows[k1 * p.Q + q0 + j] = ar.mul(v, (*otw)(k1, q0 + j));
                });
    }
  };
  // The filters' spectra (rows h P + k1 of Q, f32, 1/M and the cutoff folded
  // in), each row's scaled by a power of two to a largest magnitude below 1;
  // the inverse of the scales (the input's and the spectrum's) beside it.
  std::vector<Complex> spectra(static_cast<size_t>(s.heads * p.M));
  std::vector<double> unscale(static_cast<size_t>(s.heads * p.P));
  std::vector<double> re, im;
  // Row `at` of the two-pass rows into re, im; its power-of-two scale.
  auto rowOf = [&](int64_t at) {
    re.resize(static_cast<size_t>(p.Q));
    im.resize(static_cast<size_t>(p.Q));
    double largest = 0;
    for (int64_t q = 0; q < p.Q; ++q) {
      re[q] = rows[at * p.Q + q].real();
      im[q] = rows[at * p.Q + q].imag();
      largest = std::max({largest, std::abs(re[q]), std::abs(im[q])});
    }
    return powerOfTwoScale(largest);
  };
  for (int64_t h = 0; h < s.heads; ++h) {
    // The taps scaled into f16's range too (two passes: each row).
    double tapsLargest = 0;
    for (int64_t n = 0; n < s.L; ++n)
      tapsLargest = std::max(tapsLargest, std::abs(ar.store(k[h * s.L + n])));
    if (p.twoPass())
      outerForward(true, s.L, [&](int64_t n) { return Complex(ar.store(k[h * s.L + n])); });
    for (int64_t k1o = 0; k1o < p.P; ++k1o) {
      int64_t R = h * p.P + k1o;
      Complex *spec = spectra.data() + R * p.Q;
      double taps = p.twoPass() ? rowOf(k1o) : powerOfTwoScale(tapsLargest);
      auto row = [&](int64_t k1, int64_t k2, Complex v) {
        int64_t f = k1o + p.P * (k1 + p.r0 * p.k2At(k2));
        bool kept = s.cutoff <= 0 || std::min(f, p.M - f) < s.cutoff;
        spec[k1 * p.r1 + k2] = kept ? ar.store(v / double(p.M)) : Complex(0);
      };
      if (p.twoPass())
        m.forward(re.data(), im.data(), p.Q, true, taps, row);
      else
        m.forward(k + h * s.L, nullptr, s.L, true, taps, row);
      double largest = 0;
      for (int64_t i = 0; i < p.Q; ++i)
        largest = std::max({largest, std::abs(spec[i].real()), std::abs(spec[i].imag())});
      double scale = powerOfTwoScale(largest);
      for (int64_t i = 0; i < p.Q; ++i)
        spec[i] *= scale; // exact
      unscale[R] = 1.0 / (scale * taps);
    }
  }
  // The product with spectrum row R (buffer A holds the forward transform).
  auto times = [&](int64_t R) {
    const Complex *spec = spectra.data() + R * p.Q;
    return [&m, &ar, &p, spec](int64_t k1, int64_t k2, Complex v) {
      Complex prod = ar.mul(v, spec[k1 * p.r1 + k2]);
      int64_t at = p.bufferA() + k1 * p.pitchRight() + k2;
      m.smem[at] = ar.operand(prod.real());
      m.smem[at + p.r1] = ar.operand(prod.imag());
    };
  };
  std::vector<double> in[2], staged[2];
  for (int64_t pair = 0; pair < p.pairs(); ++pair) {
    int64_t h = p.pairHead(pair);
    double largest = 0;
    for (int part = 0; part < 2; ++part) { // the gated inputs, in f32
      int64_t r = p.pairRow(pair, part);
      in[part].assign(static_cast<size_t>(s.N), 0.0);
      staged[part].assign(static_cast<size_t>(s.N), 0.0);
      if (r < s.rows)
        for (int64_t n = 0; n < s.N; ++n) {
          in[part][n] =
              ar.store(io(u[r * s.N + n]) * (preGate ? io(preGate[r * s.N + n]) : 1.0));
          largest = std::max(largest, std::abs(in[part][n]));
        }
    }
    if (!p.twoPass()) {
      // The pair's inputs scaled by a power of two below 1 (exact), so that
      // no product overflows f16; the output scaled back.
      double scale = powerOfTwoScale(largest);
      m.forward(in[0].data(), in[1].data(), s.N, false, scale, times(h));
      m.inverse([&](int64_t n, Complex v) {
        if (n < s.N) {
          staged[0][n] = v.real();
          staged[1][n] = v.imag();
        }
      });
      double back = unscale[h] / scale; // a power of two: exact
      for (int64_t n = 0; n < s.N; ++n)
        for (int part = 0; part < 2; ++part)
          staged[part][n] = ar.store(staged[part][n] * back);
    } else {
      // Outer forward, each row through the inner kernel (in place), outer
      // inverse.
      outerForward(false, s.N, [&](int64_t n) { return Complex(in[0][n], in[1][n]); });
      for (int64_t k1 = 0; k1 < p.P; ++k1) {
        double scale = rowOf(k1);
        int64_t R = h * p.P + k1;
        m.forward(re.data(), im.data(), p.Q, false, scale, times(R));
        double back = unscale[R] / scale;
        m.inverse([&](int64_t q, Complex v) { rows[k1 * p.Q + q] = ar.store(v * back); });
      }
      for (int64_t tile = 0; tile < p.outerTiles(); ++tile) {
        int64_t q0 = tile * o.r1;
        outerTile(*om, true, false,
                  [&](int64_t k1, int64_t j) {
                    return ar.mul(rows[k1 * p.Q + q0 + j], std::conj((*otw)(k1, q0 + j)));
                  },
                  [&](int64_t pp, int64_t j, Complex v) {
                    int64_t n = p.Q * pp + q0 + j;
                    staged[0][n] = ar.store(v.real());
                    staged[1][n] = ar.store(v.imag());
                  });
      }
    }
    for (int part = 0; part < 2; ++part) {
      int64_t r = p.pairRow(pair, part);
      if (r < s.rows)
        for (int64_t n = 0; n < s.N; ++n)
          y[r * s.N + n] =
              io(ar.store(staged[part][n] * (postGate ? io(postGate[r * s.N + n]) : 1.0)));
    }
  }
}
