//===- einloom-import.cpp - AWQ / GPTQ layers into Einloom's layout -------===//
//
// einloom-import --format awq|gptq|gptq-v2 [--bits 4] [--group 128]
//                --prefix model.layers.0.mlp.down_proj. FILE.safetensors -o DIR
//
// writes DIR/NAME.codes.npy (the N x K codes as a_fragment words),
// NAME.scales.npy and NAME.zeros.npy (N x K/G) and, for an act-order GPTQ
// layer, NAME.perm.npy (the activations' K order). These are the inputs of a
// bundle compiled with --weight-quant int<B>:g<G>:asym (scales in the
// checkpoint's type; zero points i8, i16 for 8 bits).
//
// einloom-import --format tiled_csl|bitmap|block_csr|two_four [--sparsity S] WEIGHT -o DIR
//
// makes a dense N x K weight (.npy, or a .safetensors tensor) sparse:
// Tiled-CSL (NAME.words.npy, NAME.offsets.npy), bitmap (NAME.offsets.npy,
// NAME.masks.npy, NAME.values.npy), block-sparse (NAME.row_ptr.npy,
// NAME.col_idx.npy, NAME.blocks.npy; --sparsity S keeps each block row's
// largest (1 - S) fraction of 64 x 64 blocks by their sum of squares) or
// 2:4 (NAME.values.npy, NAME.meta.npy; --sparsity 0.5 prunes each group of
// 4 along K to its 2 largest magnitudes), as docs/dialect.md lays them out.
//
//===----------------------------------------------------------------------===//
#include "einloom/Import.h"
#include "einloom/Reference/Npy.h"
#include "llvm/Support/Format.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
namespace ref = einloom::ref;

static cl::OptionCategory category("einloom-import options");
static cl::opt<std::string> input(cl::Positional,
                                  cl::desc("<checkpoint.safetensors> (or, with a sparse format, a .npy)"),
                                  cl::Required, cl::cat(category));
static cl::opt<std::string> formatName("format",
                                   cl::desc("awq (AutoAWQ \"gemm\"), gptq (v1: zeros stored "
                                            "minus one) or gptq-v2; or tiled_csl / bitmap / "
                                            "block_csr / two_four: a dense weight made sparse"),
                                   cl::Required, cl::cat(category));
static cl::opt<std::string> tensorName("tensor",
                                       cl::desc("sparse formats: the dense weight's tensor in a "
                                                ".safetensors file (default: PREFIX + weight)"),
                                       cl::init(""), cl::cat(category));
static cl::opt<double> sparsity("sparsity",
                                cl::desc("tiled_csl, bitmap: prune each row to keep its largest "
                                         "(1 - S) fraction by magnitude (default: keep every "
                                         "non-zero); block_csr: each block row keeps its "
                                         "(1 - S) fraction of 64 x 64 blocks of the largest "
                                         "sum of squares; two_four: 0.5 prunes each group of 4 "
                                         "along K to its 2 largest"),
                                cl::init(-1), cl::cat(category));
static cl::opt<int64_t> tileRows("tile-rows", cl::desc("tiled_csl, bitmap: tile rows, 64 or 128 (default 64)"),
                                 cl::init(64), cl::cat(category));
static cl::opt<std::string> dtypeName("dtype",
                                      cl::desc("sparse formats: store f16 or bf16 (default: the "
                                               "weight's own when it is one of them; f16 for "
                                               "a .npy)"),
                                      cl::init(""), cl::cat(category));
static cl::opt<unsigned> bits("bits", cl::desc("Code width: 2, 3, 4 or 8 (default 4)"), cl::init(4),
                              cl::cat(category));
static cl::opt<int> group("group", cl::desc("Input channels per group; -1: per channel (default 128)"),
                          cl::init(128), cl::cat(category));
static cl::opt<std::string> prefix("prefix",
                                   cl::desc("Tensor name prefix: PREFIX + qweight, qzeros, scales, g_idx"),
                                   cl::init(""), cl::cat(category));
static cl::opt<std::string> outDir("o", cl::desc("Output directory"), cl::Required,
                                   cl::cat(category));
static cl::opt<std::string> name("name", cl::desc("Output file name stem (default: weight)"),
                                 cl::init("weight"), cl::cat(category));

/// --format tiled_csl: a dense N x K weight (.npy, or a tensor of a
/// .safetensors file), pruned with --sparsity if asked, into
/// NAME.words.npy and NAME.offsets.npy.
static int importSparse() {
  ref::Tensor dense;
  std::string err;
  if (StringRef(input).ends_with(".npy")) {
    if (!ref::readNpy(input, ref::DType::F64, dense, err)) {
      errs() << "einloom-import: " << err << "\n";
      return 1;
    }
  } else {
    auto file = einloom::readSafetensors(input);
    if (!file) {
      errs() << "einloom-import: " << toString(file.takeError()) << "\n";
      return 1;
    }
    auto t = einloom::safetensorsTensor(*file, tensorName.empty() ? prefix + "weight"
                                                                  : std::string(tensorName));
    if (!t) {
      errs() << "einloom-import: " << toString(t.takeError()) << "\n";
      return 1;
    }
    dense = std::move(*t);
  }
  einloom::SparseImportOptions o;
  // NumPy has no bf16: a .npy weight is stored as f16 unless --dtype says.
  if (StringRef(input).ends_with(".npy"))
    o.type = ref::DType::F16;
  bool twoFour = formatName == "two_four";
  if (twoFour && tileRows.getNumOccurrences()) {
    errs() << "einloom-import: --tile-rows is for tiled_csl (two_four has no tiles)\n";
    return 1;
  }
  bool bitmap = formatName == "bitmap", blocks = formatName == "block_csr";
  o.format = twoFour  ? ref::PackFormat::TwoFour
             : bitmap ? ref::PackFormat::Bitmap
             : blocks ? ref::PackFormat::BlockCsr
                      : ref::PackFormat::TiledCsl;
  o.tileRows = tileRows;
  o.sparsity = sparsity;
  if (!dtypeName.empty()) {
    ref::DType t;
    if (!ref::parseDType(dtypeName, t) || (t != ref::DType::F16 && t != ref::DType::BF16)) {
      errs() << "einloom-import: --dtype is f16 or bf16, not '" << dtypeName << "'\n";
      return 1;
    }
    o.type = t;
  }
  auto w = einloom::importSparse(std::move(dense), o);
  if (!w) {
    errs() << "einloom-import: " << input << ": " << toString(w.takeError()) << "\n";
    return 1;
  }
  if (std::error_code ec = sys::fs::create_directories(outDir)) {
    errs() << "einloom-import: " << outDir << ": " << ec.message() << "\n";
    return 1;
  }
  if (Error e = einloom::writeSparseWeight(*w, outDir, name)) {
    errs() << "einloom-import: " << toString(std::move(e)) << "\n";
    return 1;
  }
  int64_t elems = w->rows * w->cols;
  outs() << "imported " << input << ": N=" << w->rows << " K=" << w->cols << ", "
         << ref::dtypeName(w->type) << ", " << w->nonZeros << " non-zeros ("
         << format("%.1f", 100.0 * w->nonZeros / elems) << "% dense), ";
  if (twoFour)
    outs() << "two_four: " << w->values.numel() << " values and " << w->meta.numel()
           << " metadata words (0.5625x the dense bytes) -> " << outDir << "/" << name
           << ".{values,meta}.npy\n";
  else if (blocks)
    outs() << "block_csr 64x64: " << w->masks.numel() << " blocks stored of "
           << elems / 4096 << ", "
           << format("%.2f", (2.0 * w->values.numel() + 4.0 * w->masks.numel()) / (2.0 * elems))
           << "x the dense bytes -> " << outDir << "/" << name
           << ".{row_ptr,col_idx,blocks}.npy\n";
  else if (bitmap)
    outs() << "bitmap " << tileRows << "x64: " << w->values.numel() << " values and "
           << w->masks.numel() << " mask words, "
           << format("%.2f", (2.0 * w->values.numel() + 4.0 * w->masks.numel()) / (2.0 * elems))
           << "x the dense bytes -> " << outDir << "/" << name << ".{offsets,masks,values}.npy\n";
  else
    outs() << "tiled_csl " << tileRows << "x64: " << w->words.numel() << " words, "
           << format("%.2f", 4.0 * w->words.numel() / (2.0 * elems)) << "x the dense bytes -> "
           << outDir << "/" << name << ".{words,offsets}.npy\n";
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "Einloom checkpoint import\n");
  if (formatName == "tiled_csl" || formatName == "bitmap" || formatName == "two_four" ||
      formatName == "block_csr")
    return importSparse();
  einloom::ImportOptions o;
  if (formatName == "awq")
    o.format = einloom::CheckpointFormat::AwqGemm;
  else if (formatName == "gptq")
    o.format = einloom::CheckpointFormat::GptqV1;
  else if (formatName == "gptq-v2")
    o.format = einloom::CheckpointFormat::GptqV2;
  else {
    errs() << "einloom-import: unknown --format '" << formatName
           << "'; expected awq, gptq, gptq-v2, tiled_csl, bitmap, block_csr or two_four\n";
    return 1;
  }
  o.bits = bits;
  o.groupSize = group;
  o.prefix = prefix;
  auto file = einloom::readSafetensors(input);
  if (!file) {
    errs() << "einloom-import: " << toString(file.takeError()) << "\n";
    return 1;
  }
  auto w = einloom::importLinear(*file, o);
  if (!w) {
    errs() << "einloom-import: " << toString(w.takeError()) << "\n";
    return 1;
  }
  if (std::error_code ec = sys::fs::create_directories(outDir)) {
    errs() << "einloom-import: " << outDir << ": " << ec.message() << "\n";
    return 1;
  }
  if (Error e = einloom::writeEinloomWeight(*w, outDir, name)) {
    errs() << "einloom-import: " << toString(std::move(e)) << "\n";
    return 1;
  }
  outs() << "imported " << (prefix.empty() ? std::string("the layer") : std::string(prefix))
         << ": N=" << w->codes.shape[0] << " K=" << w->codes.shape[1] << ", " << w->bits
         << "-bit, groups of " << w->groupSize << (w->perm.empty() ? "" : ", act-order (K permuted)")
         << " -> " << outDir << "/" << name << ".{codes,scales,zeros"
         << (w->perm.empty() ? "" : ",perm") << "}.npy\n";
  return 0;
}
