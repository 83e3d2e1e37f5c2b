//===- Registration.cpp - dialects and passes Einloom uses ----------------===//
#include "einloom/Registration.h"
#include "Loom/LoomDialect.h"
#include "einloom/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void einloom::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<mlir::loom::LoomDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
}

void einloom::registerAllPasses() {
  mlir::registerAllPasses();
  registerEinloomPasses();
}
