//===- CollectivePlanTest.cpp - collectives as NCCL calls and copies ------===//
//
// Each collective of a sharded bundle, along every dimension of a 3-d
// tensor, over 1, 2, 4 and 8 ranks and over one axis of a 2 x 4 mesh: its
// planned steps (NCCL calls on the leading dimension, strided copies
// through a scratch buffer), run on host memory for every rank, give
// exactly what the collective's definition says. Then the manifest lines
// (mesh, shard, collective) and the reader's errors for bad ones.
//
//===----------------------------------------------------------------------===//
#include "HostCollectives.h"

#include "einloom/runtime/Bundle.h"
#include "einloom/runtime/CollectivePlan.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace einloom;

namespace {
using rt::numElements;
int64_t numel(const std::vector<int64_t> &s) { return numElements(s); }
std::vector<int64_t> unflatten(int64_t flat, const std::vector<int64_t> &shape) {
  std::vector<int64_t> idx(shape.size());
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    idx[i] = flat % shape[i];
    flat /= shape[i];
  }
  return idx;
}
int64_t flatten(const std::vector<int64_t> &idx, const std::vector<int64_t> &shape) {
  int64_t f = 0;
  for (size_t i = 0; i < shape.size(); ++i)
    f = f * shape[i] + idx[i];
  return f;
}

/// The output shape of `op` on input `in` over `ranks` (the definition).
std::vector<int64_t> outShape(const std::string &op, std::vector<int64_t> in, int64_t d,
                              int64_t d2, int64_t ranks) {
  if (op == "all_gather")
    in[d] *= ranks;
  else if (op != "all_reduce")
    in[d] /= ranks;
  if (op == "all_to_all")
    in[d2] *= ranks;
  return in;
}

/// A bundle of one collective over axis `axis` of `mesh`: input, output and
/// (when the plan needs it) a scratch buffer.
rt::Bundle collectiveBundle(const std::vector<rt::BundleMeshAxis> &mesh, const std::string &axis,
                            const std::string &op, const std::vector<int64_t> &in, int64_t d,
                            int64_t d2, const std::string &dtype = "i32") {
  rt::Bundle b;
  b.target = "sm_90a";
  b.mesh = mesh;
  int64_t ranks = mesh[rt::meshAxisIndex(b, axis)].size, eb = rt::dtypeBytes(dtype);
  std::vector<int64_t> out = outShape(op, in, d, d2, ranks);
  b.buffers.push_back({"arg0", "input", dtype, in, numel(in) * eb});
  b.buffers.push_back({"out0", "output", dtype, out, numel(out) * eb});
  rt::BundleCollective c{axis, d, d2, -1};
  if (int64_t s = rt::collectiveScratchBytes(op, in, d, d2, eb, ranks); s > 0) {
    b.buffers.push_back({"scratch0", "temp", "i8", {s}, s});
    c.scratch = 2;
  }
  b.kernels.push_back(rt::collectiveEntry("c0", op, c, 0, 1));
  b.launchOrder = {0};
  return b;
}

/// Rank r's input element at flat index i: distinct everywhere.
int32_t inputAt(int64_t r, int64_t i) { return static_cast<int32_t>(r * 1000003 + i * 7 + 1); }

/// What rank `at` of a group of `n` (members' inputs by inputAt, mesh ranks
/// `group`) holds at output index `idx`, by the collective's definition.
int64_t expected(const std::string &op, const std::vector<int64_t> &in,
                 const std::vector<int64_t> &out, int64_t d, int64_t d2,
                 const std::vector<int64_t> &group, int64_t at, std::vector<int64_t> idx) {
  int64_t n = static_cast<int64_t>(group.size());
  if (op == "all_reduce" || op == "reduce_scatter") {
    if (op == "reduce_scatter")
      idx[d] += at * out[d];
    int64_t sum = 0;
    for (int64_t m : group)
      sum += inputAt(m, flatten(idx, in));
    return static_cast<int32_t>(sum);
  }
  if (op == "all_gather") {
    int64_t from = idx[d] / in[d];
    idx[d] %= in[d];
    return inputAt(group[from], flatten(idx, in));
  }
  if (op == "shard_slice") {
    idx[d] += at * out[d];
    return inputAt(group[at], flatten(idx, in));
  }
  // all_to_all: the piece at `at` along d of member i's input, the pieces
  // laid side by side along d2.
  int64_t piece2 = d == d2 ? in[d2] / n : in[d2];
  int64_t from = idx[d2] / piece2;
  idx[d2] %= piece2;
  idx[d] += at * (in[d] / n);
  return inputAt(group[from], flatten(idx, in));
}

/// Runs the bundle's collective on every rank and compares every element
/// of every rank's output with the definition.
void expectCollective(const rt::Bundle &b) {
  const rt::BundleKernel &k = b.kernels[0];
  ASSERT_EQ(rt::checkCollective(b, k), "");
  int64_t ranks = rt::meshRanks(b);
  int axis = rt::meshAxisIndex(b, k.collective.axis);
  const std::vector<int64_t> &in = b.buffers[0].shape, &out = b.buffers[1].shape;
  std::vector<test::HostRank> mem = test::hostRanks(b, ranks);
  for (int64_t r = 0; r < ranks; ++r)
    for (int64_t i = 0; i < numel(in); ++i) {
      int32_t v = inputAt(r, i);
      std::memcpy(mem[r].buffers[0].data() + 4 * i, &v, 4);
    }
  ASSERT_EQ(test::runCollectiveOnHost(b, k, mem), "");
  for (int64_t r = 0; r < ranks; ++r) {
    std::vector<int64_t> group = test::axisGroup(b, axis, r);
    int64_t at = test::axisPosition(b, axis, r);
    int64_t wrong = 0, first = -1;
    for (int64_t i = 0; i < numel(out); ++i) {
      int32_t got;
      std::memcpy(&got, mem[r].buffers[1].data() + 4 * i, 4);
      if (got != expected(k.op, in, out, k.collective.dim, k.collective.dim2, group, at,
                          unflatten(i, out))) {
        ++wrong;
        if (first < 0)
          first = i;
      }
    }
    EXPECT_EQ(wrong, 0) << k.op << " dim " << k.collective.dim << "/" << k.collective.dim2
                        << " rank " << r << " of " << ranks << ": first wrong element " << first;
  }
}

struct PlanCase {
  std::string op;
  int64_t ranks, dim, dim2;
};
void PrintTo(const PlanCase &c, std::ostream *os) {
  *os << c.op << " over " << c.ranks << " dim " << c.dim << "/" << c.dim2;
}

class CollectivePlan : public ::testing::TestWithParam<PlanCase> {};

TEST_P(CollectivePlan, StepsOnEveryRankGiveTheDefinition) {
  const PlanCase &c = GetParam();
  // Every extent divides by the ranks, and no two are equal.
  std::vector<int64_t> in = {2 * c.ranks, 3 * c.ranks, 5 * c.ranks};
  rt::Bundle b = collectiveBundle({{"tp", c.ranks}}, "tp", c.op, in, c.dim, c.dim2);
  expectCollective(b);
  // A leading dimension goes straight to NCCL; any other moves through the
  // scratch buffer (where there are rows before it).
  bool direct = c.op == "all_reduce" || c.op == "shard_slice" ||
                (c.dim == 0 && (c.op != "all_to_all" || c.dim2 == 0));
  EXPECT_EQ(b.kernels[0].collective.scratch < 0, direct) << "scratch use";
}

std::vector<PlanCase> planCases() {
  std::vector<PlanCase> cases;
  for (int64_t r : {1, 2, 4, 8}) {
    cases.push_back({"all_reduce", r, 0, 0});
    for (int64_t d = 0; d < 3; ++d) {
      for (const char *op : {"all_gather", "reduce_scatter", "shard_slice"})
        cases.push_back({op, r, d, 0});
      for (int64_t d2 = 0; d2 < 3; ++d2)
        cases.push_back({"all_to_all", r, d, d2});
    }
  }
  return cases;
}
INSTANTIATE_TEST_SUITE_P(Collectives, CollectivePlan, ::testing::ValuesIn(planCases()));

TEST(CollectivePlan, OneAxisOfATwoAxisMesh) {
  std::vector<rt::BundleMeshAxis> mesh = {{"dp", 2}, {"tp", 4}};
  rt::Bundle probe = collectiveBundle(mesh, "tp", "all_reduce", {8}, 0, 0);
  // Rank 5 sits at (1, 1): its tp group is 4..7, its dp group 1 and 5.
  EXPECT_EQ(test::axisGroup(probe, 1, 5), (std::vector<int64_t>{4, 5, 6, 7}));
  EXPECT_EQ(test::axisGroup(probe, 0, 5), (std::vector<int64_t>{1, 5}));
  for (const char *axis : {"dp", "tp"})
    for (const char *op : {"all_gather", "reduce_scatter", "all_to_all"}) {
      SCOPED_TRACE(std::string(op) + " over " + axis);
      expectCollective(collectiveBundle(mesh, axis, op, {8, 12, 4}, 1, 2));
    }
}

TEST(CollectivePlan, ManifestLinesRoundTrip) {
  rt::Bundle b = collectiveBundle({{"dp", 2}, {"tp", 4}}, "tp", "all_gather", {8, 12}, 1, 0, "f16");
  b.buffers[0].sharding = {"dp", ""};
  b.ptx = "// no code";
  std::string bytes = rt::writeBundle(b);
  EXPECT_NE(bytes.find("mesh dp=2 tp=4\n"), std::string::npos) << bytes;
  EXPECT_NE(bytes.find("shard dp -\n"), std::string::npos) << bytes;
  EXPECT_NE(bytes.find("collective c0 all_gather tp 1 0 0 1 2\n"), std::string::npos) << bytes;
  rt::Bundle back;
  std::string err;
  ASSERT_TRUE(rt::readBundle(bytes, back, err)) << err;
  ASSERT_EQ(back.mesh.size(), 2u);
  EXPECT_EQ(back.mesh[1].name, "tp");
  EXPECT_EQ(back.mesh[1].size, 4);
  EXPECT_EQ(rt::meshRanks(back), 8);
  EXPECT_EQ(back.buffers[0].sharding, (std::vector<std::string>{"dp", ""}));
  EXPECT_TRUE(back.buffers[1].sharding.empty());
  ASSERT_EQ(back.kernels.size(), 1u);
  const rt::BundleKernel &k = back.kernels[0];
  EXPECT_TRUE(k.isCollective());
  EXPECT_EQ(k.op, "all_gather");
  EXPECT_EQ(k.collective.axis, "tp");
  EXPECT_EQ(k.collective.dim, 1);
  EXPECT_EQ(k.collective.scratch, 2);
  EXPECT_EQ(k.args, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(rt::writeBundle(back), bytes);
}

/// The reader's message for `b`'s manifest with `from` replaced by `to`.
std::string readError(const rt::Bundle &b, const std::string &from, const std::string &to) {
  std::string bytes = rt::writeBundle(b);
  size_t nl = bytes.find('\n');
  std::string payload = bytes.substr(nl + 1);
  size_t at = payload.find(from);
  if (at == std::string::npos)
    return "(no '" + from + "' in the manifest)";
  payload.replace(at, from.size(), to);
  char head[96];
  std::snprintf(head, sizeof head, "EINLOOM-BUNDLE 1 %zu %016llx\n", payload.size(),
                static_cast<unsigned long long>(rt::checksum(payload)));
  rt::Bundle out;
  std::string err;
  if (rt::readBundle(head + payload, out, err))
    return "(read)";
  return err;
}

TEST(CollectivePlan, BadManifestsAreClearErrors) {
  rt::Bundle b = collectiveBundle({{"tp", 4}}, "tp", "all_gather", {8, 12}, 1, 0, "f32");
  b.ptx = "//";
  auto expectError = [&](const std::string &from, const std::string &to, const std::string &says) {
    std::string err = readError(b, from, to);
    EXPECT_NE(err.find(says), std::string::npos) << from << " -> " << to << ": " << err;
  };
  expectError("mesh tp=4", "mesh tp=0", "bad mesh");
  expectError("mesh tp=4", "mesh tp=4 tp=2", "given twice");
  expectError("mesh tp=4\n", "", "in a bundle without a mesh");
  expectError("mesh tp=4", "mesh tp=4 a=65536 b=65536", "more than 2^20 ranks");
  expectError("mesh tp=4\n", "mesh tp=4\ndynamic m 1 64\n", "a sharded bundle has static shapes");
  expectError("tp 1 0 0 1 2\n", "tp 1 0 0 1 2\nepilogue 1 1 gelu -1 -1\n", "takes no kernel lines");
  expectError("collective c0 all_gather tp", "collective c0 all_gather ep", "which the bundle's mesh lacks");
  expectError("collective c0 all_gather", "collective c0 all_sum", "bad collective");
  expectError("tp 1 0 0 1 2", "tp 3 0 0 1 2", "dimension out of range");
  expectError("tp 1 0 0 1 2", "tp 0 0 0 1 2", "does not follow");
  expectError("tp 1 0 0 1 2", "tp 1 0 0 1 -1", "needs a temp scratch buffer");
  expectError("tp 1 0 0 1 2", "tp 1 0 0 1 7", "names no buffer");
  expectError("tp 1 0 0 1 2", "tp 1 0 0 0 2", "distinct output");
  expectError("buffer out0 output f32", "buffer out0 output f16", "changes the type");
  expectError("buffer arg0 input f32 8x12 384\n", "buffer arg0 input f32 8x12 384\nshard ep -\n",
              "which the mesh lacks");
  expectError("buffer arg0 input f32 8x12 384\n", "buffer arg0 input f32 8x12 384\nshard tp\n",
              "1 axes for a buffer of rank 2");
  rt::Bundle u = collectiveBundle({{"tp", 4}}, "tp", "reduce_scatter", {8, 12}, 1, 0, "f32");
  u.ptx = "//";
  std::string err = readError(u, "f32 8x12 384", "f32 8x10 320");
  EXPECT_NE(err.find("does not split over the 4 ranks"), std::string::npos) << err;
  rt::Bundle q = collectiveBundle({{"tp", 2}}, "tp", "all_reduce", {8}, 0, 0, "f32");
  q.ptx = "//";
  err = readError(q, "f32", "u8");
  EXPECT_NE(err.find("changes the type"), std::string::npos) << err;
}

} // namespace
