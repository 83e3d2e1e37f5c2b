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
#include "einloom/Plan/SelectPlan.h"

#include "KernelContext.h"
#include "einloom/Target.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
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
  case SmemLayout::MNMajorAtoms: return "mn-major (TMA)";
  case SmemLayout::PackedFragments: return "packed codes (a_fragment)";
  }
  return "?";
}

std::pair<Value, Value> einloom::codegen::rasterTile(KernelContext &kc, Value linear,
                                                     Value tilesM, int64_t tilesN) {
  // Raster: CTAs sweep `swizzle` tile rows at a time, so that consecutive
  // CTAs share A and B tiles in L2.
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  loom::PlanAttr plan = kc.plan;
  int64_t s = plan.getRaster() == loom::RasterOrder::Swizzle ? plan.getSwizzle() : 1;
  if (plan.getRaster() == loom::RasterOrder::ColumnMajor)
    return {kc.remV(linear, tilesM), kc.divV(linear, tilesM)};
  if (s > 1) {
    Value group = kc.div(linear, s * tilesN);
    Value first = kc.mul(group, s);
    Value rows = arith::MinUIOp::create(b, loc, kc.cst(s),
                                        arith::SubIOp::create(b, loc, tilesM, first));
    Value inGroup = kc.rem(linear, s * tilesN);
    return {kc.add(first, arith::RemUIOp::create(b, loc, inGroup, rows).getResult()),
            arith::DivUIOp::create(b, loc, inGroup, rows)};
  }
  return {kc.div(linear, tilesN), kc.rem(linear, tilesN)};
}

/// Whether `slices` outnumber grid.z's 65535 blocks, so that they share
/// grid.x with the tiles.
static bool slicesFoldIntoX(int64_t slices) { return slices > 65535; }

LogicalResult einloom::codegen::setTileGrid(Location loc, KernelLaunch &launch, int64_t tiles,
                                            int64_t slices, int64_t tileM, int64_t tilesN,
                                            bool dynamicM, int64_t tileN, int64_t tilesM) {
  bool folded = slicesFoldIntoX(slices);
  launch.grid = {folded ? tiles * slices : tiles, 1, folded ? 1 : slices};
  if (launch.grid[0] > INT32_MAX)
    return emitError(loc, "the kernel needs ")
           << tiles << " tiles times " << slices << " batch and split slices, "
           << launch.grid[0] << " CTAs: more than a grid holds (2^31 - 1)";
  if (dynamicM)
    launch.dynamicGrid = {1, tileM, folded ? tilesN * slices : tilesN};
  // A dynamic N (a transposed product's tokens): ceil(N / tileN) tiles
  // along N for each of the tilesM.
  if (tileN)
    launch.dynamicGrid = {1, tileN, folded ? tilesM * slices : tilesM};
  return success();
}

Value KernelContext::globalThread(int64_t threads) {
  return add(mul(fromIndex(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x)), threads),
             fromIndex(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x)));
}

std::pair<Value, Value> einloom::codegen::tileAndSlice(KernelContext &kc, int64_t slices,
                                                       Value tilesPerSlice) {
  Value x = kc.fromIndex(gpu::BlockIdOp::create(kc.b, kc.loc, gpu::Dimension::x));
  if (!slicesFoldIntoX(slices))
    return {x, kc.fromIndex(gpu::BlockIdOp::create(kc.b, kc.loc, gpu::Dimension::z))};
  return {kc.remV(x, tilesPerSlice), kc.divV(x, tilesPerSlice)};
}

gpu::GPUFuncOp einloom::codegen::createKernelFunc(OpBuilder &b, Location loc, StringRef name,
                                                  const KernelLaunch &launch,
                                                  ArrayRef<int64_t> extraBuffers, bool takesSize,
                                                  int64_t threads, int scalars) {
  SmallVector<int64_t> buffers(launch.argumentBytes.begin(), launch.argumentBytes.end());
  buffers.append(launch.epilogueBytes.begin(), launch.epilogueBytes.end());
  buffers.append(extraBuffers.begin(), extraBuffers.end());
  return createKernelFunc(b, loc, name, buffers, takesSize, threads, scalars);
}

Value einloom::codegen::typedView(OpBuilder &b, Location loc, Value bytes, Type t,
                                  int64_t count) {
  return memref::ViewOp::create(b, loc, MemRefType::get({count}, t), bytes,
                                arith::ConstantIndexOp::create(b, loc, 0), ValueRange{})
      .getResult();
}

Value einloom::codegen::convertElement(OpBuilder &b, Location loc, Value v, Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  bool ff = isa<FloatType>(from), tf = isa<FloatType>(to);
  unsigned wf = from.getIntOrFloatBitWidth(), wt = to.getIntOrFloatBitWidth();
  if (ff && tf)
    return wf < wt ? arith::ExtFOp::create(b, loc, to, v).getResult()
                   : arith::TruncFOp::create(b, loc, to, v).getResult();
  if (!ff && !tf)
    return wf < wt ? arith::ExtSIOp::create(b, loc, to, v).getResult()
                   : arith::TruncIOp::create(b, loc, to, v).getResult();
  return ff ? arith::FPToSIOp::create(b, loc, to, v).getResult()
            : arith::SIToFPOp::create(b, loc, to, v).getResult();
}

Type einloom::codegen::storageType(Type t) {
  return isFp8(t) ? IntegerType::get(t.getContext(), 8) : t;
}

Value einloom::codegen::inlinePtx(OpBuilder &b, Location loc, Type result, ValueRange operands,
                                  StringRef text, StringRef constraints) {
  return LLVM::InlineAsmOp::create(b, loc, result, operands, text, constraints,
                                   /*has_side_effects=*/false, /*is_align_stack=*/false,
                                   LLVM::TailCallKind::None,
                                   LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
                                   ArrayAttr())
      .getResult(0);
}

Value einloom::codegen::l2Policy(OpBuilder &b, Location loc, StringRef priority) {
  std::string text = ("createpolicy.fractional.L2::" + priority + ".b64 $0, 1.0;").str();
  return inlinePtx(b, loc, b.getI64Type(), ValueRange{}, text, "=l");
}

Value einloom::codegen::loadedAs(OpBuilder &b, Location loc, Value stored, Type elem, Type to) {
  if (!isFp8(elem))
    return convertElement(b, loc, stored, to);
  std::string text = std::string("{ .reg .b32 t; .reg .b16 lo, hi; cvt.rn.f16x2.") +
                     (isa<Float8E4M3FNType>(elem) ? "e4m3x2" : "e5m2x2") +
                     " t, $1; mov.b32 {lo, hi}, t; cvt.f32.f16 $0, lo; }";
  Value wide = arith::ExtUIOp::create(b, loc, b.getI16Type(), stored);
  return convertElement(b, loc, inlinePtx(b, loc, b.getF32Type(), wide, text, "=f,h"), to);
}

Value einloom::codegen::storedAs(OpBuilder &b, Location loc, Value v, Type elem) {
  // An i8 result is a requantized sum: nearest even, saturated (cvt.rni.sat
  // from f32; an integer is clamped first, exactly).
  if (elem.isSignlessInteger(8) && v.getType() != elem) {
    if (auto it = dyn_cast<IntegerType>(v.getType())) {
      auto bound = [&](int64_t x) {
        return arith::ConstantOp::create(b, loc, b.getIntegerAttr(it, x)).getResult();
      };
      Value c = arith::MaxSIOp::create(b, loc, arith::MinSIOp::create(b, loc, v, bound(127)),
                                       bound(-128));
      return arith::TruncIOp::create(b, loc, elem, c);
    }
    Value f = convertElement(b, loc, v, b.getF32Type());
    Value wide = inlinePtx(b, loc, b.getI16Type(), f, "cvt.rni.sat.s8.f32 $0, $1;", "=h,f");
    return arith::TruncIOp::create(b, loc, elem, wide);
  }
  if (!isFp8(elem))
    return convertElement(b, loc, v, elem);
  // The second source goes to the low byte; the first (zero) to the high one.
  std::string text = std::string("{ .reg .f32 z; mov.f32 z, 0f00000000; cvt.rn.satfinite.") +
                     (isa<Float8E4M3FNType>(elem) ? "e4m3x2" : "e5m2x2") + ".f32 $0, z, $1; }";
  Value pair = inlinePtx(b, loc, b.getI16Type(), convertElement(b, loc, v, b.getF32Type()), text,
                      "=h,f");
  return arith::TruncIOp::create(b, loc, b.getI8Type(), pair);
}

gpu::GPUFuncOp einloom::codegen::createKernelFunc(OpBuilder &b, Location loc, StringRef name,
                                                  ArrayRef<int64_t> buffers, bool takesSize,
                                                  int64_t threads, int scalars) {
  SmallVector<Type> args;
  for (int64_t bytes : buffers)
    args.push_back(MemRefType::get({bytes}, b.getI8Type()));
  args.append(scalars, b.getI64Type());
  if (takesSize)
    args.push_back(b.getI64Type());
  auto func = gpu::GPUFuncOp::create(b, loc, name, b.getFunctionType(args, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func->setAttr(NVVM::NVVMDialect::getMaxntidAttrName(),
                b.getDenseI32ArrayAttr({int32_t(threads), 1, 1}));
  b.setInsertionPointToStart(&func.getBody().front());
  return func;
}

FailureOr<KernelLaunch>
einloom::buildContractionKernel(gpu::GPUModuleOp module, StringRef name,
                                const Contraction &c, loom::PlanAttr plan,
                                Location loc, int64_t numSMs) {
  if (c.epilogue.maskElems &&
      (plan.getMma() == loom::MmaShape::Fma || plan.getStages() < 2 || c.quant || c.sparse ||
       c.swapped || plan.getSplitK() != 1))
    return emitError(loc, "a block mask is read by the cp.async and TMA kernels only");
  if (plan.getProducer() == loom::ProducerKind::Tma)
    return buildWarpSpecializedKernel(module, name, c, plan, loc, numSMs);
  // (f64 on DMMA: a one-stage plan is the CUDA-core kernel's tiling, any
  // other the pipelined kernel below.)
  if (plan.getMma() == loom::MmaShape::Fma ||
      (plan.getMma() == loom::MmaShape::M8N8K4 && plan.getStages() == 1))
    return buildSimtKernel(module, name, c, plan, loc);
  if (c.elemA != c.elemB)
    return emitError(loc, "operands of different element types are not supported");
  // A dequantized weight: its codes are the MMA's A (order = ba).
  DequantRecipe recipe;
  if (c.quant) {
    std::string why;
    std::optional<DequantRecipe> r =
        dequantRecipe(c.quant->bits, c.quant->isSigned, c.elemA.isBF16(), why);
    if (!r)
      return emitError(loc, why);
    bool wgmmaRegs = plan.getMma() == loom::MmaShape::WgmmaK16 &&
                     plan.getASource() == loom::OperandSource::Registers;
    if (!c.swapped || (plan.getMma() != loom::MmaShape::M16N8K16 && !wgmmaRegs) ||
        plan.getTileK() != 64)
      return emitError(loc, "a dequantized weight needs the mixed-input plan (order = ba, "
                            "mma = m16n8k16, or wgmma_k16 with a_source = registers, "
                            "tile_k = 64)");
    recipe = *r;
  }
  if (c.sparse &&
      (!c.swapped || plan.getProducer() != sparseProducer(*c.sparse) ||
       (plan.getMma() != loom::MmaShape::M16N8K16 &&
        !(c.sparse->twoFour() && plan.getMma() == loom::MmaShape::M16N8K32Sp)) ||
       plan.getTileK() != 64 ||
       (c.sparse->twoFour() ? plan.getTileM() != 64 && plan.getTileM() != 128
                            : plan.getTileM() != c.sparse->tileRows) ||
       plan.getStages() < (c.sparse->blockCsr() ? 2 : 3) || plan.getNumWarps() != 4 ||
       (c.sparse->blockCsr() && plan.getSplitK() != 1)))
    return emitError(loc, "a sparse weight needs the sparse plan (order = ba, producer = "
                          "tiled_csl, bitmap, two_four or block_csr as the weight is stored, "
                          "mma = m16n8k16 (two_four: or m16n8k32_sp), tile_m = the format's "
                          "tile rows (two_four: 64 or "
                          "128), tile_k = 64, 4 warps, at least 3 stages (block_csr: 2, no "
                          "split))");
  if (!c.sparse && isSparseProducer(plan.getProducer()))
    return emitError(loc, "a sparse producer needs a sparse weight of its format");
  if (!c.elemC.isF32() && !c.elemC.isF16() && !c.elemC.isBF16() && !c.elemC.isF64() &&
      !c.elemC.isSignlessInteger(32) && !c.elemC.isSignlessInteger(8) && !isFp8(c.elemC))
    return emitError(loc, "code generation writes f64, f32, f16, bf16, fp8, i32 or i8 results, not ")
           << c.elemC;
  if (!(c.acc.isF32() || c.acc.isSignlessInteger(32) ||
        (c.acc.isF64() && plan.getMma() == loom::MmaShape::M8N8K4)))
    return emitError(loc, "code generation accumulates in f32 or i32 (f64 on DMMA); ")
           << c.acc << " accumulation is not supported yet";
  if (plan.getStages() < 2)
    return emitError(loc, "the cp.async pipeline needs at least 2 stages");

  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  int64_t eb = elementBytes(c.elemA);
  int64_t bm = plan.getTileM(), bn = plan.getTileN(), bk = plan.getTileK();
  int64_t stages = plan.getStages();
  int64_t threads = plan.getNumWarps() * 32;
  int64_t tilesM = ceilDiv(c.m.size(), bm), tilesN = ceilDiv(c.n.size(), bn);
  int64_t numK = ceilDiv(c.k.size(), bk);
  int64_t splitK = plan.getSplitK();
  int64_t tilesPerSplit = ceilDiv(numK, splitK);

  KernelLaunch launch;
  launch.name = name.str();
  launch.argumentBytes[c.argA()] = c.quant    ? c.quant->packedBytes
                                   : c.sparse ? c.sparse->wordsBytes
                                              : c.tensorBytes(c.m, c.k, c.elemA);
  launch.argumentBytes[c.argB()] = c.tensorBytes(c.n, c.k, c.elemB);
  launch.argumentBytes[2] = splitK > 1 ? splitK * c.tensorBytes(c.m, c.n, c.acc)
                                       : c.tensorBytes(c.m, c.n, c.elemC);
  int64_t slices = c.batch.size() * splitK;
  bool dynamicN = c.dynamicN();
  if (failed(setTileGrid(loc, launch, tilesM * tilesN, slices, bm, tilesN, c.dynamicM(),
                         dynamicN ? bn : 0, tilesM)))
    return failure();
  launch.block = {threads, 1, 1};
  int64_t aRowBytes = c.quant ? 8 * c.quant->bits : 128;
  launch.sharedMemoryBytes = stages * (bm * aRowBytes + bn * 128);
  // A dequantized weight's staged scales and zero points follow the ring.
  int64_t stagedBytes = c.quant ? stages * c.quant->stagedScaleBytes(bm) : 0;
  launch.sharedMemoryBytes += stagedBytes;
  // A sparse weight's tile offsets are copied after the ring.
  int64_t ringEnd = launch.sharedMemoryBytes;
  if (c.sparse)
    launch.sharedMemoryBytes += c.sparse->sharedExtraBytes(tilesPerSplit, threads);

  // With a split sum, the kernel that sums the split applies the epilogue
  // (buildSplitKReduceKernel); this one writes partial sums only.
  if (splitK > 1 && !c.epilogue.empty() && isa<IntegerType>(c.acc))
    return emitError(loc, "a split-K plan does not fuse the epilogue of an integer sum");
  if (splitK == 1)
    launch.epilogueBytes = c.epilogue.bufferBytes();
  // A dequantized weight's scales and zero points follow the epilogue's
  // buffers.
  SmallVector<int64_t, 2> quantBuffers;
  if (c.quant)
    quantBuffers = packedWeightBuffers(*c.quant);
  // A sparse weight's tile offsets (a bitmap's masks after them), likewise.
  if (c.sparse)
    quantBuffers.push_back(c.sparse->offsetsBytes);
  if (c.sparse && c.sparse->hasIndex())
    quantBuffers.push_back(c.sparse->indexBytes);
  // The sparse weight's word count (its buffer's real size) follows.
  auto func = createKernelFunc(b, loc, name, launch, quantBuffers, c.dynamicLabel != 0, threads,
                               c.sparse ? 1 : 0);
  Block &entry = func.getBody().front();

  // 32-bit offsets suffice when every buffer's bytes fit in int32.
  bool narrow = llvm::all_of(launch.argumentBytes, [](int64_t x) { return x < (int64_t(1) << 31); });
  KernelContext kc{b, loc, c, plan, bm, bn, bk, stages, plan.getWarpsM(),
                   plan.getWarpsN(), threads, eb,
                   narrow ? b.getI32Type() : b.getI64Type(), {}, {}, {}, {}};
  kc.initSize(entry);
  if (splitK == 1)
    kc.bindEpilogue(entry);
  kc.tid = kc.fromIndex(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x));
  kc.lane = kc.rem(kc.tid, 32);
  Value warp = kc.div(kc.tid, 32);
  kc.warpRow = kc.mul(kc.rem(warp, kc.warpsM), bm / kc.warpsM);
  kc.warpCol = kc.mul(kc.div(warp, kc.warpsM), bn / kc.warpsN);

  // The slices enumerate (batch, split); each split runs tilesPerSplit K
  // tiles from kBegin (the last may run fewer, or none).
  // (A dynamic N: row-major over the launch-time count of N tiles.)
  Value tilesNV = kc.tilesOfN(bn);
  auto [linear, bzAll] = tileAndSlice(kc, slices, kc.mulV(kc.tilesOfM(bm), tilesNV));
  auto [tm, tn] = dynamicN ? std::pair<Value, Value>{kc.divV(linear, tilesNV), kc.remV(linear, tilesNV)}
                           : rasterTile(kc, linear, kc.tilesOfM(bm), tilesN);
  Value m0 = kc.mul(tm, bm), n0 = kc.mul(tn, bn);
  Value bz = kc.div(bzAll, splitK), split = kc.rem(bzAll, splitK);
  Value kBegin = kc.mul(split, tilesPerSplit);
  Value count = kc.cst(numK);
  if (splitK > 1) {
    Value left = arith::SubIOp::create(b, loc, kc.cst(numK), kBegin);
    count = arith::MaxSIOp::create(
        b, loc, kc.cst(0), arith::MinSIOp::create(b, loc, left, kc.cst(tilesPerSplit)));
  }
  // A block mask (the last of the epilogue's buffers): the tile's byte, [batch,]
  // tile row, tile column; a masked-out tile runs no K tile, and its store
  // writes the mask's fill.
  if (c.epilogue.maskElems) {
    kc.tileKeep = blockMaskKeeps(kc, entry, launch, bz, tm, tn, tilesM, tilesN);
    count = arith::SelectOp::create(b, loc, kc.tileKeep, count, kc.cst(0));
  }

  Value smem = gpu::DynamicSharedMemoryOp::create(b, 
      loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), nullptr,
                           gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup)));
  auto region = [&](int64_t offset, int64_t bytes) {
    return memref::ViewOp::create(b, 
        loc, MemRefType::get({bytes}, b.getI8Type(), nullptr,
                             gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup)),
        smem, arith::ConstantIndexOp::create(b, loc, offset), ValueRange{});
  };
  OperandTile a{'A', &c.m, bm,
                c.quant ? SmemLayout::PackedFragments : chooseLayout(c, 'A', bm), c.elemA,
                entry.getArgument(c.argA()), kc.groupOffset(c.batch, 'A', bz), m0,
                region(0, stages * bm * aRowBytes)};
  a.rowBytes = aRowBytes;
  OperandTile bt{'B', &c.n, bn, chooseLayout(c, 'B', bn), c.elemB,
                 entry.getArgument(c.argB()), kc.groupOffset(c.batch, 'B', bz), n0,
                 region(stages * bm * aRowBytes, stages * bn * 128)};
  if (c.quant)
    bindPackedWeight(kc, a, recipe, entry, 3 + launch.epilogueBytes.size());
  if (stagedBytes)
    a.staged = region(stages * (bm * aRowBytes + bn * 128), stagedBytes);
  // A sparse weight's arguments after the epilogue's buffers: its offsets
  // (2:4: metadata; block_csr: row pointers), a bitmap's masks or
  // block_csr's column indices, then the words (values, blocks) the launch
  // gives, counted in 32-bit words.
  bool blockSparse = c.sparse && c.sparse->blockCsr();
  // 2:4 for mma.sp: its compressed tiles are dense, copied by cp.async
  // through the ring like any operand (no register pipeline).
  bool copiedTwoFour = c.sparse && c.sparse->twoFour() && kc.sparseMma();
  if (c.sparse) {
    const SparseWeight &w = *c.sparse;
    unsigned first = 3 + launch.epilogueBytes.size();
    Value given = entry.getArgument(first + (w.hasIndex() ? 2 : 1));
    auto i64c = [&](int64_t v) { return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v)); };
    auto toInt = [&](Value v) {
      return kc.intType == v.getType() ? v
                                       : arith::TruncIOp::create(b, loc, kc.intType, v).getResult();
    };
    a.sparse.depth = plan.getPrefetch();
    a.sparse.policy = l2Policy(b, loc, "evict_first");
    // Tiled-CSL and bitmap: the CTA's tile offsets; block_csr: its block
    // row's column indices, copied after the ring.
    if (!w.twoFour())
      a.sparse.sharedOffsets = memref::ViewOp::create(
          b, loc,
          MemRefType::get({tilesPerSplit + 1}, b.getI32Type(), nullptr,
                          gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup)),
          smem, arith::ConstantIndexOp::create(b, loc, ringEnd), ValueRange{});
    if (blockSparse) {
      // The last block the launch gives: words / 2048 blocks, at least
      // one, at most the capacity; then the block row's range and column
      // indices (startBlockSparse).
      a.sparse.offsets = typedView(b, loc, entry.getArgument(first), b.getI32Type(),
                                   w.offsetsBytes / 4);
      a.sparse.indices = typedView(b, loc, entry.getArgument(first + 1), b.getI32Type(), w.tiles);
      Value blocks = arith::DivUIOp::create(b, loc, given, i64c(2048));
      blocks = arith::MaxUIOp::create(b, loc, arith::MinUIOp::create(b, loc, blocks, i64c(w.tiles)),
                                      i64c(1));
      a.sparse.lastBlock = toInt(arith::SubIOp::create(b, loc, blocks, i64c(1)));
      count = startBlockSparse(kc, a, tm);
    } else if (w.twoFour()) {
      a.sparse.meta = typedView(b, loc, entry.getArgument(first), b.getI16Type(),
                                w.offsetsBytes / 2);
      a.sparse.metaBytes = entry.getArgument(first);
      a.sparse.kBegin = kBegin;
    } else {
      a.sparse.offsets = typedView(b, loc, entry.getArgument(first), b.getI32Type(), w.tiles + 1);
      // The last whole chunk of the words the launch gives (at least one
      // chunk, at most the compiled capacity): (min(count, capacity) & ~3)
      // - 4. (A bitmap's values are counted in 32-bit words too, two a
      // word.)
      Value words = arith::MinUIOp::create(b, loc, given, i64c(w.wordsBytes / 4));
      words = arith::MaxUIOp::create(b, loc, words, i64c(4));
      a.sparse.lastChunkWord = toInt(arith::SubIOp::create(
          b, loc, arith::AndIOp::create(b, loc, words, i64c(~int64_t(3))), i64c(4)));
      a.sparse.tilesK = ceilDiv(c.k.size(), 64);
      a.sparse.chunks = w.registerChunks(threads);
      a.sparse.firstTile = kc.add(kc.mul(tm, a.sparse.tilesK), kBegin);
      if (w.bitmap()) {
        a.sparse.masks = entry.getArgument(first + 1);
        a.sparse.maskWords = w.maskWords(threads);
        a.sparse.stagingBytes = w.stagingBytes(threads);
        a.sparse.staging = memref::ViewOp::create(
            b, loc,
            MemRefType::get({2 * a.sparse.stagingBytes}, b.getI8Type(), nullptr,
                            gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup)),
            smem,
            arith::ConstantIndexOp::create(b, loc, ringEnd + w.sharedOffsetsBytes(tilesPerSplit)),
            ValueRange{});
      }
    }
  }
  launch.layoutA = c.sparse ? "sparse " + std::string(c.sparse->name()) : layoutName(a.layout);
  launch.layoutB = layoutName(bt.layout);
  Value batchOffC = kc.groupOffset(c.batch, 'C', bz);

  ProducerState psA = c.sparse ? ProducerState() : prepareProducer(kc, a);
  ProducerState psB = prepareProducer(kc, bt);
  bool wgmma = plan.getMma() == loom::MmaShape::WgmmaK16 ||
               plan.getMma() == loom::MmaShape::WgmmaK32;
  // ldmatrix offsets serve only the mma.sync core.
  FragmentState frags;
  if (!wgmma)
    frags = prepareFragments(kc, a, bt);
  // Development experiments only (never set in tests or benchmarks):
  // EINLOOM_EXPERIMENT=noloads / nomma drop the main loop's copies / MMAs to
  // measure the other half's ceiling.
  const char *experiment = std::getenv("EINLOOM_EXPERIMENT");
  bool noLoads = experiment && StringRef(experiment) == "noloads";
  bool noMma = experiment && StringRef(experiment) == "nomma";
  auto produce = [&](Value stage, Value kTile) {
    if (noLoads && !isa<arith::ConstantOp>(kTile.getDefiningOp()))
      return;
    if (blockSparse) // its block row's stored blocks, their columns' K tiles
      return produceStage(kc, bt, psB, stage, copyBlock(kc, a, stage, kTile));
    Value k0 = arith::MulIOp::create(b, loc, kc.add(kBegin, kTile), kc.cst(bk));
    if (copiedTwoFour) // 2:4 for mma.sp: compressed tiles through the ring
      copyTwoFourStage(kc, a, stage, kc.add(kBegin, kTile));
    if (!c.sparse) // the sparse weight has a producer of its own (below)
      produceStage(kc, a, psA, stage, k0);
    if (a.staged) // the tile's scales and zero points beside its codes
      stageDequantParams(kc, a, stage, kc.add(kBegin, kTile));
    produceStage(kc, bt, psB, stage, k0);
  };
  // The sparse weight's pipeline (SparseProducer.cpp): its state rides in
  // the main loop's iter_args.
  SmallVector<Value> sparseInit;
  if (c.sparse && !blockSparse && !copiedTwoFour) {
    if (stages < 3 || wgmma)
      return emitError(loc, "the sparse kernel runs mma.sync with at least 3 stages");
    sparseInit = startSparsePipeline(kc, a, stages, count);
  }
  // wgmma keeps one tile's MMAs in flight, so it prefetches one tile less.
  int64_t ahead = wgmma ? stages - 2 : stages - 1;
  for (int64_t st = 0; st < ahead; ++st) {
    if (splitK > 1 || blockSparse || kc.tileKeep) { // a count known at run time
      auto guard = scf::IfOp::create(b, loc, kc.ltV(kc.cst(st), count), false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&guard.getThenRegion().front());
      produce(kc.cst(st), kc.cst(st));
    } else if (st < numK) {
      produce(kc.cst(st), kc.cst(st));
    }
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
  }

  // The epilogue: partial sums to the workspace (split-K), or C.
  auto finish = [&](ArrayRef<Value> acc) {
    if (splitK > 1)
      storePartials(kc, entry.getArgument(2), split, bz, m0, n0, acc);
    else
      storeEpilogue(kc, entry.getArgument(2), batchOffC, m0, n0, acc);
    gpu::ReturnOp::create(b, loc);
  };
  // Packed codes: each K tile's scale and zero registers, the next tile's
  // loaded one iteration ahead (DequantParams).
  // Staged scales (a.staged) are read from the stage of their tile once it
  // has landed instead, and ride no loop arguments.
  std::optional<DequantParams> dq;
  if (c.quant && !a.staged)
    dq = makeDequantParams(kc, a, kBegin, numK);
  auto stagedParams = [&](Value kTile) {
    Value global = arith::MinSIOp::create(b, loc, kc.add(kBegin, kTile), kc.cst(numK - 1));
    return loadStagedDequantParams(kc, a, global, kc.rem(kTile, stages));
  };
  if (wgmma) {
    // Hopper: the same cp.async pipeline feeding wgmma. cp.async writes are
    // generic-proxy stores that the tensor cores read through the async
    // proxy, hence the proxy fence before each barrier. Packed codes
    // (mixed input) are dequantized into wgmma's A registers; their scale
    // and zero registers ride in the loop's arguments after the
    // accumulators, the next tile's loaded before this tile's MMAs.
    Type accT = c.acc;
    Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(accT));
    size_t numAcc;
    SmallVector<Value> init = wgmmaLoopInit(kc, bn, zero, dq, numAcc);
    auto loop = scf::ForOp::create(b, loc, kc.cst(0), count, kc.cst(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value kt = loop.getInductionVar();
      SmallVector<Value> params(loop.getRegionIterArgs().drop_front(numAcc));
      SmallVector<Value> nextParams;
      if (dq)
        nextParams = dq->next(kc, params, kt);
      NVVM::CpAsyncWaitGroupOp::create(b, loc, ahead - 1);
      asyncProxyFence(b, loc);
      gpu::BarrierOp::create(b, loc);
      Value next = kc.add(kt, kc.cst(ahead));
      auto ifOp = scf::IfOp::create(b, loc, kc.ltV(next, count), /*withElse=*/false);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(&ifOp.getThenRegion().front());
        produce(kc.rem(next, stages), next);
      }
      NVVM::CpAsyncCommitGroupOp::create(b, loc);
      SmallVector<Value> acc(loop.getRegionIterArgs().take_front(numAcc));
      if (dq)
        a.dequant = params;
      else if (a.staged)
        a.dequant = stagedParams(kt);
      wgmmaTile(kc, a, bt, kc.rem(kt, stages), acc);
      llvm::append_range(acc, nextParams);
      scf::YieldOp::create(b, loc, acc);
    }
    finish(wgmmaWaitAll(b, loc, loop.getResults().take_front(numAcc)));
    return launch;
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
  // Packed codes: each K tile's scale and zero registers, loaded one tile
  // ahead.
  if (dq || a.staged)
    a.dequant = dq ? dq->start(kc) : stagedParams(kc.cst(0));
  SmallVector<Value> firstFrags = loadFragments(kc, a, bt, frags, kc.cst(0), 0);
  size_t numFrags = firstFrags.size();
  llvm::append_range(init, firstFrags);
  llvm::append_range(init, a.dequant);
  size_t numParams = a.dequant.size();
  llvm::append_range(init, sparseInit);
  // One iteration of the main loop: K tile kt from the state `args`
  // (accumulators, the tile's first fragments, dequantization parameters,
  // the sparse pipeline's words); returns the next state.
  auto iteration = [&](Value kt, ArrayRef<Value> args) {
    SmallVector<Value> acc(args.take_front(numAcc));
    SmallVector<Value> cur(args.slice(numAcc, numFrags));
    SmallVector<Value> params(args.slice(numAcc + numFrags, numParams));
    SmallVector<Value> sparseState(args.drop_front(numAcc + numFrags + numParams));
    // The next K tile's scale and zero registers (staged ones: read from
    // its stage at the last k step, once it has landed).
    SmallVector<Value> nextParams;
    if (dq)
      nextParams = dq->next(kc, params, kt);
    Value stage = kc.rem(kt, stages);
    // Refill the stage that the previous iteration finished reading.
    Value next = kc.add(kt, kc.cst(stages - 1));
    auto ifOp = scf::IfOp::create(b, loc, kc.ltV(next, count), /*withElse=*/false);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      produce(kc.rem(next, stages), next);
    }
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
    // The sparse weight: scatter the tile loaded `prefetch` iterations
    // ago, zero the stage the previous iteration finished reading and start
    // the next loads (their latency hides behind the tiles in between).
    SmallVector<Value> sparseNext;
    if (c.sparse && !blockSparse && !copiedTwoFour)
      sparseNext = stepSparsePipeline(kc, a, sparseState, kt, stages, count);
    for (int64_t ks = 0; ks < kc.kSteps(); ++ks) {
      SmallVector<Value> upcoming;
      if (ks + 1 < kc.kSteps()) {
        a.dequant = params;
        upcoming = loadFragments(kc, a, bt, frags, stage, ks + 1);
      } else {
        NVVM::CpAsyncWaitGroupOp::create(b, loc, stages - 2);
        gpu::BarrierOp::create(b, loc);
        if (a.staged)
          nextParams = stagedParams(kc.add(kt, kc.cst(1)));
        a.dequant = nextParams;
        upcoming = loadFragments(kc, a, bt, frags, kc.rem(kc.add(kt, kc.cst(1)), stages), 0);
      }
      if (!noMma)
        mmaStep(kc, cur, acc);
      cur = upcoming;
    }
    SmallVector<Value> yielded(acc);
    llvm::append_range(yielded, cur);
    llvm::append_range(yielded, nextParams);
    llvm::append_range(yielded, sparseNext);
    return yielded;
  };
  auto runLoop = [&](Value from, Value to, int64_t unroll, ArrayRef<Value> start) {
    auto loop = scf::ForOp::create(b, loc, from, to, kc.cst(unroll), start);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> args(loop.getRegionIterArgs());
    for (int64_t j = 0; j < unroll; ++j)
      args = iteration(kc.add(loop.getInductionVar(), j), args);
    scf::YieldOp::create(b, loc, args);
    return SmallVector<Value>(loop.getResults());
  };
  // A sparse pipeline `prefetch` tiles deep runs unrolled by its depth, so
  // that each tile's words stay in the registers they were loaded into
  // (rotating them through the loop's arguments would copy them, and a
  // copy waits for its load); the last count mod depth tiles run rolled.
  int64_t unroll = c.sparse && !blockSparse && !copiedTwoFour ? plan.getPrefetch() : 1;
  SmallVector<Value> results;
  if (unroll > 1) {
    Value whole = kc.mul(kc.div(count, unroll), unroll);
    results = runLoop(whole, count, 1, runLoop(kc.cst(0), whole, unroll, init));
  } else {
    results = runLoop(kc.cst(0), count, 1, init);
  }
  SmallVector<Value> acc(ArrayRef<Value>(results).take_front(numAcc));
  finish(acc);
  return launch;
}

FailureOr<KernelLaunch> einloom::buildSplitKReduceKernel(gpu::GPUModuleOp module, StringRef name,
                                                         const Contraction &c, int64_t splitK,
                                                         Location loc) {
  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  int64_t total = c.batch.size() * c.m.size() * c.n.size();
  int64_t threads = 256;
  KernelLaunch launch;
  launch.name = name.str();
  launch.argumentBytes = {splitK * total * elementBytes(c.acc), total * elementBytes(c.elemC), 0};
  launch.grid = {ceilDiv(total, threads), 1, 1};
  launch.block = {threads, 1, 1};
  // A fused epilogue is applied here, to the whole sum: its bias and
  // residual follow the result.
  launch.epilogueBytes = c.epilogue.bufferBytes();
  SmallVector<Type> args{MemRefType::get({launch.argumentBytes[0]}, b.getI8Type()),
                         MemRefType::get({launch.argumentBytes[1]}, b.getI8Type())};
  for (int64_t bytes : launch.epilogueBytes)
    args.push_back(MemRefType::get({bytes}, b.getI8Type()));
  // Elements per unit of the dynamic extent (M, or a transposed product's
  // N).
  bool dynamicN = c.dynamicN();
  int64_t perRow = c.batch.size() * (dynamicN ? c.m.size() : c.n.size());
  if (c.dynamicLabel) {
    launch.dynamicGrid = {perRow, threads, 1};
    args.push_back(b.getI64Type());
  }
  auto func = gpu::GPUFuncOp::create(b, loc, name, b.getFunctionType(args, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  bool narrow = launch.argumentBytes[0] < (int64_t(1) << 31);
  KernelContext kc{b, loc, c, loom::PlanAttr(), 0, 0, 0, 0, 1, 1, threads, 0,
                   narrow ? b.getI32Type() : b.getI64Type(), {}, {}, {}, {}};
  kc.initSize(entry);
  kc.epi.spec = &c.epilogue;
  kc.epi.bind(b, loc, entry, 2);
  // The element count: a constant, or per unit of a dynamic M times its size.
  Value totalV = c.dynamicLabel ? kc.mul(dynamicN ? kc.nSize : kc.mSize, perRow) : kc.cst(total);
  Value e = kc.globalThread(threads);
  auto ifOp = scf::IfOp::create(b, loc, kc.ltV(e, totalV), false);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  Value ws = typedView(b, loc, entry.getArgument(0), c.acc, splitK * total);
  Value sum = memref::LoadOp::create(b, loc, ws, ValueRange{kc.idx(e)});
  for (int64_t s = 1; s < splitK; ++s) {
    Value v = memref::LoadOp::create(b, loc, ws,
                                     ValueRange{kc.idx(kc.add(e, kc.mul(totalV, s)))});
    sum = isa<IntegerType>(c.acc) ? Value(arith::AddIOp::create(b, loc, sum, v))
                                  : Value(arith::AddFOp::create(b, loc, sum, v));
  }
  // Element e of the workspace's [B][M][N] plane, or [B][N][M] where C
  // runs M fastest: C is then written in consecutive addresses too.
  bool mFastest = partialsMFastest(c);
  Value bIdx = kc.divV(e, kc.mulV(kc.mSize, kc.nSize));
  Value mIdx = mFastest ? kc.remV(e, kc.mSize) : kc.remV(kc.divV(e, kc.nSize), kc.mSize);
  Value nIdx = mFastest ? kc.remV(kc.divV(e, kc.mSize), kc.nSize) : kc.remV(e, kc.nSize);
  Value off = kc.add(kc.groupOffset(c.batch, 'C', bIdx),
                     kc.add(kc.groupOffset(c.m, 'C', mIdx), kc.groupOffset(c.n, 'C', nIdx)));
  Value out = storedAs(b, loc, kc.epi.apply(kc, sum, off), c.elemC);
  Value cv = typedView(b, loc, entry.getArgument(1), storageType(c.elemC), total);
  memref::StoreOp::create(b, loc, out, cv, ValueRange{kc.idx(off)});
  b.setInsertionPointAfter(ifOp);
  gpu::ReturnOp::create(b, loc);
  return launch;
}
