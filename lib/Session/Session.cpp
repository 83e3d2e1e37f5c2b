//===- Session.cpp - the embeddable compiler, with kernel caches ----------===//
#include "einloom/Session.h"
#include "einloom/runtime/Runtime.h"

#include "einloom/Compiler.h"
#include "einloom/Plan/TuningDatabase.h"
#include "einloom/Registration.h"
#include "einloom/Target.h"
#include "einloom/Tools.h"
#include "einloom/runtime/Cache.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SHA256.h"

#include <map>
#include <mutex>

using namespace mlir;
using namespace einloom;

const char *einloom::compilerVersion() { return "einloom 0.5 (MLIR 22)"; }

struct Session::Impl {
  SessionOptions options;
  /// The tuning database in use ("" for none) and its text, hashed into
  /// every cache key.
  std::string tuningPath, tuningText;
  DialectRegistry registry;
  std::unique_ptr<MLIRContext> ctx;
  std::unique_ptr<rt::DiskCache> disk;
  std::mutex compileMutex; // the context and the compiler
  mutable std::mutex cacheMutex; // `memory` and `stats`
  /// Request key (a hash of what the caller passed) -> bundle. Hits here
  /// need neither the parser nor the context.
  std::map<std::string, rt::Bundle> memory;
  SessionStats stats;

  /// A hex SHA-256 over the parts, each length-prefixed.
  std::string hash(std::initializer_list<StringRef> parts) const {
    return hash(ArrayRef<StringRef>(parts.begin(), parts.end()));
  }
  std::string hash(ArrayRef<StringRef> parts) const {
    llvm::SHA256 h;
    std::string shapes = "dynamic-max=" + std::to_string(options.dynamicMax) + " buckets=";
    for (int64_t e : options.buckets)
      shapes += std::to_string(e) + ",";
    for (StringRef p : {StringRef(compilerVersion()), StringRef(options.target),
                        StringRef(options.assemble ? "cubin" : "ptx"), StringRef(shapes),
                        StringRef(tuningText)}) {
      h.update(std::to_string(p.size()) + ":");
      h.update(p);
    }
    for (StringRef p : parts) {
      h.update(std::to_string(p.size()) + ":");
      h.update(p);
    }
    return llvm::toHex(h.final(), /*LowerCase=*/true);
  }

  /// The disk cache under the request's own key: a repeated request (the
  /// common case for a restarted host program) needs no parse at all.
  bool diskLookup(const std::string &key, rt::Bundle &out) {
    if (!disk)
      return false;
    std::string why;
    if (!disk->lookup(key, out, &why)) {
      if (why != "not cached")
        note(why);
      return false;
    }
    std::lock_guard<std::mutex> lock(cacheMutex);
    ++stats.diskHits;
    memory[key] = out;
    return true;
  }

  bool memoryLookup(const std::string &key, rt::Bundle &out) {
    std::lock_guard<std::mutex> lock(cacheMutex);
    auto it = memory.find(key);
    if (it == memory.end())
      return false;
    out = it->second;
    ++stats.memoryHits;
    return true;
  }
  void remember(const std::string &key, const rt::Bundle &b) {
    std::lock_guard<std::mutex> lock(cacheMutex);
    memory[key] = b;
  }
  void note(const std::string &n) {
    std::lock_guard<std::mutex> lock(cacheMutex);
    stats.lastDiskNote = n;
  }

  /// The cache levels, then `build` (under the compile lock) and the
  /// compiler. `build` names what failed in `what` when it returns null.
  llvm::Expected<rt::Bundle>
  serve(const std::string &request, StringRef entry, CacheOutcome *outcome,
        llvm::function_ref<OwningOpRef<ModuleOp>(std::string &diagnostics, std::string &what)>
            build);

  /// The module's canonical text: generic form, no locations.
  static std::string canonical(ModuleOp module) {
    std::string s;
    llvm::raw_string_ostream os(s);
    module->print(os, OpPrintingFlags().printGenericOpForm());
    return s;
  }

  /// Disk lookup, else compile and store. Runs under compileMutex with
  /// diagnostics being collected by the caller.
  llvm::Expected<rt::Bundle> finish(ModuleOp module, StringRef entry, CacheOutcome *outcome,
                                    std::string &diagnostics, const std::string &request) {
    std::string key = hash({"module", entry, canonical(module)});
    rt::Bundle b;
    if (disk) {
      std::string why;
      if (disk->lookup(key, b, &why)) {
        if (rt::Status s = disk->store(request, b); !s)
          note(s.message());
        std::lock_guard<std::mutex> lock(cacheMutex);
        ++stats.diskHits;
        if (outcome)
          *outcome = CacheOutcome::DiskHit;
        return b;
      }
      if (why != "not cached")
        note(why);
    }
    CompileOptions co;
    co.target = options.target;
    co.assemble = options.assemble;
    co.dynamicMax = options.dynamicMax;
    co.buckets = options.buckets;
    co.tuningDatabase = tuningPath;
    FailureOr<CompileResult> r = einloom::compileModule(module, entry, co);
    if (failed(r))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     diagnostics.empty() ? "compilation failed" : diagnostics);
    {
      std::lock_guard<std::mutex> lock(cacheMutex);
      ++stats.compiles;
    }
    // Under the canonical key (any spelling of the same program finds it)
    // and under the request's key (the same request finds it unparsed).
    if (disk)
      for (const std::string &k : {key, request})
        if (rt::Status s = disk->store(k, r->bundle); !s)
          note(s.message());
    if (outcome)
      *outcome = CacheOutcome::Compiled;
    return r->bundle;
  }
};

Session::Session() : impl_(std::make_unique<Impl>()) {}
Session::~Session() = default;

llvm::Expected<std::unique_ptr<Session>> Session::create(const SessionOptions &options) {
  if (failed(lookupTarget(options.target)))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "unknown target '%s'; expected sm_80, sm_86, sm_89, sm_90 or "
                                   "sm_90a",
                                   options.target.c_str());
  std::unique_ptr<Session> s(new Session());
  s->impl_->options = options;
  std::string tuning = options.tuningDatabase;
  if (tuning.empty())
    if (const char *env = std::getenv("EINLOOM_TUNING_DB"))
      tuning = env;
  if (!tuning.empty()) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> text = llvm::MemoryBuffer::getFile(tuning);
    llvm::Expected<TuningDatabase> db =
        text ? TuningDatabase::parse((*text)->getBuffer(), tuning)
             : llvm::Expected<TuningDatabase>(llvm::createStringError(
                   text.getError(), tuning + ": " + text.getError().message()));
    if (db) {
      s->impl_->tuningPath = tuning;
      s->impl_->tuningText = (*text)->getBuffer().str();
    } else {
      s->impl_->stats.tuningNote = "tuning database ignored: " + llvm::toString(db.takeError());
    }
  }
  registerCompilerDialects(s->impl_->registry);
  s->impl_->ctx = std::make_unique<MLIRContext>(s->impl_->registry);
  s->impl_->ctx->loadAllAvailableDialects();
  if (options.diskCache) {
    rt::Status st = rt::DiskCache::open(options.cacheDir, options.cacheCapBytes, s->impl_->disk);
    if (!st)
      return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s", st.message().c_str());
  }
  return std::move(s);
}

namespace {
/// Collects the context's diagnostics into `out` while alive (nothing is
/// printed).
struct Collect {
  Collect(MLIRContext *ctx, std::string &out)
      : handler(ctx, [&out](Diagnostic &d) {
          if (!out.empty())
            out += "\n";
          llvm::raw_string_ostream os(out);
          os << d.getLocation() << ": " << d;
          for (Diagnostic &n : d.getNotes())
            os << "\n  note: " << n;
          return success();
        }) {}
  ScopedDiagnosticHandler handler;
};

llvm::Error failure(const std::string &what, const std::string &diagnostics) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s%s%s", what.c_str(),
                                 diagnostics.empty() ? "" : ":\n", diagnostics.c_str());
}
} // namespace

llvm::Expected<rt::Bundle>
Session::Impl::serve(const std::string &request, StringRef entry, CacheOutcome *outcome,
               llvm::function_ref<OwningOpRef<ModuleOp>(std::string &diagnostics,
                                                        std::string &what)>
                   build) {
  rt::Bundle b;
  auto hit = [&](CacheOutcome how) {
    if (outcome)
      *outcome = how;
    return b;
  };
  if (memoryLookup(request, b))
    return hit(CacheOutcome::MemoryHit);
  if (diskLookup(request, b))
    return hit(CacheOutcome::DiskHit);
  std::lock_guard<std::mutex> lock(compileMutex);
  // Another thread may have compiled it while this one waited.
  if (memoryLookup(request, b))
    return hit(CacheOutcome::MemoryHit);
  std::string diagnostics, what;
  Collect collect(ctx.get(), diagnostics);
  OwningOpRef<ModuleOp> module = build(diagnostics, what);
  if (!module)
    return failure(what, diagnostics);
  llvm::Expected<rt::Bundle> r = finish(*module, entry, outcome, diagnostics, request);
  if (r)
    remember(request, *r);
  return r;
}

llvm::Expected<rt::Bundle> Session::compileMLIR(StringRef text, StringRef entry,
                                                CacheOutcome *outcome) {
  return impl_->serve(impl_->hash({"mlir", entry, text}), entry, outcome,
               [&](std::string &, std::string &what) {
                 what = "the MLIR text does not parse";
                 return parseSourceString<ModuleOp>(text, ParserConfig(impl_->ctx.get()));
               });
}

/// The module of an einsum request: the einsum, then its plan and block
/// mask where given; null (with `what` saying which part) on a bad one.
static OwningOpRef<ModuleOp> requestModule(MLIRContext &ctx, const EinsumRequest &q,
                                           std::string &what) {
  what = "invalid einsum request";
  OwningOpRef<ModuleOp> module =
      buildEinsumModule(ctx, q.spec, q.sizes, q.dtype, q.acc, q.out, q.tf32);
  if (module && !q.plan.empty() && mlir::failed(setEinsumPlan(*module, q.plan))) {
    what = "invalid plan";
    return nullptr;
  }
  if (module && !q.blockMask.empty() && mlir::failed(setBlockMask(*module, q.blockMask))) {
    what = "invalid block mask";
    return nullptr;
  }
  return module;
}

llvm::Expected<rt::Bundle> Session::compileEinsum(const EinsumRequest &q, CacheOutcome *outcome) {
  // (A request without a mask hashes as it did before masks.)
  std::string mask = "mask " + q.blockMask;
  SmallVector<StringRef> parts = {"einsum", q.spec, q.sizes, q.dtype, q.acc, q.out,
                                  q.tf32 ? "tf32" : "", q.plan};
  if (!q.blockMask.empty())
    parts.push_back(mask);
  std::string request = impl_->hash(parts);
  return impl_->serve(request, "main", outcome, [&](std::string &, std::string &what) {
    return requestModule(*impl_->ctx, q, what);
  });
}

/// Plans `module` with --explain's report into a string.
static llvm::Expected<std::string> explainModule(ModuleOp module, const SessionOptions &o,
                                                 const std::string &tuning,
                                                 std::string &diagnostics) {
  std::string text;
  llvm::raw_string_ostream os(text);
  CompileOptions co;
  co.target = o.target;
  co.assemble = false;
  co.dynamicMax = o.dynamicMax;
  co.buckets = o.buckets;
  co.tuningDatabase = tuning;
  co.explain = &os;
  if (failed(planAndGenerate(module, co)))
    return failure("the planner failed", diagnostics);
  return text;
}

llvm::Expected<std::string> Session::explainEinsum(const EinsumRequest &q) {
  std::lock_guard<std::mutex> lock(impl_->compileMutex);
  std::string diagnostics;
  Collect collect(impl_->ctx.get(), diagnostics);
  std::string what;
  OwningOpRef<ModuleOp> module = requestModule(*impl_->ctx, q, what);
  if (!module)
    return failure(what, diagnostics);
  return explainModule(*module, impl_->options, impl_->tuningPath, diagnostics);
}

llvm::Expected<std::string> Session::explainMLIR(StringRef text, StringRef entry) {
  std::lock_guard<std::mutex> lock(impl_->compileMutex);
  std::string diagnostics;
  Collect collect(impl_->ctx.get(), diagnostics);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, ParserConfig(impl_->ctx.get()));
  if (!module)
    return failure("the MLIR text does not parse", diagnostics);
  (void)entry;
  return explainModule(*module, impl_->options, impl_->tuningPath, diagnostics);
}

llvm::Expected<rt::Bundle> Session::compileModule(Operation *module, StringRef entry,
                                                  CacheOutcome *outcome) {
  if (!module || !isa<ModuleOp>(module))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "compileModule takes a builtin.module operation");
  // The caller's module may live in another context: it crosses over as
  // text (generic form, so every attribute survives), which is also what
  // the cache key hashes.
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, OpPrintingFlags().printGenericOpForm());
  return compileMLIR(text, entry, outcome);
}

llvm::Expected<std::unique_ptr<rt::Program>> Session::load(const rt::Bundle &bundle,
                                                           rt::Device &device) {
  std::unique_ptr<rt::Program> program;
  if (rt::Status s = rt::Program::load(device, bundle, program); !s)
    return llvm::createStringError(llvm::inconvertibleErrorCode(), s.message());
  return program;
}

llvm::Expected<std::string> Session::cacheKey(StringRef text, StringRef entry) {
  std::lock_guard<std::mutex> lock(impl_->compileMutex);
  std::string diagnostics;
  Collect collect(impl_->ctx.get(), diagnostics);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, ParserConfig(impl_->ctx.get()));
  if (!module)
    return failure("the MLIR text does not parse", diagnostics);
  return impl_->hash({"module", entry, Impl::canonical(*module)});
}

SessionStats Session::stats() const {
  std::lock_guard<std::mutex> lock(impl_->cacheMutex);
  return impl_->stats;
}

const SessionOptions &Session::options() const { return impl_->options; }
