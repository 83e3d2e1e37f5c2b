//===- EinsumSpec.h - parsed einsum subscripts ------------------*- C++ -*-===//
//
// The einsum notation shared by the dialect's verifier, the reference
// evaluator and the planner. Parsing reports the offending character's
// position in the original string.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_LOOM_EINSUMSPEC_H
#define EINLOOM_LOOM_EINSUMSPEC_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/LogicalResult.h"
#include <string>

namespace mlir::loom {

struct EinsumSpec {
  /// One subscript string per operand, e.g. {"bmk", "bnk"}.
  llvm::SmallVector<std::string, 4> inputs;
  /// The output subscripts, e.g. "bmn".
  std::string output;

  /// The labels that `...` stood for, outermost first (empty without `...`).
  std::string ellipsisLabels;

  /// Parses `spec`. On failure calls `emitError` once with the 0-based
  /// position of the offending character and a message, and returns failure.
  /// A spec with `...` needs the operands' ranks (the overload below).
  static llvm::FailureOr<EinsumSpec>
  parse(llvm::StringRef spec,
        llvm::function_ref<void(size_t pos, const llvm::Twine &msg)> emitError);
  /// The same, with NumPy's `...`: in each operand it stands for the
  /// dimensions its subscripts do not name (right-aligned across operands),
  /// and gets fresh labels (letters the spec does not use). In the output,
  /// `...` places those labels; an explicit output without it sums them; in
  /// implicit mode they lead the output. Sizes must agree (no size-1
  /// broadcasting).
  static llvm::FailureOr<EinsumSpec>
  parse(llvm::StringRef spec, llvm::ArrayRef<int64_t> inputRanks,
        llvm::function_ref<void(size_t pos, const llvm::Twine &msg)> emitError);

  /// Every distinct label: the output's in order, then the summed ones in
  /// order of first appearance.
  std::string allLabels() const;
  /// Labels that are summed (appear in an input but not in the output).
  std::string summedLabels() const;
  /// The canonical text, "ab,bc->ac".
  std::string str() const;
  /// True if some operand repeats a label (a diagonal).
  bool hasRepeatedInputLabel() const;
};

/// "ab...": one label per dimension, for an identity einsum ("ab->ab") of a
/// tensor of `rank` dimensions (at most 26).
inline std::string positionalLabels(int64_t rank) {
  std::string labels;
  for (int64_t d = 0; d < rank; ++d)
    labels.push_back(static_cast<char>('a' + d));
  return labels;
}

} // namespace mlir::loom

#endif
