//===- MemoryBound.h - einsums that move bytes, not FLOPs -------*- C++ -*-===//
//
// Einsums with no contraction worth a tensor core: one operand (transposes,
// reductions, traces), or two where nothing is contracted (elementwise and
// outer products, broadcasts) or nothing is free (batched dot products).
// Their time is the time to move their bytes, so they get a kernel built for
// bandwidth instead of a GEMM plan: see lib/Codegen/MemoryKernel.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_PLAN_MEMORYBOUND_H
#define EINLOOM_PLAN_MEMORYBOUND_H

#include "einloom/Plan/Contraction.h"
#include "einloom/Target.h"

#include "mlir/IR/Types.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::loom {
class EinsumOp;
} // namespace mlir::loom

namespace einloom {

/// One loop dimension: a label (or neighbouring labels merged) with its
/// element stride in each input (0: absent or broadcast) and in the result
/// (0 for a summed dimension).
struct LoopDim {
  char label;
  int64_t extent;
  llvm::SmallVector<int64_t, 2> in;
  int64_t out = 0;
};

enum class MemoryStrategy {
  /// A thread per `vec` consecutive result elements along the result's
  /// innermost dimension; summed dimensions are looped over in the thread.
  Map,
  /// `threadsPerOutput` threads per result element, reading the summed
  /// dimensions along the widest input's contiguous one, combined with warp
  /// shuffles (and shared memory across warps).
  RowReduce,
  /// 64x64 tiles through shared memory: read along the widest input's
  /// contiguous result dimension, written along the result's innermost one.
  Transpose,
};

struct MemoryEinsum {
  /// Result dimensions, outermost first; the last has stride 1.
  llvm::SmallVector<LoopDim, 4> out;
  /// Summed dimensions, outermost first; for RowReduce the last is the one
  /// the widest input reads contiguously.
  llvm::SmallVector<LoopDim, 4> red;
  llvm::SmallVector<mlir::Type, 2> elems;
  mlir::Type elemC, acc;
  std::string spec;
  EpilogueSpec epilogue;
  MemoryStrategy strategy = MemoryStrategy::Map;
  /// Elements one thread moves with one vector access (Map: along out's
  /// last dimension; RowReduce: along red's last).
  int64_t vec = 1;
  /// RowReduce: 32 (a warp per result element) or 256 (a CTA).
  int64_t threadsPerOutput = 32;
  /// Transpose: the index in `out` of the widest input's contiguous dimension.
  int transposeDim = -1;
  /// Map and RowReduce with too few result elements to fill the GPU: the
  /// summed range is cut into `split` slices (grid.y), each writing partial
  /// sums to a workspace that a second kernel adds up. 1: no split.
  int64_t split = 1;
  /// Shape polymorphism: the dynamic label (0 for static shapes). It leads
  /// the result and every input that has it, so no stride depends on it;
  /// `out[0]` holds it (merged with inner dimensions perhaps), at the
  /// bucket's largest size. The kernel takes the size as a last i64
  /// argument. Dynamic einsums use Map or RowReduce, without a split.
  char dynamicLabel = 0;
  /// Result elements per unit of the dynamic size.
  int64_t outPerUnit() const;

  int64_t outSize() const;
  /// The dynamic dimension's size the types were specialised to (1 when static).
  int64_t dynamicMax = 1;
  int64_t redSize() const;
  size_t numInputs() const { return elems.size(); }
  int64_t inputBytes(size_t i) const;
  int64_t outputBytes() const;
  /// Bytes the kernel must move: each input read once, the result written.
  int64_t bytes() const;
  /// Multiplies and adds (0 for a pure copy such as a transpose).
  int64_t flops() const;
  /// "transpose through shared memory, 64x64 tiles", etc.
  std::string describe() const;

private:
  std::string describeStrategy() const;
};

/// True for einsums that run as a memory-bound kernel: one operand, or two
/// with no summed label or no label free in just one operand (when no plan
/// was given in the IR for them).
bool runsAsMemoryKernel(mlir::loom::EinsumOp op);

/// Analyses `op` (see runsAsMemoryKernel). Emits a diagnostic and fails on
/// what the memory-bound kernel does not support.
mlir::FailureOr<MemoryEinsum> analyzeMemoryEinsum(mlir::loom::EinsumOp op);

/// The --explain report for a memory-bound einsum.
void printMemoryExplanation(llvm::raw_ostream &os, const MemoryEinsum &m, const TargetInfo &t);

} // namespace einloom

#endif
