// Canonicalization must not change what a program computes: evaluate before
// and after on the same seeded inputs and compare every printed value.
// (Random inputs take their range from their uses; signed codes are chosen so
// that an argument whose use folds away still draws the same values.)
// RUN: einloom-run --reference %s --seed 7 --print-values 64 > %t.before
// RUN: einloom-opt -canonicalize %s | einloom-run --reference - --seed 7 --print-values 64 > %t.after
// RUN: einloom-opt -canonicalize %s | FileCheck %s --check-prefix=CANON
// RUN: diff %t.before %t.after
// RUN: FileCheck %s --input-file %t.after --check-prefix=RESULTS

// The rewrite really happened (otherwise the diff proves nothing):
// CANON-NOT: "nk->kn"
// CANON-NOT: loom.unpack
// CANON: loom.einsum "ik,jk->ij"

// RESULTS: result #0
// RESULTS: result #1
// RESULTS: result #2
func.func @main(%a: tensor<8x16xf16>, %b: tensor<12x16xf16>, %q: tensor<64x8xi8>,
                %s: tensor<2x8xf16>, %z: tensor<2x8xf16>, %w: tensor<32x16xi4>)
    -> (tensor<8x12xf16>, tensor<64x8xi8>, tensor<32x16xi4>) {
  %t = loom.einsum "nk->kn" (%b) : (tensor<12x16xf16>) -> tensor<16x12xf16>
  %0 = loom.einsum "ik,kj->ij" (%a, %t) : (tensor<8x16xf16>, tensor<16x12xf16>) -> tensor<8x12xf16>
  %d = loom.dequantize %q, %s, %z {quant = #loom.quant<bits = 8, kind = signed, scheme = asymmetric, granularity = group, group_size = 32, scale_type = f16>} : (tensor<64x8xi8>, tensor<2x8xf16>, tensor<2x8xf16>) -> tensor<64x8xf32>
  %1 = loom.quantize %d, %s, %z {quant = #loom.quant<bits = 8, kind = signed, scheme = asymmetric, granularity = group, group_size = 32, scale_type = f16>} : (tensor<64x8xf32>, tensor<2x8xf16>, tensor<2x8xf16>) -> tensor<64x8xi8>
  %p = loom.pack %w {layout = #loom.layout<format = fragment, bits = 4>} : (tensor<32x16xi4>) -> tensor<64xi32>
  %2 = loom.unpack %p {layout = #loom.layout<format = fragment, bits = 4>} : (tensor<64xi32>) -> tensor<32x16xi4>
  return %0, %1, %2 : tensor<8x12xf16>, tensor<64x8xi8>, tensor<32x16xi4>
}
