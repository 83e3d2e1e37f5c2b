//===- Target.h - what plan selection knows about a GPU ---------*- C++ -*-===//
#ifndef EINLOOM_TARGET_H
#define EINLOOM_TARGET_H

#include "mlir/IR/Types.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace einloom {

struct TargetInfo {
  std::string chip;        ///< "sm_90a"
  int smVersion = 90;      ///< 80, 86, 89, 90
  bool archSpecific = false; ///< the "a" targets: wgmma, setmaxnreg
  int numSMs = 132;
  int64_t smemPerBlock = 227 * 1024; ///< opt-in dynamic shared memory limit
  int64_t smemPerSM = 228 * 1024;
  double dramBytesPerSec = 3.0e12;
  /// Dense mma.sync issue rate of the whole GPU, per input type (op/s).
  double mmaRate(mlir::Type elem, bool tf32) const;
  /// True when the target has mma.sync for this element type.
  bool supportsMma(mlir::Type elem) const;
};

/// f8E4M3FN or f8E5M2: tensor-core math from sm_89, and the cvt between
/// them and f16 that the CUDA-core kernels use.
bool isFp8(mlir::Type t);

/// The PTX ISA every kernel is written in (LLVM's feature string):
/// 8.5 for mma.sp::ordered_metadata.
inline constexpr const char *kPtxFeatures = "+ptx85";

/// The known targets: sm_80, sm_86, sm_89, sm_90, sm_90a. Fails for others.
mlir::FailureOr<TargetInfo> lookupTarget(llvm::StringRef chip);

} // namespace einloom

#endif
