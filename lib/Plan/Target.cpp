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

bool einloom::isFp8(mlir::Type t) {
  return llvm::isa<mlir::Float8E4M3FNType, mlir::Float8E5M2Type>(t);
}

bool TargetInfo::supportsMma(mlir::Type elem) const {
  if (isFp8(elem))
    return smVersion >= 89;
  return elem.isF16() || elem.isBF16() || elem.isF32() || elem.isSignlessInteger(8) ||
         elem.isF64(); // (f64: DMMA, m8n8k4, sm_80 and newer)
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
  // mma.sync on fp8 runs at twice the 16-bit rate on sm_89, but not on
  // Hopper, whose 8-bit rate is wgmma's: on the H100 (2026-12-07) the
  // m16n8k32 e4m3 kernel ran 4096 x 2112 x 7168 at 330 TFLOP/s, 2.7x slower
  // than the wgmma kernel at the same shape. (wgmma's rate is its own.)
  if (isFp8(elem))
    return smVersion >= 90 ? f16 : 2 * f16;
  return f16 / 16;
}

mlir::FailureOr<TargetInfo> einloom::lookupTarget(llvm::StringRef chip) {
  struct Known {
    const char *chip;
    int sm, numSMs;
    int64_t smemPerBlockKiB, smemPerSMKiB;
    double dramBytesPerSec;
  };
  static const Known known[] = {
      {"sm_80", 80, 108, 163, 164, 1.9e12},  {"sm_86", 86, 82, 99, 100, 0.9e12},
      {"sm_89", 89, 142, 99, 100, 0.86e12},  {"sm_90", 90, 132, 227, 228, 3.0e12},
      {"sm_90a", 90, 132, 227, 228, 3.0e12},
  };
  for (const Known &k : known) {
    if (chip != k.chip)
      continue;
    TargetInfo t;
    t.chip = k.chip;
    t.smVersion = k.sm;
    t.archSpecific = chip.ends_with("a");
    t.numSMs = k.numSMs;
    t.smemPerBlock = k.smemPerBlockKiB * 1024;
    t.smemPerSM = k.smemPerSMKiB * 1024;
    t.dramBytesPerSec = k.dramBytesPerSec;
    return t;
  }
  return mlir::failure();
}
