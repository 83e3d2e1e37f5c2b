//===- einloom-tune.cpp - time the planner's candidates, keep the fastest -===//
#include "einloom/Tune.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

static cl::OptionCategory category("einloom-tune options");
static cl::opt<std::string> einsum("einsum", cl::desc("The einsum to tune (with --sizes)"), cl::cat(category));
static cl::opt<std::string> weightQuant(
    "weight-quant",
    cl::desc("With --einsum: quantize its second operand as einloom-compile --weight-quant "
             "does (e.g. int4:g128:asym); in --shapes files, a trailing quant=DESC"),
    cl::cat(category));
static cl::opt<std::string> sparseWeight(
    "sparse",
    cl::desc("With --einsum: store its second operand sparse as einloom-compile --sparse does "
             "(tiled_csl[:R], bitmap[:R], two_four); in --shapes files, a trailing "
             "sparse=DESC"),
    cl::init(""), cl::cat(category));
static cl::opt<double> density(
    "density",
    cl::desc("A sparse weight's fraction of non-zeros in the timed data (default 0.25)"),
    cl::init(0.25), cl::cat(category));
static cl::opt<std::string> sizes("sizes", cl::desc("Label sizes, e.g. m=16,n=4096,k=4096"), cl::cat(category));
static cl::opt<std::string> dtype("dtype", cl::desc("Operand type (default f16)"), cl::init("f16"), cl::cat(category));
static cl::opt<std::string> outType("out", cl::desc("Result type (default: the operands')"), cl::cat(category));
static cl::opt<std::string> shapesFile(
    "shapes", cl::desc("A file of contractions, one per line: 'SPEC SIZES DTYPE [OUT]'"),
    cl::cat(category));
static cl::opt<std::string> target("target", cl::desc("sm_80, sm_86, sm_89, sm_90 or sm_90a"),
                                   cl::init("sm_90a"), cl::cat(category));
static cl::opt<int> top("top", cl::desc("Candidates per contraction (default 8)"), cl::init(8),
                        cl::cat(category));
static cl::opt<std::string> database(
    "db", cl::desc("The tuning database to update (created if missing; default: report only)"),
    cl::cat(category));
static cl::opt<bool> dryRun("dry-run", cl::desc("List the candidates; no GPU needed"),
                            cl::cat(category));
static cl::opt<int> rounds("rounds", cl::desc("Timed rounds per candidate (default 15)"),
                           cl::init(15), cl::cat(category));
static cl::opt<int> reps("reps", cl::desc("Back-to-back launches per round (default 10)"),
                         cl::init(10), cl::cat(category));
static cl::opt<int> jobs("jobs", cl::desc("Candidates compiled in parallel (default: one per hardware thread)"),
                         cl::init(0), cl::cat(category));
static cl::opt<bool> compileOnly("compile-only",
                                 cl::desc("Compile every candidate, time none (no GPU needed)"),
                                 cl::init(false), cl::cat(category));
static cl::opt<int> device("device", cl::desc("CUDA device (default 0)"), cl::init(0), cl::cat(category));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "Einloom tuner: times the planner's best candidate plans for each contraction on the GPU\n"
      "and writes the fastest to a tuning database (einloom-compile --tuning-db uses it)\n");
  einloom::TuneOptions o;
  if (!einsum.empty())
    o.shapes.push_back({einsum, sizes, dtype, outType, weightQuant, sparseWeight});
  if (!shapesFile.empty()) {
    auto buf = llvm::MemoryBuffer::getFile(shapesFile);
    if (!buf) {
      llvm::errs() << "einloom-tune: " << shapesFile << ": " << buf.getError().message() << "\n";
      return 1;
    }
    std::string err;
    if (!einloom::parseTuneShapes((*buf)->getBuffer().str(), o.shapes, err)) {
      llvm::errs() << "einloom-tune: " << shapesFile << ": " << err << "\n";
      return 1;
    }
  }
  if (top < 1 || rounds < 1 || reps < 1) {
    llvm::errs() << "einloom-tune: --top, --rounds and --reps take positive integers\n";
    return 1;
  }
  if (!(density >= 0 && density <= 1)) {
    llvm::errs() << "einloom-tune: --density takes a fraction from 0 to 1, e.g. 0.2\n";
    return 1;
  }
  if (!sparseWeight.empty() && !weightQuant.empty()) {
    llvm::errs() << "einloom-tune: --sparse and --weight-quant do not go together\n";
    return 1;
  }
  o.target = target;
  o.top = top;
  o.database = database;
  o.dryRun = dryRun || compileOnly;
  o.compileOnly = compileOnly;
  o.rounds = rounds;
  o.reps = reps;
  o.device = device;
  o.jobs = jobs;
  o.density = density;
  return einloom::runTune(o, llvm::outs());
}
