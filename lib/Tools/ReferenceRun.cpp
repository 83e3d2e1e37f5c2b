//===- ReferenceRun.cpp - einloom-run --reference -------------------------===//
#include "einloom/Reference/Evaluator.h"
#include "einloom/Reference/Npy.h"
#include "einloom/Registration.h"
#include "einloom/Tools.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>
#include <sys/stat.h>

using namespace mlir;

struct einloom::ToolSession::Impl {
  DialectRegistry registry;
  std::unique_ptr<MLIRContext> ctx;
  llvm::SourceMgr sm;
  std::unique_ptr<SourceMgrDiagnosticHandler> handler;
};

einloom::ToolSession::ToolSession() : impl(std::make_unique<Impl>()) {
  registerCompilerDialects(impl->registry);
  impl->ctx = std::make_unique<MLIRContext>(impl->registry);
  // An error's location names the source line (or the --einsum argument);
  // a dump of the whole op after it adds nothing a user can act on.
  impl->ctx->printOpOnDiagnostic(false);
  impl->handler = std::make_unique<SourceMgrDiagnosticHandler>(impl->sm, impl->ctx.get());
}
einloom::ToolSession::~ToolSession() = default;
MLIRContext &einloom::ToolSession::context() { return *impl->ctx; }

OwningOpRef<ModuleOp> einloom::loadModule(MLIRContext &ctx, StringRef path) {
  std::string err;
  auto buffer = openInputFile(path, &err);
  if (!buffer) {
    emitError(UnknownLoc::get(&ctx)) << "cannot open '" << path << "': " << err;
    return nullptr;
  }
  auto sm = std::make_shared<llvm::SourceMgr>();
  sm->AddNewSourceBuffer(std::move(buffer), SMLoc());
  return parseSourceFile<ModuleOp>(sm, ParserConfig(&ctx));
}

func::FuncOp einloom::findEntry(ModuleOp module, StringRef name) {
  SmallVector<func::FuncOp> candidates;
  for (auto f : module.getOps<func::FuncOp>()) {
    if (f.isExternal())
      continue;
    if ((!name.empty() && f.getSymName() == name) ||
        (name.empty() && f.getSymName() == "main"))
      return f;
    if (f.isPublic())
      candidates.push_back(f);
  }
  if (!name.empty()) {
    module.emitError("no function named '") << name << "'";
    return nullptr;
  }
  if (candidates.size() == 1)
    return candidates.front();
  module.emitError(candidates.empty()
                       ? "no function with a body to run"
                       : "several functions; choose one with --function");
  return nullptr;
}

LogicalResult einloom::runReference(func::FuncOp func,
                                    const ReferenceRunOptions &options,
                                    llvm::raw_ostream &os) {
  using namespace einloom::ref;
  std::vector<Tensor> args;
  if (!options.inputs.empty()) {
    Block &body = func.getBody().front();
    if (options.inputs.size() != body.getNumArguments())
      return func.emitError("--inputs names ")
             << options.inputs.size() << " files but @" << func.getSymName()
             << " takes " << body.getNumArguments() << " arguments";
    for (auto [path, arg] : llvm::zip(options.inputs, body.getArguments())) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      FailureOr<DType> dt =
          type ? toDType(type.getElementType()) : FailureOr<DType>(failure());
      if (failed(dt))
        return func.emitError("argument #")
               << arg.getArgNumber() << " has a type the reference does not model";
      Tensor t;
      std::string err;
      // Codes and zero points: read wide, then checked against their kind's
      // range. Unsigned codes come as their values or as their signless
      // container's bits (a 4-bit code 14 saved as the int8 -2, an 8-bit
      // 200 as -56), and signed ones as values or bits (a uint8 array).
      std::optional<std::pair<int64_t, int64_t>> range;
      if (type.getElementType().isInteger())
        range = codeRangeOf(arg);
      if (!readNpy(path, range ? DType::I64 : *dt, t, err))
        return func.emitError(err);
      if (range) {
        auto [lo, hi] = *range;
        double wrap = std::ldexp(1.0, int(type.getElementType().getIntOrFloatBitWidth()));
        for (int64_t i = 0; i < t.numel(); ++i) {
          double v = t.data[i];
          if (v < lo && v >= -wrap / 2 && v + wrap <= hi)
            v += wrap; // a negative container value: an unsigned code's bits
          else if (v > hi && v < wrap && v - wrap >= lo)
            v -= wrap; // an unsigned container value: a signed code's bits
          if (v < lo || v > hi)
            return func.emitError(path) << ": code " << int64_t(t.data[i]) << " at element " << i
                                        << " is outside the argument's range [" << lo << ", "
                                        << hi << "] (argument #" << arg.getArgNumber() << ")";
          t.data[i] = v;
        }
        t.dtype = *dt;
      }
      args.push_back(std::move(t));
    }
  } else {
    FailureOr<std::vector<Tensor>> random = randomArguments(func, options.seed);
    if (failed(random))
      return failure();
    args = std::move(*random);
  }

  FailureOr<std::vector<Tensor>> results = evaluate(func, args);
  if (failed(results))
    return failure();

  os << "@" << func.getSymName() << ": " << args.size() << " inputs ("
     << (options.inputs.empty() ? "seed " + std::to_string(options.seed)
                                : std::string("from .npy files"))
     << "), " << results->size() << " results\n";
  for (auto [i, t] : llvm::enumerate(*results)) {
    os << "result #" << i << "\n" << summarize(t, options.maxValues);
    if (options.saveDir.empty())
      continue;
    ::mkdir(options.saveDir.c_str(), 0755);
    std::string path = options.saveDir + "/result" + std::to_string(i) + ".npy";
    std::string err;
    if (!writeNpy(path, t, err))
      return func.emitError(err);
    os << "  saved:    " << path << "\n";
  }
  return success();
}
