//===- Kernels.h - reference semantics of the loom ops ----------*- C++ -*-===//
//
// Simple and obviously right: every sum is formed in f64 and rounded once to
// the result type. docs/dialect.md states the semantics these implement.
// Errors (data a layout cannot hold, say) come back as a message in `err`
// with an empty result; nothing here aborts.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_REFERENCE_KERNELS_H
#define EINLOOM_REFERENCE_KERNELS_H

#include "einloom/Reference/Tensor.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace einloom::ref {

struct EinsumOptions {
  /// Round f32 operands to tf32 (10 mantissa bits) before multiplying.
  bool tf32 = false;
  /// Integer accumulation wraps at this many bits (32 for i32 accumulators);
  /// 0 means no wrap (float accumulators).
  unsigned intAccBits = 0;
  /// Sum the products' magnitudes, |a * b * ...|, without any wrap: the
  /// scale of the terms whose sum the result is (see Compare.h).
  bool magnitude = false;
};

/// `inputs[i]` has subscripts `subscripts[i]`; the result has `output`.
/// Subscripts are letters; a label repeated in one operand is its diagonal.
bool einsum(const std::vector<const Tensor *> &inputs,
            const std::vector<std::string> &subscripts,
            const std::string &output, DType resultType,
            const EinsumOptions &options, Tensor &result, std::string &err);

/// One element of an einsum's result: the output labels take the values in
/// `index` (in output order), the summed labels are summed in f64. The
/// oracle for sampled checks of large GPU results.
double einsumAt(const std::vector<const Tensor *> &inputs,
                const std::vector<std::string> &subscripts,
                const std::string &output, const std::vector<int64_t> &index,
                const EinsumOptions &options);

/// A fused epilogue on an einsum's result x (unrounded, in f64):
/// act(alpha * x + bias) + beta * residual, then one rounding. `bias` and
/// `residual` cover the result's trailing dimensions: element i of the
/// result reads element i mod numel of each.
struct Epilogue {
  enum class Act { None, Relu, Gelu, Silu };
  double alpha = 1, beta = 1;
  Act act = Act::None;
  const Tensor *bias = nullptr, *residual = nullptr;
  /// Scales of the sum (loom.einsum's row_scale and col_scale): element i
  /// (row-major) is scaled by rowScale[i / cols] and colScale[i % cols],
  /// `cols` the result's last dimension.
  const Tensor *rowScale = nullptr, *colScale = nullptr;
  /// The rank-1 term subtracted from the sum first (loom.einsum's row_zero
  /// and col_sum): rowZero[i / cols] * colSum[i % cols].
  const Tensor *rowZero = nullptr, *colSum = nullptr;
  int64_t cols = 1;
  /// The epilogue at the result's flat index `i`.
  double apply(double x, int64_t i) const;
};
/// relu, gelu (the tanh form) or silu of x, in f64.
double activate(Epilogue::Act act, double x);

enum class QuantKind { Signed, Unsigned, Bipolar, E4M3, E5M2 };
enum class Granularity { PerTensor, PerChannel, PerGroup, PerBlock };

struct QuantParams {
  unsigned bits = 8;
  QuantKind kind = QuantKind::Signed;
  bool zeroPoint = false;
  Granularity granularity = Granularity::PerTensor;
  int64_t axis = 0;
  int64_t groupSize = 0;
  int64_t minCode() const;
  int64_t maxCode() const;
};

bool quantize(const Tensor &x, const Tensor &scale, const Tensor *zeroPoint,
              const QuantParams &q, DType resultType, Tensor &result,
              std::string &err);
bool dequantize(const Tensor &codes, const Tensor &scale,
                const Tensor *zeroPoint, const QuantParams &q,
                DType resultType, Tensor &result, std::string &err);
/// FP8 codes (`codeType` F8E4M3FN or F8E5M2) with one f32 scale per group
/// of `group` along the last dimension (loom.dynamic_quantize with kind =
/// e4m3 / e5m2, granularity = group): s = fl32(max |x| / fp8max) over the
/// group (448 or 57344; NaNs ignored), q = the fp8 nearest fl32(x / s),
/// saturating (a NaN quotient, as from s = 0, gives 0). scales has x's
/// shape with its last dimension ceil(K / group).
bool dynamicQuantizeGroups(const Tensor &x, DType codeType, int64_t group, Tensor &codes,
                           Tensor &scales, std::string &err);
/// loom.dynamic_quantize: for each index c along `axis`, s[c] =
/// fl32(max |x| / qmax) over the rest of `x` (NaNs ignored; qmax =
/// 2^(bits-1) - 1), then codes clamp(roundeven(fl32(x / s[c])), -qmax - 1,
/// qmax), a NaN quotient giving 0; codes i8, scales f32.
bool dynamicQuantize(const Tensor &x, int bits, int64_t axis, Tensor &codes, Tensor &scales,
                     std::string &err);

/// A dot product of `k` fp8 products a[i] * b[i] as Hopper's fp8 wgmma is
/// reported to accumulate it (a model, for the FP8 kernels' promotion;
/// DeepSeek-V3 measured about 14 bits kept): each group of 32 products
/// along K (one wgmma k step) is summed exactly, then added into an
/// accumulator that keeps `accBits` significant bits (the sum truncated
/// toward zero). With `promoteEvery` (a multiple of 32) > 0, every that
/// many K elements the accumulator is added into an f32 sum (rounded to
/// f32) and cleared, as DeepGEMM's kernels do every 128; 0 never promotes
/// (the accumulator's value, rounded to f32, is the result).
double fp8TensorCoreDot(const double *a, const double *b, int64_t k, int accBits,
                        int64_t promoteEvery);

/// Block scales (loom.einsum's scale_block = [bk, bn]) folded into the
/// operands of a product of two matrices: `sa` and `sb` are `a` and `b`
/// (subscripts `subA`, `subB`; result `out`, its rows from `a` and columns
/// from `b`) as f64 tensors with each element multiplied by its scale,
/// rowScale[row][k / bk] or colScale[col / bn][k / bk]. Summing their
/// products in f64 then gives the block-scaled sum, up to f64 rounding.
/// False, with `err`, for a spec or a scale shape that does not fit.
bool applyBlockScales(const Tensor &a, const Tensor &b, const std::string &subA,
                      const std::string &subB, const std::string &out, const Tensor &rowScale,
                      const Tensor &colScale, int64_t bk, int64_t bn, Tensor &sa, Tensor &sb,
                      std::string &err);

/// A block mask (loom.einsum's block_mask, mask_block = [bm, bn]) on a
/// result `out` of shape [batch..., M, N]: every element of a block whose
/// mask byte is 0 becomes `fill`, rounded to the result's type. `mask` is
/// [batch..., ceil(M / bm), ceil(N / bn)] or its last two dimensions (one
/// mask for every batch). False, with `err`, for a mask that does not fit.
bool applyBlockMask(Tensor &out, const Tensor &mask, int64_t bm, int64_t bn, double fill,
                    std::string &err);

enum class PackFormat { Fragment, TiledCsl, TwoFour, BitPlanes, BlockCsr, AFragment, Bitmap };

/// The code widths the a_fragment layout packs and the mixed-input
/// kernels dequantize in registers: 2, 3, 4 or 8 bits.
inline bool isAFragmentWidth(int64_t bits) { return (bits >= 2 && bits <= 4) || bits == 8; }

struct PackParams {
  PackFormat format = PackFormat::Fragment;
  int64_t bits = 0;
  int64_t tileRows = 0, tileCols = 0;
  QuantKind kind = QuantKind::Signed;
};

bool pack(const Tensor &dense, const PackParams &p, std::vector<Tensor> &out,
          std::string &err);
/// The a_fragment packing straight from bytes: N x K codes, row-major, one
/// per byte (two's complement when `isSigned`), into N·K·bits/32 words.
/// False with `err` on a bad shape or width, or a code out of range.
bool packAFragmentWords(const uint8_t *codes, int64_t N, int64_t K, unsigned bits,
                        bool isSigned, uint32_t *words, std::string &err);
/// Tiled-CSL (docs/dialect.md): the slot of element (r, c) of a tile with
/// `tileCols` columns in the tile's shared-memory image, and back.
int64_t tiledCslSlot(int64_t r, int64_t c, int64_t tileCols);
void tiledCslElement(int64_t slot, int64_t tileCols, int64_t &r, int64_t &c);
/// The Tiled-CSL packing straight from bits: a rows x cols matrix of 16-bit
/// values (f16 or bf16 bit patterns, row-major; both zeros are left out)
/// into `offsets` (tiles + 1) and `words`.
bool packTiledCslWords(const uint16_t *values, int64_t rows, int64_t cols, int64_t tileRows,
                       int64_t tileCols, std::vector<int32_t> &offsets,
                       std::vector<uint32_t> &words, std::string &err);
/// Checks Tiled-CSL data for a rows x cols matrix: the offset count,
/// offsets monotone, multiples of 4 and within the words, at most one
/// tile's elements (rounded up to 4) per tile, every position inside its
/// tile and the matrix. False with `err` naming the first fault.
bool validateTiledCsl(const int32_t *offsets, int64_t numOffsets, const uint32_t *words,
                      int64_t numWords, int64_t rows, int64_t cols, int64_t tileRows,
                      int64_t tileCols, std::string &err);
/// 2:4 (docs/dialect.md's two_four) straight from bits: a rows x cols
/// matrix of 16-bit values (f16 or bf16 bit patterns, row-major, cols a
/// multiple of 16) into rows x cols/2 `packed` values and rows x cols/16
/// `meta` words. With `prune`, each group of 4 first keeps its 2 largest
/// magnitudes (ties: the first); without, a group of more than 2 non-zeros
/// is an error.
bool packTwoFourBits(const uint16_t *values, int64_t rows, int64_t cols, bool prune,
                     uint16_t *packed, uint16_t *meta, std::string &err);
/// Bitmap (docs/dialect.md): tile t's 8 x 8 block b has a 64-bit mask in
/// words 2(t·B + b) and 2(t·B + b) + 1 of `masks` (B = tileRows·tileCols/64
/// blocks a tile, row-major); bit q of word h marks element
/// (8⌊b/(C/8)⌋ + 4h + ⌊q/8⌋, 8(b mod C/8) + q mod 8) of the tile. The
/// non-zero values follow in that order, tile t's from `offsets[t]`, each
/// tile's padded with zeros to a multiple of 8 (16 bytes). Both zeros are
/// left out.
bool packBitmap(const uint16_t *values, int64_t rows, int64_t cols, int64_t tileRows,
                int64_t tileCols, std::vector<int32_t> &offsets, std::vector<uint32_t> &masks,
                std::vector<uint16_t> &packedValues, std::string &err);
/// Checks bitmap data for a rows x cols matrix: the offset and mask counts,
/// offsets monotone, multiples of 8 and within the values, each tile's
/// values at least its masks' bits, no bit outside the matrix. False with
/// `err` naming the first fault.
bool validateBitmap(const int32_t *offsets, int64_t numOffsets, const uint32_t *masks,
                    int64_t numMasks, int64_t numValues, int64_t rows, int64_t cols,
                    int64_t tileRows, int64_t tileCols, std::string &err);
/// `denseShape` and `denseType` give the result; `packed` as pack made it.
bool unpack(const std::vector<const Tensor *> &packed, const PackParams &p,
            const std::vector<int64_t> &denseShape, DType denseType,
            Tensor &result, std::string &err);

enum class ConvMethod { Auto, Direct, FFT };

struct FFTConvParams {
  bool causal = true;
  /// Keep kernel frequencies m with min(m, M - m) < freqCutoff; 0 keeps all.
  int64_t freqCutoff = 0;
  ConvMethod method = ConvMethod::Auto;
};

bool fftconv(const Tensor &u, const Tensor &k, const Tensor *preGate,
             const Tensor *postGate, const FFTConvParams &p, DType resultType,
             Tensor &result, std::string &err);

} // namespace einloom::ref

#endif
