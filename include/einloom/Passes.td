//===- Passes.td - Einloom's passes ------------------------*- tablegen -*-===//
#ifndef EINLOOM_PASSES_TD
#define EINLOOM_PASSES_TD

include "mlir/Pass/PassBase.td"

def LoomSelectPlan : Pass<"loom-select-plan", "mlir::ModuleOp"> {
  let summary = "Choose a #loom.plan for every contraction";
  let description = [{
    Attaches a `plan` to each `loom.einsum` that is a (batched) contraction,
    chosen by a cost model of the target. A plan already in the IR is kept
    and verified against the target instead.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"sm_90a\"",
           "GPU target: sm_80, sm_86, sm_89, sm_90 or sm_90a">,
    Option<"explain", "explain", "bool", /*default=*/"false",
           "Print the choice, its estimate and the rejected alternatives">,
  ];
}

def LoomLowerToKernels : Pass<"loom-lower-to-kernels", "mlir::ModuleOp"> {
  let summary = "Generate a GPU kernel for every planned contraction";
  let description = [{
    Builds one `gpu.func` per planned `loom.einsum` in a `gpu.module` with an
    NVVM target, from upstream gpu, nvgpu, nvvm, scf, arith, vector and
    memref ops. Each einsum is annotated with `loom.kernel` (the kernel's
    symbol) and `loom.launch` (grid, block, dynamic shared memory).
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"sm_90a\"",
           "GPU target: sm_80, sm_86, sm_89, sm_90 or sm_90a">,
  ];
  let dependentDialects = [
    "mlir::gpu::GPUDialect", "mlir::nvgpu::NVGPUDialect",
    "mlir::NVVM::NVVMDialect", "mlir::scf::SCFDialect",
    "mlir::arith::ArithDialect", "mlir::vector::VectorDialect",
    "mlir::memref::MemRefDialect",
  ];
}

#endif
