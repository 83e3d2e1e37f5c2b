//===- Target.cpp - the GPUs plan selection knows -------------------------===//
//
// Rates are for the reference part of each architecture (A100, RTX 3090,
// L40, H100 SXM). The H100 mma.sync rates were measured on our H100 with an
// instruction-issue microbenchmark (../shared/DESIGN.md); the others are
// datasheet leads, used only to rank plans against each other.
//
//===----------------------------------------------------------------------===//
#include "einloom/Target.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace einloom;

static bool isFp8(mlir::Type t) {
  return llvm::isa<mlir::Float8E4M3FNType, mlir::Float8E5M2Type>(t);
}

bool TargetInfo::supportsMma(mlir::Type elem) const {
  if (isFp8(elem))
    return smVersion >= 89;
  return elem.isF16() || elem.isBF16() || elem.isF32() || elem.isSignlessInteger(8);
}

double TargetInfo::mmaRate(mlir::Type elem, bool tf32) const {
  double f16 = smVersion >= 90 ? 638e12 : smVersion == 89 ? 181e12
                                        : smVersion == 86 ? 71e12 : 312e12;
  if (elem.isF16() || elem.isBF16())
    return f16;
  if (elem.isF32())
    return tf32 ? f16 / 2 : f16 / 16; // CUDA-core FMA without tf32
  if (elem.isSignlessInteger(8))
    return 2 * f16;
  if (isFp8(elem))
    return smVersion >= 90 ? 1800e12 : 2 * f16;
  return f16 / 16;
}

mlir::FailureOr<TargetInfo> einloom::lookupTarget(llvm::StringRef chip) {
  TargetInfo t;
  t.chip = chip.str();
  if (chip == "sm_80") {
    t.smVersion = 80;
    t.numSMs = 108;
    t.smemPerBlock = 163 * 1024;
    t.smemPerSM = 164 * 1024;
    t.dramBytesPerSec = 1.9e12;
  } else if (chip == "sm_86") {
    t.smVersion = 86;
    t.numSMs = 82;
    t.smemPerBlock = 99 * 1024;
    t.smemPerSM = 100 * 1024;
    t.dramBytesPerSec = 0.9e12;
  } else if (chip == "sm_89") {
    t.smVersion = 89;
    t.numSMs = 142;
    t.smemPerBlock = 99 * 1024;
    t.smemPerSM = 100 * 1024;
    t.dramBytesPerSec = 0.86e12;
  } else if (chip == "sm_90" || chip == "sm_90a") {
    t.smVersion = 90;
    t.archSpecific = chip == "sm_90a";
  } else {
    return mlir::failure();
  }
  return t;
}
