//===- SelectPlan.h - choosing a #loom.plan for a contraction ---*- C++ -*-===//
#ifndef EINLOOM_PLAN_SELECTPLAN_H
#define EINLOOM_PLAN_SELECTPLAN_H

#include "einloom/Plan/Contraction.h"
#include "einloom/Target.h"

#include "Loom/LoomDialect.h"
#include "Loom/LoomOps.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <string>
#include <vector>

namespace einloom {

/// The producer that reads a sparse weight stored in `w`'s format.
inline mlir::loom::ProducerKind sparseProducer(const SparseWeight &w) {
  return w.twoFour()    ? mlir::loom::ProducerKind::TwoFour
         : w.bitmap()   ? mlir::loom::ProducerKind::Bitmap
         : w.blockCsr() ? mlir::loom::ProducerKind::BlockCsr
                        : mlir::loom::ProducerKind::TiledCsl;
}
/// Whether `p` is one of the sparse weights' producers.
inline bool isSparseProducer(mlir::loom::ProducerKind p) {
  return p == mlir::loom::ProducerKind::TiledCsl || p == mlir::loom::ProducerKind::TwoFour ||
         p == mlir::loom::ProducerKind::Bitmap || p == mlir::loom::ProducerKind::BlockCsr;
}

/// What the cost model predicts for one plan.
struct PlanEstimate {
  double seconds = 0;
  double computeSeconds = 0, memorySeconds = 0;
  int64_t flops = 0, bytes = 0;
  double waves = 0;
  /// The DRAM bandwidth the plan can draw (bytes/s): less than the GPU's
  /// where tiles leave SMs idle or unevenly loaded.
  double bandwidth = 0;
  int64_t sharedMemoryBytes = 0;
  int ctasPerSM = 1;
  /// A sparse weight's CTAs waiting on their words (their K tiles one
  /// after another, `prefetch` in flight); 0 for other plans.
  double latencySeconds = 0;
  bool computeBound() const { return computeSeconds >= memorySeconds; }
  const char *bound() const {
    return latencySeconds > std::max(computeSeconds, memorySeconds) ? "latency"
           : computeBound()                                         ? "compute"
                                                                    : "memory";
  }
};

struct PlanCandidate {
  mlir::loom::PlanAttr plan;
  PlanEstimate estimate;
  std::string rejectedBecause; ///< empty for the chosen plan
};

struct PlanChoice {
  PlanCandidate chosen;
  std::vector<PlanCandidate> alternatives;
  /// Where the chosen plan came from when a tuning database gave it
  /// ("t.db line 4: 112.30 us on NVIDIA H200, 2026-12-05"); empty when the
  /// cost model chose it.
  std::string fromDatabase;
};

class TuningDatabase;

/// The contraction as `plan` runs it: `c` itself, or with order = ba its
/// transposed product (held in `storage`). Idempotent: a contraction
/// already in the plan's order is returned as it is.
const Contraction &oriented(mlir::loom::PlanAttr plan, const Contraction &c,
                            Contraction &storage);

/// Shared memory a TMA plan with split_k > 1 needs for the cluster's
/// reduction: two mbarriers and one f32 (or i32) partial sum per
/// accumulator of each consumer thread; 0 for other plans.
int64_t splitReduceBytes(mlir::loom::PlanAttr plan);

/// The mma.sync instruction shape for the contraction's element type.
mlir::FailureOr<mlir::loom::MmaShape> mmaFor(const Contraction &c);

/// K elements in one 128-byte shared-memory row: the tile_k our producers use.
int64_t tileKFor(mlir::Type elem);

/// Shared memory a plan's pipeline needs, in bytes.
int64_t sharedMemoryBytes(mlir::loom::PlanAttr plan, const Contraction &c);
/// Of that, what a TMA plan stages C through for its TMA stores (0 where C
/// is stored directly): wgmma, two 64-row blocks of 128 bytes per consumer
/// warpgroup; mma.sync, each warp's whole tile of a 16-bit C whose warp
/// tile is a multiple of 64 columns wide, or half of it (stored in two
/// passes) where the whole would not fit beside the ring.
int64_t tmaStagingBytes(mlir::loom::PlanAttr plan, const Contraction &c);
/// CTAs per SM of the TMA kernel for `plan` on an SM with `smemPerSM` bytes
/// of shared memory: 2 for one consumer warpgroup on tiles at most 128 wide
/// (64 accumulators per thread: the kernel must fit 128 registers at entry)
/// whose shared memory fits twice (in clusters or not), else 1.
int64_t tmaCtasPerSM(mlir::loom::PlanAttr plan, const Contraction &c, int64_t smemPerSM);

PlanEstimate estimatePlan(mlir::loom::PlanAttr plan, const Contraction &c,
                          const TargetInfo &t);

/// Checks a plan against the contraction and the target (instruction, smem,
/// what code generation supports). Emits through `emitError` on failure.
mlir::LogicalResult
verifyPlanForTarget(mlir::loom::PlanAttr plan, const Contraction &c,
                    const TargetInfo &t,
                    llvm::function_ref<mlir::InFlightDiagnostic()> emitError);

/// Chooses the plan with the lowest estimated time among the candidates that
/// the target and code generation accept. Plans in `avoid` (ones ptxas
/// spilled registers with in an earlier build, see compileModule) are
/// rejected with that reason.
mlir::FailureOr<PlanChoice>
selectPlan(const Contraction &c, const TargetInfo &t, mlir::MLIRContext *ctx,
           llvm::function_ref<mlir::InFlightDiagnostic()> emitError,
           llvm::ArrayRef<mlir::loom::PlanAttr> avoid = {});

/// selectPlan, then the tuning database (if any): an entry for the
/// contraction whose plan verifies replaces the model's choice, which
/// becomes an alternative. An entry that no longer verifies is reported
/// through `emitWarning` and ignored.
/// A database entry whose plan is in `avoid` is passed over too.
mlir::FailureOr<PlanChoice>
choosePlan(const Contraction &c, const TargetInfo &t, mlir::MLIRContext *ctx,
           const TuningDatabase *db, llvm::function_ref<mlir::InFlightDiagnostic()> emitError,
           llvm::function_ref<mlir::InFlightDiagnostic()> emitWarning,
           llvm::ArrayRef<mlir::loom::PlanAttr> avoid = {});

/// The --explain report.
/// --explain for an einsum whose plan was given in the IR (or with --plan):
/// the plan and its estimate.
void printGivenPlan(llvm::raw_ostream &os, const Contraction &c, const TargetInfo &t,
                    mlir::loom::PlanAttr plan);
void printExplanation(llvm::raw_ostream &os, const Contraction &c,
                      const TargetInfo &t, const PlanChoice &choice);

/// An einsum operand of `#loom.sparse<format = auto>`: the function
/// argument it is (its format decides the buffers a program takes) gets the
/// format whose chosen plan the cost model estimates fastest among
/// Tiled-CSL, bitmap (tiles of the encoding's rows, 64 by default) and a
/// dense weight (the encoding dropped), at the encoding's density (25%
/// where it gives none); `explain` (when given) hears the estimates.
/// Nothing to do for other einsums; an error when no format fits.
mlir::LogicalResult chooseSparseFormat(mlir::loom::EinsumOp op, const TargetInfo &t,
                                       llvm::raw_ostream *explain);

} // namespace einloom

#endif
