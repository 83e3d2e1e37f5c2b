//===- BlockSparse.cpp - persistent schedules for block-sparse weights ----===//
//
// include/einloom/Codegen/BlockSparse.h.
//
//===----------------------------------------------------------------------===//
#include "einloom/Codegen/BlockSparse.h"

#include <algorithm>

using namespace einloom::codegen;

bool einloom::codegen::scheduleBsr(const std::vector<int64_t> &rowPtr, int64_t ctas,
                                   std::vector<std::vector<BsrWork>> &schedule,
                                   std::string &err) {
  if (ctas < 1) {
    err = "a BSR schedule needs at least one CTA";
    return false;
  }
  if (rowPtr.empty() || rowPtr[0] != 0) {
    err = "row_ptr must start at 0";
    return false;
  }
  for (size_t r = 1; r < rowPtr.size(); ++r)
    if (rowPtr[r] < rowPtr[r - 1]) {
      err = "row_ptr decreases at row " + std::to_string(r - 1);
      return false;
    }
  int64_t rows = static_cast<int64_t>(rowPtr.size()) - 1, total = rowPtr.back();
  schedule.assign(static_cast<size_t>(ctas), {});
  // CTA c owns blocks [c * total / ctas, (c + 1) * total / ctas).
  auto first = [&](int64_t c) { return c * total / ctas; };
  // The CTA whose range holds position p: the last c with first(c) <= p,
  // that is c * total < (p + 1) * ctas (an empty row's place at the end:
  // the last CTA).
  auto owner = [&](int64_t p) {
    return total == 0 ? 0 : std::min(ctas - 1, ((p + 1) * ctas - 1) / total);
  };
  for (int64_t r = 0; r < rows; ++r) {
    int64_t b = rowPtr[r], e = rowPtr[r + 1];
    if (b == e) {
      schedule[owner(b)].push_back({r, b, b, false, true});
      continue;
    }
    int64_t firstCta = owner(b), lastCta = owner(e - 1);
    for (int64_t c = firstCta; c <= lastCta; ++c) {
      int64_t lo = std::max(b, first(c)), hi = std::min(e, first(c + 1));
      if (lo >= hi)
        continue;
      schedule[c].push_back({r, lo, hi, firstCta != lastCta, hi == e});
    }
  }
  return true;
}

std::vector<double> einloom::codegen::executeBsr(const std::vector<int64_t> &rowPtr,
                                                 const std::vector<int64_t> &colIdx,
                                                 const std::vector<double> &blocks, int64_t br,
                                                 int64_t bc, const std::vector<double> &x,
                                                 const std::vector<std::vector<BsrWork>> &schedule) {
  int64_t rows = static_cast<int64_t>(rowPtr.size()) - 1;
  std::vector<double> y(static_cast<size_t>(rows * br), 0.0);
  // The fixup buffer: the partial sums of each row, added in CTA order by
  // the row's writing piece (the kernel waits on a per-row flag).
  std::vector<std::vector<double>> fixup(static_cast<size_t>(rows));
  for (const std::vector<BsrWork> &items : schedule)
    for (const BsrWork &w : items) {
      std::vector<double> acc(static_cast<size_t>(br), 0.0);
      for (int64_t j = w.begin; j < w.end; ++j) // the item's blocks
        for (int64_t i = 0; i < br; ++i)
          for (int64_t k = 0; k < bc; ++k)
            acc[i] += blocks[(j * br + i) * bc + k] * x[colIdx[j] * bc + k];
      std::vector<double> &f = fixup[w.row];
      if (f.empty())
        f.assign(static_cast<size_t>(br), 0.0);
      if (w.partial && !w.writes) {
        for (int64_t i = 0; i < br; ++i)
          f[i] += acc[i];
        continue;
      }
      for (int64_t i = 0; i < br; ++i)
        y[w.row * br + i] = acc[i] + (w.partial ? f[i] : 0.0);
    }
  return y;
}
