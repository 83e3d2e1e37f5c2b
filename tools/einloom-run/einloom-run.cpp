//===- einloom-run.cpp - run a loom program -------------------------------===//
#include "einloom/Registration.h"
#include "einloom/Tools.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"

namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<FILE.mlir>"),
                                      cl::init("-"));
static cl::opt<bool> reference("reference",
                               cl::desc("Evaluate with the CPU reference"));
static cl::opt<uint64_t> seed("seed", cl::desc("Seed of the random inputs"),
                              cl::init(0));
static cl::list<std::string>
    inputs("inputs", cl::desc("Comma-separated .npy files, one per argument"),
           cl::CommaSeparated);
static cl::opt<std::string>
    saveOutputs("save-outputs",
                cl::desc("Write each result to DIR/result<i>.npy"),
                cl::value_desc("DIR"));
static cl::opt<std::string> function("function",
                                     cl::desc("The function to run"));
static cl::opt<unsigned> printValues("print-values",
                                     cl::desc("How many values to print"),
                                     cl::init(8));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "Einloom runner\n");
  if (!reference) {
    llvm::errs() << "einloom-run: only --reference mode is available in this "
                    "build\n";
    return 1;
  }
  mlir::DialectRegistry registry;
  einloom::registerAllDialects(registry);
  mlir::MLIRContext ctx(registry);
  llvm::SourceMgr sm;
  mlir::SourceMgrDiagnosticHandler handler(sm, &ctx);

  mlir::OwningOpRef<mlir::ModuleOp> module = einloom::loadModule(ctx, inputFile);
  if (!module)
    return 1;
  mlir::func::FuncOp func = einloom::findEntry(*module, function);
  if (!func)
    return 1;
  einloom::ReferenceRunOptions options;
  options.seed = seed;
  options.inputs.assign(inputs.begin(), inputs.end());
  options.saveDir = saveOutputs;
  options.maxValues = printValues;
  return mlir::failed(einloom::runReference(func, options, llvm::outs())) ? 1 : 0;
}
