//===- KernelBuilder.h - generating a contraction kernel --------*- C++ -*-===//
#ifndef EINLOOM_CODEGEN_KERNELBUILDER_H
#define EINLOOM_CODEGEN_KERNELBUILDER_H

#include "einloom/Codegen/FFTConvKernel.h"
#include "einloom/Plan/Contraction.h"
#include "einloom/Target.h"
#include "einloom/Plan/MemoryBound.h"

#include "Loom/LoomDialect.h"
#include "Loom/LoomOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include <array>
#include <string>
#include <vector>

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
  /// TMA tensor maps the host encodes before the launch (Hopper plans with
  /// producer = tma). The kernel then takes one more argument: a device
  /// table of the maps, 128 bytes each, in this order.
  struct TensorMap {
    int operand = 0;           ///< which argument: 0 = A, 1 = B
    int64_t elementBytes = 2;
    std::vector<int64_t> dims; ///< extents, innermost first
    std::vector<int64_t> strides; ///< byte pitches of dims 1..rank-1
    std::vector<int64_t> box;  ///< the tile each copy moves, innermost first
    int64_t swizzleBytes = 128;
  };
  std::vector<TensorMap> tensorMaps;
  /// A persistent kernel: grid.x CTAs loop over the tiles (any grid.x is
  /// correct; the plan sizes it to the target's SM count).
  bool persistent = false;
  /// CTAs of a persistent kernel resident on one SM (grid.x is at most
  /// this times the SM count).
  int64_t ctasPerSM = 1;
  /// CTAs per thread-block cluster along grid.x (1: no cluster).
  int64_t cluster = 1;
  /// Dynamic M (Contraction::dynamicLabel): the kernel takes the size as a
  /// last i64 argument, and the host launches grid.x = ceil(size * a / b) * c
  /// for {a, b, c} (persistent kernels: at most that). `grid` and the
  /// argument bytes are those of the largest size; a tensor map extent of -1
  /// stands for the size. {0, 0, 0} for static shapes.
  std::array<int64_t, 3> dynamicGrid{0, 0, 0};
  /// Bytes of the workspace a second kernel reduces (memory-bound split
  /// sums; split-K GEMMs use argumentBytes[2]).
  int64_t workspaceBytes = 0;
  /// Bytes of the fused epilogue's bias and residual (those present), the
  /// kernel's arguments right after A, B and C.
  llvm::SmallVector<int64_t, 2> epilogueBytes;
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
                       mlir::Location loc, int64_t numSMs = 132);

/// f32 (without tf32) and f64 on the CUDA cores (plans with mma = fma).
mlir::FailureOr<KernelLaunch>
buildSimtKernel(mlir::gpu::GPUModuleOp module, llvm::StringRef name, const Contraction &c,
                mlir::loom::PlanAttr plan, mlir::Location loc);

/// A memory-bound einsum (see runsAsMemoryKernel): arguments are the inputs
/// in order, then the result.
mlir::FailureOr<KernelLaunch>
buildMemoryKernel(mlir::gpu::GPUModuleOp module, llvm::StringRef name, const MemoryEinsum &m,
                  mlir::Location loc);

/// With MemoryEinsum::split > 1 the memory-bound kernel writes partial sums
/// to a workspace [split][result elements] (accumulator type) in place of
/// the result; this kernel (arguments: workspace, result) adds them.
mlir::FailureOr<KernelLaunch>
buildMemoryPartialSums(mlir::gpu::GPUModuleOp module, llvm::StringRef name,
                       const MemoryEinsum &m, mlir::Location loc);

/// A loom.dequantize that runs alone (not fused into an einsum): one
/// element per thread, x = (q - z) * s rounded once to the result type.
/// Codes of 8 bits or fewer are stored one per byte (as the bundle's
/// buffers hold them); arguments are codes, scales, [zero points], result.
struct DequantizeSpec {
  llvm::SmallVector<int64_t, 4> shape; ///< the codes' (and the result's)
  unsigned bits = 8;
  bool isSigned = true;
  int granularity = 0; ///< 0 per tensor, 1 per channel, 2 per group
  int64_t axis = 0, groupSize = 0;
  mlir::Type codeType, scaleType, zeroType, resultType; ///< zeroType null: none
  int64_t elements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  /// Elements of the scale (and zero-point) tensor.
  int64_t scaleElements() const;
};
mlir::FailureOr<KernelLaunch> buildDequantizeKernel(mlir::gpu::GPUModuleOp module,
                                                    llvm::StringRef name,
                                                    const DequantizeSpec &d,
                                                    mlir::Location loc);

/// loom.dynamic_quantize with scales along the first dimension: `rows`
/// rows of `cols` contiguous values of `input` (f16, bf16 or f32), one warp
/// a row, kThreads / 32 rows a block. Each lane takes the row's maximum
/// magnitude over its columns, the warp reduces it by shuffles, the scale
/// is max / qmax (f32 division), and the row is read again to write the
/// codes, roundeven(x / s) clamped (cvt.rni; NaN gives 0). Arguments:
/// input, codes (i8), scales (f32).
mlir::FailureOr<KernelLaunch> buildDynamicQuantizeKernel(mlir::gpu::GPUModuleOp module,
                                                         llvm::StringRef name, int64_t rows,
                                                         int64_t cols, mlir::Type input,
                                                         unsigned bits, mlir::Location loc);

/// loom.dynamic_quantize to fp8 codes (`codeType` f8E4M3FN or f8E5M2), one
/// f32 scale per `group` values of each row of `cols`: a warp a row, each
/// group's largest magnitude reduced in the warp, then its codes
/// (cvt.rn.satfinite; a NaN quotient gives 0). Arguments: the input, the
/// codes (rows x cols bytes), the scales (rows x ceil(cols / group) f32).
mlir::FailureOr<KernelLaunch> buildDynamicQuantizeGroupKernel(mlir::gpu::GPUModuleOp module,
                                                              llvm::StringRef name, int64_t rows,
                                                              int64_t cols, mlir::Type input,
                                                              mlir::Type codeType, int64_t group,
                                                              mlir::Location loc);

/// The fused FFT convolution's plan for `conv`, or an error on it saying
/// what the kernels cannot take (lengths, layouts, types).
mlir::FailureOr<codegen::FFTConvKernelPlan> fftconvPlan(mlir::loom::FFTConvOp conv);
/// --explain's account of the plan: the decomposition, what is skipped,
/// shared memory and residency, and the estimate (tensor-core time against
/// the bytes at DRAM rate) on `target` for 16-bit type `io`.
std::string describeFFTConvPlan(const codegen::FFTConvKernelPlan &p, const TargetInfo &target,
                                mlir::Type io);
/// loom.fftconv's filter spectra (FFTConvKernel.h): one CTA a filter row,
/// steps 1-3 of the fused kernel on the taps (type `filter`: f32, f16 or
/// bf16), times 1/M, the cutoff applied, scaled by a power of two.
/// Arguments: filter (heads x L), workspace (FFTConvKernelPlan::
/// workspaceFloats: the spectra in the kernel's [k1][k2] order, then the
/// heads' inverse scales).
mlir::FailureOr<KernelLaunch> buildFFTConvSpectrumKernel(mlir::gpu::GPUModuleOp module,
                                                         llvm::StringRef name,
                                                         const codegen::FFTConvKernelPlan &p,
                                                         mlir::Type filter, mlir::Location loc);
/// The fused FFT convolution (FFTConvKernel.h), persistent over the pairs
/// of sequences. Arguments: u, spectra, [pre-gate], [post-gate], y, all but
/// the spectra of type `io` (f16 or bf16).
mlir::FailureOr<KernelLaunch> buildFFTConvKernel(mlir::gpu::GPUModuleOp module,
                                                 llvm::StringRef name,
                                                 const codegen::FFTConvKernelPlan &p,
                                                 mlir::Type io, mlir::Location loc,
                                                 int64_t numSMs);

/// The outer kernels of a two-pass FFT convolution (FFTConvKernel.h), one
/// CTA a tile of kOuterTile columns of a unit's P x Q matrix:
///   Forward: u (times the pre-gate; type `data`, f16 or bf16), a pair of
///     sequences a unit, down the columns by F_P, times w_M^(k1 q), into
///     the workspace's rows (arguments u, workspace, [pre-gate]);
///   Filter: the same on the filter rows (type `data`: f32, f16 or bf16),
///     one a unit, for the spectrum kernel (arguments filter, workspace);
///   Inverse: the inner pass's rows times conj w_M^(k1 q), by conj F_P,
///     the outputs (times the post-gate) into y (arguments workspace,
///     [post-gate], y).
enum class FFTConvOuter { Forward, Filter, Inverse };
mlir::FailureOr<KernelLaunch> buildFFTConvOuterKernel(mlir::gpu::GPUModuleOp module,
                                                      llvm::StringRef name,
                                                      const codegen::FFTConvKernelPlan &p,
                                                      FFTConvOuter which, mlir::Type data,
                                                      mlir::Location loc);

/// The a_fragment repack on the GPU (a loom.pack that a program runs, as a
/// user repacks a checkpoint at load time): N x K codes stored one per byte
/// (as the bundle's buffers hold them) into N·K·bits/32 words, one word per
/// thread; arguments codes, words.
mlir::FailureOr<KernelLaunch> buildPackKernel(mlir::gpu::GPUModuleOp module,
                                              llvm::StringRef name, int64_t N, int64_t K,
                                              unsigned bits, mlir::Location loc);

/// Hopper (plans with producer = tma): a persistent, warp-specialized
/// kernel. One producer warpgroup issues TMA copies into a ring of
/// shared-memory stages completed on mbarriers; warps_m / 4 consumer
/// warpgroups run wgmma on them and release each stage on an mbarrier.
mlir::FailureOr<KernelLaunch>
buildWarpSpecializedKernel(mlir::gpu::GPUModuleOp module, llvm::StringRef name,
                           const Contraction &c, mlir::loom::PlanAttr plan,
                           mlir::Location loc, int64_t numSMs);

} // namespace einloom

#endif
