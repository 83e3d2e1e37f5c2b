//===- LoomFolds.cpp - folders and canonicalizations of the loom ops ------===//
#include "Loom/EinsumSpec.h"
#include "Loom/LoomOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::loom;

/// An einsum with one operand whose output repeats its input subscripts is
/// the identity, when no rounding happens on the way and no epilogue is fused.
OpFoldResult EinsumOp::fold(FoldAdaptor) {
  if (getInputs().size() != 1 || getPlan() || hasEpilogue())
    return {};
  Value in = getInputs().front();
  if (in.getType() != getResult().getType())
    return {};
  FailureOr<EinsumSpec> spec =
      parseSpec(*this);
  if (failed(spec) || spec->hasRepeatedInputLabel() ||
      spec->inputs.front() != spec->output)
    return {};
  return in;
}

namespace {
/// Folds a pure transpose (a one-operand einsum that only permutes labels,
/// with no change of type) into the einsum that consumes it, by renaming the
/// consumer's subscripts. The transpose is then dead if nothing else uses it.
struct FoldTransposeIntoEinsum : OpRewritePattern<EinsumOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(EinsumOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<EinsumSpec> spec =
        parseSpec(op);
    if (failed(spec))
      return failure();
    SmallVector<Value> operands(op.getInputs());
    bool changed = false;
    for (auto [i, operand] : llvm::enumerate(operands)) {
      // (A dequantized weight's scales index its codes' own dimensions.)
      if (i == 1 && op.hasDequantizedWeight())
        continue;
      auto producer = operand.getDefiningOp<EinsumOp>();
      if (!producer || producer.getInputs().size() != 1 || producer.getPlan() ||
          producer.hasEpilogue())
        continue;
      Value source = producer.getInputs().front();
      auto srcType = cast<RankedTensorType>(source.getType());
      auto dstType = cast<RankedTensorType>(operand.getType());
      if (srcType.getElementType() != dstType.getElementType() ||
          srcType.getEncoding() || dstType.getEncoding())
        continue;
      FailureOr<EinsumSpec> inner =
          parseSpec(producer);
      if (failed(inner) || inner->hasRepeatedInputLabel() ||
          inner->inputs.front().size() != inner->output.size())
        continue;
      // Inner: source label at position p goes to output position q; the
      // consumer calls output position q by spec->inputs[i][q].
      std::string renamed;
      for (char label : inner->inputs.front())
        renamed.push_back(spec->inputs[i][inner->output.find(label)]);
      spec->inputs[i] = renamed;
      operands[i] = source;
      changed = true;
    }
    if (!changed)
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.setSpec(spec->str());
      op.getInputsMutable().assign(operands);
    });
    return success();
  }
};
} // namespace

void EinsumOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<FoldTransposeIntoEinsum>(context);
}

/// quantize(dequantize(q, s, z), s, z) == q: dequantized codes round back to
/// themselves for finite non-zero scales. The other order loses precision, so
/// dequantize(quantize(x)) is deliberately not folded.
OpFoldResult QuantizeOp::fold(FoldAdaptor) {
  auto dq = getInput().getDefiningOp<DequantizeOp>();
  if (!dq || dq.getQuant() != getQuant() || dq.getScale() != getScale() ||
      dq.getZeroPoint() != getZeroPoint() ||
      dq.getInput().getType() != getResult().getType())
    return {};
  // A result type narrower than the codes' own range could have rounded the
  // dequantized values too coarsely to recover them (f8 results, say).
  auto mid = cast<RankedTensorType>(dq.getResult().getType()).getElementType();
  if (cast<FloatType>(mid).getFPMantissaWidth() <= getQuant().getBits())
    return {};
  return dq.getInput();
}

/// unpack(pack(x)) == x where the layout is lossless for x's type.
OpFoldResult UnpackOp::fold(FoldAdaptor) {
  if (getInputs().empty())
    return {};
  auto pack = getInputs().front().getDefiningOp<PackOp>();
  if (!pack || pack.getLayout() != getLayout() ||
      pack.getInput().getType() != getResult().getType() ||
      pack.getResults().size() != getInputs().size())
    return {};
  for (auto [a, b] : llvm::zip(pack.getResults(), getInputs()))
    if (a != b)
      return {};
  PackLayoutAttr layout = getLayout();
  Type elem = getResult().getType().getElementType();
  switch (layout.getFormat()) {
  case PackFormat::Fragment:
  case PackFormat::AFragment:
    if (static_cast<int64_t>(elem.getIntOrFloatBitWidth()) != layout.getBits())
      return {};
    break;
  case PackFormat::BitPlanes:
    // Codes wider than the planes may hold values the planes cannot.
    return {};
  case PackFormat::TwoFour:
    // Only a 2:4-sparse input survives; that is a property of the data.
    return {};
  case PackFormat::TiledCsl:
  case PackFormat::BlockCsr:
  case PackFormat::Bitmap:
    break;
  }
  return pack.getInput();
}
