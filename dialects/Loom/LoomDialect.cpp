//===- LoomDialect.cpp - the loom dialect ---------------------------------===//
#include "Loom/LoomDialect.h"
#include "Loom/LoomOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::loom;

#include "Loom/LoomDialect.cpp.inc"
#include "Loom/LoomEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "Loom/LoomAttrs.cpp.inc"

void LoomDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "Loom/LoomAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "Loom/LoomOps.cpp.inc"
      >();
}
