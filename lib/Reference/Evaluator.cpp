//===- Evaluator.cpp - run a loom function on the CPU ---------------------===//
#include "einloom/Reference/Evaluator.h"
#include "einloom/Reference/Kernels.h"

#include "Loom/EinsumSpec.h"
#include "Loom/LoomOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace einloom::ref;

FailureOr<DType> einloom::ref::toDType(Type t) {
  if (t.isF64()) return DType::F64;
  if (t.isF32()) return DType::F32;
  if (t.isF16()) return DType::F16;
  if (t.isBF16()) return DType::BF16;
  if (isa<Float8E4M3FNType>(t)) return DType::F8E4M3FN;
  if (isa<Float8E5M2Type>(t)) return DType::F8E5M2;
  if (t.isSignlessInteger(64)) return DType::I64;
  if (t.isSignlessInteger(32)) return DType::I32;
  if (t.isSignlessInteger(16)) return DType::I16;
  if (t.isSignlessInteger(8)) return DType::I8;
  if (t.isSignlessInteger(4)) return DType::I4;
  return failure();
}

static QuantParams toParams(loom::QuantAttr a) {
  QuantParams q;
  q.bits = a.getBits();
  q.kind = static_cast<QuantKind>(a.getKind());
  q.zeroPoint = a.hasZeroPoint();
  q.granularity = static_cast<Granularity>(a.getGranularity());
  q.axis = a.getAxis();
  q.groupSize = a.getGroupSize();
  return q;
}

static PackParams toParams(loom::PackLayoutAttr a) {
  PackParams p;
  p.format = static_cast<PackFormat>(a.getFormat());
  p.bits = a.getBits();
  p.tileRows = a.getTileRows();
  p.tileCols = a.getTileCols();
  p.kind = static_cast<QuantKind>(a.getKind());
  return p;
}

namespace {
class Evaluator {
public:
  LogicalResult run(func::FuncOp func, const std::vector<Tensor> &args,
                    std::vector<Tensor> &results) {
    if (failed(bindAll(func, args)))
      return failure();
    Block &body = func.getBody().front();
    for (Operation &op : body) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        for (Value v : ret.getOperands())
          results.push_back(values.lookup(v));
        return success();
      }
      if (failed(evaluate(op)))
        return failure();
    }
    return func.emitError("reference: function has no return");
  }

  /// Binds `args` to the function's arguments; with step, valueOf and
  /// setValue, the pieces of a lockstep run over a mesh (evaluateMesh).
  LogicalResult bindAll(func::FuncOp func, const std::vector<Tensor> &args) {
    Block &body = func.getBody().front();
    if (args.size() != body.getNumArguments())
      return func.emitError("reference: expected ")
             << body.getNumArguments() << " inputs, got " << args.size();
    for (auto [i, arg] : llvm::enumerate(body.getArguments()))
      if (failed(bindArgument(func, i, arg, args[i])))
        return failure();
    return success();
  }
  LogicalResult step(Operation &op) { return evaluate(op); }
  const Tensor &valueOf(Value v) { return values[v]; }
  void setValue(Value v, Tensor t) { values[v] = std::move(t); }

private:
  LogicalResult bindArgument(func::FuncOp func, size_t i, BlockArgument arg,
                             const Tensor &t) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type)
      return func.emitError("reference: argument #")
             << i << " is not a ranked tensor";
    FailureOr<DType> dt = toDType(type.getElementType());
    if (failed(dt) || *dt != t.dtype)
      return func.emitError("reference: argument #")
             << i << " has element type " << type.getElementType()
             << " but its input is " << dtypeName(t.dtype);
    bool ok = type.getRank() == t.rank();
    for (int64_t d = 0; ok && d < type.getRank(); ++d)
      ok = type.isDynamicDim(d) || type.getDimSize(d) == t.shape[d];
    if (!ok)
      return func.emitError("reference: argument #")
             << i << " has type " << type << " but its input has shape "
             << t.typeStr();
    values[arg] = t;
    return success();
  }

  FailureOr<DType> resultDType(Operation &op, Value v) {
    FailureOr<DType> dt =
        toDType(cast<ShapedType>(v.getType()).getElementType());
    if (failed(dt))
      op.emitError("reference: element type ")
          << cast<ShapedType>(v.getType()).getElementType()
          << " is not modelled";
    return dt;
  }

  LogicalResult check(Operation &op, bool ok, const std::string &err) {
    if (ok)
      return success();
    return op.emitError("reference: ") << err;
  }

  LogicalResult evaluate(Operation &op) {
    return llvm::TypeSwitch<Operation *, LogicalResult>(&op)
        .Case<arith::ConstantOp>([&](auto c) { return constant(c); })
        .Case<loom::EinsumOp>([&](auto e) { return einsumOp(e); })
        .Case<loom::ScaleOp>([&](loom::ScaleOp s) {
          double a = s.getAlpha().convertToDouble();
          return elementwise(op, s.getInput(), [&](double x, int64_t) { return a * x; });
        })
        .Case<loom::AddOp>([&](loom::AddOp s) {
          double beta = s.getBeta().convertToDouble();
          const Tensor &y = values[s.getRhs()];
          return elementwise(op, s.getLhs(), [&](double x, int64_t i) {
            return x + beta * y.data[static_cast<size_t>(i % y.numel())];
          });
        })
        .Case<loom::ActivationOp>([&](loom::ActivationOp s) {
          Epilogue::Act act = actOf(s.getKind());
          return elementwise(op, s.getInput(), [&](double x, int64_t) { return activate(act, x); });
        })
        .Case<loom::CastOp>([&](loom::CastOp s) {
          return elementwise(op, s.getInput(), [](double x, int64_t) { return x; });
        })
        .Case<loom::QuantizeOp, loom::DequantizeOp>([&](auto q) {
          FailureOr<DType> dt = resultDType(op, q.getResult());
          if (failed(dt))
            return failure();
          Tensor zp, out;
          Value z = q.getZeroPoint();
          std::string err;
          bool ok;
          if constexpr (std::is_same_v<decltype(q), loom::QuantizeOp>)
            ok = quantize(values[q.getInput()], values[q.getScale()],
                          z ? &values[z] : nullptr, toParams(q.getQuant()),
                          *dt, out, err);
          else
            ok = dequantize(values[q.getInput()], values[q.getScale()],
                            z ? &values[z] : nullptr, toParams(q.getQuant()),
                            *dt, out, err);
          values[q.getResult()] = std::move(out);
          return check(op, ok, err);
        })
        .Case<loom::DynamicQuantizeOp>([&](loom::DynamicQuantizeOp q) {
          Tensor codes, scales;
          std::string err;
          loom::QuantAttr qa = q.getQuant();
          bool ok = qa.isFloat8()
                        ? dynamicQuantizeGroups(values[q.getInput()],
                                                qa.getKind() == loom::QuantKind::E4M3
                                                    ? DType::F8E4M3FN
                                                    : DType::F8E5M2,
                                                qa.getGroupSize(), codes, scales, err)
                        : dynamicQuantize(values[q.getInput()], static_cast<int>(qa.getBits()),
                                          qa.getAxis(), codes, scales, err);
          values[q.getCodes()] = std::move(codes);
          values[q.getScales()] = std::move(scales);
          return check(op, ok, err);
        })
        .Case<loom::PackOp>([&](loom::PackOp p) {
          std::vector<Tensor> out;
          std::string err;
          if (failed(check(op, pack(values[p.getInput()], toParams(p.getLayout()), out, err), err)))
            return failure();
          for (auto [r, t] : llvm::zip(p.getResults(), out))
            values[r] = std::move(t);
          return success();
        })
        .Case<loom::UnpackOp>([&](loom::UnpackOp u) {
          std::vector<const Tensor *> in;
          for (Value v : u.getInputs())
            in.push_back(&values[v]);
          auto type = cast<RankedTensorType>(u.getResult().getType());
          FailureOr<DType> dt = resultDType(op, u.getResult());
          if (failed(dt))
            return failure();
          Tensor out;
          std::string err;
          bool ok = unpack(in, toParams(u.getLayout()),
                           std::vector<int64_t>(type.getShape()), *dt, out, err);
          values[u.getResult()] = std::move(out);
          return check(op, ok, err);
        })
        .Case<loom::FFTConvOp>([&](loom::FFTConvOp f) {
          FailureOr<DType> dt = resultDType(op, f.getResult());
          if (failed(dt))
            return failure();
          FFTConvParams p;
          p.causal = f.getMode() == loom::FFTConvMode::Causal;
          p.freqCutoff = f.getFreqCutoff().value_or(0);
          Value pre = f.getPreGate(), post = f.getPostGate();
          Tensor out;
          std::string err;
          bool ok = fftconv(values[f.getInput()], values[f.getKernel()],
                            pre ? &values[pre] : nullptr,
                            post ? &values[post] : nullptr, p, *dt, out, err);
          values[f.getResult()] = std::move(out);
          return check(op, ok, err);
        })
        .Default([&](Operation *o) {
          return o->emitError("reference: op '")
                 << o->getName() << "' is not supported by the reference "
                 << "evaluator";
        });
  }

  LogicalResult constant(arith::ConstantOp c) {
    auto attr = dyn_cast<DenseElementsAttr>(c.getValue());
    if (!attr)
      return c.emitError("reference: only dense tensor constants are supported");
    FailureOr<DType> dt = resultDType(*c, c.getResult());
    if (failed(dt))
      return failure();
    Tensor t(*dt, std::vector<int64_t>(attr.getType().getShape()));
    int64_t i = 0;
    if (isa<FloatType>(attr.getElementType()))
      for (APFloat v : attr.getValues<APFloat>())
        t.data[i++] = v.convertToDouble();
    else
      for (APInt v : attr.getValues<APInt>())
        t.data[i++] = static_cast<double>(v.getSExtValue());
    values[c.getResult()] = std::move(t);
    return success();
  }

  LogicalResult einsumOp(loom::EinsumOp e) {
    FailureOr<loom::EinsumSpec> spec = loom::parseSpec(e);
    if (failed(spec))
      return e.emitError("reference: invalid spec");
    FailureOr<DType> dt = resultDType(*e, e.getResult());
    if (failed(dt))
      return failure();
    std::vector<const Tensor *> in;
    for (Value v : e.getInputs())
      in.push_back(&values[v]);
    // A fused dequantized weight: the codes dequantized to the first
    // operand's type, as loom.dequantize would give them.
    Tensor weight;
    if (std::optional<loom::QuantAttr> q = e.getWeightQuant()) {
      FailureOr<DType> wt = resultDType(*e, e.getInputs()[0]);
      if (failed(wt))
        return failure();
      Value z = e.getZeroPoint();
      std::string err;
      if (!dequantize(values[e.getInputs()[1]], values[e.getScale()], z ? &values[z] : nullptr,
                      toParams(*q), *wt, weight, err))
        return check(*e, false, err);
      in[1] = &weight;
    }
    // Block scales: the operands scaled element by element (f64), so that
    // the plain sum is the block-scaled one.
    Tensor scaledA, scaledB;
    if (std::optional<ArrayRef<int64_t>> blk = e.getScaleBlock()) {
      std::string err;
      if (!applyBlockScales(*in[0], *in[1], spec->inputs[0], spec->inputs[1], spec->output,
                            values[e.getRowScale()], values[e.getColScale()], (*blk)[0],
                            (*blk)[1], scaledA, scaledB, err))
        return check(*e, false, err);
      in = {&scaledA, &scaledB};
    }
    EinsumOptions opts;
    opts.tf32 = e.getAllowTf32();
    opts.intAccBits = isa<IntegerType>(e.getAccumulatorType()) ? 32 : 0;
    Epilogue ep = epilogueOf(e);
    bool fused = e.hasEpilogue();
    Tensor out;
    std::string err;
    // With an epilogue: the sums unrounded (f64), then the epilogue, then one rounding.
    bool ok = einsum(in, std::vector<std::string>(spec->inputs.begin(), spec->inputs.end()),
                     spec->output, fused ? DType::F64 : *dt, opts, out, err);
    if (ok && fused) {
      for (int64_t i = 0; i < out.numel(); ++i)
        out.data[i] = roundResult(*dt, ep.apply(out.data[i], i));
      out.dtype = *dt;
    }
    if (ok && e.hasBlockMask()) {
      ArrayRef<int64_t> blk = *e.getMaskBlock();
      ok = applyBlockMask(out, values[e.getBlockMask()], blk[0], blk[1],
                          e.getMaskFill() ? e.getMaskFill()->convertToDouble() : 0.0, err);
    }
    values[e.getResult()] = std::move(out);
    return check(*e, ok, err);
  }

  Epilogue epilogueOf(loom::EinsumOp e) {
    Epilogue ep;
    if (auto a = e.getAlpha())
      ep.alpha = a->convertToDouble();
    if (auto b = e.getBeta())
      ep.beta = b->convertToDouble();
    if (auto act = e.getActivation())
      ep.act = actOf(*act);
    if (Value b = e.getBias())
      ep.bias = &values[b];
    if (Value r = e.getResidual())
      ep.residual = &values[r];
    // (Block scales are folded into the operands instead.)
    if (Value s = e.getRowScale(); s && !e.hasBlockScales())
      ep.rowScale = &values[s];
    if (Value s = e.getColScale(); s && !e.hasBlockScales())
      ep.colScale = &values[s];
    if (Value z = e.getRowZero())
      ep.rowZero = &values[z];
    if (Value c = e.getColSum())
      ep.colSum = &values[c];
    auto shape = cast<RankedTensorType>(e.getResult().getType()).getShape();
    ep.cols = shape.empty() ? 1 : std::max<int64_t>(1, shape.back());
    return ep;
  }

  static Epilogue::Act actOf(loom::Activation a) {
    switch (a) {
    case loom::Activation::Relu: return Epilogue::Act::Relu;
    case loom::Activation::Gelu: return Epilogue::Act::Gelu;
    case loom::Activation::Silu: return Epilogue::Act::Silu;
    }
    return Epilogue::Act::None;
  }

  /// An elementwise op: `f(x, i)` at each flat index, rounded to the result type.
  LogicalResult elementwise(Operation &op, Value input, function_ref<double(double, int64_t)> f) {
    Value r = op.getResult(0);
    FailureOr<DType> dt = resultDType(op, r);
    if (failed(dt))
      return failure();
    const Tensor &x = values[input];
    Tensor out(*dt, x.shape);
    for (int64_t i = 0; i < x.numel(); ++i)
      out.data[i] = roundResult(*dt, f(x.data[i], i));
    values[r] = std::move(out);
    return success();
  }

  llvm::DenseMap<Value, Tensor> values;
};

/// The values an argument needs, read off its first telling use.
struct ArgumentRole {
  Role role = Role::Data;
  int64_t lo = 0, hi = 0;
  bool bipolar = false;
  bool twoFour = false;
};

ArgumentRole roleOf(BlockArgument arg) {
  ArgumentRole r;
  for (OpOperand &use : arg.getUses()) {
    Operation *op = use.getOwner();
    unsigned n = use.getOperandNumber();
    loom::QuantAttr quant;
    bool codesIn = false;
    if (auto q = dyn_cast<loom::QuantizeOp>(op))
      quant = q.getQuant();
    if (auto d = dyn_cast<loom::DequantizeOp>(op)) {
      quant = d.getQuant();
      codesIn = true;
    }
    // A fused dequantized weight: its codes, scale and zero point play the
    // roles of loom.dequantize's operands 0, 1 and 2.
    if (auto e = dyn_cast<loom::EinsumOp>(op); e && e.hasDequantizedWeight()) {
      Value v = use.get();
      int role = &use == &e.getInputsMutable()[1] ? 0
                 : v == e.getScale()              ? 1
                 : v == e.getZeroPoint()          ? 2
                                                  : -1;
      if (role >= 0) {
        quant = *e.getWeightQuant();
        codesIn = true;
        n = static_cast<unsigned>(role);
      }
    }
    if (quant) {
      if (n == 1) {
        r.role = Role::Scale;
        return r;
      }
      if (quant.isFloat8() && n == 0 && codesIn)
        return r; // fp8 codes: plain data of the fp8 type
      if (n == 2 || (n == 0 && codesIn)) {
        r.role = n == 2 ? Role::ZeroPoint : Role::Codes;
        r.lo = quant.getMinCode();
        r.hi = quant.getMaxCode();
        r.bipolar = quant.getKind() == loom::QuantKind::Bipolar;
        return r;
      }
    }
    if (auto p = dyn_cast<loom::PackOp>(op)) {
      loom::PackLayoutAttr l = p.getLayout();
      if (l.getFormat() == loom::PackFormat::TwoFour) {
        r.twoFour = true;
        return r;
      }
      if (l.getFormat() == loom::PackFormat::Fragment ||
          l.getFormat() == loom::PackFormat::AFragment ||
          l.getFormat() == loom::PackFormat::BitPlanes) {
        QuantParams q;
        q.bits = static_cast<unsigned>(l.getBits());
        q.kind = static_cast<QuantKind>(l.getKind());
        r.role = Role::Codes;
        r.lo = q.minCode();
        r.hi = q.maxCode();
        r.bipolar = q.kind == QuantKind::Bipolar;
        return r;
      }
    }
  }
  return r;
}
} // namespace

/// The reference holds every element of every value as a double, all at
/// once: fails, with an error at `func`, when those of its arguments and
/// results alone would not fit in this machine's memory (rather than
/// failing to allocate them part way).
static LogicalResult checkFitsInMemory(func::FuncOp func) {
  double elements = 0;
  auto count = [&](Value v) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || !t.hasStaticShape())
      return;
    double n = 1; // in double: a shape's product may overflow 64 bits
    for (int64_t d : t.getShape())
      n *= static_cast<double>(d);
    elements += n;
  };
  for (BlockArgument a : func.getArguments())
    count(a);
  func.walk([&](Operation *op) {
    for (Value r : op->getResults())
      count(r);
  });
  double have = static_cast<double>(usableMemoryBytes());
  double need = elements * sizeof(double);
  if (have == 0 || need <= have)
    return success();
  char text[160];
  std::snprintf(text, sizeof(text),
                "reference: this function's tensors hold %.3g elements, %.1f GiB as the "
                "reference's doubles; this process may use %.1f GiB of memory",
                elements, need / (1 << 30), have / (1 << 30));
  return func.emitError(text);
}

FailureOr<std::vector<Tensor>>
einloom::ref::evaluate(func::FuncOp func, const std::vector<Tensor> &args) {
  if (failed(checkFitsInMemory(func)))
    return failure();
  std::vector<Tensor> results;
  Evaluator e;
  if (failed(e.run(func, args, results)))
    return failure();
  return results;
}

std::optional<std::pair<int64_t, int64_t>> einloom::ref::codeRangeOf(BlockArgument arg) {
  ArgumentRole r = roleOf(arg);
  if (r.role != Role::Codes && r.role != Role::ZeroPoint)
    return std::nullopt;
  return std::make_pair(r.lo, r.hi);
}

FailureOr<std::vector<Tensor>> einloom::ref::randomArguments(func::FuncOp func,
                                                             uint64_t seed) {
  if (failed(checkFitsInMemory(func)))
    return failure();
  std::vector<Tensor> args;
  Random rng(seed);
  for (BlockArgument arg : func.getBody().front().getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type || !type.hasStaticShape())
      return func.emitError("reference: argument #")
             << arg.getArgNumber() << " (" << arg.getType()
             << ") has no static shape; pass its value with --inputs";
    FailureOr<DType> dt = toDType(type.getElementType());
    if (failed(dt))
      return func.emitError("reference: argument #")
             << arg.getArgNumber() << " has element type "
             << type.getElementType() << ", which is not modelled";
    Tensor t(*dt, std::vector<int64_t>(type.getShape()));
    ArgumentRole role = roleOf(arg);
    if (role.bipolar) {
      // Draw the unsigned field u in [0, 2^b - 1]; the code 2u - (2^b - 1)
      // is odd.
      fillRandom(t, rng, Role::Codes, 0, role.hi);
      for (double &v : t.data)
        v = 2 * v - double(role.hi);
    } else {
      fillRandom(t, rng, role.role, role.lo, role.hi);
    }
    if (role.twoFour)
      for (int64_t i = 0; i < t.numel(); ++i)
        // Keep lane 3 and one of lanes 0-2 of every group of four.
        if ((i % 4) != static_cast<int64_t>((i / 4) % 3) && (i % 4) != 3)
          t.data[i] = 0;
    args.push_back(std::move(t));
  }
  return args;
}

//===----------------------------------------------------------------------===//
// Programs over a device mesh: every rank's copy in lockstep, the
// collectives applied on the host by their definitions (LoomOps.td).
//===----------------------------------------------------------------------===//

namespace {
/// The slices of `t` along `dim` into `n` equal parts: part `i`.
Tensor slice(const Tensor &t, int64_t dim, int64_t n, int64_t i) {
  std::vector<int64_t> shape = t.shape;
  shape[dim] /= n;
  Tensor out(t.dtype, shape);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d)
    outer *= t.shape[d];
  for (int64_t d = dim + 1; d < t.rank(); ++d)
    inner *= t.shape[d];
  int64_t len = shape[dim] * inner;
  for (int64_t o = 0; o < outer; ++o)
    std::copy_n(t.data.begin() + o * t.shape[dim] * inner + i * len, len,
                out.data.begin() + o * len);
  return out;
}
/// `parts` concatenated along `dim`.
Tensor concat(const std::vector<Tensor> &parts, int64_t dim) {
  std::vector<int64_t> shape = parts[0].shape;
  shape[dim] *= static_cast<int64_t>(parts.size());
  Tensor out(parts[0].dtype, shape);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d)
    outer *= shape[d];
  for (int64_t d = dim + 1; d < out.rank(); ++d)
    inner *= shape[d];
  int64_t len = parts[0].shape[dim] * inner;
  for (int64_t o = 0; o < outer; ++o)
    for (size_t p = 0; p < parts.size(); ++p)
      std::copy_n(parts[p].data.begin() + o * len, len,
                  out.data.begin() + (o * static_cast<int64_t>(parts.size()) + p) * len);
  return out;
}
} // namespace

Tensor einloom::ref::sliceAlong(const Tensor &t, int64_t dim, int64_t parts, int64_t index) {
  return slice(t, dim, parts, index);
}
Tensor einloom::ref::concatAlong(const std::vector<Tensor> &parts, int64_t dim) {
  return concat(parts, dim);
}

FailureOr<std::vector<std::vector<Tensor>>>
einloom::ref::evaluateMesh(func::FuncOp func, const std::vector<std::vector<Tensor>> &args) {
  auto mesh = func->getAttrOfType<loom::MeshAttr>("loom.mesh");
  if (!mesh)
    return func.emitError("reference: a mesh run needs `loom.mesh` on the function"), failure();
  int64_t n = mesh.getNumRanks();
  if (static_cast<int64_t>(args.size()) != n)
    return func.emitError("reference: the mesh has ")
               << n << " ranks but " << args.size() << " sets of inputs were given",
           failure();
  if (failed(checkFitsInMemory(func)))
    return failure();
  std::vector<Evaluator> ranks(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r)
    if (failed(ranks[r].bindAll(func, args[r])))
      return failure();
  // The ranks of r's group along `axis` (index order), and r's index.
  auto group = [&](int64_t r, StringRef axis) {
    int64_t stride = 1, size = mesh.getAxisSize(axis);
    for (int64_t i = static_cast<int64_t>(mesh.getSizes().size()) - 1; i >= 0; --i) {
      if (mesh.getNames()[i].getValue() == axis)
        break;
      stride *= mesh.getSizes()[i];
    }
    int64_t at = mesh.getAxisIndex(axis, r);
    std::vector<int64_t> members;
    for (int64_t k = 0; k < size; ++k)
      members.push_back(r + (k - at) * stride);
    return std::pair{members, at};
  };
  // The group's sum, in f64 in index order, rounded once.
  auto sum = [&](Value v, const std::vector<int64_t> &members) {
    Tensor s = ranks[members[0]].valueOf(v);
    for (size_t m = 1; m < members.size(); ++m) {
      const Tensor &t = ranks[members[m]].valueOf(v);
      for (size_t i = 0; i < s.data.size(); ++i)
        s.data[i] += t.data[i];
    }
    for (double &x : s.data)
      x = roundTo(s.dtype, x);
    return s;
  };
  Block &body = func.getBody().front();
  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      std::vector<std::vector<Tensor>> results(static_cast<size_t>(n));
      for (int64_t r = 0; r < n; ++r)
        for (Value v : ret.getOperands())
          results[r].push_back(ranks[r].valueOf(v));
      return results;
    }
    auto axisAttr = op.getAttrOfType<StringAttr>("mesh_axis");
    if (!axisAttr || !isa<loom::AllReduceOp, loom::AllGatherOp, loom::ReduceScatterOp,
                          loom::AllToAllOp, loom::ShardSliceOp>(op)) {
      for (int64_t r = 0; r < n; ++r)
        if (failed(ranks[r].step(op)))
          return failure();
      continue;
    }
    // Every rank's result from the group's inputs (computed first: the
    // inputs stay as they are until all results are known).
    Value in = op.getOperand(0), out = op.getResult(0);
    std::vector<Tensor> got(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) {
      auto [members, at] = group(r, axisAttr.getValue());
      int64_t size = static_cast<int64_t>(members.size());
      std::vector<Tensor> all;
      for (int64_t m : members)
        all.push_back(ranks[m].valueOf(in));
      if (isa<loom::AllReduceOp>(op))
        got[r] = sum(in, members);
      else if (auto g = dyn_cast<loom::AllGatherOp>(op))
        got[r] = concat(all, g.getDim());
      else if (auto rs = dyn_cast<loom::ReduceScatterOp>(op))
        got[r] = slice(sum(in, members), rs.getDim(), size, at);
      else if (auto s = dyn_cast<loom::ShardSliceOp>(op))
        got[r] = slice(ranks[r].valueOf(in), s.getDim(), size, at);
      else {
        auto a = cast<loom::AllToAllOp>(op);
        std::vector<Tensor> received;
        for (const Tensor &t : all)
          received.push_back(slice(t, a.getSplitDim(), size, at));
        got[r] = concat(received, a.getConcatDim());
      }
    }
    for (int64_t r = 0; r < n; ++r)
      ranks[r].setValue(out, std::move(got[r]));
  }
  return func.emitError("reference: function has no return"), failure();
}
