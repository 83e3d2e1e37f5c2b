//===- Import.h - quantized checkpoints into Einloom's layout ---*- C++ -*-===//
//
// Reads the weight-only quantized linear layers users bring (AutoAWQ's
// "gemm" version, GPTQ v1 and v2 with or without act-order) from
// .safetensors files, and writes them in Einloom's layout: the N x K codes
// packed as `a_fragment` words, the scales and zero points as N x K/G
// tensors, and, for act-order, the permutation of K to apply once to the
// activations. ../shared/QUANT.md describes the formats.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_IMPORT_H
#define EINLOOM_IMPORT_H

#include "einloom/Reference/Kernels.h"
#include "einloom/Reference/Tensor.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace einloom {

/// A .safetensors file, validated: the header's JSON, every tensor's dtype,
/// shape and byte range inside the data, no overlaps.
struct SafetensorsFile {
  struct Entry {
    std::string dtype; ///< "I32", "F16", "BF16", "F32", ...
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0; ///< relative to the data
  };
  std::string path;
  std::map<std::string, Entry> tensors;
  std::map<std::string, std::string> metadata;
  std::string data; ///< the bytes after the header
};

llvm::Expected<SafetensorsFile> readSafetensors(const std::string &path);

/// Tensor `name` of `file`: I8/I16/I32/I64/U8 as integers, F16/BF16/F32/F64
/// as floats (values exact).
llvm::Expected<ref::Tensor> safetensorsTensor(const SafetensorsFile &file,
                                              const std::string &name);

enum class CheckpointFormat { GptqV1, GptqV2, AwqGemm };

struct ImportOptions {
  CheckpointFormat format = CheckpointFormat::GptqV2;
  /// Tensor names are PREFIX + "qweight", "qzeros", "scales", "g_idx"
  /// (e.g. "model.layers.0.mlp.down_proj.").
  std::string prefix;
  unsigned bits = 4;
  /// Input channels per group; -1 or 0: one group (per channel).
  int64_t groupSize = 128;
};

/// One imported linear layer: W[n][k] = (codes[n][k] - zeros[n][g]) *
/// scales[n][g], g = k / groupSize, with K in `perm`'s order.
struct ImportedWeight {
  unsigned bits = 4;
  int64_t groupSize = 0; ///< K for one group per row
  ref::Tensor codes;     ///< N x K, unsigned codes
  ref::Tensor scales;    ///< N x K/G
  ref::Tensor zeros;     ///< N x K/G (integers)
  /// Act-order: the activations' K columns in this order (x[:, perm]); empty
  /// when K keeps its order.
  std::vector<int64_t> perm;
};

llvm::Expected<ImportedWeight> importLinear(const SafetensorsFile &file, const ImportOptions &o);

/// Writes `w` into `dir` as NAME.codes.npy (a_fragment words, i32), NAME.scales.npy,
/// NAME.zeros.npy (i8, or i16 for 8 bits) and, for act-order, NAME.perm.npy.
llvm::Error writeEinloomWeight(const ImportedWeight &w, const std::string &dir,
                               const std::string &name);

/// A dense weight made sparse: Tiled-CSL or bitmap for the unstructured
/// kernels, or 2:4 (docs/dialect.md's two_four) for the structured ones.
struct SparseImportOptions {
  /// TiledCsl, Bitmap, BlockCsr or TwoFour.
  ref::PackFormat format = ref::PackFormat::TiledCsl;
  int64_t tileRows = 64, tileCols = 64;               ///< Tiled-CSL and bitmap
  /// Magnitude pruning: each row keeps its round(K * (1 - sparsity))
  /// largest-magnitude elements (ties: the first); negative: no pruning,
  /// the zeros already there are what is skipped. For 2:4, 0.5 prunes each
  /// group of 4 along K to its 2 largest magnitudes (ties: the first); no
  /// other fraction is 2:4.
  double sparsity = -1;
  /// The stored type, f16 or bf16 (the input's when it is one of them).
  std::optional<ref::DType> type;
};

struct SparseImport {
  ref::PackFormat format = ref::PackFormat::TiledCsl;
  ref::Tensor offsets, words; ///< i32, as docs/dialect.md's tiled_csl
  ref::Tensor values, meta;   ///< two_four: N x K/2 values, N x K/16 i16
  /// bitmap: i32 masks (with offsets and values); block_csr: the column
  /// indices (offsets: the row pointers; values: the blocks, B x 64 x 64).
  ref::Tensor masks;
  int64_t rows = 0, cols = 0, nonZeros = 0;
  ref::DType type = ref::DType::F16;
};

/// `dense` (an N x K matrix of floats), pruned and rounded as `o` says, in
/// the Tiled-CSL or 2:4 layout; an error for a bad shape, type or option,
/// or (2:4 without pruning) a group of 4 with more than 2 non-zeros.
llvm::Expected<SparseImport> importSparse(ref::Tensor dense, const SparseImportOptions &o);

/// Writes `w` into `dir`: Tiled-CSL as NAME.words.npy and NAME.offsets.npy
/// (i32); bitmap as NAME.offsets.npy, NAME.masks.npy (i32) and
/// NAME.values.npy; block_csr as NAME.row_ptr.npy, NAME.col_idx.npy (i32)
/// and NAME.blocks.npy; 2:4 as NAME.values.npy and NAME.meta.npy (i16).
/// Values are f16, or bf16's values as f32.
llvm::Error writeSparseWeight(const SparseImport &w, const std::string &dir,
                              const std::string &name);

} // namespace einloom

#endif
