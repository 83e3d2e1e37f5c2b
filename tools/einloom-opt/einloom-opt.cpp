//===- einloom-opt.cpp - mlir-opt with the loom dialect -------------------===//
#include "einloom/Registration.h"

#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  einloom::registerAllDialects(registry);
  einloom::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Einloom optimizer driver\n", registry));
}
