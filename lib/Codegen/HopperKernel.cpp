//===- HopperKernel.cpp - warp-specialized TMA + wgmma kernels ------------===//
//
// The kernel for sm_90a plans with producer = tma (as CUTLASS's cooperative
// warp-specialized schedule, written from the PTX ISA):
//
//   warpgroup 0 (producer, setmaxnreg.dec 40): one thread walks this CTA's
//     tiles and their K tiles; for each it waits until the ring stage is
//     empty, arms the stage's `full` mbarrier with the bytes to expect and
//     issues two TMA copies (A and B boxes) that complete on it.
//   warpgroups 1.. (consumers, setmaxnreg.inc): each owns 64 rows of the
//     tile. Per K tile: wait on `full`, issue wgmma on the stage (the TMA's
//     128-byte swizzle is the layout the descriptors expect), keep one K
//     tile of MMAs in flight, and release the previous stage on its `empty`
//     mbarrier (one arrival per consumer warp). After the last K tile, the
//     epilogue stores the accumulators while the producer already fills the
//     ring for the next tile.
//   With the ping-pong schedule the two consumers do not share a tile: each
//     takes whole 64-row tiles, alternately (the CTA's tiles 0, 2, 4, ... and
//     1, 3, 5, ...), so one's epilogue overlaps the other's MMAs. The ring is
//     the same; each stage is released by the one consumer that read it.
//
// A dequantized weight (the mixed-input kernel's TMA form) is A as packed
// codes: the producer moves each stage's run of them with one bulk copy
// (cp.async.bulk, no tensor map) beside the activations' TMA copy, and the
// consumers dequantize their lanes' words into wgmma's register A
// (MixedInput.cpp), with the scale registers one K tile ahead.
//
// The grid is persistent: CTA i takes tiles i, i + grid, ... in the plan's
// raster order. The copy engine zero-fills boxes that overhang the tensor,
// so M, N and K tails need no predication until the epilogue.
//
//===----------------------------------------------------------------------===//
#include "einloom/Codegen/BlockScales.h"
#include "einloom/Codegen/KernelBuilder.h"

#include "KernelContext.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "einloom/Plan/SelectPlan.h"

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Hopper's shared memory per SM (the TMA kernel is for sm_90a only).
static constexpr int64_t kSmemPerSM = 228 * 1024;

/// Registers per thread after setmaxnreg: the producer gives most of its
/// share to the consumers. setmaxnreg only moves registers within the
/// CTA's allocation at launch (the per-thread cap from 65536 per SM, the
/// CTAs on it and the block size, in steps of 8, at most 248): a request
/// beyond it never completes. (On an H100, 48 + 2 x 232 per thread of a
/// 384-thread CTA, 65536 in all, hung at the increase.) With mma.sync
/// consumers the producer keeps 48; at 40 an earlier version of it spilled
/// 8 bytes. (The current kernel assembles at 40 and at 24, and 24, which
/// gives the consumers 240, ran no faster: bench/RESULTS.md, runs AT, AU.)
static int64_t producerRegisters(bool mmaSync) { return mmaSync ? 48 : 40; }
static int64_t consumerRegisters(int64_t consumers, int64_t ctasPerSM, int64_t producer) {
  int64_t threads = 128 * (consumers + 1);
  int64_t atEntry = std::min<int64_t>(248, 65536 / ctasPerSM / threads / 8 * 8);
  int64_t r = (atEntry * threads - 128 * producer) / (128 * consumers);
  return std::min<int64_t>(240, r / 8 * 8);
}

/// Waits until the phase of parity `parity` of the mbarrier at `bar` (this
/// CTA's shared memory) has completed, with acquire semantics at cluster
/// scope: what other CTAs of the cluster wrote before their release
/// arrivals is then visible.
static void waitClusterParity(OpBuilder &b, Location loc, Value bar, Value parity) {
  Value addr = LLVM::PtrToIntOp::create(b, loc, b.getI32Type(), bar);
  LLVM::InlineAsmOp::create(
      b, loc, Type(), ValueRange{addr, parity},
      "{\n.reg .pred p;\nwait_${:uid}:\n"
      "mbarrier.try_wait.parity.acquire.cluster.shared::cta.b64 p, [$0], $1, 10000000;\n"
      "@!p bra wait_${:uid};\n}",
      "r,r", /*has_side_effects=*/true, /*is_align_stack=*/false, LLVM::TailCallKind::None,
      LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT), ArrayAttr());
}

/// One bulk copy (no tensor map) of `bytes` (i32, a multiple of 16) from
/// the global address `src` (i64, 16-byte aligned) to this CTA's shared
/// memory at `dst` (i32), completing on the mbarrier at `bar` (i32) with
/// its byte count; with `policy`, under that L2 cache policy.
static void bulkCopyToShared(OpBuilder &b, Location loc, Value dst, Value src, Value bytes,
                             Value bar, Value policy) {
  std::string text =
      "{\n.reg .u64 g;\ncvta.to.global.u64 g, $1;\n"
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes" +
      std::string(policy ? ".L2::cache_hint [$0], [g], $2, [$3], $4;" : " [$0], [g], $2, [$3];") +
      "\n}";
  SmallVector<Value> operands{dst, src, bytes, bar};
  if (policy)
    operands.push_back(policy);
  LLVM::InlineAsmOp::create(b, loc, Type(), operands, text, policy ? "r,l,r,r,l" : "r,l,r,r",
                            /*has_side_effects=*/true, /*is_align_stack=*/false,
                            LLVM::TailCallKind::None,
                            LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
                            ArrayAttr());
}

FailureOr<KernelLaunch>
einloom::buildWarpSpecializedKernel(gpu::GPUModuleOp module, StringRef name,
                                    const Contraction &c, loom::PlanAttr plan, Location loc,
                                    int64_t numSMs) {
  if (c.elemA != c.elemB)
    return emitError(loc, "operands of different element types are not supported");
  // mma.sync consumers (any warp grid of one or two warpgroups) read the
  // K-major stages with ldmatrix; wgmma consumers are warps_m x 1.
  bool mmaSync = plan.getMma() != loom::MmaShape::WgmmaK16 &&
                 plan.getMma() != loom::MmaShape::WgmmaK32;
  if (mmaSync ? plan.getNumWarps() != 4 && plan.getNumWarps() != 8
              : plan.getWarpsN() != 1 || (plan.getWarpsM() != 4 && plan.getWarpsM() != 8))
    return emitError(loc, "the TMA kernel runs one or two consumer warpgroups (warps_m = 4 "
                          "or 8, warps_n = 1; with mma.sync, warps_m x warps_n = 4 or 8)");
  // A dequantized weight (the mixed-input kernel's TMA form): A is the
  // weight's packed codes, each stage's rows one contiguous run that a bulk
  // copy moves; the consumers dequantize them into wgmma's register A.
  bool packed = c.quant.has_value();
  DequantRecipe recipe;
  if (packed) {
    std::string why;
    std::optional<DequantRecipe> r =
        dequantRecipe(c.quant->bits, c.quant->isSigned, c.elemA.isBF16(), why);
    if (!r)
      return emitError(loc, why);
    recipe = *r;
    if (!c.swapped || mmaSync || plan.getASource() != loom::OperandSource::Registers ||
        plan.getTileK() != 64 || plan.getSplitK() != 1 || plan.getClusterM() != 1 ||
        plan.getSchedule() == loom::Schedule::PingPong || !c.batch.modes.empty() ||
        c.dynamicLabel)
      return emitError(loc, "the TMA mixed-input kernel takes order = ba, wgmma_k16 with "
                            "a_source = registers, tile_k = 64, split_k = 1, cluster_m = 1, "
                            "the cooperative schedule, and static, unbatched shapes");
  }
  SmallVector<int64_t> dimsA, stridesA, dimsB, stridesB;
  std::string why;
  bool mnA = false, mnB = false;
  if ((!packed && failed(c.tensorMapFor('A', dimsA, stridesA, why, &mnA))) ||
      failed(c.tensorMapFor('B', dimsB, stridesB, why, &mnB)))
    return emitError(loc, "TMA cannot describe the operands: ") << why;
  if ((mnA || mnB) && elementBytes(c.elemA) != 2)
    return emitError(loc, "wgmma reads M- or N-contiguous (transposed) operands only for "
                          "16-bit types, not ")
           << c.elemA;
  if (mnA && plan.getASource() == loom::OperandSource::Registers)
    return emitError(loc, "a_source = registers needs A contiguous along K");
  if (mmaSync && (mnA || mnB))
    return emitError(loc, "the TMA kernel with mma.sync needs both operands contiguous along K");

  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  int64_t eb = elementBytes(c.elemA);
  int64_t bm = plan.getTileM(), bn = plan.getTileN(), bk = plan.getTileK();
  int64_t stages = plan.getStages();
  int64_t consumers = plan.getNumWarps() / 4;
  bool pingpong = plan.getSchedule() == loom::Schedule::PingPong;
  if (mmaSync && (pingpong || plan.getASource() == loom::OperandSource::Registers))
    return emitError(loc, "ping-pong and a_source = registers are wgmma forms");
  if (pingpong && (consumers != 2 || plan.getTileM() != 64 || plan.getClusterM() != 1))
    return emitError(loc, "a ping-pong schedule takes two consumer warpgroups on 64-row tiles "
                          "and no cluster");
  // Warpgroups reading each stage (and arriving on its `empty` barrier).
  int64_t readers = pingpong ? 1 : consumers;
  int64_t threads = 128 * (consumers + 1);
  int64_t tilesM = ceilDiv(c.m.size(), bm), tilesN = ceilDiv(c.n.size(), bn);
  int64_t numK = ceilDiv(c.k.size(), bk);
  // Work units: with a cluster of `mcast` CTAs along M, one unit is
  // `mcast` vertically adjacent tiles that share the B tile; CTA rank r of
  // the cluster takes tile row unitRow * mcast + r. With split_k = S, a
  // cluster of S CTAs takes one tile, rank r summing K tiles [r * kPer,
  // +kPer) (the last fewer); rank 0 adds the others' partial sums, read
  // from their shared memory, to its own and stores C.
  int64_t mcast = plan.getClusterM(), splits = plan.getSplitK();
  int64_t cluster = std::max(mcast, splits);
  int64_t kPer = ceilDiv(numK, splits);
  int64_t unitRows = ceilDiv(tilesM, mcast);
  int64_t unitsPerBatch = unitRows * tilesN;
  int64_t totalUnits = c.batch.size() * unitsPerBatch;
  // (Packed codes: bm rows of 8 * bits bytes a stage, the ring rounded up
  // to the 1024 bytes that B's swizzled stages are aligned to.)
  int64_t aRowBytes = packed ? 8 * c.quant->bits : 128;
  int64_t ringA = packed ? (stages * bm * aRowBytes + 1023) / 1024 * 1024 : stages * bm * 128;
  int64_t ringB = stages * bn * 128;
  // Shared memory: the A ring, the B ring, the C staging buffers (all
  // 1024-byte aligned, as the 128-byte swizzle needs), then the barriers.
  // A 16- or 32-bit C that TMA can describe is staged through shared memory
  // in blocks of 64 rows of 128 bytes (two buffers per consumer warpgroup)
  // and stored with TMA. mma.sync warps stage their whole warp tile of a
  // 16-bit C (wm rows of 64-column blocks, 128-byte swizzled) and each
  // stores its own with TMA.
  int64_t stagingBytes = tmaStagingBytes(plan, c);
  bool tmaStore = !mmaSync && stagingBytes > 0;
  bool warpStore = mmaSync && stagingBytes > 0;
  int64_t wm = bm / plan.getWarpsM(), wn = bn / plan.getWarpsN();
  // Rows of its tile a warp stages at a time: all, or half where the whole
  // tile does not fit (see tmaStagingBytes).
  int64_t warpStageRows =
      warpStore && stagingBytes < plan.getNumWarps() * wm * wn * 2 ? wm / 2 : wm;
  SmallVector<int64_t> dimsC, stridesC;
  if (stagingBytes)
    (void)c.tensorMapFor('C', dimsC, stridesC, why);
  constexpr int64_t kBlockBytes = 64 * 128; // 64 rows of 128 bytes
  int64_t stagingAt = ringA + ringB;
  int64_t fullAt = stagingAt + stagingBytes;
  int64_t emptyAt = fullAt + 8 * stages;
  // Ping-pong: two `turn` mbarriers order the consumers' main loops.
  int64_t turnAt = emptyAt + 8 * stages;
  // Split-K: rank 0's `ready` mbarrier (the other ranks' partials are in
  // their shared memory), each other rank's `free` one (rank 0 has read
  // them), then this CTA's partial sums: word i of consumer thread t of
  // warpgroup w at ((w * accs + i) * 128 + t) * 4, conflict-free.
  int64_t readyAt = turnAt + (pingpong ? 16 : 0);
  int64_t freeAt = readyAt + 8, partialAt = readyAt + 16;
  int64_t accsPerThread = bn / 2;
  // One consumer warpgroup whose shared memory fits twice on an SM: two
  // CTAs per SM, so that one's epilogue overlaps the other's MMAs. Each then
  // has half the registers: 128 per thread at entry, which ptxas must fit
  // the whole kernel in (a 256-wide tile's 128 accumulators do not fit;
  // ptxas C7602), and 216 per consumer thread after setmaxnreg.
  int64_t ctasPerSM = tmaCtasPerSM(plan, c, kSmemPerSM);
  // (A packed weight with one tile column is read once at any token count.)
  bool streamA = tilesN == 1 && tilesM > 1 && (packed || c.n.size() <= 64);

  KernelLaunch launch;
  launch.name = name.str();
  launch.ctasPerSM = ctasPerSM;
  launch.argumentBytes[c.argA()] =
      packed ? c.quant->packedBytes : c.tensorBytes(c.m, c.k, c.elemA);
  launch.argumentBytes[c.argB()] = c.tensorBytes(c.n, c.k, c.elemB);
  launch.argumentBytes[2] = c.tensorBytes(c.m, c.n, c.elemC);
  launch.grid = {cluster * std::min(totalUnits, std::max<int64_t>(ctasPerSM * numSMs / cluster, 1)),
                 1, 1};
  launch.cluster = cluster;
  if (c.dynamicLabel) // one unit per `mcast` tile rows, each `cluster` CTAs
    launch.dynamicGrid = {1, bm * mcast, c.batch.size() * tilesN * cluster};
  launch.block = {threads, 1, 1};
  launch.sharedMemoryBytes = sharedMemoryBytes(plan, c);
  if (launch.sharedMemoryBytes != readyAt + splitReduceBytes(plan))
    return emitError(loc, "internal error: shared-memory layout disagrees with the plan");
  launch.layoutA = packed ? "packed codes (a_fragment, bulk copies)"
                   : mnA  ? "mn-major (TMA)"
                          : "k-major (TMA)";
  launch.layoutB = mnB ? "mn-major (TMA)" : "k-major (TMA)";
  launch.persistent = true;
  // A K-major operand's box is 128 bytes of K by the tile's rows; an
  // MN-major one's is 64 rows (128 bytes) by 64 K, copied once per 64 rows.
  auto map = [&](int operand, ArrayRef<int64_t> dims, ArrayRef<int64_t> strides, int64_t rows,
                 bool mnMajor = false) {
    KernelLaunch::TensorMap t;
    t.operand = operand;
    t.elementBytes = operand == 2 ? elementBytes(c.elemC) : eb;
    t.dims.assign(dims.begin(), dims.end());
    t.strides.assign(strides.begin(), strides.end());
    t.box = {128 / t.elementBytes, mnMajor ? 128 / t.elementBytes : rows};
    if (dims.size() == 3)
      t.box.push_back(1);
    return t;
  };
  // Each CTA of a multicast cluster copies 1/mcast of the B tile and
  // multicasts it.
  if (!packed)
    launch.tensorMaps.push_back(map(c.argA(), dimsA, stridesA, bm, mnA));
  launch.tensorMaps.push_back(map(c.argB(), dimsB, stridesB, bn / mcast, mnB));
  if (stagingBytes)
    launch.tensorMaps.push_back(map(2, dimsC, stridesC, warpStore ? warpStageRows : 64));
  // A dynamic M is the rows extent of A (K-major: it leads A) and of C; the
  // host fills in the size.
  if (c.dynamicLabel) {
    if (mnA)
      return emitError(loc, "internal error: a dynamic M must lead operand A");
    for (KernelLaunch::TensorMap &t : launch.tensorMaps)
      if (t.operand != int(c.argB()))
        t.dims[1] = -1;
  }

  launch.epilogueBytes = c.epilogue.bufferBytes();
  // Arguments: A, B, C, the epilogue's buffers, the weight's scales and
  // zero points (packed), then the table of tensor maps.
  SmallVector<int64_t, 3> extra;
  if (packed)
    extra = packedWeightBuffers(*c.quant);
  unsigned tableArg = 3 + launch.epilogueBytes.size() + extra.size();
  extra.push_back(int64_t(128 * launch.tensorMaps.size()));
  auto func = createKernelFunc(b, loc, name, launch, extra, c.dynamicLabel != 0, threads);
  // setmaxnreg needs a register cap at entry: ctasPerSM CTAs per SM.
  func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(), b.getI32IntegerAttr(ctasPerSM));
  if (cluster > 1)
    func->setAttr(NVVM::NVVMDialect::getClusterDimAttrName(),
                  b.getDenseI32ArrayAttr({int32_t(cluster), 1, 1}));
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);

  bool narrow = launch.argumentBytes[2] < (int64_t(1) << 31);
  // (A ping-pong tile belongs to one warpgroup: four warps of 16 rows.)
  KernelContext kc{b, loc, c, plan, bm, bn, bk, stages,
                   pingpong ? 4 : plan.getWarpsM(), mmaSync ? plan.getWarpsN() : 1, threads, eb,
                   narrow ? b.getI32Type() : b.getI64Type(), {}, {}, {}, {}};
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  auto c32 = [&](int64_t v) { return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v)).getResult(); };
  auto c64 = [&](int64_t v) { return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v)).getResult(); };
  auto to64 = [&](Value v) {
    return v.getType() == i64 ? v : arith::ExtUIOp::create(b, loc, i64, v).getResult();
  };
  auto to32 = [&](Value v) {
    return v.getType() == i32 ? v : arith::TruncIOp::create(b, loc, i32, v).getResult();
  };
  auto addressOf = [&](Value memref) { return sharedAddress(b, loc, memref); };
  kc.initSize(entry);
  kc.bindEpilogue(entry);
  // Work units from M (a launch-time value when M is dynamic).
  Value unitRowsV = kc.tilesOfM(bm * mcast);
  Value unitsPerBatchV = kc.mul(unitRowsV, tilesN);
  Value totalUnitsV = kc.mul(unitsPerBatchV, c.batch.size());
  kc.tid = kc.fromIndex(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x));
  kc.lane = kc.rem(kc.tid, 32);
  Value warpgroup = kc.div(kc.tid, 128);

  auto sharedSpace = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Value smem = gpu::DynamicSharedMemoryOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), nullptr, sharedSpace));
  auto region = [&](int64_t offset, int64_t bytes) {
    return memref::ViewOp::create(b, loc,
                                  MemRefType::get({bytes}, b.getI8Type(), nullptr, sharedSpace),
                                  smem, arith::ConstantIndexOp::create(b, loc, offset),
                                  ValueRange{});
  };
  Value smemBase = addressOf(smem);
  auto sharedPtr = [&](Value offset64) {
    return LLVM::IntToPtrOp::create(b, loc, LLVM::LLVMPointerType::get(ctx, 3),
                                    arith::AddIOp::create(b, loc, smemBase, offset64).getResult())
        .getResult();
  };
  // The mbarrier of ring stage `s` (an intType value) in the array at `at`.
  auto barrierAt = [&](int64_t at, Value s) {
    return sharedPtr(arith::AddIOp::create(b, loc, c64(at),
                                           arith::MulIOp::create(b, loc, to64(s), c64(8)))
                         .getResult());
  };
  Value tmaps = addressOf(entry.getArgument(tableArg));
  auto genericPtr = LLVM::LLVMPointerType::get(ctx);
  // The maps in the table's order: A (not for packed codes), B, C.
  auto descriptor = [&](int64_t index) {
    return LLVM::IntToPtrOp::create(b, loc, genericPtr,
                                    arith::AddIOp::create(b, loc, tmaps, c64(128 * index)).getResult())
        .getResult();
  };
  int64_t firstMap = packed ? -1 : 0;
  Value descA = packed ? Value() : descriptor(0);
  Value descB = descriptor(firstMap + 1);
  Value descC = stagingBytes ? descriptor(firstMap + 2) : Value();

  OperandTile a{'A', &c.m, bm, mnA ? SmemLayout::MNMajorAtoms : SmemLayout::KMajorVector,
                c.elemA, entry.getArgument(c.argA()), {}, {}, region(0, ringA)};
  if (packed)
    bindPackedWeight(kc, a, recipe, entry, 3 + launch.epilogueBytes.size());
  OperandTile bt{'B', &c.n, bn, mnB ? SmemLayout::MNMajorAtoms : SmemLayout::KMajorVector,
                 c.elemB, entry.getArgument(c.argB()), {}, {}, region(ringA, ringB)};

  // One thread initialises the barriers: `full` completes when the producer
  // has armed it and the copies have landed; `empty` when every consumer
  // warp has finished reading the stage.
  {
    auto init = scf::IfOp::create(b, loc, kc.lt(kc.tid, 1), false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&init.getThenRegion().front());
    for (int64_t s = 0; s < stages; ++s) {
      NVVM::MBarrierInitOp::create(b, loc, barrierAt(fullAt, kc.cst(s)), c32(1), Value());
      NVVM::MBarrierInitOp::create(b, loc, barrierAt(emptyAt, kc.cst(s)),
                                   c32(4 * readers * mcast), Value());
    }
    if (pingpong)
      for (int64_t w = 0; w < 2; ++w)
        NVVM::MBarrierInitOp::create(b, loc, barrierAt(turnAt, kc.cst(w)), c32(1), Value());
    if (splits > 1) {
      NVVM::MBarrierInitOp::create(b, loc, barrierAt(readyAt, kc.cst(0)),
                                   c32((splits - 1) * consumers * 128), Value());
      NVVM::MBarrierInitOp::create(b, loc, barrierAt(freeAt, kc.cst(0)), c32(consumers * 128),
                                   Value());
    }
    NVVM::FenceMbarrierInitOp::create(b, loc);
    for (Value d : {descA, descB, descC})
      if (d)
        NVVM::PrefetchOp::create(b, loc, nullptr, nullptr, d, Value(), /*tensormap=*/true);
  }
  // Every CTA of the cluster must see the others' barriers initialised
  // before any multicast or remote arrival reaches them.
  auto clusterBarrier = [&] {
    NVVM::ClusterArriveOp::create(b, loc, b.getUnitAttr());
    NVVM::ClusterWaitOp::create(b, loc, b.getUnitAttr());
  };
  if (cluster > 1)
    clusterBarrier();
  else
    gpu::BarrierOp::create(b, loc);

  // This cluster's units: id, id + clusters, ...
  Value bidx = kc.fromIndex(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
  Value bid = kc.div(bidx, cluster);
  Value rank = kc.rem(bidx, cluster);
  Value grid = kc.div(kc.fromIndex(gpu::GridDimOp::create(b, loc, gpu::Dimension::x)), cluster);
  Value myTiles = arith::DivUIOp::create(
      b, loc, kc.add(arith::SubIOp::create(b, loc, totalUnitsV, bid), arith::SubIOp::create(b, loc, grid, kc.cst(1))),
      grid);
  // This CTA's K tiles: all, or its split's [kBegin, kBegin + kCount).
  Value kBegin = kc.cst(0), kCount = kc.cst(numK);
  if (splits > 1) {
    kBegin = kc.mul(rank, kPer);
    kCount = arith::MinUIOp::create(b, loc, kc.cst(kPer),
                                    arith::SubIOp::create(b, loc, kc.cst(numK), kBegin));
  }
  // A block mask (the last of the epilogue's buffers): one byte a tile,
  // [batch,] tile row, tile column. A masked-out tile copies and multiplies
  // nothing, and its consumers store the fill; the ring then advances by
  // the kept tiles' K tiles alone, so the producer's and the consumers'
  // tile loops carry the ring position (`iterBase`) instead of computing
  // it from the tile's index. (Cooperative, unsplit, unclustered plans:
  // the verifier.)
  bool masked = c.epilogue.maskElems != 0;
  struct Tile {
    Value batch, m0, n0, iterBase;
    Value keep; ///< the tile's mask byte is not 0 (masked plans only)
  };
  auto tileOf = [&](Value j) {
    Value linear = kc.add(bid, arith::MulIOp::create(b, loc, j, grid).getResult());
    Value bz = kc.divV(linear, unitsPerBatchV);
    auto [tu, tn] = rasterTile(kc, kc.remV(linear, unitsPerBatchV), unitRowsV, tilesN);
    Value tm = mcast > 1 ? kc.add(kc.mul(tu, mcast), rank) : tu;
    Tile t{bz, kc.mul(tm, bm), kc.mul(tn, bn), kc.mulV(j, kCount), Value()};
    if (masked)
      t.keep = blockMaskKeeps(kc, entry, launch, bz, tm, tn, tilesM, tilesN);
    return t;
  };
  // A masked plan's tile loop: the ring position rides in its argument.
  auto tileLoop = [&](Value first, Value step) {
    return masked ? scf::ForOp::create(b, loc, first, myTiles, step, ValueRange{kc.cst(0)})
                  : scf::ForOp::create(b, loc, first, myTiles, step);
  };
  // The tile's K tiles (none where it is masked out), and the loop's next
  // ring position after them.
  auto kTilesOf = [&](const Tile &t) {
    return masked ? kc.select(t.keep, kCount, kc.cst(0)) : kCount;
  };
  auto nextTile = [&](const Tile &t) {
    if (masked)
      scf::YieldOp::create(b, loc, ValueRange{kc.add(t.iterBase, kTilesOf(t))});
  };
  // Ring position of the it-th K tile this CTA handles: stage and phase parity.
  auto stageOf = [&](Value it) { return kc.rem(it, stages); };
  auto parityOf = [&](Value it) { return to32(kc.andI(kc.div(it, stages), 1)); };
  Value suspendHint = c32(0x989680);

  // Development experiments only (never set in tests or benchmarks), to
  // measure what each part costs: EINLOOM_EXPERIMENT=nocopies arms the
  // barriers without copying (MMAs on stale data); noepilogue skips C.
  const char *experiment = std::getenv("EINLOOM_EXPERIMENT");
  bool noCopies = experiment && StringRef(experiment) == "nocopies";
  bool noEpilogue = experiment && StringRef(experiment) == "noepilogue";
  if (masked && (noCopies || noEpilogue || pingpong || splits > 1 || cluster > 1))
    return emitError(loc, "internal error: a block mask on a ping-pong, split, clustered or "
                          "experimental TMA plan");
  auto isProducer = scf::IfOp::create(b, loc, kc.lt(warpgroup, 1), /*withElse=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&isProducer.getThenRegion().front());
    NVVM::SetMaxRegisterOp::create(b, loc, producerRegisters(mmaSync),
                                   NVVM::SetMaxRegisterAction::decrease);
    auto leader = scf::IfOp::create(b, loc, kc.lt(kc.tid, 1), false);
    b.setInsertionPointToStart(&leader.getThenRegion().front());
    // A skinny contraction (N at most 64, one tile column) reads each A
    // tile once: A streams through L2 marked evict-first, and the small B,
    // which every tile reads again, evict-last.
    Value hintA, hintB;
    if (streamA) {
      hintA = l2Policy(b, loc, "evict_first");
      hintB = l2Policy(b, loc, "evict_last");
    }
    auto tiles = tileLoop(kc.cst(0), kc.cst(1));
    b.setInsertionPointToStart(tiles.getBody());
    Tile t = tileOf(tiles.getInductionVar());
    if (masked)
      t.iterBase = tiles.getRegionIterArgs()[0];
    auto ks = scf::ForOp::create(b, loc, kc.cst(0), kTilesOf(t), kc.cst(1));
    b.setInsertionPointAfter(ks);
    nextTile(t);
    b.setInsertionPointToStart(ks.getBody());
    Value kt = ks.getInductionVar();
    Value it = kc.add(t.iterBase, kt);
    Value s = stageOf(it);
    // A fresh barrier counts as having completed the phase before phase 0,
    // so the first pass over the ring does not wait.
    Value parity = arith::XOrIOp::create(b, loc, parityOf(it), c32(1));
    NVVM::MBarrierTryWaitParityOp::create(b, loc, barrierAt(emptyAt, s), parity, suspendHint);
    Value full = barrierAt(fullAt, s);
    if (noCopies) {
      NVVM::MBarrierArriveOp::create(b, loc, Type(), full, Value(), NVVM::MemScopeKind::CTA,
                                     false);
    } else {
    // Packed codes: the rows of the tile that exist (the weight's rows are
    // a multiple of 16), one run of aRowBytes a row.
    Value packedBytes, expect = c32((bm + bn) * 128);
    if (packed) {
      Value rows = arith::MinSIOp::create(
          b, loc, kc.cst(bm), arith::SubIOp::create(b, loc, kc.cst(c.m.size()), t.m0));
      packedBytes = to32(kc.mul(rows, aRowBytes));
      expect = arith::AddIOp::create(b, loc, packedBytes, c32(bn * 128));
    }
    NVVM::MBarrierArriveExpectTxOp::create(b, loc, Type(), full, expect,
                                           NVVM::MemScopeKind::CTA, false, Value());
    Value k0 = to32(kc.mul(kc.add(kBegin, kt), bk));
    // `rows` of the operand from `row0`, into the stage at byte `at` plus
    // `within`; multicast to every CTA of the cluster when `mask` is set.
    // `rows` rows of the operand from `row0` (`stageRows` per stage), into
    // the stage at byte `at` plus `within`; multicast to every CTA of the
    // cluster when `mask` is set. An MN-major operand takes one box per 64
    // rows, 8 KiB apart (the same bytes per row as K-major tiles).
    auto copy = [&](Value desc, int64_t at, int64_t stageRows, int64_t rows, bool mnMajor,
                    Value row0, Value within, Value mask, Value hint) {
      for (int64_t q = 0; q < (mnMajor ? rows / 64 : 1); ++q) {
        Value dst = sharedPtr(arith::AddIOp::create(
            b, loc, arith::AddIOp::create(b, loc, c64(at + q * 64 * 128), within),
            arith::MulIOp::create(b, loc, to64(s), c64(stageRows * 128))).getResult());
        // The copy writes through the cluster window (address space 7); a
        // CTA's own shared memory is part of it.
        dst = LLVM::AddrSpaceCastOp::create(b, loc, LLVM::LLVMPointerType::get(ctx, 7), dst);
        Value r0 = to32(kc.add(row0, 64 * q));
        SmallVector<Value> coords = mnMajor ? SmallVector<Value>{r0, k0}
                                            : SmallVector<Value>{k0, r0};
        if (!c.batch.modes.empty())
          coords.push_back(to32(t.batch));
        NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
            b, loc, dst, desc, coords, full, ValueRange{}, mask, hint,
            NVVM::TMALoadMode::TILE, false, nullptr, Value());
      }
    };
    if (packed) {
      // K tile kt's run starts kt * rows * aRowBytes bytes into the codes
      // (docs/dialect.md, a_fragment); this tile's rows at m0 within it.
      Value kTile = kc.add(kBegin, kt);
      Value src = arith::AddIOp::create(
          b, loc, sharedAddress(b, loc, a.global),
          to64(kc.mul(kc.add(kc.mul(kTile, c.m.size()), t.m0), aRowBytes)));
      Value dst = LLVM::PtrToIntOp::create(
          b, loc, i32,
          sharedPtr(arith::MulIOp::create(b, loc, to64(s), c64(bm * aRowBytes)).getResult()));
      Value bar = LLVM::PtrToIntOp::create(b, loc, i32, full);
      bulkCopyToShared(b, loc, dst, src, packedBytes, bar, hintA);
    } else {
      copy(descA, 0, bm, bm, mnA, t.m0, c64(0), Value(), hintA);
    }
    if (mcast == 1) {
      copy(descB, ringA, bn, bn, mnB, t.n0, c64(0), Value(), hintB);
    } else {
      // This CTA's slice of B: rows [rank * bn / cluster, +bn / cluster).
      int64_t part = bn / cluster;
      Value mask = arith::ConstantOp::create(b, loc, b.getI16IntegerAttr((1 << cluster) - 1));
      copy(descB, ringA, bn, part, mnB, kc.add(t.n0, kc.mul(rank, part)),
           arith::MulIOp::create(b, loc, to64(rank), c64(part * 128)).getResult(), mask, hintB);
    }
    }
  }
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&isProducer.getElseRegion().front());
    NVVM::SetMaxRegisterOp::create(b, loc, consumerRegisters(consumers, ctasPerSM, producerRegisters(mmaSync)),
                                   NVVM::SetMaxRegisterAction::increase);
    Value consumer = arith::SubIOp::create(b, loc, warpgroup, kc.cst(1));
    Value warpInGroup = kc.rem(kc.div(kc.tid, 32), 4);
    // This warpgroup's first row in the tile (ping-pong: its own tiles).
    Value rowBase = pingpong ? kc.cst(0) : kc.mul(consumer, 64);
    kc.warpRow = kc.add(rowBase, kc.mul(warpInGroup, 16));
    kc.warpCol = kc.cst(0);
    // mma.sync: consumer warp w computes the (w % warps_m, w / warps_m)
    // warp tile, as in the cp.async kernel; its ldmatrix offsets are
    // computed once.
    // (warpInCta: the consumer warp's index, 0 for the first after the
    // producer warpgroup; it also picks its C staging buffer.)
    Value warpInCta = arith::SubIOp::create(b, loc, kc.div(kc.tid, 32), kc.cst(4));
    FragmentState frags;
    if (mmaSync) {
      kc.warpRow = kc.mul(kc.rem(warpInCta, kc.warpsM), bm / kc.warpsM);
      kc.warpCol = kc.mul(kc.div(warpInCta, kc.warpsM), bn / kc.warpsN);
      frags = prepareFragments(kc, a, bt);
    }
    Value laneZero = kc.lt(kc.lane, 1);
    // A stage is free when the consumer warps of every CTA that receives
    // its multicast have read it: arrive on each CTA's `empty` barrier.
    auto release = [&](Value it) {
      auto one = scf::IfOp::create(b, loc, laneZero, false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(&one.getThenRegion().front());
      Value local = barrierAt(emptyAt, stageOf(it));
      if (mcast == 1) {
        NVVM::MBarrierArriveOp::create(b, loc, Type(), local, Value(), NVVM::MemScopeKind::CTA,
                                       false);
        return;
      }
      for (int64_t q = 0; q < mcast; ++q) {
        Value remote = NVVM::MapaOp::create(b, loc, LLVM::LLVMPointerType::get(ctx, 7), local,
                                            c32(q));
        // CTA scope (the default release): the stage's reads were by wgmma,
        // complete at the wait. release.cluster made the kernel 2x slower
        // (H100, 4096^3 f16: 285 against 566 TFLOP/s).
        NVVM::MBarrierArriveOp::create(b, loc, Type(), remote, Value(),
                                       NVVM::MemScopeKind::CTA, false);
      }
    };
    // The epilogue through shared memory: per 64-column block, the warpgroup
    // writes its 64 rows into a 128-byte-swizzled buffer (conflict-free:
    // lane (g, t) of a warp lands in chunk (i ^ g), word t), fences them for
    // the async proxy, and its leader issues one TMA store. Two buffers
    // alternate; a buffer is rewritten only after the store that read it.
    Value groupLeader = kc.lt(kc.rem(kc.tid, 128), 1);
    Value barrierId = to32(kc.add(consumer, 1));
    Value groupThreads = c32(128);
    auto groupBarrier = [&] {
      NVVM::BarrierOp::create(b, loc, Type(), barrierId, groupThreads, nullptr, Value());
    };
    // C elements (m, n) and (m, n + 1), accumulators x0 and x1, through the
    // fused epilogue (if any) at their C offsets (0 outside C: TMA clips
    // those stores, but the epilogue's loads must stay in bounds), as a pair
    // of C's type for shared memory.
    auto stagedPair = [&](Value batch, Value m, Value n, Value x0, Value x1) {
      if (kc.epi.active()) {
        Value ok = kc.andB(kc.ltExtent(m, c.m), kc.lt(n, c.n.size()));
        Value off = kc.add(kc.groupOffset(c.batch, 'C', batch),
                           kc.add(kc.groupOffset(c.m, 'C', m), kc.groupOffset(c.n, 'C', n)));
        off = kc.select(ok, off, kc.cst(0));
        Value ok1 = kc.andB(ok, kc.lt(kc.add(n, 1), c.n.size()));
        x0 = kc.epi.apply(kc, x0, off);
        x1 = kc.epi.apply(kc, x1, kc.select(ok1, kc.add(off, 1), kc.cst(0)));
      }
      Value v0 = convertElement(b, loc, maskedOrFill(kc, x0), c.elemC);
      Value v1 = convertElement(b, loc, maskedOrFill(kc, x1), c.elemC);
      return vector::FromElementsOp::create(b, loc, VectorType::get({2}, c.elemC),
                                            ValueRange{v0, v1})
          .getResult();
    };
    // One TMA store: the box at column `col` and row `row` of C (of
    // `batch`), from shared memory at byte `at` plus `within` of the
    // dynamic region.
    auto storeBox = [&](Value batch, Value col, Value row, int64_t at, Value within) {
      Value src = sharedPtr(arith::AddIOp::create(b, loc, c64(at), within).getResult());
      SmallVector<Value> coords{to32(col), to32(row)};
      if (!c.batch.modes.empty())
        coords.push_back(to32(batch));
      NVVM::CpAsyncBulkTensorSharedCTAToGlobalOp::create(b, loc, descC, src, coords, Value(),
                                                         NVVM::TMAStoreMode::TILE, Value());
      NVVM::CpAsyncBulkCommitGroupOp::create(b, loc);
    };
    // Before staging: `leader` waits until at most `pending` of its stores
    // still read shared memory, then `sync` lets the others write.
    auto awaitStaging = [&](Value leader, int64_t pending, function_ref<void()> sync) {
      {
        auto one = scf::IfOp::create(b, loc, leader, false);
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(&one.getThenRegion().front());
        NVVM::CpAsyncBulkWaitGroupOp::create(b, loc, pending, b.getUnitAttr());
      }
      sync();
    };
    // After staging: the writes are fenced for the async proxy, `sync`
    // orders them before `leader` issues the stores.
    auto publishStaging = [&](Value leader, function_ref<void()> sync,
                              function_ref<void()> stores) {
      asyncProxyFence(b, loc);
      sync();
      auto one = scf::IfOp::create(b, loc, leader, false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(&one.getThenRegion().front());
      stores();
    };
    auto stagedEpilogue = [&](Value batch, Value m0, Value n0, ArrayRef<Value> acc) {
      Type ct = c.elemC;
      // A block is 64 rows of 128 bytes: 64 columns of a 16-bit C or 32 of
      // a 32-bit one; a 16-byte chunk holds `unit` elements.
      int64_t cols = 128 / elementBytes(ct), unit = 16 / elementBytes(ct), groups = cols / 8;
      auto sharedC = MemRefType::get({kBlockBytes / elementBytes(ct)}, ct, nullptr, sharedSpace);
      Value g = kc.div(kc.lane, 4), tq = kc.rem(kc.lane, 4);
      Value rowInGroup = kc.add(kc.mul(warpInGroup, 16), g);
      for (int64_t j = 0; j < bn / cols; ++j) {
        int64_t buffer = j % 2;
        awaitStaging(groupLeader, j == 0 ? 0 : 1, groupBarrier);
        Value offset = arith::AddIOp::create(
            b, loc, arith::ConstantIndexOp::create(b, loc, stagingAt + buffer * kBlockBytes),
            arith::MulIOp::create(b, loc, arith::IndexCastUIOp::create(b, loc, b.getIndexType(), consumer),
                                  arith::ConstantIndexOp::create(b, loc, 2 * kBlockBytes)));
        Value view = memref::ViewOp::create(b, loc, sharedC, smem, offset, ValueRange{});
        // Accumulator group i holds columns 8i + 2tq, 8i + 2tq + 1 of rows
        // g and g + 8: 16 bytes at a time for a 16-bit C, 8 for a 32-bit
        // one, into chunk (column / unit) ^ g of the row.
        for (int64_t i = groups * j; i < groups * j + groups; ++i)
          for (int64_t half = 0; half < 2; ++half) {
            Value row = kc.add(rowInGroup, 8 * half);
            Value col = kc.add(kc.cst(8 * (i % groups)), kc.mul(tq, 2));
            Value chunk = kc.xorI(kc.div(col, unit), g);
            Value at = kc.add(kc.mul(row, cols), kc.add(kc.mul(chunk, unit), kc.rem(col, unit)));
            Value vec = stagedPair(batch, kc.add(m0, kc.add(rowBase, row)),
                                   kc.add(n0, kc.add(kc.cst(8 * i), kc.mul(tq, 2))),
                                   acc[4 * i + 2 * half], acc[4 * i + 2 * half + 1]);
            vector::StoreOp::create(b, loc, vec, view, ValueRange{kc.idx(at)});
          }
        publishStaging(groupLeader, groupBarrier, [&] {
          storeBox(batch, kc.add(n0, cols * j), kc.add(m0, rowBase),
                   stagingAt + buffer * kBlockBytes,
                   arith::MulIOp::create(b, loc, to64(consumer), c64(2 * kBlockBytes)));
        });
      }
    };
    // mma.sync warps stage their own warp tile (wm rows, or wm / 2 rows at
    // a time where only half fits, by 64-column blocks of a 16-bit C,
    // 128-byte swizzled: the 16 bytes of columns [8n, +8) of a row go to
    // chunk (n % 8) ^ (row % 8), conflict-free) and store it with one TMA
    // copy per block. The buffer is rewritten only after the previous
    // stores have read it, so the warp goes on to its next tile's MMAs
    // while the copy engine writes C.
    //
    // The stores are stmatrix.x4: four 8x8 matrices, rows [16i, +8) and
    // [16i + 8, +8) of N tiles n and n + 1 (n even), from the accumulator
    // fragments as they are (lane (g, tq) holds row g, columns 2tq and
    // 2tq + 1 of each). Lane l gives the address of row r = l % 8 of matrix
    // q = l / 8: with n % 8 even, that row's chunk is (n % 8) ^ (q / 2) ^ r.
    // So each lane needs one offset per n % 8, four in all, and every
    // other part of an address is a constant. (Per-element stores took 64
    // distinct addresses per lane, which the compiler kept in registers
    // through the main loop.)
    auto syncWarp = [&] { NVVM::SyncWarpOp::create(b, loc, c32(-1)); };
    auto warpEpilogue = [&](Value batch, Value m0, Value n0, ArrayRef<Value> acc) {
      int64_t warpBytes = warpStageRows * wn * 2, blockBytes = warpStageRows * 128;
      int64_t tilesN8 = wn / 8, fragsPerPass = warpStageRows / 16;
      Value within = arith::MulIOp::create(b, loc, to64(warpInCta), c64(warpBytes));
      Value g = kc.div(kc.lane, 4), tq2 = kc.mul(kc.rem(kc.lane, 4), 2);
      Value r = kc.rem(kc.lane, 8), q = kc.div(kc.lane, 8);
      Value laneRow = kc.mul(kc.add(kc.mul(kc.rem(q, 2), 8), r), 128);
      Value laneChunk = kc.xorI(kc.div(q, 2), r);
      // The lane's shared address (32 bits) of its row in matrix (i, n) = 0,
      // for n % 8 = 0, 2, 4, 6; the rest goes into the instruction.
      SmallVector<Value> laneAddress;
      for (int64_t k = 0; k < 8; k += 2)
        laneAddress.push_back(LLVM::PtrToIntOp::create(
            b, loc, b.getI32Type(),
            sharedPtr(arith::AddIOp::create(
                b, loc, arith::AddIOp::create(b, loc, within, c64(stagingAt)),
                to64(kc.add(laneRow, kc.mul(kc.xorI(laneChunk, kc.cst(k)), 16)))).getResult())));
      auto pairAsI32 = [&](Value vec) {
        Value word = vector::BitCastOp::create(b, loc, VectorType::get({1}, b.getI32Type()), vec);
        return vector::ExtractOp::create(b, loc, word, ArrayRef<int64_t>{0}).getResult();
      };
      for (int64_t pass = 0; pass < wm / warpStageRows; ++pass) {
        awaitStaging(laneZero, 0, syncWarp);
        for (int64_t i = 0; i < fragsPerPass; ++i)
          for (int64_t n = 0; n < tilesN8; n += 2) {
            SmallVector<Value> words; // matrices (n, rows g), (n, g + 8), (n + 1, g), (n + 1, g + 8)
            for (int64_t m = 0; m < 4; ++m) {
              int64_t nn = n + m / 2, half = m % 2;
              Value row = kc.add(g, 16 * i + 8 * half); // within the pass
              size_t k = ((pass * fragsPerPass + i) * tilesN8 + nn) * 4 + 2 * half;
              words.push_back(pairAsI32(stagedPair(
                  batch, kc.add(m0, kc.add(kc.warpRow, kc.add(row, pass * warpStageRows))),
                  kc.add(n0, kc.add(kc.warpCol, kc.add(tq2, 8 * nn))), acc[k], acc[k + 1])));
            }
            // (nvvm.stmatrix takes a 64-bit pointer, and the compiler kept
            // all 16 of them in registers: the offset goes in the text.)
            std::string text = "stmatrix.sync.aligned.m8n8.x4.shared.b16 [$0+" +
                               std::to_string(i * 16 * 128 + (n / 8) * blockBytes) +
                               "], {$1, $2, $3, $4};";
            SmallVector<Value> operands{laneAddress[(n % 8) / 2]};
            llvm::append_range(operands, words);
            LLVM::InlineAsmOp::create(b, loc, Type(), operands, text, "r,r,r,r,r",
                                      /*has_side_effects=*/true, /*is_align_stack=*/false,
                                      LLVM::TailCallKind::None,
                                      LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT),
                                      ArrayAttr());
          }
        publishStaging(laneZero, syncWarp, [&] {
          for (int64_t j = 0; j < wn / 64; ++j)
            storeBox(batch, kc.add(n0, kc.add(kc.warpCol, 64 * j)),
                     kc.add(m0, kc.add(kc.warpRow, pass * warpStageRows)),
                     stagingAt + j * blockBytes, within);
        });
      }
    };
    // Packed codes: each K tile's scale and zero registers, the next
    // tile's loaded one iteration ahead (DequantParams), from this tile's
    // weight rows.
    std::optional<DequantParams> dq;
    if (packed)
      dq = makeDequantParams(kc, a, kBegin, numK);
    auto tiles = pingpong ? scf::ForOp::create(b, loc, consumer, myTiles, kc.cst(2))
                          : tileLoop(kc.cst(0), kc.cst(1));
    b.setInsertionPointToStart(tiles.getBody());
    Tile t = tileOf(tiles.getInductionVar());
    if (masked) {
      t.iterBase = tiles.getRegionIterArgs()[0];
      kc.tileKeep = t.keep; // (the epilogues store the fill where it is false)
    }
    if (packed)
      a.rowOrigin = t.m0;
    // Ping-pong: the consumers take turns at the main loop (this one's tile j
    // starts when the other has issued tile j - 1). Besides letting one's
    // epilogue overlap the other's MMAs, this keeps each consumer within one
    // ring's length of the producer, so that a `full` parity it waits on is
    // never two phases ahead of the barrier.
    if (pingpong) {
      Value j = tiles.getInductionVar();
      auto later = scf::IfOp::create(b, loc, kc.ltV(kc.cst(0), j), false);
      OpBuilder::InsertionGuard g3(b);
      b.setInsertionPointToStart(&later.getThenRegion().front());
      Value turn = kc.div(arith::SubIOp::create(b, loc, j, kc.cst(1)), 2);
      NVVM::MBarrierTryWaitParityOp::create(b, loc, barrierAt(turnAt, consumer),
                                            to32(kc.andI(turn, 1)), suspendHint);
    }
    Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(c.acc));
    auto waitFull = [&](Value it) {
      NVVM::MBarrierTryWaitParityOp::create(b, loc, barrierAt(fullAt, stageOf(it)), parityOf(it),
                                            suspendHint);
    };
    // The wgmma loops' releases: after K tile kt's MMAs are issued (and the
    // wait that leaves them in flight), the stage of tile kt - 1; after the
    // loop, once every MMA is done, the last tile's.
    auto releasePrevious = [&](Value kt, Value it) {
      auto previous = scf::IfOp::create(b, loc, kc.ltV(kc.cst(0), kt), false);
      OpBuilder::InsertionGuard g3(b);
      b.setInsertionPointToStart(&previous.getThenRegion().front());
      release(arith::SubIOp::create(b, loc, it, kc.cst(1)));
    };
    // (It returns `acc` read after the wait: wgmmaWaitAll.)
    auto releaseLast = [&](Value iterBase, ValueRange acc) {
      SmallVector<Value> done = wgmmaWaitAll(b, loc, acc);
      release(arith::SubIOp::create(b, loc, kc.add(iterBase, kCount), kc.cst(1)));
      return done;
    };
    // Block scales (scale_block = [blockK, blockN]):
    // each block of blockK is summed alone into `part` (its first MMA
    // starts from zero), waited for, and added into the result's
    // accumulators times the block's two scales, row_scale[row][kb] *
    // col_scale[n0 / blockN][kb] (promotion into f32 every blockK, as
    // DeepGEMM does for fp8, whose tensor-core sums keep about 14 bits).
    // The scales are loaded at the block's first K tile, ahead of its
    // MMAs; rows past M read row 0 (never stored). (Two sets of block
    // accumulators in turn, promoting tile kt - 1's after the wait that
    // leaves tile kt's MMAs in flight, made ptxas serialize every wgmma
    // (C7514: it does not tell which group a wait retired), as DeepGEMM's
    // wait for all before promoting suggests.)
    int64_t blockK = c.epilogue.blockK, perBlock = blockK ? blockK / bk : 0;
    int64_t kBlocks = blockK ? (c.k.size() + blockK - 1) / blockK : 0;
    auto blockScaledLoop = [&](Value m0, Value n0, Value iterBase) {
      int64_t numAcc = bn / 2;
      // The scales a thread keeps: rows g and g + 8 of its warp and the
      // tile's column block; transposed (order = ba: the kernel's rows are
      // the weight's, its columns the tokens), the tile's weight block and
      // the tokens of its columns 8i + 2tq and 8i + 2tq + 1.
      int64_t numScales = c.swapped ? 1 + bn / 4 : 3;
      SmallVector<Value> init(2 * numAcc, zero); // the sums, then the block's part
      init.append(numScales, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0)));
      auto ks = scf::ForOp::create(b, loc, kc.cst(0), kCount, kc.cst(1), init);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(ks.getBody());
        Value kt = ks.getInductionVar();
        Value it = kc.add(iterBase, kt);
        auto args = ks.getRegionIterArgs();
        SmallVector<Value> sums(args.begin(), args.begin() + numAcc);
        SmallVector<Value> part(args.begin() + numAcc, args.begin() + 2 * numAcc);
        SmallVector<Value> scales(args.begin() + 2 * numAcc, args.end());
        // (A split of K starts at kBegin; blocks of several K tiles run
        // unsplit.)
        Value kb = kc.div(kc.add(kBegin, kt), perBlock);
        // (Blocks of several K tiles: whether this tile starts one.)
        Value first = perBlock == 1 ? Value() : kc.lt(kc.rem(kt, perBlock), 1);
        // This block's scales (numScales of them, above). A row or column
        // past the tensor reads row 0 (its products are never stored).
        auto scaleAt = [&](Value buf, const ModeGroup &g, Value row) {
          row = kc.select(kc.ltExtent(row, g), row, kc.cst(0));
          return memref::LoadOp::create(b, loc, buf,
                                        ValueRange{kc.idx(kc.add(kc.mul(row, kBlocks), kb))})
              .getResult();
        };
        // `then()` where `cond` holds, else `otherwise` (an scf.if's
        // results).
        auto either = [&](Value cond, function_ref<SmallVector<Value>()> then,
                          ArrayRef<Value> otherwise) {
          auto choice = scf::IfOp::create(b, loc, TypeRange(ValueRange(otherwise)), cond, true);
          OpBuilder::InsertionGuard g3(b);
          b.setInsertionPointToStart(&choice.getThenRegion().front());
          scf::YieldOp::create(b, loc, then());
          b.setInsertionPointToStart(&choice.getElseRegion().front());
          scf::YieldOp::create(b, loc, otherwise);
          return SmallVector<Value>(choice.getResults());
        };
        // The weight's block scale of the tile whose weight rows start at
        // `first` (m0 transposed, else n0).
        auto weightScale = [&](Value first) {
          Value at = kc.add(kc.mul(kc.div(first, c.epilogue.blockN), kBlocks), kb);
          return memref::LoadOp::create(b, loc, kc.epi.colScale, ValueRange{kc.idx(at)})
              .getResult();
        };
        auto loadScales = [&] {
          SmallVector<Value> out;
          if (c.swapped) {
            out.push_back(weightScale(m0));
            Value col = kc.add(n0, kc.mul(kc.rem(kc.lane, 4), 2));
            for (int64_t j = 0; j < bn / 4; ++j)
              out.push_back(scaleAt(kc.epi.rowScale, c.n,
                                    kc.add(col, blockscales::tokenColumnOffset(j))));
            return out;
          }
          Value row = kc.add(m0, kc.add(kc.warpRow, kc.div(kc.lane, 4)));
          for (int64_t h = 0; h < 2; ++h)
            out.push_back(scaleAt(kc.epi.rowScale, c.m, kc.add(row, 8 * h)));
          out.push_back(weightScale(n0));
          return out;
        };
        Value accumulate = c32(0);
        if (!first) {
          scales = loadScales();
        } else {
          scales = either(first, loadScales, scales);
          // The first MMA's scale-d: 0 (start from zero) at a block's start.
          accumulate = arith::SelectOp::create(b, loc, first, c32(0), c32(1));
        }
        waitFull(it);
        wgmmaTile(kc, a, bt, stageOf(it), part, pingpong ? c64(0) : to64(consumer), accumulate);
        releasePrevious(kt, it);
        // The block's last K tile (or K's last): wait for its MMAs, promote.
        auto promote = [&]() {
          SmallVector<Value> done = wgmmaWaitAll(b, loc, part);
          // (The slots: include/einloom/Codegen/BlockScales.h.)
          SmallVector<Value> s;
          if (c.swapped) {
            for (int64_t j = 0; j < bn / 4; ++j)
              s.push_back(arith::MulFOp::create(b, loc, scales[1 + j], scales[0]));
          } else {
            s.push_back(arith::MulFOp::create(b, loc, scales[0], scales[2]));
            s.push_back(arith::MulFOp::create(b, loc, scales[1], scales[2]));
          }
          SmallVector<Value> out;
          for (int64_t i = 0; i < numAcc; ++i) {
            Value si = c.swapped ? s[blockscales::tokenSlot(i)] : s[blockscales::rowSlot(i)];
            out.push_back(LLVM::FMAOp::create(b, loc, done[i], si, sums[i]));
          }
          return out;
        };
        SmallVector<Value> next;
        if (perBlock == 1) {
          next = promote();
        } else {
          Value last = arith::OrIOp::create(
              b, loc,
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, kc.rem(kt, perBlock),
                                    kc.cst(perBlock - 1)),
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, kc.add(kt, 1), kCount));
          next = either(last, promote, sums);
        }
        llvm::append_range(next, part);
        llvm::append_range(next, scales);
        scf::YieldOp::create(b, loc, next);
      }
      releaseLast(iterBase, {}); // (the sums are the FMAs' results, read after each promotion's wait)
      return SmallVector<Value>(ks.getResults().begin(), ks.getResults().begin() + bn / 2);
    };
    // A block mask: the main loop under the tile's byte (nothing was copied
    // for a masked-out tile), which otherwise gives zeros to the epilogue,
    // and the epilogue stores the fill.
    scf::IfOp kept;
    size_t keptAcc = mmaSync ? (bm / kc.warpsM / 16) * (bn / kc.warpsN / 8) * 4 : bn / 2;
    if (masked) {
      kept = scf::IfOp::create(b, loc, SmallVector<Type>(keptAcc, c.acc), t.keep,
                               /*withElseRegion=*/true);
      b.setInsertionPointToStart(&kept.getThenRegion().front());
    }
    SmallVector<Value> acc;
    if (mmaSync) {
      // The cp.async kernel's software pipeline on the ring: k step ks
      // issues the MMAs on the fragments loaded during k step ks - 1; the
      // last k step waits for the next K tile's stage and loads its first
      // fragments (carried across the loop edge), then releases the stage
      // it has finished reading. After this tile's last K tile that stage
      // may not be armed: the wait is skipped and the fragments, loaded
      // from whatever the stage holds, are discarded.
      size_t numAcc = (wm / 16) * (wn / 8) * 4;
      waitFull(t.iterBase);
      SmallVector<Value> init(numAcc, zero);
      llvm::append_range(init, loadFragments(kc, a, bt, frags, stageOf(t.iterBase), 0));
      auto ks = scf::ForOp::create(b, loc, kc.cst(0), kCount, kc.cst(1), init);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(ks.getBody());
        Value kt = ks.getInductionVar();
        Value it = kc.add(t.iterBase, kt);
        Value stage = stageOf(it);
        SmallVector<Value> tileAcc(ks.getRegionIterArgs().take_front(numAcc));
        SmallVector<Value> cur(ks.getRegionIterArgs().drop_front(numAcc));
        for (int64_t step = 0; step < kStepsPerTile; ++step) {
          SmallVector<Value> upcoming;
          if (step + 1 < kStepsPerTile) {
            upcoming = loadFragments(kc, a, bt, frags, stage, step + 1);
          } else {
            Value next = kc.add(it, 1);
            auto more = scf::IfOp::create(b, loc, kc.ltV(kc.add(kt, 1), kCount), false);
            {
              OpBuilder::InsertionGuard g3(b);
              b.setInsertionPointToStart(&more.getThenRegion().front());
              waitFull(next);
            }
            upcoming = loadFragments(kc, a, bt, frags, stageOf(next), 0);
          }
          mmaStep(kc, cur, tileAcc);
          cur = upcoming;
        }
        release(it);
        llvm::append_range(tileAcc, cur);
        scf::YieldOp::create(b, loc, tileAcc);
      }
      acc.assign(ks.getResults().begin(), ks.getResults().begin() + numAcc);
    } else if (blockK) {
      acc = blockScaledLoop(t.m0, t.n0, t.iterBase);
    } else {
      size_t numAcc;
      SmallVector<Value> init = wgmmaLoopInit(kc, bn, zero, dq, numAcc);
      auto ks = scf::ForOp::create(b, loc, kc.cst(0), kCount, kc.cst(1), init);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(ks.getBody());
        Value kt = ks.getInductionVar();
        Value it = kc.add(t.iterBase, kt);
        SmallVector<Value> params(ks.getRegionIterArgs().drop_front(numAcc)), nextParams;
        if (dq) {
          nextParams = dq->next(kc, params, kt);
          a.dequant = params;
        }
        waitFull(it);
        SmallVector<Value> tileAcc(ks.getRegionIterArgs().take_front(numAcc));
        // Issues the fence, the MMAs, the commit, and waits for all but this
        // K tile's group: the previous stage has been read.
        wgmmaTile(kc, a, bt, stageOf(it), tileAcc, pingpong ? c64(0) : to64(consumer));
        releasePrevious(kt, it);
        llvm::append_range(tileAcc, nextParams);
        scf::YieldOp::create(b, loc, tileAcc);
      }
      acc = releaseLast(t.iterBase, ks.getResults().take_front(numAcc));
    }
    if (masked) {
      scf::YieldOp::create(b, loc, acc);
      b.setInsertionPointToStart(&kept.getElseRegion().front());
      scf::YieldOp::create(b, loc, SmallVector<Value>(keptAcc, zero));
      b.setInsertionPointAfter(kept);
      acc.assign(kept.getResults().begin(), kept.getResults().end());
    }
    if (pingpong) { // the other consumer's turn
      auto leader = scf::IfOp::create(b, loc, kc.lt(kc.rem(kc.tid, 128), 1), false);
      OpBuilder::InsertionGuard g3(b);
      b.setInsertionPointToStart(&leader.getThenRegion().front());
      NVVM::MBarrierArriveOp::create(b, loc, Type(),
                                     barrierAt(turnAt, arith::SubIOp::create(b, loc, kc.cst(1), consumer)),
                                     Value(), NVVM::MemScopeKind::CTA, false);
    }
    if (noEpilogue) {
      // Store only when an accumulator holds an unlikely value, so that the
      // MMAs stay live.
      Value probe = isa<FloatType>(c.acc)
                        ? Value(arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, acc[0],
                                                      arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.25e-30f))))
                        : Value(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, acc[0],
                                                      arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(-123457))));
      auto rare = scf::IfOp::create(b, loc, probe, false);
      b.setInsertionPointToStart(&rare.getThenRegion().front());
    }
    auto epilogue = [&](ArrayRef<Value> sums) {
      if (tmaStore)
        stagedEpilogue(t.batch, t.m0, t.n0, sums);
      else if (warpStore)
        warpEpilogue(t.batch, t.m0, t.n0, sums);
      else
        storeEpilogue(kc, entry.getArgument(2), kc.groupOffset(c.batch, 'C', t.batch), t.m0,
                      t.n0, sums);
    };
    if (splits == 1) {
      // Under a branch that always holds (the tile's first row is inside
      // M: tiles are enumerated from M's tile count; a multicast cluster's
      // second CTA past an odd count has nothing to store). Without one,
      // ptxas serialized every wgmma of the persistent direct-store kernels
      // (C7514: order = ba decode plans such as 128x16 at m = 16, n =
      // 14336); with the epilogue conditional, as the split-K kernels'
      // already is, it does not.
      // (M through an empty asm, so that the compiler does not fold the
      // test away.)
      Value m = kc.intType.isInteger(64)
                    ? inlinePtx(b, loc, kc.intType, ValueRange{kc.mSize}, "mov.b64 $0, $1;", "=l,l")
                    : inlinePtx(b, loc, kc.intType, ValueRange{kc.mSize}, "mov.b32 $0, $1;", "=r,r");
      auto inside = scf::IfOp::create(b, loc, kc.ltV(t.m0, m), false);
      OpBuilder::InsertionGuard g3(b);
      b.setInsertionPointToStart(&inside.getThenRegion().front());
      epilogue(acc);
    } else {
      // Split-K: rank 0 adds the other ranks' partial sums to its own in
      // rank order (the same sum whichever rank finishes first) and stores
      // C; the others leave theirs in their own shared memory. Two
      // mbarriers, with release and acquire at cluster scope, order the
      // writes before rank 0's reads (`ready`, on rank 0) and those reads
      // before the next tile's writes (`free`, on each other rank).
      Value j = tiles.getInductionVar();
      Value parity = to32(kc.andI(j, 1));
      Type ptrCluster = LLVM::LLVMPointerType::get(ctx, 7);
      Value mine = arith::AddIOp::create(
          b, loc, c64(partialAt),
          to64(kc.mul(kc.add(kc.mul(consumer, accsPerThread * 128), kc.rem(kc.tid, 128)), 4)));
      auto word = [&](Value base, int64_t i) {
        return LLVM::GEPOp::create(b, loc, base.getType(), b.getI8Type(), base,
                                   ArrayRef<LLVM::GEPArg>{int32_t(i * 512)});
      };
      auto root = scf::IfOp::create(b, loc, kc.lt(rank, 1), /*withElse=*/true);
      {
        OpBuilder::InsertionGuard g3(b);
        b.setInsertionPointToStart(&root.getThenRegion().front());
        waitClusterParity(b, loc, barrierAt(readyAt, kc.cst(0)), parity);
        // A loop over the ranks rather than its unrolled copies: unrolled,
        // every rank's partials were loaded ahead of the sums and, with
        // scales in the epilogue, spilled from eight ranks (ptxas; found by
        // the fuzzer, 2026-12-07).
        SmallVector<Value> sums(acc);
        auto ranks = scf::ForOp::create(b, loc, kc.cst(1), kc.cst(splits), kc.cst(1), sums);
        {
          OpBuilder::InsertionGuard g4(b);
          b.setInsertionPointToStart(ranks.getBody());
          Value theirs = NVVM::MapaOp::create(b, loc, ptrCluster, sharedPtr(mine),
                                              to32(ranks.getInductionVar()));
          SmallVector<Value> next(ranks.getRegionIterArgs());
          for (size_t i = 0; i < next.size(); ++i) {
            Value v = LLVM::LoadOp::create(b, loc, c.acc, word(theirs, i));
            next[i] = isa<FloatType>(c.acc) ? Value(arith::AddFOp::create(b, loc, next[i], v))
                                            : Value(arith::AddIOp::create(b, loc, next[i], v));
          }
          scf::YieldOp::create(b, loc, next);
        }
        sums.assign(ranks.getResults().begin(), ranks.getResults().end());
        for (int64_t r = 1; r < splits; ++r)
          NVVM::MBarrierArriveOp::create(
              b, loc, Type(),
              NVVM::MapaOp::create(b, loc, ptrCluster, barrierAt(freeAt, kc.cst(0)), c32(r)),
              Value(), NVVM::MemScopeKind::CLUSTER, false);
        epilogue(sums);
      }
      {
        OpBuilder::InsertionGuard g3(b);
        b.setInsertionPointToStart(&root.getElseRegion().front());
        // (A fresh barrier counts as having completed the phase before
        // phase 0: the first tile does not wait.)
        waitClusterParity(b, loc, barrierAt(freeAt, kc.cst(0)),
                          arith::XOrIOp::create(b, loc, parity, c32(1)));
        Value base = sharedPtr(mine);
        for (size_t i = 0; i < acc.size(); ++i)
          LLVM::StoreOp::create(b, loc, acc[i], word(base, i));
        NVVM::MBarrierArriveOp::create(
            b, loc, Type(),
            NVVM::MapaOp::create(b, loc, ptrCluster, barrierAt(readyAt, kc.cst(0)), c32(0)),
            Value(), NVVM::MemScopeKind::CLUSTER, false);
      }
    }
    nextTile(t);
    b.setInsertionPointAfter(tiles);
    // Shared memory must outlive the last stores' reads of it.
    if (tmaStore || warpStore) {
      auto leader = scf::IfOp::create(b, loc, tmaStore ? groupLeader : laneZero, false);
      b.setInsertionPointToStart(&leader.getThenRegion().front());
      NVVM::CpAsyncBulkWaitGroupOp::create(b, loc, 0, nullptr);
    }
  }
  // No CTA may exit while a peer can still multicast into it or arrive on
  // its barriers.
  if (cluster > 1)
    clusterBarrier();
  gpu::ReturnOp::create(b, loc);
  return launch;
}
