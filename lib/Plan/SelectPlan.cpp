//===- SelectPlan.cpp - choosing a #loom.plan for a contraction -----------===//
//
// A roofline cost model over a small set of tile shapes: the estimated time
// is the larger of the compute time (whole waves of CTAs, each at an
// efficiency that grows with the warp tile) and the memory time (the fewest
// bytes over DRAM bandwidth), plus a launch cost.
//
//===----------------------------------------------------------------------===//
#include "einloom/Plan/SelectPlan.h"
#include "einloom/Plan/TuningDatabase.h"
#include "einloom/Reference/Kernels.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::loom;
using namespace einloom;

FailureOr<MmaShape> einloom::mmaFor(const Contraction &c) {
  Type e = c.elemA;
  if (e.isF16() || e.isBF16())
    return MmaShape::M16N8K16;
  if (e.isF32() && c.tf32)
    return MmaShape::M16N8K8;
  if (e.isSignlessInteger(8) || isa<Float8E4M3FNType, Float8E5M2Type>(e))
    return MmaShape::M16N8K32;
  // f64: the double-precision tensor cores (DMMA, sm_80 and newer).
  if (e.isF64())
    return MmaShape::M8N8K4;
  // f32 without tf32: fused multiply-adds on the CUDA cores.
  if (e.isF32())
    return MmaShape::Fma;
  return failure();
}

/// The CUDA-core kernel's shapes: a 128x128 tile, K in steps of 16, 256
/// threads that each keep an 8x8 block of accumulators; or 64x128, 4x8 a
/// thread.
static PlanAttr fmaPlan(MLIRContext *ctx, int64_t tileM = 128) {
  return PlanAttr::get(ctx, tileM, 128, 16, 4, 2, MmaShape::Fma, /*stages=*/1, /*split_k=*/1,
                       ProducerKind::CpAsync, RasterOrder::RowMajor, /*swizzle=*/1,
                       /*cluster_m=*/1, Schedule::Cooperative, OperandSource::Shared,
                       OperandOrder::AB, /*prefetch=*/1);
}

/// f64's one shape: the same 128x128 tile, K steps of 16, and eight warps
/// (2x4) of 64x32 that each issue 32 m8n8k4 DMMAs per K step of 4.
static PlanAttr dmmaPlan(MLIRContext *ctx) {
  return PlanAttr::get(ctx, 128, 128, 16, 2, 4, MmaShape::M8N8K4, /*stages=*/1, /*split_k=*/1,
                       ProducerKind::CpAsync, RasterOrder::RowMajor, /*swizzle=*/1,
                       /*cluster_m=*/1, Schedule::Cooperative, OperandSource::Shared,
                       OperandOrder::AB, /*prefetch=*/1);
}

/// The one plan of the kernel that runs `mma` (fma or m8n8k4).
static PlanAttr simtPlan(MLIRContext *ctx, MmaShape mma) {
  return mma == MmaShape::M8N8K4 ? dmmaPlan(ctx) : fmaPlan(ctx);
}

int64_t einloom::tileKFor(Type elem) { return 128 / elementBytes(elem); }

static bool isWgmmaShape(MmaShape m) {
  return m == MmaShape::WgmmaK16 || m == MmaShape::WgmmaK32;
}

const Contraction &einloom::oriented(PlanAttr p, const Contraction &c, Contraction &storage) {
  if (c.swapped == (p.getOrder() == OperandOrder::BA))
    return c;
  storage = c.transposed();
  return storage;
}

int64_t einloom::splitReduceBytes(PlanAttr p) {
  if (p.getProducer() != ProducerKind::Tma || p.getSplitK() < 2)
    return 0;
  // wgmma m64nN: N/2 accumulators per consumer thread, 128 threads per
  // warpgroup; after the `ready` and `free` mbarriers (16 bytes).
  return 16 + (p.getNumWarps() / 4) * 128 * (p.getTileN() / 2) * 4;
}

/// A wgmma TMA plan's C staging buffers: two blocks of 64 rows of 128
/// bytes per consumer warpgroup, when C is stored with TMA in whole blocks
/// (tile_n a multiple of a block's 128 bytes of C).
static int64_t wgmmaStagingBytes(int64_t consumers, int64_t tileN, const Contraction &c) {
  bool whole = c.elemC.isIntOrFloat() && (tileN * elementBytes(c.elemC)) % 128 == 0;
  return c.tmaStorable() && whole ? 2 * consumers * 64 * 128 : 0;
}

/// The operand ring: `stages` stages of an A and a B tile.
static int64_t ringBytes(PlanAttr p, const Contraction &c) {
  // A dequantized weight (the kernel's A): tile_m x 64 codes of `bits` each;
  // the TMA kernel aligns B's ring after them to 1024 bytes.
  if (c.quant && c.swapped) {
    int64_t codes = p.getTileM() * p.getTileK() * c.quant->bits / 8 * p.getStages();
    if (p.getProducer() == ProducerKind::Tma)
      codes = (codes + 1023) / 1024 * 1024;
    return codes + p.getTileN() * elementBytes(c.elemB) * p.getTileK() * p.getStages();
  }
  return (p.getTileM() * elementBytes(c.elemA) + p.getTileN() * elementBytes(c.elemB)) *
         p.getTileK() * p.getStages();
}

int64_t einloom::tmaStagingBytes(PlanAttr p, const Contraction &c0) {
  if (p.getProducer() != ProducerKind::Tma)
    return 0;
  Contraction storage;
  const Contraction &c = oriented(p, c0, storage);
  if (isWgmmaShape(p.getMma()))
    return wgmmaStagingBytes(p.getNumWarps() / 4, p.getTileN(), c);
  int64_t wm = p.getTileM() / p.getWarpsM(), wn = p.getTileN() / p.getWarpsN();
  if (!c.tmaStorable() || elementBytes(c.elemC) != 2 || wn % 64)
    return 0;
  // Each warp's whole tile where it fits beside the ring and its barriers in
  // the block's 227 KiB (the TMA kernel is for sm_90a only), else half of
  // it, stored in two passes.
  int64_t whole = p.getNumWarps() * wm * wn * 2;
  int64_t withBarriers = ringBytes(p, c) + 16 * p.getStages();
  return withBarriers + whole <= 227 * 1024 ? whole : whole / 2;
}

int64_t einloom::sharedMemoryBytes(PlanAttr p, const Contraction &c0) {
  Contraction storage;
  const Contraction &c = oriented(p, c0, storage);
  // TMA plans keep two mbarriers (8 bytes each) per stage after the ring,
  // and the C staging buffers.
  // A sparse weight's CTA copies its tile offsets after the ring.
  if (c.sparse) {
    int64_t kTiles = (c.k.size() + p.getTileK() - 1) / p.getTileK();
    int64_t perCta = (kTiles + p.getSplitK() - 1) / p.getSplitK();
    return ringBytes(p, c) + c.sparse->sharedExtraBytes(perCta, p.getNumWarps() * 32);
  }
  // A dequantized weight's staged scales follow the cp.async ring.
  if (p.getProducer() != ProducerKind::Tma)
    return ringBytes(p, c) +
           (c.quant ? p.getStages() * c.quant->stagedScaleBytes(p.getTileM()) : 0);
  // A ping-pong schedule adds two mbarriers that order its consumers.
  int64_t turns = p.getSchedule() == Schedule::PingPong ? 16 : 0;
  return ringBytes(p, c) + 16 * p.getStages() + turns + tmaStagingBytes(p, c) +
         splitReduceBytes(p);
}

int64_t einloom::tmaCtasPerSM(PlanAttr p, const Contraction &c, int64_t smemPerSM) {
  const int64_t reservedPerCta = 1024; // what the driver keeps per CTA
  bool fits = 2 * (sharedMemoryBytes(p, c) + reservedPerCta) <= smemPerSM;
  // Two CTAs an SM leave 128 registers a thread at entry. A cluster's split
  // of K into three or more, whose rank 0 adds the others' partial sums,
  // with scales of the sum in the epilogue (W8A8), spilled 8-28 bytes there
  // (ptxas; found by the fuzzer, 2026-12-07): such a plan runs one CTA an SM.
  // (With the rank-1 term as well, the verifier refuses the split.)
  bool scaledSplit = p.getSplitK() > 2 && (c.epilogue.rowScaleElems || c.epilogue.colScaleElems);
  return p.getProducer() == ProducerKind::Tma && isWgmmaShape(p.getMma()) && p.getWarpsM() == 4 &&
                 p.getTileN() <= 128 && fits && !scaledSplit
             ? 2
             : 1;
}

static double ceilDiv(double a, double b) { return std::ceil(a / b); }

PlanEstimate einloom::estimatePlan(PlanAttr p, const Contraction &c0,
                                   const TargetInfo &t) {
  Contraction storage;
  const Contraction &c = oriented(p, c0, storage);
  PlanEstimate e;
  int64_t bm = p.getTileM(), bn = p.getTileN();
  int64_t wm = bm / p.getWarpsM(), wn = bn / p.getWarpsN();
  e.sharedMemoryBytes = sharedMemoryBytes(p, c);
  int64_t threads = p.getNumWarps() * 32;
  int64_t regs = wm * wn / 32 + 64; // accumulators plus addressing
  bool spCopy = p.getMma() == MmaShape::M16N8K32Sp; // 2:4 through the cp.async ring
  if (c.sparse && !spCopy) // the words of the tiles in flight
    regs += p.getPrefetch() * c.sparse->registersPerTile(bm, threads);
  int bySmem = static_cast<int>(t.smemPerSM / std::max<int64_t>(e.sharedMemoryBytes, 1));
  int byRegs = static_cast<int>(65536 / (threads * regs));
  int byThreads = static_cast<int>(2048 / threads);
  e.ctasPerSM = std::max(1, std::min({bySmem, byRegs, byThreads}));
  if (p.getProducer() == ProducerKind::Tma) // what the kernel launches
    e.ctasPerSM = static_cast<int>(tmaCtasPerSM(p, c, t.smemPerSM));

  int64_t split = p.getSplitK();
  double tiles = c.batch.size() * ceilDiv(c.m.size(), bm) * ceilDiv(c.n.size(), bn) * split;
  double slots = double(t.numSMs) * e.ctasPerSM;
  e.waves = tiles / slots;
  // A warp tile re-reads (wm + wn) rows of shared memory per wm x wn outputs;
  // small warp tiles spend more of their time on ldmatrix than on mma.
  double efficiency = double(wm * wn) / double(wm * wn + 16 * (wm + wn));
  // Element-by-element copies (no 16-byte path for an operand at this tile
  // size) cost far more than the MMAs they feed.
  for (char operand : {'A', 'B'})
    if (StringRef(c.operandLayout(operand, operand == 'A' ? bm : bn)) == "elementwise")
      efficiency *= 0.25;
  double kPadded = ceilDiv(ceilDiv(c.k.size(), p.getTileK()), split) * p.getTileK();
  // A block-sparse weight's K loop visits its stored blocks only.
  double blockDensity = c.sparse && c.sparse->blockCsr() ? c.sparse->density : 1.0;
  double tileFlops = 2.0 * bm * bn * kPadded * blockDensity;
  // mma.sp multiplies the 2:4 weight's kept half: half the tensor-core work
  // (and half the A fragments read from shared memory).
  if (spCopy)
    tileFlops *= 0.5;
  bool isWgmma = isWgmmaShape(p.getMma());
  // wgmma: cuBLAS's measured 764 TFLOP/s on an H100 stands in for its rate
  // (twice that for 8-bit types, as cuBLASLt's fp8 reaches 1280);
  // the warp-tile model above does not apply (one warpgroup, 64 x tile_n).
  // CUDA cores: 128 FP32 lanes per SM at about 1.7 GHz, two FLOPs per FMA;
  // FP64 at half that (an H100's non-tensor rates).
  double fmaRate = t.numSMs * 128 * 2 * 1.7e9 * (c.elemA.isF64() ? 0.5 : 1.0);
  // DMMA: 256 FLOPs per SM and clock on sm_90 (an H100's 67 TFLOP/s), 128
  // on the A100 (19.5); the consumer parts run it far slower.
  double dmmaRate = t.numSMs * 1.7e9 * (t.smVersion >= 90 ? 256 : t.smVersion == 80 ? 128 : 4);
  double rate = isWgmma ? (p.getMma() == MmaShape::WgmmaK32 ? 1528e12 : 764e12)
                : p.getMma() == MmaShape::Fma    ? fmaRate
                : p.getMma() == MmaShape::M8N8K4 ? dmmaRate
                                                 : t.mmaRate(c.elemA, c.tf32);
  // Measured on an H100 (same run): 128x256 tiles ran 495-538 TFLOP/s and
  // 128x128 tiles 392-445, so narrower wgmma tiles are rated lower.
  if (isWgmma)
    efficiency = p.getTileN() >= 256 ? 0.9 : 0.75;
  // The warp-specialized TMA kernel keeps the tensor cores fed without the
  // consumers issuing copies; rated above the cp.async kernel so that it is
  // chosen wherever TMA can describe the operands.
  // (Not for a dequantized weight: its TMA form ran 1.00-1.09x the cp.async
  // form at 128 tokens on the H100, 2026-12-07; rated the same, the
  // cp.async form, listed first, wins the tie.)
  if (isWgmma && p.getProducer() == ProducerKind::Tma && !c.quant)
    efficiency = p.getTileN() >= 256 ? 0.95 : 0.8;
  double perSM = rate / t.numSMs;
  e.computeSeconds = std::ceil(e.waves) * e.ctasPerSM * tileFlops / (perSM * efficiency);
  e.flops = int64_t(double(c.flops()) * blockDensity);
  e.bytes = c.minBytes();
  bool clusterSplit = split > 1 && p.getProducer() == ProducerKind::Tma;
  if (split > 1 && !clusterSplit) // partial sums written and read back once
    e.bytes += 2 * split * c.batch.size() * c.m.size() * c.n.size() * elementBytes(c.acc);
  // Streaming at DRAM speed needs loads issued from most SMs (one SM
  // reaches a few times its share of the bandwidth), and the SM that moves
  // the most bytes finishes last: with T tiles (times splits) on A CTAs
  // running at once, a CTA takes up to ceil(T / A) tiles and an SM holds
  // up to ceil(A / SMs) CTAs, against T / SMs tiles per SM in a perfect
  // balance. (Measured on the H200, 64x16 tiles of a 117 MB weight: 224
  // CTAs, 92 SMs with two, streamed at 0.84 of copy bandwidth, 128 CTAs on
  // 128 SMs of a 470 MB one at 0.99.)
  double active = std::min(tiles, slots);
  double smsBusy = std::min<double>(t.numSMs, active);
  double share = std::min(1.0, 4 * smsBusy / t.numSMs);
  double imbalance = std::max(1.0, std::ceil(tiles / active) * std::ceil(active / t.numSMs) /
                                       std::max(1.0, tiles / t.numSMs));
  e.bandwidth = t.dramBytesPerSec * share / imbalance;
  e.memorySeconds = double(e.bytes) / e.bandwidth;
  // A cluster's split ends each tile with a reduction through distributed
  // shared memory; the cp.async split with a second kernel.
  double fixed = clusterSplit ? 3e-6 + std::ceil(e.waves) * 0.5e-6 : split > 1 ? 6e-6 : 3e-6;
  e.seconds = std::max(e.computeSeconds, e.memorySeconds) + fixed;
  // A sparse weight's CTA waits for each tile's words (a round trip to
  // DRAM) unless `prefetch` tiles are in flight: on the H100 one tile in
  // flight took 0.7-0.9 us a K tile whatever the density (2026-12-06).
  if (c.sparse && c.sparse->registerPipeline() && !spCopy) {
    double perTile = 0.8e-6 / double(p.getPrefetch());
    e.latencySeconds = std::ceil(e.waves) * (kPadded / p.getTileK()) * perTile;
    // The two overlap imperfectly: a tenth of the shorter is added (which
    // also prefers the deeper prefetch where the bytes bound both).
    double base = e.seconds;
    e.seconds = std::max(base, e.latencySeconds + fixed) + 0.1 * std::min(base, e.latencySeconds);
  }
  return e;
}

/// Whether a split sum can carry `c`'s fused epilogue: the second kernel
/// that sums the split applies it to a float sum; an integer sum's
/// requantization stays in one kernel.
static bool splitCarriesEpilogue(const Contraction &c) {
  return c.epilogue.empty() || !isa<IntegerType>(c.acc);
}

/// split_k against K's tiles and the epilogue (a split sums in a second
/// kernel, which applies a float sum's epilogue, or in a cluster).
static LogicalResult verifySplitK(PlanAttr p, const Contraction &c, bool clusterSplit,
                                  function_ref<InFlightDiagnostic()> emitError) {
  int64_t kTiles = (c.k.size() + p.getTileK() - 1) / p.getTileK();
  if (p.getSplitK() > 1 && !clusterSplit && !splitCarriesEpilogue(c))
    return emitError() << "split_k = " << p.getSplitK()
                       << " cannot carry the fused epilogue of an integer sum; use split_k = 1";
  if (p.getSplitK() > kTiles)
    return emitError() << "split_k = " << p.getSplitK() << " exceeds the " << kTiles
                       << " K tiles of " << p.getTileK();
  return success();
}

/// The plan's shared memory against the target's per-block limit.
static LogicalResult verifySharedMemory(PlanAttr p, const Contraction &c, const TargetInfo &t,
                                        function_ref<InFlightDiagnostic()> emitError) {
  int64_t smem = sharedMemoryBytes(p, c);
  if (smem > t.smemPerBlock)
    return emitError() << "the plan needs " << smem / 1024 << " KiB of shared memory; "
                       << t.chip << " allows " << t.smemPerBlock / 1024 << " KiB per block";
  return success();
}

/// What the weight kernels (mixed-input, sparse) ask of the warp grid and
/// the activations (B, read by cp.async in 16-byte chunks along K).
static LogicalResult verifyWeightWarpsAndActivations(PlanAttr p, const Contraction &c,
                                                     StringRef kernel,
                                                     function_ref<InFlightDiagnostic()> emitError) {
  int64_t wm = p.getTileM() / p.getWarpsM(), wn = p.getTileN() / p.getWarpsN();
  if (wm % 16 || wn % 16 || p.getTileM() % p.getWarpsM() || p.getTileN() % p.getWarpsN())
    return emitError() << "each warp's tile (" << wm << "x" << wn
                       << ") must be a multiple of 16x16";
  if ((p.getTileN() * 8) % (p.getNumWarps() * 32))
    return emitError() << "the activations' 16-byte chunks must divide evenly among "
                       << p.getNumWarps() * 32 << " threads";
  if (StringRef(c.operandLayout('B', p.getTileN())) != "k-major")
    return emitError() << "the " << kernel
                       << " kernel needs the activations contiguous along K in 16-byte chunks "
                          "(K = "
                       << c.k.size() << " must be a multiple of "
                       << 128 / c.elemB.getIntOrFloatBitWidth() << "); they are "
                       << c.operandLayout('B', p.getTileN());
  return success();
}
/// The mixed-input kernel (a dequantized weight): the cp.async mma.sync
/// pipeline with the weight's packed codes as the MMA's A (order = ba),
/// dequantized in registers, and the activations as B.
static LogicalResult verifyMixedInputPlan(PlanAttr p, const Contraction &c, const TargetInfo &t,
                                          function_ref<InFlightDiagnostic()> emitError) {
  const WeightQuant &q = *c.quant;
  if (!c.swapped)
    return emitError() << "a dequantized weight is the MMA's A operand: the plan needs "
                          "order = ba";
  // (A dynamic token count is the transposed product's N: the kernel takes
  // it at launch.)
  if (!c.elemA.isF16() && !c.elemA.isBF16())
    return emitError() << "the mixed-input kernel dequantizes to f16 or bf16, not " << c.elemA;
  if (!ref::isAFragmentWidth(q.bits))
    return emitError() << q.bits
                       << "-bit codes have no register dequantization (2, 3, 4 or 8 bits)";
  if (q.zeroType && (!q.zeroType.isSignlessInteger() || q.zeroType.getIntOrFloatBitWidth() > 32))
    return emitError() << "zero points must be integers of at most 32 bits, not " << q.zeroType;
  // Two cores: mma.sync m16n8k16, or on sm_90a wgmma m64nNk16 with the
  // dequantized codes as its register A (warps_m x 1 warps of 16 rows,
  // one or two warpgroups), fed by cp.async or by a producer warpgroup's
  // bulk copies and TMA (producer = tma).
  bool wgmma = p.getMma() == MmaShape::WgmmaK16;
  bool tma = p.getProducer() == ProducerKind::Tma;
  if ((p.getMma() != MmaShape::M16N8K16 && !wgmma) ||
      (p.getProducer() != ProducerKind::CpAsync && !(wgmma && tma)))
    return emitError() << "the mixed-input kernel runs mma.sync m16n8k16 or wgmma_k16 fed by "
                          "cp.async, or wgmma_k16 fed by TMA (mma = m16n8k16 or wgmma_k16, "
                          "producer = cp_async; or mma = wgmma_k16, producer = tma)";
  if (tma) {
    if (p.getSplitK() != 1 || p.getClusterM() != 1 || p.getSchedule() != Schedule::Cooperative)
      return emitError() << "the TMA mixed-input kernel runs one CTA a tile: split_k = 1, "
                            "cluster_m = 1, schedule = cooperative";
    if (c.dynamicLabel || !c.batch.modes.empty())
      return emitError() << "the TMA mixed-input kernel takes static, unbatched shapes; "
                            "producer = cp_async takes "
                         << (c.dynamicLabel ? "a dynamic token count" : "a batch");
    SmallVector<int64_t> dims, strides;
    std::string why;
    if (failed(c.tensorMapFor('B', dims, strides, why)))
      return emitError() << "TMA cannot describe the activations: " << why;
    // Measured on the H100 (2026-12-07, gpu-check quant): with more than
    // one tile of tokens every output misses about one K tile's
    // contribution (rel 0.04-0.19 at K = 256-8192, every width, group and
    // tile size tried), while one tile column is correct. Until that is
    // found, the form takes one tile column.
    if (c.n.size() > p.getTileN())
      return emitError() << "the TMA mixed-input kernel gave wrong results with more than one "
                            "tile of tokens (H100, 2026-12-07); it takes at most tile_n = "
                         << p.getTileN() << " tokens, not " << c.n.size()
                         << " (producer = cp_async takes any count)";
    // ptxas spills it (124-316 bytes; found by the fuzzer, 2026-12-07)
    // with tiles 256 tokens wide when the weight's rows fit one tile, so
    // that the grid has one tile; more rows, or narrower tiles, do not.
    if (p.getTileN() == 256 && c.m.size() <= p.getTileM())
      return emitError() << "the TMA mixed-input kernel with tiles of 256 tokens spills registers "
                            "(ptxas) when the weight's "
                         << c.m.size() << " rows fit one tile of " << p.getTileM()
                         << "; take tile_n <= 128 or producer = cp_async";
  }
  if (p.getTileK() != 64)
    return emitError() << "the mixed-input kernel reads the packed weight in tiles of 64 k "
                          "(tile_k = 64), not "
                       << p.getTileK();
  if (wgmma) {
    if (!t.archSpecific)
      return emitError() << "wgmma needs target sm_90a, not " << t.chip;
    if (p.getASource() != OperandSource::Registers)
      return emitError() << "the wgmma mixed-input kernel dequantizes the codes into "
                            "registers: the plan needs a_source = registers";
    if (p.getWarpsN() != 1 || (p.getWarpsM() != 4 && p.getWarpsM() != 8) ||
        p.getTileM() != 16 * p.getWarpsM() || p.getTileN() > 256)
      return emitError() << "a wgmma mixed-input plan is one or two warpgroups of 64 weight "
                            "rows (warps_m = 4 or 8, warps_n = 1, tile_m = 16 warps_m) and "
                            "tile_n <= 256";
    if (p.getStages() < (tma ? 2 : 3))
      return emitError() << "the wgmma pipeline needs at least " << (tma ? 2 : 3) << " stages";
  }
  if (failed(verifyWeightWarpsAndActivations(p, c, "mixed-input", emitError)))
    return failure();
  if (p.getStages() < 2)
    return emitError() << "the cp.async pipeline needs at least 2 stages";
  if (failed(verifySplitK(p, c, /*clusterSplit=*/false, emitError)))
    return failure();
  return verifySharedMemory(p, c, t, emitError);
}

/// The sparse kernel (a Tiled-CSL weight): the mixed-input kernel's
/// pipeline with the weight's tiles scattered into the dense A stages.
static LogicalResult verifySparsePlan(PlanAttr p, const Contraction &c, const TargetInfo &t,
                                      function_ref<InFlightDiagnostic()> emitError) {
  const SparseWeight &w = *c.sparse;
  if (!c.swapped)
    return emitError() << "a sparse weight is the MMA's A operand: the plan needs order = ba";
  if (w.blockCsr()) {
    if (c.dynamicLabel)
      return emitError() << "a block-sparse weight needs static shapes";
    if (p.getMma() != MmaShape::M16N8K16 || p.getProducer() != ProducerKind::BlockCsr ||
        p.getTileM() != 64 || p.getTileK() != 64)
      return emitError() << "the block-sparse kernel runs mma.sync m16n8k16 with the "
                            "block_csr producer on the blocks' 64 x 64 (mma = m16n8k16, "
                            "producer = block_csr, tile_m = 64, tile_k = 64)";
    if (p.getSplitK() != 1 || p.getPrefetch() != 1)
      return emitError() << "the block-sparse kernel walks a block row in one CTA "
                            "(split_k = 1, prefetch = 1)";
    if (failed(verifyWeightWarpsAndActivations(p, c, "block-sparse", emitError)))
      return failure();
    if (p.getStages() < 2)
      return emitError() << "the cp.async pipeline needs at least 2 stages";
    return verifySharedMemory(p, c, t, emitError);
  }
  if (c.dynamicLabel)
    return emitError() << "a sparse weight needs static shapes (the dynamic dimension '"
                       << c.dynamicLabel << "' is not supported with it yet)";
  ProducerKind producer = sparseProducer(w);
  StringRef name = stringifyProducerKind(producer);
  if (p.getProducer() != producer ||
      (p.getMma() != MmaShape::M16N8K16 && !(w.twoFour() && p.getMma() == MmaShape::M16N8K32Sp)))
    return emitError() << "the sparse kernel runs mma.sync m16n8k16 with the " << name
                       << " producer (mma = m16n8k16, producer = " << name << ")"
                       << (w.twoFour() ? "; 2:4 also runs mma.sp (mma = m16n8k32_sp)" : "");
  if (p.getMma() == MmaShape::M16N8K32Sp && (p.getPrefetch() != 1 || c.k.size() % 64 != 0))
    return emitError() << "the mma.sp form copies whole 64-column tiles of the 2:4 weight with "
                          "cp.async through the stages (prefetch = 1, K a multiple of 64; K = "
                       << c.k.size() << ", prefetch = " << p.getPrefetch()
                       << "); mma = m16n8k16 decodes other shapes";
  if (w.twoFour() && ((p.getTileM() != 64 && p.getTileM() != 128) || p.getTileK() != 64))
    return emitError() << "the 2:4 kernel decodes tiles of 64 or 128 rows by 64 columns "
                          "(tile_m = 64 or 128, tile_k = 64), not "
                       << p.getTileM() << " x " << p.getTileK();
  if (!w.twoFour() && (p.getTileM() != w.tileRows || p.getTileK() != w.tileCols))
    return emitError() << "the sparse kernel's tile is the format's: tile_m = " << w.tileRows
                       << " and tile_k = " << w.tileCols << ", not " << p.getTileM() << " and "
                       << p.getTileK();
  if (p.getNumWarps() != 4)
    return emitError() << "the sparse kernel runs 4 warps, not " << p.getNumWarps();
  if (failed(verifyWeightWarpsAndActivations(p, c, "sparse", emitError)))
    return failure();
  if (p.getStages() < 3)
    return emitError() << "the sparse kernel scatters a tile two stages ahead: it needs at "
                          "least 3 stages";
  int64_t perTile = w.registersPerTile(p.getTileM(), p.getNumWarps() * 32);
  if (p.getPrefetch() * perTile > SparseWeight::mostWordRegisters)
    return emitError() << "prefetch = " << p.getPrefetch() << " keeps "
                       << p.getPrefetch() * perTile << " registers of words a thread (at most "
                       << SparseWeight::mostWordRegisters << ")";
  // With 128 tokens a tile the accumulators and fragments leave room for
  // two tiles of words: ptxas (CUDA 13, sm_90a, 2026-12-07) spilled 2:4
  // (both forms) from prefetch = 3 and bitmap at 4, where prefetch = 2
  // took 222-255 registers without spills.
  if (p.getTileN() > 64 && p.getPrefetch() > 2)
    return emitError() << "prefetch = " << p.getPrefetch() << " with tile_n = " << p.getTileN()
                       << " spills registers: at most 2 tiles of words in flight past 64 tokens "
                          "a tile";
  if (failed(verifySplitK(p, c, /*clusterSplit=*/false, emitError)))
    return failure();
  return verifySharedMemory(p, c, t, emitError);
}

LogicalResult
einloom::verifyPlanForTarget(PlanAttr p, const Contraction &c0, const TargetInfo &t,
                             function_ref<InFlightDiagnostic()> emitError) {
  Contraction storage;
  const Contraction &c = oriented(p, c0, storage);
  // Block scales: the TMA wgmma kernel promotes each block's partial sums
  // (an f32 accumulator of its own) into the result's registers, times
  // the block's two scales, once per scale_block K; one column scale a
  // tile.
  if (int64_t bk = c.epilogue.blockK) {
    if (!isWgmmaShape(p.getMma()) || p.getProducer() != ProducerKind::Tma)
      return emitError() << "block scales are applied by the TMA wgmma kernel (sm_90a: mma = "
                            "wgmma_k16/wgmma_k32, producer = tma)";
    if (!c.acc.isF32())
      return emitError() << "block scales take a float (f32) accumulator, not " << c.acc;
    if (bk % p.getTileK())
      return emitError() << "scale_block's K (" << bk << ") is not a multiple of tile_k ("
                         << p.getTileK() << "): each block's sum must end at a K tile";
    if (p.getSplitK() != 1 && bk != p.getTileK())
      return emitError() << "split_k with block scales takes blocks of one K tile (scale_block's "
                            "K = tile_k = "
                         << p.getTileK() << ")";
    // The weight's blocks along the tile's weight side: N (order = ab) or,
    // transposed, M.
    int64_t side = c.swapped ? p.getTileM() : p.getTileN();
    if (c.epilogue.blockN % side)
      return emitError() << "scale_block's N (" << c.epilogue.blockN << ") is not a multiple of "
                         << (c.swapped ? "tile_m" : "tile_n") << " (" << side
                         << "): a tile reads one weight scale a block";
  }
  // A block mask: the cp.async kernel (mma.sync, or wgmma on sm_90a) reads
  // a tile's mask byte before its main loop (a tile is a block, A and B in
  // the einsum's order, one kernel); so do the TMA kernel's producer and
  // consumers, cooperative and unclustered (each tile's byte sets how far
  // the ring advances).
  if (c.epilogue.maskElems) {
    if (p.getMma() == MmaShape::Fma)
      return emitError() << "a block mask is read by the tensor-core kernels; f32 operands run "
                            "on the CUDA cores unless allow_tf32 (--tf32) is given";
    bool tma = p.getProducer() == ProducerKind::Tma;
    if ((!tma && p.getProducer() != ProducerKind::CpAsync) || p.getStages() < 2 ||
        p.getOrder() != OperandOrder::AB || c.swapped || p.getSplitK() != 1)
      return emitError() << "a block mask is read by the cp.async and TMA kernels (producer = "
                            "cp_async or tma, 2 or more stages, order = ab, split_k = 1)";
    bool wgmma = p.getMma() == MmaShape::WgmmaK16 || p.getMma() == MmaShape::WgmmaK32;
    if (tma && (!wgmma || p.getClusterM() != 1 || p.getSchedule() != Schedule::Cooperative))
      return emitError() << "the TMA kernel reads a block mask with wgmma, cooperative "
                            "consumers and no cluster (schedule = cooperative, cluster_m = 1; "
                            "its mma.sync form spilled 20 bytes with one)";
    if (p.getTileM() != c.epilogue.maskBlockM || p.getTileN() != c.epilogue.maskBlockN)
      return emitError() << "the tile (" << p.getTileM() << "x" << p.getTileN()
                         << ") must be the block mask's block (" << c.epilogue.maskBlockM << "x"
                         << c.epilogue.maskBlockN << ")";
  }
  if (c.quant)
    return verifyMixedInputPlan(p, c, t, emitError);
  if (c.sparse)
    return verifySparsePlan(p, c, t, emitError);
  if (isSparseProducer(p.getProducer()))
    return emitError() << "producer = " << stringifyProducerKind(p.getProducer()) << " needs a "
                       << stringifyProducerKind(p.getProducer()) << " sparse weight";
  if (c.swapped && c.dynamicLabel)
    return emitError() << "order = ba (the transposed product) needs static shapes; the "
                          "dynamic dimension '"
                       << c.dynamicLabel << "' leads the first operand";
  FailureOr<MmaShape> want = mmaFor(c);
  if (failed(want))
    return emitError() << "no instruction for " << c.elemA << " operands";
  // The fma plan and the one-stage DMMA plan (the CUDA-core kernel's
  // tiling) are one each; DMMA plans of two or more stages run the
  // pipelined mma.sync kernel, checked below.
  auto simt = [&](MmaShape m) {
    return m == MmaShape::Fma || (m == MmaShape::M8N8K4 && p.getStages() == 1);
  };
  if (*want == MmaShape::Fma || simt(p.getMma())) {
    if (p.getMma() != *want)
      return emitError() << "plan instruction " << stringifyMmaShape(p.getMma())
                         << " does not fit " << c.elemA << " operands; expected "
                         << stringifyMmaShape(*want);
    PlanAttr only = simtPlan(p.getContext(), *want);
    if (*want == MmaShape::Fma && p != only && p != fmaPlan(p.getContext(), 64))
      return emitError() << "the CUDA-core (fma) kernel has two plans: " << only << " and "
                         << fmaPlan(p.getContext(), 64);
    if (*want != MmaShape::Fma && p != only)
      return emitError() << "the f64 (DMMA) kernel has one plan: " << only;
    return success();
  }
  if (!t.supportsMma(c.elemA))
    return emitError() << c.elemA << " tensor-core math needs sm_89 or newer; "
                       << "target " << t.chip << " does not have it";
  // fp8 mma.sync on Hopper in 64x64 warp tiles reached 255 registers and
  // spilled 144 bytes in ptxas (f16 and s8 fit, at 254-255; found by the
  // fuzzer, 2026-12-07); narrower warp tiles do not.
  if (isa<Float8E4M3FNType, Float8E5M2Type>(c.elemA) && !isWgmmaShape(p.getMma()) &&
      t.smVersion >= 90 && p.getTileM() / p.getWarpsM() >= 64 && p.getTileN() / p.getWarpsN() >= 64)
    return emitError() << "fp8 mma.sync on " << t.chip << " spills registers (ptxas) in warp "
                       << "tiles of " << p.getTileM() / p.getWarpsM() << "x"
                       << p.getTileN() / p.getWarpsN() << "; take warp tiles below 64x64";
  if (isWgmmaShape(p.getMma())) {
    if (!t.archSpecific)
      return emitError() << "wgmma needs target sm_90a, not " << t.chip;
    bool sixteen = c.elemA.isF16() || c.elemA.isBF16();
    bool eight = c.elemA.isSignlessInteger(8) || isa<Float8E4M3FNType, Float8E5M2Type>(c.elemA);
    if (!(sixteen && p.getMma() == MmaShape::WgmmaK16) &&
        !(eight && p.getMma() == MmaShape::WgmmaK32))
      return emitError() << "wgmma_k16 takes f16 or bf16 and wgmma_k32 takes s8 or fp8 "
                            "operands, not "
                         << c.elemA;
    bool kMajor = StringRef(c.operandLayout('A', p.getTileM())) == "k-major" &&
                  StringRef(c.operandLayout('B', p.getTileN())) == "k-major";
    if (!kMajor && p.getProducer() != ProducerKind::Tma)
      return emitError() << "the cp.async wgmma kernel needs both operands contiguous along K";
    // ldmatrix reads the K-major stage (TMA's M-major tiles are wgmma's own
    // MN-major atoms, which register fragments do not follow).
    if (p.getASource() == OperandSource::Registers &&
        StringRef(c.operandLayout('A', p.getTileM())) != "k-major")
      return emitError() << "a_source = registers needs A contiguous along K; this A is "
                         << c.operandLayout('A', p.getTileM());
    // (The TMA kernel's ring works with two: the producer fills one stage
    // while the consumers read the other.)
    if (p.getStages() < (p.getProducer() == ProducerKind::Tma ? 2 : 3))
      return emitError() << "the wgmma pipeline needs at least "
                         << (p.getProducer() == ProducerKind::Tma ? 2 : 3) << " stages";
    bool pingpong = p.getSchedule() == Schedule::PingPong;
    if (p.getWarpsN() != 1 || p.getTileM() != (pingpong ? 64 : 16 * p.getWarpsM()) ||
        p.getTileN() > 256 || p.getTileK() != tileKFor(c.elemA))
      return emitError() << "a wgmma plan is warps_m x 1 warps of 16 rows each (ping-pong: "
                            "two warpgroups on 64-row tiles), tile_n <= 256 and tile_k = "
                         << tileKFor(c.elemA);
  } else if (p.getMma() != *want)
    return emitError() << "plan instruction " << stringifyMmaShape(p.getMma())
                       << " does not fit " << c.elemA << " operands; expected "
                       << stringifyMmaShape(*want);
  if (p.getTileK() != tileKFor(c.elemA))
    return emitError() << "tile_k must be " << tileKFor(c.elemA)
                       << " for " << c.elemA
                       << " (one 128-byte shared-memory row), got " << p.getTileK();
  int64_t wm = p.getTileM() / p.getWarpsM(), wn = p.getTileN() / p.getWarpsN();
  bool isWgmma = isWgmmaShape(p.getMma());
  if (!isWgmma && (wm % 16 || wn % 16))
    return emitError() << "each warp's tile (" << wm << "x" << wn
                       << ") must be a multiple of 16x16";
  // DMMA keeps two f64 (four registers) per 8x8 of a warp's tile.
  if (p.getMma() == MmaShape::M8N8K4) {
    if (wm * wn > 64 * 32)
      return emitError() << "a DMMA warp's tile is at most 64x32 or 32x64 (its f64 "
                            "accumulators take four registers per 8x8), not "
                         << wm << "x" << wn;
    if (p.getProducer() != ProducerKind::CpAsync)
      return emitError() << "DMMA plans are fed by cp.async (producer = cp_async)";
  }
  // (The copy engine moves whole tiles: only cp.async spreads chunks over
  // the threads.)
  if (p.getProducer() != ProducerKind::Tma &&
      ((p.getTileM() * 8) % (p.getNumWarps() * 32) ||
       (p.getTileN() * 8) % (p.getNumWarps() * 32)))
    return emitError() << "the tile's 16-byte chunks must divide evenly among "
                       << p.getNumWarps() * 32 << " threads";
  int64_t kTiles = (c.k.size() + p.getTileK() - 1) / p.getTileK();
  bool clusterSplit = p.getSplitK() > 1 && p.getProducer() == ProducerKind::Tma;
  if (failed(verifySplitK(p, c, clusterSplit, emitError)))
    return failure();
  if (clusterSplit) {
    // Split r sums K tiles [r * per, (r + 1) * per): each must have one.
    int64_t per = (kTiles + p.getSplitK() - 1) / p.getSplitK();
    if ((p.getSplitK() - 1) * per >= kTiles)
      return emitError() << "split_k = " << p.getSplitK() << " over " << kTiles
                         << " K tiles leaves the last split none (" << per
                         << " each); choose a split that divides them more evenly";
  }
  if (p.getSchedule() == Schedule::PingPong && p.getProducer() != ProducerKind::Tma)
    return emitError() << "a ping-pong schedule needs the TMA kernel (producer = tma)";
  if (p.getProducer() == ProducerKind::Tma) {
    // The warp-specialized kernel gives the producer's registers to the
    // consumers with setmaxnreg, an sm_90a instruction.
    if (!t.archSpecific)
      return emitError() << "the TMA kernel (warp-specialized, setmaxnreg) needs target "
                            "sm_90a, not "
                         << t.chip;
    // The TMA kernel splits K across a cluster of split_k CTAs, which sum
    // their partials through distributed shared memory (at most 8 CTAs, the
    // portable cluster size).
    if (p.getSplitK() > 8)
      return emitError() << "the TMA kernel splits K across a cluster of at most 8 CTAs, "
                            "not "
                         << p.getSplitK();
    if (p.getSplitK() > 1 &&
        (!isWgmma || p.getSchedule() != Schedule::Cooperative ||
         p.getASource() != OperandSource::Shared))
      return emitError() << "split_k in the TMA kernel takes wgmma consumers in the "
                            "cooperative schedule with A in shared memory";
    if (isWgmma && p.getWarpsM() != 4 && p.getWarpsM() != 8)
      return emitError() << "the TMA kernel runs one or two consumer warpgroups "
                            "(warps_m = 4 or 8)";
    if (!isWgmma) {
      // mma.sync consumers: any warp grid of one or two warpgroups, reading
      // K-major stages with ldmatrix.
      if (p.getNumWarps() != 4 && p.getNumWarps() != 8)
        return emitError() << "the TMA kernel runs one or two consumer warpgroups "
                              "(warps_m x warps_n = 4 or 8)";
      if (p.getSchedule() == Schedule::PingPong)
        return emitError() << "a ping-pong schedule runs wgmma (mma = wgmma_k16 or wgmma_k32)";
      if (p.getTileM() > 256 || p.getTileN() > 256)
        return emitError() << "a TMA box spans at most 256 rows; tile " << p.getTileM() << "x"
                           << p.getTileN() << " is larger";
      if (StringRef(c.operandLayout('A', p.getTileM())) != "k-major" ||
          StringRef(c.operandLayout('B', p.getTileN())) != "k-major")
        return emitError() << "the TMA kernel with mma.sync needs both operands contiguous "
                              "along K (A is "
                           << c.operandLayout('A', p.getTileM()) << ", B is "
                           << c.operandLayout('B', p.getTileN()) << ")";
    }
    // Measured on the H100 (2026-12-07): order = ba with A from registers
    // in the TMA kernel gave wrong results with more than one tile column
    // ("mk,nk->mn" with m = 1000 tokens, rel 0.10; the same with A in shared
    // memory, or one tile column, passed). Skinny plans have one.
    if (c.swapped && p.getASource() == OperandSource::Registers && c.n.size() > p.getTileN())
      return emitError() << "order = ba with a_source = registers in the TMA kernel gave wrong "
                            "results with more than one tile column (H100, 2026-12-07); it takes "
                            "N <= tile_n = "
                         << p.getTileN() << ", not " << c.n.size();
    if (p.getSchedule() == Schedule::PingPong && (p.getWarpsM() != 8 || p.getClusterM() != 1))
      return emitError() << "a ping-pong schedule takes two consumer warpgroups (warps_m = 8) "
                            "and no cluster";
    // ptxas spilled every such plan tried (8-432 bytes, splits 2-6, tiles of
    // 64 and 128 rows; found by the fuzzer, 2026-12-07): rank 0's sum of the
    // partials with the rank-1 term beside the scales.
    if (p.getSplitK() > 1 && c.epilogue.rowZeroType)
      return emitError() << "the TMA kernel's split of K with a rank-1 term (row_zero and "
                            "col_sum) spills registers (ptxas); take split_k = 1, or "
                            "producer = cp_async, whose split sums in a second kernel";
    SmallVector<int64_t> dims, strides;
    std::string why;
    bool mnA = false, mnB = false;
    if (failed(c.tensorMapFor('A', dims, strides, why, &mnA)) ||
        failed(c.tensorMapFor('B', dims, strides, why, &mnB)))
      return emitError() << "TMA cannot describe the operands (" << why
                         << "); the cp.async producer handles them";
    if ((mnA || mnB) && elementBytes(c.elemA) != 2)
      return emitError() << "wgmma reads M- or N-contiguous (transposed) operands only for "
                            "16-bit types, not "
                         << c.elemA;
    if ((mnA && p.getTileM() % 64) || (mnB && p.getTileN() % 64))
      return emitError() << "M- or N-contiguous operands are copied in 64-row boxes; "
                            "the tile must be a multiple of 64";
    // A multicast B box must lie inside B along N. Measured on the H200:
    // bik,bjk->bij (48, 1023, 511, 80) in clusters of two gave rel 2.2e-2
    // (1024 x 511: 0.15) at interior elements that moved from run to run,
    // while 1023 x 512, the same plan without clusters, and one tile per
    // cluster all passed; N a multiple of tile_n passes.
    if (p.getClusterM() > 1 && c.n.size() % p.getTileN())
      return emitError() << "clusters share B by multicast only where tile_n divides N (a "
                            "multicast box that overhangs B gave wrong results on the H200); N = "
                         << c.n.size() << ", tile_n = " << p.getTileN();
    // Each CTA of a cluster copies tile_n / cluster_m of B and multicasts it:
    // an N-contiguous B only in whole 64-row boxes (a 32-row share hung on
    // the H100, run BR).
    if (mnB && (p.getTileN() / p.getClusterM()) % 64)
      return emitError() << "an N-contiguous B is shared in a cluster in whole 64-row boxes: "
                            "tile_n / cluster_m = "
                         << p.getTileN() / p.getClusterM() << " is not a multiple of 64";
  } else if (p.getProducer() != ProducerKind::CpAsync) {
    return emitError() << "producer '" << stringifyProducerKind(p.getProducer())
                       << "' is not supported by code generation yet";
  }
  return verifySharedMemory(p, c, t, emitError);
}

/// The skinny plans: a few rows (tokens) against a large operand, as in
/// LLM decode, where the time is the time to stream the large operand once.
/// The narrow side goes on the MMA's N, as few as 8 columns for wgmma and
/// 16 for mma.sync: for a small M the transposed product (order = ba) puts
/// the large operand's rows on the instruction's wide M side instead of
/// wasting most of each tile. K is split so that every SM streams: on
/// sm_90a across a cluster whose CTAs sum their partials through
/// distributed shared memory (the TMA kernel, a ring as deep as shared
/// memory allows), elsewhere into a workspace a second kernel adds up.
static void addSkinnyCandidates(const Contraction &c, const TargetInfo &t, MLIRContext *ctx,
                                MmaShape mma, function_ref<void(PlanAttr)> consider) {
  int64_t M = c.m.size(), N = c.n.size();
  if (c.dynamicLabel || std::min(M, N) > 64 || std::max(M, N) <= 64)
    return;
  OperandOrder order = M <= N ? OperandOrder::BA : OperandOrder::AB;
  Contraction storage;
  const Contraction &cs = order == OperandOrder::BA ? (storage = c.transposed()) : c;
  int64_t narrow = cs.n.size();
  int64_t tk = tileKFor(cs.elemA);
  int64_t kTiles = (cs.k.size() + tk - 1) / tk;
  bool sixteen = cs.elemA.isF16() || cs.elemA.isBF16();
  bool eightBit = cs.elemA.isSignlessInteger(8) || isFp8(cs.elemA);
  SmallVector<int64_t> dims, strides;
  std::string why;
  bool mnA = false, mnB = false;
  bool tma = t.archSpecific && (sixteen || eightBit) &&
             succeeded(cs.tensorMapFor('A', dims, strides, why, &mnA)) &&
             succeeded(cs.tensorMapFor('B', dims, strides, why, &mnB)) &&
             (sixteen || (!mnA && !mnB));
  if (tma) {
    // wgmma's N: a multiple of 8 (of 16 above 32 for s8).
    int64_t tn = 0;
    for (int64_t v : {8, 16, 24, 32, 48, 64})
      if (!tn && v >= narrow && (!mnB || v % 64 == 0))
        tn = v;
    for (int64_t bm : {64, 128}) {
      if (!tn || (mnA && bm % 64))
        continue;
      for (int64_t split = 1; split <= 8; ++split) {
        // Splits of (nearly) equal length: the last at least 3/4 of the others.
        int64_t per = (kTiles + split - 1) / split;
        if (split > 1 && (per < 2 || 4 * (kTiles - (split - 1) * per) < 3 * per))
          continue;
        // One consumer warpgroup: two CTAs per SM, each with half of its
        // shared memory; two: one CTA with all of it.
        PlanAttr probe = PlanAttr::get(ctx, bm, tn, tk, bm / 16, 1,
                                       eightBit ? MmaShape::WgmmaK32 : MmaShape::WgmmaK16, 2,
                                       split, ProducerKind::Tma, RasterOrder::RowMajor, 1, 1,
                                       Schedule::Cooperative, OperandSource::Shared, order,
                                       /*prefetch=*/1);
        int64_t fixed = sharedMemoryBytes(probe, c) - ringBytes(probe, cs) - 32;
        int64_t budget = bm == 64 ? t.smemPerSM / 2 - 1024 : t.smemPerBlock;
        int64_t stageBytes = (bm + tn) * 128 + 16;
        int64_t stages = std::clamp<int64_t>((budget - fixed) / stageBytes, 2, 8);
        consider(PlanAttr::get(ctx, bm, tn, tk, bm / 16, 1,
                               eightBit ? MmaShape::WgmmaK32 : MmaShape::WgmmaK16, stages, split,
                               ProducerKind::Tma, RasterOrder::RowMajor, 1, 1,
                               Schedule::Cooperative, OperandSource::Shared, order,
                               /*prefetch=*/1));
      }
    }
  }
  // mma.sync on any target (on sm_90a only where TMA cannot describe the
  // operands): warps of 16 or 32 rows of the large operand by the whole
  // narrow side (a multiple of 16).
  if (tma)
    return;
  int64_t tn = narrow <= 16 ? 16 : narrow <= 32 ? 32 : 64;
  for (int64_t bm : {64, 128})
    for (int64_t split : {1, 2, 4, 8, 16}) {
      if (split > 1 && (kTiles < 4 * split || !splitCarriesEpilogue(c)))
        continue;
      int64_t stageBytes = (bm * elementBytes(cs.elemA) + tn * elementBytes(cs.elemB)) * tk;
      int64_t stages = std::clamp<int64_t>(t.smemPerBlock / stageBytes, 2, 4);
      consider(PlanAttr::get(ctx, bm, tn, tk, 4, 1, mma, stages, split, ProducerKind::CpAsync,
                             RasterOrder::RowMajor, 1, 1, Schedule::Cooperative,
                             OperandSource::Shared, order, /*prefetch=*/1));
    }
}

/// `p` estimated, with the reason the target or code generation refuses it
/// (empty where it is accepted).
static PlanCandidate candidateFor(PlanAttr p, const Contraction &c, const TargetInfo &t,
                                  MLIRContext *ctx,
                                  function_ref<InFlightDiagnostic()> emitError) {
  PlanCandidate cand{p, estimatePlan(p, c, t), ""};
  std::string why;
  llvm::raw_string_ostream os(why);
  ScopedDiagnosticHandler quiet(ctx, [&](Diagnostic &d) {
    os << d.str();
    return success();
  });
  if (failed(verifyPlanForTarget(p, c, t, [&] { return emitError(); })))
    cand.rejectedBecause = why.empty() ? "rejected by the target" : why;
  // (Written 2026-12-08 with no GPU lent: compiled, no ptxas spills, the
  // other TMA kernels' code unchanged. Until it has run against the
  // reference on a GPU, it is used where the plan is given, not chosen.)
  else if (c.epilogue.maskElems && p.getProducer() == ProducerKind::Tma)
    cand.rejectedBecause = "the TMA kernel's block masks have not run on a GPU yet (given "
                           "with --plan, it is used)";
  return cand;
}

/// The mixed-input plans (a dequantized weight): the weight's rows on the
/// MMA's M (order = ba), 64 or 128 a tile, the tokens on its N (16 to 128),
/// and K split so that every SM streams the codes. The ring is as deep as
/// shared memory allows, up to 4 stages (8 for 8-bit codes).
/// The weight-streaming kernels (a dequantized or sparse weight as the
/// MMA's A, order = ba): tiles of 64 or 128 weight rows, 16 to 128 tokens,
/// split-K from 1 to 16; the fastest estimate wins.
/// The candidate not rejected with the lowest estimate, from `first` on (the
/// earlier one wins a tie); all.end() when there is none.
static std::vector<PlanCandidate>::iterator fastest(std::vector<PlanCandidate> &all,
                                                    size_t first = 0) {
  auto best = all.end();
  for (auto it = all.begin() + first; it != all.end(); ++it)
    if (it->rejectedBecause.empty() &&
        (best == all.end() || it->estimate.seconds < best->estimate.seconds))
      best = it;
  return best;
}

/// The fastest candidate from `first` on as the choice, every other one as
/// an alternative (those not rejected: slower by the estimates); an error
/// naming the first candidate's reason when none fits.
static FailureOr<PlanChoice> fastestChoice(std::vector<PlanCandidate> &all, size_t first,
                                           const TargetInfo &t,
                                           function_ref<InFlightDiagnostic()> emitError) {
  auto best = fastest(all, first);
  if (best == all.end()) {
    InFlightDiagnostic d = emitError();
    d << "no plan fits the target " << t.chip;
    // The first candidate's reason stands for the rest (--explain lists
    // them all).
    if (!all.empty())
      d << " (for example: " << all.front().rejectedBecause << ")";
    return failure();
  }
  PlanChoice choice;
  choice.chosen = *best;
  for (auto it = all.begin(); it != all.end(); ++it) {
    if (it == best)
      continue;
    if (it->rejectedBecause.empty()) {
      std::string why;
      llvm::raw_string_ostream os(why);
      os << "estimated " << llvm::format("%.1f", it->estimate.seconds * 1e6)
         << " us against " << llvm::format("%.1f", best->estimate.seconds * 1e6)
         << " us (" << llvm::format("%.2f", it->estimate.waves) << " waves)";
      it->rejectedBecause = why;
    }
    choice.alternatives.push_back(*it);
  }
  return choice;
}

/// Marks the candidates in `avoid` as rejected (see selectPlan).
static void rejectAvoided(std::vector<PlanCandidate> &all, ArrayRef<PlanAttr> avoid) {
  for (PlanCandidate &cand : all)
    if (cand.rejectedBecause.empty() && llvm::is_contained(avoid, cand.plan))
      cand.rejectedBecause = "ptxas spilled registers with this plan in an earlier build";
}

static FailureOr<PlanChoice> selectWeightPlan(const Contraction &c, const TargetInfo &t,
                                              MLIRContext *ctx,
                                              function_ref<InFlightDiagnostic()> emitError,
                                              ArrayRef<PlanAttr> avoid) {
  Contraction cs = c.transposed();
  int64_t tokens = cs.n.size(), kTiles = (cs.k.size() + 63) / 64;
  int64_t tn = tokens <= 16 ? 16 : tokens <= 32 ? 32 : tokens <= 64 ? 64 : 128;
  std::vector<PlanCandidate> all;
  SmallVector<int64_t, 2> rows{64, 128};
  if (c.sparse && !c.sparse->twoFour()) // the format fixes the tile
    rows = {c.sparse->tileRows};
  // 2:4 decodes tiles of 64 rows: 128 (which --plan may give) took 128 to
  // 254 registers with spills at 64 tokens (ptxas, 2026-12-06).
  if (c.sparse && c.sparse->twoFour())
    rows = {64};
  // Block-sparse: the block's 64 rows, one CTA a block row (no split).
  bool blocks = c.sparse && c.sparse->blockCsr();
  // A sparse weight's words: 1 to 3 tiles in flight per CTA (2 with 128-row
  // tiles, whose tile of words takes twice the registers).
  // (2:4: 1 to 4 tiles of 64 rows, 1 to 2 of 128.) Depths past the
  // registers' budget are refused by the verifier.
  SmallVector<int64_t, 4> depths{1};
  if (c.sparse && !blocks)
    depths = {1, 2, 3, 4};
  // 2:4 runs mma.sp on the compressed values copied through the stages
  // (first: it wins a tie; K a multiple of 64), or decodes them into a
  // dense stage for mma.sync m16n8k16.
  SmallVector<MmaShape, 2> mmas{MmaShape::M16N8K16};
  if (c.sparse && c.sparse->twoFour() && cs.k.size() % 64 == 0)
    mmas = {MmaShape::M16N8K32Sp, MmaShape::M16N8K16};
  // A dequantized weight from 64 tokens on sm_90a runs the wgmma core
  // (below): at 64 and 128 tokens the mma.sync plans measured slower.
  bool wgmmaCore = c.quant && t.archSpecific && tokens >= 64;
  for (MmaShape mma : wgmmaCore ? SmallVector<MmaShape, 2>{} : mmas) {
    // (mma.sp copies its tiles through the stages: no words in registers.)
    ArrayRef<int64_t> mmaDepths =
        mma == MmaShape::M16N8K32Sp ? ArrayRef<int64_t>(depths).take_front(1) : depths;
    for (int64_t bm : rows) {
      // A grid of four CTAs an SM or more keeps every SM busy unsplit; a
      // split would only add its partial sums' traffic (the estimate's
      // whole waves favoured split-K 4 at M = 4096 by 3%, for 2 GB of
      // partials).
      bool fillsUnsplit = cs.batch.size() * ((cs.m.size() + bm - 1) / bm) *
                              ((tokens + tn - 1) / tn) >=
                          4 * t.numSMs;
      for (int64_t split : {1, 2, 4, 8, 16})
        for (int64_t depth : mmaDepths) {
          if (split > 1 && (kTiles < 2 * split || !splitCarriesEpilogue(c) || blocks ||
                            fillsUnsplit))
            continue;
          if (c.sparse && depth * c.sparse->registersPerTile(bm, 128) >
                              SparseWeight::mostWordRegisters)
            continue;
          int64_t warpsM = tn <= 64 ? 4 : 2, warpsN = 4 / warpsM;
          // Dequantized weights in 128x128 tiles: eight warps of 32x64. Four
          // of 64x64 (128 accumulators, the fragments and their scales)
          // reached 255 registers and spilled 4-48 bytes on sm_80 (W8 g128
          // bf16, W4 g64, W3 g32; found by the fuzzer, 2026-12-07); eight
          // take 160-190.
          if (c.quant && bm == 128 && tn == 128)
            warpsM = 4, warpsN = 2;
          int64_t stages;
          if (c.quant) {
            int64_t stageBytes = bm * 8 * c.quant->bits + tn * 128;
            // At most 4 stages for 2- and 4-bit codes: measured on the H100 (W4
            // M=16, (K, N) = (4096, 14336) and (8192, 28672), 40 plans), 4
            // stages ran 10-25% faster than 8 at every tile and split (more
            // CTAs fit an SM). 8-bit codes kept 8: W8 read 5-10% slower with 4
            // in the same benchmark (two runs, 2026-12-06).
            int64_t most = c.quant->bits == 8 ? 8 : 4;
            stages = std::clamp<int64_t>(t.smemPerBlock / 2 / stageBytes, 2, most);
          } else {
            // A sparse tile is scattered two stages before its MMAs; a third
            // stage for the copy in flight, a fourth of slack.
            stages = 4;
          }
          PlanAttr p = PlanAttr::get(ctx, bm, tn, 64, warpsM, warpsN, mma, stages,
                                     split,
                                     c.sparse ? sparseProducer(*c.sparse) : ProducerKind::CpAsync,
                                     RasterOrder::RowMajor, 1, 1, Schedule::Cooperative,
                                     OperandSource::Shared, OperandOrder::BA, depth);
          all.push_back(candidateFor(p, c, t, ctx, emitError));
        }
    }
  }
  // From 64 tokens on sm_90a, the mixed-input kernel's wgmma core: the
  // codes dequantized into wgmma's register A, two warpgroups (then one) of
  // 64 weight rows, 64 to 256 tokens a tile. On the H100 (2026-12-07, W4
  // g128 at 64 and 128 tokens, (K, N) = (4096, 14336) and (8192, 28672))
  // two warpgroups were fastest or within 3% at each shape, and the core
  // ran 1.2-1.8x faster than the unsplit mma.sync plans. Split along K only
  // where the unsplit grid leaves SMs idle: with 112 or more tiles a split
  // of 2 or 4 ran 0-22% slower (the H200, 2026-12-07, after the split sums
  // wrote C in order), while at (K, N) = (14336, 4096) the 32 unsplit
  // tiles of 128 rows ran 0.42x cuBLAS at 64 tokens (the H100, same day).
  if (wgmmaCore) {
    int64_t most = c.quant->bits == 8 ? 8 : 4;
    // One token tile where 256 cover the tokens (at 128 tokens, 128 ran
    // 1.2-1.5x faster than two tiles of 64: the codes read and dequantized
    // once), else tiles of 256.
    int64_t tnw = tokens <= 64 ? 64 : tokens <= 128 ? 128 : 256;
    for (int64_t bm : {128, 64}) {
      int64_t stageBytes = bm * 8 * c.quant->bits + tnw * 128;
      int64_t stages = std::clamp<int64_t>(t.smemPerBlock / 2 / stageBytes, 3, most);
      int64_t tiles = cs.batch.size() * ((cs.m.size() + bm - 1) / bm) *
                      ((tokens + tnw - 1) / tnw);
      auto plan = [&](int64_t split, ProducerKind producer) {
        return PlanAttr::get(ctx, bm, tnw, 64, bm / 16, 1, MmaShape::WgmmaK16, stages, split,
                             producer, RasterOrder::RowMajor, 1, 1, Schedule::Cooperative,
                             OperandSource::Registers, OperandOrder::BA, 1);
      };
      for (int64_t split : {1, 2, 4, 8}) {
        if (split > 1 && (tiles >= t.numSMs || kTiles < 2 * split || !splitCarriesEpilogue(c)))
          continue;
        all.push_back(candidateFor(plan(split, ProducerKind::CpAsync), c, t, ctx, emitError));
      }
      // The TMA form (a producer warpgroup; one CTA a tile), for --explain:
      // not chosen by the estimates (its fixed cost is rated lower, so it
      // won small shapes), since ptxas spills it in some (the fuzzer,
      // 2026-12-07: 12-316 bytes) and it ran only 1.00-1.09x the cp.async
      // form at 128 tokens (H100, 2026-12-07). A given plan still takes it.
      PlanCandidate tma = candidateFor(plan(1, ProducerKind::Tma), c, t, ctx, emitError);
      if (tma.rejectedBecause.empty())
        tma.rejectedBecause = "the TMA mixed-input form is taken only as a given plan (ptxas "
                              "spills it in some shapes; it ran 1.00-1.09x the cp.async form)";
      all.push_back(tma);
    }
  }
  rejectAvoided(all, avoid);
  auto best = fastest(all);
  if (best == all.end()) {
    InFlightDiagnostic d = emitError();
    d << "no " << (c.sparse ? "sparse" : "mixed-input") << " plan fits this einsum";
    if (!all.empty())
      d << ": " << all.front().rejectedBecause;
    return failure();
  }
  PlanChoice choice{*best, {}};
  for (auto it = all.begin(); it != all.end(); ++it)
    if (it != best) {
      if (it->rejectedBecause.empty()) {
        char text[96];
        if (it->estimate.seconds <= best->estimate.seconds)
          std::snprintf(text, sizeof text, "estimated %.1f us, tied with the chosen plan (listed first)",
                        it->estimate.seconds * 1e6);
        else
          std::snprintf(text, sizeof text, "estimated %.1f us, slower than %.1f us",
                        it->estimate.seconds * 1e6, best->estimate.seconds * 1e6);
        it->rejectedBecause = text;
      }
      choice.alternatives.push_back(*it);
    }
  return choice;
}

FailureOr<PlanChoice>
einloom::selectPlan(const Contraction &c, const TargetInfo &t, MLIRContext *ctx,
                    function_ref<InFlightDiagnostic()> emitError, ArrayRef<PlanAttr> avoid) {
  if (c.specialWeight())
    return selectWeightPlan(c, t, ctx, emitError, avoid);
  FailureOr<MmaShape> mma = mmaFor(c);
  if (failed(mma)) {
    emitError() << "no instruction for " << c.elemA << " operands";
    return failure();
  }
  if (*mma == MmaShape::Fma) {
    // 128-row tiles, or 64-row ones where those leave SMs idle (twice the
    // CTAs; the estimates' whole waves decide, the 128-row tile winning a
    // tie). A plan ptxas spilled with (avoid) is passed over.
    std::vector<PlanCandidate> all;
    for (int64_t bm : {128, 64})
      all.push_back({fmaPlan(ctx, bm), estimatePlan(fmaPlan(ctx, bm), c, t), ""});
    rejectAvoided(all, avoid);
    return fastestChoice(all, 0, t, emitError);
  }
  if (!t.supportsMma(c.elemA)) {
    emitError() << c.elemA << " tensor-core math needs sm_89 or newer; target "
                << t.chip << " does not have it";
    return failure();
  }
  struct Shape {
    int64_t bm, bn, wmN, wnN;
  };
  const Shape mmaShapes[] = {{128, 256, 2, 4}, {256, 128, 4, 2}, {128, 128, 2, 2},
                             {128, 64, 2, 2},  {64, 128, 2, 2},  {64, 64, 2, 2},
                             {32, 64, 1, 2}};
  // f64 (DMMA): warp tiles of at most 64x32 (see the verifier).
  const Shape dmmaShapes[] = {{128, 128, 2, 4}, {128, 64, 2, 2}, {64, 128, 2, 2},
                              {64, 64, 2, 2},   {32, 64, 1, 2}};
  ArrayRef<Shape> shapes = *mma == MmaShape::M8N8K4 ? ArrayRef<Shape>(dmmaShapes)
                                                    : ArrayRef<Shape>(mmaShapes);
  int64_t tk = tileKFor(c.elemA);
  // Raster order for L2 reuse. With more tile columns than tile rows (wide
  // weights: N >> M), walking M under a fixed column reuses B's tile across
  // all of M: measured on an H100 for Llama shapes M=4096, N=11008 / 28672,
  // 0.66x -> 0.80x and 0.75x -> 0.86x of cuBLAS. Otherwise groups of 8 tile
  // rows sweep N when there are more tiles than SMs.
  double tilesM128 = ceilDiv(c.m.size(), 128), tilesN256 = ceilDiv(c.n.size(), 256);
  bool columns = tilesN256 > tilesM128 && c.batch.size() * tilesM128 * tilesN256 > t.numSMs;
  int64_t swz = !columns && c.batch.size() * ceilDiv(c.m.size(), 128) * ceilDiv(c.n.size(), 128) > t.numSMs ? 8 : 1;
  RasterOrder raster = columns ? RasterOrder::ColumnMajor
                       : swz > 1 ? RasterOrder::Swizzle : RasterOrder::RowMajor;
  std::vector<PlanCandidate> all;
  // Estimates `p` and records why the target or code generation refuses it.
  auto consider = [&](PlanAttr p) { all.push_back(candidateFor(p, c, t, ctx, emitError)); };
  // Split-K is a candidate when the output tiles alone leave SMs idle and K
  // is long enough to give each split several tiles.
  int64_t kTiles = (c.k.size() + tk - 1) / tk;
  // On sm_90a, f16, bf16, fp8 and s8 with both operands contiguous along K
  // also get wgmma candidates (warps_m x 1 warps of 16 rows; warpgroups of 64).
  bool eightBit = c.elemA.isSignlessInteger(8) || isa<Float8E4M3FNType, Float8E5M2Type>(c.elemA);
  bool kMajor = StringRef(c.operandLayout('A', 128)) == "k-major" &&
                StringRef(c.operandLayout('B', 128)) == "k-major";
  // The TMA kernel also reads 16-bit operands contiguous along M (N),
  // transposed.
  bool transposable = false;
  if (!kMajor && elementBytes(c.elemA) == 2) {
    SmallVector<int64_t> dims, strides;
    std::string why;
    bool mn = false;
    transposable = succeeded(c.tensorMapFor('A', dims, strides, why, &mn)) &&
                   succeeded(c.tensorMapFor('B', dims, strides, why, &mn));
  }
  bool wgmmaOk = t.archSpecific && (c.elemA.isF16() || c.elemA.isBF16() || eightBit) &&
                 (kMajor || transposable);
  struct WgShape {
    int64_t bm, bn;
    bool pingpong = false;
    int64_t stages = 0; // 0: as many as fit, up to 4
    int64_t cluster = 1; // CTAs along M sharing B (where M has two tiles)
    int64_t warpsM() const { return pingpong ? 8 : bm / 16; }
  };
  // A short K and a result larger than both operands: the kernel is bound
  // by storing C. There one consumer warpgroup per CTA (64-row tiles) is
  // tried first, which wins the tie of equal memory-bound estimates, in
  // row-major order: 64x128 tiles, small enough for two CTAs per SM (one's
  // epilogue overlaps the other's MMAs), in clusters of two along M that
  // share each B tile by multicast (a third less read from L2 per tile),
  // with a three-stage ring; then 64x256.
  // Measured on an H100 for bhqd,bhkd->bhqk (8,16,2048,128) f16, same run:
  // 64x256 tiles 0.508-0.521 ms, 128x256 0.557-0.566 ms, 128x128 0.547;
  // later (run N, two rounds): 64x128 with 2 stages and two CTAs per SM
  // 0.5230 and 0.5116 ms against 0.5428 and 0.5368 for 64x256 (3 or 4
  // stages of 64x128 at two CTAs per SM: 0.56-0.59). Runs Z and Z2 (four
  // rounds): the same in clusters of two with 3 stages 0.4453-0.4720 ms
  // against 0.5064-0.5483 for the 2-stage plan without clusters; with 2 or
  // 4 stages in clusters 0.52-0.59, 128x128 (8 warps) in clusters 0.47-0.50.
  bool storeBound = c.k.size() <= 2 * tk &&
                    c.tensorBytes(c.m, c.n, c.elemC) >
                        c.tensorBytes(c.m, c.k, c.elemA) + c.tensorBytes(c.n, c.k, c.elemB);
  SmallVector<WgShape, 3> wgShapes{{128, 256}, {128, 128}};
  if (storeBound)
    wgShapes.insert(wgShapes.begin(), {WgShape{64, 128, false, 3, 2}, WgShape{64, 256}});
  // Each shape twice: the warp-specialized TMA kernel (persistent; chosen
  // when TMA can describe both operands, else rejected with the reason) and
  // the cp.async kernel that handles any K-contiguous operands.
  for (const WgShape &s : wgShapes)
    for (ProducerKind producer : {ProducerKind::Tma, ProducerKind::CpAsync}) {
      if (!wgmmaOk || (producer == ProducerKind::CpAsync && !kMajor))
        break;
      if (producer == ProducerKind::CpAsync && s.bm == 64)
        continue; // (the store-bound shape is for the TMA kernel only)
      int64_t stageBytes = (s.bm + s.bn) * 128;
      int64_t barriers = producer == ProducerKind::Tma ? 16 : 0;
      int64_t staging = producer == ProducerKind::Tma ? wgmmaStagingBytes(s.warpsM() / 4, s.bn, c) : 0;
      int64_t stages = s.stages ? s.stages
                                : std::clamp<int64_t>((t.smemPerBlock - staging) / (stageBytes + barriers), 1, 4);
      // The TMA kernel measured better with the swizzle-8 raster on wide
      // outputs too (H100, M=4096 K=28672 N=8192: 1.05x cuBLAS against
      // 0.97x column-major; the column rule above came from the cp.async
      // kernel).
      bool many = c.batch.size() * ceilDiv(c.m.size(), s.bm) * ceilDiv(c.n.size(), s.bn) > t.numSMs;
      RasterOrder r = producer != ProducerKind::Tma ? raster
                      : many                        ? RasterOrder::Swizzle
                                                    : RasterOrder::RowMajor;
      int64_t sw = producer != ProducerKind::Tma ? swz : many ? 8 : 1;
      // Store-bound (see above): operand reuse in L2 matters little, and the
      // row-major order measured faster (64x256: 0.508-0.521 ms against
      // 0.540 with the swizzle-8 raster).
      if (producer == ProducerKind::Tma && storeBound) {
        r = RasterOrder::RowMajor;
        sw = 1;
      }
      // Long K (every tile streams at least 16384 deep): clusters of two
      // sharing B, in column-major order. Measured on an H100 for M=4096,
      // K=28672, N=8192: 697-701 TFLOP/s against 567-604 with the swizzle-8
      // raster alone; at K = 8192 clusters were neutral, so they stay off.
      // (Multicast only where B's boxes never overhang N: see the verifier.)
      bool shareable = ceilDiv(c.m.size(), s.bm) >= 2 && c.n.size() % s.bn == 0;
      int64_t clusterM = producer == ProducerKind::Tma && shareable ? s.cluster : 1;
      if (producer == ProducerKind::Tma && many && c.k.size() >= 16384 && shareable) {
        clusterM = 2;
        r = RasterOrder::ColumnMajor;
        sw = 1;
      }
      if (s.pingpong && (producer != ProducerKind::Tma || clusterM != 1))
        continue;
      // Two cooperative consumer warpgroups on 16-bit operands take A from
      // registers. Measured on an H100 in A/B pairs (one plan, then the same
      // with a_source = registers, in one process, both orders; f16 and
      // bf16 at 4096³, 8192³ and the Llama prefill shapes): faster in 41 of
      // 52 pairs, by 7% on the geometric mean (bench/RESULTS.md, runs AG,
      // AH, AI). Not measured for 8-bit types, one consumer warpgroup or
      // the cp.async kernel, which keep A in shared memory.
      bool aRegs = producer == ProducerKind::Tma && !eightBit && s.warpsM() == 8 &&
                   !s.pingpong && StringRef(c.operandLayout('A', s.bm)) == "k-major";
      PlanAttr p = PlanAttr::get(ctx, s.bm, s.bn, tk, s.warpsM(), 1,
                                 eightBit ? MmaShape::WgmmaK32 : MmaShape::WgmmaK16, stages, 1,
                                 producer, r, sw, clusterM,
                                 s.pingpong ? Schedule::PingPong : Schedule::Cooperative,
                                 aRegs ? OperandSource::Registers : OperandSource::Shared,
                                 OperandOrder::AB, /*prefetch=*/1);
      consider(p);
    }
  for (const Shape &s : shapes)
   for (int64_t split : {1, 2, 4, 8, 16}) {
    // An operand copied element by element keeps an address per element in
    // flight: beside a 64x64 warp tile's 128 accumulators that spilled
    // (mk,kn->mn 1000x999x77 bf16 on sm_80: 28 bytes), so such operands get
    // warp tiles of at most 64x32.
    bool elementwise = StringRef(c.operandLayout('A', s.bm)) == "elementwise" ||
                       StringRef(c.operandLayout('B', s.bn)) == "elementwise";
    // (Copies of 8-bit elements are four times as many per K tile: at most
    // 32x32 there; a 64x32 tile over a broadcast i8 operand spilled 164 bytes.)
    int64_t most = elementBytes(c.elemA) == 1 ? 32 * 32 : 64 * 32;
    if (elementwise && (s.bm / s.wmN) * (s.bn / s.wnN) > most)
      continue;
    // A split's K tiles start at a run-time offset: an element's address
    // through three or more K modes then costs a division chain per mode
    // that the compiler cannot fold (a tf32 einsum of four K modes spilled).
    if (elementwise && split > 1 && c.k.modes.size() > 2)
      continue;
    double outTiles = c.batch.size() * ceilDiv(c.m.size(), s.bm) * ceilDiv(c.n.size(), s.bn);
    if (split > 1 && (outTiles * split > 2.0 * t.numSMs || kTiles < 4 * split ||
                      !splitCarriesEpilogue(c)))
      continue;
    int64_t stageBytes = (s.bm * elementBytes(c.elemA) + s.bn * elementBytes(c.elemB)) * tk;
    int64_t stages = std::clamp<int64_t>(t.smemPerBlock / stageBytes, 1, 4);
    if (stages < 2)
      continue;
    PlanAttr p = PlanAttr::get(ctx, s.bm, s.bn, tk, s.wmN, s.wnN, *mma, stages,
                               split, ProducerKind::CpAsync, raster, swz, 1,
                               Schedule::Cooperative, OperandSource::Shared, OperandOrder::AB,
                               /*prefetch=*/1);
    consider(p);
  }
  // f64: the CUDA-core kernel's one-stage DMMA tiling too (any layout).
  if (*mma == MmaShape::M8N8K4)
    consider(simtPlan(ctx, *mma));
  size_t firstSkinny = all.size();
  addSkinnyCandidates(c, t, ctx, *mma, consider);
  rejectAvoided(all, avoid);
  // Where the large operand dominates the bytes (a few rows against a
  // large weight), a skinny plan is chosen whenever one fits: the roofline
  // above rates a 64- or 128-row tile over 16 rows as if its wasted rows
  // were free, but at DRAM speed their MMAs and copies are what the GPU
  // runs short of (bench/RESULTS.md: 0.73-0.80x cuBLAS at decode sizes
  // before the skinny plans).
  bool preferSkinny = false;
  {
    int64_t M = c.m.size(), N = c.n.size();
    int64_t large = M <= N ? c.tensorBytes(c.n, c.k, c.elemB) : c.tensorBytes(c.m, c.k, c.elemA);
    int64_t rest = c.minBytes() - large;
    for (size_t i = firstSkinny; i < all.size(); ++i)
      preferSkinny = preferSkinny || (all[i].rejectedBecause.empty() && large >= 4 * rest);
  }
  if (preferSkinny)
    for (size_t i = 0; i < firstSkinny; ++i)
      if (all[i].rejectedBecause.empty())
        all[i].rejectedBecause = "a skinny plan streams the large operand without tiles of "
                                 "wasted rows (estimated " +
                                 std::to_string(int64_t(all[i].estimate.seconds * 1e6 + 0.5)) +
                                 " us by the roofline)";
  return fastestChoice(all, preferSkinny ? firstSkinny : 0, t, emitError);
}

FailureOr<PlanChoice> einloom::choosePlan(const Contraction &c, const TargetInfo &t,
                                          MLIRContext *ctx, const TuningDatabase *db,
                                          function_ref<InFlightDiagnostic()> emitError,
                                          function_ref<InFlightDiagnostic()> emitWarning,
                                          ArrayRef<PlanAttr> avoid) {
  FailureOr<PlanChoice> choice = selectPlan(c, t, ctx, emitError, avoid);
  if (failed(choice) || !db)
    return choice;
  TuningKey key = tuningKeyFor(c, t);
  const TuningEntry *e = db->lookup(key);
  if (!e)
    return choice;
  if (!avoid.empty()) {
    ScopedDiagnosticHandler quiet(ctx, [](Diagnostic &) { return success(); });
    if (llvm::is_contained(avoid, dyn_cast_or_null<PlanAttr>(parseAttribute(e->plan, ctx))))
      return choice; // (ptxas spilled with it in an earlier build)
  }
  std::string where = db->path() + " line " + std::to_string(e->line);
  std::string why;
  PlanAttr plan;
  {
    llvm::raw_string_ostream os(why);
    ScopedDiagnosticHandler quiet(ctx, [&](Diagnostic &d) {
      os << d.str();
      return success();
    });
    plan = dyn_cast_or_null<PlanAttr>(parseAttribute(e->plan, ctx));
    if (!plan && why.empty())
      why = "not a #loom.plan";
    if (plan && failed(verifyPlanForTarget(plan, c, t, [&] { return emitError(); })) &&
        why.empty())
      why = "rejected by the target";
  }
  if (!plan || !why.empty()) {
    emitWarning() << "tuning database " << where << ": the entry for \"" << c.spec << "\" "
                  << key.sizes[0] << "x" << key.sizes[1] << "x" << key.sizes[2] << "x"
                  << key.sizes[3] << " no longer verifies (" << why
                  << "); ignored, the cost model chooses";
    return choice;
  }
  PlanChoice tuned;
  tuned.chosen = PlanCandidate{plan, estimatePlan(plan, c, t), ""};
  std::string sizes = std::to_string(e->key.sizes[0]) + "x" + std::to_string(e->key.sizes[1]) +
                      "x" + std::to_string(e->key.sizes[2]) + "x" + std::to_string(e->key.sizes[3]);
  tuned.fromDatabase = where + ": " + llvm::formatv("{0:F2}", e->micros).str() + " us on " +
                       e->gpu + ", " + e->date +
                       (e->key.sizes == key.sizes ? "" : ", measured at " + sizes);
  for (PlanCandidate &a : choice->alternatives)
    if (a.plan != plan)
      tuned.alternatives.push_back(a);
  if (choice->chosen.plan != plan) {
    PlanCandidate model = choice->chosen;
    model.rejectedBecause = "the cost model's choice; the tuning database's plan measured faster";
    tuned.alternatives.insert(tuned.alternatives.begin(), model);
  }
  return tuned;
}

static void printPlanLine(llvm::raw_ostream &os, PlanAttr p) {
  os << p.getTileM() << "x" << p.getTileN() << "x" << p.getTileK() << " tile, "
     << p.getWarpsM() << "x" << p.getWarpsN() << " warps, "
     << stringifyMmaShape(p.getMma())
     << (isWgmmaShape(p.getMma()) ? " (Hopper)" : "")
     << ", " << p.getStages() << " stages";
  if (p.getProducer() == ProducerKind::Tma)
    os << ", TMA + mbarrier, warp-specialized, persistent";
  if (isSparseProducer(p.getProducer()) && p.getProducer() != ProducerKind::BlockCsr &&
      p.getMma() != MmaShape::M16N8K32Sp)
    os << ", sparse words " << p.getPrefetch() << (p.getPrefetch() == 1 ? " tile" : " tiles")
       << " ahead";
  if (p.getSchedule() == Schedule::PingPong)
    os << ", ping-pong consumers";
  if (p.getASource() == OperandSource::Registers)
    os << ", A from registers";
  if (p.getOrder() == OperandOrder::BA)
    os << ", transposed (B's rows on the MMA's M)";
  if (p.getSplitK() > 1)
    os << ", split-K " << p.getSplitK()
       << (p.getProducer() == ProducerKind::Tma ? " across a cluster" : "");
  if (p.getRaster() == RasterOrder::Swizzle)
    os << ", swizzle " << p.getSwizzle();
  if (p.getRaster() == RasterOrder::ColumnMajor)
    os << ", column-major raster";
  if (p.getClusterM() > 1)
    os << ", clusters of " << p.getClusterM();
}

/// The contraction, the target, and `what` plan: its line, the attribute and
/// any fused epilogue.
static void printPlanHeader(llvm::raw_ostream &os, const Contraction &c, const TargetInfo &t,
                            StringRef what, PlanAttr plan) {
  os << "einsum \"" << c.spec << "\" as batched GEMM: batch=" << c.batch.size()
     << " M=" << c.m.size() << " N=" << c.n.size() << " K=" << c.k.size()
     << ", " << c.elemA << " -> " << c.elemC << " (acc " << c.acc << ")\n";
  os << "target " << t.chip << ": " << t.numSMs << " SMs, "
     << t.smemPerBlock / 1024 << " KiB shared memory per block\n";
  os << what << ": ";
  printPlanLine(os, plan);
  os << "\n  " << plan << "\n";
  if (c.epilogue.maskElems)
    os << "  block mask: one byte a " << c.epilogue.maskBlockM << "x" << c.epilogue.maskBlockN
       << " tile (" << c.epilogue.maskElems << (c.epilogue.maskPerBatch ? ", per batch" : ", one for every batch")
       << "); a masked-out tile skips its main loop and stores "
       << llvm::format("%g", c.epilogue.maskFill) << "\n";
  if (!c.epilogue.empty())
    os << "  fused epilogue: " << c.epilogue.describe()
       << (plan.getSplitK() > 1 && plan.getProducer() != ProducerKind::Tma
               ? " (applied by the kernel that sums the split)\n"
               : " (applied before the store)\n");
}

static void printEstimate(llvm::raw_ostream &os, const PlanEstimate &e) {
  os << "  estimate: " << llvm::format("%.2f", e.seconds * 1e6) << " us, "
     << llvm::format("%.1f", e.flops / e.seconds / 1e12) << " TFLOP/s, "
     << e.bytes << " bytes (" << llvm::format("%.1f", e.bytes / e.seconds / 1e9)
     << " GB/s), " << e.bound() << "-bound; "
     << llvm::format("%.2f", e.waves) << " waves at " << e.ctasPerSM
     << " CTA/SM, " << e.sharedMemoryBytes / 1024 << " KiB shared memory\n";
}

/// For a skinny contraction (one side at most 64): how the plan streams
/// the large operand (the order, the split, the CTAs against the SMs, the
/// bytes and the bandwidth the model predicts).
static void printStreaming(llvm::raw_ostream &os, const Contraction &c0, const TargetInfo &t,
                           PlanAttr p, const PlanEstimate &e) {
  int64_t M = c0.m.size(), N = c0.n.size();
  if (std::min(M, N) > 64 || std::max(M, N) <= 64 || p.getMma() == MmaShape::Fma ||
      p.getMma() == MmaShape::M8N8K4)
    return;
  Contraction storage;
  const Contraction &c = oriented(p, c0, storage);
  int64_t tiles = c.batch.size() * ((c.m.size() + p.getTileM() - 1) / p.getTileM()) *
                  ((c.n.size() + p.getTileN() - 1) / p.getTileN());
  int64_t ctas = tiles * p.getSplitK();
  os << "  skinny: M=" << M << ", N=" << N << "; ";
  if (p.getOrder() == OperandOrder::BA)
    os << "the transposed product puts N on the MMA's M side (" << p.getTileM()
       << " rows a tile) and M on its N (" << p.getTileN() << " columns); ";
  else
    os << "M on the MMA's M side (" << p.getTileM() << " rows a tile), N on its N ("
       << p.getTileN() << " columns); ";
  if (p.getSplitK() > 1)
    os << "K split " << p.getSplitK() << " ways"
       << (p.getProducer() == ProducerKind::Tma
               ? " across clusters of " + std::to_string(p.getSplitK()) +
                     " CTAs (partials summed through distributed shared memory)"
               : " (partials summed by a second kernel)")
       << "; ";
  else
    os << "K not split; ";
  os << ctas << " CTA" << (ctas == 1 ? "" : "s") << " of work on " << t.numSMs << " SMs x "
     << e.ctasPerSM << (p.getProducer() == ProducerKind::Tma ? " (persistent)" : "")
     << "; streams " << e.bytes << " bytes at a predicted "
     << llvm::format("%.2f", e.bandwidth / 1e12) << " TB/s ("
     << llvm::format("%.0f", 100 * e.bandwidth / t.dramBytesPerSec) << "% of the "
     << llvm::format("%.2f", t.dramBytesPerSec / 1e12) << " TB/s the model assumes)\n";
}

void einloom::printGivenPlan(llvm::raw_ostream &os, const Contraction &c, const TargetInfo &t,
                             PlanAttr plan) {
  printPlanHeader(os, c, t, "given plan (from the IR or --plan; the planner did not choose it)",
                  plan);
  PlanEstimate e = estimatePlan(plan, c, t);
  printEstimate(os, e);
  printStreaming(os, c, t, plan, e);
}

void einloom::printExplanation(llvm::raw_ostream &os, const Contraction &c,
                               const TargetInfo &t, const PlanChoice &choice) {
  const PlanEstimate &e = choice.chosen.estimate;
  printPlanHeader(os, c, t, "chosen plan", choice.chosen.plan);
  if (!choice.fromDatabase.empty())
    os << "  from the tuning database: " << choice.fromDatabase << "\n";
  // Which instruction family, and why.
  PlanAttr p = choice.chosen.plan;
  bool wgmma = isWgmmaShape(p.getMma());
  bool kMajor = StringRef(c.operandLayout('A', 128)) == "k-major" &&
                StringRef(c.operandLayout('B', 128)) == "k-major";
  os << "  family: ";
  if (p.getMma() == MmaShape::M8N8K4 && p.getStages() == 1) {
    os << "f64 tensor cores (DMMA, mma.sync m8n8k4) in the CUDA-core kernel's 128x128 tiling, "
          "operands read element by element through their strides\n";
    printEstimate(os, choice.chosen.estimate);
    return;
  }
  if (p.getMma() == MmaShape::M8N8K4 || p.getMma() == MmaShape::Fma) {
    if (p.getMma() == MmaShape::Fma)
      os << "CUDA cores (fma): " << c.elemA
         << " without allow_tf32 (opt in with --tf32 for tf32 tensor cores)\n";
    else
      os << "f64 tensor cores (DMMA, mma.sync m8n8k4), fed by cp.async through a "
         << p.getStages() << "-stage ring of swizzled 128-byte rows (" << c.operandLayout('A', 128)
         << " A, " << c.operandLayout('B', 128) << " B)\n";
    printEstimate(os, choice.chosen.estimate);
    os << "alternatives rejected:\n";
    for (const PlanCandidate &a : choice.alternatives) {
      os << "  ";
      printPlanLine(os, a.plan);
      os << ": " << a.rejectedBecause << "\n";
    }
    return;
  }
  if (c.quant) {
    const WeightQuant &q = *c.quant;
    os << (wgmma ? "mixed-input wgmma (m64n" + std::to_string(p.getTileN()) +
                       "k16, A from registers): the weight's "
                 : std::string("mixed-input mma.sync (m16n8k16): the weight's "))
       << q.bits << "-bit "
       << (q.isSigned ? "signed" : "unsigned") << " codes (a_fragment layout, "
       << q.packedBytes << " bytes) stream through a " << p.getStages()
       << (p.getProducer() == ProducerKind::Tma
               ? "-stage ring filled by a producer warpgroup (a bulk copy of each stage's "
                 "codes, TMA for the activations, mbarriers)"
               : "-stage cp.async ring")
       << " and are dequantized in registers (lop3/prmt, then the "
       << (q.zeroType ? "zero point and " : "")
       << (q.groupSize ? "scale of each group of " + std::to_string(q.groupSize)
                       : std::string(q.scaleRowStride ? "per-row scale" : "one scale"))
       << ") straight into A fragments" << (wgmma ? " (each warp its 16 rows of a warpgroup's 64)" : "")
       << "; the activations are B";
  } else if (c.sparse) {
    const SparseWeight &w = *c.sparse;
    if (w.twoFour() && p.getMma() == MmaShape::M16N8K32Sp)
      os << "sparse mma.sp (m16n8k32, 2:4): the weight's 2:4 values (K/2 a row, "
         << w.wordsBytes << " bytes) and 2-bit positions (" << w.offsetsBytes
         << " bytes) are copied compressed by cp.async into the swizzled shared-memory A "
            "stages, the positions beside them, through a "
         << p.getStages() << "-stage ring like a dense operand; the MMA core multiplies only "
         << "the kept half; the activations are B";
    else if (w.twoFour())
      os << "sparse mma.sync (m16n8k16): the weight's 2:4 values (K/2 a row, " << w.wordsBytes
         << " bytes) and 2-bit positions (" << w.offsetsBytes
         << " bytes) are loaded into registers " << p.getPrefetch()
         << (p.getPrefetch() == 1 ? " tile" : " tiles")
         << " ahead, each 16 columns of a row decoded into the swizzled shared-memory A stage, "
         << "and read by the dense MMA core (" << p.getStages() << " stages); the activations "
         << "are B";
    else if (w.bitmap())
      os << "sparse mma.sync (m16n8k16): the weight's bitmap tiles of " << w.tileRows << "x"
         << w.tileCols << " (" << w.tiles << " tiles; a bit per element, " << w.indexBytes
         << " bytes of masks, and the non-zero values, up to " << w.wordsBytes
         << " bytes) are loaded into registers " << p.getPrefetch()
         << (p.getPrefetch() == 1 ? " tile" : " tiles")
         << " ahead, staged in shared memory, decoded by popcounts into the swizzled "
         << "shared-memory A stage, and read by the dense MMA core (" << p.getStages()
         << " stages); the activations are B";
    else if (w.blockCsr())
      os << "block-sparse mma.sync (m16n8k16): each CTA walks one block row of the weight's "
            "stored 64x64 blocks (up to "
         << w.tiles << "; " << int(w.density * 100 + 0.5)
         << "% assumed stored), each copied by cp.async into the swizzled A stage with the "
            "activations' K tile its column index names (the row's column indices copied to "
            "shared memory first), through a "
         << p.getStages() << "-stage ring to the dense MMA core; empty blocks cost nothing";
    else
    os << "sparse mma.sync (m16n8k16): the weight's tiled_csl tiles of " << w.tileRows << "x"
       << w.tileCols << " (" << w.tiles << " tiles; a 32-bit word per non-zero, up to "
       << w.wordsBytes << " bytes) are loaded into registers " << p.getPrefetch()
       << (p.getPrefetch() == 1 ? " tile" : " tiles") << " ahead, scattered into "
       << "the zero-filled, swizzled shared-memory A stage, and read by the dense MMA core "
       << "(" << p.getStages() << " stages); the activations are B";
  } else if (wgmma) {
    os << "wgmma (Hopper warpgroup MMA): " << t.chip << " has it and "
       << (kMajor ? "both operands are contiguous along K; "
                  : "the 16-bit operands are contiguous along K or (read transposed) M/N; ");
    SmallVector<int64_t> dims, strides;
    std::string why;
    if (p.getProducer() == ProducerKind::Tma)
      os << "fed by TMA into mbarrier-completed stages, warp-specialized, persistent"
         << (p.getClusterM() > 1 ? ", clusters of 2 along M sharing B by multicast" : "")
         << (p.getASource() == OperandSource::Registers
                 ? ", A loaded into registers (measured faster for two consumer warpgroups on "
                   "16-bit operands)"
                 : "");
    else if (failed(c.tensorMapFor('A', dims, strides, why)) ||
             failed(c.tensorMapFor('B', dims, strides, why)))
      os << "fed by cp.async, because TMA cannot describe the operands (" << why << ")";
    else
      os << "fed by cp.async (estimated faster here than the TMA kernel)";
  } else {
    os << "mma.sync: ";
    if (!t.archSpecific)
      os << "target " << t.chip << " has no wgmma (that needs sm_90a)";
    else if (!kMajor)
      os << "wgmma needs each operand contiguous along K, or, for 16-bit types with TMA, "
            "along one M (N) mode";
    else if (!(c.elemA.isF16() || c.elemA.isBF16() || c.elemA.isSignlessInteger(8) ||
               isa<Float8E4M3FNType, Float8E5M2Type>(c.elemA)))
      os << "wgmma is not generated for " << c.elemA << " operands";
    else
      os << "estimated faster for this shape than the wgmma plans";
  }
  os << "\n";
  printEstimate(os, e);
  printStreaming(os, c, t, p, e);
  os << "alternatives rejected:\n";
  for (const PlanCandidate &a : choice.alternatives) {
    os << "  ";
    printPlanLine(os, a.plan);
    os << ": " << a.rejectedBecause << "\n";
  }
}

// (SelectPlan.h.) 2:4 is not a candidate: a density does not say whether
// the data are 2:4.
LogicalResult einloom::chooseSparseFormat(loom::EinsumOp op, const TargetInfo &t,
                                          llvm::raw_ostream *explain) {
  for (Value v : op.getInputs()) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    auto sp = type ? dyn_cast_or_null<loom::SparseAttr>(type.getEncoding()) : nullptr;
    if (!sp || sp.getFormat() != loom::SparseFormat::Auto)
      continue;
    auto arg = dyn_cast<BlockArgument>(v);
    auto func = arg ? dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()) : func::FuncOp();
    if (!func)
      return op.emitOpError("a sparse weight of format 'auto' must be a function argument (its "
                            "format decides the buffers the program takes)");
    MLIRContext *ctx = op.getContext();
    int64_t rows = sp.getTileRows() ? sp.getTileRows() : 64;
    struct Option {
      const char *name;
      Attribute encoding;
      double seconds = -1;
      std::string why;
    };
    Option options[] = {
        {"tiled_csl", loom::SparseAttr::get(ctx, loom::SparseFormat::TiledCsl, rows, 64,
                                            sp.getDensity())},
        {"bitmap", loom::SparseAttr::get(ctx, loom::SparseFormat::Bitmap, rows, 64,
                                         sp.getDensity())},
        {"dense", Attribute()}};
    for (Option &o : options) {
      arg.setType(RankedTensorType::get(type.getShape(), type.getElementType(), o.encoding));
      // A format no plan fits is only not chosen: its errors are collected.
      ScopedDiagnosticHandler quiet(ctx, [&](Diagnostic &d) {
        if (o.why.empty())
          o.why = d.str();
        return success();
      });
      FailureOr<Contraction> c = analyzeContraction(op);
      if (failed(c))
        continue;
      Contraction planned = c->forPlanning();
      FailureOr<PlanChoice> choice =
          selectPlan(planned, t, ctx, [&] { return op.emitOpError(); });
      if (succeeded(choice))
        o.seconds = choice->chosen.estimate.seconds;
    }
    Option *best = nullptr;
    for (Option &o : options)
      if (o.seconds >= 0 && (!best || o.seconds < best->seconds))
        best = &o;
    if (!best) {
      arg.setType(type);
      return op.emitOpError("no format fits this sparse weight: ") << options[0].why;
    }
    arg.setType(RankedTensorType::get(type.getShape(), type.getElementType(), best->encoding));
    SmallVector<Type> inputs;
    for (BlockArgument a : func.getArguments())
      inputs.push_back(a.getType());
    func.setType(FunctionType::get(ctx, inputs, func.getResultTypes()));
    if (explain) {
      *explain << "einsum \"" << op.getSpec() << "\": sparse weight of format auto at "
               << (sp.getDensity() ? std::to_string(sp.getDensity()) + "% density"
                                   : std::string("an assumed 25% density"))
               << ": " << best->name << " (estimates:";
      for (Option &o : options)
        if (o.seconds >= 0)
          *explain << " " << o.name << " " << llvm::formatv("{0:f2}", o.seconds * 1e6) << " us";
        else
          *explain << " " << o.name << " does not fit";
      *explain << ")\n";
    }
  }
  return success();
}
