//===- LoomOps.h - ops of the loom dialect ----------------------*- C++ -*-===//
#ifndef EINLOOM_LOOM_LOOMOPS_H
#define EINLOOM_LOOM_LOOMOPS_H

#include "Loom/LoomDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "Loom/EinsumSpec.h"

namespace mlir::loom {
/// Fails, with a diagnostic, where a ranked tensor operand or result of
/// `op` has more bytes than 64-bit arithmetic can count (a product that
/// wraps passed for a zero-sized or 0-byte tensor).
LogicalResult verifySizes(Operation *op);

/// The trait every loom op carries (Loom_Op): verifySizes.
template <typename ConcreteType>
class SizesFit : public OpTrait::TraitBase<ConcreteType, SizesFit> {
public:
  static LogicalResult verifyTrait(Operation *op) { return verifySizes(op); }
};
} // namespace mlir::loom

#define GET_OP_CLASSES
#include "Loom/LoomOps.h.inc"

namespace mlir::loom {

/// The types a packed `layout` of the dense tensor `dense` has, in result
/// order. Data-dependent sizes (nonzero counts) are dynamic. Emits through
/// `emitError` and fails when the layout cannot hold `dense`.
FailureOr<SmallVector<RankedTensorType>>
getPackedTypes(PackLayoutAttr layout, RankedTensorType dense,
               function_ref<InFlightDiagnostic()> emitError);

/// Checks that `v` (a bias or residual, named `what` in the diagnostic) is a
/// float tensor with the shape of `of`'s trailing dimensions.
LogicalResult verifyTrailingOperand(Operation *op, StringRef what, Value v,
                                    RankedTensorType of);

/// True for the element types the loom ops compute on.
bool isSupportedElementType(Type type);

/// `op`'s spec with `...` written out against its operands' ranks (see
/// EinsumSpec::parse). Quiet unless `emitError` is given.
FailureOr<EinsumSpec>
parseSpec(EinsumOp op, function_ref<void(size_t, const Twine &)> emitError = nullptr);

/// The device mesh `op` runs on: the `loom.mesh` of it or of the nearest
/// op around it (a function), or null.
MeshAttr enclosingMesh(Operation *op);

} // namespace mlir::loom

#endif
