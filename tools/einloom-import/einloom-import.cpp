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
//===----------------------------------------------------------------------===//
#include "einloom/Import.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory category("einloom-import options");
static cl::opt<std::string> input(cl::Positional, cl::desc("<checkpoint.safetensors>"),
                                  cl::Required, cl::cat(category));
static cl::opt<std::string> formatName("format",
                                   cl::desc("awq (AutoAWQ \"gemm\"), gptq (v1: zeros stored "
                                            "minus one) or gptq-v2"),
                                   cl::Required, cl::cat(category));
static cl::opt<unsigned> bits("bits", cl::desc("Code width: 2, 4 or 8 (default 4)"), cl::init(4),
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

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "Einloom checkpoint import\n");
  einloom::ImportOptions o;
  if (formatName == "awq")
    o.format = einloom::CheckpointFormat::AwqGemm;
  else if (formatName == "gptq")
    o.format = einloom::CheckpointFormat::GptqV1;
  else if (formatName == "gptq-v2")
    o.format = einloom::CheckpointFormat::GptqV2;
  else {
    errs() << "einloom-import: unknown --format '" << formatName << "'; expected awq, gptq or gptq-v2\n";
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
