//===- ContractionPath.cpp - the order of an n-ary einsum's contractions -===//
#include "einloom/Plan/ContractionPath.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

using namespace einloom;

namespace {
using LabelSet = std::set<char>;

LabelSet setOf(const std::string &s) { return LabelSet(s.begin(), s.end()); }

double volume(const LabelSet &labels, const std::map<char, int64_t> &sizes) {
  double v = 1;
  for (char c : labels)
    v *= double(sizes.at(c));
  return v;
}

/// The labels a contraction of `a` and `b` keeps: those the output or any
/// operand outside the pair still needs.
LabelSet kept(const LabelSet &a, const LabelSet &b, const LabelSet &needed) {
  LabelSet out;
  for (const LabelSet *s : {&a, &b})
    for (char c : *s)
      if (needed.count(c))
        out.insert(c);
  return out;
}

/// The result's labels in a stable order: the output's order first, then
/// first appearance in a, then b.
std::string ordered(const LabelSet &labels, const std::string &output, const std::string &a,
                    const std::string &b) {
  std::string s;
  for (const std::string *src : {&output, &a, &b})
    for (char c : *src)
      if (labels.count(c) && s.find(c) == std::string::npos)
        s.push_back(c);
  return s;
}

/// Contracts positions i < j of `ops`, appending the result (opt_einsum's
/// convention); returns the step.
PathStep contract(std::vector<std::string> &ops, int i, int j, const std::string &output,
                  const std::map<char, int64_t> &sizes) {
  LabelSet needed = setOf(output);
  for (int k = 0; k < int(ops.size()); ++k)
    if (k != i && k != j)
      for (char c : ops[k])
        needed.insert(c);
  LabelSet a = setOf(ops[i]), b = setOf(ops[j]);
  LabelSet all = a;
  all.insert(b.begin(), b.end());
  PathStep st;
  st.lhs = i;
  st.rhs = j;
  st.lhsLabels = ops[i];
  st.rhsLabels = ops[j];
  st.resultLabels = ordered(kept(a, b, needed), output, ops[i], ops[j]);
  st.flops = 2 * volume(all, sizes);
  st.resultElements = volume(setOf(st.resultLabels), sizes);
  ops.erase(ops.begin() + j);
  ops.erase(ops.begin() + i);
  ops.push_back(st.resultLabels);
  return st;
}
} // namespace

double einloom::pathFlops(const std::vector<std::string> &inputs, const std::string &output,
                          const std::map<char, int64_t> &sizes,
                          const std::vector<std::pair<int, int>> &order) {
  std::vector<std::string> ops = inputs;
  double total = 0;
  for (auto [i, j] : order)
    total += contract(ops, std::min(i, j), std::max(i, j), output, sizes).flops;
  return total;
}

double einloom::pathCost(const std::vector<std::string> &inputs, const std::string &output,
                         const std::map<char, int64_t> &sizes,
                         const std::vector<std::pair<int, int>> &order) {
  std::vector<std::string> ops = inputs;
  double total = 0;
  for (auto [i, j] : order) {
    double operands = volume(setOf(ops[i]), sizes) + volume(setOf(ops[j]), sizes);
    PathStep st = contract(ops, std::min(i, j), std::max(i, j), output, sizes);
    total += st.flops + kFlopsPerElement * (operands + st.resultElements);
  }
  return total;
}

bool einloom::optimizePath(const std::vector<std::string> &inputs, const std::string &output,
                           const std::map<char, int64_t> &sizes, double limit,
                           ContractionPath &path, std::string &why) {
  path = ContractionPath();
  int n = int(inputs.size());
  if (n < 2) {
    why = "a path needs at least two operands";
    return false;
  }
  auto fits = [&](double elements) { return limit <= 0 || elements <= limit; };
  // The left-to-right order, for comparison.
  {
    std::vector<std::string> ops = inputs;
    while (ops.size() > 1) {
      PathStep st = contract(ops, 0, 1, output, sizes);
      path.naiveFlops += st.flops;
      path.naiveFits = path.naiveFits && fits(st.resultElements);
    }
  }
  if (n <= kExactLimit) {
    // best[S]: the cheapest way to contract the operands in S into one
    // tensor whose labels are those of S still needed outside S.
    int full = (1 << n) - 1;
    std::vector<LabelSet> labels(size_t(full) + 1);
    LabelSet outSet = setOf(output);
    for (int s = 1; s <= full; ++s) {
      LabelSet in, outside = outSet;
      for (int k = 0; k < n; ++k)
        for (char c : inputs[k])
          ((s >> k) & 1 ? in : outside).insert(c);
      // A single operand keeps all its labels until its first contraction
      // (one summed only inside it is summed there).
      bool single = (s & (s - 1)) == 0;
      for (char c : in)
        if (single || outside.count(c))
          labels[s].insert(c);
    }
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> best(size_t(full) + 1, inf);
    std::vector<int> split(size_t(full) + 1, 0);
    for (int k = 0; k < n; ++k)
      best[1 << k] = 0;
    for (int s = 1; s <= full; ++s) {
      // The final result is the output itself: the limit is for intermediates.
      if ((s & (s - 1)) == 0 || (s != full && !fits(volume(labels[s], sizes))))
        continue;
      // Each unordered split once: the part holding the lowest bit is `a`.
      int low = s & -s;
      for (int a = (s - 1) & s; a > 0; a = (a - 1) & s) {
        if (!(a & low))
          continue;
        int b = s ^ a;
        if (best[a] == inf || best[b] == inf)
          continue;
        LabelSet joint = labels[a];
        joint.insert(labels[b].begin(), labels[b].end());
        // Time, in FLOPs: the step's multiply-adds and the elements it reads
        // and writes (a GEMM on tensor cores does about kFlopsPerElement
        // FLOPs in the time DRAM moves one element), so that a large operand
        // read by a cheap contraction counts.
        double cost = best[a] + best[b] + 2 * volume(joint, sizes) +
                      kFlopsPerElement * (volume(labels[a], sizes) + volume(labels[b], sizes) +
                                          volume(labels[s], sizes));
        if (cost < best[s]) {
          best[s] = cost;
          split[s] = a;
        }
      }
    }
    if (best[full] == inf) {
      why = "no contraction order keeps every intermediate within the memory limit of " +
            std::to_string(int64_t(limit)) + " elements";
      return false;
    }
    // Replay the tree as a sequence of steps over the operand list.
    std::vector<int> slots; // which subset each operand-list slot holds
    for (int k = 0; k < n; ++k)
      slots.push_back(1 << k);
    std::vector<std::string> ops = inputs;
    // Post-order: contract the children of every internal node.
    std::vector<std::pair<int, bool>> stack{{full, false}};
    while (!stack.empty()) {
      auto [s, expanded] = stack.back();
      stack.pop_back();
      if ((s & (s - 1)) == 0)
        continue;
      if (!expanded) {
        stack.push_back({s, true});
        stack.push_back({s ^ split[s], false});
        stack.push_back({split[s], false});
        continue;
      }
      int a = split[s], b = s ^ a;
      int i = int(std::find(slots.begin(), slots.end(), a) - slots.begin());
      int j = int(std::find(slots.begin(), slots.end(), b) - slots.begin());
      if (i > j)
        std::swap(i, j);
      PathStep st = contract(ops, i, j, output, sizes);
      slots.erase(slots.begin() + j);
      slots.erase(slots.begin() + i);
      slots.push_back(s);
      path.steps.push_back(st);
    }
  } else {
    // Greedy: the cheapest pair next, among those that fit.
    path.exact = false;
    std::vector<std::string> ops = inputs;
    while (ops.size() > 1) {
      int bi = -1, bj = -1;
      double bestCost = std::numeric_limits<double>::infinity();
      for (int i = 0; i < int(ops.size()); ++i)
        for (int j = i + 1; j < int(ops.size()); ++j) {
          std::vector<std::string> trial = ops;
          PathStep st = contract(trial, i, j, output, sizes);
          double cost = st.flops + kFlopsPerElement * (volume(setOf(ops[i]), sizes) +
                                                       volume(setOf(ops[j]), sizes) +
                                                       st.resultElements);
          if ((ops.size() == 2 || fits(st.resultElements)) && cost < bestCost) {
            bestCost = cost;
            bi = i;
            bj = j;
          }
        }
      if (bi < 0) {
        why = "no next contraction keeps its result within the memory limit of " +
              std::to_string(int64_t(limit)) + " elements";
        return false;
      }
      path.steps.push_back(contract(ops, bi, bj, output, sizes));
    }
  }
  // The peak counts intermediates only, not the final result.
  {
    std::vector<std::pair<int, int>> order;
    for (const PathStep &st : path.steps)
      order.push_back({st.lhs, st.rhs});
    path.cost = pathCost(inputs, output, sizes, order);
  }
  for (size_t k = 0; k < path.steps.size(); ++k) {
    path.flops += path.steps[k].flops;
    if (k + 1 < path.steps.size())
      path.peakElements = std::max(path.peakElements, path.steps[k].resultElements);
  }
  return true;
}
