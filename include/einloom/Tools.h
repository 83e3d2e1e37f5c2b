//===- Tools.h - what the command-line tools do -----------------*- C++ -*-===//
//
// The tools are thin mains; their work is here so that it is also available
// to embedders.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_TOOLS_H
#define EINLOOM_TOOLS_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir {
class MLIRContext;
namespace func {
class FuncOp;
} // namespace func
} // namespace mlir

namespace einloom {

/// What every tool main needs: a context with Einloom's dialects and
/// diagnostics printed with their source lines.
struct ToolSession {
  ToolSession();
  ~ToolSession();
  mlir::MLIRContext &context();

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// Parses and verifies `path` ("-" is stdin). Diagnostics go to the
/// context's handler; returns null on failure.
mlir::OwningOpRef<mlir::ModuleOp> loadModule(mlir::MLIRContext &ctx,
                                             llvm::StringRef path);

/// The function to run: `name` if given, else `main`, else the only public
/// function with a body. Emits a diagnostic and returns null otherwise.
mlir::func::FuncOp findEntry(mlir::ModuleOp module, llvm::StringRef name);

struct ReferenceRunOptions {
  uint64_t seed = 0;
  std::vector<std::string> inputs; ///< .npy paths, one per argument
  std::string saveDir;             ///< write result<i>.npy here if non-empty
  size_t maxValues = 8;
};

/// einloom-run --reference: evaluates `func` on seeded random or given inputs
/// and prints a summary of each result to `os`.
mlir::LogicalResult runReference(mlir::func::FuncOp func,
                                 const ReferenceRunOptions &options,
                                 llvm::raw_ostream &os);

/// A module with `func.func @main` holding one einsum of `spec` on operands
/// of `dtype`, label sizes from `sizes` ("m=4096,n=4096,k=4096"), accumulator
/// `acc` and result type `out` (empty: the defaults). Emits a diagnostic and
/// returns null for a bad spec, a missing or malformed size, or a bad type.
mlir::OwningOpRef<mlir::ModuleOp>
buildEinsumModule(mlir::MLIRContext &ctx, llvm::StringRef spec,
                  llvm::StringRef sizes, llvm::StringRef dtype,
                  llvm::StringRef acc, llvm::StringRef out, bool tf32 = false);

/// An element type from a name: MLIR's (f16, f8E4M3FN, i8, ...) or the
/// ones users type (half, fp16, bfloat16, float, double, e4m3, e5m2, int8,
/// int32, ...). Null, with no diagnostic, for anything else.
mlir::Type parseElementTypeName(mlir::MLIRContext &ctx, llvm::StringRef name);

/// Makes the weight (second operand) of the one einsum in `module` (from
/// buildEinsumModule) a quantized one: the function then takes its codes,
/// scales and (asymmetric) zero points, and dequantizes them into the
/// einsum. `desc` is `int<B>[:g<G>|:channel][:sym|:asym]` (B = 2, 3, 4 or 8;
/// default per channel, symmetric): symmetric codes are signed with no zero
/// point, asymmetric ones unsigned with integer zero points (i8, i16 for 8
/// bits, whose zero points reach 255); groups of G run
/// along the summed label. Emits a diagnostic and fails on a bad description
/// or an einsum whose weight is not one kept and one summed label.
mlir::LogicalResult setWeightQuant(mlir::OwningOpRef<mlir::ModuleOp> &module,
                                   llvm::StringRef desc);

/// Stores the einsum's second operand (a function argument) sparse, as
/// `desc` says: "tiled_csl[:R]" (Tiled-CSL tiles of R = 64 or 128 rows by
/// 64 columns; default 64). The bundle then takes its words and tile
/// offsets. Emits a diagnostic and fails on a bad description.
mlir::LogicalResult setSparseWeight(mlir::ModuleOp module, llvm::StringRef desc);

/// Gives the einsum a block mask (loom.einsum's block_mask), a new last
/// function argument, as `desc` says: "BMxBN[:shared][:fill=V]", blocks of
/// BM x BN result elements, one mask per batch (or, with `shared`, one for
/// every batch), masked-out blocks holding V (a number, inf or -inf;
/// default 0). Emits a diagnostic and fails on a bad description.
mlir::LogicalResult setBlockMask(mlir::ModuleOp module, llvm::StringRef desc);

/// Multiplies every loom.einsum in `module` by `scale` (its fused epilogue's
/// alpha: with an i8 result, the requantization scale), then verifies.
mlir::LogicalResult setEinsumScale(mlir::ModuleOp module, double scale);

/// Parses `planText` as a #loom.plan and sets it on every loom.einsum in
/// `module`; a located diagnostic and failure when it is not one.
mlir::LogicalResult setEinsumPlan(mlir::ModuleOp module, llvm::StringRef planText);

} // namespace einloom

#endif
