//===- FFTConvKernel.h - the fused FFT convolution kernel's plan -*- C++ -*-===//
//
// `loom.fftconv` on tensor cores, for sequences whose whole transform fits
// one CTA's shared memory: an order-2 Monarch FFT (Monarch.h) of the padded
// length M = r0 * r1 (2N causal, N circular), every DFT a real mma.sync
// m16n8k16 product in f16 with f32 accumulation (bf16 sequences too: each
// pair of sequences and each filter spectrum is scaled by a power of two
// that keeps every f16 operand in range, undone exactly at the output, so
// the products keep f16's 11 significant bits; see powerOfTwoScale).
//
// Two real sequences of the same head (batches b and b + 1) travel as one
// complex one, z = u_b + i u_{b+1}: the filter is real, so the convolution
// of z is conv(u_b) + i conv(u_{b+1}), and no real-input folding pass is
// needed (FFTCONV.md's "pack two real sequences into one complex one").
//
// A complex matrix product is one real product of twice the size, the
// real and imaginary parts stacked:
//   left  (a DFT down the columns):  [Br; Bi] = [[Fr, -Fi], [Fi, Fr]] [Xr; Xi]
//   right (a DFT along the rows):    [Dr, Di] = [Cr, Ci] [[Fr, Fi], [-Fi, Fr]]
// (the inverse conjugates F: the signs of Fi flip). F is symmetric, so one
// row-major copy of Fr and of Fi in shared memory serves as the A fragments
// of a left product and as the (K-contiguous) B fragments of a right one.
//
// One pair of sequences, in the kernel's order (x[n], n = r1 * j1 + j2):
//   1. load: u (times the pre-gate) into buffer A as the B operand of a
//      left product, row j2 = [Re x[., j2] | Im x[., j2]] (K contiguous);
//   2. left product by F_r0, times the twiddles w_M^(k1 j2), into buffer B
//      as the A operand of a right product, row k1 = [Re | Im];
//   3. right product by F_r1: row k1, column k2 holds frequency k1 + r0 k2;
//      times the filter's spectrum (same order, 1/M folded in), into
//      buffer A, again as a right product's A operand;
//   4. right product by conj F_r1, times conj twiddles, into buffer B as a
//      left product's B operand;
//   5. left product by conj F_r0: row j1 (re) and r0 + j1 (im), column j2
//      hold y_b and y_{b+1} at n = r1 j1 + j2, staged in f32 in buffer A;
//   6. store, times the post-gate, in 16-byte vectors.
// The filter's spectrum is steps 1-3 of the same code on one filter row
// (imaginary part zero), once per head, by a kernel of its own.
//
// What is known to be zero is skipped: causal padding (the K steps of step
// 2 over j1 >= r0 / 2, the output rows of step 5 past N), the imaginary
// half of a filter, and a frequency cutoff's zero spectrum (the column
// tiles of step 3 and the K steps of step 4).
//
// The index maps below are templates over the index type, so that the
// kernel generator (over MLIR values) and the host model (over integers,
// lib/Codegen/FFTConvModel.cpp, tested in test/unit/FFTConvKernelTest.cpp)
// share one definition.
//
// This header has no MLIR dependency.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_CODEGEN_FFTCONVKERNEL_H
#define EINLOOM_CODEGEN_FFTCONVKERNEL_H

#include "einloom/Codegen/Monarch.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace einloom::codegen {

/// What one `loom.fftconv` computes, as the kernel sees it.
struct FFTConvShape {
  int64_t rows = 0;  ///< sequences: the product of u's leading dimensions
  int64_t heads = 1; ///< filter rows; row r takes filter r % heads
  int64_t N = 0;     ///< sequence length
  int64_t L = 0;     ///< filter taps (at most N)
  bool causal = true;
  int64_t cutoff = 0; ///< keep frequencies f with min(f, M - f) < cutoff; 0: all
  bool preGate = false, postGate = false;
  /// A dynamic leading (batch) dimension: its extent in `rows` (the size
  /// the kernel is compiled for); the kernel takes the real one at launch.
  /// 0: static shapes.
  int64_t dynamicLead = 0;
};

struct FFTConvKernelPlan {
  /// Which kernel the plan describes. A padded length up to kMaxLength is
  /// one fused kernel (Fused). A longer one, M = P * Q, runs in passes
  /// around the same steps on rows of Q (the four-step FFT): an outer
  /// kernel (Outer: r0 = P, r1 = kOuterTile columns of the P x Q matrix a
  /// CTA) transforms down the columns, n = Q p + q, and twiddles by
  /// w_M^(k1 q); the inner kernel (Inner: Q = r0 * r1) transforms each row
  /// k1, multiplies by the spectrum at the frequencies k1 + P k2, and
  /// transforms back; the outer inverse (conj twiddles, conj F_P) gives the
  /// outputs. Between them the rows are complex f32 in the workspace.
  enum class Pass { Fused, Inner, Outer };
  Pass pass = Pass::Fused;
  int64_t P = 1; ///< the outer radix (1: fused)
  int64_t Q = 0; ///< the inner length, M / P
  bool twoPass() const { return P > 1; }
  /// The outer kernels' view of a two-pass plan.
  static constexpr int64_t kOuterTile = 64;
  static constexpr int64_t kMaxOuter = 128;
  FFTConvKernelPlan outerPass() const {
    FFTConvKernelPlan o = *this;
    o.pass = Pass::Outer;
    o.r0 = P;
    o.r1 = kOuterTile;
    o.center = false;
    return o;
  }
  int64_t outerTiles() const { return Q / kOuterTile; }

  /// Warps a CTA: 4, or 8 from Q = 8192 on (one CTA an SM, whose shared
  /// memory the transform fills); the outer kernels 4.
  int64_t warps() const { return pass != Pass::Outer && Q >= 8192 ? 8 : 4; }
  int64_t threads() const { return 32 * warps(); }
  /// Halves of padding per shared-memory row (16 bytes): fragment loads of
  /// the 32 lanes fall in 32 different banks.
  static constexpr int64_t kPad = 8;
  /// The largest padded length one CTA transforms (order 2, 128 x 128).
  static constexpr int64_t kMaxLength = 16384;
  /// Dynamic shared memory a CTA may have (sm_80 and sm_90: 227 KiB).
  static constexpr int64_t kMaxSharedBytes = 227 * 1024;

  FFTConvShape shape;
  /// The padded length M (2N causal, N circular) and the radices of the
  /// in-CTA transform: M = r0 * r1 fused, Q = r0 * r1 for the inner pass.
  int64_t M = 0, r0 = 0, r1 = 0;
  /// With a cutoff, the right products' columns in the centered order
  /// (where the third matrix copy fits shared memory).
  bool center = false;

  /// The workspace: the spectra, heads x P rows of Q complex f32 (row
  /// h P + k1 in the inner order [a][c], frequency k1 + P (a + r0 c)), then
  /// each row's unscale (f32; see powerOfTwoScale); with two passes, then
  /// the rows between the passes: max(pairs, heads) x P x Q complex f32.
  int64_t dataOffset() const { return shape.heads * (2 * M + P); }
  int64_t workspaceFloats() const {
    return dataOffset() + (twoPass() ? std::max(pairs(), shape.heads) * 2 * M : 0);
  }

  /// The plan for `s`, or false with `why` (a sentence a user can act on).
  /// `inner`: the inner length of a two-pass plan (0: the planner's, the
  /// longest that fits; tests ask for short ones).
  static bool build(const FFTConvShape &s, FFTConvKernelPlan &p, std::string &why,
                    int64_t inner = 0);
  /// The longest padded length of the two-pass kernels.
  static constexpr int64_t kMaxTwoPass = kMaxLength * kMaxOuter;

  // --- pairs of sequences ---------------------------------------------
  int64_t batches() const { return shape.rows / shape.heads; }
  int64_t pairsPerHead() const { return (batches() + 1) / 2; }
  int64_t pairs() const { return pairsPerHead() * shape.heads; }
  /// Pair p's head, and the rows of its real and imaginary parts (the
  /// second is `rows` when the batch count is odd and p is the last).
  int64_t pairHead(int64_t p) const { return p / pairsPerHead(); }
  int64_t pairRow(int64_t p, int64_t part) const {
    int64_t b = 2 * (p % pairsPerHead()) + part;
    return b < batches() ? b * shape.heads + pairHead(p) : shape.rows;
  }

  // --- shared memory, in 16-bit elements --------------------------------
  /// Buffer A and B rows: a left product's B operand has r1 rows (j2) of
  /// 2 r0 (K: Re j1 then Im j1); a right product's A operand has r0 rows
  /// (k1) of 2 r1 (K: Re then Im).
  int64_t pitchLeft() const { return 2 * r0 + kPad; }
  int64_t pitchRight() const { return 2 * r1 + kPad; }
  int64_t dftPitch(int64_t r) const { return r + kPad; }
  /// Each buffer: either operand layout, or (buffer A) the f32 staging of
  /// the pair's two output rows; a multiple of 8 halves.
  int64_t bufferHalves() const {
    // (The two-pass kernels store from the accumulators: no staging.)
    int64_t h = pass == Pass::Outer ? r1 * pitchLeft()
                : pass == Pass::Inner
                    ? std::max(r1 * pitchLeft(), r0 * pitchRight())
                    : std::max({r1 * pitchLeft(), r0 * pitchRight(), 4 * shape.N});
    return (h + 7) / 8 * 8;
  }
  int64_t bufferA() const { return 0; }
  int64_t bufferB() const { return bufferHalves(); }
  /// The DFT matrices in shared memory: Fr then Fi of each, row-major,
  /// pitched. The left products' F_r0; the right products' F_r1 (with a
  /// frequency cutoff, its rows in the centered order, `k2At`, so that the
  /// kept frequencies gather in the first column tiles), and the inverse's
  /// (the same, or with a cutoff the transpose: K in the centered order).
  enum class Dft { Left, Right, RightInverse };
  int64_t radix(Dft d) const { return d == Dft::Left ? r0 : r1; }
  /// Column q of the right products' output holds k2 = k2At(q): q itself,
  /// or with a cutoff 0, r1 - 1, 1, r1 - 2, ... (each frequency next to its
  /// mirror).
  bool centered() const { return center; }
  int64_t k2At(int64_t q) const {
    return !centered() ? q : q % 2 == 0 ? q / 2 : r1 - 1 - q / 2;
  }
  /// The element of F_r stored at [a][b] of matrix d (row, column of F).
  std::pair<int64_t, int64_t> dftSource(Dft d, int64_t a, int64_t b) const {
    if (d == Dft::Right)
      return {k2At(a), b};
    if (d == Dft::RightInverse)
      return {a, k2At(b)};
    return {a, b};
  }
  /// Which copy holds d: 0 (F_r0), 1 (F_r1, or its centered rows) or 2
  /// (the centered transpose); copies that would be equal are shared.
  int64_t dftCopy(Dft d) const {
    if (d == Dft::Left)
      return 0;
    if (d == Dft::Right)
      return r1 == r0 && !centered() ? 0 : 1;
    return centered() ? 2 : dftCopy(Dft::Right);
  }
  int64_t dftReal(Dft d) const {
    int64_t at = 2 * bufferHalves(), copy = dftCopy(d);
    if (copy >= 1)
      at += 2 * r0 * dftPitch(r0);
    if (copy >= 2)
      at += 2 * r1 * dftPitch(r1);
    return at;
  }
  int64_t dftImag(Dft d) const { return dftReal(d) + radix(d) * dftPitch(radix(d)); }
  /// The end of the matrices.
  int64_t dftEnd() const {
    if (pass == Pass::Outer) // F_P alone
      return dftImag(Dft::Left) + r0 * dftPitch(r0);
    Dft last = centered() ? Dft::RightInverse : Dft::Right;
    return std::max(dftImag(Dft::Left) + r0 * dftPitch(r0),
                    dftImag(last) + r1 * dftPitch(r1));
  }
  /// f32 slots for a block-wide maximum (one a warp).
  int64_t reductionSlots() const { return dftEnd(); }
  int64_t sharedHalves() const { return reductionSlots() + 2 * warps(); }
  int64_t sharedBytes() const { return 2 * sharedHalves(); }

  // --- what is known to be zero -----------------------------------------
  /// The left product's K step s (stacked rows 16s .. 16s + 15 of x: Re j1
  /// below r0, Im above) reads only zeros: causal padding (j1 >= N / r1),
  /// or the imaginary half of a filter (`filter`, whose taps end at L).
  /// (The inner kernel's rows are whole spectra: nothing is zero. The
  /// outer kernel's row p holds n = Q p + q.)
  bool forwardStepZero(int64_t s, bool filter) const {
    if (pass == Pass::Inner)
      return false;
    int64_t first = 16 * s;
    bool imag = first >= r0;
    if (imag && filter)
      return true;
    int64_t j1 = first % r0;
    int64_t len = filter ? shape.L : shape.N; // nonzero n < len
    return j1 * rowStride() >= len;
  }
  /// The distance in the sequence between rows j1 of the left products.
  int64_t rowStride() const { return pass == Pass::Outer ? Q : r1; }
  /// The spectrum is zero at every k1 of the columns q in [8j, 8j + 8)
  /// (frequencies k1 + r0 k2At(q)) under the cutoff.
  bool spectrumTileZero(int64_t j) const {
    if (shape.cutoff <= 0 || pass != Pass::Fused) // (two passes: zeros multiplied)
      return false;
    for (int64_t q = 8 * j; q < 8 * j + 8; ++q) {
      int64_t lo = r0 * k2At(q), hi = lo + r0 - 1; // the column's frequencies
      if (lo < shape.cutoff || hi > M - shape.cutoff)
        return false;
    }
    return true;
  }
  /// The inverse's right product K step s (stacked columns 16s .. 16s + 15
  /// of the product: Re q below r1, Im above) is all zero.
  bool inverseStepZero(int64_t s) const {
    int64_t q = (16 * s) % r1;
    return spectrumTileZero(q / 8) && spectrumTileZero(q / 8 + 1);
  }
  /// The inverse's left product row pair i (rows j1 in [16i, 16i + 16))
  /// holds outputs (n = r1 j1 + j2 < N).
  bool outputRowsNeeded(int64_t i) const {
    return pass == Pass::Inner || 16 * i * rowStride() < shape.N;
  }
  /// Row j1 (or outer row p) holds outputs.
  bool outputRowNeeded(int64_t j1) const {
    return pass == Pass::Inner || j1 * rowStride() < shape.N;
  }

  /// mma.sync instructions one pair of sequences (filter: one filter row's
  /// spectrum) costs, the known zeros skipped: what the kernel issues.
  int64_t mmaCount(bool filter) const {
    int64_t n = leftMma(false, filter) + rightMma(false, filter);
    return filter ? n : n + rightMma(true, filter) + leftMma(true, filter);
  }
  /// One left product's (an outer kernel's whole CTA) and one right
  /// product's mma.sync.
  int64_t leftMma(bool inverse, bool filter) const {
    int64_t n = 0, lp = r0 / 16;
    for (int64_t i = 0; i < lp; ++i) {
      if (inverse && !outputRowsNeeded(i))
        continue;
      for (int64_t s = 0; s < 2 * lp; ++s)
        n += (inverse || !forwardStepZero(s, filter)) ? 2 * (r1 / 8) : 0;
    }
    return n;
  }
  int64_t rightMma(bool inverse, bool filter) const {
    int64_t n = 0, rp = r1 / 8, half = r1 / 16;
    for (int64_t j = 0; j < rp; ++j) {
      if (!inverse && !filter && spectrumTileZero(j))
        continue;
      for (int64_t s = 0; s < 2 * half; ++s)
        n += (!inverse || !inverseStepZero(s)) ? 2 * (r0 / 16) : 0;
    }
    return n;
  }

  // --- warps --------------------------------------------------------------
  /// Left products: row pairs (Re tile i, Im tile i + r0/16) over a warp
  /// grid of rows x cols; warp w takes pairs i = w % rows (mod rows) and
  /// column tiles j = w / rows (mod cols).
  int64_t leftWarpRows() const { return std::min<int64_t>(warps(), r0 / 16); }
  /// Right products: column tile pairs (Re j, Im j + r1/8); warp w takes
  /// pairs j = w % cols (mod cols) and row tiles i = w / cols (mod rows).
  int64_t rightWarpCols() const { return std::min<int64_t>(warps(), r1 / 8); }
};

// --- fragment maps of mma.sync m16n8k16 (16-bit operands) -------------------
// Lane = 4 g + t. A (16 x 16, row-major): register q holds the pair at row
// g + 8 (q % 2), columns 2t + 8 (q / 2) and one more. B (16 x 8, K
// contiguous): register q holds rows (K) 2t + 8q and one more of column g.
// C (f32): element e at row g + 8 (e / 2), column 2t + e % 2.

/// The offset of A register q's first element, for a tile at (row0, col0)
/// of a row-major matrix with `pitch`.
template <class I>
I aFragmentOffset(I g, I t, int64_t pitch, int64_t row0, int64_t col0, int q) {
  return g * pitch + t * 2 + (row0 + 8 * (q % 2)) * pitch + col0 + 8 * (q / 2);
}
/// The offset of B register q's first element, for the tile of columns
/// n0 .. n0 + 7 and K k0 .. k0 + 15 stored K-contiguous ([n][k], `pitch`).
template <class I>
I bFragmentOffset(I g, I t, int64_t pitch, int64_t n0, int64_t k0, int q) {
  return g * pitch + t * 2 + n0 * pitch + k0 + 8 * q;
}
/// Accumulator element e's row and column within its 16 x 8 tile.
template <class I> I cRow(I g, int e) { return g + 8 * (e / 2); }
template <class I> I cCol(I t, int e) { return t * 2 + e % 2; }

/// w_M^e for the outer kernels' twiddles, e = k1 q mod M: the product of
/// two table entries, low[e mod 2^a] and high[e >> a] (= w_M^((e >> a) 2^a)),
/// a = log2(M) / 2: two tables of about sqrt(M) entries, not one of M.
inline int64_t outerTwiddleLowBits(int64_t M) {
  int64_t bits = 0;
  while ((int64_t(1) << bits) < M)
    ++bits;
  return bits / 2;
}

/// The power of two that brings `largest` (a magnitude) below 1 and to at
/// least 1/2 (1 for zero, infinities and NaN; exponents clamped to +-100):
/// the kernels scale each pair of sequences and each filter spectrum by it
/// so that no f16 operand overflows, and undo it, exactly, at the output.
double powerOfTwoScale(double largest);

/// The fused kernel run on the host, lane by lane and fragment by fragment
/// with the index maps above (the data through the two buffers' layouts,
/// each mma.sync assembled from its 32 lanes' registers): y (rows x N)
/// from u (rows x N), k (heads x L) and the gates (rows x N, or null). In
/// `precision` (Monarch.h: F64 checks the maps exactly; F16 and BF16 round
/// as the kernel does, for the error it should reach).
void fftconvKernelModel(const FFTConvKernelPlan &p, const double *u, const double *k,
                        const double *preGate, const double *postGate, double *y,
                        Precision precision);

} // namespace einloom::codegen

#endif
