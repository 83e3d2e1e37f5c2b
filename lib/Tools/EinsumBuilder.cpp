//===- EinsumBuilder.cpp - an einsum module from command-line words -------===//
#include "einloom/Tools.h"
#include "einloom/Reference/Kernels.h"

#include "Loom/EinsumSpec.h"
#include "Loom/LoomOps.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/MathExtras.h"
#include <cmath>

#include <cctype>
#include <map>

using namespace mlir;

Type einloom::parseElementTypeName(MLIRContext &ctx, StringRef name) {
  // The names users type, as MLIR's.
  static const std::pair<const char *, const char *> aliases[] = {
      {"double", "f64"},     {"float64", "f64"}, {"fp64", "f64"},   {"float", "f32"},
      {"float32", "f32"},    {"fp32", "f32"},    {"half", "f16"},   {"float16", "f16"},
      {"fp16", "f16"},       {"bfloat16", "bf16"}, {"e4m3", "f8E4M3FN"}, {"e4m3fn", "f8E4M3FN"},
      {"fp8", "f8E4M3FN"},   {"float8_e4m3fn", "f8E4M3FN"}, {"e5m2", "f8E5M2"},
      {"float8_e5m2", "f8E5M2"}, {"int8", "i8"}, {"int32", "i32"}, {"int", "i32"}};
  std::string lower = name.trim().lower();
  std::string text = name.trim().str();
  for (auto [alias, mlirName] : aliases)
    if (lower == alias)
      text = mlirName;
  if (text.empty())
    return Type();
  // (The parser reports a bad name itself; the caller says it better.)
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
  Type t = mlir::parseType(text, &ctx);
  return t && t.isIntOrFloat() ? t : Type();
}

LogicalResult einloom::setEinsumScale(ModuleOp module, double scale) {
  module.walk([&](loom::EinsumOp op) {
    if (scale != 1)
      op.setAlphaAttr(FloatAttr::get(Float64Type::get(module.getContext()), scale));
  });
  return verify(module);
}

OwningOpRef<ModuleOp> einloom::buildEinsumModule(MLIRContext &ctx, StringRef specText,
                                                 StringRef sizes, StringRef dtype,
                                                 StringRef acc, StringRef out, bool tf32) {
  ctx.loadDialect<loom::LoomDialect, func::FuncDialect>();
  Location loc = FileLineColLoc::get(&ctx, "--einsum", 1, 1);
  // Sizes first: `...=AxB` gives the dimensions `...` stands for (the same
  // in every operand that has it).
  std::map<char, int64_t> size;
  SmallVector<int64_t> ellipsisDims;
  SmallVector<StringRef> items;
  sizes.split(items, ',', -1, /*KeepEmpty=*/false);
  bool ellipsisGiven = false;
  for (StringRef item : items) {
    auto [label, value] = item.split('=');
    if (label.trim() == "...") {
      if (ellipsisGiven) {
        emitError(loc) << "'...' is given two sizes in '" << sizes << "'";
        return nullptr;
      }
      ellipsisGiven = true;
      SmallVector<StringRef> dims;
      value.trim().split(dims, 'x');
      for (StringRef d : dims) {
        int64_t v;
        if (d.getAsInteger(10, v) || v < 0) {
          emitError(loc) << "malformed size '" << item << "'; expected ...=AxB (e.g. ...=8x16)";
          return nullptr;
        }
        ellipsisDims.push_back(v);
      }
      continue;
    }
    int64_t v = ShapedType::kDynamic; // `?`: a dynamic size (size buckets)
    if (label.trim().size() != 1 ||
        (value.trim() != "?" && (value.trim().getAsInteger(10, v) || v < 0))) {
      emitError(loc) << "malformed size '" << item
                     << "'; expected LABEL=SIZE (e.g. m=4096), or LABEL=? for a dynamic size";
      return nullptr;
    }
    if (!size.emplace(label.trim()[0], v).second) {
      emitError(loc) << "label '" << label.trim() << "' is given two sizes in '" << sizes << "'";
      return nullptr;
    }
  }
  SmallVector<int64_t> ranks;
  {
    StringRef lhs = specText.split("->").first;
    SmallVector<StringRef> subs;
    lhs.split(subs, ',');
    for (StringRef sub : subs)
      ranks.push_back(llvm::count_if(sub, [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }) +
                      (sub.contains("...") ? static_cast<int64_t>(ellipsisDims.size()) : 0));
  }
  FailureOr<loom::EinsumSpec> spec = loom::EinsumSpec::parse(
      specText, ranks, [&](size_t pos, const Twine &msg) {
        emitError(loc) << "invalid einsum \"" << specText << "\" at position " << pos
                       << ": " << msg;
      });
  if (failed(spec))
    return nullptr;
  for (auto [label, d] : llvm::zip(spec->ellipsisLabels, ellipsisDims))
    size[label] = d;
  auto typeArg = [&](StringRef text, StringRef what) -> Type {
    Type t = parseElementTypeName(ctx, text);
    if (!t)
      emitError(loc) << "unknown " << what << " type '" << text
                     << "'; expected f64, f32, f16, bf16, f8E4M3FN, f8E5M2, i32 or i8 (or "
                        "double, float, half, fp16, bfloat16, e4m3, e5m2, int32, int8)";
    return t;
  };
  Type elem = typeArg(dtype, "--dtype");
  if (!elem)
    return nullptr;
  Type accT = acc.empty() ? Type() : typeArg(acc, "--acc");
  if (!acc.empty() && !accT)
    return nullptr;
  auto shapeOf = [&](const std::string &sub) -> std::optional<SmallVector<int64_t>> {
    SmallVector<int64_t> s;
    for (char l : sub) {
      auto it = size.find(l);
      if (it == size.end()) {
        emitError(loc) << "no size for label '" << l << "'; pass it in --sizes";
        return std::nullopt;
      }
      s.push_back(it->second);
    }
    return s;
  };
  SmallVector<Type> inputs;
  for (const std::string &sub : spec->inputs) {
    auto s = shapeOf(sub);
    if (!s)
      return nullptr;
    inputs.push_back(RankedTensorType::get(*s, elem));
  }
  auto outShape = shapeOf(spec->output);
  if (!outShape)
    return nullptr;
  Type outElem = out.empty() ? (isa<IntegerType>(elem) ? Type(IntegerType::get(&ctx, 32)) : elem)
                             : typeArg(out, "--out");
  if (!outElem)
    return nullptr;
  Type result = RankedTensorType::get(*outShape, outElem);

  OpBuilder b(&ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(b, loc, "main", b.getFunctionType(inputs, {result}));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToEnd(body);
  auto e = loom::EinsumOp::create(b, loc, result, ValueRange(body->getArguments()), StringRef(specText));
  if (accT)
    e.setAccAttr(TypeAttr::get(accT));
  e.setAllowTf32(tf32);
  func::ReturnOp::create(b, loc, e.getResult());
  if (failed(verify(*module)))
    return nullptr;
  return module;
}

LogicalResult einloom::setEinsumPlan(ModuleOp module, StringRef planText) {
  MLIRContext *ctx = module.getContext();
  Attribute attr = parseAttribute(planText, ctx);
  auto plan = dyn_cast_or_null<loom::PlanAttr>(attr);
  if (!plan)
    return emitError(FileLineColLoc::get(ctx, "--plan", 1, 1))
           << "expected a #loom.plan<...> attribute, got '" << planText << "'";
  module.walk([&](loom::EinsumOp op) { op.setPlanAttr(plan); });
  return success();
}

LogicalResult einloom::setSparseWeight(ModuleOp module, StringRef desc) {
  MLIRContext *ctx = module.getContext();
  Location loc = FileLineColLoc::get(ctx, "--sparse", 1, 1);
  auto bad = [&](const Twine &why) {
    emitError(loc) << "bad --sparse '" << desc << "': " << why
                   << " (expected tiled_csl[:R], bitmap[:R], auto[:R], two_four or block_csr, "
                      "R = 64 or 128 tile rows, then @P for a density of P percent non-zeros: "
                      "block_csr's, of stored blocks)";
    return failure();
  };
  auto [spec, densityText] = desc.split('@');
  int64_t density = 0;
  if (!densityText.empty() &&
      (densityText.getAsInteger(10, density) || density < 1 || density > 100))
    return bad("the density is a percentage of non-zeros, 1 to 100");
  auto [format, rest] = spec.split(':');
  if (format != "tiled_csl" && format != "bitmap" && format != "two_four" && format != "auto" &&
      format != "block_csr")
    return bad("the formats with a GPU kernel are tiled_csl, bitmap, two_four and block_csr "
               "(auto: the planner chooses)");
  bool twoFour = format == "two_four";
  int64_t rows = 64;
  if (twoFour && !rest.empty())
    return bad("two_four takes no tile rows (the plan picks them)");
  if (!rest.empty() && (rest.getAsInteger(10, rows) || (rows != 64 && rows != 128)))
    return bad("tile rows are 64 or 128");
  SmallVector<loom::EinsumOp> einsums;
  module.walk([&](loom::EinsumOp e) { einsums.push_back(e); });
  if (einsums.size() != 1 || einsums[0].getInputs().size() != 2)
    return bad("it applies to an einsum of two operands");
  auto arg = dyn_cast<BlockArgument>(einsums[0].getInputs()[1]);
  auto func = arg ? dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()) : func::FuncOp();
  if (!func)
    return bad("the second operand must be a function argument");
  auto t = cast<RankedTensorType>(arg.getType());
  if (format == "block_csr" && rows != 64)
    return bad("block_csr reads blocks of 64 x 64");
  loom::SparseFormat f = twoFour                  ? loom::SparseFormat::TwoFour
                         : format == "bitmap"    ? loom::SparseFormat::Bitmap
                         : format == "auto"      ? loom::SparseFormat::Auto
                         : format == "block_csr" ? loom::SparseFormat::BlockCsr
                                                 : loom::SparseFormat::TiledCsl;
  auto sparse = loom::SparseAttr::get(ctx, f, twoFour ? 0 : rows, twoFour ? 0 : 64, density);
  arg.setType(RankedTensorType::get(t.getShape(), t.getElementType(), sparse));
  SmallVector<Type> inputs;
  for (BlockArgument a : func.getArguments())
    inputs.push_back(a.getType());
  func.setType(FunctionType::get(ctx, inputs, func.getResultTypes()));
  return verify(module);
}

LogicalResult einloom::setBlockMask(ModuleOp module, StringRef desc) {
  MLIRContext *ctx = module.getContext();
  Location loc = FileLineColLoc::get(ctx, "--block-mask", 1, 1);
  auto bad = [&](const Twine &why) {
    emitError(loc) << "bad block mask '" << desc << "': " << why
                   << " (expected BMxBN[:shared][:fill=V], e.g. 64x64:fill=-inf)";
    return failure();
  };
  SmallVector<StringRef> parts;
  desc.split(parts, ':');
  auto [bmText, bnText] = parts[0].split('x');
  int64_t bm = 0, bn = 0;
  if (bmText.getAsInteger(10, bm) || bnText.getAsInteger(10, bn) || bm < 1 || bn < 1)
    return bad("the block is BMxBN, two positive sizes");
  bool shared = false;
  std::optional<double> fill;
  for (StringRef p : ArrayRef<StringRef>(parts).drop_front()) {
    if (p == "shared") {
      shared = true;
    } else if (p.consume_front("fill=")) {
      double v = p == "inf" ? INFINITY : p == "-inf" ? -INFINITY : 0;
      if (p != "inf" && p != "-inf" && (p.getAsDouble(v) || !std::isfinite(v)))
        return bad("fill= takes a number, inf or -inf");
      fill = v;
    } else {
      return bad("unknown part '" + p + "'");
    }
  }
  SmallVector<loom::EinsumOp> einsums;
  module.walk([&](loom::EinsumOp e) { einsums.push_back(e); });
  func::FuncOp func = einsums.size() == 1 ? einsums[0]->getParentOfType<func::FuncOp>() : nullptr;
  if (!func)
    return bad("it applies to a function of one einsum");
  loom::EinsumOp e = einsums[0];
  auto result = cast<RankedTensorType>(e.getResult().getType());
  if (result.getRank() < 2 || !result.hasStaticShape())
    return bad("the result needs two static dimensions or more");
  ArrayRef<int64_t> shape = result.getShape();
  SmallVector<int64_t> maskShape(shared ? ArrayRef<int64_t>() : shape.drop_back(2));
  maskShape.push_back(llvm::divideCeil(shape[shape.size() - 2], bm));
  maskShape.push_back(llvm::divideCeil(shape.back(), bn));
  auto maskType = RankedTensorType::get(maskShape, IntegerType::get(ctx, 8));
  unsigned at = func.getNumArguments();
  if (failed(func.insertArgument(at, maskType, DictionaryAttr(), loc)))
    return bad("cannot add the mask argument");
  Builder b(ctx);
  e.getBlockMaskMutable().assign(func.getArgument(at));
  e.setMaskBlockAttr(b.getDenseI64ArrayAttr({bm, bn}));
  if (fill)
    e.setMaskFillAttr(b.getF64FloatAttr(*fill));
  return verify(module);
}

LogicalResult einloom::setWeightQuant(OwningOpRef<ModuleOp> &module, StringRef desc) {
  MLIRContext *ctx = module->getContext();
  Location loc = FileLineColLoc::get(ctx, "--weight-quant", 1, 1);
  auto bad = [&](const Twine &why) {
    emitError(loc) << "bad --weight-quant '" << desc << "': " << why
                   << " (expected int<B>[:g<G>|:channel][:sym|:asym], B = 2, 3, 4 or 8, e.g. "
                      "int4:g128:asym)";
    return failure();
  };
  SmallVector<StringRef> parts;
  desc.split(parts, ':');
  unsigned bits = 0;
  if (parts.empty() || !parts[0].consume_front("int") || parts[0].getAsInteger(10, bits) ||
      !einloom::ref::isAFragmentWidth(bits))
    return bad("the first part names the code width, int2, int3, int4 or int8");
  int64_t group = 0;
  bool asym = false, sawGranularity = false, sawScheme = false;
  for (StringRef part : ArrayRef<StringRef>(parts).drop_front()) {
    if (part == "sym" || part == "asym") {
      if (sawScheme)
        return bad("more than one of sym and asym");
      sawScheme = true;
      asym = part == "asym";
    } else if (part == "channel" || part.starts_with("g")) {
      if (sawGranularity)
        return bad("more than one granularity");
      sawGranularity = true;
      if (part != "channel" && (part.drop_front().getAsInteger(10, group) || group <= 0))
        return bad("a group is g<G> with G a positive integer");
    } else {
      return bad("unknown part '" + part + "'");
    }
  }
  SmallVector<loom::EinsumOp> einsums;
  module->walk([&](loom::EinsumOp e) { einsums.push_back(e); });
  if (einsums.size() != 1 || einsums[0].getInputs().size() != 2)
    return bad("it applies to an einsum of two operands");
  loom::EinsumOp e = einsums[0];
  FailureOr<loom::EinsumSpec> spec = loom::parseSpec(e);
  if (failed(spec))
    return failure();
  const std::string &xs = spec->inputs[0], &ws = spec->inputs[1];
  int kAt = -1;
  if (ws.size() == 2)
    for (int i = 0; i < 2; ++i)
      if (spec->output.find(ws[i]) == std::string::npos && xs.find(ws[i]) != std::string::npos &&
          spec->output.find(ws[1 - i]) != std::string::npos &&
          xs.find(ws[1 - i]) == std::string::npos)
        kAt = i;
  if (kAt < 0)
    return bad("the weight (the second operand, \"" + ws +
               "\") must be one label summed with the first operand and one kept label");
  auto wt = cast<RankedTensorType>(e.getInputs()[1].getType());
  auto xt = cast<RankedTensorType>(e.getInputs()[0].getType());
  Type elem = wt.getElementType();
  if (!elem.isF16() && !elem.isBF16())
    return bad("a quantized weight dequantizes to f16 or bf16 (--dtype), not a " +
               std::to_string(elem.getIntOrFloatBitWidth()) + "-bit type");
  int64_t K = wt.getDimSize(kAt), N = wt.getDimSize(1 - kAt);
  if (group && K % group)
    return bad("the group size " + std::to_string(group) + " does not divide the summed size " +
               std::to_string(K));
  auto typeText = [](Type t) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << t;
    return s;
  };
  auto tensor = [&](ArrayRef<int64_t> shape, const std::string &t) {
    std::string s = "tensor<";
    for (int64_t d : shape)
      s += std::to_string(d) + "x";
    return s + t + ">";
  };
  std::string e16 = typeText(elem);
  std::string codes = tensor(wt.getShape(), "i" + std::to_string(bits < 4 ? 4 : bits));
  SmallVector<int64_t> sshape;
  if (group) {
    sshape.assign(wt.getShape().begin(), wt.getShape().end());
    sshape[kAt] = K / group;
  } else {
    sshape = {N};
  }
  // (Zero points of 8-bit unsigned codes reach 255: i16.)
  std::string scales = tensor(sshape, e16), zeros = tensor(sshape, bits == 8 ? "i16" : "i8");
  std::string quant = "#loom.quant<bits = " + std::to_string(bits) +
                      (asym ? ", kind = unsigned, scheme = asymmetric" : ", kind = signed") +
                      (group ? ", granularity = group, axis = " + std::to_string(kAt) +
                                   ", group_size = " + std::to_string(group)
                             : ", granularity = channel, axis = " + std::to_string(1 - kAt)) +
                      ", scale_type = " + e16 + ">";
  std::string out = typeText(e.getResult().getType());
  std::string text =
      "func.func @main(%x: " + typeText(xt) + ", %q: " + codes + ", %s: " + scales +
      (asym ? ", %z: " + zeros : "") + ") -> " + out + " {\n  %w = loom.dequantize %q, %s" +
      (asym ? ", %z" : "") + " {quant = " + quant + "} : (" + codes + ", " + scales +
      (asym ? ", " + zeros : "") + ") -> " + typeText(wt) + "\n  %y = loom.einsum \"" +
      spec->str() + "\" (%x, %w) : (" + typeText(xt) + ", " + typeText(wt) + ") -> " + out +
      "\n  return %y : " + out + "\n}\n";
  OwningOpRef<ModuleOp> parsed = parseSourceString<ModuleOp>(text, ParserConfig(ctx));
  if (!parsed)
    return failure();
  // Keep what the caller set on the einsum (plan, scale).
  parsed->walk([&](loom::EinsumOp ne) {
    for (NamedAttribute a : e->getDiscardableAttrs())
      ne->setAttr(a.getName(), a.getValue());
    if (auto p = e.getPlanAttr())
      ne.setPlanAttr(p);
    if (auto a = e.getAlpha())
      ne.setAlphaAttr(e.getAlphaAttr());
  });
  module = std::move(parsed);
  return success();
}
