//===- SimtKernel.cpp - contractions on the CUDA cores --------------------===//
//
// For f32 (without tf32) and f64 operands, which have no tensor-core
// instruction here. f32: a 128x128 output tile per CTA, K in steps of 16
// through shared memory, and 256 threads (16x16) that each keep an 8x8 block
// of accumulators, rows ty*4 + {0..3} and 64 + ty*4 + {0..3} (columns the
// same with tx), so that each k reads its A and B values from shared memory
// as four 16-byte loads without bank conflicts, for 64 fused multiply-adds.
// A 64x128 tile (f32 only) keeps the first four rows of that block: 4x8
// accumulators a thread, twice the CTAs where 128-row tiles leave SMs idle,
// and half the registers (the fallback where the 128-row kernel spills).
// Operands are read element by element through their strides (any layout,
// diagonals, broadcasts), coalesced along whichever of the tile's two modes
// is contiguous, into rows padded by four elements (a warp storing along K
// then meets 2-way bank conflicts, not 16-way).
//
// f64 plans (mma = m8n8k4) use the same 128x128 tile and shared-memory
// staging but multiply on the double-precision tensor cores: eight warps of
// 64x32, each issuing 32 mma.sync.m8n8k4 per K step of 4 from 12 fragment
// loads, out of shared memory rows padded to 136 elements (a warp's 32 loads
// then take the minimum two passes). PTX ISA fragment layout: A row =
// lane / 4, k = lane % 4; B k = lane % 4, col = lane / 4; C row = lane / 4,
// cols 2 * (lane % 4) and one more.
//
//===----------------------------------------------------------------------===//
#include "einloom/Codegen/KernelBuilder.h"

#include "KernelContext.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

FailureOr<KernelLaunch> einloom::buildSimtKernel(gpu::GPUModuleOp module, StringRef name,
                                                 const Contraction &c, loom::PlanAttr plan,
                                                 Location loc) {
  bool dmma = plan.getMma() == loom::MmaShape::M8N8K4;
  // 16x16 threads; each keeps RM x R accumulators (DMMA: two in each of its
  // warp's MT x NT tiles of 8x8).
  constexpr int64_t BN = 128, threads = 256, R = 8, MT = 8, NT = 4;
  static_assert(MT * NT * 2 == R * R, "both paths carry R x R accumulators");
  const int64_t BM = plan.getTileM(), RM = BM / 16;
  if ((BM != 128 && (BM != 64 || dmma)) || plan.getTileN() != BN)
    return emitError(loc, "the CUDA-core kernel's tile is 128x128 (f32 also 64x128)");
  // K per step: the plan's (16 for both plans; 32 also builds).
  const int64_t BK = plan.getTileK();
  if (BK != 16 && BK != 32)
    return emitError(loc, "the CUDA-core kernel steps K by 16 or 32, not ") << BK;
  if (c.elemA != c.elemB || !(c.elemA.isF32() || c.elemA.isF64()) || c.acc != c.elemA)
    return emitError(loc, "the CUDA-core kernel takes f32 or f64 operands accumulated in "
                          "their own type");
  if (dmma && !c.elemA.isF64())
    return emitError(loc, "m8n8k4 (DMMA) multiplies f64 operands, not ") << c.elemA;
  // Shared rows: the tile's rows + 4 elements (16-byte aligned, 4 banks
  // apart), or 128 + 8 for the DMMA fragments' loads; A's rows are BM, B's
  // BN.
  const int64_t pitchA = dmma ? BM + 8 : BM + 4, pitchB = dmma ? BN + 8 : BN + 4;
  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  Type elem = c.elemA, accT = c.acc;
  int64_t eb = elementBytes(elem);
  auto ceilDiv = [](int64_t a, int64_t d) { return (a + d - 1) / d; };
  int64_t tilesM = ceilDiv(c.m.size(), BM), tilesN = ceilDiv(c.n.size(), BN);
  int64_t numK = ceilDiv(c.k.size(), BK);

  KernelLaunch launch;
  launch.name = name.str();
  launch.argumentBytes = {c.tensorBytes(c.m, c.k, c.elemA), c.tensorBytes(c.n, c.k, c.elemB),
                          c.tensorBytes(c.m, c.n, c.elemC)};
  if (failed(setTileGrid(loc, launch, tilesM * tilesN, c.batch.size(), BM, tilesN,
                         c.dynamicLabel != 0)))
    return failure();
  launch.block = {threads, 1, 1};
  launch.sharedMemoryBytes = (pitchA + pitchB) * BK * eb;
  launch.layoutA = launch.layoutB = dmma ? "elementwise into shared memory (DMMA)"
                                         : "elementwise (CUDA cores)";

  launch.epilogueBytes = c.epilogue.bufferBytes();
  auto func = createKernelFunc(b, loc, name, launch, {}, c.dynamicLabel != 0, threads);
  Block &entry = func.getBody().front();
  bool narrow = llvm::all_of(launch.argumentBytes, [](int64_t x) { return x < (int64_t(1) << 31); });
  KernelContext kc{b, loc, c, plan, BM, BN, BK, 1, plan.getWarpsM(), plan.getWarpsN(), threads, eb,
                   narrow ? b.getI32Type() : b.getI64Type(), {}, {}, {}, {}};
  kc.initSize(entry);
  kc.bindEpilogue(entry);
  kc.tid = kc.fromIndex(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x));
  Value ty = kc.div(kc.tid, 16), tx = kc.rem(kc.tid, 16);
  auto [linear, bz] = tileAndSlice(kc, c.batch.size(), kc.mul(kc.tilesOfM(BM), tilesN));
  Value m0 = kc.mul(kc.div(linear, tilesN), BM), n0 = kc.mul(kc.rem(linear, tilesN), BN);

  Value gA = typedView(b, loc, entry.getArgument(0), elem, launch.argumentBytes[0] / eb);
  Value gB = typedView(b, loc, entry.getArgument(1), elem, launch.argumentBytes[1] / eb);
  Value gC = typedView(b, loc, entry.getArgument(2), c.elemC, launch.argumentBytes[2] / elementBytes(c.elemC));
  auto shared = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Value smem = gpu::DynamicSharedMemoryOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), nullptr, shared));
  auto tile = [&](int64_t offset, int64_t count) {
    return memref::ViewOp::create(b, loc, MemRefType::get({count}, elem, nullptr, shared), smem,
                                  arith::ConstantIndexOp::create(b, loc, offset), ValueRange{})
        .getResult();
  };
  Value sA = tile(0, BK * pitchA), sB = tile(BK * pitchA * eb, BK * pitchB);
  Value offA = kc.groupOffset(c.batch, 'A', bz), offB = kc.groupOffset(c.batch, 'B', bz);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elem));

  // One K step of one operand, BK * rows / 256 elements per thread,
  // consecutive threads along the operand's contiguous mode (K, or the
  // rows): `load` reads them into registers (zero out of range), `store`
  // puts them into shared memory [k][row]. The main loop loads the next K
  // step before it multiplies this one, so the global reads overlap the math.
  auto tileRows = [&](char operand) { return operand == 'A' ? BM : BN; };
  auto perThread = [&](char operand) { return BK * tileRows(operand) / threads; };
  auto place = [&](char operand, int64_t e) {
    const Mode &lastK = c.k.modes.back();
    bool kFast = (operand == 'A' ? lastK.strideA : lastK.strideB) == 1;
    Value idx = kc.add(kc.tid, e * threads);
    int64_t rows = tileRows(operand);
    return std::pair<Value, Value>{kFast ? kc.div(idx, BK) : kc.rem(idx, rows),
                                   kFast ? kc.rem(idx, BK) : kc.div(idx, rows)};
  };
  auto load = [&](Value global, Value batchOff, const ModeGroup &rows, char operand, Value row0,
                  Value k0, SmallVectorImpl<Value> &out) {
    for (int64_t e = 0; e < perThread(operand); ++e) {
      auto [r, kk] = place(operand, e);
      Value row = kc.add(row0, r), k = kc.add(k0, kk);
      Value valid = kc.andB(kc.ltExtent(row, rows), kc.lt(k, c.k.size()));
      Value off = kc.add(batchOff, kc.add(kc.groupOffset(rows, operand, row),
                                          kc.groupOffset(c.k, operand, k)));
      // Out-of-range elements read element 0 (always there) and keep zero.
      off = kc.select(valid, off, kc.cst(0));
      Value v = memref::LoadOp::create(b, loc, global, ValueRange{kc.idx(off)});
      out.push_back(kc.select(valid, v, zero));
    }
  };
  auto store = [&](char operand, ArrayRef<Value> values, Value dst) {
    int64_t pitch = operand == 'A' ? pitchA : pitchB;
    for (int64_t e = 0; e < perThread(operand); ++e) {
      auto [r, kk] = place(operand, e);
      memref::StoreOp::create(b, loc, values[e], dst,
                              ValueRange{kc.idx(kc.add(kc.mul(kk, pitch), r))});
    }
  };
  auto loadStep = [&](Value k0) {
    SmallVector<Value> v;
    load(gA, offA, c.m, 'A', m0, k0, v);
    load(gB, offB, c.n, 'B', n0, k0, v);
    return v;
  };
  auto storeStep = [&](ArrayRef<Value> v) {
    store('A', v.take_front(perThread('A')), sA);
    store('B', v.drop_front(perThread('A')), sB);
  };

  Value accZero = arith::ConstantOp::create(b, loc, b.getZeroAttr(accT));
  SmallVector<Value> init(RM * R, accZero); // (DMMA: MT x NT tiles of two each, also 64)
  // K step 0 goes to shared memory before the loop; the loop carries the
  // accumulators, then the next step's elements.
  storeStep(loadStep(kc.cst(0)));
  gpu::BarrierOp::create(b, loc);
  // DMMA warp layout: warps 2 (M) x 4 (N) of 64x32; a lane's fragment row.
  Value lane = kc.rem(kc.tid, 32), warp = kc.div(kc.tid, 32);
  Value warpRow = kc.mul(kc.rem(warp, 2), 8 * MT), warpCol = kc.mul(kc.div(warp, 2), 8 * NT);
  Value quad = kc.div(lane, 4), inQuad = kc.rem(lane, 4);
  auto f64x2 = LLVM::LLVMStructType::getLiteral(ctx, {accT, accT});
  auto dmmaOp = [&](Value a, Value bv, Value c0, Value c1) {
    auto op = LLVM::InlineAsmOp::create(
        b, loc, f64x2, ValueRange{a, bv, c0, c1},
        "mma.sync.aligned.m8n8k4.row.col.f64.f64.f64.f64 {$0, $1}, {$2}, {$3}, {$4, $5};",
        "=d,=d,d,d,d,d", /*has_side_effects=*/false, /*is_align_stack=*/false,
        LLVM::TailCallKind::None, LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT),
        ArrayAttr());
    return std::pair<Value, Value>{
        LLVM::ExtractValueOp::create(b, loc, op.getResult(0), 0).getResult(),
        LLVM::ExtractValueOp::create(b, loc, op.getResult(0), 1).getResult()};
  };
  auto loop = scf::ForOp::create(b, loc, kc.cst(0), kc.cst(numK), kc.cst(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    // The next K step (past the end: zeros, unused) while this one multiplies.
    // (With one K step there is none: prefetching it anyway kept its
    // addresses live beside the 64 accumulators, and ptxas spilled.)
    SmallVector<Value> next;
    if (numK > 1)
      next = loadStep(kc.mul(kc.add(loop.getInductionVar(), 1), BK));
    SmallVector<Value> acc(loop.getRegionIterArgs());
    // f32: this thread's rows ty*4 + {0..3} and 64 + ty*4 + {0..3}, its
    // columns the same with tx; four 16-byte loads per k.
    Value rowA = kc.mul(ty, 4), colB = kc.mul(tx, 4);
    auto vecType = VectorType::get({4}, elem);
    auto load4 = [&](Value tileMem, Value at) {
      Value v = vector::LoadOp::create(b, loc, vecType, tileMem, ValueRange{kc.idx(at)},
                                       /*nontemporal=*/false, llvm::MaybeAlign(16));
      SmallVector<Value> out;
      for (int64_t i = 0; i < 4; ++i)
        out.push_back(vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{i}));
      return out;
    };
    for (int64_t ks = 0; dmma && ks < BK / 4; ++ks) {
      Value kRow = kc.mul(kc.add(inQuad, ks * 4), pitchA); // (pitchA = pitchB here)
      SmallVector<Value> av, bv;
      for (int64_t mt = 0; mt < MT; ++mt)
        av.push_back(memref::LoadOp::create(
            b, loc, sA, ValueRange{kc.idx(kc.add(kRow, kc.add(warpRow, kc.add(quad, mt * 8))))}));
      for (int64_t nt = 0; nt < NT; ++nt)
        bv.push_back(memref::LoadOp::create(
            b, loc, sB, ValueRange{kc.idx(kc.add(kRow, kc.add(warpCol, kc.add(quad, nt * 8))))}));
      for (int64_t mt = 0; mt < MT; ++mt)
        for (int64_t nt = 0; nt < NT; ++nt) {
          int64_t at = (mt * NT + nt) * 2;
          std::tie(acc[at], acc[at + 1]) = dmmaOp(av[mt], bv[nt], acc[at], acc[at + 1]);
        }
    }
    for (int64_t kk = 0; !dmma && kk < BK; ++kk) {
      SmallVector<Value> av, bv;
      for (int64_t half = 0; half < BM / 64; ++half)
        llvm::append_range(av, load4(sA, kc.add(rowA, kk * pitchA + 64 * half)));
      for (int64_t half = 0; half < 2; ++half)
        llvm::append_range(bv, load4(sB, kc.add(colB, kk * pitchB + 64 * half)));
      for (int64_t i = 0; i < RM; ++i)
        for (int64_t j = 0; j < R; ++j)
          // llvm.intr.fma, not math.fma: the GPU lowering may turn math.fma into a
          // libdevice call (__nv_fmaf), which a bundle cannot link.
          acc[i * R + j] = LLVM::FMAOp::create(b, loc, av[i], bv[j], acc[i * R + j]).getResult();
    }
    if (numK > 1) {
      gpu::BarrierOp::create(b, loc);
      storeStep(next);
      gpu::BarrierOp::create(b, loc);
    }
    scf::YieldOp::create(b, loc, acc);
  }

  // Epilogue: each thread's 8x8 block (DMMA: its two elements of each of
  // its warp's MT x NT tiles of 8x8), converted, bounds-checked.
  Value offC = kc.groupOffset(c.batch, 'C', bz);
  for (int64_t i = 0; i < RM; ++i)
    for (int64_t j = 0; j < R; ++j) {
      Value m = kc.add(m0, kc.add(kc.mul(ty, 4), (i / 4) * 64 + i % 4));
      Value n = kc.add(n0, kc.add(kc.mul(tx, 4), (j / 4) * 64 + j % 4));
      if (dmma) { // acc index (mt * NT + nt) * 2 + e with i * R + j = that index
        int64_t idx = i * R + j, mt = idx / (2 * NT), nt = (idx / 2) % NT, e = idx % 2;
        m = kc.add(m0, kc.add(warpRow, kc.add(quad, mt * 8)));
        n = kc.add(n0, kc.add(warpCol, kc.add(kc.mul(inQuad, 2), nt * 8 + e)));
      }
      Value ok = kc.andB(kc.ltExtent(m, c.m), kc.lt(n, c.n.size()));
      auto ifOp = scf::IfOp::create(b, loc, ok, /*withElse=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      Value off = kc.add(offC, kc.add(kc.groupOffset(c.m, 'C', m), kc.groupOffset(c.n, 'C', n)));
      Value v = kc.epi.apply(kc, loop.getResult(i * R + j), off);
      if (v.getType() != c.elemC)
        v = arith::TruncFOp::create(b, loc, c.elemC, v);
      memref::StoreOp::create(b, loc, v, gC, ValueRange{kc.idx(off)});
    }
  gpu::ReturnOp::create(b, loc);
  return launch;
}
