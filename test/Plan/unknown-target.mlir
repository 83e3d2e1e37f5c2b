// RUN: not einloom-opt %s -loom-select-plan="target=sm_75" 2>&1 | FileCheck %s
// CHECK: error: unknown target 'sm_75'; expected sm_80, sm_86, sm_89, sm_90 or sm_90a
func.func @f(%a: tensor<64x64xf16>) -> tensor<64x64xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %a) : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return %c : tensor<64x64xf16>
}
