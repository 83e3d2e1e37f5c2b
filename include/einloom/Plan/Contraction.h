//===- Contraction.h - an einsum seen as a batched GEMM ---------*- C++ -*-===//
//
// Groups a binary einsum's labels into batch, M (free in A), N (free in B)
// and K (contracted) modes, with each mode's extent and its stride in A, B
// and the result. Codegen addresses every operand through these strides, so
// transposed and interleaved modes never need a copy.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_PLAN_CONTRACTION_H
#define EINLOOM_PLAN_CONTRACTION_H

#include "mlir/IR/Types.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>

namespace mlir::loom {
class EinsumOp;
} // namespace mlir::loom

namespace einloom {

struct Mode {
  char label;
  int64_t extent;
  /// Element strides in A, B and C (0 where the mode is absent).
  int64_t strideA = 0, strideB = 0, strideC = 0;
};

/// One group of modes, flattened in order (the last mode varies fastest).
struct ModeGroup {
  llvm::SmallVector<Mode, 4> modes;
  int64_t size() const {
    int64_t s = 1;
    for (const Mode &m : modes)
      s *= m.extent;
    return s;
  }
};

/// A fused epilogue (see loom.einsum): act(alpha * sum + bias) + beta *
/// residual, in the accumulator type. Bias and residual cover the result's
/// trailing dimensions; the kernel reads element (C offset mod count).
struct EpilogueSpec {
  double alpha = 1, beta = 1;
  int activation = -1; ///< -1 none, else a loom::Activation
  mlir::Type biasType, residualType; ///< element types (null: absent)
  int64_t biasElems = 0, residualElems = 0;
  /// f32 scales of the sum (loom.einsum's row_scale and col_scale; 0:
  /// absent): element offset o of the result is scaled by rowScale[o /
  /// cols] and colScale[o % cols], `cols` the result's last dimension.
  int64_t rowScaleElems = 0, colScaleElems = 0, cols = 1;
  /// Block scales (loom.einsum's scale_block; 0: none): rowScale holds rows
  /// x ceil(K / blockK) scales and colScale ceil(N / blockN) x ceil(K /
  /// blockK); the contraction kernel applies them to each block's partial
  /// sum in its main loop, and the epilogue does not.
  int64_t blockK = 0, blockN = 0;
  /// The rank-1 term subtracted from the sum before its scales
  /// (loom.einsum's row_zero and col_sum, both present or both absent):
  /// rowZero[o / cols] * colSum[o % cols]; f32, i8 or i32 elements.
  mlir::Type rowZeroType, colSumType;
  int64_t rowZeroElems = 0, colSumElems = 0;
  /// A block mask (loom.einsum's block_mask; maskElems 0: none): one i8 a
  /// maskBlockM x maskBlockN block of the result ([batch..., M blocks, N
  /// blocks], or one mask for every batch); a block whose byte is 0 is not
  /// computed and holds maskFill. Its buffer is the last of the extra
  /// arguments; only the cp.async kernel (mma.sync or wgmma) reads it (a
  /// tile is a block).
  int64_t maskElems = 0, maskBlockM = 0, maskBlockN = 0;
  bool maskPerBatch = false;
  double maskFill = 0;
  /// The result's element count (0 if not static). Every offset the epilogue
  /// is given is one of the result's, so an operand of at least this many
  /// elements is read at the offset itself, with no remainder to take.
  int64_t resultElems = 0;
  bool empty() const {
    return alpha == 1 && activation < 0 && !biasType && !residualType && !rowScaleElems &&
           !colScaleElems && !rowZeroType;
  }
  /// Bytes of the extra kernel arguments, in order (bias, residual, row
  /// scales, column scales, row zero points, column sums, the block mask:
  /// those present).
  llvm::SmallVector<int64_t, 2> bufferBytes() const;
  /// "alpha 0.5, bias [64] f32, gelu, 2 x residual": for --explain.
  std::string describe() const;
};

/// The epilogue fused into `op` (empty when none).
EpilogueSpec epilogueOf(mlir::loom::EinsumOp op);

/// A weight read as integer codes and dequantized in registers (loom.einsum's
/// weight_quant): the einsum's second operand holds the N x K codes (N its
/// kept label, K the summed one) in the a_fragment layout (docs/dialect.md),
/// whatever the order of its subscripts. Its scales (and zero points) are
/// the kernel's extra arguments, indexed at n * scaleRowStride + g *
/// scaleGroupStride for group g = k / groupSize.
struct WeightQuant {
  unsigned bits = 4;
  bool isSigned = true;
  int64_t groupSize = 0; ///< 0: one scale per row (or one in all)
  int64_t scaleRowStride = 0, scaleGroupStride = 0;
  mlir::Type scaleType, zeroType; ///< zeroType null: no zero point
  int64_t packedBytes = 0, scaleBytes = 0, zeroBytes = 0;
  /// Which dimension of the codes' tensor is K (0 or 1).
  int kDim = 1;
  /// Groups of scales in one 64-k tile: 2 for groups of 32, else 1.
  int64_t groupsPerTile() const { return groupSize == 32 ? 2 : 1; }
  /// Whether the cp.async kernels copy each K tile's scales (and zero
  /// points) into shared memory beside its codes, so that their loads ride
  /// the ring instead of stalling the tile: groups (a scale per row is
  /// loaded once), 16-bit scales and zero points of at most 8 bits, each
  /// row's a 4-byte word holding them (and for groups of 32 the tile's two
  /// groups, adjacent).
  bool stagedScales() const {
    return groupSize > 0 && scaleType && scaleType.getIntOrFloatBitWidth() == 16 &&
           (!zeroType || zeroType.getIntOrFloatBitWidth() <= 8) &&
           (groupsPerTile() == 1 || scaleGroupStride == 1);
  }
  /// Shared-memory bytes of one stage's staged scales and zero points for
  /// `rows` weight rows: a 4-byte word a row each.
  int64_t stagedScaleBytes(int64_t rows) const {
    return stagedScales() ? rows * 4 * (zeroType ? 2 : 1) : 0;
  }
};

/// A weight stored sparse (the einsum's second operand has type
/// `tensor<N x K x f16|bf16, #loom.sparse<format = F, ...>>`, K contiguous),
/// the kernel's A (order = ba), decoded into the dense swizzled
/// shared-memory tile the MMA core reads:
/// - Tiled-CSL: per-tile offsets and words (docs/dialect.md), scattered
///   into a zero-filled stage;
/// - bitmap: per-tile offsets, a 64-bit mask per 8x8 block and the packed
///   values, staged in shared memory and decoded by popcounts, every
///   element of the stage written;
/// - 2:4 (two_four): N x K/2 values and N x K/16 16-bit metadata words,
///   every element of the stage written from them;
/// - block-sparse (block_csr): 64 x 64 dense blocks, a block row's stored
///   blocks walked by the K loop (the activations' K tile each one's
///   column), copied into the stage as a dense tile would be.
/// The offsets (the metadata; block_csr: the row pointers) are the kernel's
/// extra argument after the epilogue's buffers (bitmap: then the masks;
/// block_csr: the column indices).
struct SparseWeight {
  enum class Format { TiledCsl, Bitmap, TwoFour, BlockCsr };
  Format format = Format::TiledCsl;
  bool twoFour() const { return format == Format::TwoFour; }
  bool bitmap() const { return format == Format::Bitmap; }
  bool blockCsr() const { return format == Format::BlockCsr; }
  /// Whether the format has a second index buffer (`indexBytes`).
  bool hasIndex() const { return bitmap() || blockCsr(); }
  /// Whether the register pipeline (words `prefetch` tiles ahead) reads it
  /// (block_csr: the cp.async ring, as dense tiles are).
  bool registerPipeline() const { return !blockCsr(); }
  /// The format's name (docs/dialect.md, bundles, plans' producer).
  const char *name() const {
    return twoFour() ? "two_four" : bitmap() ? "bitmap" : blockCsr() ? "block_csr" : "tiled_csl";
  }
  /// Tiled-CSL and bitmap: the format's tile. 2:4 has none: the plan's
  /// tile_m (64 or 128) decodes it, and tileRows is 0.
  int64_t tileRows = 64, tileCols = 64;
  int64_t tiles = 0;
  /// Bytes of the offsets (2:4: the metadata; block_csr: the row
  /// pointers), of the words' capacity (Tiled-CSL: every element stored, 4
  /// bytes each; bitmap and block_csr: every value, 2 bytes each; 2:4: the
  /// values, K/2 a row), and of the second index (a bitmap's masks,
  /// block_csr's column indices, one per block at most).
  int64_t offsetsBytes = 0, wordsBytes = 0, indexBytes = 0;
  /// The fraction of non-zeros the plan estimates assume where the
  /// encoding does not give one (`density`): the data arrive at run time
  /// (2:4 moves its bytes whatever they hold).
  static constexpr double assumedDensity = 0.25;
  double density = assumedDensity;
  /// Bytes a plan streams for the weight.
  int64_t streamedBytes() const {
    return twoFour() ? wordsBytes + offsetsBytes
                     : int64_t(wordsBytes * density) + offsetsBytes + indexBytes;
  }
  /// 16-byte chunks of words (bitmap: values) a thread keeps in registers
  /// for the next tile (the rest of a denser tile is loaded when it is
  /// stored). Tiled-CSL: half a full tile's words; bitmap: three quarters
  /// of a full tile's values (a tile of 64 rows at 75% density).
  int64_t registerChunks(int64_t threads) const {
    if (bitmap())
      return std::max<int64_t>(1, tileRows * tileCols / 8 * 3 / 4 / threads);
    return std::max<int64_t>(1, tileRows * tileCols / 2 / 4 / threads);
  }
  /// Bitmap: a thread's 32-bit mask words a tile (half-blocks of 8 x 4).
  int64_t maskWords(int64_t threads) const { return tileRows * tileCols / 32 / threads; }
  /// 2:4: a thread's items a tile of `rows` x 64, each 16 columns of a row
  /// (8 values in one 16-byte load and a 16-bit metadata word).
  static int64_t twoFourItems(int64_t rows, int64_t threads) { return rows * 4 / threads; }
  /// The most 32-bit registers of words a thread may keep in flight
  /// (prefetch x registersPerTile).
  static constexpr int64_t mostWordRegisters = 64;
  /// 32-bit registers a thread keeps per tile in flight, for a plan of
  /// `rows` x 64 tiles.
  int64_t registersPerTile(int64_t rows, int64_t threads) const {
    if (twoFour())
      return twoFourItems(rows, threads) * 5;
    if (blockCsr())
      return 0;
    return registerChunks(threads) * 4 + (bitmap() ? maskWords(threads) : 0);
  }
  /// Bitmap: bytes of one of the two shared-memory staging buffers a tile's
  /// values and masks pass through before their decode (values of a full
  /// tile, its masks, each thread's first value within its warp, each
  /// warp's count).
  int64_t stagingBytes(int64_t threads) const {
    return tileRows * tileCols * 2 + tileRows * tileCols / 8 + threads * 4 + threads / 32 * 4;
  }
  /// Shared-memory bytes of a CTA's tile offsets (block_csr: its block
  /// row's column indices), copied there at its start: its most K tiles
  /// plus one, 32 bits each, rounded up to 16 bytes; none for 2:4.
  int64_t sharedOffsetsBytes(int64_t tilesPerCta) const {
    return twoFour() ? 0 : (tilesPerCta + 4) / 4 * 16;
  }
  /// Shared-memory bytes past the stages: the offsets, then a bitmap's two
  /// staging buffers.
  int64_t sharedExtraBytes(int64_t tilesPerCta, int64_t threads) const {
    return sharedOffsetsBytes(tilesPerCta) + (bitmap() ? 2 * stagingBytes(threads) : 0);
  }
};

struct Contraction {
  ModeGroup batch, m, n, k;
  mlir::Type elemA, elemB, elemC, acc;
  std::string spec;
  bool tf32 = false;
  EpilogueSpec epilogue;
  /// A dequantized weight (the einsum's second operand; the kernel's A with
  /// order = ba). elemB is then the activations' type, which the codes
  /// dequantize to.
  std::optional<WeightQuant> quant;
  /// A Tiled-CSL sparse weight (the einsum's second operand; the kernel's A
  /// with order = ba). Never set together with `quant`.
  std::optional<SparseWeight> sparse;
  /// The weight is read through a producer of its own (quant or sparse).
  bool specialWeight() const { return quant || sparse; }
  /// Bytes the weight operand (codes, scales, zero points) occupies.
  int64_t weightBytes() const {
    return quant->packedBytes + quant->scaleBytes + quant->zeroBytes;
  }
  /// Shape polymorphism: the label of the one dynamic dimension (0 when the
  /// shapes are static). The einsum was specialised to the largest size of
  /// its bucket, which `m`'s extent holds; the kernel takes the actual size
  /// at launch. It is the only M mode and the leading dimension of A and C,
  /// so no stride depends on it.
  char dynamicLabel = 0;
  /// Which extent is dynamic: M, or N once the product is transposed
  /// (order = ba, a weight kernel's tokens).
  bool dynamicM() const { return dynamicLabel != 0 && !swapped; }
  bool dynamicN() const { return dynamicLabel != 0 && swapped; }
  /// For a dynamic M: the size the planner plans for (a typical size of the
  /// bucket, from the einsum's `loom.plan_at`), 0 otherwise.
  int64_t planningM = 0;
  /// The contraction the planner sees: with a dynamic M, M's extent is the
  /// bucket's planning size instead of its largest.
  Contraction forPlanning() const {
    Contraction p = *this;
    if (dynamicLabel && planningM > 0)
      p.m.modes[0].extent = planningM;
    return p;
  }

  /// The transposed product (a plan with order = ba): A and B exchanged,
  /// with M and N, so that the einsum's second operand is the kernel's A.
  /// C keeps its strides, now read with the roles of M and N exchanged.
  bool swapped = false;
  Contraction transposed() const;
  /// The kernel argument that holds the MMA's A (0, or 1 when swapped),
  /// and B's.
  unsigned argA() const { return swapped ? 1 : 0; }
  unsigned argB() const { return swapped ? 0 : 1; }

  int64_t flops() const { return 2 * batch.size() * m.size() * n.size() * k.size(); }
  /// Bytes of a batched tensor over groups `x` and `y` with elements `t`
  /// (A: m, k; B: n, k; C: m, n).
  int64_t tensorBytes(const ModeGroup &x, const ModeGroup &y, mlir::Type t) const;
  /// The fewest bytes a kernel must move: each operand read once, C written.
  int64_t minBytes() const;
  /// True when a group's last mode has stride 1 in the operand ('A', 'B' or
  /// 'C') and an extent that is a multiple of `vec`: 16-byte chunks then lie
  /// inside one row.
  bool contiguous(const ModeGroup &g, char operand, int64_t vec) const;
  /// True when operand 'A' or 'B' can be copied in 16-byte chunks along the
  /// last mode of `g`: that mode is contiguous and every other stride keeps
  /// the chunks 16-byte aligned.
  bool vectorizable(const ModeGroup &g, char operand) const;
  /// How operand 'A' (rows = M) or 'B' (rows = N) reaches shared memory with
  /// tiles of `tileRows` rows: "k-major" (16-byte copies along K),
  /// "mn-major" (16-byte copies along M or N, 16-bit types, tileRows >= 64),
  /// or "elementwise" (any strides, slow).
  const char *operandLayout(char operand, int64_t tileRows) const;
  /// The global tensor a TMA tensor map describes for operand 'A' or 'B'
  /// (rows M or N, inner K) or the result 'C' (rows M, inner N):
  /// extents innermost first (inner, rows, then batch if any) and the byte
  /// strides of the outer dimensions. Fails, saying why in `whyNot`, when
  /// the copy engine cannot describe the operand: K not contiguous, a group
  /// of several modes that do not merge, or a row or batch pitch that is not
  /// a multiple of 16 bytes.
  /// With `mnMajor` (A or B only), an operand contiguous along its one M
  /// (N) mode instead of K is described transposed (extents M or N, then
  /// K, then batch) and `*mnMajor` says so.
  mlir::LogicalResult tensorMapFor(char operand, llvm::SmallVectorImpl<int64_t> &dims,
                                   llvm::SmallVectorImpl<int64_t> &strides,
                                   std::string &whyNot, bool *mnMajor = nullptr) const;
  /// True when the TMA kernel's epilogue stages C through shared memory
  /// and stores it with TMA: a 16- or 32-bit result the copy engine can
  /// describe.
  bool tmaStorable() const;
};

/// Analyses `op`. Emits a diagnostic and fails for einsums that are not a
/// (batched) contraction of two operands, zero-sized dimensions, and sizes
/// that overflow 32-bit indexing.
mlir::FailureOr<Contraction> analyzeContraction(mlir::loom::EinsumOp op);

/// Bytes of one element of `t` (1 for fp8 and i8).
int64_t elementBytes(mlir::Type t);

} // namespace einloom

#endif
