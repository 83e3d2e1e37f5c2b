// RUN: not einloom-opt %s -loom-optimize-paths="memory-limit=10" 2>&1 | FileCheck %s

// No order keeps the intermediates within 10 elements: a located error
// that names the limit (the output itself does not count against it).
// CHECK: error: 'loom.einsum' op cannot be split into binary contractions: no contraction order keeps every intermediate within the memory limit of 10 elements
func.func @too_big(%a: tensor<100x100xf32>, %b: tensor<100x100xf32>, %c: tensor<100x100xf32>) -> tensor<100x100xf32> {
  %r = loom.einsum "ab,bc,cd->ad" (%a, %b, %c) : (tensor<100x100xf32>, tensor<100x100xf32>, tensor<100x100xf32>) -> tensor<100x100xf32>
  return %r : tensor<100x100xf32>
}
