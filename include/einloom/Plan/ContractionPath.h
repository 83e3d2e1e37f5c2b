//===- ContractionPath.h - the order of an n-ary einsum's contractions ---===//
//
// An n-ary einsum runs as a sequence of binary contractions. The order
// decides the FLOP count (often by orders of magnitude) and the size of the
// intermediates. `optimizePath` finds the cheapest order: exact dynamic
// programming over subsets of operands for up to `kExactLimit` operands,
// greedy (cheapest next pair) beyond, never creating an intermediate larger
// than a memory limit.
//
// Cost model: contracting tensors with label sets L and R costs
// 2 * prod(size of every label in L ∪ R) FLOPs (one multiply and one add per
// point of the joint index space), plus kFlopsPerElement for every element
// of the two operands and the result (the memory traffic, in FLOPs' time);
// the result keeps the labels of L ∪ R that the output or a remaining
// operand still needs.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_PLAN_CONTRACTIONPATH_H
#define EINLOOM_PLAN_CONTRACTIONPATH_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace einloom {

struct PathStep {
  /// Positions in the current operand list (opt_einsum's convention: the two
  /// are removed and the result is appended at the end).
  int lhs = 0, rhs = 0;
  std::string lhsLabels, rhsLabels, resultLabels;
  double flops = 0;
  double resultElements = 0;
};

struct ContractionPath {
  std::vector<PathStep> steps;
  double flops = 0;          ///< of the chosen path
  double cost = 0;           ///< its pathCost, which the order minimises
  double naiveFlops = 0;     ///< of the left-to-right order
  double peakElements = 0;   ///< largest intermediate
  bool exact = true;         ///< dynamic programming (else greedy)
  bool naiveFits = true;     ///< the left-to-right order respects the limit
};

constexpr int kExactLimit = 10;
/// How many FLOPs the order search counts per element a step reads or
/// writes: the tensor cores' rate over DRAM's (about 700 TFLOP/s against
/// 3-4.8 TB/s, two bytes an element), so that the order minimises time,
/// not FLOPs alone.
constexpr double kFlopsPerElement = 256;

/// `inputs`: the operands' labels (no label repeated inside one operand);
/// `output`: the result's labels; `sizes`: every label's extent.
/// `memoryLimitElements` bounds every intermediate (0: no bound).
/// Returns false, with `why`, when no order fits the limit.
bool optimizePath(const std::vector<std::string> &inputs, const std::string &output,
                  const std::map<char, int64_t> &sizes, double memoryLimitElements,
                  ContractionPath &path, std::string &why);

/// FLOPs plus kFlopsPerElement per element each step reads and writes, in
/// the given order of pairs: what the order search minimises.
double pathCost(const std::vector<std::string> &inputs, const std::string &output,
                const std::map<char, int64_t> &sizes,
                const std::vector<std::pair<int, int>> &order);

/// The FLOPs of contracting in the given order of pairs (for tests and for
/// the naive order).
double pathFlops(const std::vector<std::string> &inputs, const std::string &output,
                 const std::map<char, int64_t> &sizes,
                 const std::vector<std::pair<int, int>> &order);

} // namespace einloom

#endif
