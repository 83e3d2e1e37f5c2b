//===- Compile.cpp - loom IR to PTX, cubin and a bundle -------------------===//
#include "einloom/Compiler.h"
#include "einloom/Passes.h"
#include "einloom/Plan/SelectPlan.h"

#include "Loom/LoomOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

using namespace mlir;
using namespace einloom;

std::string einloom::findPtxas() {
  if (const char *env = std::getenv("EINLOOM_PTXAS"))
    if (llvm::sys::fs::can_execute(env))
      return env;
  if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/ptxas"))
    return "/usr/local/cuda/bin/ptxas";
  if (auto p = llvm::sys::findProgramByName("ptxas"))
    return *p;
  return "";
}

LogicalResult einloom::planAndGenerate(ModuleOp module, const CompileOptions &options) {
  // First, n-ary einsums become chains of binary ones (their path is
  // explained on stderr), so that every einsum below is a contraction.
  {
    PassManager paths(module.getContext());
    LoomOptimizePathsOptions po;
    po.explain = options.explain != nullptr;
    paths.addPass(createLoomOptimizePaths(po));
    if (failed(paths.run(module)))
      return failure();
  }
  // The passes print --explain to stdout; route it where the caller wants.
  PassManager pm(module.getContext());
  LoomSelectPlanOptions sel;
  sel.target = options.target;
  pm.addPass(createLoomSelectPlan(sel));
  LoomLowerToKernelsOptions low;
  low.target = options.target;
  pm.addPass(createLoomLowerToKernels(low));
  if (options.explain) {
    FailureOr<TargetInfo> t = lookupTarget(options.target);
    if (failed(t))
      return module.emitError("unknown target '") << options.target
                                                  << "'; expected sm_80, sm_86, sm_89, sm_90 or sm_90a";
    bool bad = false;
    module.walk([&](loom::EinsumOp op) {
      if (bad || op.getPlanAttr())
        return;
      FailureOr<Contraction> c = analyzeContraction(op);
      if (failed(c)) {
        bad = true;
        return;
      }
      FailureOr<PlanChoice> ch = selectPlan(*c, *t, op.getContext(), [&] { return op.emitOpError(); });
      if (failed(ch)) {
        bad = true;
        return;
      }
      printExplanation(*options.explain, *c, *t, *ch);
    });
    if (bad)
      return failure();
  }
  return pm.run(module);
}

/// Lowers the kernels in `module` to one PTX (or LLVM bitcode) object.
static FailureOr<std::string> lowerKernels(ModuleOp module, const std::string &chip,
                                           const std::string &format) {
  MLIRContext *ctx = module.getContext();
  OwningOpRef<ModuleOp> tmp = ModuleOp::create(module.getLoc());
  (*tmp)->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(ctx));
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(tmp->getBody());
  for (auto g : module.getOps<gpu::GPUModuleOp>())
    b.clone(*g);
  PassManager pm(ctx);
  gpu::GPUToNVVMPipelineOptions o;
  o.cubinChip = chip;
  o.cubinFeatures = "+ptx84";
  o.cubinFormat = format;
  o.optLevel = 3;
  o.kernelUseBarePtrCallConv = true;
  // 32-bit index math would be cheaper, but not every pass in the upstream
  // pipeline honours the option (MLIR 22), so mixed widths fail to translate.
  o.indexBitWidth = 64;
  gpu::buildLowerToNVVMPassPipeline(pm, o);
  if (failed(pm.run(*tmp)))
    return failure();
  for (auto bin : tmp->getOps<gpu::BinaryOp>())
    for (Attribute obj : bin.getObjects())
      if (auto o2 = dyn_cast<gpu::ObjectAttr>(obj))
        return o2.getObject().str();
  return module.emitError("kernel lowering produced no object");
}

static FailureOr<std::string> runPtxas(const std::string &ptxas, const std::string &ptx,
                                       const std::string &chip, std::string &log,
                                       Location loc) {
  SmallString<128> in, out, err;
  if (llvm::sys::fs::createTemporaryFile("einloom", "ptx", in) ||
      llvm::sys::fs::createTemporaryFile("einloom", "cubin", out) ||
      llvm::sys::fs::createTemporaryFile("einloom", "log", err))
    return emitError(loc, "cannot create temporary files for ptxas");
  llvm::scope_exit cleanup([&] {
    llvm::sys::fs::remove(in);
    llvm::sys::fs::remove(out);
    llvm::sys::fs::remove(err);
  });
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(in, ec);
    if (ec)
      return emitError(loc, "cannot write ") << in << ": " << ec.message();
    os << ptx;
  }
  std::string arch = "-arch=" + chip;
  SmallVector<StringRef> args{ptxas, arch, "-v", "-O3", in, "-o", out};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(err), StringRef(err)};
  std::string msg;
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects, 0, 0, &msg);
  if (auto buf = llvm::MemoryBuffer::getFile(err))
    log = (*buf)->getBuffer().str();
  if (rc != 0)
    return emitError(loc, "ptxas failed (") << (msg.empty() ? "exit " + std::to_string(rc) : msg)
                                            << "):\n" << log;
  auto cubin = llvm::MemoryBuffer::getFile(out);
  if (!cubin)
    return emitError(loc, "ptxas wrote no cubin");
  return (*cubin)->getBuffer().str();
}

static std::string dtypeOf(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

/// The bundle's manifest for `func`: its arguments are inputs, the results of
/// its einsums are outputs (if returned) or temporaries.
static FailureOr<rt::Bundle> describe(func::FuncOp func, const std::string &target) {
  rt::Bundle b;
  b.target = target;
  b.source = func.getSymName().str();
  DenseMap<Value, int> buffer;
  auto addBuffer = [&](Value v, const std::string &name, const std::string &role) {
    auto t = cast<RankedTensorType>(v.getType());
    rt::BundleBuffer x;
    x.name = name;
    x.role = role;
    x.dtype = dtypeOf(t.getElementType());
    x.shape.assign(t.getShape().begin(), t.getShape().end());
    x.bytes = t.getNumElements() * elementBytes(t.getElementType());
    buffer[v] = static_cast<int>(b.buffers.size());
    b.buffers.push_back(x);
  };
  for (BlockArgument a : func.getArguments()) {
    if (!isa<RankedTensorType>(a.getType()))
      return func.emitError("argument #") << a.getArgNumber() << " is not a tensor";
    addBuffer(a, "arg" + std::to_string(a.getArgNumber()), "input");
  }
  Operation *ret = func.getBody().front().getTerminator();
  int index = 0;
  for (Operation &op : func.getBody().front()) {
    if (&op == ret)
      break;
    auto e = dyn_cast<loom::EinsumOp>(op);
    if (!e || !e->hasAttr("loom.kernel"))
      return op.emitError("cannot be part of a bundle yet: only loom.einsum ops with "
                          "generated kernels can");
    bool returned = llvm::is_contained(ret->getOperands(), e.getResult());
    addBuffer(e.getResult(), (returned ? "out" : "tmp") + std::to_string(index), returned ? "output" : "temp");
    auto launch = e->getAttrOfType<DictionaryAttr>("loom.launch");
    rt::BundleKernel k;
    k.name = cast<SymbolRefAttr>(e->getAttr("loom.kernel")).getLeafReference().str();
    auto grid = cast<DenseI64ArrayAttr>(launch.get("grid")).asArrayRef();
    auto block = cast<DenseI64ArrayAttr>(launch.get("block")).asArrayRef();
    for (int i = 0; i < 3; ++i) {
      k.grid[i] = grid[i];
      k.block[i] = block[i];
    }
    k.sharedMemoryBytes = cast<IntegerAttr>(launch.get("smem")).getInt();
    if (auto maps = launch.getAs<ArrayAttr>("tensor_maps"))
      for (Attribute a : maps) {
        auto d = cast<DictionaryAttr>(a);
        auto ints = [&](StringRef key) {
          auto v = cast<DenseI64ArrayAttr>(d.get(key)).asArrayRef();
          return std::vector<int64_t>(v.begin(), v.end());
        };
        rt::BundleTensorMap t;
        t.arg = static_cast<int>(d.getAs<IntegerAttr>("operand").getInt());
        t.elementBytes = d.getAs<IntegerAttr>("element_bytes").getInt();
        t.dims = ints("dims");
        t.strides = ints("strides");
        t.box = ints("box");
        t.swizzle = d.getAs<IntegerAttr>("swizzle").getInt();
        k.tensorMaps.push_back(t);
      }
    k.persistent = launch.contains("persistent");
    if (auto cl = launch.getAs<IntegerAttr>("cluster"))
      k.cluster = cl.getInt();
    for (Value in : e.getInputs()) {
      if (!buffer.count(in))
        return e.emitOpError("operand is not a function argument or an einsum result");
      k.args.push_back(buffer[in]);
      k.operands.push_back(buffer[in]);
    }
    k.result = buffer[e.getResult()];
    k.op = "einsum";
    FailureOr<Contraction> c = analyzeContraction(e);
    if (failed(c))
      return failure();
    k.spec = c->spec;
    k.acc = dtypeOf(c->acc);
    k.flops = c->flops();
    // Split-K: the contraction writes partial sums to a workspace and a
    // second kernel reduces them into the result.
    std::optional<rt::BundleKernel> reduce;
    if (auto ws = e->getAttrOfType<IntegerAttr>("loom.workspace")) {
      rt::BundleBuffer w;
      w.name = "ws" + std::to_string(index);
      w.role = "temp";
      w.dtype = k.acc;
      w.bytes = ws.getInt();
      w.shape = {w.bytes / elementBytes(c->acc)};
      int wi = static_cast<int>(b.buffers.size());
      b.buffers.push_back(w);
      k.args.push_back(wi);
      rt::BundleKernel r;
      r.name = cast<SymbolRefAttr>(e->getAttr("loom.reduce_kernel")).getLeafReference().str();
      auto rl = e->getAttrOfType<DictionaryAttr>("loom.reduce_launch");
      auto rg = cast<DenseI64ArrayAttr>(rl.get("grid")).asArrayRef();
      auto rb = cast<DenseI64ArrayAttr>(rl.get("block")).asArrayRef();
      for (int i = 0; i < 3; ++i) {
        r.grid[i] = rg[i];
        r.block[i] = rb[i];
      }
      r.args = {wi, k.result};
      r.op = "reduce";
      r.spec = "-";
      r.acc = k.acc;
      r.operands = {wi};
      r.result = k.result;
      reduce = r;
    } else {
      k.args.push_back(k.result);
    }
    b.launchOrder.push_back(static_cast<int>(b.kernels.size()));
    b.kernels.push_back(k);
    if (reduce) {
      b.launchOrder.push_back(static_cast<int>(b.kernels.size()));
      b.kernels.push_back(*reduce);
    }
    ++index;
  }
  for (Value v : ret->getOperands())
    if (!buffer.count(v) || b.buffers[buffer[v]].role != "output")
      return func.emitError("returns a value no einsum computes; bundles return einsum results");
  if (b.kernels.empty())
    return func.emitError("has no einsum to compile");
  return b;
}

FailureOr<CompileResult> einloom::compileModule(ModuleOp module, StringRef entry,
                                                const CompileOptions &options) {
  if (failed(lookupTarget(options.target)))
    return module.emitError("unknown target '")
           << options.target << "'; expected sm_80, sm_86, sm_89, sm_90 or sm_90a";
  func::FuncOp func;
  for (auto f : module.getOps<func::FuncOp>())
    if (!f.isExternal() && (entry.empty() || f.getSymName() == entry))
      func = func ? func : f;
  if (!func)
    return module.emitError("no function to compile");
  if (failed(planAndGenerate(module, options)))
    return failure();

  CompileResult r;
  FailureOr<rt::Bundle> bundle = describe(func, options.target);
  if (failed(bundle))
    return failure();
  r.bundle = std::move(*bundle);
  FailureOr<std::string> ptx = lowerKernels(module, options.target, "isa");
  if (failed(ptx))
    return failure();
  r.ptx = *ptx;
  if (options.emitLLVM) {
    FailureOr<std::string> bc = lowerKernels(module, options.target, "llvm");
    if (failed(bc))
      return failure();
    llvm::LLVMContext llctx;
    auto mod = llvm::parseBitcodeFile(llvm::MemoryBufferRef(*bc, "kernels"), llctx);
    if (!mod)
      return module.emitError("cannot read the kernels' LLVM bitcode: ")
             << llvm::toString(mod.takeError());
    llvm::raw_string_ostream os(r.llvmIR);
    (*mod)->print(os, nullptr);
  }
  if (options.assemble) {
    std::string ptxas = findPtxas();
    if (!ptxas.empty()) {
      FailureOr<std::string> cubin = runPtxas(ptxas, r.ptx, options.target, r.ptxasLog, module.getLoc());
      if (failed(cubin))
        return failure();
      r.cubin = *cubin;
    }
  }
  r.bundle.ptx = r.ptx;
  r.bundle.cubin = r.cubin;
  return r;
}
