//===- einloom-compile.cpp - loom IR or an einsum to PTX / bundles --------===//
#include "einloom/Compiler.h"
#include "einloom/Registration.h"
#include "einloom/Session.h"
#include "einloom/Tools.h"
#include "einloom/runtime/Cache.h"

#include "Loom/LoomOps.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "mlir/Support/FileUtilities.h"

#include <cmath>

namespace cl = llvm::cl;

// Our options: --help lists these alone, not the hundreds that LLVM registers.
static cl::OptionCategory category("einloom-compile options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("[FILE.mlir]"), cl::init(""), cl::cat(category));
static cl::opt<std::string> einsum("einsum", cl::desc("Compile this einsum instead of a file"), cl::cat(category));
static cl::opt<std::string> sizes("sizes", cl::desc("Label sizes, e.g. m=4096,n=4096,k=4096"), cl::cat(category));
static cl::opt<std::string> dtype("dtype", cl::desc("Operand type (with --einsum)"), cl::init("f16"), cl::cat(category));
static cl::opt<std::string> acc("acc", cl::desc("Accumulator type (with --einsum)"), cl::cat(category));
static cl::opt<std::string> outType("out", cl::desc("Result type (with --einsum)"), cl::cat(category));
static cl::opt<double> scale(
    "scale", cl::desc("Multiply the einsum's sum by this (with --einsum; with --out i8 on "
                      "integer operands it is the requantization scale: round to nearest, "
                      "saturate)"),
    cl::init(1.0), cl::cat(category));
static cl::opt<std::string> weightQuant(
    "weight-quant",
    cl::desc("Quantize the einsum's second operand (with --einsum): int<B>[:g<G>|:channel]"
             "[:sym|:asym], B = 2, 3, 4 or 8, e.g. int4:g128:asym; the bundle then takes its "
             "codes (a_fragment layout), scales and zero points"),
    cl::cat(category));
static cl::opt<std::string> sparseWeight(
    "sparse",
    cl::desc("Store the einsum's second operand sparse (with --einsum): tiled_csl[:R] "
             "(Tiled-CSL: words and tile offsets) or bitmap[:R] (values, tile offsets and "
             "masks), tiles of R = 64 (default) or 128 rows by 64 columns; two_four (2:4 "
             "values and metadata); or auto[:R] (the planner picks tiled_csl, bitmap or "
             "dense by its estimates). A trailing @P gives the density the estimates assume, "
             "P percent non-zeros (default 25)"),
    cl::cat(category));
static cl::opt<std::string> blockMask(
    "block-mask",
    cl::desc("Give the einsum a block mask (with --einsum; the bundle's last input, one i8 a "
             "block, 0: not computed): BMxBN[:shared][:fill=V], BM x BN result elements a "
             "block (the plan's tile), one mask per batch or with `shared` one for all, "
             "masked-out blocks holding V (default 0; -inf for scores), e.g. 64x64:fill=-inf"),
    cl::cat(category));
static cl::opt<bool> tf32("tf32", cl::desc("Allow tf32 tensor cores for f32 operands (with --einsum)"), cl::cat(category));
static cl::opt<std::string> target("target", cl::desc("sm_80, sm_86, sm_89, sm_90 or sm_90a"),
                                   cl::init("sm_90a"), cl::cat(category));
static cl::opt<std::string> emit("emit", cl::desc("mlir, llvm, ptx, cubin or bundle"),
                                 cl::init("bundle"), cl::cat(category));
static cl::opt<std::string> output("o", cl::desc("Output file"), cl::init("-"), cl::cat(category));
static cl::opt<bool> explain("explain", cl::desc("Print the plan, its estimate and the "
                                                  "rejected alternatives to stderr"), cl::cat(category));
static cl::opt<bool> ptxasReport("ptxas-report",
                                 cl::desc("Print ptxas' resource usage to stderr"), cl::cat(category));
static cl::opt<std::string> planText(
    "plan", cl::desc("Use this plan instead of choosing one (with --einsum), e.g. "
                     "'#loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 8, "
                     "warps_n = 1, mma = wgmma_k16, stages = 4, producer = tma>'; "
                     "it is verified against the target"), cl::cat(category));
static cl::opt<bool> cacheStats("cache-stats",
                                cl::desc("Print the kernel cache's directory, entries and size"), cl::cat(category));
static cl::opt<bool> cacheClear("cache-clear", cl::desc("Remove every kernel cache entry"), cl::cat(category));
static cl::opt<bool> useCache(
    "cache", cl::desc("Compile through the kernel cache (with --einsum and --emit bundle): "
                      "$EINLOOM_CACHE_DIR, $XDG_CACHE_HOME/einloom or ~/.cache/einloom"), cl::cat(category));
static cl::opt<std::string> function("function", cl::desc("The function to compile"), cl::cat(category));
static cl::opt<std::string> meshText(
    "mesh",
    cl::desc("Run the functions over a device mesh, e.g. tp=4 or dp=2,tp=4 (sets loom.mesh; "
             "the einsums' loom.shard say which labels split over which axis)"),
    cl::cat(category));
static cl::opt<std::string> shardText(
    "shard",
    cl::desc("With --einsum and --mesh: the labels split over mesh axes, e.g. n=tp "
             "(column-parallel) or k=tp (row-parallel: the partial sums are all-reduced)"),
    cl::cat(category));
static cl::opt<int64_t> dynamicMax(
    "dynamic-max", cl::desc("Largest size a dynamic (`?`) dimension is compiled for"),
    cl::init(16384), cl::cat(category));
static cl::list<int64_t> buckets(
    "buckets", cl::CommaSeparated,
    cl::desc("Upper ends of the size buckets of a dynamic dimension, one plan each "
             "(default 16,64,128,256,512,1024,2048,4096)"), cl::cat(category));

static cl::opt<std::string> tuningDb(
    "tuning-db",
    cl::desc("A tuning database from einloom-tune: its measured plans are used before the "
             "cost model (default: $EINLOOM_TUNING_DB)"),
    cl::cat(category));

static cl::opt<bool> bufferReuse(
    "buffer-reuse",
    cl::desc("Let intermediates that are never in use at the same time share the "
             "workspace's bytes (default on; off gives each its own region)"),
    cl::init(true), cl::cat(category));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "Einloom compiler\n");
  if (emit != "mlir" && emit != "llvm" && emit != "ptx" && emit != "cubin" && emit != "bundle") {
    llvm::errs() << "einloom-compile: unknown --emit '" << emit
                 << "'; expected mlir, llvm, ptx, cubin or bundle\n";
    return 1;
  }
  if (cacheStats || cacheClear) {
    std::unique_ptr<einloom::rt::DiskCache> cache;
    einloom::rt::Status s = einloom::rt::DiskCache::open("", uint64_t(1) << 30, cache);
    if (!s) {
      llvm::errs() << "einloom-compile: " << s.message() << "\n";
      return 1;
    }
    if (cacheClear && !(s = cache->clear())) {
      llvm::errs() << "einloom-compile: " << s.message() << "\n";
      return 1;
    }
    einloom::rt::CacheStats st;
    (void)cache->stats(st);
    llvm::outs() << "cache " << st.dir << ": " << st.entries << " entries, " << st.bytes
                 << " bytes (cap " << st.capBytes << ")" << (cacheClear ? ", cleared" : "")
                 << "\n";
    return 0;
  }
  if (useCache) {
    if (einsum.empty() || emit != "bundle" || explain || ptxasReport || !bufferReuse ||
        !weightQuant.empty() || !sparseWeight.empty()) {
      llvm::errs() << "einloom-compile: --cache goes with --einsum and --emit bundle (no "
                      "--explain, --ptxas-report, --weight-quant, --sparse or --buffer-reuse=false: a "
                      "hit runs no compiler)\n";
      return 1;
    }
    einloom::SessionOptions so;
    so.target = target;
    so.tuningDatabase = tuningDb;
    auto session = einloom::Session::create(so);
    if (!session) {
      llvm::errs() << "einloom-compile: " << llvm::toString(session.takeError()) << "\n";
      return 1;
    }
    einloom::EinsumRequest q{einsum, sizes, dtype, acc, outType, tf32, planText};
    einloom::CacheOutcome how;
    auto bundle = (*session)->compileEinsum(q, &how);
    if (!bundle) {
      llvm::errs() << llvm::toString(bundle.takeError()) << "\n";
      return 1;
    }
    llvm::errs() << "cache: " << (how == einloom::CacheOutcome::DiskHit ? "hit" : "miss, compiled")
                 << "\n";
    std::string err;
    auto out = mlir::openOutputFile(output, &err);
    if (!out) {
      llvm::errs() << "einloom-compile: " << err << "\n";
      return 1;
    }
    out->os() << einloom::rt::writeBundle(*bundle);
    out->keep();
    return 0;
  }
  if (einsum.empty() == inputFile.empty()) {
    llvm::errs() << "einloom-compile: give either a .mlir file or --einsum SPEC --sizes ...\n";
    return 1;
  }
  if (!weightQuant.empty() && einsum.empty()) {
    llvm::errs() << "einloom-compile: --weight-quant goes with --einsum; in a .mlir file, "
                    "write the loom.dequantize\n";
    return 1;
  }
  if (!sparseWeight.empty() && (einsum.empty() || !weightQuant.empty())) {
    llvm::errs() << "einloom-compile: --sparse goes with --einsum, without --weight-quant; in "
                    "a .mlir file, give the weight a #loom.sparse encoding\n";
    return 1;
  }
  if (!planText.empty() && einsum.empty()) {
    llvm::errs() << "einloom-compile: --plan goes with --einsum; in a .mlir file, give "
                    "the einsum a `plan` attribute\n";
    return 1;
  }
  einloom::ToolSession session;
  mlir::MLIRContext &ctx = session.context();

  mlir::OwningOpRef<mlir::ModuleOp> module =
      einsum.empty() ? einloom::loadModule(ctx, inputFile)
                     : einloom::buildEinsumModule(ctx, einsum, sizes, dtype, acc, outType, tf32);
  if (!module)
    return 1;
  if (!planText.empty() && mlir::failed(einloom::setEinsumPlan(*module, planText)))
    return 1;
  if (!meshText.empty()) {
    // AXIS=N[,AXIS=N...] as #loom.mesh<["AXIS" = N, ...]>.
    std::string attr = "#loom.mesh<[";
    llvm::SmallVector<llvm::StringRef> axes;
    llvm::StringRef(meshText).split(axes, ',');
    for (auto [i, a] : llvm::enumerate(axes)) {
      auto [name, size] = a.split('=');
      int64_t n;
      if (name.empty() || size.getAsInteger(10, n) || n < 1) {
        llvm::errs() << "einloom-compile: --mesh takes AXIS=N[,AXIS=N...] with N >= 1, e.g. "
                        "tp=4; not '" << meshText << "'\n";
        return 1;
      }
      attr += (i ? ", \"" : "\"") + name.str() + "\" = " + std::to_string(n);
    }
    attr += "]>";
    mlir::Attribute mesh = mlir::parseAttribute(attr, &ctx);
    if (!mesh)
      return 1;
    for (auto f : module->getOps<mlir::func::FuncOp>())
      if (!f.isExternal())
        f->setAttr("loom.mesh", mesh);
  }
  if (!shardText.empty()) {
    // LABEL=AXIS[,LABEL=AXIS...] as the einsum's loom.shard dictionary.
    if (einsum.empty() || meshText.empty()) {
      llvm::errs() << "einloom-compile: --shard goes with --einsum and --mesh; in a .mlir file, "
                      "give the einsum a `loom.shard` attribute\n";
      return 1;
    }
    llvm::SmallVector<mlir::NamedAttribute> entries;
    llvm::SmallVector<llvm::StringRef> pairs;
    llvm::StringRef(shardText).split(pairs, ',');
    mlir::Builder b(&ctx);
    for (llvm::StringRef p : pairs) {
      auto [label, axis] = p.split('=');
      if (label.size() != 1 || axis.empty()) {
        llvm::errs() << "einloom-compile: --shard takes LABEL=AXIS[,LABEL=AXIS...], e.g. n=tp; "
                        "not '" << shardText << "'\n";
        return 1;
      }
      entries.push_back(b.getNamedAttr(label, b.getStringAttr(axis)));
    }
    module->walk([&](mlir::loom::EinsumOp e) { e->setAttr("loom.shard", b.getDictionaryAttr(entries)); });
  }
  if (!weightQuant.empty() && mlir::failed(einloom::setWeightQuant(module, weightQuant)))
    return 1;
  if (!sparseWeight.empty() && mlir::failed(einloom::setSparseWeight(*module, sparseWeight)))
    return 1;
  if (!blockMask.empty()) {
    if (einsum.empty()) {
      llvm::errs() << "einloom-compile: --block-mask goes with --einsum; in a .mlir file, give "
                      "the einsum a block_mask operand\n";
      return 1;
    }
    if (mlir::failed(einloom::setBlockMask(*module, blockMask)))
      return 1;
  }
  if (scale.getNumOccurrences()) {
    if (einsum.empty()) {
      llvm::errs() << "einloom-compile: --scale goes with --einsum; in a .mlir file, give the "
                      "einsum an `alpha` attribute\n";
      return 1;
    }
    if (!std::isfinite(scale.getValue())) {
      llvm::errs() << "einloom-compile: --scale takes a finite number\n";
      return 1;
    }
    if (mlir::failed(einloom::setEinsumScale(*module, scale)))
      return 1;
  }
  einloom::CompileOptions options;
  options.target = target;
  options.explain = explain ? &llvm::errs() : nullptr;
  options.emitLLVM = emit == "llvm";
  options.assemble = emit == "cubin" || emit == "bundle" || ptxasReport;
  options.dynamicMax = dynamicMax;
  options.reuseBuffers = bufferReuse;
  options.tuningDatabase = tuningDb;
  if (tuningDb.getNumOccurrences() == 0)
    if (const char *env = std::getenv("EINLOOM_TUNING_DB"))
      options.tuningDatabase = env;
  if (!buckets.empty())
    options.buckets.assign(buckets.begin(), buckets.end());
  if (emit == "mlir") {
    if (mlir::failed(einloom::planAndGenerate(*module, options)))
      return 1;
  }
  std::string text;
  if (emit != "mlir") {
    mlir::FailureOr<einloom::CompileResult> r = einloom::compileModule(*module, function, options);
    if (mlir::failed(r))
      return 1;
    if (ptxasReport)
      llvm::errs() << (r->ptxasLog.empty() ? "ptxas: not found; no cubin\n" : r->ptxasLog);
    if (emit == "cubin" && r->cubin.empty()) {
      llvm::errs() << "einloom-compile: --emit cubin needs ptxas (set EINLOOM_PTXAS or "
                      "install the CUDA toolkit)\n";
      return 1;
    }
    text = emit == "llvm" ? r->llvmIR
           : emit == "ptx" ? r->ptx
           : emit == "cubin" ? r->cubin
                             : einloom::rt::writeBundle(r->bundle);
  }
  std::string err;
  auto out = mlir::openOutputFile(output, &err);
  if (!out) {
    llvm::errs() << "einloom-compile: " << err << "\n";
    return 1;
  }
  if (emit == "mlir")
    module->print(out->os());
  else
    out->os() << text;
  out->keep();
  return 0;
}
