//===- SelectPlan.cpp - choosing a #loom.plan for a contraction -----------===//
//
// A roofline cost model over a small set of tile shapes: the estimated time
// is the larger of the compute time (whole waves of CTAs, each at an
// efficiency that grows with the warp tile) and the memory time (the fewest
// bytes over DRAM bandwidth), plus a launch cost.
//
//===----------------------------------------------------------------------===//
#include "einloom/Plan/SelectPlan.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/Format.h"

#include <cmath>

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

/// The CUDA-core kernel's one shape: a 128x128 tile, K in steps of 16, 256
/// threads that each keep an 8x8 block of accumulators.
static PlanAttr fmaPlan(MLIRContext *ctx) {
  return PlanAttr::get(ctx, 128, 128, 16, 4, 2, MmaShape::Fma, /*stages=*/1, /*split_k=*/1,
                       ProducerKind::CpAsync, RasterOrder::RowMajor, /*swizzle=*/1,
                       /*cluster_m=*/1, Schedule::Cooperative, OperandSource::Shared);
}

/// f64's one shape: the same 128x128 tile, K steps of 16, and eight warps
/// (2x4) of 64x32 that each issue 32 m8n8k4 DMMAs per K step of 4.
static PlanAttr dmmaPlan(MLIRContext *ctx) {
  return PlanAttr::get(ctx, 128, 128, 16, 2, 4, MmaShape::M8N8K4, /*stages=*/1, /*split_k=*/1,
                       ProducerKind::CpAsync, RasterOrder::RowMajor, /*swizzle=*/1,
                       /*cluster_m=*/1, Schedule::Cooperative, OperandSource::Shared);
}

/// The one plan of the kernel that runs `mma` (fma or m8n8k4).
static PlanAttr simtPlan(MLIRContext *ctx, MmaShape mma) {
  return mma == MmaShape::M8N8K4 ? dmmaPlan(ctx) : fmaPlan(ctx);
}

int64_t einloom::tileKFor(Type elem) { return 128 / elementBytes(elem); }

static bool isWgmmaShape(MmaShape m) {
  return m == MmaShape::WgmmaK16 || m == MmaShape::WgmmaK32;
}

/// A wgmma TMA plan's C staging buffers: two blocks of 64 rows of 128
/// bytes per consumer warpgroup, when C is stored with TMA.
static int64_t wgmmaStagingBytes(int64_t consumers, const Contraction &c) {
  return c.tmaStorable() ? 2 * consumers * 64 * 128 : 0;
}

/// The operand ring: `stages` stages of an A and a B tile.
static int64_t ringBytes(PlanAttr p, const Contraction &c) {
  return (p.getTileM() * elementBytes(c.elemA) + p.getTileN() * elementBytes(c.elemB)) *
         p.getTileK() * p.getStages();
}

int64_t einloom::tmaStagingBytes(PlanAttr p, const Contraction &c) {
  if (p.getProducer() != ProducerKind::Tma)
    return 0;
  if (isWgmmaShape(p.getMma()))
    return wgmmaStagingBytes(p.getNumWarps() / 4, c);
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

int64_t einloom::sharedMemoryBytes(PlanAttr p, const Contraction &c) {
  // TMA plans keep two mbarriers (8 bytes each) per stage after the ring,
  // and the C staging buffers.
  if (p.getProducer() != ProducerKind::Tma)
    return ringBytes(p, c);
  // A ping-pong schedule adds two mbarriers that order its consumers.
  int64_t turns = p.getSchedule() == Schedule::PingPong ? 16 : 0;
  return ringBytes(p, c) + 16 * p.getStages() + turns + tmaStagingBytes(p, c);
}

int64_t einloom::tmaCtasPerSM(PlanAttr p, const Contraction &c, int64_t smemPerSM) {
  const int64_t reservedPerCta = 1024; // what the driver keeps per CTA
  bool fits = 2 * (sharedMemoryBytes(p, c) + reservedPerCta) <= smemPerSM;
  return p.getProducer() == ProducerKind::Tma && isWgmmaShape(p.getMma()) && p.getWarpsM() == 4 &&
                 p.getTileN() <= 128 && fits
             ? 2
             : 1;
}

static double ceilDiv(double a, double b) { return std::ceil(a / b); }

PlanEstimate einloom::estimatePlan(PlanAttr p, const Contraction &c,
                                   const TargetInfo &t) {
  PlanEstimate e;
  int64_t bm = p.getTileM(), bn = p.getTileN();
  int64_t wm = bm / p.getWarpsM(), wn = bn / p.getWarpsN();
  e.sharedMemoryBytes = sharedMemoryBytes(p, c);
  int64_t threads = p.getNumWarps() * 32;
  int64_t regs = wm * wn / 32 + 64; // accumulators plus addressing
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
  double tileFlops = 2.0 * bm * bn * kPadded;
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
  if (isWgmma && p.getProducer() == ProducerKind::Tma)
    efficiency = p.getTileN() >= 256 ? 0.95 : 0.8;
  double perSM = rate / t.numSMs;
  e.computeSeconds = std::ceil(e.waves) * e.ctasPerSM * tileFlops / (perSM * efficiency);
  e.flops = c.flops();
  e.bytes = c.minBytes();
  if (split > 1) // partial sums written and read back once
    e.bytes += 2 * split * c.batch.size() * c.m.size() * c.n.size() * elementBytes(c.acc);
  e.memorySeconds = double(e.bytes) / t.dramBytesPerSec;
  e.seconds = std::max(e.computeSeconds, e.memorySeconds) + (split > 1 ? 6e-6 : 3e-6);
  return e;
}

LogicalResult
einloom::verifyPlanForTarget(PlanAttr p, const Contraction &c, const TargetInfo &t,
                             function_ref<InFlightDiagnostic()> emitError) {
  FailureOr<MmaShape> want = mmaFor(c);
  if (failed(want))
    return emitError() << "no instruction for " << c.elemA << " operands";
  // The fma and DMMA plans (the CUDA-core kernel's tiling) are one each.
  auto simt = [](MmaShape m) { return m == MmaShape::Fma || m == MmaShape::M8N8K4; };
  if (simt(*want) || simt(p.getMma())) {
    if (p.getMma() != *want)
      return emitError() << "plan instruction " << stringifyMmaShape(p.getMma())
                         << " does not fit " << c.elemA << " operands; expected "
                         << stringifyMmaShape(*want);
    PlanAttr only = simtPlan(p.getContext(), *want);
    if (p != only)
      return emitError() << "the " << (*want == MmaShape::Fma ? "CUDA-core (fma)" : "f64 (DMMA)")
                         << " kernel has one plan: " << only;
    return success();
  }
  if (!t.supportsMma(c.elemA))
    return emitError() << c.elemA << " tensor-core math needs sm_89 or newer; "
                       << "target " << t.chip << " does not have it";
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
  if ((p.getTileM() * 8) % (p.getNumWarps() * 32) ||
      (p.getTileN() * 8) % (p.getNumWarps() * 32))
    return emitError() << "the tile's 16-byte chunks must divide evenly among "
                       << p.getNumWarps() * 32 << " threads";
  int64_t kTiles = (c.k.size() + p.getTileK() - 1) / p.getTileK();
  if (p.getSplitK() > 1 && !c.epilogue.empty())
    return emitError() << "split_k = " << p.getSplitK()
                       << " cannot carry the fused epilogue; use split_k = 1";
  if (p.getSplitK() > kTiles)
    return emitError() << "split_k = " << p.getSplitK() << " exceeds the " << kTiles
                       << " K tiles of " << p.getTileK();
  if (p.getSchedule() == Schedule::PingPong && p.getProducer() != ProducerKind::Tma)
    return emitError() << "a ping-pong schedule needs the TMA kernel (producer = tma)";
  if (p.getProducer() == ProducerKind::Tma) {
    // The warp-specialized kernel gives the producer's registers to the
    // consumers with setmaxnreg, an sm_90a instruction.
    if (!t.archSpecific)
      return emitError() << "the TMA kernel (warp-specialized, setmaxnreg) needs target "
                            "sm_90a, not "
                         << t.chip;
    if (p.getSplitK() != 1)
      return emitError() << "the TMA kernel does not split K";
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
    if (p.getSchedule() == Schedule::PingPong && (p.getWarpsM() != 8 || p.getClusterM() != 1))
      return emitError() << "a ping-pong schedule takes two consumer warpgroups (warps_m = 8) "
                            "and no cluster";
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
  int64_t smem = sharedMemoryBytes(p, c);
  if (smem > t.smemPerBlock)
    return emitError() << "the plan needs " << smem / 1024
                       << " KiB of shared memory; " << t.chip << " allows "
                       << t.smemPerBlock / 1024 << " KiB per block";
  return success();
}

FailureOr<PlanChoice>
einloom::selectPlan(const Contraction &c, const TargetInfo &t, MLIRContext *ctx,
                    function_ref<InFlightDiagnostic()> emitError) {
  FailureOr<MmaShape> mma = mmaFor(c);
  if (failed(mma)) {
    emitError() << "no instruction for " << c.elemA << " operands";
    return failure();
  }
  if (*mma == MmaShape::Fma || *mma == MmaShape::M8N8K4) {
    PlanAttr p = simtPlan(ctx, *mma);
    PlanCandidate only{p, estimatePlan(p, c, t), ""};
    return PlanChoice{only, {only}};
  }
  if (!t.supportsMma(c.elemA)) {
    emitError() << c.elemA << " tensor-core math needs sm_89 or newer; target "
                << t.chip << " does not have it";
    return failure();
  }
  struct Shape {
    int64_t bm, bn, wmN, wnN;
  };
  const Shape shapes[] = {{128, 256, 2, 4}, {256, 128, 4, 2}, {128, 128, 2, 2},
                          {128, 64, 2, 2},  {64, 128, 2, 2},  {64, 64, 2, 2},
                          {32, 64, 1, 2}};
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
  auto consider = [&](PlanAttr p) {
    PlanCandidate cand{p, estimatePlan(p, c, t), ""};
    std::string why;
    llvm::raw_string_ostream os(why);
    ScopedDiagnosticHandler quiet(ctx, [&](Diagnostic &d) {
      os << d.str();
      return success();
    });
    if (failed(verifyPlanForTarget(p, c, t, [&] { return emitError(); })))
      cand.rejectedBecause = why.empty() ? "rejected by the target" : why;
    all.push_back(cand);
  };
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
      int64_t staging = producer == ProducerKind::Tma ? wgmmaStagingBytes(s.warpsM() / 4, c) : 0;
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
      int64_t clusterM =
          producer == ProducerKind::Tma && ceilDiv(c.m.size(), s.bm) >= 2 ? s.cluster : 1;
      if (producer == ProducerKind::Tma && many && c.k.size() >= 16384 &&
          ceilDiv(c.m.size(), s.bm) >= 2) {
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
                                 aRegs ? OperandSource::Registers : OperandSource::Shared);
      consider(p);
    }
  for (const Shape &s : shapes)
   for (int64_t split : {1, 2, 4, 8, 16}) {
    double outTiles = c.batch.size() * ceilDiv(c.m.size(), s.bm) * ceilDiv(c.n.size(), s.bn);
    if (split > 1 && (outTiles * split > 2.0 * t.numSMs || kTiles < 4 * split ||
                      !c.epilogue.empty())) // (the reduce kernel has no fused epilogue)
      continue;
    int64_t stageBytes = (s.bm * elementBytes(c.elemA) + s.bn * elementBytes(c.elemB)) * tk;
    int64_t stages = std::clamp<int64_t>(t.smemPerBlock / stageBytes, 1, 4);
    if (stages < 2)
      continue;
    PlanAttr p = PlanAttr::get(ctx, s.bm, s.bn, tk, s.wmN, s.wnN, *mma, stages,
                               split, ProducerKind::CpAsync, raster, swz, 1,
                               Schedule::Cooperative, OperandSource::Shared);
    consider(p);
  }
  PlanCandidate *best = nullptr;
  for (PlanCandidate &cand : all)
    if (cand.rejectedBecause.empty() &&
        (!best || cand.estimate.seconds < best->estimate.seconds))
      best = &cand;
  if (!best) {
    emitError() << "no plan fits the target " << t.chip;
    return failure();
  }
  PlanChoice choice;
  choice.chosen = *best;
  for (PlanCandidate &cand : all) {
    if (&cand == best)
      continue;
    if (cand.rejectedBecause.empty()) {
      std::string why;
      llvm::raw_string_ostream os(why);
      os << "estimated " << llvm::format("%.1f", cand.estimate.seconds * 1e6)
         << " us against " << llvm::format("%.1f", best->estimate.seconds * 1e6)
         << " us (" << llvm::format("%.2f", cand.estimate.waves) << " waves)";
      cand.rejectedBecause = why;
    }
    choice.alternatives.push_back(cand);
  }
  return choice;
}

static void printPlanLine(llvm::raw_ostream &os, PlanAttr p) {
  os << p.getTileM() << "x" << p.getTileN() << "x" << p.getTileK() << " tile, "
     << p.getWarpsM() << "x" << p.getWarpsN() << " warps, "
     << stringifyMmaShape(p.getMma())
     << (isWgmmaShape(p.getMma()) ? " (Hopper)" : "")
     << ", " << p.getStages() << " stages";
  if (p.getProducer() == ProducerKind::Tma)
    os << ", TMA + mbarrier, warp-specialized, persistent";
  if (p.getSchedule() == Schedule::PingPong)
    os << ", ping-pong consumers";
  if (p.getASource() == OperandSource::Registers)
    os << ", A from registers";
  if (p.getSplitK() > 1)
    os << ", split-K " << p.getSplitK();
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
  if (!c.epilogue.empty())
    os << "  fused epilogue: " << c.epilogue.describe() << " (applied before the store)\n";
}

static void printEstimate(llvm::raw_ostream &os, const PlanEstimate &e) {
  os << "  estimate: " << llvm::format("%.2f", e.seconds * 1e6) << " us, "
     << llvm::format("%.1f", e.flops / e.seconds / 1e12) << " TFLOP/s, "
     << e.bytes << " bytes (" << llvm::format("%.1f", e.bytes / e.seconds / 1e9)
     << " GB/s), " << (e.computeBound() ? "compute" : "memory") << "-bound; "
     << llvm::format("%.2f", e.waves) << " waves at " << e.ctasPerSM
     << " CTA/SM, " << e.sharedMemoryBytes / 1024 << " KiB shared memory\n";
}

void einloom::printGivenPlan(llvm::raw_ostream &os, const Contraction &c, const TargetInfo &t,
                             PlanAttr plan) {
  printPlanHeader(os, c, t, "given plan (from the IR or --plan; the planner did not choose it)",
                  plan);
  printEstimate(os, estimatePlan(plan, c, t));
}

void einloom::printExplanation(llvm::raw_ostream &os, const Contraction &c,
                               const TargetInfo &t, const PlanChoice &choice) {
  const PlanEstimate &e = choice.chosen.estimate;
  printPlanHeader(os, c, t, "chosen plan", choice.chosen.plan);
  // Which instruction family, and why.
  PlanAttr p = choice.chosen.plan;
  bool wgmma = isWgmmaShape(p.getMma());
  bool kMajor = StringRef(c.operandLayout('A', 128)) == "k-major" &&
                StringRef(c.operandLayout('B', 128)) == "k-major";
  os << "  family: ";
  if (p.getMma() == MmaShape::M8N8K4) {
    os << "f64 tensor cores (DMMA, mma.sync m8n8k4) in 64x64 tiles, operands read element by "
          "element through their strides\n";
    printEstimate(os, choice.chosen.estimate);
    return;
  }
  if (p.getMma() == MmaShape::Fma) {
    os << "CUDA cores (fma): " << c.elemA
       << (c.elemA.isF32() ? " without allow_tf32 (opt in with --tf32 for tf32 tensor cores)"
                           : " has no tensor-core instruction here")
       << "\n";
    return;
  }
  if (wgmma) {
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
  os << "alternatives rejected:\n";
  for (const PlanCandidate &a : choice.alternatives) {
    os << "  ";
    printPlanLine(os, a.plan);
    os << ": " << a.rejectedBecause << "\n";
  }
}
