//===- NormalizeOperandsPass.cpp - loom-normalize-operands ----------------===//
//
// A contraction operand whose modes do not merge into contiguous rows is
// read element by element by the GEMM kernels, each element's address
// computed through several divisions: far slower than a copy, and with a
// 64x64 warp tile or the CUDA-core kernels' 8x8 blocks it ran out of
// registers (ptxas spilled up to 4.5 KB in the differential fuzzer's cases).
// Such an operand is first copied, exactly, by a memory-bound einsum of it
// alone into [batch][free][summed] order, each label once.
//
// Before that, labels summed in one operand alone (in neither the other
// operand nor the result) are summed out of that operand by a memory-bound
// einsum, as torch.einsum does: a contraction would otherwise carry them as
// K modes along which the other operand is broadcast, multiplying its work
// by their extent (the fuzzer's timing mode found such einsums 10-300x
// slower than torch).
//
//===----------------------------------------------------------------------===//
#include "einloom/Passes.h"
#include "einloom/Plan/Contraction.h"
#include "einloom/Plan/MemoryBound.h"
#include "einloom/Plan/SelectPlan.h"

#include "Loom/EinsumSpec.h"
#include "Loom/LoomOps.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"

namespace einloom {
#define GEN_PASS_DEF_LOOMNORMALIZEOPERANDS
#include "einloom/Passes.h.inc"
} // namespace einloom

using namespace mlir;
using namespace einloom;

namespace {
bool has(const std::string &s, char l) { return s.find(l) != std::string::npos; }

/// Why operand `x` (0: A, 1: B) should be copied first ("" if not).
std::string whyCopy(const Contraction &c, int x, const std::string &labels, bool simt) {
  char name = x ? 'B' : 'A';
  (void)labels; // (a diagonal is one strided mode: it needs no copy by itself)
  if (!simt && StringRef(c.operandLayout(name, 128)) == "elementwise")
    return "its rows are not contiguous along K (or along M/N for 16-bit types)";
  if (simt) {
    const ModeGroup *rows = x ? &c.n : &c.m;
    for (const ModeGroup *g : {&c.batch, rows, &c.k}) {
      int modes = 0;
      for (const Mode &md : g->modes)
        modes += (x ? md.strideB : md.strideA) != 0;
      if (modes > 1)
        return "the CUDA-core kernels would address it through several modes per group";
    }
  }
  return "";
}

/// Element types an operand may be pre-summed in without changing what the
/// contraction computes beyond one rounding: floats of 16 bits or more.
/// (An 8-bit float would lose most of the sum, and an integer sum would
/// overflow the operand type; those keep the broadcast K.)
bool canPreSum(Type t) {
  auto f = dyn_cast<FloatType>(t);
  return f && f.getWidth() >= 16;
}

struct LoomNormalizeOperands
    : einloom::impl::LoomNormalizeOperandsBase<LoomNormalizeOperands> {
  using Base::Base;

  /// Sums the labels that operand x alone carries (and the result does not)
  /// out of it, when the other operand's free labels reuse each of its
  /// elements: then the contraction's work drops by their extent for one
  /// extra pass over x. (An operand each of whose elements is used once is
  /// streamed once by the contraction already; summing it first would only
  /// add a write and a read.)
  bool preSum(loom::EinsumOp op, std::string (&labels)[2], const std::string &out) {
    bool changed = false;
    for (int x = 0; x < 2; ++x) {
      Value v = op.getInputs()[x];
      auto t = cast<RankedTensorType>(v.getType());
      if (!canPreSum(t.getElementType()))
        continue;
      const std::string &mine = labels[x], &other = labels[1 - x];
      auto extent = [&](char l) { return t.getDimSize(mine.find(l)); };
      std::string alone, keep;
      int64_t summed = 1;
      for (char l : mine) {
        if (has(out, l) || has(other, l)) {
          if (!has(keep, l))
            keep.push_back(l);
        } else if (!has(alone, l)) {
          alone.push_back(l);
          summed *= extent(l);
        }
      }
      // (A diagonal summed alone has one extent for all its positions.)
      int64_t reuse = 1;
      auto rt = cast<RankedTensorType>(op.getResult().getType());
      for (size_t p = 0; p < out.size(); ++p)
        if (!has(mine, out[p]))
          reuse *= rt.getDimSize(p);
      if (alone.empty() || summed < 2 || reuse < 2)
        continue;
      // Where the result is wider than the operand (f16 operands, an f32
      // result), the partial sums keep the result's precision: they are
      // formed and stored in its type, and the other operand is widened to
      // match below.
      // (The widening is an identity einsum, of at most 26 dimensions.)
      Type sumType = t.getElementType();
      if (rt.getElementType().getIntOrFloatBitWidth() > t.getElementType().getIntOrFloatBitWidth() &&
          isa<FloatType>(rt.getElementType()) &&
          cast<RankedTensorType>(op.getInputs()[1 - x].getType()).getRank() <= 26)
        sumType = rt.getElementType();
      SmallVector<int64_t> shape;
      for (char l : keep)
        shape.push_back(extent(l));
      OpBuilder b(op);
      auto sum = loom::EinsumOp::create(b, op.getLoc(),
                                        RankedTensorType::get(shape, sumType),
                                        ValueRange{v}, StringRef(mine + "->" + keep));
      op->setOperand(x, sum.getResult());
      if (explain)
        llvm::errs() << "einsum \"" << labels[0] << "," << labels[1] << "->" << out
                     << "\": operand " << (x ? 'B' : 'A') << " summed over '" << alone
                     << "' first (" << mine << "->" << keep << "): no other operand has "
                     << (alone.size() > 1 ? "those labels" : "that label")
                     << ", and the contraction does 1/" << summed << " of the work"
                     << (sumType != t.getElementType() ? " (partial sums kept in the result's type)"
                                                       : "")
                     << "\n";
      labels[x] = keep;
      changed = true;
    }
    if (!changed)
      return false;
    op.setSpec(labels[0] + "," + labels[1] + "->" + out);
    // Partial sums in a wider type: the other operand is widened too (a
    // memory-bound copy), so that both have one element type.
    auto typeOf = [&](int i) {
      return cast<RankedTensorType>(op.getInputs()[i].getType()).getElementType();
    };
    if (typeOf(0) != typeOf(1)) {
      int narrow = typeOf(0).getIntOrFloatBitWidth() < typeOf(1).getIntOrFloatBitWidth() ? 0 : 1;
      Value v = op.getInputs()[narrow];
      auto t = cast<RankedTensorType>(v.getType());
      std::string ids = loom::positionalLabels(t.getRank());
      OpBuilder b(op);
      auto widen = loom::EinsumOp::create(
          b, op.getLoc(), RankedTensorType::get(t.getShape(), typeOf(1 - narrow)), ValueRange{v},
          StringRef(ids + "->" + ids));
      op->setOperand(narrow, widen.getResult());
      if (explain)
        llvm::errs() << "einsum \"" << labels[0] << "," << labels[1] << "->" << out
                     << "\": operand " << (narrow ? 'B' : 'A') << " widened to "
                     << typeOf(1 - narrow) << " to meet the partial sums\n";
    }
    return true;
  }

  void normalize(loom::EinsumOp op) {
    if (op.getInputs().size() != 2 || op.getPlanAttr() || op->hasAttr("loom.dynamic"))
      return;
    for (Value v : op->getOperands())
      if (!cast<RankedTensorType>(v.getType()).hasStaticShape())
        return;
    if (!cast<RankedTensorType>(op.getResult().getType()).hasStaticShape())
      return;
    FailureOr<loom::EinsumSpec> spec = loom::parseSpec(op);
    if (failed(spec))
      return;
    {
      std::string labels[2] = {spec->inputs[0], spec->inputs[1]};
      if (preSum(op, labels, spec->output)) {
        spec = loom::parseSpec(op);
        if (failed(spec))
          return;
      }
    }
    if (runsAsMemoryKernel(op))
      return;
    FailureOr<Contraction> c = failure();
    {
      // (What cannot be generated is reported later, by the planner.)
      ScopedDiagnosticHandler quiet(op.getContext(), [](Diagnostic &) { return success(); });
      c = analyzeContraction(op);
    }
    if (failed(c))
      return;
    FailureOr<loom::MmaShape> mma = mmaFor(*c);
    // (f64 runs on the pipelined DMMA kernel, fed like the other tensor-core
    // kernels; f32 without tf32 on the CUDA cores.)
    bool simt = succeeded(mma) && *mma == loom::MmaShape::Fma;
    std::string labels[2] = {spec->inputs[0], spec->inputs[1]};
    const std::string &out = spec->output;
    // The summed labels both operands have, innermost in A's order, so that
    // the two copies (or a copy and an operand left alone) agree.
    std::string shared;
    for (char l : labels[0])
      if (has(labels[1], l) && !has(out, l) && !has(shared, l))
        shared.push_back(l);
    OpBuilder b(op);
    bool changed = false;
    for (int x = 0; x < 2; ++x) {
      std::string why = whyCopy(*c, x, labels[x], simt);
      if (why.empty())
        continue;
      const std::string &mine = labels[x], &other = labels[1 - x];
      std::string order;
      for (char l : out) // batch, then free, in the result's order
        if (has(mine, l) && has(other, l))
          order.push_back(l);
      for (char l : out)
        if (has(mine, l) && !has(other, l))
          order.push_back(l);
      for (char l : mine) // summed in this operand alone, then shared
        if (!has(out, l) && !has(other, l) && !has(order, l))
          order.push_back(l);
      order += shared;
      if (order == mine)
        continue; // already in that order: a copy would not change the layout
      Value v = op.getInputs()[x];
      auto t = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> shape;
      for (char l : order)
        shape.push_back(t.getDimSize(mine.find(l)));
      auto copy = loom::EinsumOp::create(b, op.getLoc(),
                                         RankedTensorType::get(shape, t.getElementType()),
                                         ValueRange{v}, StringRef(mine + "->" + order));
      op->setOperand(x, copy.getResult());
      if (explain)
        llvm::errs() << "einsum \"" << spec->str() << "\": operand " << (x ? 'B' : 'A')
                     << " copied first (" << mine << "->" << order << "): " << why << "\n";
      labels[x] = order;
      changed = true;
    }
    if (changed)
      op.setSpec(labels[0] + "," + labels[1] + "->" + out);
    if (simt)
      normalizeResult(op, labels, out);
  }

  /// The CUDA-core kernels also address C through its modes: a result whose
  /// batch, M or N labels are not adjacent in it is computed in [batch][M]
  /// [N] order and then permuted (not with a fused epilogue, which indexes
  /// the result's own layout).
  void normalizeResult(loom::EinsumOp op, const std::string (&labels)[2], const std::string &out) {
    if (op.hasEpilogue() || op.hasBlockMask())
      return;
    std::string order;
    for (char l : out)
      if (has(labels[0], l) && has(labels[1], l))
        order.push_back(l);
    for (int x = 0; x < 2; ++x)
      for (char l : out)
        if (has(labels[x], l) && !has(labels[1 - x], l))
          order.push_back(l);
    if (order == out)
      return;
    // Only where a group's labels are split apart in the result: a result
    // that is [batch][N][M] (say) merges its groups already.
    auto adjacent = [&](auto in) {
      int first = -1, last = -1, count = 0;
      for (size_t p = 0; p < out.size(); ++p)
        if (in(out[p])) {
          first = first < 0 ? int(p) : first;
          last = int(p);
          ++count;
        }
      return count == 0 || last - first + 1 == count;
    };
    bool split = !adjacent([&](char l) { return has(labels[0], l) && has(labels[1], l); }) ||
                 !adjacent([&](char l) { return has(labels[0], l) && !has(labels[1], l); }) ||
                 !adjacent([&](char l) { return has(labels[1], l) && !has(labels[0], l); });
    if (!split)
      return;
    auto t = cast<RankedTensorType>(op.getResult().getType());
    SmallVector<int64_t> shape;
    for (char l : order)
      shape.push_back(t.getDimSize(out.find(l)));
    OpBuilder b(op);
    b.setInsertionPointAfter(op);
    auto permute = loom::EinsumOp::create(b, op.getLoc(), t, ValueRange{op.getResult()},
                                          StringRef(order + "->" + out));
    op.getResult().replaceAllUsesExcept(permute.getResult(), permute);
    op.getResult().setType(RankedTensorType::get(shape, t.getElementType()));
    op.setSpec(labels[0] + "," + labels[1] + "->" + order);
    if (explain)
      llvm::errs() << "einsum \"" << labels[0] << "," << labels[1] << "->" << out
                   << "\": computed as ->" << order << ", then permuted: the CUDA-core kernels "
                      "would address its result through several modes per group\n";
  }

  void runOnOperation() override {
    SmallVector<loom::EinsumOp> ops;
    getOperation().walk([&](loom::EinsumOp op) { ops.push_back(op); });
    for (loom::EinsumOp op : ops)
      // (A fused dequantized or a sparse weight keeps its operands as they
      // are: their kernels read the weight's own layout.)
      if (!op.hasDequantizedWeight() && !op.hasSparseOperand())
        normalize(op);
  }
};
} // namespace
