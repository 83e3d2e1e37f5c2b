//===- Compiler.h - from loom IR to PTX, cubin and bundles ------*- C++ -*-===//
#ifndef EINLOOM_COMPILER_H
#define EINLOOM_COMPILER_H

#include "einloom/runtime/Bundle.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace einloom {

struct CompileOptions {
  std::string target = "sm_90a";
  /// Print the plan choice, its estimate and the rejected alternatives.
  llvm::raw_ostream *explain = nullptr;
  /// Assemble with ptxas when it can be found (EINLOOM_PTXAS, then
  /// /usr/local/cuda/bin/ptxas, then PATH).
  bool assemble = true;
  /// Also produce the kernels' LLVM IR text.
  bool emitLLVM = false;
  /// Shape polymorphism. A function whose tensors have a dynamic (`?`)
  /// leading dimension compiles to one bundle that serves sizes 1 to
  /// `dynamicMax`: one plan variant per size bucket lo..hi, planned for
  /// sqrt(lo * hi) and correct for all of it; `buckets` are the buckets'
  /// upper ends (those below dynamicMax count). The runtime picks the
  /// variant at launch.
  int64_t dynamicMax = 16384;
  std::vector<int64_t> buckets = {16, 64, 128, 256, 512, 1024, 2048, 4096};
  /// Intermediates go into one workspace buffer (see Plan/BufferPlan.h);
  /// with `reuseBuffers` those never in use together share bytes.
  bool reuseBuffers = true;
  /// A tuning database (einloom-tune; Plan/TuningDatabase.h) whose entries
  /// the planner uses before its cost model; "" for none.
  std::string tuningDatabase;
};

struct CompileResult {
  std::string ptx;
  std::string cubin;    ///< empty when ptxas was not found
  std::string ptxasLog; ///< ptxas -v output (registers, spills, smem)
  std::string llvmIR;   ///< with emitLLVM
  rt::Bundle bundle;
};

/// Runs loom-select-plan and loom-lower-to-kernels on `module` (in place, so
/// the caller can print the kernel IR), then emits PTX (and a cubin), and
/// describes the entry function `entry` as a bundle. Diagnostics go to the
/// module's context.
mlir::FailureOr<CompileResult> compileModule(mlir::ModuleOp module,
                                             llvm::StringRef entry,
                                             const CompileOptions &options);

/// Runs only the two loom passes.
mlir::LogicalResult planAndGenerate(mlir::ModuleOp module,
                                    const CompileOptions &options);

/// Where ptxas is, or "" when it cannot be found.
std::string findPtxas();

} // namespace einloom

#endif
