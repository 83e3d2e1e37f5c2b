//===- LoomOps.td - ops of the loom dialect ----------------*- tablegen -*-===//
#ifndef LOOM_OPS_TD
#define LOOM_OPS_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "LoomAttrs.td"

def Loom_EinsumOp : Loom_Op<"einsum", [Pure, AttrSizedOperandSegments]> {
  let summary = "an n-ary einsum contraction";
  let description = [{
    `spec` is NumPy's einsum notation: comma-separated subscripts, one per
    operand, then `->` and the output subscripts. Labels are ASCII letters.
    A label repeated inside one operand takes the diagonal; a label missing
    from the output is summed. Without `->` the output is every label that
    appears exactly once, in alphabetical order (NumPy's implicit mode).

    Products and sums are formed in `acc` (f32 for floating inputs, i32 for
    integer inputs, f64 for f64 by default) and rounded once to the result's
    element type. `allow_tf32` lets f32 inputs use tf32 tensor cores.

    A fused epilogue (what `loom-fuse-epilogues` makes of the elementwise
    ops below; float accumulators only), in the accumulator type before the
    one rounding: `act(alpha * sum + bias) + beta * residual`. `bias` and
    `residual` have the shape of the result's trailing dimensions (all of
    them: a residual of the result's shape) and broadcast over the rest.
    `row_scale` and `col_scale` (f32, one per result row and one per result
    column: an int8 product's per-token and per-channel scales) multiply the
    sum first. `row_zero` and `col_sum` (given together; f32 or integer,
    the same shapes) subtract the rank-1 term `row_zero[row] *
    col_sum[col]` before them: an asymmetric activation's zero point times
    the weight codes' sums over the contracted labels.

    Block scales (`scale_block = array<i64: BK, BN>`, DeepSeek-V3's FP8
    recipe: activations scaled per token per BK channels, weights per BN x
    BK block): the einsum is a product of two matrices with one contracted
    label K; `row_scale` has the shape [rows, ceil(K / BK)] and `col_scale`
    [ceil(N / BN), ceil(K / BK)] for the N columns. Each block of BK
    contracted elements is summed alone and multiplied by
    `row_scale[row, kb] * col_scale[col / BN, kb]`, and the blocks are added
    in the accumulator type: the kernel promotes its tensor-core partial
    sums into f32 registers every BK (fp8 wgmma accumulates in about 14
    bits). Per-channel and per-tensor scales are the cases BK = K, BN = 1
    and BN = N.

    A dequantized weight (what `loom-fuse-dequantize` makes of a
    `loom.dequantize` feeding a two-operand einsum): with `weight_quant`,
    the second input holds integer codes and the einsum reads
    `(q - zero_point) * scale` in place of it, rounded once to the first
    input's element type, exactly as `loom.dequantize` would produce it
    (`scale` and `zero_point` follow `weight_quant`'s granularity over the
    second input's shape). The kernel dequantizes in registers; the real
    weight is never written out.

    A block mask (`block_mask` with `mask_block = array<i64: BM, BN>`; a
    block-sparse mask on `bhqd,bhkd->bhqk`-style scores): the result's last
    two labels are M, from the first input only, and N, from the second
    only, and its other labels are batch labels of both inputs. The mask
    holds one i8 per BM x BN block of the result, of shape [ceil(M / BM),
    ceil(N / BN)] shared by every batch, or with the result's batch sizes
    in front. A block whose mask byte is 0 is not computed: it holds
    `mask_fill` (default 0; -inf for scores bound for a softmax), with no
    epilogue. The kernel's tile is the mask's block, and a masked-out tile
    skips its main loop.

    Example:
      %c = loom.einsum "bmk,bnk->bmn" (%a, %b) {acc = f32}
         : (tensor<8x64x32xf16>, tensor<8x16x32xf16>) -> tensor<8x64x16xf16>
      %y = loom.einsum "mk,nk->mn" (%x, %q) scale(%s : tensor<64x2xf16>)
             zero_point(%z : tensor<64x2xi8>)
             {weight_quant = #loom.quant<bits = 4, kind = unsigned,
                scheme = asymmetric, granularity = group, axis = 1,
                group_size = 128, scale_type = f16>}
         : (tensor<16x256xf16>, tensor<64x256xi4>) -> tensor<16x64xf16>
  }];
  let arguments = (ins
    Variadic<AnyRankedTensor>:$inputs,
    Optional<AnyRankedTensor>:$bias,
    Optional<AnyRankedTensor>:$residual,
    Optional<AnyRankedTensor>:$scale,
    Optional<AnyRankedTensor>:$zero_point,
    Optional<AnyRankedTensor>:$row_scale,
    Optional<AnyRankedTensor>:$col_scale,
    Optional<AnyRankedTensor>:$row_zero,
    Optional<AnyRankedTensor>:$col_sum,
    Optional<AnyRankedTensor>:$block_mask,
    StrAttr:$spec,
    OptionalAttr<TypeAttr>:$acc,
    UnitAttr:$allow_tf32,
    OptionalAttr<Loom_PlanAttr>:$plan,
    OptionalAttr<F64Attr>:$alpha,
    OptionalAttr<F64Attr>:$beta,
    OptionalAttr<Loom_ActivationAttr>:$activation,
    OptionalAttr<Loom_QuantAttr>:$weight_quant,
    OptionalAttr<DenseI64ArrayAttr>:$scale_block,
    OptionalAttr<DenseI64ArrayAttr>:$mask_block,
    OptionalAttr<F64Attr>:$mask_fill);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $spec `(` $inputs `)` (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`residual` `(` $residual^ `:` type($residual) `)`)?
    (`scale` `(` $scale^ `:` type($scale) `)`)?
    (`zero_point` `(` $zero_point^ `:` type($zero_point) `)`)?
    (`row_scale` `(` $row_scale^ `:` type($row_scale) `)`)?
    (`col_scale` `(` $col_scale^ `:` type($col_scale) `)`)?
    (`row_zero` `(` $row_zero^ `:` type($row_zero) `)`)?
    (`col_sum` `(` $col_sum^ `:` type($col_sum) `)`)?
    (`block_mask` `(` $block_mask^ `:` type($block_mask) `)`)?
    attr-dict `:` functional-type($inputs, $result)
  }];
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::ValueRange":$inputs,
                   "::llvm::StringRef":$spec), [{
      build($_builder, $_state, result, inputs, ::mlir::Value(), ::mlir::Value(),
            ::mlir::Value(), ::mlir::Value(), ::mlir::Value(), ::mlir::Value(),
            ::mlir::Value(), ::mlir::Value(), ::mlir::Value(), $_builder.getStringAttr(spec),
            ::mlir::TypeAttr(), ::mlir::UnitAttr(),
            ::mlir::loom::PlanAttr(), ::mlir::FloatAttr(), ::mlir::FloatAttr(),
            ::mlir::loom::ActivationAttr(), ::mlir::loom::QuantAttr(),
            ::mlir::DenseI64ArrayAttr(), ::mlir::DenseI64ArrayAttr(), ::mlir::FloatAttr());
    }]>];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The accumulator type: `acc` if given, else the default for the inputs.
    ::mlir::Type getAccumulatorType();
    /// True when an epilogue is fused (alpha, row and column scales, bias,
    /// activation, residual).
    bool hasEpilogue() {
      return getAlpha() || getBeta() || getActivation() || getBias() || getResidual() ||
             getRowScale() || getColScale() || getRowZero() || getColSum();
    }
    /// True when a block mask says which result blocks are computed.
    bool hasBlockMask() { return static_cast<bool>(getBlockMask()); }
    /// True when row_scale and col_scale are block scales (scale_block).
    bool hasBlockScales() { return getScaleBlock().has_value(); }
    /// True when the second input holds quantized codes (weight_quant).
    bool hasDequantizedWeight() { return getWeightQuant().has_value(); }
    /// True when an input carries a #loom.sparse encoding.
    bool hasSparseOperand() {
      for (::mlir::Value v : getInputs())
        if (auto t = ::llvm::dyn_cast<::mlir::RankedTensorType>(v.getType());
            t && ::llvm::isa_and_nonnull<::mlir::loom::SparseAttr>(t.getEncoding()))
          return true;
      return false;
    }
  }];
}

def Loom_ScaleOp : Loom_Op<"scale", [Pure, SameOperandsAndResultType]> {
  let summary = "x times a constant";
  let description = [{
    `alpha * x`, elementwise, in f64 and rounded to the element type (floats).
    Example: `%y = loom.scale %x by 5.000000e-01 : tensor<4x8xf32>`
  }];
  let arguments = (ins AnyRankedTensor:$input, F64Attr:$alpha);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input `by` $alpha attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Loom_AddOp : Loom_Op<"add", [Pure, AllTypesMatch<["lhs", "result"]>]> {
  let summary = "x plus beta times y, y broadcast over x's leading dimensions";
  let description = [{
    `lhs + beta * rhs`, elementwise (floats). `rhs` has the shape of `lhs`'s
    trailing dimensions (a bias along the last ones, or all of them: a
    residual) and the same element type.
    Example: `%y = loom.add %x, %b : tensor<4x8xf16>, tensor<8xf16>`
  }];
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs,
                   DefaultValuedAttr<F64Attr, "1.0">:$beta);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
  let hasVerifier = 1;
}

def Loom_ActivationOp : Loom_Op<"activation", [Pure, SameOperandsAndResultType]> {
  let summary = "relu, gelu or silu, elementwise";
  let description = [{
    relu(x) = max(x, 0); gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    (the tanh form, PyTorch's `approximate='tanh'`); silu(x) = x / (1 + exp(-x)).
    Example: `%y = loom.activation gelu %x : tensor<4x8xf16>`
  }];
  let arguments = (ins Loom_ActivationAttr:$kind, AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Loom_CastOp : Loom_Op<"cast", [Pure, SameOperandsAndResultShape]> {
  let summary = "a float tensor rounded to another float type";
  let description = [{
    Round to nearest even. Example:
    `%y = loom.cast %x : tensor<4x8xf32> to tensor<4x8xf16>`
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
}

def Loom_QuantizeOp : Loom_Op<"quantize", [Pure]> {
  let summary = "real values to quantized codes";
  let description = [{
    Integer kinds: `q = clamp(roundeven(x / s + z), min, max)` (z = 0
    without a zero point; NaN gives code 0). Bipolar kinds:
    `q = clamp(2 * roundeven((x / s - 1) / 2) + 1, -(2^bits - 1), 2^bits - 1)`,
    always odd. fp8 kinds: `q = fp8(x / s)`, round to nearest even,
    saturating to the largest finite value. docs/dialect.md has the details.
    Example:
      %q = loom.quantize %w, %s {quant = #loom.quant<bits = 8, kind = signed,
             granularity = channel, axis = 0, scale_type = f32>}
         : (tensor<64x32xf32>, tensor<64xf32>) -> tensor<64x32xi8>
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$scale,
                   Optional<AnyRankedTensor>:$zero_point,
                   Loom_QuantAttr:$quant);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $zero_point^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Loom_DynamicQuantizeOp : Loom_Op<"dynamic_quantize", [Pure]> {
  let summary = "real values to codes with scales found from the data";
  let description = [{
    Symmetric quantization whose scales come from the values themselves
    (per token, at run time): for each index `c` along `axis` (the
    `channel` granularity; `scale_type` f32, signed integer codes of
    `bits` bits in i8), `s[c] = fl32(max |x| / qmax)` over the rest of the
    tensor (qmax = 2^(bits-1) - 1; NaNs ignored), then `q = clamp(
    roundeven(fl32(x / s[c])), -qmax - 1, qmax)` (a NaN quotient, as from
    s = 0, gives code 0). Both divisions are rounded to f32, as the kernel
    computes them. The GPU kernel (scales along the first dimension) reads
    each row twice, reducing its maximum in a warp.

    FP8 codes (kind = e4m3 or e5m2, `granularity = group` along the last
    dimension, `group_size` G; DeepSeek-V3's activations, one scale per
    token per 128 channels): `s = fl32(max |x| / fp8max)` over each group
    (448 or 57344), `q` the fp8 value nearest `fl32(x / s)`, saturating (a
    NaN quotient gives 0); the scales have the input's shape with its last
    dimension ceil(K / G). Its codes and scales are what a block-scaled
    einsum reads (through `loom.dequantize`, which `loom-fuse-dequantize`
    folds into `scale_block`).
    Example:
      %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8,
                 kind = signed, granularity = channel, axis = 0,
                 scale_type = f32>}
         : (tensor<16x4096xf16>) -> (tensor<16x4096xi8>, tensor<16xf32>)
  }];
  let arguments = (ins AnyRankedTensor:$input, Loom_QuantAttr:$quant);
  let results = (outs AnyRankedTensor:$codes, AnyRankedTensor:$scales);
  let assemblyFormat = [{
    $input attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Loom_DequantizeOp : Loom_Op<"dequantize", [Pure]> {
  let summary = "quantized codes to real values";
  let description = [{
    `x = (q - z) * s`, computed in f64 and rounded once to the result type.
    Example:
      %w = loom.dequantize %q, %s, %z {quant = #loom.quant<bits = 4,
             kind = unsigned, scheme = asymmetric, granularity = group,
             axis = 0, group_size = 128, scale_type = f16>}
         : (tensor<256x64xi4>, tensor<2x64xf16>, tensor<2x64xf16>)
         -> tensor<256x64xf16>
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$scale,
                   Optional<AnyRankedTensor>:$zero_point,
                   Loom_QuantAttr:$quant);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $zero_point^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Loom_PackOp : Loom_Op<"pack", [Pure]> {
  let summary = "put a tensor into a kernel's storage layout";
  let description = [{
    Produces the storage of `layout` (docs/dialect.md defines every word).
    Sparse layouts have data-dependent sizes, so those results are dynamic.
    Example:
      %words = loom.pack %w {layout = #loom.layout<format = fragment, bits = 4>}
             : (tensor<64x32xi4>) -> tensor<256xi32>
  }];
  let arguments = (ins AnyRankedTensor:$input, Loom_PackLayoutAttr:$layout);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $input attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Loom_UnpackOp : Loom_Op<"unpack", [Pure]> {
  let summary = "the dense tensor a packed layout stores";
  let description = [{
    The inverse of `loom.pack`: `unpack(pack(x)) == x`.
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs,
                   Loom_PackLayoutAttr:$layout);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $inputs attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Loom_FFTConvOp : Loom_Op<"fftconv", [Pure, AttrSizedOperandSegments]> {
  let summary = "long convolution over the last axis";
  let description = [{
    `y = post_gate * (k * (pre_gate * u))` over the last axis of `u`
    (length N) with the kernel `k` (length L <= N). `k`'s leading dims
    broadcast against `u`'s trailing leading dims (e.g. u: B x H x N,
    k: H x L). `causal` zero-pads (y[n] = sum_{j<=n} k[j] u[n-j]);
    `circular` wraps around N. `freq_cutoff = F` keeps only the kernel's
    frequencies below F (in the padded FFT of size 2N, or N if circular).
    Example:
      %y = loom.fftconv causal %u, %k
         : (tensor<4x8x1024xf16>, tensor<8x1024xf32>) -> tensor<4x8x1024xf16>
  }];
  let arguments = (ins Loom_FFTConvModeAttr:$mode,
                   AnyRankedTensor:$input, AnyRankedTensor:$kernel,
                   Optional<AnyRankedTensor>:$pre_gate,
                   Optional<AnyRankedTensor>:$post_gate,
                   OptionalAttr<I64Attr>:$freq_cutoff);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $mode $input `,` $kernel (`pre_gate` `(` $pre_gate^ `)`)?
    (`post_gate` `(` $post_gate^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

class Loom_CollectiveOp<string name, list<Trait> traits = []>
    : Loom_Op<name, !listconcat([Pure], traits)> {
  let results = (outs AnyRankedTensor:$result);
  let hasVerifier = 1;
}

def Loom_AllReduceOp : Loom_CollectiveOp<"all_reduce", [SameOperandsAndResultType]> {
  let summary = "the sum of every rank's tensor along a mesh axis";
  let description = [{
    Each rank of a group (the ranks that differ only along `mesh_axis` of
    the function's `loom.mesh`) gets the elementwise sum of the group's
    tensors, summed in f64 in rank order and rounded once (floats).
    Example: `%y = loom.all_reduce %x over "tp" : tensor<16x4096xf16>`
  }];
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$mesh_axis);
  let assemblyFormat = "$input `over` $mesh_axis attr-dict `:` type($result)";
}

def Loom_AllGatherOp : Loom_CollectiveOp<"all_gather"> {
  let summary = "every rank's tensor along a mesh axis, concatenated along a dimension";
  let description = [{
    The group's tensors (see `loom.all_reduce`) concatenated along `dim` in
    the order of their index along `mesh_axis`: the result's `dim` is the
    axis size times the input's.
    Example: `%y = loom.all_gather %x over "tp" dim 0 : tensor<4x64xf16> -> tensor<16x64xf16>`
  }];
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$mesh_axis, I64Attr:$dim);
  let assemblyFormat = [{
    $input `over` $mesh_axis `dim` $dim attr-dict `:` type($input) `->` type($result)
  }];
}

def Loom_ReduceScatterOp : Loom_CollectiveOp<"reduce_scatter"> {
  let summary = "the sum along a mesh axis, each rank keeping its slice of a dimension";
  let description = [{
    The group's sum (see `loom.all_reduce`), split along `dim` into as many
    slices as the axis has ranks; the rank of index i keeps slice i.
    Example: `%y = loom.reduce_scatter %x over "tp" dim 0 : tensor<16x64xf16> -> tensor<4x64xf16>`
  }];
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$mesh_axis, I64Attr:$dim);
  let assemblyFormat = [{
    $input `over` $mesh_axis `dim` $dim attr-dict `:` type($input) `->` type($result)
  }];
}

def Loom_AllToAllOp : Loom_CollectiveOp<"all_to_all"> {
  let summary = "slices exchanged along a mesh axis: split one dimension, concatenate another";
  let description = [{
    Each rank splits its tensor along `split_dim` into as many slices as
    the axis has ranks and sends slice j to the rank of index j; each rank
    concatenates what it receives along `concat_dim`, in index order.
    Example: `%y = loom.all_to_all %x over "tp" split 1 concat 0 : tensor<4x64xf16> -> tensor<16x16xf16>`
  }];
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$mesh_axis, I64Attr:$split_dim,
                   I64Attr:$concat_dim);
  let assemblyFormat = [{
    $input `over` $mesh_axis `split` $split_dim `concat` $concat_dim attr-dict `:`
    type($input) `->` type($result)
  }];
}

def Loom_ShardSliceOp : Loom_CollectiveOp<"shard_slice"> {
  let summary = "this rank's slice of a tensor every rank holds whole";
  let description = [{
    No communication: the rank of index i along `mesh_axis` keeps slice i
    of `dim` (split into as many slices as the axis has ranks).
    Example: `%y = loom.shard_slice %x over "tp" dim 1 : tensor<16x64xf16> -> tensor<16x16xf16>`
  }];
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$mesh_axis, I64Attr:$dim);
  let assemblyFormat = [{
    $input `over` $mesh_axis `dim` $dim attr-dict `:` type($input) `->` type($result)
  }];
}

#endif // LOOM_OPS_TD
