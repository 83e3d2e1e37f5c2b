//===- KernelContext.h - shared state of one contraction kernel -*- C++ -*-===//
//
// Internal to lib/Codegen. The kernel generator is split like CUTLASS's
// collective mainloop / epilogue: operand producers fill shared memory
// (Producers.cpp), the MMA core turns shared memory into accumulators
// (MmaCore.cpp), and the epilogue writes the result (Epilogue.cpp). A new
// operand format is a new producer; the other two do not change.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_LIB_CODEGEN_KERNELCONTEXT_H
#define EINLOOM_LIB_CODEGEN_KERNELCONTEXT_H

#include "einloom/Plan/Contraction.h"

#include "Loom/LoomDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

namespace einloom::codegen {

/// How one operand's tile sits in shared memory.
enum class SmemLayout {
  /// rows = M (or N), 128 bytes of K per row; filled by 16-byte cp.async.
  KMajorVector,
  /// rows = K, the tile's M (or N) extent per row; 16-bit types only, read
  /// with ldmatrix.trans. For operands whose contiguous mode is M (or N).
  MNMajorVector,
  /// rows = M (or N) as KMajorVector, filled element by element: any strides.
  KMajorElementwise,
};

/// One operand of the MMA (A: rows are M; B: rows are N).
struct OperandTile {
  char name;              ///< 'A' or 'B'
  const ModeGroup *rows;  ///< M or N
  int64_t tileRows;       ///< BM or BN
  SmemLayout layout;
  mlir::Type elem;
  mlir::Value global;     ///< memref<bytes x i8>
  mlir::Value batchOffset;///< elements
  mlir::Value rowOrigin;  ///< first row of this CTA's tile
  mlir::Value smemBytes;  ///< this operand's region, memref<? x i8, 3>
  int64_t stageBytes() const { return tileRows * 128; }
};

struct KernelContext {
  mlir::OpBuilder &b;
  mlir::Location loc;
  const Contraction &c;
  mlir::loom::PlanAttr plan;
  int64_t bm, bn, bk, stages, warpsM, warpsN, threads;
  int64_t elemBytes;
  mlir::Value tid, lane, warpRow, warpCol; // warpRow/Col: first row/col in the tile

  mlir::Value cst(int64_t v) {
    return b.create<mlir::arith::ConstantIndexOp>(loc, v);
  }
  mlir::Value add(mlir::Value x, mlir::Value y) { return b.create<mlir::arith::AddIOp>(loc, x, y); }
  mlir::Value mul(mlir::Value x, int64_t y) {
    return y == 1 ? x : b.create<mlir::arith::MulIOp>(loc, x, cst(y)).getResult();
  }
  mlir::Value div(mlir::Value x, int64_t y) {
    return y == 1 ? x : b.create<mlir::arith::DivUIOp>(loc, x, cst(y)).getResult();
  }
  mlir::Value rem(mlir::Value x, int64_t y) { return b.create<mlir::arith::RemUIOp>(loc, x, cst(y)); }
  mlir::Value xorI(mlir::Value x, mlir::Value y) { return b.create<mlir::arith::XOrIOp>(loc, x, y); }
  mlir::Value andI(mlir::Value x, int64_t m) { return b.create<mlir::arith::AndIOp>(loc, x, cst(m)); }
  mlir::Value lt(mlir::Value x, int64_t y) {
    return b.create<mlir::arith::CmpIOp>(loc, mlir::arith::CmpIPredicate::ult, x, cst(y));
  }
  mlir::Value andB(mlir::Value x, mlir::Value y) { return b.create<mlir::arith::AndIOp>(loc, x, y); }
  mlir::Value select(mlir::Value c, mlir::Value x, mlir::Value y) {
    return b.create<mlir::arith::SelectOp>(loc, c, x, y);
  }

  /// The element offset of flattened index `idx` of `group` in `operand`.
  mlir::Value groupOffset(const ModeGroup &group, char operand, mlir::Value idx);
};

/// Fills one pipeline stage of an operand's shared-memory tile with the
/// K tile starting at element `k0`.
void produceStage(KernelContext &kc, OperandTile &op, mlir::Value stage,
                  mlir::Value k0);

/// Runs the MMAs of one stage, updating `acc` (WM/16 x WN/8 fragments of
/// four scalars each, row-major over (i, n)).
void mmaStage(KernelContext &kc, OperandTile &a, OperandTile &bop,
              mlir::Value stage, llvm::SmallVectorImpl<mlir::Value> &acc);

/// Converts and stores the accumulators to C.
void storeEpilogue(KernelContext &kc, mlir::Value gC, mlir::Value batchOffC,
                   mlir::Value m0, mlir::Value n0,
                   llvm::ArrayRef<mlir::Value> acc);

/// The PTX mma.sync instruction for the contraction's element types.
std::string mmaInstruction(const Contraction &c);

} // namespace einloom::codegen

#endif
