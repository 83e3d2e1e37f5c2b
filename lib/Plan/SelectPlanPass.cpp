//===- SelectPlanPass.cpp - loom-select-plan ------------------------------===//
#include "einloom/Passes.h"
#include "einloom/Plan/MemoryBound.h"
#include "einloom/Plan/SelectPlan.h"
#include "einloom/Plan/TuningDatabase.h"

#include "Loom/LoomOps.h"

#include "llvm/Support/raw_ostream.h"

namespace einloom {
#define GEN_PASS_DEF_LOOMSELECTPLAN
#include "einloom/Passes.h.inc"
} // namespace einloom

using namespace mlir;
using namespace einloom;

namespace {
struct LoomSelectPlan : einloom::impl::LoomSelectPlanBase<LoomSelectPlan> {
  using Base::Base;

  void runOnOperation() override {
    FailureOr<TargetInfo> t = lookupTarget(target);
    if (failed(t)) {
      getOperation().emitError("unknown target '")
          << target << "'; expected sm_80, sm_86, sm_89, sm_90 or sm_90a";
      return signalPassFailure();
    }
    std::optional<TuningDatabase> db;
    if (!tuningDb.empty()) {
      llvm::Expected<TuningDatabase> loaded = TuningDatabase::load(tuningDb);
      if (loaded)
        db = std::move(*loaded);
      else
        getOperation().emitWarning("tuning database ignored: ")
            << llvm::toString(loaded.takeError());
    }
    WalkResult r = getOperation().walk([&](loom::EinsumOp op) {
      if (runsAsMemoryKernel(op)) {
        // Nothing for a tensor core: a memory-bound kernel, no plan.
        if (op.getPlanAttr()) {
          op.emitOpError("has a plan, but an einsum of one operand runs as a memory-bound "
                         "kernel, which takes none");
          return WalkResult::interrupt();
        }
        FailureOr<MemoryEinsum> m = analyzeMemoryEinsum(op);
        if (failed(m))
          return WalkResult::interrupt();
        if (explain)
          printMemoryExplanation(llvm::outs(), *m, *t);
        return WalkResult::advance();
      }
      if (failed(chooseSparseFormat(op, *t, explain ? &llvm::outs() : nullptr)))
        return WalkResult::interrupt();
      FailureOr<Contraction> c = analyzeContraction(op);
      if (failed(c))
        return WalkResult::interrupt();
      auto emit = [&] { return op.emitOpError(); };
      if (loom::PlanAttr given = op.getPlanAttr()) {
        if (failed(verifyPlanForTarget(given, *c, *t, emit)))
          return WalkResult::interrupt();
        if (explain)
          llvm::outs() << "einsum \"" << c->spec << "\": plan given in the IR, kept\n";
        return WalkResult::advance();
      }
      Contraction planned = c->forPlanning();
      FailureOr<PlanChoice> choice = choosePlan(planned, *t, op.getContext(), db ? &*db : nullptr,
                                                emit, [&] { return op.emitWarning(); });
      if (failed(choice))
        return WalkResult::interrupt();
      op.setPlanAttr(choice->chosen.plan);
      if (explain)
        printExplanation(llvm::outs(), planned, *t, *choice);
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
