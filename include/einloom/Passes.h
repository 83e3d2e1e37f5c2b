//===- Passes.h - Einloom's passes ------------------------------*- C++ -*-===//
#ifndef EINLOOM_PASSES_H
#define EINLOOM_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace einloom {
#define GEN_PASS_DECL
#include "einloom/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "einloom/Passes.h.inc"
} // namespace einloom

#endif
