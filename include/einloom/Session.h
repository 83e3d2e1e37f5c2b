//===- Session.h - the embeddable compiler, with kernel caches --*- C++ -*-===//
//
// A compiler session for frameworks and JIT hosts. It takes MLIR text or an
// einsum description and returns a bundle (runtime/include/einloom/runtime)
// that `rt::Program::load` loads and launches.
//
// * Errors come back as llvm::Error / llvm::Expected with the compiler's
//   diagnostics in the message; the session never prints and never exits.
// * Two cache levels: in memory (per session) and on disk (shared between
//   processes, see runtime/include/einloom/runtime/Cache.h). The key hashes
//   the canonical IR (generic form, before planning), the target, the
//   options and the compiler version.
// * Sessions are thread-safe: calls from several threads are serialised on
//   the session's context; cache hits do not wait for a compile.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_SESSION_H
#define EINLOOM_SESSION_H

#include "einloom/runtime/Bundle.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir {
class Operation;
} // namespace mlir

namespace einloom {
namespace rt {
class Device;
class Program;
} // namespace rt


/// The compiler's version, part of every cache key.
const char *compilerVersion();

struct SessionOptions {
  std::string target = "sm_90a";
  /// Assemble a cubin with ptxas when it can be found.
  bool assemble = true;
  /// The on-disk cache: on by default, in `cacheDir` ("" for
  /// EINLOOM_CACHE_DIR / XDG_CACHE_HOME / ~/.cache), capped at
  /// `cacheCapBytes`.
  bool diskCache = true;
  std::string cacheDir;
  uint64_t cacheCapBytes = uint64_t(1) << 30;
  /// Shape polymorphism (see CompileOptions): the largest size of a dynamic
  /// dimension and the size buckets' upper ends. Part of the cache key.
  int64_t dynamicMax = 16384;
  std::vector<int64_t> buckets = {16, 64, 128, 256, 512, 1024, 2048, 4096};
  /// A tuning database (einloom-tune) whose plans the planner uses before
  /// its cost model; "" for $EINLOOM_TUNING_DB, if set. Its contents, read
  /// when the session is created, are part of the cache key. A file that
  /// does not parse is ignored (SessionStats::tuningNote says why).
  std::string tuningDatabase;
};

/// An einsum to compile: spec, label sizes ("m=4096,n=4096,k=4096"), operand
/// type, and optionally the accumulator and result types, tf32 and a plan.
struct EinsumRequest {
  std::string spec, sizes, dtype = "f16", acc, out;
  bool tf32 = false;
  std::string plan; ///< "#loom.plan<...>" to override the planner
  /// "BMxBN[:shared][:fill=V]": a block mask, the bundle's last input
  /// (setBlockMask); empty for none.
  std::string blockMask;
};

/// How a request was served.
enum class CacheOutcome { Compiled, MemoryHit, DiskHit };

struct SessionStats {
  uint64_t compiles = 0, memoryHits = 0, diskHits = 0;
  /// Disk-cache events that were not hits: corrupt entries discarded,
  /// refused entries, failed writes (the last message of each kind).
  std::string lastDiskNote;
  /// Why the tuning database is not used, when it is not (empty otherwise).
  std::string tuningNote;
};

class Session {
public:
  static llvm::Expected<std::unique_ptr<Session>> create(const SessionOptions &options = {});
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// Compiles `mlirText` (a module with loom ops; `entry` names the function,
  /// "" for the only one).
  llvm::Expected<rt::Bundle> compileMLIR(llvm::StringRef mlirText, llvm::StringRef entry = "",
                                         CacheOutcome *outcome = nullptr);
  llvm::Expected<rt::Bundle> compileEinsum(const EinsumRequest &request,
                                           CacheOutcome *outcome = nullptr);
  /// Compiles a module built in memory (a `builtin.module` holding loom
  /// ops, from any MLIRContext; it is not modified).
  llvm::Expected<rt::Bundle> compileModule(mlir::Operation *module, llvm::StringRef entry = "",
                                           CacheOutcome *outcome = nullptr);
  /// --explain's report for the request or the MLIR text: the plan of each
  /// einsum, why, and the alternatives (no cache: the planner runs).
  llvm::Expected<std::string> explainEinsum(const EinsumRequest &request);
  llvm::Expected<std::string> explainMLIR(llvm::StringRef mlirText, llvm::StringRef entry = "");
  /// Loads a bundle on a device: a launchable program
  /// (`launch(buffers, sizes, dynamicSize, stream)`).
  static llvm::Expected<std::unique_ptr<rt::Program>> load(const rt::Bundle &bundle,
                                                           rt::Device &device);
  /// The cache key `compileMLIR` would use (hex SHA-256), or an error when
  /// the text does not parse.
  llvm::Expected<std::string> cacheKey(llvm::StringRef mlirText, llvm::StringRef entry = "");

  SessionStats stats() const;
  const SessionOptions &options() const;

private:
  Session();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace einloom

#endif
