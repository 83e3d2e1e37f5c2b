//===- KernelBuilder.cpp - one contraction kernel from a plan -------------===//
//
// The kernel: a CTA computes one BM x BN output tile of one batch entry. A
// `stages`-deep ring of shared-memory buffers is filled by the producers
// (cp.async groups); each main-loop iteration waits for the oldest group,
// refills the buffer the previous iteration consumed, and runs the MMAs on
// the oldest one. The epilogue converts and stores the accumulators.
//
//===----------------------------------------------------------------------===//
#include "einloom/Codegen/KernelBuilder.h"

#include "KernelContext.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

static SmemLayout chooseLayout(const Contraction &c, char operand, int64_t tileRows) {
  StringRef l = c.operandLayout(operand, tileRows);
  return l == "k-major"    ? SmemLayout::KMajorVector
         : l == "mn-major" ? SmemLayout::MNMajorVector
                           : SmemLayout::KMajorElementwise;
}

static const char *layoutName(SmemLayout l) {
  switch (l) {
  case SmemLayout::KMajorVector: return "k-major";
  case SmemLayout::MNMajorVector: return "mn-major";
  case SmemLayout::KMajorElementwise: return "elementwise";
  }
  return "?";
}

FailureOr<KernelLaunch>
einloom::buildContractionKernel(gpu::GPUModuleOp module, StringRef name,
                                const Contraction &c, loom::PlanAttr plan,
                                Location loc) {
  if (c.elemA != c.elemB)
    return emitError(loc, "operands of different element types are not supported");
  if (!c.elemC.isF32() && !c.elemC.isF16() && !c.elemC.isBF16() &&
      !c.elemC.isSignlessInteger(32))
    return emitError(loc, "code generation writes f32, f16, bf16 or i32 results, not ")
           << c.elemC;
  if (!(c.acc.isF32() || c.acc.isSignlessInteger(32)))
    return emitError(loc, "code generation accumulates in f32 or i32; ")
           << c.acc << " accumulation is not supported yet";
  if (plan.getStages() < 2)
    return emitError(loc, "the cp.async pipeline needs at least 2 stages");
  if (c.batch.size() > 65535)
    return emitError(loc, "a batch of ") << c.batch.size()
                                        << " exceeds the grid's 65535 z-blocks";

  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  int64_t eb = elementBytes(c.elemA);
  int64_t bm = plan.getTileM(), bn = plan.getTileN(), bk = plan.getTileK();
  int64_t stages = plan.getStages();
  int64_t threads = plan.getNumWarps() * 32;
  int64_t tilesM = ceilDiv(c.m.size(), bm), tilesN = ceilDiv(c.n.size(), bn);
  int64_t numK = ceilDiv(c.k.size(), bk);

  auto bytesOf = [&](const ModeGroup &x, const ModeGroup &y, Type t) {
    return c.batch.size() * x.size() * y.size() * elementBytes(t);
  };
  KernelLaunch launch;
  launch.name = name.str();
  launch.argumentBytes = {bytesOf(c.m, c.k, c.elemA), bytesOf(c.n, c.k, c.elemB),
                          bytesOf(c.m, c.n, c.elemC)};
  launch.grid = {tilesM * tilesN, 1, c.batch.size()};
  launch.block = {threads, 1, 1};
  launch.sharedMemoryBytes = stages * (bm + bn) * 128;

  SmallVector<Type> args;
  for (int64_t bytes : launch.argumentBytes)
    args.push_back(MemRefType::get({bytes}, b.getI8Type()));
  auto func = gpu::GPUFuncOp::create(b, loc, name, b.getFunctionType(args, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func->setAttr("nvvm.maxntid", b.getDenseI32ArrayAttr({int32_t(threads), 1, 1}));
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);

  // 32-bit offsets suffice when every buffer's bytes fit in int32.
  bool narrow = llvm::all_of(launch.argumentBytes, [](int64_t x) { return x < (int64_t(1) << 31); });
  KernelContext kc{b, loc, c, plan, bm, bn, bk, stages, plan.getWarpsM(),
                   plan.getWarpsN(), threads, eb,
                   narrow ? b.getI32Type() : b.getI64Type(), {}, {}, {}, {}};
  kc.tid = kc.fromIndex(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x));
  kc.lane = kc.rem(kc.tid, 32);
  Value warp = kc.div(kc.tid, 32);
  kc.warpRow = kc.mul(kc.rem(warp, kc.warpsM), bm / kc.warpsM);
  kc.warpCol = kc.mul(kc.div(warp, kc.warpsM), bn / kc.warpsN);

  // Raster: CTAs sweep `swizzle` tile rows at a time, so that consecutive
  // CTAs share A and B tiles in L2.
  Value linear = kc.fromIndex(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
  Value tm, tn;
  int64_t s = plan.getRaster() == loom::RasterOrder::Swizzle ? plan.getSwizzle() : 1;
  if (plan.getRaster() == loom::RasterOrder::ColumnMajor) {
    tm = kc.rem(linear, tilesM);
    tn = kc.div(linear, tilesM);
  } else if (s > 1) {
    Value group = kc.div(linear, s * tilesN);
    Value first = kc.mul(group, s);
    Value rows = arith::MinUIOp::create(b, loc, kc.cst(s),
                                          arith::SubIOp::create(b, loc, kc.cst(tilesM), first));
    Value inGroup = kc.rem(linear, s * tilesN);
    tm = kc.add(first, arith::RemUIOp::create(b, loc, inGroup, rows).getResult());
    tn = arith::DivUIOp::create(b, loc, inGroup, rows);
  } else {
    tm = kc.div(linear, tilesN);
    tn = kc.rem(linear, tilesN);
  }
  Value m0 = kc.mul(tm, bm), n0 = kc.mul(tn, bn);
  Value bz = kc.fromIndex(gpu::BlockIdOp::create(b, loc, gpu::Dimension::z));

  Value smem = gpu::DynamicSharedMemoryOp::create(b, 
      loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), nullptr,
                           gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup)));
  auto region = [&](int64_t offset, int64_t bytes) {
    return memref::ViewOp::create(b, 
        loc, MemRefType::get({bytes}, b.getI8Type(), nullptr,
                             gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup)),
        smem, arith::ConstantIndexOp::create(b, loc, offset), ValueRange{});
  };
  OperandTile a{'A', &c.m, bm, chooseLayout(c, 'A', bm), c.elemA,
                entry.getArgument(0), kc.groupOffset(c.batch, 'A', bz), m0,
                region(0, stages * bm * 128)};
  OperandTile bt{'B', &c.n, bn, chooseLayout(c, 'B', bn), c.elemB,
                 entry.getArgument(1), kc.groupOffset(c.batch, 'B', bz), n0,
                 region(stages * bm * 128, stages * bn * 128)};
  launch.layoutA = layoutName(a.layout);
  launch.layoutB = layoutName(bt.layout);
  Value batchOffC = kc.groupOffset(c.batch, 'C', bz);

  ProducerState psA = prepareProducer(kc, a), psB = prepareProducer(kc, bt);
  FragmentState frags = prepareFragments(kc, a, bt);
  // Development experiments only (never set in tests or benchmarks):
  // EINLOOM_EXPERIMENT=noloads / nomma drop the main loop's copies / MMAs to
  // measure the other half's ceiling.
  const char *experiment = std::getenv("EINLOOM_EXPERIMENT");
  bool noLoads = experiment && StringRef(experiment) == "noloads";
  bool noMma = experiment && StringRef(experiment) == "nomma";
  auto produce = [&](Value stage, Value kTile) {
    if (noLoads && !isa<arith::ConstantOp>(kTile.getDefiningOp()))
      return;
    Value k0 = arith::MulIOp::create(b, loc, kTile, kc.cst(bk));
    produceStage(kc, a, psA, stage, k0);
    produceStage(kc, bt, psB, stage, k0);
  };
  for (int64_t st = 0; st + 1 < stages; ++st) {
    if (st < numK)
      produce(kc.cst(st), kc.cst(st));
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
  }

  // Software pipeline (as CUTLASS's multistage mainloop): k step ks uses
  // the fragments loaded during k step ks - 1, so ldmatrix overlaps the MMAs.
  // The wait for the next tile and the barrier sit in the last k step,
  // between loading its fragments and issuing its MMAs, and the next tile's
  // first fragments are loaded across the loop edge (carried in iter_args).
  int64_t wm = bm / kc.warpsM, wn = bn / kc.warpsN;
  Type accT = c.acc;
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(accT));
  size_t numAcc = (wm / 16) * (wn / 8) * 4;
  NVVM::CpAsyncWaitGroupOp::create(b, loc, stages - 2);
  gpu::BarrierOp::create(b, loc);
  SmallVector<Value> init(numAcc, zero);
  SmallVector<Value> firstFrags = loadFragments(kc, a, bt, frags, kc.cst(0), 0);
  size_t numFrag = firstFrags.size();
  llvm::append_range(init, firstFrags);
  auto loop = scf::ForOp::create(b, loc, kc.cst(0), kc.cst(numK), kc.cst(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kt = loop.getInductionVar();
    SmallVector<Value> acc(loop.getRegionIterArgs().take_front(numAcc));
    SmallVector<Value> cur(loop.getRegionIterArgs().drop_front(numAcc));
    Value stage = kc.rem(kt, stages);
    // Refill the stage that the previous iteration finished reading.
    Value next = kc.add(kt, kc.cst(stages - 1));
    auto ifOp = scf::IfOp::create(b, loc, kc.lt(next, numK), /*withElse=*/false);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      produce(kc.rem(next, stages), next);
    }
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
    for (int64_t ks = 0; ks < kStepsPerTile; ++ks) {
      SmallVector<Value> upcoming;
      if (ks + 1 < kStepsPerTile) {
        upcoming = loadFragments(kc, a, bt, frags, stage, ks + 1);
      } else {
        NVVM::CpAsyncWaitGroupOp::create(b, loc, stages - 2);
        gpu::BarrierOp::create(b, loc);
        upcoming = loadFragments(kc, a, bt, frags, kc.rem(kc.add(kt, kc.cst(1)), stages), 0);
      }
      if (!noMma)
        mmaStep(kc, cur, acc);
      cur = upcoming;
    }
    SmallVector<Value> yielded(acc);
    llvm::append_range(yielded, cur);
    scf::YieldOp::create(b, loc, yielded);
  }
  (void)numFrag;
  SmallVector<Value> acc(loop.getResults().take_front(numAcc));
  storeEpilogue(kc, entry.getArgument(2), batchOffC, m0, n0, acc);
  gpu::ReturnOp::create(b, loc);
  return launch;
}
