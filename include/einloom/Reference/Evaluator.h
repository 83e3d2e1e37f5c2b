//===- Evaluator.h - run a loom function on the CPU -------------*- C++ -*-===//
#ifndef EINLOOM_REFERENCE_EVALUATOR_H
#define EINLOOM_REFERENCE_EVALUATOR_H

#include "einloom/Reference/Tensor.h"

#include "mlir/IR/Types.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"

#include <optional>
#include <vector>

namespace mlir::func {
class FuncOp;
} // namespace mlir::func

namespace einloom::ref {

/// The reference dtype of an MLIR element type; fails for types the
/// reference does not model.
mlir::FailureOr<DType> toDType(mlir::Type type);

/// Evaluates `func` (loom ops, arith.constant and func.return) on `args`.
/// Errors are emitted as diagnostics at the offending op or argument.
mlir::FailureOr<std::vector<Tensor>> evaluate(mlir::func::FuncOp func,
                                              const std::vector<Tensor> &args);

/// Evaluates `func`, a program over its `loom.mesh` (as loom-partition-mesh
/// writes it), on every rank at once: `args[r]` are rank r's inputs, the
/// collectives are applied by their definitions (sums in f64 in rank
/// order, rounded once). Returns each rank's results.
mlir::FailureOr<std::vector<std::vector<Tensor>>>
evaluateMesh(mlir::func::FuncOp func, const std::vector<std::vector<Tensor>> &args);

/// Part `index` of `t` split along `dim` into `parts` equal ones, and the
/// inverse: `parts` concatenated along `dim`.
Tensor sliceAlong(const Tensor &t, int64_t dim, int64_t parts, int64_t index);
Tensor concatAlong(const std::vector<Tensor> &parts, int64_t dim);

/// Seeded random arguments for `func`. An argument's uses decide its values:
/// scales are small positive numbers, zero points and code tensors hold
/// valid codes, inputs of a two_four pack are made 2:4 sparse.
mlir::FailureOr<std::vector<Tensor>> randomArguments(mlir::func::FuncOp func,
                                                     uint64_t seed);

/// The codes (or zero points) an argument holds, [lo, hi], where a quantize,
/// dequantize, fused dequantized weight or pack reads it as such (unsigned
/// 4-bit codes: [0, 15], whatever their signless container); none for data.
std::optional<std::pair<int64_t, int64_t>> codeRangeOf(mlir::BlockArgument arg);

} // namespace einloom::ref

#endif
