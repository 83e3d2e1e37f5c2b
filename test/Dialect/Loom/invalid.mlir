// RUN: einloom-opt %s -split-input-file -verify-diagnostics

func.func @f(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{invalid spec "i1->i" at position 1: invalid character '1'; labels are ASCII letters}}
  %0 = loom.einsum "i1->i" (%a) : (tensor<4x8xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{at position 5: a second '->'}}
  %0 = loom.einsum "ij->i->j" (%a) : (tensor<4x8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{at position 2: a stray '-'; the output follows '->'}}
  %0 = loom.einsum "ij-j" (%a) : (tensor<4x8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{at position 5: einsum has a single output; ',' after '->'}}
  %0 = loom.einsum "ij->i,j" (%a) : (tensor<4x8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{at position 5: label 'i' appears twice in the output}}
  %0 = loom.einsum "ij->ii" (%a) : (tensor<4x8xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{at position 5: label 'k' appears only in the output}}
  %0 = loom.einsum "ij->ik" (%a) : (tensor<4x8xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{needs at least one operand}}
  %0 = loom.einsum "->" () : () -> tensor<f32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{spec "ij,jk->ik" has 2 operand subscripts but the op has 1 operands}}
  %0 = loom.einsum "ij,jk->ik" (%a) : (tensor<4x8xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{operand #0 has rank 2 but its subscripts "ijk" name 3 dimensions}}
  %0 = loom.einsum "ijk->i" (%a) : (tensor<4x8xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @f(%a: tensor<4x8xi16>) {
  // expected-error @+1 {{operand #0 has unsupported element type 'i16'}}
  %0 = loom.einsum "ij->i" (%a) : (tensor<4x8xi16>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf32>, %b: tensor<8x4xf16>) {
  // expected-error @+1 {{operand element types differ ('f32' and 'f16'); convert or dequantize first}}
  %0 = loom.einsum "ij,jk->ik" (%a, %b) : (tensor<4x8xf32>, tensor<8x4xf16>) -> tensor<4x4xf32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf32>, %b: tensor<6x4xf32>) {
  // expected-error @+1 {{label 'j' has size 8 in operand #0 but size 6 in operand #1}}
  %0 = loom.einsum "ij,jk->ik" (%a, %b) : (tensor<4x8xf32>, tensor<6x4xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{label 'i' has size 4 in operand #0 but size 8 in operand #0}}
  %0 = loom.einsum "ii->i" (%a) : (tensor<4x8xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{result has rank 1 but the output subscripts "ji" name 2 dimensions}}
  %0 = loom.einsum "ij->ji" (%a) : (tensor<4x8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{result dimension 0 (label 'j') has size 4 but the operands give 8}}
  %0 = loom.einsum "ij->ji" (%a) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @f(%a: tensor<4x8xbf16>) {
  // expected-error @+1 {{accumulator type 'f16' is not allowed for 'bf16' operands}}
  %0 = loom.einsum "ij->i" (%a) {acc = f16} : (tensor<4x8xbf16>) -> tensor<4xbf16>
  return
}

// -----

func.func @f(%a: tensor<4x8xi8>) {
  // expected-error @+1 {{accumulator type 'f32' is not allowed for 'i8' operands}}
  %0 = loom.einsum "ij->i" (%a) {acc = f32} : (tensor<4x8xi8>) -> tensor<4xf32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf16>) {
  // expected-error @+1 {{allow_tf32 applies only to f32 operands, not 'f16'}}
  %0 = loom.einsum "ij->i" (%a) {allow_tf32} : (tensor<4x8xf16>) -> tensor<4xf16>
  return
}

// -----

func.func @f(%a: tensor<4x8xf16>) {
  // expected-error @+1 {{result element type 'i32' cannot hold a 'f32' accumulator}}
  %0 = loom.einsum "ij->i" (%a) : (tensor<4x8xf16>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<4x8xi8>) {
  // expected-error @+1 {{result element type 'i4' cannot hold a 'i32' accumulator}}
  %0 = loom.einsum "ij->i" (%a) : (tensor<4x8xi8>) -> tensor<4xi4>
  return
}

// -----

func.func @f(%a: tensor<4x8xi4, #loom.quant<bits = 8, kind = signed, scale_type = f16>>) {
  // expected-error @+1 {{operand #0 has a 8-bit quant encoding but element type 'i4'}}
  %0 = loom.einsum "ij->i" (%a) : (tensor<4x8xi4, #loom.quant<bits = 8, kind = signed, scale_type = f16>>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<4x8xf8E5M2, #loom.quant<bits = 8, kind = e4m3, scale_type = f16>>) {
  // expected-error @+1 {{operand #0 has an fp8 quant encoding but element type 'f8E5M2'}}
  %0 = loom.einsum "ij->i" (%a) : (tensor<4x8xf8E5M2, #loom.quant<bits = 8, kind = e4m3, scale_type = f16>>) -> tensor<4xf32>
  return
}

// -----

func.func @f(%a: tensor<8xf16, #loom.sparse<format = two_four>>) {
  // expected-error @+1 {{operand #0 has a sparse encoding but rank 1}}
  %0 = loom.einsum "i->" (%a) : (tensor<8xf16, #loom.sparse<format = two_four>>) -> tensor<f16>
  return
}

// -----

func.func @f(%a: tensor<4x8xf16, "foo">) {
  // expected-error @+1 {{operand #0 has an encoding loom does not know: "foo"}}
  %0 = loom.einsum "ij->i" (%a) : (tensor<4x8xf16, "foo">) -> tensor<4xf16>
  return
}

// -----

// expected-error @+1 {{bits must be in [1, 8], got 9}}
func.func private @f(tensor<4xf32, #loom.quant<bits = 9, kind = signed, scale_type = f32>>)

// -----

// expected-error @+1 {{fp8 kind 'e4m3' needs bits = 8, got 4}}
func.func private @f(tensor<4xf32, #loom.quant<bits = 4, kind = e4m3, scale_type = f32>>)

// -----

// expected-error @+1 {{kind 'bipolar' has no zero point; use scheme = symmetric}}
func.func private @f(tensor<4xf32, #loom.quant<bits = 2, kind = bipolar, scheme = asymmetric, scale_type = f32>>)

// -----

// expected-error @+1 {{a signed code needs at least 2 bits; use kind = unsigned or bipolar for 1 bit}}
func.func private @f(tensor<4xf32, #loom.quant<bits = 1, kind = signed, scale_type = f32>>)

// -----

// expected-error @+1 {{axis must be non-negative, got -1}}
func.func private @f(tensor<4xf32, #loom.quant<bits = 4, kind = signed, granularity = channel, axis = -1, scale_type = f32>>)

// -----

// expected-error @+1 {{per-tensor quantization takes no axis or group_size}}
func.func private @f(tensor<4xf32, #loom.quant<bits = 4, kind = signed, axis = 1, scale_type = f32>>)

// -----

// expected-error @+1 {{per-channel quantization takes no group_size}}
func.func private @f(tensor<4xf32, #loom.quant<bits = 4, kind = signed, granularity = channel, group_size = 4, scale_type = f32>>)

// -----

// expected-error @+1 {{per-group quantization needs group_size > 0}}
func.func private @f(tensor<4xf32, #loom.quant<bits = 4, kind = signed, granularity = group, scale_type = f32>>)

// -----

// expected-error @+1 {{scale_type must be a float type, got 'i32'}}
func.func private @f(tensor<4xf32, #loom.quant<bits = 4, kind = signed, scale_type = i32>>)

// -----

// expected-error @+1 {{tile sizes must be non-negative}}
func.func private @f(tensor<4x4xf16, #loom.sparse<format = tiled_csl, tile_rows = -1, tile_cols = 4>>)

// -----

// expected-error @+1 {{density is a percentage of non-zeros (1 to 100, or 0: unknown), got 150}}
func.func private @f(tensor<4x4xf16, #loom.sparse<format = tiled_csl, tile_rows = 4, tile_cols = 4, density = 150>>)

// -----

// expected-error @+1 {{format 'auto' takes tiles of 64 or 128 rows by 64 columns (or none: 64 x 64), got 32 x 64}}
func.func private @f(tensor<4x4xf16, #loom.sparse<format = auto, tile_rows = 32, tile_cols = 64>>)

// -----

// expected-error @+1 {{two_four takes no tile sizes}}
func.func private @f(tensor<4x4xf16, #loom.sparse<format = two_four, tile_rows = 4, tile_cols = 4>>)

// -----

// expected-error @+1 {{format 'block_csr' needs tile_rows and tile_cols}}
func.func private @f(tensor<4x4xf16, #loom.sparse<format = block_csr>>)

// -----

// expected-error @+1 {{a tiled_csl tile holds at most 65536 elements (16-bit positions), got 131072}}
func.func private @f(tensor<4x4xf16, #loom.sparse<format = tiled_csl, tile_rows = 512, tile_cols = 256>>)

// -----

func.func @f(%a: tensor<64x64xi8>) {
  // expected-error @+1 {{format 'two_four' takes no bits}}
  %0 = loom.pack %a {layout = #loom.layout<format = two_four, bits = 4>} : (tensor<64x64xi8>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<64x64xi8>) {
  // expected-error @+1 {{format 'fragment' takes no tile sizes}}
  %0 = loom.pack %a {layout = #loom.layout<format = fragment, bits = 4, tile_rows = 4>} : (tensor<64x64xi8>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<64x64xi8>) {
  // expected-error @+1 {{only fragment, a_fragment and bit_planes take a kind}}
  %0 = loom.pack %a {layout = #loom.layout<format = tiled_csl, tile_rows = 4, tile_cols = 4, kind = unsigned>} : (tensor<64x64xi8>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<64x64xi8>) {
  // expected-error @+1 {{fragment packs signed or unsigned codes}}
  %0 = loom.pack %a {layout = #loom.layout<format = fragment, bits = 4, kind = bipolar>} : (tensor<64x64xi8>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<64x64xi8>) {
  // expected-error @+1 {{fragment layout packs 4- or 8-bit codes, got bits = 3}}
  %0 = loom.pack %a {layout = #loom.layout<format = fragment, bits = 3>} : (tensor<64x64xi8>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<64x64xi8>) {
  // expected-error @+1 {{bit_planes needs bits in [1, 8], got 9}}
  %0 = loom.pack %a {layout = #loom.layout<format = bit_planes, bits = 9>} : (tensor<64x64xi8>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<64x64xi8>) {
  // expected-error @+1 {{bit_planes packs integer or bipolar codes}}
  %0 = loom.pack %a {layout = #loom.layout<format = bit_planes, bits = 8, kind = e5m2>} : (tensor<64x64xi8>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<64x64xi8>) {
  // expected-error @+1 {{a signed code needs at least 2 bits}}
  %0 = loom.pack %a {layout = #loom.layout<format = bit_planes, bits = 1>} : (tensor<64x64xi8>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<64x64xi8>) {
  // expected-error @+1 {{format 'block_csr' needs tile_rows > 0 and tile_cols > 0}}
  %0 = loom.pack %a {layout = #loom.layout<format = block_csr, tile_rows = 0, tile_cols = 4>} : (tensor<64x64xi8>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<64x64xi8>) {
  // expected-error @+1 {{a tiled_csl tile holds at most 65536 elements (16-bit positions), got 131072}}
  %0 = loom.pack %a {layout = #loom.layout<format = tiled_csl, tile_rows = 512, tile_cols = 256>} : (tensor<64x64xi8>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{tile sizes must be positive, got 0x64x32}}
  %0 = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 0, tile_n = 64, tile_k = 32, warps_m = 1, warps_n = 1, mma = m16n8k16>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{warp counts must be positive}}
  %0 = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 64, tile_n = 64, tile_k = 32, warps_m = 0, warps_n = 1, mma = m16n8k16>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{at most 32 warps (1024 threads) per CTA, got 64}}
  %0 = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 256, tile_n = 256, tile_k = 32, warps_m = 8, warps_n = 8, mma = m16n8k16>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{wgmma plans issue from whole warpgroups: the warp count must be a multiple of 4, got 2}}
  %0 = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 128, tile_n = 128, tile_k = 64, warps_m = 2, warps_n = 1, mma = wgmma_k16>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{tile 96x128x64 is not a multiple of the wgmma shape 64x8x16}}
  %0 = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 96, tile_n = 128, tile_k = 64, warps_m = 4, warps_n = 1, mma = wgmma_k16>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{tile 128x128x24 does not divide into 2x2 warps of m16n8k16 instructions}}
  %0 = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 128, tile_n = 128, tile_k = 24, warps_m = 2, warps_n = 2, mma = m16n8k16>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{stages must be in [1, 8], got 9}}
  %0 = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 128, tile_n = 128, tile_k = 32, warps_m = 2, warps_n = 2, mma = m16n8k16, stages = 9>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{split_k must be at least 1, got 0}}
  %0 = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 128, tile_n = 128, tile_k = 32, warps_m = 2, warps_n = 2, mma = m16n8k16, split_k = 0>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{swizzle must be a power of two in [1, 16], got 3}}
  %0 = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 128, tile_n = 128, tile_k = 32, warps_m = 2, warps_n = 2, mma = m16n8k16, raster = swizzle, swizzle = 3>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{swizzle = 4 needs raster = swizzle}}
  %0 = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 128, tile_n = 128, tile_k = 32, warps_m = 2, warps_n = 2, mma = m16n8k16, swizzle = 4>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{prefetch = 2 is a sparse producer's depth (tiled_csl, bitmap, two_four); other producers take 1}}
  %0 = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 128, tile_n = 128, tile_k = 32, warps_m = 2, warps_n = 2, mma = m16n8k16, prefetch = 2>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{prefetch must be 1 to 4 tiles, got 0}}
  %0 = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 64, tile_n = 16, tile_k = 64, warps_m = 4, warps_n = 1, mma = m16n8k16, stages = 4, producer = tiled_csl, order = ba, prefetch = 0>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
  return
}

// -----

func.func @f(%a: tensor<4xi32>, %s: tensor<f32>) {
  // expected-error @+1 {{input must be a float tensor, got 'tensor<4xi32>'}}
  %0 = loom.quantize %a, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xi32>, tensor<f32>) -> tensor<4xi8>
  return
}

// -----

func.func @f(%a: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{result shape must equal the input shape}}
  %0 = loom.quantize %a, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xf32>, tensor<f32>) -> tensor<5xi8>
  return
}

// -----

func.func @f(%a: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{result element type 'i4' cannot hold 8-bit signed codes; expected a signless integer of 8 to 32 bits}}
  %0 = loom.quantize %a, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi4>
  return
}

// -----

func.func @f(%a: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{result element type 'f8E5M2' does not match fp8 kind 'e4m3'}}
  %0 = loom.quantize %a, %s {quant = #loom.quant<bits = 8, kind = e4m3, scale_type = f32>} : (tensor<4xf32>, tensor<f32>) -> tensor<4xf8E5M2>
  return
}

// -----

func.func @f(%a: tensor<4xf32>, %s: tensor<f16>) {
  // expected-error @+1 {{scale element type 'f16' differs from the attribute's scale_type 'f32'}}
  %0 = loom.quantize %a, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xf32>, tensor<f16>) -> tensor<4xi8>
  return
}

// -----

func.func @f(%a: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{scheme = asymmetric needs a zero-point operand}}
  %0 = loom.quantize %a, %s {quant = #loom.quant<bits = 8, kind = unsigned, scheme = asymmetric, scale_type = f32>} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi8>
  return
}

// -----

func.func @f(%a: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{a zero-point operand needs scheme = asymmetric}}
  %0 = loom.quantize %a, %s, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xf32>, tensor<f32>, tensor<f32>) -> tensor<4xi8>
  return
}

// -----

func.func @f(%a: tensor<4xf32>, %s: tensor<f32>, %z: tensor<1xf32>) {
  // expected-error @+1 {{zero point shape must equal the scale shape}}
  %0 = loom.quantize %a, %s, %z {quant = #loom.quant<bits = 8, kind = unsigned, scheme = asymmetric, scale_type = f32>} : (tensor<4xf32>, tensor<f32>, tensor<1xf32>) -> tensor<4xi8>
  return
}

// -----

func.func @f(%a: tensor<4xf32>, %s: tensor<f32>, %z: tensor<index>) {
  // expected-error @+1 {{zero point element type 'index' is not numeric}}
  %0 = loom.quantize %a, %s, %z {quant = #loom.quant<bits = 8, kind = unsigned, scheme = asymmetric, scale_type = f32>} : (tensor<4xf32>, tensor<f32>, tensor<index>) -> tensor<4xi8>
  return
}

// -----

func.func @f(%a: tensor<4xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{axis 1 is out of range for rank 1}}
  %0 = loom.quantize %a, %s {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 1, scale_type = f32>} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi8>
  return
}

// -----

func.func @f(%a: tensor<100x4xf32>, %s: tensor<1x4xf32>) {
  // expected-error @+1 {{dimension 0 of size 100 is not a multiple of group_size 64}}
  %0 = loom.quantize %a, %s {quant = #loom.quant<bits = 4, kind = signed, granularity = group, group_size = 64, scale_type = f32>} : (tensor<100x4xf32>, tensor<1x4xf32>) -> tensor<100x4xi8>
  return
}

// -----

func.func @f(%a: tensor<128x4xf32>, %s: tensor<4x4xf32>) {
  // expected-error @+1 {{scale shape does not match group granularity: expected [2, 4]}}
  %0 = loom.quantize %a, %s {quant = #loom.quant<bits = 4, kind = signed, granularity = group, group_size = 64, scale_type = f32>} : (tensor<128x4xf32>, tensor<4x4xf32>) -> tensor<128x4xi8>
  return
}

// -----

func.func @f(%a: tensor<4xf32>, %s: tensor<1xf32>) {
  // expected-error @+1 {{scale shape does not match tensor granularity: expected [] (a rank-0 tensor)}}
  %0 = loom.quantize %a, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xf32>, tensor<1xf32>) -> tensor<4xi8>
  return
}

// -----

func.func @f(%a: tensor<4xi8>, %s: tensor<f32>) {
  // expected-error @+1 {{result must be a float tensor, got 'tensor<4xi32>'}}
  %0 = loom.dequantize %a, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xi8>, tensor<f32>) -> tensor<4xi32>
  return
}

// -----

func.func @f(%a: tensor<4xi8>, %s: tensor<f32>) {
  // expected-error @+1 {{result shape must equal the input shape}}
  %0 = loom.dequantize %a, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xi8>, tensor<f32>) -> tensor<2x2xf32>
  return
}

// -----

func.func @f(%a: tensor<4xi2>, %s: tensor<f32>) {
  // expected-error @+1 {{input element type 'i2' cannot hold 2-bit bipolar codes; expected a signless integer of 3 to 32 bits}}
  %0 = loom.dequantize %a, %s {quant = #loom.quant<bits = 2, kind = bipolar, scale_type = f32>} : (tensor<4xi2>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

func.func @f(%a: tensor<?x32xi4>) {
  // expected-error @+1 {{layout 'fragment' needs a static dense shape, got 'tensor<?x32xi4>'}}
  %0 = loom.pack %a {layout = #loom.layout<format = fragment, bits = 4>} : (tensor<?x32xi4>) -> tensor<256xi32>
  return
}

// -----

func.func @f(%a: tensor<4x64x32xi4>) {
  // expected-error @+1 {{layout 'fragment' packs a rank-2 tensor, got 'tensor<4x64x32xi4>'}}
  %0 = loom.pack %a {layout = #loom.layout<format = fragment, bits = 4>} : (tensor<4x64x32xi4>) -> tensor<256xi32>
  return
}

// -----

func.func @f(%a: tensor<64x32xi16>) {
  // expected-error @+1 {{fragment layout with bits = 4 needs i4 or i8 codes, got 'i16'}}
  %0 = loom.pack %a {layout = #loom.layout<format = fragment, bits = 4>} : (tensor<64x32xi16>) -> tensor<256xi32>
  return
}

// -----

func.func @f(%a: tensor<64x24xi4>) {
  // expected-error @+1 {{fragment layout with bits = 4 needs K % 16 == 0 and N % 16 == 0, got K = 64, N = 24}}
  %0 = loom.pack %a {layout = #loom.layout<format = fragment, bits = 4>} : (tensor<64x24xi4>) -> tensor<192xi32>
  return
}

// -----

func.func @f(%a: tensor<64x32xf32>) {
  // expected-error @+1 {{layout 'tiled_csl' stores f16 or bf16 values, got 'f32'}}
  %0:2 = loom.pack %a {layout = #loom.layout<format = tiled_csl, tile_rows = 64, tile_cols = 64>} : (tensor<64x32xf32>) -> (tensor<2xi32>, tensor<?xi32>)
  return
}

// -----

func.func @f(%a: tensor<64x40xf16>) {
  // expected-error @+1 {{two_four layout needs K % 16 == 0, got K = 40}}
  %0:2 = loom.pack %a {layout = #loom.layout<format = two_four>} : (tensor<64x40xf16>) -> (tensor<64x20xf16>, tensor<64x2xi16>)
  return
}

// -----

func.func @f(%a: tensor<4x40xi2>) {
  // expected-error @+1 {{bit_planes with bits = 2 needs integer codes of at least 3 bits and rank >= 1, got 'tensor<4x40xi2>'}}
  %0 = loom.pack %a {layout = #loom.layout<format = bit_planes, bits = 2, kind = bipolar>} : (tensor<4x40xi2>) -> tensor<2x4x2xi32>
  return
}

// -----

func.func @f(%a: tensor<60x64xf16>) {
  // expected-error @+1 {{block_csr with 16x16 blocks needs the shape to be a multiple, got 60x64}}
  %0:3 = loom.pack %a {layout = #loom.layout<format = block_csr, tile_rows = 16, tile_cols = 16>} : (tensor<60x64xf16>) -> (tensor<5xi32>, tensor<?xi32>, tensor<?x16x16xf16>)
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{layout 'two_four' has 2 results but the op has 1}}
  %0 = loom.pack %a {layout = #loom.layout<format = two_four>} : (tensor<64x64xf16>) -> tensor<64x32xf16>
  return
}

// -----

func.func @f(%a: tensor<64x64xf16>) {
  // expected-error @+1 {{result #0 has type 'tensor<2xi32>' but layout 'tiled_csl' stores 'tensor<3xi32>'}}
  %0:2 = loom.pack %a {layout = #loom.layout<format = tiled_csl, tile_rows = 32, tile_cols = 64>} : (tensor<64x64xf16>) -> (tensor<2xi32>, tensor<?xi32>)
  return
}

// -----

func.func @f(%a: tensor<64x32xf16>) {
  // expected-error @+1 {{operand #1 has type 'tensor<64x32xf16>' but layout 'two_four' stores 'tensor<64x4xi16>'}}
  %0 = loom.unpack %a, %a {layout = #loom.layout<format = two_four>} : (tensor<64x32xf16>, tensor<64x32xf16>) -> tensor<64x64xf16>
  return
}

// -----

func.func @f(%u: tensor<4x16xi32>, %k: tensor<16xf32>) {
  // expected-error @+1 {{input must be an f64/f32/f16/bf16 tensor, got 'tensor<4x16xi32>'}}
  %0 = loom.fftconv causal %u, %k : (tensor<4x16xi32>, tensor<16xf32>) -> tensor<4x16xi32>
  return
}

// -----

func.func @f(%u: tensor<f32>, %k: tensor<f32>) {
  // expected-error @+1 {{input must have rank >= 1}}
  %0 = loom.fftconv causal %u, %k : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return
}

// -----

func.func @f(%u: tensor<4x16xf32>, %k: tensor<16xf32>) {
  // expected-error @+1 {{result shape must equal the input shape}}
  %0 = loom.fftconv causal %u, %k : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @f(%u: tensor<16xf32>, %k: tensor<2x16xf32>) {
  // expected-error @+1 {{kernel rank 2 exceeds input rank 1}}
  %0 = loom.fftconv causal %u, %k : (tensor<16xf32>, tensor<2x16xf32>) -> tensor<16xf32>
  return
}

// -----

func.func @f(%u: tensor<4x16xf32>, %k: tensor<32xf32>) {
  // expected-error @+1 {{kernel length 32 exceeds the sequence length 16}}
  %0 = loom.fftconv causal %u, %k : (tensor<4x16xf32>, tensor<32xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%u: tensor<2x4x16xf32>, %k: tensor<3x16xf32>) {
  // expected-error @+1 {{kernel dimension 0 of size 3 does not broadcast against input dimension 1 of size 4}}
  %0 = loom.fftconv causal %u, %k : (tensor<2x4x16xf32>, tensor<3x16xf32>) -> tensor<2x4x16xf32>
  return
}

// -----

func.func @f(%u: tensor<4x16xf32>, %k: tensor<16xf32>, %g: tensor<4x8xf32>) {
  // expected-error @+1 {{pre_gate must be a float tensor of the input's shape, got 'tensor<4x8xf32>'}}
  %0 = loom.fftconv causal %u, %k pre_gate(%g) : (tensor<4x16xf32>, tensor<16xf32>, tensor<4x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%u: tensor<4x16xf32>, %k: tensor<16xf32>) {
  // expected-error @+1 {{freq_cutoff must be positive, got 0}}
  %0 = loom.fftconv causal %u, %k {freq_cutoff = 0 : i64} : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%u: tensor<4x16xf32>, %k: tensor<16xf32>) {
  // expected-error @+1 {{freq_cutoff 10 exceeds the 9 distinct frequencies of a length-16 FFT}}
  %0 = loom.fftconv circular %u, %k {freq_cutoff = 10 : i64} : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x64xf16>, %q: tensor<16x64xi4>) {
  // expected-error @+1 {{weight_quant needs a scale operand}}
  %0 = loom.einsum "mk,nk->mn" (%x, %q) {weight_quant = #loom.quant<bits = 4, kind = signed, scale_type = f16>} : (tensor<4x64xf16>, tensor<16x64xi4>) -> tensor<4x16xf16>
  return
}

// -----

func.func @f(%x: tensor<4x64xf16>, %q: tensor<16x64xi4>, %s: tensor<16x3xf16>) {
  // expected-error @+1 {{dimension 1 of size 64 is not a multiple of group_size 48}}
  %0 = loom.einsum "mk,nk->mn" (%x, %q) scale(%s : tensor<16x3xf16>) {weight_quant = #loom.quant<bits = 4, kind = signed, granularity = group, axis = 1, group_size = 48, scale_type = f16>} : (tensor<4x64xf16>, tensor<16x64xi4>) -> tensor<4x16xf16>
  return
}

// -----

func.func @f(%x: tensor<4x64xf16>, %q: tensor<16x64xi4>, %s: tensor<16x2xf16>) {
  // expected-error @+1 {{scale shape does not match group granularity: expected [16, 1]}}
  %0 = loom.einsum "mk,nk->mn" (%x, %q) scale(%s : tensor<16x2xf16>) {weight_quant = #loom.quant<bits = 4, kind = signed, granularity = group, axis = 1, group_size = 64, scale_type = f16>} : (tensor<4x64xf16>, tensor<16x64xi4>) -> tensor<4x16xf16>
  return
}

// -----

func.func @f(%x: tensor<4x64xf16>, %q: tensor<16x64xi4>, %s: tensor<16xf16>) {
  // expected-error @+1 {{scheme = asymmetric needs a zero-point operand}}
  %0 = loom.einsum "mk,nk->mn" (%x, %q) scale(%s : tensor<16xf16>) {weight_quant = #loom.quant<bits = 4, kind = unsigned, scheme = asymmetric, granularity = channel, axis = 0, scale_type = f16>} : (tensor<4x64xf16>, tensor<16x64xi4>) -> tensor<4x16xf16>
  return
}

// -----

func.func @f(%x: tensor<4x64xf16>, %q: tensor<16x64xi2>, %s: tensor<16xf16>) {
  // expected-error @+1 {{weight code element type 'i2' cannot hold 4-bit signed codes}}
  %0 = loom.einsum "mk,nk->mn" (%x, %q) scale(%s : tensor<16xf16>) {weight_quant = #loom.quant<bits = 4, kind = signed, granularity = channel, axis = 0, scale_type = f16>} : (tensor<4x64xf16>, tensor<16x64xi2>) -> tensor<4x16xf16>
  return
}

// -----

func.func @f(%x: tensor<4x64xf16>, %y: tensor<16x64xf16>, %s: tensor<16xf16>) {
  // expected-error @+1 {{has a scale or zero point but no weight_quant}}
  %0 = loom.einsum "mk,nk->mn" (%x, %y) scale(%s : tensor<16xf16>) : (tensor<4x64xf16>, tensor<16x64xf16>) -> tensor<4x16xf16>
  return
}

// -----

func.func @f(%x: tensor<4x64xi8>, %q: tensor<16x64xi4>, %s: tensor<16xf16>) {
  // expected-error @+1 {{a dequantized weight is read as the first operand's type, which must be f16, bf16 or f32, not 'i8'}}
  %0 = loom.einsum "mk,nk->mn" (%x, %q) scale(%s : tensor<16xf16>) {weight_quant = #loom.quant<bits = 4, kind = signed, granularity = channel, axis = 0, scale_type = f16>} : (tensor<4x64xi8>, tensor<16x64xi4>) -> tensor<4x16xi32>
  return
}

// -----

func.func @f(%w: tensor<24x64xi4>) {
  // expected-error @+1 {{a_fragment layout needs N % 16 == 0 and K % 64 == 0 (an N x K weight, K contiguous), got N = 24, K = 64}}
  %p = loom.pack %w {layout = #loom.layout<format = a_fragment, bits = 4, kind = signed>} : (tensor<24x64xi4>) -> tensor<192xi32>
  return
}

// -----

// expected-error @+1 {{bitmap tiles are made of 8 x 8 blocks, got 12 x 64}}
func.func private @f(tensor<24x64xf16, #loom.sparse<format = bitmap, tile_rows = 12, tile_cols = 64>>)

// -----

func.func @f(%x: tensor<4x8xi8>, %w: tensor<6x8xi8>, %s: tensor<6xf32>) {
  // expected-error @+1 {{row_scale of type 'tensor<6xf32>' must have the shape [4] (the result's dimensions but the last: one a row)}}
  %0 = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%s : tensor<6xf32>) : (tensor<4x8xi8>, tensor<6x8xi8>) -> tensor<4x6xf16>
  return
}

// -----

func.func @f(%x: tensor<4x8xi8>, %w: tensor<6x8xi8>, %s: tensor<6xf16>) {
  // expected-error @+1 {{col_scale must hold f32 scales, not 'f16'}}
  %0 = loom.einsum "mk,nk->mn" (%x, %w) col_scale(%s : tensor<6xf16>) : (tensor<4x8xi8>, tensor<6x8xi8>) -> tensor<4x6xf16>
  return
}

// -----

func.func @f(%x: tensor<4x8xi8>, %w: tensor<6x8xi8>, %s: tensor<6xf32>) {
  // expected-error @+1 {{a fused epilogue on a 'i32' sum gives a float or a requantized i8 result, not 'i32'}}
  %0 = loom.einsum "mk,nk->mn" (%x, %w) col_scale(%s : tensor<6xf32>) : (tensor<4x8xi8>, tensor<6x8xi8>) -> tensor<4x6xi32>
  return
}

// -----

func.func @f(%x: tensor<4x8xi8>, %w: tensor<6x8xi8>, %z: tensor<4xi32>) {
  // expected-error @+1 {{row_zero and col_sum come together}}
  %0 = loom.einsum "mk,nk->mn" (%x, %w) row_zero(%z : tensor<4xi32>) : (tensor<4x8xi8>, tensor<6x8xi8>) -> tensor<4x6xf16>
  return
}

// -----

func.func @f(%x: tensor<4x8xi8>, %w: tensor<6x8xi8>, %z: tensor<4xi32>, %c: tensor<4xi32>) {
  // expected-error @+1 {{col_sum of type 'tensor<4xi32>' must have the shape [6] (the result's last dimension: one a column)}}
  %0 = loom.einsum "mk,nk->mn" (%x, %w) row_zero(%z : tensor<4xi32>) col_sum(%c : tensor<4xi32>) : (tensor<4x8xi8>, tensor<6x8xi8>) -> tensor<4x6xf16>
  return
}

// -----

func.func @f(%x: tensor<4x8xi8>, %w: tensor<6x8xi8>, %z: tensor<4xf16>, %c: tensor<6xi32>) {
  // expected-error @+1 {{row_zero must be f32, i8 or i32, not 'f16'}}
  %0 = loom.einsum "mk,nk->mn" (%x, %w) row_zero(%z : tensor<4xf16>) col_sum(%c : tensor<6xi32>) : (tensor<4x8xi8>, tensor<6x8xi8>) -> tensor<4x6xf16>
  return
}

// -----

func.func @f(%x: tensor<4x8xf16>) {
  // expected-error @+1 {{takes symmetric signed codes of 2 to 8 bits}}
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = unsigned, granularity = channel, axis = 0, scale_type = f32>} : (tensor<4x8xf16>) -> (tensor<4x8xi8>, tensor<4xf32>)
  return
}

// -----

func.func @f(%x: tensor<4x8xf16>) {
  // expected-error @+1 {{finds one f32 scale per channel (granularity = channel, scale_type = f32)}}
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4x8xf16>) -> (tensor<4x8xi8>, tensor<f32>)
  return
}

// -----

func.func @f(%x: tensor<4x8xf16>) {
  // expected-error @+1 {{scales must be f32, one per index of dimension 0 (tensor<4xf32>), got 'tensor<8xf32>'}}
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<4x8xf16>) -> (tensor<4x8xi8>, tensor<8xf32>)
  return
}

// -----

func.func @f(%x: tensor<4x8xi32>) {
  // expected-error @+1 {{input must be f16, bf16 or f32, not 'i32'}}
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<4x8xi32>) -> (tensor<4x8xi8>, tensor<4xf32>)
  return
}

// -----

func.func @f(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{codes must be i8 with the input's shape, got 'tensor<4x8xi16>'}}
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<4x8xf32>) -> (tensor<4x8xi16>, tensor<4xf32>)
  return
}

// -----

// expected-error @+1 {{mesh axis "tp" appears twice}}
func.func @f() attributes {loom.mesh = #loom.mesh<["tp" = 2, "tp" = 4]>} {
  return
}

// -----

// expected-error @+1 {{mesh axis "tp" has size 0; sizes are at least 1}}
func.func @f() attributes {loom.mesh = #loom.mesh<["tp" = 0]>} {
  return
}

// -----

func.func @f(%x: tensor<16x64xf16>) -> tensor<16x64xf16> {
  // expected-error @+1 {{needs a device mesh: set `loom.mesh` on the function}}
  %0 = loom.all_reduce %x over "tp" : tensor<16x64xf16>
  return %0 : tensor<16x64xf16>
}

// -----

func.func @f(%x: tensor<16x64xf16>) -> tensor<16x64xf16> attributes {loom.mesh = #loom.mesh<["tp" = 4]>} {
  // expected-error @+1 {{names mesh axis "dp", which the mesh #loom.mesh<["tp" = 4]> does not have}}
  %0 = loom.all_reduce %x over "dp" : tensor<16x64xf16>
  return %0 : tensor<16x64xf16>
}

// -----

func.func @f(%x: tensor<16x64xi8>) -> tensor<16x64xi8> attributes {loom.mesh = #loom.mesh<["tp" = 4]>} {
  // expected-error @+1 {{sums floats or i32, not 'i8'}}
  %0 = loom.all_reduce %x over "tp" : tensor<16x64xi8>
  return %0 : tensor<16x64xi8>
}

// -----

func.func @f(%x: tensor<16x64xf16>) -> tensor<32x64xf16> attributes {loom.mesh = #loom.mesh<["tp" = 4]>} {
  // expected-error @+1 {{result 'tensor<32x64xf16>' does not match the input 'tensor<16x64xf16>' over mesh axis "tp" of 4 ranks}}
  %0 = loom.all_gather %x over "tp" dim 0 : tensor<16x64xf16> -> tensor<32x64xf16>
  return %0 : tensor<32x64xf16>
}

// -----

func.func @f(%x: tensor<6x64xf16>) -> tensor<1x64xf16> attributes {loom.mesh = #loom.mesh<["tp" = 4]>} {
  // expected-error @+1 {{dimension 0 of size 6 does not split over mesh axis "tp" of 4 ranks}}
  %0 = loom.reduce_scatter %x over "tp" dim 0 : tensor<6x64xf16> -> tensor<1x64xf16>
  return %0 : tensor<1x64xf16>
}

// -----

func.func @f(%x: tensor<16x64xf16>) -> tensor<16x64xf16> attributes {loom.mesh = #loom.mesh<["tp" = 4]>} {
  // expected-error @+1 {{dimension 2 is out of range for 'tensor<16x64xf16>'}}
  %0 = loom.shard_slice %x over "tp" dim 2 : tensor<16x64xf16> -> tensor<16x64xf16>
  return %0 : tensor<16x64xf16>
}

// -----

func.func @f(%x: tensor<16x64xf16>) -> tensor<16x64xf16> attributes {loom.mesh = #loom.mesh<["tp" = 4]>} {
  // expected-error @+1 {{splits and concatenates the same dimension 1}}
  %0 = loom.all_to_all %x over "tp" split 1 concat 1 : tensor<16x64xf16> -> tensor<16x64xf16>
  return %0 : tensor<16x64xf16>
}

// -----

func.func @f(%x: tensor<4x256xf8E4M3FN>, %w: tensor<6x256xf8E4M3FN>, %sa: tensor<4x3xf32>, %sb: tensor<1x2xf32>) {
  // expected-error @+1 {{row_scale of type 'tensor<4x3xf32>' must be f32 of shape [4, 2] with scale_block = [128, 128] (one scale a row per 128 of K)}}
  %0 = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%sa : tensor<4x3xf32>) col_scale(%sb : tensor<1x2xf32>) {scale_block = array<i64: 128, 128>} : (tensor<4x256xf8E4M3FN>, tensor<6x256xf8E4M3FN>) -> tensor<4x6xbf16>
  return
}

// -----

func.func @f(%x: tensor<4x256xf8E4M3FN>, %w: tensor<6x256xf8E4M3FN>, %sa: tensor<4x2xf32>, %sb: tensor<6x2xf32>) {
  // expected-error @+1 {{col_scale of type 'tensor<6x2xf32>' must be f32 of shape [1, 2] with scale_block = [128, 128] (one scale a 128 columns per 128 of K)}}
  %0 = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%sa : tensor<4x2xf32>) col_scale(%sb : tensor<6x2xf32>) {scale_block = array<i64: 128, 128>} : (tensor<4x256xf8E4M3FN>, tensor<6x256xf8E4M3FN>) -> tensor<4x6xbf16>
  return
}

// -----

func.func @f(%x: tensor<4x256xf8E4M3FN>, %w: tensor<6x256xf8E4M3FN>, %sa: tensor<4x2xf32>) {
  // expected-error @+1 {{scale_block needs both row_scale and col_scale}}
  %0 = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%sa : tensor<4x2xf32>) {scale_block = array<i64: 128, 128>} : (tensor<4x256xf8E4M3FN>, tensor<6x256xf8E4M3FN>) -> tensor<4x6xbf16>
  return
}

// -----

func.func @f(%x: tensor<4x256xf8E4M3FN>, %w: tensor<6x256xf8E4M3FN>, %sa: tensor<4x2xf32>, %sb: tensor<1x2xf32>) {
  // expected-error @+1 {{scale_block is [BK, BN]: the contracted elements a scale covers and the columns a col_scale row covers, both positive}}
  %0 = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%sa : tensor<4x2xf32>) col_scale(%sb : tensor<1x2xf32>) {scale_block = array<i64: 128, 0>} : (tensor<4x256xf8E4M3FN>, tensor<6x256xf8E4M3FN>) -> tensor<4x6xbf16>
  return
}

// -----

func.func @f(%x: tensor<4x256xf8E4M3FN>, %w: tensor<6x256xf8E4M3FN>, %sa: tensor<4x2xf32>, %sb: tensor<1x2xf32>) {
  // expected-error @+1 {{block scales need the result's rows from the first operand, its columns from the second, and one label summed between them; "mk,nk->nm" is not that}}
  %0 = loom.einsum "mk,nk->nm" (%x, %w) row_scale(%sa : tensor<4x2xf32>) col_scale(%sb : tensor<1x2xf32>) {scale_block = array<i64: 128, 128>} : (tensor<4x256xf8E4M3FN>, tensor<6x256xf8E4M3FN>) -> tensor<6x4xbf16>
  return
}

// -----

func.func @f(%x: tensor<2x4x256xf8E4M3FN>, %w: tensor<6x256xf8E4M3FN>, %sa: tensor<4x2xf32>, %sb: tensor<1x2xf32>) {
  // expected-error @+1 {{block scales take a product of two matrices (e.g. "mk,nk->mn"), not "bmk,nk->bmn"}}
  %0 = loom.einsum "bmk,nk->bmn" (%x, %w) row_scale(%sa : tensor<4x2xf32>) col_scale(%sb : tensor<1x2xf32>) {scale_block = array<i64: 128, 128>} : (tensor<2x4x256xf8E4M3FN>, tensor<6x256xf8E4M3FN>) -> tensor<2x4x6xbf16>
  return
}

// -----

func.func @f(%q: tensor<256x200xf8E4M3FN>, %s: tensor<2x1xf32>) {
  // expected-error @+1 {{scale shape does not match block granularity: expected [2, 2]}}
  %0 = loom.dequantize %q, %s {quant = #loom.quant<bits = 8, kind = e4m3, granularity = block, group_size = 128, scale_type = f32>} : (tensor<256x200xf8E4M3FN>, tensor<2x1xf32>) -> tensor<256x200xf32>
  return
}

// -----

func.func @f(%q: tensor<256xf8E4M3FN>, %s: tensor<2xf32>) {
  // expected-error @+1 {{block granularity needs a tensor of rank 2 or more}}
  %0 = loom.dequantize %q, %s {quant = #loom.quant<bits = 8, kind = e4m3, granularity = block, group_size = 128, scale_type = f32>} : (tensor<256xf8E4M3FN>, tensor<2xf32>) -> tensor<256xf32>
  return
}

// -----

// expected-error @+1 {{per-block quantization needs group_size > 0 (the blocks' side) and no axis}}
func.func private @f(tensor<4xf32>) attributes {q = #loom.quant<bits = 8, kind = e4m3, granularity = block, axis = 1, group_size = 128, scale_type = f32>}

// -----

func.func @f(%q: tensor<2x100x16xf16>, %k: tensor<2x130x16xf16>, %m: tensor<2x2x3xi8>) {
  // expected-error @+1 {{a block_mask needs mask_block = array<i64: BM, BN>}}
  %0 = loom.einsum "bqd,bkd->bqk" (%q, %k) block_mask(%m : tensor<2x2x3xi8>) : (tensor<2x100x16xf16>, tensor<2x130x16xf16>) -> tensor<2x100x130xf16>
  return
}

// -----

func.func @f(%q: tensor<2x100x16xf16>, %k: tensor<2x130x16xf16>) {
  // expected-error @+1 {{mask_block and mask_fill come with a block_mask}}
  %0 = loom.einsum "bqd,bkd->bqk" (%q, %k) {mask_block = array<i64: 64, 64>} : (tensor<2x100x16xf16>, tensor<2x130x16xf16>) -> tensor<2x100x130xf16>
  return
}

// -----

func.func @f(%q: tensor<2x100x16xf16>, %k: tensor<2x130x16xf16>, %m: tensor<2x2x3xi8>) {
  // expected-error @+1 {{block_mask of type 'tensor<2x2x3xi8>' must have the shape [2, 1, 2] (one byte a 128x128 block of the result), or its last two dimensions}}
  %0 = loom.einsum "bqd,bkd->bqk" (%q, %k) block_mask(%m : tensor<2x2x3xi8>) {mask_block = array<i64: 128, 128>} : (tensor<2x100x16xf16>, tensor<2x130x16xf16>) -> tensor<2x100x130xf16>
  return
}

// -----

// A block near 2^63: the block count is 1, not an overflowed 0 (a 0x0 mask
// once passed for none).
func.func @f(%q: tensor<100x16xf16>, %k: tensor<130x16xf16>, %m: tensor<0x0xi8>) {
  // expected-error @+1 {{must have the shape [1, 1]}}
  %0 = loom.einsum "qd,kd->qk" (%q, %k) block_mask(%m : tensor<0x0xi8>) {mask_block = array<i64: 9223372036854775807, 9223372036854775807>} : (tensor<100x16xf16>, tensor<130x16xf16>) -> tensor<100x130xf16>
  return
}

// -----

func.func @f(%q: tensor<2x100x16xf16>, %k: tensor<2x130x16xf16>, %m: tensor<2x3xi8>) {
  // expected-error @+1 {{a block_mask needs the result's last two labels to be M, from the first input only, and N, from the second only}}
  %0 = loom.einsum "bqd,bkd->bkq" (%q, %k) block_mask(%m : tensor<2x3xi8>) {mask_block = array<i64: 64, 64>} : (tensor<2x100x16xf16>, tensor<2x130x16xf16>) -> tensor<2x130x100xf16>
  return
}

// -----

func.func @f(%q: tensor<100x16xf16>, %k: tensor<130x16xf16>, %m: tensor<2x3xf32>) {
  // expected-error @+1 {{block_mask holds i8 (0: the block is not computed), not 'f32'}}
  %0 = loom.einsum "qd,kd->qk" (%q, %k) block_mask(%m : tensor<2x3xf32>) {mask_block = array<i64: 64, 64>} : (tensor<100x16xf16>, tensor<130x16xf16>) -> tensor<100x130xf16>
  return
}

// -----

func.func @f(%q: tensor<100x16xi8>, %k: tensor<130x16xi8>, %m: tensor<2x3xi8>) {
  // expected-error @+1 {{mask_fill of an integer result must be a whole number}}
  %0 = loom.einsum "qd,kd->qk" (%q, %k) block_mask(%m : tensor<2x3xi8>) {mask_block = array<i64: 64, 64>, mask_fill = 0.5 : f64} : (tensor<100x16xi8>, tensor<130x16xi8>) -> tensor<100x130xi32>
  return
}

// -----

func.func @f(%x: tensor<4x256xbf16>) {
  // expected-error @+1 {{fp8 codes take one f32 scale per group of the last dimension (granularity = group, axis = 1, group_size > 0, scale_type = f32)}}
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = e4m3, granularity = channel, axis = 0, scale_type = f32>} : (tensor<4x256xbf16>) -> (tensor<4x256xf8E4M3FN>, tensor<4xf32>)
  return
}

// -----

func.func @f(%x: tensor<4x256xbf16>) {
  // expected-error @+1 {{code element type 'f8E4M3FN' does not match fp8 kind 'e5m2'}}
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = e5m2, granularity = group, axis = 1, group_size = 128, scale_type = f32>} : (tensor<4x256xbf16>) -> (tensor<4x256xf8E4M3FN>, tensor<4x2xf32>)
  return
}

// -----

func.func @f(%x: tensor<4x300xbf16>) {
  // expected-error @+1 {{scales must be f32 of the input's shape with its last dimension in groups of 128 ('tensor<4x3xf32>'), got 'tensor<4x2xf32>'}}
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = e4m3, granularity = group, axis = 1, group_size = 128, scale_type = f32>} : (tensor<4x300xbf16>) -> (tensor<4x300xf8E4M3FN>, tensor<4x2xf32>)
  return
}

// -----

func.func @f(%x: tensor<4x256xbf16>) {
  // expected-error @+1 {{codes must have the input's shape, got 'tensor<4x128xf8E4M3FN>'}}
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = e4m3, granularity = group, axis = 1, group_size = 128, scale_type = f32>} : (tensor<4x256xbf16>) -> (tensor<4x128xf8E4M3FN>, tensor<4x2xf32>)
  return
}

// -----

// Sizes whose byte count wraps around 64 bits (m = 2^62 by 4 once counted
// 0 elements and passed as a zero-sized einsum).
func.func @f(%a: tensor<4611686018427387904x4xf16>, %b: tensor<4x4xf16>) {
  // expected-error @+1 {{is too large: its size in bytes overflows 64-bit arithmetic}}
  %0 = loom.einsum "mk,nk->mn" (%a, %b) : (tensor<4611686018427387904x4xf16>, tensor<4x4xf16>) -> tensor<4611686018427387904x4xf16>
  return
}

// -----

// The same check on every loom op (here an FFT convolution).
func.func @f(%u: tensor<4611686018427387904x4x256xf16>, %k: tensor<4x256xf16>) {
  // expected-error @+1 {{is too large: its size in bytes overflows 64-bit arithmetic}}
  %y = loom.fftconv causal %u, %k : (tensor<4611686018427387904x4x256xf16>, tensor<4x256xf16>) -> tensor<4611686018427387904x4x256xf16>
  return
}
