//===- LoomEnums.td - enums of the loom dialect ------------*- tablegen -*-===//
#ifndef LOOM_ENUMS_TD
#define LOOM_ENUMS_TD

include "mlir/IR/EnumAttr.td"
include "LoomDialect.td"

def Loom_QuantKind : I32EnumAttr<"QuantKind", "how quantized codes are read", [
    I32EnumAttrCase<"Signed", 0, "signed">,
    I32EnumAttrCase<"Unsigned", 1, "unsigned">,
    I32EnumAttrCase<"Bipolar", 2, "bipolar">,
    I32EnumAttrCase<"E4M3", 3, "e4m3">,
    I32EnumAttrCase<"E5M2", 4, "e5m2">]> {
  let cppNamespace = "::mlir::loom";
  let genSpecializedAttr = 0;
}

def Loom_QuantScheme : I32EnumAttr<"QuantScheme", "zero point or not", [
    I32EnumAttrCase<"Symmetric", 0, "symmetric">,
    I32EnumAttrCase<"Asymmetric", 1, "asymmetric">]> {
  let cppNamespace = "::mlir::loom";
  let genSpecializedAttr = 0;
}

def Loom_QuantGranularity : I32EnumAttr<"QuantGranularity",
    "which elements share a scale", [
    I32EnumAttrCase<"PerTensor", 0, "tensor">,
    I32EnumAttrCase<"PerChannel", 1, "channel">,
    I32EnumAttrCase<"PerGroup", 2, "group">,
    I32EnumAttrCase<"PerBlock", 3, "block">]> {
  let cppNamespace = "::mlir::loom";
  let genSpecializedAttr = 0;
}

def Loom_PackFormat : I32EnumAttr<"PackFormat", "a packed storage layout", [
    I32EnumAttrCase<"Fragment", 0, "fragment">,
    I32EnumAttrCase<"TiledCsl", 1, "tiled_csl">,
    I32EnumAttrCase<"TwoFour", 2, "two_four">,
    I32EnumAttrCase<"BitPlanes", 3, "bit_planes">,
    I32EnumAttrCase<"BlockCsr", 4, "block_csr">,
    I32EnumAttrCase<"AFragment", 5, "a_fragment">,
    I32EnumAttrCase<"Bitmap", 6, "bitmap">]> {
  let cppNamespace = "::mlir::loom";
  let genSpecializedAttr = 0;
}

def Loom_SparseFormat : I32EnumAttr<"SparseFormat",
    "how a sparse einsum operand will be stored", [
    I32EnumAttrCase<"TiledCsl", 0, "tiled_csl">,
    I32EnumAttrCase<"TwoFour", 1, "two_four">,
    I32EnumAttrCase<"BlockCsr", 2, "block_csr">,
    I32EnumAttrCase<"Bitmap", 3, "bitmap">,
    I32EnumAttrCase<"Auto", 4, "auto">]> {
  let cppNamespace = "::mlir::loom";
  let genSpecializedAttr = 0;
}

def Loom_FFTConvMode : I32EnumAttr<"FFTConvMode", "boundary handling", [
    I32EnumAttrCase<"Causal", 0, "causal">,
    I32EnumAttrCase<"Circular", 1, "circular">]> {
  let cppNamespace = "::mlir::loom";
  let genSpecializedAttr = 0;
}
def Loom_FFTConvModeAttr : EnumAttr<Loom_Dialect, Loom_FFTConvMode, "fftconv_mode">;

def Loom_MmaShape : I32EnumAttr<"MmaShape", "tensor-core instruction shape", [
    I32EnumAttrCase<"M16N8K16", 0, "m16n8k16">,
    I32EnumAttrCase<"M16N8K8", 1, "m16n8k8">,
    I32EnumAttrCase<"M16N8K32", 2, "m16n8k32">,
    I32EnumAttrCase<"WgmmaK16", 3, "wgmma_k16">,
    I32EnumAttrCase<"WgmmaK32", 4, "wgmma_k32">,
    I32EnumAttrCase<"Fma", 5, "fma">,
    I32EnumAttrCase<"M8N8K4", 6, "m8n8k4">,
    I32EnumAttrCase<"M16N8K32Sp", 7, "m16n8k32_sp">]> {
  let cppNamespace = "::mlir::loom";
  let genSpecializedAttr = 0;
}

def Loom_ProducerKind : I32EnumAttr<"ProducerKind",
    "how operand tiles reach shared memory", [
    I32EnumAttrCase<"CpAsync", 0, "cp_async">,
    I32EnumAttrCase<"Tma", 1, "tma">,
    I32EnumAttrCase<"Dequant", 2, "dequant">,
    I32EnumAttrCase<"TiledCsl", 3, "tiled_csl">,
    I32EnumAttrCase<"TwoFour", 4, "two_four">,
    I32EnumAttrCase<"BitPlane", 5, "bit_plane">,
    I32EnumAttrCase<"Bitmap", 6, "bitmap">,
    I32EnumAttrCase<"BlockCsr", 7, "block_csr">]> {
  let cppNamespace = "::mlir::loom";
  let genSpecializedAttr = 0;
}

def Loom_Activation : I32EnumAttr<"Activation", "an elementwise activation", [
    I32EnumAttrCase<"Relu", 0, "relu">,
    I32EnumAttrCase<"Gelu", 1, "gelu">,
    I32EnumAttrCase<"Silu", 2, "silu">]> {
  let cppNamespace = "::mlir::loom";
  let genSpecializedAttr = 0;
}
def Loom_ActivationAttr : EnumAttr<Loom_Dialect, Loom_Activation, "activation">;

def Loom_RasterOrder : I32EnumAttr<"RasterOrder", "CTA launch order", [
    I32EnumAttrCase<"RowMajor", 0, "row_major">,
    I32EnumAttrCase<"ColumnMajor", 1, "column_major">,
    I32EnumAttrCase<"Swizzle", 2, "swizzle">]> {
  let cppNamespace = "::mlir::loom";
  let genSpecializedAttr = 0;
}

// How the TMA kernel's two consumer warpgroups share the work: both on one
// 128-row tile, or each on its own 64-row tiles, alternating, so that one's
// epilogue overlaps the other's MMAs.
def Loom_Schedule : I32EnumAttr<"Schedule", "consumer warpgroup schedule", [
    I32EnumAttrCase<"Cooperative", 0, "cooperative">,
    I32EnumAttrCase<"PingPong", 1, "pingpong">]> {
  let cppNamespace = "::mlir::loom";
  let genSpecializedAttr = 0;
}

// Where wgmma reads operand A: from shared memory through a matrix
// descriptor, or from registers the warpgroup loads first (ldmatrix), the
// form a producer that transforms A on its way to the tensor cores needs.
def Loom_OperandSource : I32EnumAttr<"OperandSource", "where wgmma reads operand A", [
    I32EnumAttrCase<"Shared", 0, "shared">,
    I32EnumAttrCase<"Registers", 1, "registers">]> {
  let cppNamespace = "::mlir::loom";
  let genSpecializedAttr = 0;
}

// Which einsum operand is the MMA's A side (its rows fill the instruction's
// M: 64 per wgmma warpgroup, 16 per mma.sync) and which its B side (the
// narrow N, as few as 8). `ba` computes the transposed product C^T = B A^T,
// so that a few tokens (a small M) against a large weight (a large N) put
// the weight's rows on the wide side instead of wasting most of a tile.
def Loom_OperandOrder : I32EnumAttr<"OperandOrder", "which operand is the MMA's A", [
    I32EnumAttrCase<"AB", 0, "ab">,
    I32EnumAttrCase<"BA", 1, "ba">]> {
  let cppNamespace = "::mlir::loom";
  let genSpecializedAttr = 0;
}

#endif // LOOM_ENUMS_TD
