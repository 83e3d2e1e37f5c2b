//===- FuseEpiloguesPass.cpp - loom-fuse-epilogues ------------------------===//
#include "einloom/Passes.h"

#include "Loom/EinsumSpec.h"
#include "Loom/LoomOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/raw_ostream.h"

namespace einloom {
#define GEN_PASS_DEF_LOOMFUSEEPILOGUES
#include "einloom/Passes.h.inc"
} // namespace einloom

using namespace mlir;
using namespace einloom;

namespace {
/// The main (elementwise) input of an epilogue op.
Value mainInput(Operation *op) {
  if (auto a = dyn_cast<loom::AddOp>(op))
    return a.getLhs();
  return op->getOperand(0);
}

/// True when `v` is available where `e` is.
bool availableAt(Value v, Operation *e) {
  if (isa<BlockArgument>(v))
    return cast<BlockArgument>(v).getOwner() == e->getBlock() ||
           cast<BlockArgument>(v).getOwner()->getParentOp()->isProperAncestor(e);
  Operation *d = v.getDefiningOp();
  return d->getBlock() == e->getBlock() && d->isBeforeInBlock(e);
}

/// Folds `op` into the epilogue of `e` when the epilogue can express it
/// after what `e` already has; returns false (changing nothing) otherwise,
/// with the reason in `why`.
bool fuseInto(loom::EinsumOp e, Operation *op, std::string &why) {
  bool hasBias = e.getBias() != nullptr, hasRes = e.getResidual() != nullptr;
  bool hasAct = e.getActivation().has_value();
  OpBuilder b(e);
  // An integer sum whose result is a float (an int8 product scaled per row
  // and column) goes through the epilogue in f32, so a bias, activation or
  // cast after it fuses; an integer result stays integer arithmetic.
  auto resultType = cast<RankedTensorType>(e.getResult().getType()).getElementType();
  if (!isa<FloatType>(e.getAccumulatorType()) && !isa<FloatType>(resultType)) {
    why = "the einsum accumulates in an integer type and gives an integer result";
    return false;
  }
  if (auto plan = e.getPlanAttr(); plan && plan.getSplitK() > 1) {
    why = "the einsum's plan splits K";
    return false;
  }
  // (Masked-out blocks hold mask_fill, which an op after the einsum would
  // change, and a fused epilogue would not.)
  if (e.hasBlockMask()) {
    why = "the einsum has a block mask";
    return false;
  }
  if (auto s = dyn_cast<loom::ScaleOp>(op)) {
    if (hasBias || hasAct || hasRes) {
      why = "a scale after a bias, an activation or a residual";
      return false;
    }
    double a = e.getAlpha() ? e.getAlpha()->convertToDouble() : 1.0;
    e.setAlphaAttr(b.getF64FloatAttr(a * s.getAlpha().convertToDouble()));
  } else if (auto add = dyn_cast<loom::AddOp>(op)) {
    Value y = add.getRhs();
    if (!availableAt(y, e)) {
      why = "its second operand is computed after the einsum";
      return false;
    }
    double beta = add.getBeta().convertToDouble();
    if (!hasBias && !hasAct && !hasRes && beta == 1) {
      e.getBiasMutable().assign(y);
    } else if (!hasRes) {
      e.getResidualMutable().assign(y);
      if (beta != 1)
        e.setBetaAttr(b.getF64FloatAttr(beta));
    } else {
      why = "the epilogue already adds a bias and a residual";
      return false;
    }
  } else if (auto act = dyn_cast<loom::ActivationOp>(op)) {
    if (hasAct || hasRes) {
      why = hasAct ? "a second activation" : "an activation after the residual";
      return false;
    }
    e.setActivationAttr(loom::ActivationAttr::get(e.getContext(), act.getKind()));
  } else if (!isa<loom::CastOp>(op)) {
    return false;
  }
  e.getResult().setType(cast<RankedTensorType>(op->getResult(0).getType()));
  op->getResult(0).replaceAllUsesWith(e.getResult());
  op->erase();
  return true;
}

struct LoomFuseEpilogues : einloom::impl::LoomFuseEpiloguesBase<LoomFuseEpilogues> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<loom::ScaleOp, loom::AddOp, loom::ActivationOp, loom::CastOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      Value x = mainInput(op);
      std::string name = op->getName().getStringRef().str(), why;
      auto e = x.getDefiningOp<loom::EinsumOp>();
      if (e && !x.hasOneUse())
        why = "the einsum's result has other uses";
      if (e && x.hasOneUse()) {
        std::string spec = e.getSpec().str();
        if (fuseInto(e, op, why)) {
          if (explain)
            llvm::errs() << "fused " << name << " into einsum \"" << spec << "\"\n";
          continue;
        }
      } else if (!e && why.empty()) {
        why = "its input is not an einsum result";
      }
      // Alone: an einsum of its input (the identity), with the op as epilogue.
      auto t = cast<RankedTensorType>(x.getType());
      if (t.getRank() > 26) {
        op->emitOpError("has rank ") << t.getRank() << "; an einsum names at most 26 dimensions";
        return signalPassFailure();
      }
      std::string labels = loom::positionalLabels(t.getRank());
      OpBuilder b(op);
      auto id = loom::EinsumOp::create(b, op->getLoc(), t, ValueRange{x},
                                       StringRef(labels + "->" + labels));
      if (t.getElementType().isF64())
        id.setAccAttr(TypeAttr::get(b.getF64Type()));
      std::string idWhy;
      if (!fuseInto(id, op, idWhy)) {
        id.erase();
        op->emitOpError("cannot become an epilogue: ") << idWhy;
        return signalPassFailure();
      }
      if (explain)
        llvm::errs() << name << " runs alone, as einsum \"" << labels << "->" << labels
                     << "\" with it as the epilogue: " << why << "\n";
    }
  }
};
} // namespace
