//===- KernelContext.h - shared state of one contraction kernel -*- C++ -*-===//
//
// Internal to lib/Codegen. The kernel generator is split like CUTLASS's
// collective mainloop / epilogue: operand producers fill shared memory
// (Producers.cpp), the MMA core turns shared memory into accumulators
// (MmaCore.cpp), and the epilogue writes the result (Epilogue.cpp). A new
// operand format is a new producer; the other two do not change.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_LIB_CODEGEN_KERNELCONTEXT_H
#define EINLOOM_LIB_CODEGEN_KERNELCONTEXT_H

#include "einloom/Codegen/Dequant.h"
#include "einloom/Codegen/KernelBuilder.h"
#include "einloom/Plan/Contraction.h"

#include "Loom/LoomDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include <functional>
#include <optional>

namespace einloom::codegen {

/// A fused epilogue in a kernel (see FusedEpilogue.cpp): the spec and its
/// bias and residual bound to kernel arguments.
struct EpilogueCode {
  const EpilogueSpec *spec = nullptr;
  mlir::Value bias, residual; ///< typed views (null where absent)
  mlir::Value rowScale, colScale; ///< f32 views (null where absent)
  mlir::Value rowZero, colSum;     ///< typed views (null where absent)
  bool active() const { return spec && !spec->empty(); }
  /// Views the bias, the residual, the row and column scales and the
  /// rank-1 term's row and column vectors (those present, in that order)
  /// from the kernel arguments starting at `firstArg`.
  void bind(mlir::OpBuilder &b, mlir::Location loc, mlir::Block &entry, unsigned firstArg);
  /// `x` (a float accumulator) through the epilogue, at C element offset `off`.
  mlir::Value apply(struct KernelContext &kc, mlir::Value x, mlir::Value off) const;
};

/// How one operand's tile sits in shared memory.
enum class SmemLayout {
  /// rows = M (or N), 128 bytes of K per row; filled by 16-byte cp.async.
  KMajorVector,
  /// rows = K, the tile's M (or N) extent per row; 16-bit types only, read
  /// with ldmatrix.trans. For operands whose contiguous mode is M (or N).
  MNMajorVector,
  /// rows = M (or N) as KMajorVector, filled element by element: any strides.
  KMajorElementwise,
  /// rows = K, 64 M (or N) elements (128 bytes) per row, 128-byte swizzled,
  /// one 8 KiB block per 64 M (or N): what TMA writes for an operand
  /// contiguous along M (N), read by wgmma as a transposed (MN-major)
  /// operand. 16-bit types only.
  MNMajorAtoms,
  /// A dequantized weight's codes in the a_fragment layout (docs/dialect.md):
  /// a stage is the tile's rows at one 64-k tile, one contiguous run of
  /// tileRows * 8 * bits bytes copied with 16-byte cp.async; each lane reads
  /// its own words (ld.shared) and dequantizes them into A fragments.
  PackedFragments,
};

/// A sparse weight's producer state (the A operand of the sparse
/// kernel, whose stages are KMajorVector tiles): the offsets, the last
/// chunk the words buffer holds, the CTA's row of tiles and the L2 policy
/// of the word loads.
struct SparseSource {
  mlir::Value offsets;       ///< memref<tiles + 1 x i32>
  /// The first word of the buffer's last whole 16-byte chunk (intType):
  /// from the word count the runtime passes at launch (the buffer's real
  /// size), so that corrupt offsets never read past it.
  mlir::Value lastChunkWord;
  int64_t tilesK = 0;        ///< tiles along K
  int64_t chunks = 0;        ///< 16-byte chunks per thread kept in registers a tile
  int64_t depth = 1;         ///< tiles of words in flight (the plan's prefetch)
  /// memref<n x i32> in shared memory: the offsets of the CTA's tiles
  /// 0 .. n - 1 (n: its most K tiles plus one).
  mlir::Value sharedOffsets;
  /// 2:4 (two_four) instead: the metadata (memref<N·K/16 x i16>) and the
  /// CTA's first K tile (the format, N and K come from the contraction).
  mlir::Value meta, kBegin;
  /// The metadata's bytes (memref<N·K/8 x i8>), which the mma.sp form's
  /// cp.async copies read.
  mlir::Value metaBytes;
  mlir::Value firstTile;     ///< index of the CTA's first tile (row tile * tilesK)
  mlir::Value policy;
  /// Bitmap instead: the masks (the argument's bytes, tile_m * 8 a tile), the
  /// thread's mask words a tile, and the two staging buffers in shared
  /// memory (memref<2 * stagingBytes x i8>, SparseWeight::stagingBytes).
  mlir::Value masks, staging;
  int64_t maskWords = 0, stagingBytes = 0;
  /// Block-sparse: the column indices (memref<blocks x i32>), the last
  /// stored block the launch gives (intType, at least 0) and the block
  /// row's first block (set by startBlockSparse).
  mlir::Value indices, lastBlock, rowBegin;
};

/// One operand of the MMA (A: rows are M; B: rows are N).
struct OperandTile {
  char name;              ///< 'A' or 'B'
  const ModeGroup *rows;  ///< M or N
  int64_t tileRows;       ///< BM or BN
  SmemLayout layout;
  mlir::Type elem;
  mlir::Value global;     ///< memref<bytes x i8>
  mlir::Value batchOffset;///< elements
  mlir::Value rowOrigin;  ///< first row of this CTA's tile
  mlir::Value smemBytes;  ///< this operand's region, memref<? x i8, 3>
  /// Bytes of one row of a stage: 128, or 8 * bits for PackedFragments.
  int64_t rowBytes = 128;
  int64_t stageBytes() const { return tileRows * rowBytes; }
  /// PackedFragments: how the codes dequantize, the scale and zero-point
  /// views (typed; zeros null without a zero point), and the current K
  /// tile's per-lane scale and zero registers (see loadDequantParams), which
  /// the main loop sets before each loadFragments.
  DequantRecipe recipe;
  mlir::Value scales, zeros;
  /// The scale and zero-point arguments (bytes), and with
  /// WeightQuant::stagedScales() in the cp.async kernels the shared-memory
  /// region they are staged into: per stage a 4-byte word a row of the
  /// scales, then (all stages) of the zero points (stageDequantParams).
  mlir::Value scaleArg, zeroArg, staged;
  llvm::SmallVector<mlir::Value> dequant;
  /// A sparse weight (KMajorVector stages filled by the sparse producer).
  SparseSource sparse;
};

/// Integer arithmetic of the kernel. Offsets are computed in `intType`
/// (i32 when every buffer's bytes fit, else i64) and cast to `index` only
/// where a memref is indexed: 64-bit math costs two instructions a step.
struct KernelContext {
  mlir::OpBuilder &b;
  mlir::Location loc;
  const Contraction &c;
  mlir::loom::PlanAttr plan;
  int64_t bm, bn, bk, stages, warpsM, warpsN, threads;
  int64_t elemBytes;
  mlir::Type intType;
  mlir::Value tid, lane, warpRow, warpCol; // warpRow/Col: first row/col in the tile
  /// M's and N's extents in `intType`: constants, or for the dynamic one
  /// (shape polymorphism) the size the kernel is launched with: M, or N
  /// in a transposed product (a weight kernel's tokens). Set by initSize.
  mlir::Value mSize, nSize;
  /// The einsum's fused epilogue, bound to the kernel's arguments (see
  /// bindEpilogue); inactive when there is none.
  EpilogueCode epi;
  /// With a block mask: whether this tile is computed (i1); the store
  /// writes the mask's fill where it is not. Null without a mask.
  mlir::Value tileKeep;
  /// Binds `c.epilogue` to the arguments after A, B and C.
  void bindEpilogue(mlir::Block &entry) {
    epi.spec = &c.epilogue;
    epi.bind(b, loc, entry, 3);
  }

  /// The kernel's M and N extents: constants, or for the dynamic one its
  /// last argument (i64). Call at the kernel's entry.
  void initSize(mlir::Block &entry) {
    mSize = cst(c.m.size());
    nSize = cst(c.n.size());
    if (!c.dynamicLabel)
      return;
    mlir::Value arg = entry.getArguments().back();
    (c.dynamicN() ? nSize : mSize) =
        arg.getType() == intType
            ? arg
            : mlir::arith::TruncIOp::create(b, loc, intType, arg).getResult();
  }
  /// `x < extent of g`, with the launch-time extent for the dynamic one.
  mlir::Value ltExtent(mlir::Value x, const ModeGroup &g) {
    if (&g == &c.m && c.dynamicM())
      return ltV(x, mSize);
    if (&g == &c.n && c.dynamicN())
      return ltV(x, nSize);
    return lt(x, g.size());
  }
  /// ceil(M / tile), ceil(N / tile) as values (constants when static).
  mlir::Value tilesOfM(int64_t tile) {
    return c.dynamicM() ? div(add(mSize, tile - 1), tile) : cst((c.m.size() + tile - 1) / tile);
  }
  mlir::Value tilesOfN(int64_t tile) {
    return c.dynamicN() ? div(add(nSize, tile - 1), tile) : cst((c.n.size() + tile - 1) / tile);
  }
  mlir::Value mulV(mlir::Value x, mlir::Value y) { return mlir::arith::MulIOp::create(b, loc, x, y); }
  mlir::Value divV(mlir::Value x, mlir::Value y) { return mlir::arith::DivUIOp::create(b, loc, x, y); }
  mlir::Value remV(mlir::Value x, mlir::Value y) { return mlir::arith::RemUIOp::create(b, loc, x, y); }

  mlir::Value cst(int64_t v) {
    return mlir::arith::ConstantOp::create(b, loc, b.getIntegerAttr(intType, v));
  }
  mlir::Value add(mlir::Value x, mlir::Value y) { return mlir::arith::AddIOp::create(b, loc, x, y); }
  mlir::Value add(mlir::Value x, int64_t y) { return y == 0 ? x : add(x, cst(y)); }
  mlir::Value mul(mlir::Value x, int64_t y) {
    return y == 1 ? x : mlir::arith::MulIOp::create(b, loc, x, cst(y)).getResult();
  }
  mlir::Value div(mlir::Value x, int64_t y) {
    return y == 1 ? x : mlir::arith::DivUIOp::create(b, loc, x, cst(y)).getResult();
  }
  mlir::Value rem(mlir::Value x, int64_t y) { return mlir::arith::RemUIOp::create(b, loc, x, cst(y)); }
  mlir::Value xorI(mlir::Value x, mlir::Value y) { return mlir::arith::XOrIOp::create(b, loc, x, y); }
  mlir::Value andI(mlir::Value x, int64_t m) { return mlir::arith::AndIOp::create(b, loc, x, cst(m)); }
  mlir::Value lt(mlir::Value x, int64_t y) {
    return mlir::arith::CmpIOp::create(b, loc, mlir::arith::CmpIPredicate::ult, x, cst(y));
  }
  mlir::Value ltV(mlir::Value x, mlir::Value y) {
    return mlir::arith::CmpIOp::create(b, loc, mlir::arith::CmpIPredicate::slt, x, y);
  }
  mlir::Value andB(mlir::Value x, mlir::Value y) { return mlir::arith::AndIOp::create(b, loc, x, y); }
  mlir::Value select(mlir::Value c, mlir::Value x, mlir::Value y) {
    return mlir::arith::SelectOp::create(b, loc, c, x, y);
  }
  /// blockIdx.x * `threads` + threadIdx.x: the thread's index in a 1-D grid.
  mlir::Value globalThread(int64_t threads);
  /// `v` as an `index`, for memref subscripts.
  mlir::Value idx(mlir::Value v) {
    return mlir::arith::IndexCastUIOp::create(b, loc, b.getIndexType(), v);
  }
  /// An `index` (thread and block ids) as the kernel's integer type.
  mlir::Value fromIndex(mlir::Value v) {
    return mlir::arith::IndexCastUIOp::create(b, loc, intType, v);
  }

  /// The element offset of flattened index `idx` of `group` in `operand`.
  mlir::Value groupOffset(const ModeGroup &group, char operand, mlir::Value idx);
  /// The offset of K index `k0 + x` in `operand`, where `x` is known before
  /// the main loop: with a single K mode this is `k0 * s + x * s`, so the
  /// second term can be hoisted.
  mlir::Value kOffset(char operand, mlir::Value k0, mlir::Value xTimesStride, mlir::Value x);
  int64_t kStride(char operand) const;
  bool singleK() const { return c.k.modes.size() == 1; }
  /// mma.sp on a 2:4 weight stored compressed in the A stage (m16n8k32_sp).
  bool sparseMma() const { return plan && plan.getMma() == mlir::loom::MmaShape::M16N8K32Sp; }
  /// MMA steps per K tile: four of 32 bytes of K, or two of 32 logical
  /// columns for mma.sp (each reading 32 compressed bytes of A).
  int64_t kSteps() const;
};

/// `x` combined over the first `lanes` lanes of each warp by an xor
/// butterfly (every lane gets the result). 64-bit values travel as two
/// 32-bit halves.
mlir::Value warpReduce(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, int64_t lanes,
                       llvm::function_ref<mlir::Value(mlir::Value, mlir::Value)> combine);

/// What a producer computes once, before the main loop: per copy pass, the
/// element offset of its row, whether the row exists, and its place within a
/// pipeline stage.
struct ProducerState {
  llvm::SmallVector<mlir::Value> rowOffset, rowValid, dst;
  llvm::SmallVector<mlir::Value> kLane, kLaneOffset; // K index and its offset, per pass
};

/// Per-lane ldmatrix offsets (16-bit units within a stage), before the loop.
struct FragmentState {
  llvm::SmallVector<mlir::Value> a, b; // indexed [frag * 4 + kstep]
  /// mma.sp: per A fragment, the lane's metadata word of step 0 in
  /// fragment row lane / 4 (16-bit units within a stage; step s adds 2 s,
  /// row + 8 adds 8 x 64).
  llvm::SmallVector<mlir::Value> meta;
};

ProducerState prepareProducer(KernelContext &kc, OperandTile &op);
FragmentState prepareFragments(KernelContext &kc, OperandTile &a, OperandTile &b);

/// Fills one pipeline stage of an operand's shared-memory tile with the
/// K tile starting at element `k0`.
void produceStage(KernelContext &kc, OperandTile &op, const ProducerState &ps,
                  mlir::Value stage, mlir::Value k0);

/// K steps per 128-byte shared-memory row: each mma consumes 32 bytes of K.
constexpr int64_t kStepsPerTile = 4;

/// Loads the A and B fragments of k step `ks` of pipeline stage `stage`:
/// WM/16 A fragments then WN/16 B fragment pairs, four i32 registers each.
llvm::SmallVector<mlir::Value> loadFragments(KernelContext &kc, OperandTile &a,
                                             OperandTile &bop, const FragmentState &fs,
                                             mlir::Value stage, int64_t ks);

/// The MMAs of one k step on fragments from loadFragments, updating `acc`
/// (WM/16 x WN/8 accumulator tiles of four scalars, row-major over (i, n)).
void mmaStep(KernelContext &kc, llvm::ArrayRef<mlir::Value> frags,
             llvm::SmallVectorImpl<mlir::Value> &acc);

/// Whether tile (tm, tn) of batch `bz` is kept: its byte of the block mask
/// (the kernel's last epilogue buffer, argument 3 + epilogue buffers - 1:
/// [batch,] tile row, tile column, one mask for all batches unless
/// maskPerBatch) is not 0.
mlir::Value blockMaskKeeps(KernelContext &kc, mlir::Block &entry, const KernelLaunch &launch,
                           mlir::Value bz, mlir::Value tm, mlir::Value tn, int64_t tilesM,
                           int64_t tilesN);

/// `v` (a result element after the fused epilogue), or the block mask's
/// fill where the tile is masked out (kc.tileKeep false); `v` unchanged
/// without a mask.
mlir::Value maskedOrFill(KernelContext &kc, mlir::Value v);

/// Converts and stores the accumulators to C.
void storeEpilogue(KernelContext &kc, mlir::Value gC, mlir::Value batchOffC,
                   mlir::Value m0, mlir::Value n0,
                   llvm::ArrayRef<mlir::Value> acc);

/// Hopper (sm_90a): one K tile of `stage` with wgmma.mma_async, each
/// warpgroup computing 64 rows x tile_n from shared-memory descriptors over
/// the same 128-byte-swizzled K-major tiles the producers write. Issues the
/// fence, four k16 MMAs, the commit and the wait.
/// `warpgroup` (i64) selects the 64-row slice of A; by default the
/// warpgroup of the executing thread. `accumulate` (i32), where given, is
/// the first MMA's scale-d: 0 starts the accumulators from zero (their
/// values in are ignored), anything else adds to them.
void wgmmaTile(KernelContext &kc, OperandTile &a, OperandTile &bop, mlir::Value stage,
               llvm::SmallVectorImpl<mlir::Value> &acc, mlir::Value warpgroup = {},
               mlir::Value accumulate = {});

/// Waits for every wgmma of the warpgroup (wait_group 0) and returns `acc`
/// passed through an empty asm ordered after that wait. The accumulators
/// are the MMA asm's outputs, so to LLVM they are ready when it issues, and
/// a plain read of them (a conversion in the epilogue) could move above the
/// wait and read registers the tensor cores still write: with a block mask
/// LLVM sank the f16 conversions into the loop's branch, before the wait
/// (rel 0.55 on an H100, fuzz_01698 of seed 20261209).
llvm::SmallVector<mlir::Value> wgmmaWaitAll(mlir::OpBuilder &b, mlir::Location loc,
                                            mlir::ValueRange acc);

/// PackedFragments: the scale and zero-point registers each lane needs for
/// K tile `kTile` (global, in 64-k tiles) of the weight: per A fragment of
/// the warp, per group in the tile (two for groups of 32) and per row half.
llvm::SmallVector<mlir::Value> loadDequantParams(KernelContext &kc, OperandTile &a,
                                                 mlir::Value kTile);
/// The same registers read from ring stage `stage`, where
/// stageDequantParams copied those of K tile `kTile`.
llvm::SmallVector<mlir::Value> loadStagedDequantParams(KernelContext &kc, OperandTile &a,
                                                       mlir::Value kTile, mlir::Value stage);
/// Staged scales (a.staged): cp.async copies into stage `stage` of each tile
/// row's 4-byte word of scales (and of zero points) holding the row's
/// group(s) of K tile `kTile` (global), in the copies' current group.
void stageDequantParams(KernelContext &kc, OperandTile &a, mlir::Value stage,
                        mlir::Value kTile);
/// PackedFragments: `a` reads its codes with `recipe`, and its scales (and
/// zero points) from the kernel's arguments `first` (and `first + 1`).
void bindPackedWeight(KernelContext &kc, OperandTile &a, const DequantRecipe &recipe,
                      mlir::Block &entry, unsigned first);
/// The quantized weight's extra kernel arguments: the scales' bytes, then
/// the zero points' (where there are any).
llvm::SmallVector<int64_t, 2> packedWeightBuffers(const WeightQuant &q);

/// PackedFragments: the scale and zero registers of a K tile, which the
/// main loop carries in its arguments: each iteration loads the next
/// tile's, one iteration before they are used. Scales per row are loaded
/// once; groups of 128 or more reload only where a new group starts (a
/// uniform branch); groups of 32 and 64 every tile. (Loading three tiles
/// ahead, every tile, ran 3-11% slower on the H100 at W4 g128, 16 and 128
/// tokens, 2026-12-07: bench/HISTORY.md.)
struct DequantParams {
  /// The registers of K tile kBegin + t, clamped to the weight's last.
  std::function<llvm::SmallVector<mlir::Value>(mlir::Value)> load;
  mlir::Value kBegin;
  int64_t groupSize = 0;

  llvm::SmallVector<mlir::Value> start(KernelContext &kc) { return load(kc.cst(0)); }
  /// Tile kt + 1's registers from tile kt's.
  llvm::SmallVector<mlir::Value> next(KernelContext &kc, llvm::ArrayRef<mlir::Value> params,
                                      mlir::Value kt);
};
/// The wgmma main loop's initial arguments: m64nN's N / 2 accumulators a
/// thread (`zero`), then, for packed codes, the first K tile's
/// parameters. `numAcc` is set to the accumulators' count.
llvm::SmallVector<mlir::Value> wgmmaLoopInit(KernelContext &kc, int64_t bn, mlir::Value zero,
                                             std::optional<DequantParams> &dq, size_t &numAcc);

/// `a`'s parameters for K tiles from kBegin, of the weight's numK tiles.
DequantParams makeDequantParams(KernelContext &kc, OperandTile &a, mlir::Value kBegin,
                                int64_t numK);

/// PackedFragments: the four A-fragment registers of fragment `frag` at k
/// step `ks`, dequantized from the lane's words of the stage at byte
/// `laneBase` (its first word) with the registers of loadDequantParams.
llvm::SmallVector<mlir::Value, 4> dequantFragment(KernelContext &kc, OperandTile &a,
                                                  mlir::Value words32, mlir::Value laneBase,
                                                  int64_t frag, int64_t ks);

/// The Tiled-CSL producer (SparseProducer.cpp), a pipeline whose state
/// the main loop carries: startSparsePipeline zero-fills stages 0 ..
/// stages - 2, copies the CTA's tile offsets into shared memory, scatters
/// tiles 0 .. stages - 3 and returns the state (the words of the next
/// `depth` tiles, in flight); stepSparsePipeline, at iteration kt, scatters tile kt +
/// stages - 2 into its stage, zero-fills stage (kt + stages - 1) mod
/// stages, starts the next tile's loads and returns the new state. `count`
/// is the CTA's number of K tiles; tiles past it are empty.
llvm::SmallVector<mlir::Value> startSparsePipeline(KernelContext &kc, OperandTile &a,
                                                   int64_t stages, mlir::Value count);
/// The block-sparse producer (SparseProducer.cpp; a.sparse: `offsets` the
/// row pointers, `indices` the column indices, `lastBlock` the last stored
/// block the launch gives). startBlockSparse, at the kernel's start, reads
/// block row `rowTile`'s range, copies its column indices into
/// a.sparse.sharedOffsets (then a barrier) and returns its block count (the
/// CTA's K tiles), clamped to [0, K / 64]. copyBlock issues the cp.async
/// copies of the row's block `kTile` into `stage` (the dense KMajorVector
/// tile, swizzled) and returns its K offset for the activations' tile.
mlir::Value startBlockSparse(KernelContext &kc, OperandTile &a, mlir::Value rowTile);
/// 2:4 for mma.sp (m16n8k32_sp; K a multiple of 64): K tile `kTile` of the
/// CTA's rows copied compressed into `stage` with cp.async, as dense tiles
/// are: row r's 64 bytes of values to its logical chunks 0-3 (16-byte
/// copies) and its 8 bytes of metadata to the first half of logical chunk 4
/// (an 8-byte copy), chunk c at c ^ (r % 8). Rows past the weight's read
/// its last row (their results are never stored). No registers hold the
/// tile, so the ring's stages are the pipeline.
void copyTwoFourStage(KernelContext &kc, OperandTile &a, mlir::Value stage, mlir::Value kTile);
mlir::Value copyBlock(KernelContext &kc, OperandTile &a, mlir::Value stage, mlir::Value kTile);
llvm::SmallVector<mlir::Value> stepSparsePipeline(KernelContext &kc, OperandTile &a,
                                                  llvm::ArrayRef<mlir::Value> state,
                                                  mlir::Value kt, int64_t stages,
                                                  mlir::Value count);

/// Whether the split-K workspace runs M fastest ([S][batch][N][M]) instead
/// of N: where M, not N, is C's contiguous dimension (a weight kernel's
/// transposed product, its weight rows along C's rows), so that the sum of
/// the splits reads the workspace and writes C in consecutive addresses.
inline bool partialsMFastest(const Contraction &c) {
  return !c.m.modes.empty() && c.m.modes.back().strideC == 1 &&
         (c.n.modes.empty() || c.n.modes.back().strideC != 1);
}

/// Split-K: stores the raw accumulators of split `split` to the workspace
/// [S][batch][M][N], or [S][batch][N][M] (partialsMFastest), canonical
/// row-major in the accumulator type.
void storePartials(KernelContext &kc, mlir::Value workspace, mlir::Value split,
                   mlir::Value batch, mlir::Value m0, mlir::Value n0,
                   llvm::ArrayRef<mlir::Value> acc);

/// The (tile row, tile column) of linear tile index `linear` in the plan's
/// raster order.
std::pair<mlir::Value, mlir::Value> rasterTile(KernelContext &kc, mlir::Value linear,
                                               mlir::Value tilesM, int64_t tilesN);

/// Grid for `tiles` output tiles (tilesN per tile row of `tileM` rows) in
/// each of `slices` (batch, split) slices: grid.x the tiles and grid.z the
/// slices, or, where there are more slices than grid.z's 65535, grid.x
/// both (slice-major). Fails where grid.x would pass 2^31 - 1 CTAs. With a
/// dynamic M, or a dynamic N (tileN > 0, with tilesM tile rows), the launch
/// sizes grid.x from the actual extent.
mlir::LogicalResult setTileGrid(mlir::Location loc, KernelLaunch &launch, int64_t tiles,
                                int64_t slices, int64_t tileM, int64_t tilesN, bool dynamicM,
                                int64_t tileN = 0, int64_t tilesM = 0);
/// The CTA's (linear tile, slice) in the grid setTileGrid chose for
/// `slices`; `tilesPerSlice` is the tile count (at run time for a dynamic M).
std::pair<mlir::Value, mlir::Value> tileAndSlice(KernelContext &kc, int64_t slices,
                                                 mlir::Value tilesPerSlice);

/// The address of a memref's first byte (for shared memory: its offset in
/// the shared window) as an i64, for descriptors, mbarriers and TMA.
mlir::Value sharedAddress(mlir::OpBuilder &b, mlir::Location loc, mlir::Value memref);

/// `words` (1, 2 or 4) 32-bit words at byte `byteOffset` (index) of the
/// global byte buffer `bytes`, in one aligned vector load:
/// ld.global.L1::no_allocate.L2::cache_hint with the L2 `policy`
/// (createpolicy; PTX, as LLVM's NVPTX backend has no such load). With
/// `pred` (i1), only where it holds; the registers are undefined elsewhere.
llvm::SmallVector<mlir::Value> streamingLoadWords(mlir::OpBuilder &b, mlir::Location loc,
                                                  mlir::Value bytes, mlir::Value byteOffset,
                                                  int64_t words, mlir::Value policy,
                                                  mlir::Value pred = {});

/// `fence.proxy.async.shared::cta`: makes this thread's ordinary shared
/// stores visible to the async proxy (wgmma, TMA) after the next barrier.
void asyncProxyFence(mlir::OpBuilder &b, mlir::Location loc);

/// `gpu.func @name` at `b`'s insertion point, a kernel of `threads` threads
/// taking one byte buffer per `launch.argumentBytes` entry, then one per
/// `extraBuffers` entry (bytes), then `scalars` i64 values (a sparse
/// weight's word count), then, with `takesSize`, the dynamic size (i64).
/// `b` is left at the start of its body.
mlir::gpu::GPUFuncOp createKernelFunc(mlir::OpBuilder &b, mlir::Location loc,
                                      llvm::StringRef name, const KernelLaunch &launch,
                                      llvm::ArrayRef<int64_t> extraBuffers, bool takesSize,
                                      int64_t threads, int scalars = 0);
/// `bytes` (a byte buffer, memref<N x i8>) viewed as `count` elements of `t`.
mlir::Value typedView(mlir::OpBuilder &b, mlir::Location loc, mlir::Value bytes, mlir::Type t,
                      int64_t count);

/// `v` as element type `to`: float to float (extend or truncate), integer
/// to integer (sign-extend or truncate), or between the two (signed).
mlir::Value convertElement(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v, mlir::Type to);

/// How elements of `t` sit in memory for the CUDA-core kernels: 8-bit
/// floats as i8 (LLVM has no fp8 type), everything else as itself.
mlir::Type storageType(mlir::Type t);
/// One PTX snippet with one result, through LLVM inline assembly (no side
/// effects): for instructions MLIR 22's NVVM dialect cannot express or
/// type (fp8 pairs, the dequantization sequences).
mlir::Value inlinePtx(mlir::OpBuilder &b, mlir::Location loc, mlir::Type result,
                      mlir::ValueRange operands, llvm::StringRef text,
                      llvm::StringRef constraints);
/// An L2 cache policy covering every byte an access with it moves
/// (createpolicy, sm_80+): `priority` is "evict_first" or "evict_last".
mlir::Value l2Policy(mlir::OpBuilder &b, mlir::Location loc, llvm::StringRef priority);
/// A loaded element (of storageType(elem)) as type `to`. 8-bit floats go
/// through f16 with cvt.rn.f16x2.{e4m3,e5m2}x2 (sm_89 and newer).
mlir::Value loadedAs(mlir::OpBuilder &b, mlir::Location loc, mlir::Value stored, mlir::Type elem,
                     mlir::Type to);
/// `v` rounded to `elem` for a store (of storageType(elem)). 8-bit floats
/// come from f32 with cvt.rn.satfinite: values beyond the largest finite
/// one saturate to it.
mlir::Value storedAs(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v, mlir::Type elem);

/// The same with the byte sizes of every buffer argument given in order.
mlir::gpu::GPUFuncOp createKernelFunc(mlir::OpBuilder &b, mlir::Location loc,
                                      llvm::StringRef name, llvm::ArrayRef<int64_t> buffers,
                                      bool takesSize, int64_t threads, int scalars = 0);

/// The PTX mma.sync instruction for the contraction's element types.
std::string mmaInstruction(const Contraction &c);

} // namespace einloom::codegen

#endif
