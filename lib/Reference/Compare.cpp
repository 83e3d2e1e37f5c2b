//===- Compare.cpp - a GPU result against the reference -------------------===//
#include "einloom/Reference/Compare.h"

#include <algorithm>
#include <cmath>

using namespace einloom::ref;

Agreement einloom::ref::compare(const double *got, const double *want,
                                const std::vector<int64_t> &at, const double *magnitude,
                                int64_t terms) {
  Agreement a;
  double num = 0, den = 0, mag = 0;
  for (size_t j = 0; j < at.size(); ++j) {
    double g = got[at[j]], w = want[at[j]];
    if (std::isnan(g) && !std::isnan(w)) {
      ++a.nans;
      continue;
    }
    // The same overflow (an infinity of the same sign) on both sides
    // agrees; it would make the sums below NaN.
    if (std::isinf(w) && g == w) {
      ++a.sameInfinities;
      continue;
    }
    num += (g - w) * (g - w);
    den += w * w;
    if (magnitude)
      mag += magnitude[j] * magnitude[j];
    if (a.worstAt < 0 || std::fabs(g - w) > a.maxAbs) {
      a.maxAbs = std::fabs(g - w);
      a.worstAt = at[j];
    }
  }
  a.relErr = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  if (magnitude && terms > 0 && mag > 0) {
    double usual = std::sqrt(mag) / std::sqrt(double(terms));
    a.cancels = std::sqrt(den) < usual / 8;
    a.scaledErr = std::sqrt(num) / usual;
  }
  return a;
}
