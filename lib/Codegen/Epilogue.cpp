//===- Epilogue.cpp - accumulators to the output tensor -------------------===//
//
// Thread `lane` of a warp holds, for each m16n8 fragment, rows g and g + 8
// (g = lane / 4) and columns 2t, 2t + 1 (t = lane % 4). Each row pair is
// converted to C's type and written with one 2-element vector store when C's
// last N mode is contiguous, else element by element. Tails are guarded.
//
//===----------------------------------------------------------------------===//
#include "KernelContext.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

/// acc (f32 or i32, through the epilogue) as C is stored: its storage
/// type, with fp8 and a requantized i8 saturating.
static Value convert(OpBuilder &b, Location loc, Value v, Type to) {
  if (isa<IntegerType>(v.getType()) && isa<FloatType>(to))
    v = arith::SIToFPOp::create(b, loc, b.getF32Type(), v);
  return storedAs(b, loc, v, to);
}

Value einloom::codegen::blockMaskKeeps(KernelContext &kc, Block &entry, const KernelLaunch &launch,
                                       Value bz, Value tm, Value tn, int64_t tilesM,
                                       int64_t tilesN) {
  OpBuilder &b = kc.b;
  const EpilogueSpec &e = kc.c.epilogue;
  Value mask = typedView(b, kc.loc, entry.getArgument(3 + launch.epilogueBytes.size() - 1),
                         b.getI8Type(), e.maskElems);
  Value at = kc.add(kc.mul(tm, tilesN), tn);
  if (e.maskPerBatch)
    at = kc.add(at, kc.mul(bz, tilesM * tilesN));
  Value byte = memref::LoadOp::create(b, kc.loc, mask, ValueRange{kc.idx(at)});
  return arith::CmpIOp::create(b, kc.loc, arith::CmpIPredicate::ne, byte,
                               arith::ConstantOp::create(b, kc.loc, b.getI8IntegerAttr(0)));
}

Value einloom::codegen::maskedOrFill(KernelContext &kc, Value v) {
  if (!kc.tileKeep)
    return v;
  OpBuilder &b = kc.b;
  Type vt = v.getType();
  double f = kc.c.epilogue.maskFill;
  TypedAttr fill = isa<FloatType>(vt) ? TypedAttr(b.getFloatAttr(vt, f))
                                      : TypedAttr(b.getIntegerAttr(vt, int64_t(f)));
  return arith::SelectOp::create(b, kc.loc, kc.tileKeep, v,
                                 arith::ConstantOp::create(b, kc.loc, fill));
}

void einloom::codegen::storeEpilogue(KernelContext &kc, Value gC, Value batchOffC,
                                     Value m0, Value n0, ArrayRef<Value> acc) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  const Contraction &c = kc.c;
  Type t = c.elemC;
  int64_t eb = elementBytes(t);
  auto gType = cast<MemRefType>(gC.getType());
  Type st = storageType(t);
  Value cTyped = memref::ViewOp::create(b, loc, MemRefType::get({gType.getNumElements() / eb}, st),
                                          gC, arith::ConstantIndexOp::create(b, loc, 0), ValueRange{});
  // Pairs are contiguous when N's last mode has stride 1 and even extent,
  // and every other stride of C keeps the pair 2-element aligned.
  bool pairs = c.contiguous(c.n, 'C', 2) && !c.dynamicN();
  for (const ModeGroup *g : {&c.batch, &c.m, &c.n})
    for (const Mode &md : g->modes)
      if (md.strideC % 2 && &md != &c.n.modes.back())
        pairs = false;

  int64_t wm = kc.bm / kc.warpsM, wn = kc.bn / kc.warpsN;
  int64_t tilesN = wn / 8;
  Value g = kc.div(kc.lane, 4), tq = kc.rem(kc.lane, 4);
  Value rowBase = kc.add(m0, kc.add(kc.warpRow, g));
  Value colBase = kc.add(n0, kc.add(kc.warpCol, kc.mul(tq, 2)));
  for (int64_t i = 0; i < wm / 16; ++i)
    for (int64_t n = 0; n < tilesN; ++n)
      for (int64_t half = 0; half < 2; ++half) {
        Value m = kc.add(rowBase, kc.cst(16 * i + 8 * half));
        Value col = kc.add(colBase, kc.cst(8 * n));
        size_t at = (i * tilesN + n) * 4 + half * 2;
        // The fused epilogue (if any) at the element's offset, then C's type.
        auto finish = [&](Value x, Value off) {
          return convert(b, loc, maskedOrFill(kc, kc.epi.apply(kc, x, off)), t);
        };
        Value rowOff = kc.add(batchOffC, kc.groupOffset(c.m, 'C', m));
        Value mOk = kc.ltExtent(m, c.m);
        if (pairs) {
          Value ok = kc.andB(mOk, kc.ltExtent(col, c.n));
          auto ifOp = scf::IfOp::create(b, loc, ok, /*withElse=*/false);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(&ifOp.getThenRegion().front());
          Value off = kc.add(rowOff, kc.groupOffset(c.n, 'C', col));
          Value vec = vector::FromElementsOp::create(
              b, loc, VectorType::get({2}, st),
              ValueRange{finish(acc[at], off), finish(acc[at + 1], kc.add(off, 1))});
          vector::StoreOp::create(b, loc, vec, cTyped, ValueRange{kc.idx(off)});
          continue;
        }
        for (int64_t e = 0; e < 2; ++e) {
          Value ncol = kc.add(col, kc.cst(e));
          Value ok = kc.andB(mOk, kc.ltExtent(ncol, c.n));
          auto ifOp = scf::IfOp::create(b, loc, ok, /*withElse=*/false);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(&ifOp.getThenRegion().front());
          Value off = kc.add(rowOff, kc.groupOffset(c.n, 'C', ncol));
          memref::StoreOp::create(b, loc, finish(acc[at + e], off), cTyped, ValueRange{kc.idx(off)});
        }
      }
}

void einloom::codegen::storePartials(KernelContext &kc, Value workspace, Value split,
                                     Value batch, Value m0, Value n0, ArrayRef<Value> acc) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  const Contraction &c = kc.c;
  Type t = c.acc;
  int64_t N = c.n.size(), B = c.batch.size();
  auto wType = cast<MemRefType>(workspace.getType());
  Value w = memref::ViewOp::create(b, loc,
                                   MemRefType::get({wType.getNumElements() / elementBytes(t)}, t),
                                   workspace, arith::ConstantIndexOp::create(b, loc, 0),
                                   ValueRange{});
  // Element (split, batch, m, n) of the canonical [S][B][M][N] workspace,
  // or [S][B][N][M] (M or N the launch-time extent where it is dynamic).
  Value plane = kc.mulV(kc.mulV(kc.add(kc.mul(split, B), batch), kc.mSize), kc.nSize);
  bool mFastest = partialsMFastest(c);
  int64_t wm = kc.bm / kc.warpsM, wn = kc.bn / kc.warpsN, tilesN = wn / 8;
  Value g = kc.div(kc.lane, 4), tq = kc.rem(kc.lane, 4);
  Value rowBase = kc.add(m0, kc.add(kc.warpRow, g));
  Value colBase = kc.add(n0, kc.add(kc.warpCol, kc.mul(tq, 2)));
  bool pairs = N % 2 == 0 && !c.dynamicN() && !mFastest;
  for (int64_t i = 0; i < wm / 16; ++i)
    for (int64_t n = 0; n < tilesN; ++n)
      for (int64_t half = 0; half < 2; ++half) {
        Value m = kc.add(rowBase, 16 * i + 8 * half);
        Value col = kc.add(colBase, 8 * n);
        size_t at = (i * tilesN + n) * 4 + half * 2;
        Value rowOff = mFastest ? kc.add(plane, m) : kc.add(plane, kc.mulV(m, kc.nSize));
        Value mOk = kc.ltExtent(m, c.m);
        for (int64_t e = 0; e < (pairs ? 1 : 2); ++e) {
          Value ncol = kc.add(col, e);
          auto ifOp = scf::IfOp::create(b, loc, kc.andB(mOk, kc.ltExtent(ncol, c.n)), false);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(&ifOp.getThenRegion().front());
          Value off = kc.idx(mFastest ? kc.add(rowOff, kc.mulV(ncol, kc.mSize)) : kc.add(rowOff, ncol));
          if (pairs) {
            Value vec = vector::FromElementsOp::create(b, loc, VectorType::get({2}, t),
                                                       ValueRange{acc[at], acc[at + 1]});
            vector::StoreOp::create(b, loc, vec, w, ValueRange{off});
          } else {
            memref::StoreOp::create(b, loc, acc[at + e], w, ValueRange{off});
          }
        }
      }
}
