//===- Producers.cpp - operand tiles from global to shared memory ---------===//
//
// Dense producers. Shared-memory rows are 128 bytes split into eight 16-byte
// chunks; chunk c of row r is stored at chunk c ^ (r & 7), so that both the
// cp.async writes and the ldmatrix reads of eight consecutive rows touch
// eight different bank groups.
//
//===----------------------------------------------------------------------===//
#include "KernelContext.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

Value KernelContext::groupOffset(const ModeGroup &group, char operand, Value idx) {
  Value off = cst(0);
  int64_t inner = 1;
  for (int64_t i = static_cast<int64_t>(group.modes.size()) - 1; i >= 0; --i) {
    const Mode &m = group.modes[i];
    int64_t stride = operand == 'A' ? m.strideA : operand == 'B' ? m.strideB : m.strideC;
    if (stride != 0 && m.extent > 1) {
      Value v = div(idx, inner);
      if (i != 0)
        v = rem(v, m.extent);
      off = add(off, mul(v, stride));
    }
    inner *= m.extent;
  }
  return off;
}

/// 16-byte cp.async copies into a K-major tile: chunk (r, ch) holds
/// K elements [k0 + ch * vec, +vec) of row r.
static void produceKMajorVector(KernelContext &kc, OperandTile &op, Value stage,
                                Value k0) {
  int64_t vec = 16 / kc.elemBytes;
  int64_t chunks = op.tileRows * 8;
  int64_t rowsPerPass = kc.threads / 8;
  Value ch = kc.rem(kc.tid, 8);
  Value rBase = kc.div(kc.tid, 8);
  Value k = kc.add(k0, kc.mul(ch, vec));
  Value kValid = kc.lt(k, kc.c.k.size());
  Value kOff = kc.groupOffset(kc.c.k, op.name, k);
  Value stageBase = kc.b.create<arith::MulIOp>(kc.loc, stage, kc.cst(op.stageBytes()));
  Value swz = kc.mul(kc.xorI(ch, kc.andI(rBase, 7)), 16);
  for (int64_t pass = 0; pass * rowsPerPass * 8 < chunks; ++pass) {
    Value r = kc.add(rBase, kc.cst(pass * rowsPerPass));
    Value row = kc.add(op.rowOrigin, r);
    Value valid = kc.andB(kValid, kc.lt(row, op.rows->size()));
    Value elem = kc.add(op.batchOffset, kc.add(kc.groupOffset(*op.rows, op.name, row), kOff));
    Value src = kc.select(valid, kc.mul(elem, kc.elemBytes), kc.cst(0));
    Value n = kc.select(valid, kc.cst(16), kc.cst(0));
    // rowsPerPass is a multiple of 8, so (r & 7) == (rBase & 7).
    Value dst = kc.add(stageBase, kc.add(kc.mul(r, 128), swz));
    kc.b.create<nvgpu::DeviceAsyncCopyOp>(kc.loc, op.smemBytes, ValueRange{dst}, op.global,
                                          ValueRange{src}, kc.b.getIndexAttr(16), n,
                                          kc.b.getUnitAttr());
  }
}

/// 16-byte cp.async copies into a K-row tile of a 16-bit operand whose
/// contiguous mode is its row mode (M or N).
static void produceMNMajorVector(KernelContext &kc, OperandTile &op, Value stage,
                                 Value k0) {
  int64_t chunksPerRow = op.tileRows / 8;
  int64_t mask = std::min<int64_t>(8, chunksPerRow) - 1;
  int64_t total = kc.bk * chunksPerRow;
  int64_t rowBytes = op.tileRows * 2;
  // The plan verifier guarantees whole passes: every thread copies a chunk.
  assert(total % kc.threads == 0 && "partial producer pass");
  Value stageBase = kc.b.create<arith::MulIOp>(kc.loc, stage, kc.cst(op.stageBytes()));
  for (int64_t pass = 0; pass * kc.threads < total; ++pass) {
    Value cidx = kc.add(kc.tid, kc.cst(pass * kc.threads));
    Value kk = kc.div(cidx, chunksPerRow);
    Value ch = kc.rem(cidx, chunksPerRow);
    Value row = kc.add(op.rowOrigin, kc.mul(ch, 8));
    Value k = kc.add(k0, kk);
    Value valid = kc.andB(kc.lt(k, kc.c.k.size()), kc.lt(row, op.rows->size()));
    Value elem = kc.add(op.batchOffset, kc.add(kc.groupOffset(*op.rows, op.name, row),
                                               kc.groupOffset(kc.c.k, op.name, k)));
    Value src = kc.select(valid, kc.mul(elem, 2), kc.cst(0));
    Value n = kc.select(valid, kc.cst(16), kc.cst(0));
    Value phys = kc.xorI(ch, kc.andI(kk, mask));
    Value dst = kc.add(stageBase, kc.add(kc.mul(kk, rowBytes), kc.mul(phys, 16)));
    kc.b.create<nvgpu::DeviceAsyncCopyOp>(kc.loc, op.smemBytes, ValueRange{dst}, op.global,
                                          ValueRange{src}, kc.b.getIndexAttr(16), n,
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
  int64_t gElems = gType.getNumElements() / eb;
  Value gTyped = b.create<memref::ViewOp>(loc, MemRefType::get({gElems}, t), op.global,
                                          kc.cst(0), ValueRange{});
  auto sType = cast<MemRefType>(op.smemBytes.getType());
  Value sTyped = b.create<memref::ViewOp>(
      loc, MemRefType::get({sType.getNumElements() / eb}, t, nullptr, sType.getMemorySpace()),
      op.smemBytes, kc.cst(0), ValueRange{});
  int64_t total = op.tileRows * kc.bk;
  Value stageBase = b.create<arith::MulIOp>(loc, stage, kc.cst(op.tileRows * kc.bk));
  Value zero = b.create<arith::ConstantOp>(loc, b.getZeroAttr(t));
  for (int64_t pass = 0; pass * kc.threads < total; ++pass) {
    Value e = kc.add(kc.tid, kc.cst(pass * kc.threads));
    Value r = kc.div(e, kc.bk), kcol = kc.rem(e, kc.bk);
    Value row = kc.add(op.rowOrigin, r), k = kc.add(k0, kcol);
    Value valid = kc.andB(kc.lt(row, op.rows->size()), kc.lt(k, kc.c.k.size()));
    Value elem = kc.add(op.batchOffset, kc.add(kc.groupOffset(*op.rows, op.name, row),
                                               kc.groupOffset(kc.c.k, op.name, k)));
    Value v = b.create<memref::LoadOp>(loc, gTyped, ValueRange{kc.select(valid, elem, kc.cst(0))});
    v = kc.select(valid, v, zero);
    Value byte = kc.mul(kcol, eb);
    Value phys = kc.xorI(kc.div(byte, 16), kc.andI(r, 7));
    Value col = kc.div(kc.add(kc.mul(phys, 16), kc.rem(byte, 16)), eb);
    b.create<memref::StoreOp>(loc, v, sTyped,
                              ValueRange{kc.add(stageBase, kc.add(kc.mul(r, kc.bk), col))});
  }
}

void einloom::codegen::produceStage(KernelContext &kc, OperandTile &op, Value stage,
                                    Value k0) {
  switch (op.layout) {
  case SmemLayout::KMajorVector:
    return produceKMajorVector(kc, op, stage, k0);
  case SmemLayout::MNMajorVector:
    return produceMNMajorVector(kc, op, stage, k0);
  case SmemLayout::KMajorElementwise:
    return produceKMajorElementwise(kc, op, stage, k0);
  }
}
