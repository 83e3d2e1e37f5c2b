//===- LoomOps.cpp - verifiers of the loom ops ----------------------------===//
#include "Loom/LoomOps.h"
#include "Loom/EinsumSpec.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::loom;

#define GET_OP_CLASSES
#include "Loom/LoomOps.cpp.inc"

bool mlir::loom::isSupportedElementType(Type t) {
  return t.isF64() || t.isF32() || t.isF16() || t.isBF16() ||
         isa<Float8E4M3FNType, Float8E5M2Type>(t) || t.isSignlessInteger(8) ||
         t.isSignlessInteger(4) || t.isSignlessInteger(32);
}

static std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? "?" : std::to_string(d);
}

//===----------------------------------------------------------------------===//
// EinsumOp
//===----------------------------------------------------------------------===//

Type EinsumOp::getAccumulatorType() {
  if (std::optional<Type> acc = getAcc())
    return *acc;
  Type in = cast<RankedTensorType>(getInputs().front().getType()).getElementType();
  Builder b(getContext());
  if (in.isF64())
    return b.getF64Type();
  if (isa<IntegerType>(in))
    return b.getI32Type();
  return b.getF32Type();
}

/// Accumulator types each input element type may use.
static bool isAllowedAccumulator(Type in, Type acc) {
  if (in.isF64())
    return acc.isF64();
  if (in.isF32())
    return acc.isF32();
  if (in.isF16())
    return acc.isF32() || acc.isF16();
  if (in.isBF16() || isa<Float8E4M3FNType, Float8E5M2Type>(in))
    return acc.isF32();
  if (in.isSignlessInteger(8) || in.isSignlessInteger(4))
    return acc.isSignlessInteger(32);
  return false;
}

static LogicalResult verifyOperandEncoding(Operation *op, unsigned index,
                                           RankedTensorType type) {
  Attribute enc = type.getEncoding();
  if (!enc)
    return success();
  if (auto quant = dyn_cast<QuantAttr>(enc)) {
    Type e = type.getElementType();
    if (quant.isFloat8()) {
      bool match = quant.getKind() == QuantKind::E4M3 ? isa<Float8E4M3FNType>(e)
                                                      : isa<Float8E5M2Type>(e);
      if (!match)
        return op->emitOpError("operand #")
               << index << " has an fp8 quant encoding but element type " << e;
      return success();
    }
    auto it = dyn_cast<IntegerType>(e);
    if (!it || it.getWidth() < quant.getBits())
      return op->emitOpError("operand #")
             << index << " has a " << quant.getBits()
             << "-bit quant encoding but element type " << e;
    return success();
  }
  if (isa<SparseAttr>(enc)) {
    if (type.getRank() < 2)
      return op->emitOpError("operand #")
             << index << " has a sparse encoding but rank " << type.getRank();
    return success();
  }
  return op->emitOpError("operand #")
         << index << " has an encoding loom does not know: " << enc;
}

FailureOr<EinsumSpec>
mlir::loom::parseSpec(EinsumOp op, function_ref<void(size_t, const Twine &)> emitError) {
  SmallVector<int64_t> ranks;
  for (Value v : op.getInputs())
    ranks.push_back(isa<RankedTensorType>(v.getType()) ? cast<RankedTensorType>(v.getType()).getRank()
                                                      : 0);
  auto quiet = [](size_t, const Twine &) {};
  if (emitError)
    return EinsumSpec::parse(op.getSpec(), ranks, emitError);
  return EinsumSpec::parse(op.getSpec(), ranks, quiet);
}

static LogicalResult verifyCodeType(Operation *op, QuantAttr quant, Type code, StringRef what);
static LogicalResult verifyQuantParams(Operation *op, QuantAttr quant, RankedTensorType values,
                                       Value scale, Value zeroPoint);

/// The fused dequantized weight of an einsum: two operands, the second of
/// integer codes with its scale (and zero point), dequantized to the first
/// operand's float type.
static LogicalResult verifyWeightQuant(EinsumOp op) {
  std::optional<QuantAttr> quant = op.getWeightQuant();
  if (!quant) {
    if (op.getScale() || op.getZeroPoint())
      return op.emitOpError("has a scale or zero point but no weight_quant");
    return success();
  }
  if (op.getInputs().size() != 2)
    return op.emitOpError("weight_quant needs two operands (activations, weight codes), not ")
           << op.getInputs().size();
  if (quant->isFloat8())
    return op.emitOpError("weight_quant takes integer codes; fp8 weights are an einsum operand "
                          "of their own type");
  if (!op.getScale())
    return op.emitOpError("weight_quant needs a scale operand");
  Type x = cast<RankedTensorType>(op.getInputs()[0].getType()).getElementType();
  if (!x.isF16() && !x.isBF16() && !x.isF32())
    return op.emitOpError("a dequantized weight is read as the first operand's type, "
                          "which must be f16, bf16 or f32, not ")
           << x;
  auto codes = cast<RankedTensorType>(op.getInputs()[1].getType());
  if (failed(verifyCodeType(op, *quant, codes.getElementType(), "weight code")))
    return failure();
  return verifyQuantParams(op, *quant, codes, op.getScale(), op.getZeroPoint());
}

/// The block mask (see loom.einsum): its attributes, the spec's shape and
/// the mask's.
static LogicalResult verifyBlockMask(EinsumOp op, const EinsumSpec &spec) {
  if (!op.getBlockMask()) {
    if (op.getMaskBlock() || op.getMaskFill())
      return op.emitOpError("mask_block and mask_fill come with a block_mask");
    return success();
  }
  std::optional<ArrayRef<int64_t>> blk = op.getMaskBlock();
  if (!blk || blk->size() != 2 || (*blk)[0] <= 0 || (*blk)[1] <= 0)
    return op.emitOpError("a block_mask needs mask_block = array<i64: BM, BN>, the rows and "
                          "columns of the result one mask byte covers, both positive");
  if (op.getInputs().size() != 2 || op.hasDequantizedWeight() || op.hasBlockScales() ||
      op.hasSparseOperand())
    return op.emitOpError("a block_mask takes a product of two dense inputs (no weight_quant, "
                          "scale_block or sparse operand)");
  const std::string &a = spec.inputs[0], &b = spec.inputs[1], &out = spec.output;
  auto in = [](const std::string &s, char l) { return s.find(l) != std::string::npos; };
  bool ok = out.size() >= 2 && !spec.hasRepeatedInputLabel();
  char m = ok ? out[out.size() - 2] : 0, n = ok ? out.back() : 0;
  ok = ok && in(a, m) && !in(b, m) && in(b, n) && !in(a, n);
  for (size_t i = 0; ok && i + 2 < out.size(); ++i)
    ok = in(a, out[i]) && in(b, out[i]);
  if (!ok)
    return op.emitOpError("a block_mask needs the result's last two labels to be M, from the "
                          "first input only, and N, from the second only, and its others to "
                          "be batch labels of both inputs (e.g. \"bhqd,bhkd->bhqk\"); \"")
           << op.getSpec() << "\" is not that";
  auto result = cast<RankedTensorType>(op.getResult().getType());
  ArrayRef<int64_t> shape = result.getShape();
  auto mask = cast<RankedTensorType>(op.getBlockMask().getType());
  if (!mask.getElementType().isSignlessInteger(8))
    return op.emitOpError("block_mask holds i8 (0: the block is not computed), not ")
           << mask.getElementType();
  if (!result.hasStaticShape())
    return op.emitOpError("a block_mask needs a static result shape");
  if (std::optional<APFloat> fill = op.getMaskFill();
      fill && isa<IntegerType>(result.getElementType()) &&
      (!fill->isFinite() || !fill->isInteger()))
    return op.emitOpError("mask_fill of an integer result must be a whole number");
  // (llvm::divideCeil, which does not overflow: (size + b - 1) / b did for a
  // block near 2^63, and a 0 x 0 mask then passed for none at all.)
  auto blocks = [](int64_t size, int64_t b) { return int64_t(llvm::divideCeil(size, b)); };
  SmallVector<int64_t> want(shape.drop_back(2));
  want.push_back(blocks(shape[shape.size() - 2], (*blk)[0]));
  want.push_back(blocks(shape.back(), (*blk)[1]));
  if (mask.getShape() != ArrayRef<int64_t>(want) &&
      mask.getShape() != ArrayRef<int64_t>(want).take_back(2))
    return op.emitOpError("block_mask of type ")
           << mask << " must have the shape [" << llvm::make_range(want.begin(), want.end())
           << "] (one byte a " << (*blk)[0] << "x" << (*blk)[1]
           << " block of the result), or its last two dimensions (one mask for every batch)";
  return success();
}

/// Block scales (scale_block = [BK, BN]): a product of two matrices with
/// one contracted label, row_scale [rows, ceil(K / BK)] and col_scale
/// [ceil(N / BN), ceil(K / BK)], f32, and nothing else scaling the sum.
static LogicalResult verifyBlockScales(EinsumOp op, const EinsumSpec &spec) {
  ArrayRef<int64_t> blk = *op.getScaleBlock();
  if (blk.size() != 2 || blk[0] <= 0 || blk[1] <= 0)
    return op.emitOpError("scale_block is [BK, BN]: the contracted elements a scale covers and "
                          "the columns a col_scale row covers, both positive");
  if (op.getInputs().size() != 2 || spec.output.size() != 2 || spec.inputs[0].size() != 2 ||
      spec.inputs[1].size() != 2)
    return op.emitOpError("block scales take a product of two matrices (e.g. \"mk,nk->mn\"), "
                          "not \"")
           << op.getSpec() << "\"";
  char row = spec.output[0], col = spec.output[1];
  const std::string &a = spec.inputs[0], &b = spec.inputs[1];
  char k = a[0] == row ? a[1] : a[0];
  if (a.find(row) == std::string::npos || b.find(col) == std::string::npos ||
      b.find(row) != std::string::npos || a.find(col) != std::string::npos ||
      b.find(k) == std::string::npos || k == row || k == col)
    return op.emitOpError("block scales need the result's rows from the first operand, its "
                          "columns from the second, and one label summed between them; \"")
           << op.getSpec() << "\" is not that";
  if (!op.getRowScale() || !op.getColScale())
    return op.emitOpError("scale_block needs both row_scale and col_scale");
  if (op.getRowZero() || op.hasDequantizedWeight())
    return op.emitOpError("block scales take no row_zero/col_sum or weight_quant");
  auto size = [&](int i, char l) {
    auto t = cast<RankedTensorType>(op.getInputs()[i].getType());
    return t.getDimSize(spec.inputs[i].find(l));
  };
  int64_t m = size(0, row), n = size(1, col), kk = size(0, k);
  if (ShapedType::isDynamic(kk) || ShapedType::isDynamic(n) || kk != size(1, k))
    return op.emitOpError("block scales need a static contracted size and column count");
  int64_t kb = (kk + blk[0] - 1) / blk[0], nb = (n + blk[1] - 1) / blk[1];
  for (auto [what, v, want] :
       {std::tuple<const char *, Value, SmallVector<int64_t, 2>>{"row_scale", op.getRowScale(), {m, kb}},
        std::tuple<const char *, Value, SmallVector<int64_t, 2>>{"col_scale", op.getColScale(), {nb, kb}}}) {
    auto t = cast<RankedTensorType>(v.getType());
    bool ok = t.getElementType().isF32() && t.getRank() == 2 && t.getDimSize(1) == want[1] &&
              (t.getDimSize(0) == want[0] || ShapedType::isDynamic(want[0]));
    if (!ok)
      return op.emitOpError() << what << " of type " << t << " must be f32 of shape ["
                              << (ShapedType::isDynamic(want[0]) ? std::string("?")
                                                                 : std::to_string(want[0]))
                              << ", " << want[1] << "] with scale_block = [" << blk[0] << ", "
                              << blk[1] << "] (one scale a "
                              << (StringRef(what) == "row_scale"
                                      ? "row per " + std::to_string(blk[0]) + " of K"
                                      : std::to_string(blk[1]) + " columns per " +
                                            std::to_string(blk[0]) + " of K")
                              << ")";
  }
  return success();
}

/// Whether `t`'s static elements, in bytes of 8, fit in 62 bits: a larger
/// product wraps (m = 2^62 by n = 4 had "0 elements" and compiled as a
/// zero-sized einsum; m = 2^63 - 1 by n = 2 compiled, its buffers 0 bytes).
static bool sizeFits(RankedTensorType t) {
  uint64_t n = 8;
  for (int64_t d : t.getShape())
    if (d > 0 && __builtin_mul_overflow(n, uint64_t(d), &n))
      return false;
  return n < (uint64_t(1) << 62);
}

LogicalResult mlir::loom::verifySizes(Operation *op) {
  for (Value v : llvm::concat<Value>(op->getOperands(), op->getResults()))
    if (auto t = dyn_cast<RankedTensorType>(v.getType()); t && !sizeFits(t))
      return op->emitOpError("operand or result ")
             << t << " is too large: its size in bytes overflows 64-bit arithmetic";
  return success();
}

LogicalResult EinsumOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one operand");
  FailureOr<EinsumSpec> spec = parseSpec(
      *this, [&](size_t pos, const Twine &msg) {
        emitOpError("invalid spec \"") << getSpec() << "\" at position " << pos
                                       << ": " << msg;
      });
  if (failed(spec))
    return failure();
  if (spec->inputs.size() != getInputs().size())
    return emitOpError("spec \"")
           << getSpec() << "\" has " << spec->inputs.size()
           << " operand subscripts but the op has " << getInputs().size()
           << " operands";

  Type elem;
  llvm::DenseMap<char, std::pair<int64_t, unsigned>> sizes;
  for (auto [i, value] : llvm::enumerate(getInputs())) {
    auto type = cast<RankedTensorType>(value.getType());
    const std::string &sub = spec->inputs[i];
    if (static_cast<int64_t>(sub.size()) != type.getRank())
      return emitOpError("operand #")
             << i << " has rank " << type.getRank() << " but its subscripts \""
             << sub << "\" name " << sub.size() << " dimensions";
    // (A dequantized weight's codes: checked by verifyWeightQuant.)
    bool codes = i == 1 && hasDequantizedWeight();
    if ((!isSupportedElementType(type.getElementType()) ||
         type.getElementType().isSignlessInteger(32)) &&
        !codes)
      return emitOpError("operand #")
             << i << " has unsupported element type " << type.getElementType()
             << "; expected f64, f32, f16, bf16, f8E4M3FN, f8E5M2, i8 or i4";
    if (!elem)
      elem = type.getElementType();
    else if (!codes && elem != type.getElementType())
      return emitOpError("operand element types differ (")
             << elem << " and " << type.getElementType()
             << "); convert or dequantize first";
    if (failed(verifyOperandEncoding(*this, i, type)))
      return failure();
    for (auto [d, label] : llvm::enumerate(sub)) {
      int64_t size = type.getDimSize(d);
      auto [it, inserted] = sizes.try_emplace(label, size, unsigned(i));
      if (inserted || ShapedType::isDynamic(size))
        continue;
      if (ShapedType::isDynamic(it->second.first)) {
        it->second = {size, unsigned(i)};
        continue;
      }
      // Size 1 broadcasts against any size (as in NumPy); the label's size
      // is the larger.
      if (it->second.first == 1) {
        it->second = {size, unsigned(i)};
        continue;
      }
      if (it->second.first != size && size != 1)
        return emitOpError("label '")
               << label << "' has size " << it->second.first << " in operand #"
               << it->second.second << " but size " << size << " in operand #"
               << i << " (only a size of 1 broadcasts)";
    }
  }

  auto result = cast<RankedTensorType>(getResult().getType());
  if (static_cast<int64_t>(spec->output.size()) != result.getRank())
    return emitOpError("result has rank ")
           << result.getRank() << " but the output subscripts \""
           << spec->output << "\" name " << spec->output.size()
           << " dimensions";
  for (auto [d, label] : llvm::enumerate(spec->output)) {
    int64_t want = sizes.lookup(label).first;
    int64_t got = result.getDimSize(d);
    if (!ShapedType::isDynamic(want) && !ShapedType::isDynamic(got) &&
        want != got)
      return emitOpError("result dimension ")
             << d << " (label '" << label << "') has size " << got
             << " but the operands give " << want;
  }

  Type acc = getAccumulatorType();
  if (!isAllowedAccumulator(elem, acc))
    return emitOpError("accumulator type ")
           << acc << " is not allowed for " << elem << " operands";
  if (getAllowTf32() && !elem.isF32())
    return emitOpError("allow_tf32 applies only to f32 operands, not ") << elem;
  Type out = result.getElementType();
  // An integer sum may be requantized to i8 (rounded to nearest even and
  // saturated, after the epilogue's scale).
  bool outOk = isa<IntegerType>(acc)
                   ? (out.isSignlessInteger(32) || out.isSignlessInteger(8) || out.isF32() ||
                      out.isF16() || out.isBF16())
                   : isa<FloatType>(out) && isSupportedElementType(out);
  if (!outOk)
    return emitOpError("result element type ")
           << out << " cannot hold a " << acc << " accumulator";
  // (An integer sum goes through a fused epilogue as f32.)
  if (hasEpilogue() && !isa<FloatType>(acc) && out.isSignlessInteger(32))
    return emitOpError("a fused epilogue on a ")
           << acc << " sum gives a float or a requantized i8 result, not " << out;
  for (auto [what, v] : {std::pair<const char *, Value>{"bias", getBias()},
                         std::pair<const char *, Value>{"residual", getResidual()}})
    if (v && failed(verifyTrailingOperand(getOperation(), what, v, result)))
      return failure();
  if (getBeta() && !getResidual())
    return emitOpError("has beta but no residual");
  if (!getRowZero() != !getColSum())
    return emitOpError("row_zero and col_sum come together (the rank-1 term row_zero[row] * "
                       "col_sum[col] subtracted from the sum)");
  if (getScaleBlock() && failed(verifyBlockScales(*this, *spec)))
    return failure();
  if (failed(verifyBlockMask(*this, *spec)))
    return failure();
  // Scales of the sum (an int8 product's per-token and per-channel scales:
  // f32) and the rank-1 term's vectors (f32, i8 or i32): one per result row
  // (the result's shape without its last dimension) or per result column
  // (its last dimension).
  for (auto [what, v, rows] : {std::tuple<const char *, Value, bool>{"row_scale", getRowScale(), true},
                               std::tuple<const char *, Value, bool>{"col_scale", getColScale(), false},
                               std::tuple<const char *, Value, bool>{"row_zero", getRowZero(), true},
                               std::tuple<const char *, Value, bool>{"col_sum", getColSum(), false}}) {
    bool scale = StringRef(what).ends_with("scale");
    // (Block scales' shapes are checked above.)
    if (!v || (scale && hasBlockScales()))
      continue;
    auto t = cast<RankedTensorType>(v.getType());
    ArrayRef<int64_t> shape = result.getShape();
    if (scale && !t.getElementType().isF32())
      return emitOpError() << what << " must hold f32 scales, not " << t.getElementType();
    if (!scale && !t.getElementType().isF32() && !t.getElementType().isSignlessInteger(8) &&
        !t.getElementType().isSignlessInteger(32))
      return emitOpError() << what << " must be f32, i8 or i32, not " << t.getElementType();
    if (shape.empty())
      return emitOpError() << what << " needs a result of rank 1 or more";
    ArrayRef<int64_t> want = rows ? shape.drop_back() : shape.take_back();
    if (t.getShape() != want)
      return emitOpError() << what << " of type " << t << " must have the shape ["
                           << llvm::make_range(want.begin(), want.end()) << "] ("
                           << (rows ? "the result's dimensions but the last: one a row"
                                    : "the result's last dimension: one a column")
                           << ")";
  }
  return verifyWeightQuant(*this);
}

/// A float element type the elementwise ops take.
static bool isElementwiseFloat(Type t) { return t.isF16() || t.isBF16() || t.isF32() || t.isF64(); }

LogicalResult loom::verifyTrailingOperand(Operation *op, StringRef what, Value v,
                                          RankedTensorType of) {
  auto t = cast<RankedTensorType>(v.getType());
  if (!isElementwiseFloat(t.getElementType()))
    return op->emitOpError() << what << " must be f16, bf16, f32 or f64, not "
                             << t.getElementType();
  ArrayRef<int64_t> shape = of.getShape();
  if (t.getRank() > of.getRank() ||
      t.getShape() != shape.take_back(t.getRank()))
    return op->emitOpError() << what << " of type " << t << " must have the shape of the trailing "
                             << "dimensions of " << of << " (broadcast over the leading ones)";
  return success();
}

//===----------------------------------------------------------------------===//
// The elementwise ops
//===----------------------------------------------------------------------===//

static LogicalResult verifyFloatTensor(Operation *op, Type t) {
  Type e = cast<RankedTensorType>(t).getElementType();
  if (!isElementwiseFloat(e))
    return op->emitOpError("takes f16, bf16, f32 or f64 tensors, not ") << e;
  return success();
}

LogicalResult ScaleOp::verify() { return verifyFloatTensor(*this, getInput().getType()); }
LogicalResult ActivationOp::verify() { return verifyFloatTensor(*this, getInput().getType()); }

LogicalResult AddOp::verify() {
  if (failed(verifyFloatTensor(*this, getLhs().getType())))
    return failure();
  auto lhs = cast<RankedTensorType>(getLhs().getType());
  if (cast<RankedTensorType>(getRhs().getType()).getElementType() != lhs.getElementType())
    return emitOpError("operands have different element types: ")
           << getLhs().getType() << " and " << getRhs().getType();
  return verifyTrailingOperand(*this, "the second operand", getRhs(), lhs);
}

LogicalResult CastOp::verify() {
  if (failed(verifyFloatTensor(*this, getInput().getType())) ||
      failed(verifyFloatTensor(*this, getResult().getType())))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// QuantizeOp / DequantizeOp
//===----------------------------------------------------------------------===//

/// Checks the code tensor's element type against the attribute.
static LogicalResult verifyCodeType(Operation *op, QuantAttr quant, Type code,
                                    StringRef what) {
  if (quant.isFloat8()) {
    bool match = quant.getKind() == QuantKind::E4M3 ? isa<Float8E4M3FNType>(code)
                                                    : isa<Float8E5M2Type>(code);
    if (!match)
      return op->emitOpError() << what << " element type " << code
                               << " does not match fp8 kind '"
                               << stringifyQuantKind(quant.getKind()) << "'";
    return success();
  }
  auto it = dyn_cast<IntegerType>(code);
  unsigned need = quant.getBits() + (quant.getKind() == QuantKind::Bipolar ? 1 : 0);
  if (!it || !it.isSignless() || it.getWidth() < need || it.getWidth() > 32)
    return op->emitOpError() << what << " element type " << code
                             << " cannot hold " << quant.getBits() << "-bit "
                             << stringifyQuantKind(quant.getKind())
                             << " codes; expected a signless integer of "
                             << need << " to 32 bits";
  return success();
}

/// Checks scale and zero-point shapes against the granularity.
static LogicalResult verifyQuantParams(Operation *op, QuantAttr quant,
                                       RankedTensorType values, Value scale,
                                       Value zeroPoint) {
  auto scaleType = cast<RankedTensorType>(scale.getType());
  if (scaleType.getElementType() != quant.getScaleType())
    return op->emitOpError("scale element type ")
           << scaleType.getElementType() << " differs from the attribute's "
           << "scale_type " << quant.getScaleType();
  if (quant.hasZeroPoint() != static_cast<bool>(zeroPoint))
    return op->emitOpError(quant.hasZeroPoint()
                               ? "scheme = asymmetric needs a zero-point operand"
                               : "a zero-point operand needs scheme = asymmetric");
  if (zeroPoint) {
    auto zpType = cast<RankedTensorType>(zeroPoint.getType());
    if (zpType.getShape() != scaleType.getShape())
      return op->emitOpError("zero point shape must equal the scale shape");
    Type e = zpType.getElementType();
    if (!isa<IntegerType, FloatType>(e))
      return op->emitOpError("zero point element type ") << e << " is not numeric";
  }

  SmallVector<int64_t> want;
  int64_t axis = quant.getAxis();
  if (quant.getGranularity() != QuantGranularity::PerTensor &&
      quant.getGranularity() != QuantGranularity::PerBlock && axis >= values.getRank())
    return op->emitOpError("axis ")
           << axis << " is out of range for rank " << values.getRank();
  switch (quant.getGranularity()) {
  case QuantGranularity::PerTensor:
    break;
  case QuantGranularity::PerChannel:
    want.push_back(values.getDimSize(axis));
    break;
  case QuantGranularity::PerBlock: {
    // The last two dimensions in blocks of group_size, rounded up.
    if (values.getRank() < 2)
      return op->emitOpError("block granularity needs a tensor of rank 2 or more, not ")
             << values;
    want.assign(values.getShape().begin(), values.getShape().end());
    for (int64_t d = values.getRank() - 2; d < values.getRank(); ++d)
      if (!ShapedType::isDynamic(want[d]))
        want[d] = (want[d] + quant.getGroupSize() - 1) / quant.getGroupSize();
    break;
  }
  case QuantGranularity::PerGroup: {
    want.assign(values.getShape().begin(), values.getShape().end());
    int64_t dim = values.getDimSize(axis);
    int64_t g = quant.getGroupSize();
    if (!ShapedType::isDynamic(dim)) {
      if (dim % g != 0)
        return op->emitOpError("dimension ")
               << axis << " of size " << dim
               << " is not a multiple of group_size " << g;
      want[axis] = dim / g;
    }
    break;
  }
  }
  ArrayRef<int64_t> got = scaleType.getShape();
  bool ok = got.size() == want.size();
  for (size_t i = 0; ok && i < want.size(); ++i)
    ok = ShapedType::isDynamic(want[i]) || ShapedType::isDynamic(got[i]) ||
         want[i] == got[i];
  if (!ok) {
    std::string w = "[";
    for (size_t i = 0; i < want.size(); ++i)
      w += (i ? ", " : "") + dimStr(want[i]);
    w += "]";
    return op->emitOpError("scale shape does not match ")
           << stringifyQuantGranularity(quant.getGranularity())
           << " granularity: expected " << w << " ("
           << (want.empty() ? "a rank-0 tensor" : "see docs/dialect.md") << ")";
  }
  return success();
}

LogicalResult QuantizeOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getResult().getType());
  if (!isa<FloatType>(in.getElementType()))
    return emitOpError("input must be a float tensor, got ") << in;
  if (in.getShape() != out.getShape())
    return emitOpError("result shape must equal the input shape");
  if (failed(verifyCodeType(*this, getQuant(), out.getElementType(), "result")))
    return failure();
  return verifyQuantParams(*this, getQuant(), in, getScale(), getZeroPoint());
}

LogicalResult DequantizeOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getResult().getType());
  if (!isa<FloatType>(out.getElementType()))
    return emitOpError("result must be a float tensor, got ") << out;
  if (in.getShape() != out.getShape())
    return emitOpError("result shape must equal the input shape");
  if (failed(verifyCodeType(*this, getQuant(), in.getElementType(), "input")))
    return failure();
  return verifyQuantParams(*this, getQuant(), in, getScale(), getZeroPoint());
}

LogicalResult DynamicQuantizeOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto codes = cast<RankedTensorType>(getCodes().getType());
  auto scales = cast<RankedTensorType>(getScales().getType());
  QuantAttr q = getQuant();
  Type e = in.getElementType();
  if (!e.isF16() && !e.isBF16() && !e.isF32())
    return emitOpError("input must be f16, bf16 or f32, not ") << e;
  // FP8 codes in groups along the last dimension (DeepSeek-V3's activations:
  // one scale per token per 128 channels).
  if (q.isFloat8()) {
    int64_t last = in.getRank() - 1, g = q.getGroupSize();
    if (q.getGranularity() != QuantGranularity::PerGroup || q.getAxis() != last || g <= 0 ||
        !q.getScaleType().isF32() || last < 0)
      return emitOpError("fp8 codes take one f32 scale per group of the last dimension "
                         "(granularity = group, axis = ")
             << last << ", group_size > 0, scale_type = f32)";
    if (codes.getShape() != in.getShape())
      return emitOpError("codes must have the input's shape, got ") << codes;
    if (failed(verifyCodeType(*this, q, codes.getElementType(), "code")))
      return failure();
    SmallVector<int64_t> shape(in.getShape());
    if (!ShapedType::isDynamic(shape.back()))
      shape.back() = (shape.back() + g - 1) / g;
    if (scales.getShape() != ArrayRef<int64_t>(shape) || !scales.getElementType().isF32())
      return emitOpError("scales must be f32 of the input's shape with its last dimension in "
                         "groups of ")
             << g << " (" << RankedTensorType::get(shape, Float32Type::get(getContext()))
             << "), got " << scales;
    return success();
  }
  if (q.getKind() != QuantKind::Signed || q.hasZeroPoint() || q.getBits() < 2 || q.getBits() > 8)
    return emitOpError("takes symmetric signed codes of 2 to 8 bits (the scales come from each "
                       "channel's largest magnitude)");
  if (q.getGranularity() != QuantGranularity::PerChannel || !q.getScaleType().isF32())
    return emitOpError("finds one f32 scale per channel (granularity = channel, scale_type = "
                       "f32)");
  if (in.getRank() < 1 || q.getAxis() < 0 || q.getAxis() >= in.getRank())
    return emitOpError("axis ") << q.getAxis() << " is not a dimension of " << in;
  if (codes.getShape() != in.getShape() || !codes.getElementType().isSignlessInteger(8))
    return emitOpError("codes must be i8 with the input's shape, got ") << codes;
  if (scales.getRank() != 1 || scales.getDimSize(0) != in.getDimSize(q.getAxis()) ||
      !scales.getElementType().isF32())
    return emitOpError("scales must be f32, one per index of dimension ")
           << q.getAxis() << " (tensor<" << in.getDimSize(q.getAxis()) << "xf32>), got " << scales;
  return success();
}

//===----------------------------------------------------------------------===//
// PackOp / UnpackOp
//===----------------------------------------------------------------------===//

/// A packed type matches its expected type when shapes agree where both are
/// static (a user may know a nonzero count the verifier cannot).
static bool packedTypeMatches(RankedTensorType want, Type got) {
  auto g = dyn_cast<RankedTensorType>(got);
  if (!g || g.getElementType() != want.getElementType() ||
      g.getRank() != want.getRank())
    return false;
  for (int64_t i = 0; i < want.getRank(); ++i)
    if (!want.isDynamicDim(i) && want.getDimSize(i) != g.getDimSize(i))
      return false;
  return true;
}

static LogicalResult verifyPacked(Operation *op, PackLayoutAttr layout,
                                  RankedTensorType dense, TypeRange packed,
                                  StringRef what, StringRef one) {
  FailureOr<SmallVector<RankedTensorType>> want =
      getPackedTypes(layout, dense, [&] { return op->emitOpError(); });
  if (failed(want))
    return failure();
  if (want->size() != packed.size())
    return op->emitOpError("layout '")
           << stringifyPackFormat(layout.getFormat()) << "' has "
           << want->size() << " " << what << " but the op has "
           << packed.size();
  for (auto [i, pair] : llvm::enumerate(llvm::zip(*want, packed)))
    if (!packedTypeMatches(std::get<0>(pair), std::get<1>(pair)))
      return op->emitOpError() << one << " #" << i << " has type "
                               << std::get<1>(pair) << " but layout '"
                               << stringifyPackFormat(layout.getFormat())
                               << "' stores " << std::get<0>(pair);
  return success();
}

LogicalResult PackOp::verify() {
  return verifyPacked(*this, getLayout(),
                      cast<RankedTensorType>(getInput().getType()),
                      getResultTypes(), "results", "result");
}

LogicalResult UnpackOp::verify() {
  return verifyPacked(*this, getLayout(),
                      cast<RankedTensorType>(getResult().getType()),
                      getInputs().getTypes(), "operands", "operand");
}

//===----------------------------------------------------------------------===//
// FFTConvOp
//===----------------------------------------------------------------------===//

LogicalResult FFTConvOp::verify() {
  auto u = cast<RankedTensorType>(getInput().getType());
  auto k = cast<RankedTensorType>(getKernel().getType());
  auto y = cast<RankedTensorType>(getResult().getType());
  for (auto [name, t] : {std::pair{"input", u}, {"kernel", k}, {"result", y}}) {
    if (!isa<FloatType>(t.getElementType()) ||
        isa<Float8E4M3FNType, Float8E5M2Type>(t.getElementType()))
      return emitOpError() << name << " must be an f64/f32/f16/bf16 tensor, got "
                           << t;
    if (t.getRank() < 1)
      return emitOpError() << name << " must have rank >= 1";
  }
  if (y.getShape() != u.getShape())
    return emitOpError("result shape must equal the input shape");
  if (k.getRank() > u.getRank())
    return emitOpError("kernel rank ")
           << k.getRank() << " exceeds input rank " << u.getRank();
  int64_t n = u.getShape().back(), l = k.getShape().back();
  if (!ShapedType::isDynamic(n) && !ShapedType::isDynamic(l) && l > n)
    return emitOpError("kernel length ")
           << l << " exceeds the sequence length " << n;
  // Kernel leading dims align with the input's trailing leading dims.
  int64_t off = u.getRank() - k.getRank();
  for (int64_t i = 0; i + 1 < k.getRank(); ++i) {
    int64_t kd = k.getDimSize(i), ud = u.getDimSize(off + i);
    if (kd != 1 && !ShapedType::isDynamic(kd) && !ShapedType::isDynamic(ud) &&
        kd != ud)
      return emitOpError("kernel dimension ")
             << i << " of size " << kd << " does not broadcast against input "
             << "dimension " << off + i << " of size " << ud;
  }
  for (auto [name, gate] : {std::pair{"pre_gate", getPreGate()},
                            {"post_gate", getPostGate()}}) {
    if (!gate)
      continue;
    auto g = cast<RankedTensorType>(gate.getType());
    if (g.getShape() != u.getShape() || !isa<FloatType>(g.getElementType()))
      return emitOpError() << name << " must be a float tensor of the input's "
                           << "shape, got " << g;
  }
  if (std::optional<int64_t> f = getFreqCutoff()) {
    if (*f <= 0)
      return emitOpError("freq_cutoff must be positive, got ") << *f;
    if (!ShapedType::isDynamic(n)) {
      int64_t m = getMode() == FFTConvMode::Causal ? 2 * n : n;
      if (*f > m / 2 + 1)
        return emitOpError("freq_cutoff ")
               << *f << " exceeds the " << m / 2 + 1
               << " distinct frequencies of a length-" << m << " FFT";
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

MeshAttr mlir::loom::enclosingMesh(Operation *op) {
  for (Operation *p = op; p; p = p->getParentOp())
    if (auto mesh = p->getAttrOfType<MeshAttr>("loom.mesh"))
      return mesh;
  return {};
}

/// The size of the op's mesh axis, or failure (no mesh, no such axis).
static FailureOr<int64_t> collectiveAxis(Operation *op, StringRef axis) {
  MeshAttr mesh = enclosingMesh(op);
  if (!mesh)
    return op->emitOpError("needs a device mesh: set `loom.mesh` on the function"),
           failure();
  int64_t n = mesh.getAxisSize(axis);
  if (n == 0)
    return op->emitOpError("names mesh axis \"") << axis << "\", which the mesh " << mesh
                                                 << " does not have",
           failure();
  return n;
}

/// The result is the input with dimension `dim` times `mul` / `div`
/// (`split` and `concat` for an all-to-all).
static LogicalResult verifyResized(Operation *op, StringRef axis,
                                   ArrayRef<std::pair<int64_t, bool>> dims) {
  FailureOr<int64_t> n = collectiveAxis(op, axis);
  if (failed(n))
    return failure();
  auto in = cast<RankedTensorType>(op->getOperand(0).getType());
  auto out = cast<RankedTensorType>(op->getResult(0).getType());
  if (in.getElementType() != out.getElementType() || in.getRank() != out.getRank())
    return op->emitOpError("result ") << out << " must have the input's element type and rank ("
                                      << in << ")";
  SmallVector<int64_t> want(in.getShape());
  for (auto [dim, grow] : dims) {
    if (dim < 0 || dim >= in.getRank())
      return op->emitOpError("dimension ") << dim << " is out of range for " << in;
    if (ShapedType::isDynamic(want[dim]))
      return op->emitOpError("dimension ") << dim << " must be static";
    if (!grow && want[dim] % *n != 0)
      return op->emitOpError("dimension ")
             << dim << " of size " << want[dim] << " does not split over mesh axis \"" << axis
             << "\" of " << *n << " ranks";
    want[dim] = grow ? want[dim] * *n : want[dim] / *n;
  }
  if (out.getShape() != ArrayRef<int64_t>(want))
    return op->emitOpError("result ") << out << " does not match the input " << in
                                      << " over mesh axis \"" << axis << "\" of " << *n
                                      << " ranks";
  return success();
}

LogicalResult AllReduceOp::verify() {
  if (failed(collectiveAxis(*this, getMeshAxis())))
    return failure();
  Type t = getInput().getType().getElementType();
  if (!isa<FloatType>(t) && !t.isSignlessInteger(32))
    return emitOpError("sums floats or i32, not ") << t;
  return success();
}
LogicalResult AllGatherOp::verify() {
  return verifyResized(*this, getMeshAxis(), {{getDim(), true}});
}
LogicalResult ReduceScatterOp::verify() {
  Type t = getInput().getType().getElementType();
  if (!isa<FloatType>(t) && !t.isSignlessInteger(32))
    return emitOpError("sums floats or i32, not ") << t;
  return verifyResized(*this, getMeshAxis(), {{getDim(), false}});
}
LogicalResult AllToAllOp::verify() {
  if (getSplitDim() == getConcatDim())
    return emitOpError("splits and concatenates the same dimension ") << getSplitDim();
  return verifyResized(*this, getMeshAxis(), {{getSplitDim(), false}, {getConcatDim(), true}});
}
LogicalResult ShardSliceOp::verify() {
  return verifyResized(*this, getMeshAxis(), {{getDim(), false}});
}
