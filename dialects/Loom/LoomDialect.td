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

class Loom_Op<string mnemonic, list<Trait> traits = []>
    : Op<Loom_Dialect, mnemonic, traits>;

#endif // LOOM_DIALECT_TD
