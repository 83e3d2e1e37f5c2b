//===- KernelBuilder.h - generating a contraction kernel --------*- C++ -*-===//
#ifndef EINLOOM_CODEGEN_KERNELBUILDER_H
#define EINLOOM_CODEGEN_KERNELBUILDER_H

#include "einloom/Plan/Contraction.h"

#include "Loom/LoomDialect.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include <array>
#include <string>

namespace einloom {

/// How the host launches one generated kernel.
struct KernelLaunch {
  std::string name;
  std::array<int64_t, 3> grid{1, 1, 1}, block{1, 1, 1};
  int64_t sharedMemoryBytes = 0;
  /// Bytes of the kernel's three arguments: A, B and C; with split-K the
  /// third is the workspace of partial sums.
  std::array<int64_t, 3> argumentBytes{0, 0, 0};
  /// "k-major", "mn-major" or "elementwise" for A and B.
  std::string layoutA, layoutB;
};

/// Builds `gpu.func @name` in `module` computing the contraction with `plan`.
/// Emits a diagnostic at `loc` and fails on what it cannot generate.
/// With split_k = S the contraction kernel writes S partial sums (in the
/// accumulator type) to a workspace laid out [S][batch][M][N]; this kernel
/// (arguments: workspace, C) adds them, converts, and stores C.
mlir::FailureOr<KernelLaunch>
buildSplitKReduceKernel(mlir::gpu::GPUModuleOp module, llvm::StringRef name,
                        const Contraction &c, int64_t splitK, mlir::Location loc);

mlir::FailureOr<KernelLaunch>
buildContractionKernel(mlir::gpu::GPUModuleOp module, llvm::StringRef name,
                       const Contraction &c, mlir::loom::PlanAttr plan,
                       mlir::Location loc);

} // namespace einloom

#endif
