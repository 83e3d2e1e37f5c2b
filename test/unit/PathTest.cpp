// The contraction-path optimizer: its cost (FLOPs plus the memory traffic
// in FLOPs' time, pathCost) equals the optimum found by brute force over
// every order, on TECHNIQUES.md's patterns and on random einsums; the
// memory limit is respected; greedy covers the rest.
#include "einloom/Plan/ContractionPath.h"

#include <gtest/gtest.h>

#include <random>

using namespace einloom;

namespace {
/// The cheapest order by trying every pair at every step (independent of
/// the optimizer: it only uses pathCost on complete orders).
double bruteForce(const std::vector<std::string> &inputs, const std::string &output,
                  const std::map<char, int64_t> &sizes, std::vector<std::pair<int, int>> &prefix,
                  size_t remaining) {
  if (remaining == 1)
    return pathCost(inputs, output, sizes, prefix);
  double best = 1e300;
  for (int i = 0; i < int(remaining); ++i)
    for (int j = i + 1; j < int(remaining); ++j) {
      prefix.push_back({i, j});
      best = std::min(best, bruteForce(inputs, output, sizes, prefix, remaining - 1));
      prefix.pop_back();
    }
  return best;
}

double optimum(const std::vector<std::string> &inputs, const std::string &output,
               const std::map<char, int64_t> &sizes) {
  std::vector<std::pair<int, int>> prefix;
  return bruteForce(inputs, output, sizes, prefix, inputs.size());
}

struct Case {
  std::vector<std::string> inputs;
  std::string output;
  std::map<char, int64_t> sizes;
};
} // namespace

TEST(ContractionPath, MatchesBruteForceOnThePatterns) {
  const Case cases[] = {
      // The chain from issue 6's targets: (4096,64)(64,4096)(4096,512).
      {{"ij", "jk", "kl"}, "il", {{'i', 4096}, {'j', 64}, {'k', 4096}, {'l', 512}}},
      {{"ik", "jkl", "il"}, "ij", {{'i', 30}, {'j', 40}, {'k', 50}, {'l', 60}}},
      {{"ij", "ij", "ij"}, "ij", {{'i', 100}, {'j', 7}}},
      // Tucker reconstruction.
      {{"abc", "ia", "jb", "kc"}, "ijk",
       {{'a', 8}, {'b', 16}, {'c', 4}, {'i', 64}, {'j', 32}, {'k', 128}}},
      // A ring of five matrices (a small tensor network) and a star.
      {{"ab", "bc", "cd", "de", "ea"}, "", {{'a', 7}, {'b', 50}, {'c', 3}, {'d', 40}, {'e', 9}}},
      {{"xa", "xb", "xc", "xd", "xe", "x"}, "abcde",
       {{'x', 5}, {'a', 2}, {'b', 3}, {'c', 4}, {'d', 5}, {'e', 6}}},
  };
  for (const Case &c : cases) {
    ContractionPath p;
    std::string why;
    ASSERT_TRUE(optimizePath(c.inputs, c.output, c.sizes, 0, p, why)) << why;
    EXPECT_TRUE(p.exact);
    EXPECT_EQ(p.steps.size(), c.inputs.size() - 1);
    double best = optimum(c.inputs, c.output, c.sizes);
    EXPECT_NEAR(p.cost, best, best * 1e-12) << c.inputs[0] << "...->" << c.output;
    // The final step produces exactly the output's labels.
    std::string last = p.steps.back().resultLabels, out = c.output;
    std::sort(last.begin(), last.end());
    std::sort(out.begin(), out.end());
    EXPECT_EQ(last, out);
  }
  // The chain: contracting jk,kl first, 36x fewer FLOPs than left to right.
  ContractionPath p;
  std::string why;
  ASSERT_TRUE(optimizePath(cases[0].inputs, cases[0].output, cases[0].sizes, 0, p, why));
  EXPECT_EQ(p.steps[0].lhsLabels + "," + p.steps[0].rhsLabels, "jk,kl");
  EXPECT_DOUBLE_EQ(p.flops, 2.0 * 64 * 4096 * 512 * 2);
  EXPECT_DOUBLE_EQ(p.naiveFlops, 2.0 * 4096 * 64 * 4096 + 2.0 * 4096 * 4096 * 512);
}

TEST(ContractionPath, MatchesBruteForceOnRandomEinsums) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 60; ++trial) {
    int n = 3 + trial % 4; // 3..6 operands
    std::string alphabet = "abcdefg";
    std::map<char, int64_t> sizes;
    for (char l : alphabet)
      sizes[l] = 2 + int(rng() % 9);
    std::vector<std::string> inputs;
    std::string used;
    for (int k = 0; k < n; ++k) {
      std::string s;
      int len = 1 + int(rng() % 3);
      while (int(s.size()) < len) {
        char l = alphabet[rng() % alphabet.size()];
        if (s.find(l) == std::string::npos)
          s.push_back(l);
      }
      inputs.push_back(s);
      used += s;
    }
    std::string output;
    for (char l : alphabet)
      if (used.find(l) != std::string::npos && rng() % 3 == 0)
        output.push_back(l);
    ContractionPath p;
    std::string why;
    ASSERT_TRUE(optimizePath(inputs, output, sizes, 0, p, why)) << why;
    double best = optimum(inputs, output, sizes);
    EXPECT_NEAR(p.cost, best, best * 1e-12) << "trial " << trial;
  }
}

TEST(ContractionPath, RespectsTheMemoryLimitOrSaysWhy) {
  // The cheapest order builds a 1000x1000 intermediate (an outer product);
  // with a limit of 100k elements the optimizer must avoid it.
  std::vector<std::string> in = {"i", "j", "ij"};
  std::map<char, int64_t> sizes = {{'i', 1000}, {'j', 1000}};
  ContractionPath free, bounded;
  std::string why;
  ASSERT_TRUE(optimizePath(in, "", sizes, 0, free, why));
  ASSERT_TRUE(optimizePath(in, "", sizes, 100000, bounded, why)) << why;
  EXPECT_LE(bounded.peakElements, 100000);
  EXPECT_GE(bounded.flops, free.flops);
  // Nothing fits: a clear reason.
  ContractionPath none;
  EXPECT_FALSE(optimizePath({"ab", "bc", "cd"}, "ad", {{'a', 100}, {'b', 100}, {'c', 100}, {'d', 100}},
                            10, none, why));
  EXPECT_NE(why.find("memory limit of 10 elements"), std::string::npos) << why;
  EXPECT_FALSE(optimizePath({"ab"}, "a", {{'a', 2}, {'b', 2}}, 0, none, why));
}

TEST(ContractionPath, GreedyBeyondTenOperands) {
  // A chain of 12 matrices: greedy, a complete path, never worse than left
  // to right here.
  std::vector<std::string> in;
  std::map<char, int64_t> sizes;
  std::string labels = "abcdefghijklm";
  for (int k = 0; k < 12; ++k) {
    in.push_back(std::string{labels[k], labels[k + 1]});
    sizes[labels[k]] = 4 + 13 * (k % 3);
  }
  sizes['m'] = 9;
  ContractionPath p;
  std::string why;
  ASSERT_TRUE(optimizePath(in, "am", sizes, 0, p, why)) << why;
  EXPECT_FALSE(p.exact);
  EXPECT_EQ(p.steps.size(), 11u);
  EXPECT_LE(p.flops, p.naiveFlops);
}
