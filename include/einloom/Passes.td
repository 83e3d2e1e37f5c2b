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
    Option<"tuningDb", "tuning-db", "std::string", /*default=*/"\"\"",
           "A tuning database (einloom-tune) consulted before the cost model">,
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
    "mlir::memref::MemRefDialect", "mlir::math::MathDialect",
  ];
}

def LoomOptimizePaths : Pass<"loom-optimize-paths", "mlir::ModuleOp"> {
  let summary = "Split n-ary einsums into binary ones in the cheapest order";
  let description = [{
    Rewrites every `loom.einsum` with three or more operands into a chain of
    binary einsums, in the order that minimises FLOPs: exact dynamic
    programming over subsets for up to 10 operands, greedy beyond (with a
    note), never creating an intermediate of more than `memory-limit`
    elements. Intermediates take the result's element type and the op's
    accumulator. Einsums with a label repeated inside an operand are left
    alone.
  }];
  let options = [
    Option<"memoryLimit", "memory-limit", "int64_t", /*default=*/"int64_t(1) << 31",
           "Largest intermediate, in elements (0: no limit)">,
    Option<"explain", "explain", "bool", /*default=*/"false",
           "Print the path, its FLOPs, the naive order's FLOPs and the peak intermediate">,
  ];
}

def LoomNormalizeOperands : Pass<"loom-normalize-operands", "mlir::ModuleOp"> {
  let summary = "Copy operands the contraction kernels would read element by element";
  let description = [{
    For each contraction of two operands (no plan given), an operand that the
    tensor-core kernels could not copy in 16-byte chunks (its K, M or N modes
    do not merge into a contiguous one), or that the CUDA-core kernels would
    address through several modes per group or a diagonal, is first copied
    by an einsum of that operand alone (a memory-bound kernel) into the
    order the kernels read best: batch labels, then its free labels in the
    result's order, then its summed labels with those shared with the other
    operand innermost, each once. The copy is exact; the contraction then
    reads contiguous rows.

    Before that, labels that one operand alone carries and the result drops
    (`ab,bc->c` sums `a` over the first operand only) are summed first by an
    einsum of that operand alone, when the other operand reuses each of its
    elements at least twice: the contraction then does a fraction of the
    work. Only floating-point operands of 16 bits or more are pre-summed, and
    only where the result type is the operand's (the partial sums are
    rounded once to the operand's type, as the contraction's own loads are).
  }];
  let options = [
    Option<"explain", "explain", "bool", /*default=*/"false",
           "Print each copy and why">,
  ];
}

def LoomFuseDequantize : Pass<"loom-fuse-dequantize", "mlir::ModuleOp"> {
  let summary = "Fuse a weight's loom.dequantize into the einsum that reads it";
  let description = [{
    A `loom.dequantize` of integer codes whose only use is a two-operand
    `loom.einsum` becomes that einsum's `weight_quant`, `scale` and
    `zero_point`: the einsum reads the codes and dequantizes them in
    registers (a mixed-input kernel), so the real weight is never written.
    The weight becomes the einsum's second operand (the operands and
    subscripts are swapped where it was the first).

    It fuses where the mixed-input kernels can run it: a weight of one
    summed label K and one kept label N (codes `N x K` or `K x N`),
    2-, 4- or 8-bit integer codes, activations and scales of the same
    type (f16 or bf16), integer zero points, per-tensor or per-channel
    scales over N or groups of 32, 64 or a multiple of 64 along K, N a
    multiple of 16 and K of 64. Otherwise the dequantize stays as it is
    and `explain` says why.

    A two-operand einsum whose first operand carries a `#loom.sparse`
    encoding (and whose second does not) has its operands and subscripts
    swapped the same way: the sparse kernel reads the weight second.
  }];
  let options = [
    Option<"explain", "explain", "bool", /*default=*/"false",
           "Print what was fused, and why a dequantize was not">,
  ];
}

def LoomFuseEpilogues : Pass<"loom-fuse-epilogues", "mlir::ModuleOp"> {
  let summary = "Fuse scaling, bias, activations, residual adds and casts into einsums";
  let description = [{
    Folds the elementwise ops that follow an einsum (`loom.scale`,
    `loom.add`, `loom.activation`, `loom.cast`) into its epilogue, in the
    order `act(alpha * x + bias) + beta * residual`, then the cast: the
    kernel applies them before its one store. An op that cannot join its
    producer (not an einsum, an einsum with other uses, an order the
    epilogue cannot express, an operand defined after the einsum) becomes
    an einsum of its input alone ("ab->ab", a memory-bound kernel) with the
    op as its epilogue, which the ops after it may join. The fused form
    rounds once, at the end.
  }];
  let options = [
    Option<"explain", "explain", "bool", /*default=*/"false",
           "Print what was fused, and why an op ran alone">,
  ];
}

def LoomPartitionMesh : Pass<"loom-partition-mesh", "mlir::ModuleOp"> {
  let summary = "Split a function over its device mesh: one program every rank runs";
  let description = [{
    A function with a `loom.mesh` whose einsums say which mesh axis each of
    their labels is split over (`loom.shard = {n = "tp"}`) becomes the
    program each rank runs on its slices (SPMD): tensor types shrink to the
    rank's slice and `loom` collectives move data where a sharding changes.
    An operand split otherwise than its einsum wants is resharded
    (`loom.shard_slice` of a whole tensor, `loom.all_gather` of a split
    one); a summed label split over an axis leaves a partial sum, which
    becomes a `loom.reduce_scatter` along the dimension the einsum's
    `loom.out_shard` names (Megatron's sequence parallelism) or a
    `loom.all_reduce` where the value is used whole. Arguments take the
    sharding of their first einsum use, or `loom.sharding` (one axis name a
    dimension, "" for whole) when given; the result shardings are written
    to the function's result attributes (`loom.sharding`). Elementwise ops
    keep their input's sharding. A `loom.dequantize` whose weight a split
    einsum reads is split the same way, its codes and scales (per channel,
    or per group along a split dimension) with it, so no rank holds the
    whole weight. A dimension that does not split evenly, a
    label split over an axis the mesh lacks, and ops the partitioner does
    not know are errors.
  }];
  let options = [
    Option<"explain", "explain", "bool", /*default=*/"false",
           "Print each collective and its bytes on the wire a rank">,
  ];
}

#endif
