//===- LoomDialect.h - the loom dialect, enums and attributes ---*- C++ -*-===//
#ifndef EINLOOM_LOOM_LOOMDIALECT_H
#define EINLOOM_LOOM_LOOMDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"

#include "Loom/LoomDialect.h.inc"
#include "Loom/LoomEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "Loom/LoomAttrs.h.inc"

#endif
