//===- Producers.cpp - operand tiles from global to shared memory ---------===//
//
// Dense producers. Shared-memory rows are 128 bytes split into eight 16-byte
// chunks; chunk c of row r is stored at chunk c ^ (r & 7), so that both the
// cp.async writes and the ldmatrix reads of eight consecutive rows touch
// eight different bank groups.
//
// Everything that does not depend on the K tile (row offsets, bounds, shared
// memory slots) is computed once before the main loop (prepareProducer);
// each K tile then costs a few adds and selects per copy (produceStage).
//
//===----------------------------------------------------------------------===//
#include "KernelContext.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

static int64_t strideIn(const Mode &m, char operand) {
  return operand == 'A' ? m.strideA : operand == 'B' ? m.strideB : m.strideC;
}

Value KernelContext::groupOffset(const ModeGroup &group, char operand, Value idx) {
  Value off;
  int64_t inner = 1;
  for (int64_t i = static_cast<int64_t>(group.modes.size()) - 1; i >= 0; --i) {
    const Mode &m = group.modes[i];
    int64_t stride = strideIn(m, operand);
    if (stride != 0 && m.extent > 1) {
      Value v = div(idx, inner);
      if (i != 0)
        v = rem(v, m.extent);
      Value term = mul(v, stride);
      off = off ? add(off, term) : term;
    }
    inner *= m.extent;
  }
  return off ? off : cst(0);
}

int64_t KernelContext::kStride(char operand) const { return strideIn(c.k.modes.front(), operand); }

Value KernelContext::kOffset(char operand, Value k0, Value xTimesStride, Value x) {
  if (singleK())
    return add(mul(k0, kStride(operand)), xTimesStride);
  return groupOffset(c.k, operand, add(k0, x));
}

ProducerState einloom::codegen::prepareProducer(KernelContext &kc, OperandTile &op) {
  ProducerState ps;
  auto addRow = [&](Value rowInTile) {
    Value row = kc.add(op.rowOrigin, rowInTile);
    ps.rowValid.push_back(kc.ltExtent(row, *op.rows));
    ps.rowOffset.push_back(kc.add(op.batchOffset, kc.groupOffset(*op.rows, op.name, row)));
  };
  auto addK = [&](Value kInTile) {
    ps.kLane.push_back(kInTile);
    ps.kLaneOffset.push_back(kc.singleK() ? kc.mul(kInTile, kc.kStride(op.name)) : kc.cst(0));
  };
  switch (op.layout) {
  case SmemLayout::KMajorVector: {
    int64_t vec = 16 / kc.elemBytes;
    int64_t rowsPerPass = kc.threads / 8;
    Value ch = kc.rem(kc.tid, 8), rBase = kc.div(kc.tid, 8);
    Value swz = kc.mul(kc.xorI(ch, kc.andI(rBase, 7)), 16);
    addK(kc.mul(ch, vec));
    for (int64_t pass = 0; pass * rowsPerPass < op.tileRows; ++pass) {
      Value r = kc.add(rBase, pass * rowsPerPass);
      addRow(r);
      // With 8 rows or more per pass, (r & 7) == (rBase & 7); one warp
      // copies 4 rows a pass, and every other pass has its own swizzle.
      Value rowSwz = rowsPerPass % 8 == 0 ? swz : kc.mul(kc.xorI(ch, kc.andI(r, 7)), 16);
      ps.dst.push_back(kc.add(kc.mul(r, 128), rowSwz));
    }
    break;
  }
  case SmemLayout::MNMajorVector: {
    int64_t chunksPerRow = op.tileRows / 8;
    int64_t mask = std::min<int64_t>(8, chunksPerRow) - 1;
    int64_t total = kc.bk * chunksPerRow;
    // The plan verifier guarantees whole passes: every thread copies a chunk.
    assert(total % kc.threads == 0 && "partial producer pass");
    for (int64_t pass = 0; pass * kc.threads < total; ++pass) {
      Value cidx = kc.add(kc.tid, pass * kc.threads);
      Value kk = kc.div(cidx, chunksPerRow), ch = kc.rem(cidx, chunksPerRow);
      addRow(kc.mul(ch, 8));
      addK(kk);
      Value phys = kc.xorI(ch, kc.andI(kk, mask));
      ps.dst.push_back(kc.add(kc.mul(kk, op.tileRows * 2), kc.mul(phys, 16)));
    }
    break;
  }
  case SmemLayout::PackedFragments: {
    // One 16-byte chunk of the stage's contiguous run per thread and pass;
    // where the chunks do not divide evenly among the threads, some copy a
    // chunk twice (the same bytes to the same place).
    int64_t chunks = op.stageBytes() / 16, perTile = op.rowBytes; // chunks per 16 rows
    int64_t passes = (chunks + kc.threads - 1) / kc.threads;
    for (int64_t pass = 0; pass < passes; ++pass) {
      Value ch = kc.add(kc.tid, pass * kc.threads);
      if (chunks % kc.threads)
        ch = kc.rem(ch, chunks);
      Value row = kc.add(op.rowOrigin, kc.mul(kc.div(ch, perTile), 16));
      ps.rowValid.push_back(kc.ltExtent(row, *op.rows));
      ps.rowOffset.push_back(kc.add(kc.mul(op.rowOrigin, op.rowBytes), kc.mul(ch, 16)));
      ps.dst.push_back(kc.mul(ch, 16));
    }
    break;
  }
  case SmemLayout::KMajorElementwise:
    break; // computed per element in produceStage
  case SmemLayout::MNMajorAtoms:
    llvm_unreachable("MN-major atoms are filled by TMA, not by cp.async producers");
  }
  return ps;
}

/// One 16-byte cp.async per pass; invalid chunks are zero-filled.
static void issueVectorCopies(KernelContext &kc, OperandTile &op, const ProducerState &ps,
                              Value stage, Value k0) {
  Value stageBase = arith::MulIOp::create(kc.b, kc.loc, stage, kc.cst(op.stageBytes()));
  bool perPassK = ps.kLane.size() > 1;
  Value kValid, kOff;
  for (size_t pass = 0; pass < ps.dst.size(); ++pass) {
    if (pass == 0 || perPassK) {
      size_t i = perPassK ? pass : 0;
      kValid = kc.lt(kc.add(k0, ps.kLane[i]), kc.c.k.size());
      kOff = kc.kOffset(op.name, k0, ps.kLaneOffset[i], ps.kLane[i]);
    }
    Value valid = kc.andB(kValid, ps.rowValid[pass]);
    Value src = kc.select(valid, kc.mul(kc.add(ps.rowOffset[pass], kOff), kc.elemBytes), kc.cst(0));
    Value n = arith::SelectOp::create(kc.b, 
        kc.loc, valid, arith::ConstantIndexOp::create(kc.b, kc.loc, 16),
        arith::ConstantIndexOp::create(kc.b, kc.loc, 0));
    Value dst = kc.add(stageBase, ps.dst[pass]);
    nvgpu::DeviceAsyncCopyOp::create(kc.b, kc.loc, op.smemBytes, ValueRange{kc.idx(dst)}, op.global,
                                          ValueRange{kc.idx(src)}, kc.b.getIndexAttr(16), n,
                                          kc.b.getUnitAttr());
  }
}

/// Element-by-element copies into a K-major tile: any strides, any sizes.
static void produceKMajorElementwise(KernelContext &kc, OperandTile &op, Value stage,
                                     Value k0) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Type t = op.elem;
  int64_t eb = kc.elemBytes;
  auto gType = cast<MemRefType>(op.global.getType());
  Value zeroIdx = arith::ConstantIndexOp::create(b, loc, 0);
  Value gTyped = memref::ViewOp::create(b, loc, MemRefType::get({gType.getNumElements() / eb}, t),
                                          op.global, zeroIdx, ValueRange{});
  auto sType = cast<MemRefType>(op.smemBytes.getType());
  Value sTyped = memref::ViewOp::create(b, 
      loc, MemRefType::get({sType.getNumElements() / eb}, t, nullptr, sType.getMemorySpace()),
      op.smemBytes, zeroIdx, ValueRange{});
  int64_t total = op.tileRows * kc.bk;
  // tileRows * 8 is a multiple of the thread count (plan verifier), and
  // bk is a multiple of 8: every pass is whole.
  assert(total % kc.threads == 0 && "partial producer pass");
  Value stageBase = arith::MulIOp::create(b, loc, stage, kc.cst(op.tileRows * kc.bk));
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(t));
  // Up to 8 passes unrolled; beyond (8-bit types on tall tiles take 64 or
  // more), a loop: unrolled, the compiler hoisted every pass's row offset
  // and bounds out of the main loop, and those spilled.
  int64_t passes = total / kc.threads;
  int64_t unrolled = passes <= 8 ? passes : 1;
  scf::ForOp loop;
  if (unrolled < passes) {
    loop = scf::ForOp::create(b, loc, kc.cst(0), kc.cst(passes), kc.cst(1));
    b.setInsertionPointToStart(loop.getBody());
  }
  for (int64_t pass = 0; pass < unrolled; ++pass) {
    Value e = loop ? kc.add(kc.tid, kc.mul(loop.getInductionVar(), kc.threads))
                   : kc.add(kc.tid, pass * kc.threads);
    Value r = kc.div(e, kc.bk), kcol = kc.rem(e, kc.bk);
    Value row = kc.add(op.rowOrigin, r), k = kc.add(k0, kcol);
    Value valid = kc.andB(kc.ltExtent(row, *op.rows), kc.lt(k, kc.c.k.size()));
    Value elem = kc.add(op.batchOffset, kc.add(kc.groupOffset(*op.rows, op.name, row),
                                               kc.groupOffset(kc.c.k, op.name, k)));
    Value v = memref::LoadOp::create(b, loc, gTyped, ValueRange{kc.idx(kc.select(valid, elem, kc.cst(0)))});
    v = kc.select(valid, v, zero);
    Value byte = kc.mul(kcol, eb);
    Value phys = kc.xorI(kc.div(byte, 16), kc.andI(r, 7));
    Value col = kc.div(kc.add(kc.mul(phys, 16), kc.rem(byte, 16)), eb);
    Value at = kc.add(stageBase, kc.add(kc.mul(r, kc.bk), col));
    memref::StoreOp::create(b, loc, v, sTyped, ValueRange{kc.idx(at)});
  }
  if (loop)
    b.setInsertionPointAfter(loop);
}

/// A stage of packed codes: the rows' run at K tile k0 / 64, which starts
/// (k0 / 64) * rows * rowBytes bytes into the weight (rows: the weight's N).
static void issuePackedCopies(KernelContext &kc, OperandTile &op, const ProducerState &ps,
                              Value stage, Value k0) {
  Value stageBase = arith::MulIOp::create(kc.b, kc.loc, stage, kc.cst(op.stageBytes()));
  Value tileBase = kc.mul(kc.div(k0, 64), op.rows->size() * op.rowBytes);
  for (size_t pass = 0; pass < ps.dst.size(); ++pass) {
    Value valid = ps.rowValid[pass];
    Value src = kc.select(valid, kc.add(tileBase, ps.rowOffset[pass]), kc.cst(0));
    Value n = arith::SelectOp::create(kc.b, kc.loc, valid,
                                      arith::ConstantIndexOp::create(kc.b, kc.loc, 16),
                                      arith::ConstantIndexOp::create(kc.b, kc.loc, 0));
    nvgpu::DeviceAsyncCopyOp::create(kc.b, kc.loc, op.smemBytes,
                                     ValueRange{kc.idx(kc.add(stageBase, ps.dst[pass]))},
                                     op.global, ValueRange{kc.idx(src)}, kc.b.getIndexAttr(16),
                                     n, kc.b.getUnitAttr());
  }
}

void einloom::codegen::produceStage(KernelContext &kc, OperandTile &op, const ProducerState &ps,
                                    Value stage, Value k0) {
  if (op.layout == SmemLayout::PackedFragments)
    return issuePackedCopies(kc, op, ps, stage, k0);
  if (op.layout == SmemLayout::KMajorElementwise)
    return produceKMajorElementwise(kc, op, stage, k0);
  issueVectorCopies(kc, op, ps, stage, k0);
}
