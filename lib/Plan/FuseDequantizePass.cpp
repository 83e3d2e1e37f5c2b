//===- FuseDequantizePass.cpp - loom-fuse-dequantize ----------------------===//
//
// A weight-only quantized linear layer, `dequantize(q, s, z)` feeding an
// einsum, becomes one einsum that reads the codes (see EinsumOp's
// weight_quant). The conditions mirror what the mixed-input kernels take:
// the a_fragment packing (2, 3, 4 or 8 bits, N % 16, K % 64) and the register
// dequantization sequences of include/einloom/Codegen/Dequant.h (scale in
// the activations' type, integer zero points). An einsum of two int8
// operands, each dequantized per channel (W8A8), becomes an i32 einsum of
// the codes with the scales in its epilogue (row_scale, col_scale): the
// dequantized operands' roundings are then skipped (the fused form is
// exact up to its one rounding). One operand may be asymmetric (per
// channel zero points, e.g. per-token activations): the rank-1 term of its
// zero points and the other's code sums is subtracted in the epilogue. An
// einsum of two fp8 dequantizes, the activations per group of G along K
// and the weight per G x G block (DeepSeek-V3), becomes an einsum of the
// codes with block scales (scale_block = [G, G]).
//
//===----------------------------------------------------------------------===//
#include "einloom/Passes.h"
#include "einloom/Reference/Kernels.h"

#include "Loom/EinsumSpec.h"
#include "Loom/LoomOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/raw_ostream.h"

namespace einloom {
#define GEN_PASS_DEF_LOOMFUSEDEQUANTIZE
#include "einloom/Passes.h.inc"
} // namespace einloom

using namespace mlir;
using namespace einloom;

namespace {
std::string typeText(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

std::string quantText(loom::QuantAttr q) {
  std::string s = std::to_string(q.getBits()) + "-bit " +
                  loom::stringifyQuantKind(q.getKind()).str();
  switch (q.getGranularity()) {
  case loom::QuantGranularity::PerTensor:
    return s + ", one scale";
  case loom::QuantGranularity::PerChannel:
    return s + ", per channel";
  case loom::QuantGranularity::PerGroup:
    return s + ", groups of " + std::to_string(q.getGroupSize());
  case loom::QuantGranularity::PerBlock:
    return s + ", blocks of " + std::to_string(q.getGroupSize()) + " x " +
           std::to_string(q.getGroupSize());
  }
  return s;
}

/// Why `d` (used by `e` as operand `w`) cannot fuse; empty when it can.
/// On success `k` and `n` are the weight's summed and kept labels.
std::string whyNot(loom::DequantizeOp d, loom::EinsumOp e, unsigned w, const loom::EinsumSpec &spec,
                   char &k, char &n) {
  loom::QuantAttr q = d.getQuant();
  if (e.getInputs().size() != 2)
    return "the einsum has " + std::to_string(e.getInputs().size()) +
           " operands (a mixed-input kernel takes two)";
  if (e.getInputs()[0] == e.getInputs()[1])
    return "the einsum reads the weight twice";
  // (A plan the einsum carries stays: the select-plan pass checks it against
  // the mixed-input kernel, which wants order = ba.)
  if (q.isFloat8() || q.getKind() == loom::QuantKind::Bipolar)
    return "the codes are " + loom::stringifyQuantKind(q.getKind()).str() +
           " (the kernels dequantize signed or unsigned integer codes)";
  if (q.getGranularity() == loom::QuantGranularity::PerBlock)
    return "its scales are per block (the mixed-input kernels take scales per channel or per "
           "group; block scales fuse where both operands are fp8)";
  if (!ref::isAFragmentWidth(q.getBits()))
    return std::to_string(q.getBits()) +
           "-bit codes (the register sequences take 2, 3, 4 or 8 bits)";
  Type x = cast<RankedTensorType>(e.getInputs()[1 - w].getType()).getElementType();
  Type wt = cast<RankedTensorType>(d.getResult().getType()).getElementType();
  if (!x.isF16() && !x.isBF16())
    return "the activations are " + typeText(x) + " (the mixed-input kernels take f16 or bf16)";
  if (wt != x)
    return "the weight is dequantized to " + typeText(wt) + " but the activations are " +
           typeText(x);
  if (q.getScaleType() != x)
    return "the scales are " + typeText(q.getScaleType()) +
           " (the kernel scales in the activations' type, " + typeText(x) + ")";
  if (Value z = d.getZeroPoint(); z && !isa<IntegerType>(cast<RankedTensorType>(z.getType()).getElementType()))
    return "the zero points are " +
           typeText(cast<RankedTensorType>(z.getType()).getElementType()) +
           " (the kernel subtracts integer zero points exactly)";
  const std::string &ws = spec.inputs[w], &xs = spec.inputs[1 - w];
  if (ws.size() != 2 || ws[0] == ws[1])
    return "the weight's subscripts \"" + ws + "\" are not two labels";
  int kAt = -1;
  for (int i = 0; i < 2; ++i) {
    bool summed = spec.output.find(ws[i]) == std::string::npos;
    bool shared = xs.find(ws[i]) != std::string::npos;
    if (summed && shared && kAt < 0)
      kAt = i;
    else if (summed || shared)
      return "label '" + std::string(1, ws[i]) +
             "' of the weight is neither the contracted one nor an output-only one";
  }
  if (kAt < 0)
    return "the weight has no label summed with the activations";
  k = ws[kAt];
  n = ws[1 - kAt];
  auto shape = cast<RankedTensorType>(d.getInput().getType()).getShape();
  int64_t kSize = shape[kAt], nSize = shape[1 - kAt];
  if (ShapedType::isDynamic(kSize) || ShapedType::isDynamic(nSize))
    return "the weight has a dynamic size";
  if (q.getGranularity() == loom::QuantGranularity::PerChannel && q.getAxis() != 1 - kAt)
    return "per-channel scales run along the summed label '" + std::string(1, k) + "'";
  if (q.getGranularity() == loom::QuantGranularity::PerGroup) {
    if (q.getAxis() != kAt)
      return "the groups run along '" + std::string(1, n) + "', not the summed label '" +
             std::string(1, k) + "'";
    int64_t g = q.getGroupSize();
    if (g != 32 && g % 64 != 0)
      return "group size " + std::to_string(g) + " (the kernels take 32 or a multiple of 64)";
  }
  if (nSize % 16 != 0)
    return "the weight's kept size " + std::to_string(nSize) + " is not a multiple of 16";
  if (kSize % 64 != 0)
    return "the weight's summed size " + std::to_string(kSize) + " is not a multiple of 64";
  return "";
}

/// W8A8: an einsum of two dequantized int8 operands, each with f32 scales
/// per channel along a kept label of its own, becomes an i32 einsum of the
/// codes whose epilogue scales the sum by the two scales (row_scale: the
/// operand whose label leads the two-label result; col_scale: the other).
/// One operand may be asymmetric (zero points per channel): its zero
/// points times the other's code sums are subtracted first (row_zero,
/// col_sum). Returns why not (empty on success, `e` rewritten and the two
/// dequantizes erased).
/// The two dequantizes feeding `e` (two operands, no epilogue), each used
/// by it alone, into `d`; why not where they are not.
std::string bothDequantized(loom::EinsumOp e, loom::DequantizeOp (&d)[2]) {
  if (e.getInputs().size() != 2 || e.hasEpilogue() || e.hasDequantizedWeight())
    return "not an einsum of two operands without an epilogue";
  for (int i = 0; i < 2; ++i) {
    d[i] = e.getInputs()[i].getDefiningOp<loom::DequantizeOp>();
    if (!d[i] || !e.getInputs()[i].hasOneUse())
      return "not both operands are dequantized for this einsum alone";
  }
  return "";
}

std::string fuseScaledInt8(loom::EinsumOp e) {
  loom::DequantizeOp d[2];
  if (std::string why = bothDequantized(e, d); !why.empty())
    return why;
  if (d[0] == d[1])
    return "the einsum reads one dequantized tensor twice";
  FailureOr<loom::EinsumSpec> spec = loom::parseSpec(e);
  if (failed(spec) || spec->output.size() != 2)
    return "the result is not a matrix";
  int rowFrom = -1, asym = -1;
  for (int i = 0; i < 2; ++i) {
    loom::QuantAttr q = d[i].getQuant();
    auto codes = cast<RankedTensorType>(d[i].getInput().getType());
    if (q.getBits() != 8 || q.getKind() != loom::QuantKind::Signed ||
        !codes.getElementType().isSignlessInteger(8))
      return "operand " + std::to_string(i) + " is not signed 8-bit codes in i8";
    if (Value z = d[i].getZeroPoint()) {
      Type zt = cast<RankedTensorType>(z.getType()).getElementType();
      if (asym >= 0)
        return "both operands have zero points (one may: a rank-1 correction)";
      if (!zt.isSignlessInteger(8) && !zt.isSignlessInteger(32))
        return "operand " + std::to_string(i) + "'s zero points are not i8 or i32";
      asym = i;
    }
    if (q.getGranularity() != loom::QuantGranularity::PerChannel || !q.getScaleType().isF32())
      return "operand " + std::to_string(i) + "'s scales are not f32, one per channel";
    const std::string &sub = spec->inputs[i];
    char label = q.getAxis() >= 0 && static_cast<size_t>(q.getAxis()) < sub.size()
                     ? sub[q.getAxis()]
                     : 0;
    const std::string &other = spec->inputs[1 - i];
    size_t at = spec->output.find(label);
    if (!label || at == std::string::npos || other.find(label) != std::string::npos)
      return "operand " + std::to_string(i) +
             "'s channels are not a label of the result that only it has";
    if (at == 0)
      rowFrom = i;
  }
  if (rowFrom < 0)
    return "both operands' channels are the result's last label";
  MLIRContext *ctx = e.getContext();
  Type i32 = IntegerType::get(ctx, 32);
  // An asymmetric operand a (zero points z per channel): sum over the
  // contracted labels of (qa - z) qb = sum qa qb - z * sum qb, the second
  // term rank-1: z along a's channels times the other operand's codes
  // summed over everything but its channel label (an i32 reduction
  // einsum, one more pass over those codes).
  Value sums;
  if (asym >= 0) {
    int o = 1 - asym;
    const std::string &sub = spec->inputs[o];
    char label = sub[d[o].getQuant().getAxis()];
    auto codes = cast<RankedTensorType>(d[o].getInput().getType());
    auto t = RankedTensorType::get({codes.getDimSize(d[o].getQuant().getAxis())}, i32);
    OpBuilder b(e);
    auto reduce = loom::EinsumOp::create(b, e.getLoc(), t, ValueRange{d[o].getInput()},
                                         StringRef(sub + "->" + std::string(1, label)));
    reduce.setAccAttr(TypeAttr::get(i32));
    sums = reduce.getResult();
  }
  e.getInputsMutable().assign(ValueRange{d[0].getInput(), d[1].getInput()});
  e.setAccAttr(TypeAttr::get(i32));
  e.getRowScaleMutable().assign(d[rowFrom].getScale());
  e.getColScaleMutable().assign(d[1 - rowFrom].getScale());
  if (asym >= 0) {
    Value z = d[asym].getZeroPoint();
    e.getRowZeroMutable().assign(asym == rowFrom ? z : sums);
    e.getColSumMutable().assign(asym == rowFrom ? sums : z);
  }
  d[0].erase();
  d[1].erase();
  return "";
}

/// FP8 with block scales (DeepSeek-V3): an einsum of two fp8 dequantizes,
/// the activations' f32 scales per group of G along the summed label (one
/// a row per G) and the weight's per G x G block, becomes an einsum of the
/// codes with scale_block = [G, G] (row_scale, col_scale: the two scale
/// tensors as they are). The operands go first rows, then columns, and
/// each must be laid out with its kept label first, so that its scales
/// have the shapes the block-scaled einsum reads. The dequantized
/// operands' roundings are skipped. Returns why not (empty on success).
std::string fuseBlockScaledFp8(loom::EinsumOp e) {
  loom::DequantizeOp d[2];
  if (std::string why = bothDequantized(e, d); !why.empty())
    return why;
  for (int i = 0; i < 2; ++i) {
    loom::QuantAttr q = d[i].getQuant();
    if (!q.isFloat8() || !q.getScaleType().isF32())
      return "operand " + std::to_string(i) + " is not fp8 codes with f32 scales";
  }
  if (d[0] == d[1])
    return "the einsum reads one dequantized tensor twice";
  FailureOr<loom::EinsumSpec> spec = loom::parseSpec(e);
  if (failed(spec) || spec->output.size() != 2 || spec->inputs[0].size() != 2 ||
      spec->inputs[1].size() != 2)
    return "not a product of two matrices";
  // Rows from the operand with the result's first label.
  int rows = spec->inputs[0].find(spec->output[0]) != std::string::npos ? 0 : 1;
  int cols = 1 - rows;
  const std::string &a = spec->inputs[rows], &b = spec->inputs[cols];
  char k = a[0] == spec->output[0] ? a[1] : a[0];
  if (a.find(spec->output[1]) != std::string::npos || b.find(spec->output[1]) == std::string::npos ||
      b.find(k) == std::string::npos || spec->output.find(k) != std::string::npos)
    return "not rows from one operand, columns from the other and one summed label";
  loom::QuantAttr qa = d[rows].getQuant(), qb = d[cols].getQuant();
  if (qa.getGranularity() == loom::QuantGranularity::PerBlock &&
      qb.getGranularity() == loom::QuantGranularity::PerGroup)
    return "the result's rows come from the block-scaled weight (block scales take one scale a "
           "row from the operand whose labels lead the result: write it activations x weight)";
  if (qa.getGranularity() != loom::QuantGranularity::PerGroup ||
      qb.getGranularity() != loom::QuantGranularity::PerBlock)
    return "the activations' scales are not per group along the summed label, or the weight's "
           "not per block";
  if (a[qa.getAxis()] != k)
    return "the activations' groups run along '" + std::string(1, a[qa.getAxis()]) +
           "', not the summed label";
  if (a[0] != spec->output[0] || b[1] != k)
    return "the activations must be laid out rows x K and the weight columns x K (their "
           "scales are then [rows, K/G] and [N/G, K/G], as block scales read them)";
  if (qa.getGroupSize() != qb.getGroupSize())
    return "the activations' groups (" + std::to_string(qa.getGroupSize()) +
           ") and the weight's blocks (" + std::to_string(qb.getGroupSize()) + ") differ";
  Value ra = d[rows].getScale(), rb = d[cols].getScale();
  e.getInputsMutable().assign(ValueRange{d[rows].getInput(), d[cols].getInput()});
  e.setSpec(a + "," + b + "->" + spec->output);
  e.setAccAttr(TypeAttr::get(Float32Type::get(e.getContext())));
  e.getRowScaleMutable().assign(ra);
  e.getColScaleMutable().assign(rb);
  e.setScaleBlockAttr(DenseI64ArrayAttr::get(e.getContext(),
                                             {qa.getGroupSize(), qb.getGroupSize()}));
  d[0].erase();
  d[1].erase();
  return "";
}

struct LoomFuseDequantize : einloom::impl::LoomFuseDequantizeBase<LoomFuseDequantize> {
  using Base::Base;

  void runOnOperation() override {
    // A sparse weight goes second too, where the sparse kernel reads it.
    getOperation().walk([&](loom::EinsumOp e) {
      if (e.getInputs().size() != 2 || e.hasDequantizedWeight())
        return;
      auto sparse = [](Value v) {
        auto t = dyn_cast<RankedTensorType>(v.getType());
        return t && isa_and_nonnull<loom::SparseAttr>(t.getEncoding());
      };
      if (!sparse(e.getInputs()[0]) || sparse(e.getInputs()[1]))
        return;
      FailureOr<loom::EinsumSpec> spec = loom::parseSpec(e);
      if (failed(spec))
        return;
      e.setSpec(spec->inputs[1] + "," + spec->inputs[0] + "->" + spec->output);
      e.getInputsMutable().assign(ValueRange{e.getInputs()[1], e.getInputs()[0]});
      if (explain)
        llvm::errs() << "einsum \"" << e.getSpec()
                     << "\": operands swapped so that the sparse weight is second\n";
    });
    // W8A8 (both operands int8 codes with per-channel scales): an i32 sum
    // scaled in the epilogue.
    SmallVector<loom::EinsumOp> einsums;
    getOperation().walk([&](loom::EinsumOp e) { einsums.push_back(e); });
    for (loom::EinsumOp e : einsums) {
      bool both = e.getInputs().size() == 2 &&
                  llvm::all_of(e.getInputs(), [](Value v) {
                    return v.getDefiningOp<loom::DequantizeOp>() != nullptr;
                  });
      if (!both)
        continue;
      bool fp8 = llvm::all_of(e.getInputs(), [](Value v) {
        return v.getDefiningOp<loom::DequantizeOp>().getQuant().isFloat8();
      });
      if (fp8) {
        std::string why = fuseBlockScaledFp8(e);
        if (explain)
          llvm::errs() << "einsum \"" << e.getSpec() << "\": "
                       << (why.empty() ? "both operands' fp8 dequantizes fused: the codes "
                                         "contracted with block scales (scale_block), each "
                                         "block's sum promoted into f32 times its two scales"
                                       : "its two fp8 dequantized operands stay (" + why + ")")
                       << "\n";
        continue;
      }
      std::string why = fuseScaledInt8(e);
      if (explain)
        llvm::errs() << "einsum \"" << e.getSpec() << "\": "
                     << (why.empty() ? "both operands' int8 dequantizes fused: an i32 sum of the "
                                       "codes, scaled per row and per column in the epilogue"
                                     : "its two dequantized operands stay (" + why + ")")
                     << (why.empty() && e.getRowZero()
                             ? "; the zero points times the other operand's code sums (an i32 "
                               "reduction, one more pass over its codes: pass row_zero and "
                               "col_sum precomputed to skip it) subtracted first"
                             : "")
                     << "\n";
    }
    // A dynamic quantize is its own memory-bound kernel; say what reads it.
    if (explain)
      getOperation().walk([&](loom::DynamicQuantizeOp q) {
        auto in = cast<RankedTensorType>(q.getInput().getType());
        loom::QuantAttr qa = q.getQuant();
        if (qa.isFloat8())
          llvm::errs() << "loom.dynamic_quantize (" << loom::stringifyQuantKind(qa.getKind())
                       << ", a scale per " << qa.getGroupSize() << " values of the last dimension of "
                       << typeText(in) << ") runs as its own memory-bound kernel (a warp a row: "
                          "each group's largest magnitude, then its codes)";
        else
          llvm::errs() << "loom.dynamic_quantize (" << qa.getBits()
                       << "-bit, a scale per index of dimension " << qa.getAxis() << " of "
                       << typeText(in) << ") runs as its own memory-bound kernel (a warp "
                          "a row: the row's largest magnitude, then its codes; the row read twice)";
        for (Operation *user : q.getCodes().getUsers())
          if (auto e = dyn_cast<loom::EinsumOp>(user)) {
            llvm::errs() << "; its codes feed einsum \"" << e.getSpec() << "\"";
            break;
          }
        llvm::errs() << "\n";
      });
    SmallVector<loom::DequantizeOp> ops;
    getOperation().walk([&](loom::DequantizeOp d) { ops.push_back(d); });
    for (loom::DequantizeOp d : ops) {
      std::string what = "loom.dequantize (" + quantText(d.getQuant()) + ")";
      Value w = d.getResult();
      auto e = w.hasOneUse() ? dyn_cast<loom::EinsumOp>(*w.getUsers().begin()) : loom::EinsumOp();
      std::string why;
      FailureOr<loom::EinsumSpec> spec = failure();
      if (!e)
        why = w.use_empty() ? "its result is unused"
              : w.hasOneUse() ? "its user is not an einsum"
                              : "its result has several uses";
      else if (e.hasDequantizedWeight())
        why = "the einsum already reads a dequantized weight";
      else if (failed(spec = loom::parseSpec(e)))
        why = "the einsum's spec does not parse";
      char k = 0, n = 0;
      unsigned at = e && e.getInputs().size() == 2 && e.getInputs()[1] == w ? 1 : 0;
      if (why.empty())
        why = whyNot(d, e, at, *spec, k, n);
      if (!why.empty()) {
        if (explain)
          llvm::errs() << what << " runs alone, as its own memory-bound kernel (not fused): " << why << "\n";
        continue;
      }
      // The weight second: swap operands and subscripts where it is first.
      std::string x = spec->inputs[1 - at], ws = spec->inputs[at];
      std::string newSpec = x + "," + ws + "->" + spec->output;
      Value act = e.getInputs()[1 - at];
      OpBuilder b(e);
      e.getInputsMutable().assign(ValueRange{act, d.getInput()});
      e.setSpec(newSpec);
      e.getScaleMutable().assign(d.getScale());
      if (Value z = d.getZeroPoint())
        e.getZeroPointMutable().assign(z);
      e.setWeightQuantAttr(d.getQuant());
      d.erase();
      if (explain)
        llvm::errs() << "fused " << what << " into einsum \"" << newSpec
                     << "\": the weight is read as codes and dequantized in registers (summed "
                        "label '"
                     << k << "', kept '" << n << "')\n";
    }
  }
};
} // namespace
