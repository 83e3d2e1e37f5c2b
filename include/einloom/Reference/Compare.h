//===- Compare.h - a GPU result against the reference -----------*- C++ -*-===//
//
// The runner's check. Its measure is the relative L2 error over the checked
// elements, ||got - want|| / ||want||. That measure fails a correct result
// whose terms cancel: when want sums products of both signs to far less
// than their usual size, the rounding error of a correct f32 sum stays at
// the size of the terms, and ||want|| no longer measures it. So, given the
// products' magnitudes (the same einsum over |products|), a result whose
// ||want|| is under an eighth of the usual size of a sum of `terms` such
// products, ||magnitude|| / sqrt(terms), is also measured against that
// size. A wrong result stays wrong on both measures.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_REFERENCE_COMPARE_H
#define EINLOOM_REFERENCE_COMPARE_H

#include <cstdint>
#include <vector>

namespace einloom::ref {

struct Agreement {
  /// ||got - want|| / ||want|| (||got - want|| where want is all zero).
  double relErr = 0;
  double maxAbs = 0;
  /// The flat index of the element with the largest error (-1 if none).
  int64_t worstAt = -1;
  /// NaN in got where want is a number (an element never written?).
  int64_t nans = 0;
  /// Elements where both overflowed to the same infinity (agreeing; left
  /// out of the sums, which they would make NaN).
  int64_t sameInfinities = 0;
  /// want cancels: ||want|| < ||magnitude|| / (8 sqrt(terms)).
  bool cancels = false;
  /// Where it cancels: ||got - want|| / (||magnitude|| / sqrt(terms)).
  double scaledErr = 0;

  bool pass(double tol) const {
    return nans == 0 && (relErr <= tol || (cancels && scaledErr <= tol));
  }
  /// Passes only because want cancels.
  bool passByScale(double tol) const { return pass(tol) && relErr > tol; }
};

/// got and want at the flat indices `at`; `magnitude` (null if not known)
/// holds the einsum of the products' magnitudes at those elements, in the
/// order of `at`, and `terms` is how many products each element sums.
Agreement compare(const double *got, const double *want, const std::vector<int64_t> &at,
                  const double *magnitude = nullptr, int64_t terms = 1);

} // namespace einloom::ref

#endif
