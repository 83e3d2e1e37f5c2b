// RUN: einloom-opt %s -split-input-file -verify-diagnostics -loom-select-plan="target=sm_80"

func.func @fp8_on_sm80(%a: tensor<64x64xf8E4M3FN>) -> tensor<64x64xf32> {
  // expected-error @+1 {{'f8E4M3FN' tensor-core math needs sm_89 or newer; target sm_80 does not have it}}
  %c = loom.einsum "mk,nk->mn" (%a, %a) : (tensor<64x64xf8E4M3FN>, tensor<64x64xf8E4M3FN>) -> tensor<64x64xf32>
  return %c : tensor<64x64xf32>
}

// -----

func.func @f32_cuda_core_plan_is_fixed(%a: tensor<64x64xf32>) -> tensor<64x64xf32> {
  // expected-error @+1 {{the CUDA-core (fma) kernel has two plans: #loom.plan<tile_m = 128, tile_n = 128, tile_k = 16, warps_m = 4, warps_n = 2, mma = fma, stages = 1> and #loom.plan<tile_m = 64, tile_n = 128, tile_k = 16, warps_m = 4, warps_n = 2, mma = fma, stages = 1>}}
  %c = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 128, tile_n = 64, tile_k = 16, warps_m = 4, warps_n = 2, mma = fma, stages = 1>} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  return %c : tensor<64x64xf32>
}

// -----

func.func @f64_not_on_tensor_cores(%a: tensor<64x64xf64>) -> tensor<64x64xf64> {
  // expected-error @+1 {{plan instruction m16n8k16 does not fit 'f64' operands; expected m8n8k4}}
  %c = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 64, tile_n = 64, tile_k = 16, warps_m = 2, warps_n = 2, mma = m16n8k16, stages = 2>} : (tensor<64x64xf64>, tensor<64x64xf64>) -> tensor<64x64xf64>
  return %c : tensor<64x64xf64>
}

// -----

func.func @wrong_instruction(%a: tensor<64x64xf16>) -> tensor<64x64xf16> {
  // expected-error @+1 {{plan instruction m16n8k32 does not fit 'f16' operands; expected m16n8k16}}
  %c = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 64, tile_n = 64, tile_k = 64, warps_m = 2, warps_n = 2, mma = m16n8k32, stages = 2>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return %c : tensor<64x64xf16>
}

// -----

func.func @too_much_smem(%a: tensor<64x64xf16>) -> tensor<64x64xf16> {
  // expected-error @+1 {{the plan needs 192 KiB of shared memory; sm_80 allows 163 KiB per block}}
  %c = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 2, warps_n = 4, mma = m16n8k16, stages = 4>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return %c : tensor<64x64xf16>
}

// -----

func.func @wgmma_needs_sm90a(%a: tensor<64x64xf16>) -> tensor<64x64xf16> {
  // expected-error @+1 {{wgmma needs target sm_90a, not sm_80}}
  %c = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 128, tile_n = 128, tile_k = 64, warps_m = 4, warps_n = 1, mma = wgmma_k16, stages = 2>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return %c : tensor<64x64xf16>
}

// -----

func.func @zero_size(%a: tensor<0x64xf16>, %b: tensor<64x64xf16>) -> tensor<0x64xf16> {
  // expected-error @+1 {{has a zero-sized dimension ('tensor<0x64xf16>'); there is nothing to compute}}
  %c = loom.einsum "mk,nk->mn" (%a, %b) : (tensor<0x64xf16>, tensor<64x64xf16>) -> tensor<0x64xf16>
  return %c : tensor<0x64xf16>
}

// -----

func.func @overflow(%a: tensor<65536x32768xf16>, %b: tensor<8x32768xf16>) -> tensor<65536x8xf16> {
  // expected-error @+1 {{operand 'tensor<65536x32768xf16>' has 2147483648 elements, which overflows 32-bit indexing}}
  %c = loom.einsum "mk,nk->mn" (%a, %b) : (tensor<65536x32768xf16>, tensor<8x32768xf16>) -> tensor<65536x8xf16>
  return %c : tensor<65536x8xf16>
}

// -----

// One operand runs as a memory-bound kernel on the CUDA cores, which do not take i4.
func.func @diagonal_i4(%a: tensor<64x64xi4>) -> tensor<64xi32> {
  // expected-error @+1 {{an einsum with nothing to contract on tensor cores runs on the CUDA cores, which take f16, bf16, f32, f64, f8E4M3FN, f8E5M2, i8 and i32 here, not 'i4'}}
  %c = loom.einsum "ii->i" (%a) : (tensor<64x64xi4>) -> tensor<64xi32>
  return %c : tensor<64xi32>
}

// -----

func.func @transpose_overflow(%a: tensor<65536x32768xf16>) -> tensor<32768x65536xf16> {
  // expected-error @+1 {{operand 'tensor<65536x32768xf16>' has 2147483648 elements, which overflows 32-bit indexing}}
  %c = loom.einsum "ij->ji" (%a) : (tensor<65536x32768xf16>) -> tensor<32768x65536xf16>
  return %c : tensor<32768x65536xf16>
}

// -----

func.func @split_beyond_k(%a: tensor<64x128xf16>) -> tensor<64x64xf16> {
  // expected-error @+1 {{split_k = 4 exceeds the 2 K tiles of 64}}
  %c = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 64, tile_n = 64, tile_k = 64, warps_m = 2, warps_n = 2, mma = m16n8k16, stages = 2, split_k = 4>} : (tensor<64x128xf16>, tensor<64x128xf16>) -> tensor<64x64xf16>
  return %c : tensor<64x64xf16>
}
