//===- LoomDialect.td - the loom dialect -------------------*- tablegen -*-===//
#ifndef LOOM_DIALECT_TD
#define LOOM_DIALECT_TD

include "mlir/IR/OpBase.td"

def Loom_Dialect : Dialect {
  let name = "loom";
  let cppNamespace = "::mlir::loom";
  let summary = "Tensor-level einsum, quantization, sparsity and FFT convolution";
  let description = [{
    `loom` is Einloom's one dialect. Its ops have value semantics on ranked
    tensors. Everything below plan selection is expressed in upstream
    dialects. See docs/dialect.md for the exact numeric semantics of every op.
  }];
  let useDefaultAttributePrinterParser = 1;
}

// Every loom op: its tensors' sizes in bytes fit 64-bit arithmetic
// (LoomOps.h, SizesFit).
def Loom_SizesFit : NativeOpTrait<"SizesFit"> {
  let cppNamespace = "::mlir::loom";
}

class Loom_Op<string mnemonic, list<Trait> traits = []>
    : Op<Loom_Dialect, mnemonic, !listconcat(traits, [Loom_SizesFit])>;

#endif // LOOM_DIALECT_TD
