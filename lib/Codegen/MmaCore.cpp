//===- MmaCore.cpp - shared memory to accumulators with mma.sync ----------===//
//
// Every mma.sync variant we use consumes 32 bytes of K per instruction (f16
// and bf16 k16, tf32 k8, s8 and fp8 k32), and its A and B fragments have
// the same byte layout. So the core works on bytes: ldmatrix loads 16-bit
// units from a K-major tile (or, transposed, from an M/N-major tile of a
// 16-bit type), and only the PTX instruction depends on the element type.
//
//===----------------------------------------------------------------------===//
#include "KernelContext.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

std::string einloom::codegen::mmaInstruction(const Contraction &c) {
  Type e = c.elemA;
  // nvgpu.mma.sync cannot type bf16 or fp8 operands and nvvm.mma.sync has no
  // fp8 form in MLIR 22, so every variant is issued through nvvm.inline_ptx.
  if (e.isF16())
    return "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32";
  if (e.isBF16())
    return "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32";
  if (e.isF32())
    return "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32";
  if (e.isSignlessInteger(8))
    return "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32";
  if (isa<Float8E4M3FNType>(e))
    return "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32";
  return "mma.sync.aligned.m16n8k32.row.col.f32.e5m2.e5m2.f32";
}

/// ldmatrix.x4 at i16 index `idx` of `tile`; returns the four 32-bit registers.
static SmallVector<Value, 4> ldmatrix4(KernelContext &kc, Value tile16, Value idx,
                                       bool transpose) {
  OpBuilder &b = kc.b;
  Type i16 = b.getI16Type();
  auto vt = VectorType::get({4, 2}, i16);
  Value frag = b.create<nvgpu::LdMatrixOp>(kc.loc, vt, tile16, ValueRange{idx}, transpose, 4);
  SmallVector<Value, 4> regs;
  for (int64_t i = 0; i < 4; ++i) {
    Value row = b.create<vector::ExtractOp>(kc.loc, frag, ArrayRef<int64_t>{i});
    Value asI32 = b.create<vector::BitCastOp>(kc.loc, VectorType::get({1}, b.getI32Type()), row);
    regs.push_back(b.create<vector::ExtractOp>(kc.loc, asI32, ArrayRef<int64_t>{0}));
  }
  return regs;
}

/// The i16 index where this lane's ldmatrix row address points.
static Value fragmentAddress(KernelContext &kc, OperandTile &op, Value stageBase,
                             Value rowInTile, Value kByte) {
  if (op.layout == SmemLayout::MNMajorVector) {
    // rowInTile is an M (or N) index, kByte / 2 is the K row.
    int64_t chunksPerRow = op.tileRows / 8;
    int64_t mask = std::min<int64_t>(8, chunksPerRow) - 1;
    Value k = kc.div(kByte, 2);
    Value phys = kc.xorI(kc.div(rowInTile, 8), kc.andI(k, mask));
    Value byte = kc.add(kc.mul(k, op.tileRows * 2), kc.mul(phys, 16));
    return kc.div(kc.add(stageBase, byte), 2);
  }
  Value phys = kc.xorI(kc.div(kByte, 16), kc.andI(rowInTile, 7));
  Value byte = kc.add(kc.mul(rowInTile, 128), kc.mul(phys, 16));
  return kc.div(kc.add(stageBase, byte), 2);
}

void einloom::codegen::mmaStage(KernelContext &kc, OperandTile &a, OperandTile &bop,
                                Value stage, SmallVectorImpl<Value> &acc) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  int64_t wm = kc.bm / kc.warpsM, wn = kc.bn / kc.warpsN;
  int64_t fragsM = wm / 16, tilesN = wn / 8;
  auto view16 = [&](OperandTile &op) {
    auto t = cast<MemRefType>(op.smemBytes.getType());
    return b.create<memref::ViewOp>(
        loc, MemRefType::get({t.getNumElements() / 2}, b.getI16Type(), nullptr, t.getMemorySpace()),
        op.smemBytes, kc.cst(0), ValueRange{});
  };
  Value a16 = view16(a), b16 = view16(bop);
  Value aBase = b.create<arith::MulIOp>(loc, stage, kc.cst(a.stageBytes()));
  Value bBase = b.create<arith::MulIOp>(loc, stage, kc.cst(bop.stageBytes()));
  Value q = kc.div(kc.lane, 8), r8 = kc.rem(kc.lane, 8);
  std::string ptx = mmaInstruction(kc.c) +
                    " {$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9}, {$10, $11, $12, $13};";
  Type accT = acc.front().getType();

  for (int64_t kstep = 0; kstep < 4; ++kstep) { // 128 bytes of K, 32 per mma
    SmallVector<SmallVector<Value, 4>> fa, fb;
    for (int64_t i = 0; i < fragsM; ++i) {
      Value row, kb;
      if (a.layout == SmemLayout::MNMajorVector) {
        // matrices: (m0-7,k0-7) (m8-15,k0-7) (m0-7,k8-15) (m8-15,k8-15)
        row = kc.add(kc.warpRow, kc.add(kc.cst(16 * i), kc.mul(kc.rem(q, 2), 8)));
        kb = kc.mul(kc.add(kc.cst(16 * kstep), kc.add(r8, kc.mul(kc.div(q, 2), 8))), 2);
      } else {
        row = kc.add(kc.warpRow, kc.add(kc.cst(16 * i), kc.rem(kc.lane, 16)));
        kb = kc.add(kc.cst(32 * kstep), kc.mul(kc.div(kc.lane, 16), 16));
      }
      fa.push_back(ldmatrix4(kc, a16, fragmentAddress(kc, a, aBase, row, kb),
                             a.layout == SmemLayout::MNMajorVector));
    }
    for (int64_t j = 0; j < wn / 16; ++j) {
      Value row, kb;
      if (bop.layout == SmemLayout::MNMajorVector) {
        // matrices: (n0-7,k0-7) (n0-7,k8-15) (n8-15,k0-7) (n8-15,k8-15)
        row = kc.add(kc.warpCol, kc.add(kc.cst(16 * j), kc.mul(kc.div(q, 2), 8)));
        kb = kc.mul(kc.add(kc.cst(16 * kstep), kc.add(r8, kc.mul(kc.rem(q, 2), 8))), 2);
      } else {
        row = kc.add(kc.warpCol, kc.add(kc.cst(16 * j), kc.add(r8, kc.mul(kc.div(kc.lane, 16), 8))));
        kb = kc.add(kc.cst(32 * kstep), kc.mul(kc.rem(q, 2), 16));
      }
      fb.push_back(ldmatrix4(kc, b16, fragmentAddress(kc, bop, bBase, row, kb),
                             bop.layout == SmemLayout::MNMajorVector));
    }
    for (int64_t i = 0; i < fragsM; ++i)
      for (int64_t n = 0; n < tilesN; ++n) {
        const SmallVector<Value, 4> &bf = fb[n / 2];
        size_t at = (i * tilesN + n) * 4;
        SmallVector<Value> ins{fa[i][0], fa[i][1], fa[i][2], fa[i][3],
                               bf[(n % 2) * 2], bf[(n % 2) * 2 + 1],
                               acc[at], acc[at + 1], acc[at + 2], acc[at + 3]};
        auto mma = b.create<NVVM::InlinePtxOp>(
            loc, TypeRange{accT, accT, accT, accT}, ValueRange(ins), ValueRange{},
            b.getStringAttr(ptx), Value());
        for (int64_t e = 0; e < 4; ++e)
          acc[at + e] = mma.getResult(e);
      }
  }
}
