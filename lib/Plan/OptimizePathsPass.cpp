//===- OptimizePathsPass.cpp - loom-optimize-paths ------------------------===//
#include "einloom/Passes.h"
#include "einloom/Plan/ContractionPath.h"

#include "Loom/EinsumSpec.h"
#include "Loom/LoomOps.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace einloom {
#define GEN_PASS_DEF_LOOMOPTIMIZEPATHS
#include "einloom/Passes.h.inc"
} // namespace einloom

using namespace mlir;
using namespace einloom;

namespace {
struct LoomOptimizePaths : einloom::impl::LoomOptimizePathsBase<LoomOptimizePaths> {
  using Base::Base;

  /// Rewrites `op` into binary einsums; fails (with a diagnostic) only when
  /// no order fits the memory limit.
  LogicalResult rewrite(loom::EinsumOp op) {
    FailureOr<loom::EinsumSpec> spec =
        loom::parseSpec(op);
    if (failed(spec) || spec->inputs.size() < 3)
      return success();
    auto dynAttr = op->getAttrOfType<StringAttr>("loom.dynamic");
    char dyn = dynAttr && dynAttr.getValue().size() == 1 ? dynAttr.getValue()[0] : 0;
    if ((spec->hasRepeatedInputLabel() && dyn) ||
        llvm::any_of(op.getInputs(), [](Value v) {
          return !cast<RankedTensorType>(v.getType()).hasStaticShape();
        }))
      return success(); // code generation reports what it cannot do
    OpBuilder b(op);
    SmallVector<Value> values(op.getInputs());
    std::vector<std::string> labels(spec->inputs.begin(), spec->inputs.end());
    // A diagonal (a label repeated inside an operand) is taken first, by an
    // einsum of that operand alone ("iij->ij", a memory-bound kernel), so
    // that the path below sees each label once per operand.
    for (size_t i = 0; i < labels.size(); ++i) {
      std::string once;
      for (char c : labels[i])
        if (once.find(c) == std::string::npos)
          once.push_back(c);
      if (once.size() == labels[i].size())
        continue;
      auto t = cast<RankedTensorType>(values[i].getType());
      SmallVector<int64_t> shape;
      for (char c : once)
        shape.push_back(t.getDimSize(labels[i].find(c)));
      auto diag = loom::EinsumOp::create(b, op.getLoc(),
                                         RankedTensorType::get(shape, t.getElementType()),
                                         ValueRange{values[i]}, StringRef(labels[i] + "->" + once));
      diag.setAccAttr(op.getAccAttr());
      diag.setAllowTf32(op.getAllowTf32());
      if (explain)
        llvm::errs() << "einsum \"" << spec->str() << "\": operand " << i << " diagonal first: "
                     << labels[i] << "->" << once << "\n";
      values[i] = diag.getResult();
      labels[i] = once;
    }
    std::map<char, int64_t> sizes;
    for (auto [ls, v] : llvm::zip(labels, values)) {
      auto t = cast<RankedTensorType>(v.getType());
      // (A size-1 dimension broadcasts: the label's size is the others'.)
      for (size_t d = 0; d < ls.size(); ++d) {
        auto it = sizes.find(ls[d]);
        if (it == sizes.end() || it->second == 1)
          sizes[ls[d]] = t.getDimSize(d);
      }
    }
    ContractionPath path;
    std::string why;
    if (!optimizePath(labels, spec->output, sizes, double(memoryLimit), path, why))
      return op.emitOpError("cannot be split into binary contractions: ") << why;
    if (explain) {
      llvm::errs() << "einsum \"" << spec->str() << "\": " << spec->inputs.size()
                   << " operands, path by " << (path.exact ? "exact dynamic programming"
                                                           : "greedy search (more than 10 "
                                                             "operands: not exact)")
                   << "\n";
      for (const PathStep &st : path.steps)
        llvm::errs() << "  (" << st.lhs << ", " << st.rhs << ") " << st.lhsLabels << ","
                     << st.rhsLabels << "->" << st.resultLabels << ": "
                     << llvm::format("%.4g", st.flops) << " FLOPs, "
                     << llvm::format("%.4g", st.resultElements) << " elements\n";
      llvm::errs() << "  total " << llvm::format("%.4g", path.flops)
                   << " FLOPs; left to right " << llvm::format("%.4g", path.naiveFlops)
                   << " FLOPs" << (path.naiveFits ? "" : " (over the memory limit)") << " ("
                   << llvm::format("%.3g", path.naiveFlops / path.flops)
                   << "x); peak intermediate " << llvm::format("%.4g", path.peakElements)
                   << " elements\n";
    }
    // Intermediates take the operands' element type when they share one (a
    // binary einsum needs both operands of one type; the accumulator keeps
    // the sums wide), else the result's.
    Type elem = cast<RankedTensorType>(op.getResult().getType()).getElementType();
    Type first = cast<RankedTensorType>(op.getInputs()[0].getType()).getElementType();
    if (llvm::all_of(op.getInputs(), [&](Value v) {
          return cast<RankedTensorType>(v.getType()).getElementType() == first;
        }))
      elem = first;
    // A dynamic dimension (a size-bucket variant, see compileModule) must
    // lead the first operand and the result of each binary einsum that has
    // it: intermediates put it first, and operands swap to bring it to A.
    for (size_t k = 0; k < path.steps.size(); ++k) {
      const PathStep &st = path.steps[k];
      bool last = k + 1 == path.steps.size();
      std::string out = last ? spec->output : st.resultLabels;
      if (dyn && !last && out.find(dyn) != std::string::npos) {
        out.erase(out.find(dyn), 1);
        out.insert(out.begin(), dyn);
      }
      // An intermediate's label has the size its two operands give it: 1
      // where both broadcast it (the result broadcasts it later).
      auto sizeIn = [&](char c) {
        int64_t s = 1;
        for (size_t i : {st.lhs, st.rhs})
          if (size_t p = labels[i].find(c); p != std::string::npos) {
            int64_t d = cast<RankedTensorType>(values[i].getType()).getDimSize(p);
            if (s == 1)
              s = d;
          }
        return s;
      };
      SmallVector<int64_t> shape;
      for (char c : out)
        shape.push_back(sizeIn(c));
      Type resultType = last ? op.getResult().getType() : RankedTensorType::get(shape, elem);
      Value lhs = values[st.lhs], rhs = values[st.rhs];
      std::string lhsLabels = labels[st.lhs], rhsLabels = labels[st.rhs];
      if (dyn && lhsLabels.find(dyn) == std::string::npos &&
          rhsLabels.find(dyn) != std::string::npos) {
        std::swap(lhs, rhs);
        std::swap(lhsLabels, rhsLabels);
      }
      auto e = loom::EinsumOp::create(b, op.getLoc(), resultType, ValueRange{lhs, rhs},
                                      StringRef(lhsLabels + "," + rhsLabels + "->" + out));
      e.setAccAttr(op.getAccAttr());
      e.setAllowTf32(op.getAllowTf32());
      if (last) { // a fused epilogue stays on the einsum that makes the result
        if (op.getBias())
          e.getBiasMutable().assign(op.getBias());
        if (op.getResidual())
          e.getResidualMutable().assign(op.getResidual());
        if (op.getRowScale())
          e.getRowScaleMutable().assign(op.getRowScale());
        if (op.getColScale())
          e.getColScaleMutable().assign(op.getColScale());
        if (op.getRowZero()) {
          e.getRowZeroMutable().assign(op.getRowZero());
          e.getColSumMutable().assign(op.getColSum());
        }
        e.setAlphaAttr(op.getAlphaAttr());
        e.setBetaAttr(op.getBetaAttr());
        e.setActivationAttr(op.getActivationAttr());
      }
      if (dyn && (lhsLabels + rhsLabels + out).find(dyn) != std::string::npos)
        e->setAttr("loom.dynamic", dynAttr);
      size_t hi = std::max(st.lhs, st.rhs), lo = std::min(st.lhs, st.rhs);
      values.erase(values.begin() + hi);
      values.erase(values.begin() + lo);
      values.push_back(e.getResult());
      labels.erase(labels.begin() + hi);
      labels.erase(labels.begin() + lo);
      labels.push_back(out);
    }
    op.getResult().replaceAllUsesWith(values.front());
    op.erase();
    return success();
  }

  void runOnOperation() override {
    SmallVector<loom::EinsumOp> ops;
    getOperation().walk([&](loom::EinsumOp op) { ops.push_back(op); });
    for (loom::EinsumOp op : ops)
      // (A fused dequantized or a sparse weight keeps its operands as they are.)
      if (!op.hasDequantizedWeight() && !op.hasSparseOperand() && failed(rewrite(op)))
        return signalPassFailure();
  }
};
} // namespace
