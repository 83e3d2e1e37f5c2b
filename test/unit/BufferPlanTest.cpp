// Workspace planning: intermediates become views in one workspace buffer,
// sharing bytes only when they are never in use at the same launch position.
#include "einloom/Plan/BufferPlan.h"
#include "einloom/runtime/Bundle.h"

#include <gtest/gtest.h>

#include <random>

using namespace einloom;
using namespace einloom::rt;

namespace {
/// A kernel `name` computing `result` from `operands` (its args: operands,
/// then the result).
BundleKernel kernel(const std::string &name, std::vector<int> operands, int result) {
  BundleKernel k;
  k.name = name;
  k.block = {128, 1, 1};
  k.op = "einsum";
  k.spec = "ab,bc->ac";
  k.acc = "f32";
  k.operands = operands;
  k.args = operands;
  k.args.push_back(result);
  k.result = result;
  return k;
}

BundleBuffer buffer(const std::string &name, const std::string &role, int64_t bytes) {
  return {name, role, "f16", {bytes / 2}, bytes};
}

/// in0..in4 -> t0 -> t1 -> t2 -> out: a left-to-right chain of four kernels.
Bundle chain() {
  Bundle b;
  b.target = "sm_90a";
  b.source = "main";
  for (int i = 0; i < 5; ++i)
    b.buffers.push_back(buffer("arg" + std::to_string(i), "input", 512));
  b.buffers.push_back(buffer("tmp0", "temp", 1000));  // 5
  b.buffers.push_back(buffer("tmp1", "temp", 4000));  // 6
  b.buffers.push_back(buffer("tmp2", "temp", 1000));  // 7
  b.buffers.push_back(buffer("out3", "output", 256)); // 8
  b.kernels = {kernel("k0", {0, 1}, 5), kernel("k1", {5, 2}, 6), kernel("k2", {6, 3}, 7),
               kernel("k3", {7, 4}, 8)};
  b.launchOrder = {0, 1, 2, 3};
  b.ptx = ".version 8.4\n";
  return b;
}

/// No two views that are in use together share a byte, and each fits.
void expectSound(const Bundle &b) {
  auto ranges = liveRanges(b);
  int n = static_cast<int>(b.buffers.size());
  for (size_t i = 0; i < b.views.size(); ++i) {
    const BundleBuffer &x = b.views[i];
    ASSERT_GE(x.in, 0);
    EXPECT_LE(x.offset + x.bytes, b.buffers[x.in].bytes) << x.name;
    for (size_t j = i + 1; j < b.views.size(); ++j) {
      const BundleBuffer &y = b.views[j];
      bool overlap = x.offset < y.offset + y.bytes && y.offset < x.offset + x.bytes;
      EXPECT_FALSE(overlap && liveTogether(ranges, n + int(i), n + int(j)))
          << x.name << " and " << y.name << " share bytes while both are in use";
    }
  }
}
} // namespace

TEST(BufferPlan, ChainReusesTheFirstIntermediatesBytes) {
  Bundle b = chain();
  WorkspacePlan p = planWorkspace(b);
  EXPECT_EQ(p.placed, 3);
  EXPECT_EQ(p.separateBytes, 1024 + 4096 + 1024);
  // tmp0 (kernels 0-1) and tmp2 (kernels 2-3) never meet; tmp1 meets both.
  EXPECT_EQ(p.workspaceBytes, 4096 + 1024);
  EXPECT_EQ(p.liveBound, 4096 + 1024);
  ASSERT_EQ(b.views.size(), 3u);
  EXPECT_EQ(b.views[0].offset, b.views[2].offset);
  EXPECT_NE(b.views[0].offset, b.views[1].offset);
  // Buffers: the five inputs, the output, then the workspace.
  ASSERT_EQ(b.buffers.size(), 7u);
  EXPECT_EQ(b.buffers[5].name, "out3");
  EXPECT_EQ(b.buffers[6].name, "workspace");
  EXPECT_EQ(b.buffers[6].role, "temp");
  EXPECT_EQ(b.buffers[6].bytes, p.workspaceBytes);
  EXPECT_EQ(p.callerBytes, 5 * 512 + 256 + p.workspaceBytes);
  // Kernels now name the views (7, 8, 9) and the moved output (5).
  EXPECT_EQ(b.kernels[0].result, 7);
  EXPECT_EQ(b.kernels[1].operands, (std::vector<int>{7, 2}));
  EXPECT_EQ(b.kernels[3].args, (std::vector<int>{9, 4, 5}));
  expectSound(b);
  EXPECT_NE(describeWorkspace(p).find("3 intermediates in one workspace of 5.12 kB"),
            std::string::npos)
      << describeWorkspace(p);
}

TEST(BufferPlan, WithoutReuseEveryIntermediateHasItsOwnRegion) {
  Bundle b = chain();
  WorkspacePlan p = planWorkspace(b, /*reuse=*/false);
  EXPECT_EQ(p.workspaceBytes, p.separateBytes);
  for (size_t i = 0; i < b.views.size(); ++i)
    for (size_t j = i + 1; j < b.views.size(); ++j)
      EXPECT_NE(b.views[i].offset, b.views[j].offset);
}

TEST(BufferPlan, PlannedBundlesRoundTripAndAddressViews) {
  Bundle b = chain();
  planWorkspace(b);
  Bundle out;
  std::string err;
  ASSERT_TRUE(readBundle(writeBundle(b), out, err)) << err;
  ASSERT_EQ(out.views.size(), 3u);
  EXPECT_EQ(out.views[1].name, "tmp1");
  EXPECT_EQ(out.views[1].in, 6);
  EXPECT_EQ(out.views[1].offset, b.views[1].offset);
  EXPECT_EQ(out.views[1].shape, (std::vector<int64_t>{2000}));
  EXPECT_EQ(out.kernels[2].operands, b.kernels[2].operands);
  std::vector<uint64_t> ptrs(out.buffers.size(), 0);
  ptrs[6] = 0x10000;
  EXPECT_EQ(entryAddress(out, 8, ptrs.data(), -1), 0x10000u + uint64_t(out.views[1].offset));
  EXPECT_EQ(entryAddress(out, 6, ptrs.data(), -1), 0x10000u);
}

TEST(BufferPlan, SplitKWorkspaceAndTheResultBothLiveAtTheReduce) {
  Bundle b;
  b.target = "sm_90a";
  b.buffers = {buffer("arg0", "input", 64), buffer("arg1", "input", 64),
               buffer("tmp0", "temp", 4096), buffer("ws0", "temp", 8192),
               buffer("arg2", "input", 64), buffer("out1", "output", 64)};
  BundleKernel mm = kernel("mm", {0, 1}, 2);
  mm.args = {0, 1, 3}; // partial sums to the workspace
  BundleKernel red = kernel("reduce", {3}, 2);
  red.op = "reduce";
  b.kernels = {mm, red, kernel("k1", {2, 4}, 5)};
  b.launchOrder = {0, 1, 2};
  b.ptx = ".";
  WorkspacePlan p = planWorkspace(b);
  EXPECT_EQ(p.workspaceBytes, 4096 + 8192);
  expectSound(b);
}

TEST(BufferPlan, RandomChainsAreSoundAndNeverWorseThanSeparateBuffers) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    Bundle b;
    b.target = "sm_90a";
    b.ptx = ".";
    int inputs = 2 + int(rng() % 4), steps = 1 + int(rng() % 9);
    for (int i = 0; i < inputs; ++i)
      b.buffers.push_back(buffer("arg" + std::to_string(i), "input", 64));
    std::vector<int> values;
    for (int i = 0; i < inputs; ++i)
      values.push_back(i);
    for (int s = 0; s < steps; ++s) {
      // Any two earlier values (a path through a contraction tree).
      int x = values[rng() % values.size()], y = values[rng() % values.size()];
      bool last = s + 1 == steps;
      b.buffers.push_back(buffer((last ? "out" : "tmp") + std::to_string(s),
                                 last ? "output" : "temp", 2 * (1 + int(rng() % 5000))));
      int r = static_cast<int>(b.buffers.size()) - 1;
      b.kernels.push_back(kernel("k" + std::to_string(s), {x, y}, r));
      b.launchOrder.push_back(s);
      values.push_back(r);
    }
    WorkspacePlan p = planWorkspace(b);
    EXPECT_EQ(p.placed, steps - 1);
    EXPECT_LE(p.workspaceBytes, p.separateBytes);
    EXPECT_GE(p.workspaceBytes, p.liveBound);
    expectSound(b);
    Bundle out;
    std::string err;
    EXPECT_TRUE(readBundle(writeBundle(b), out, err)) << err;
  }
}

TEST(BufferPlan, DynamicTemporariesArePlacedPerUnitOfTheSize) {
  Bundle b;
  b.target = "sm_90a";
  b.ptx = ".";
  b.dynamicLabel = "m";
  b.dynamicMin = 1;
  b.dynamicMax = 64;
  b.buffers = {{"arg0", "input", "f16", {-1, 8}, 16},
               {"arg1", "input", "f16", {8, 8}, 128},
               {"tmp0", "temp", "f16", {-1, 8}, 16},
               {"tmp1", "temp", "f16", {8, 8}, 128}, // static: stays a buffer
               {"out0", "output", "f16", {-1, 8}, 16}};
  b.kernels = {kernel("w", {1, 1}, 3), kernel("a", {0, 3}, 2), kernel("b", {2, 1}, 4)};
  b.variants = {{1, 64, {0, 1, 2}}};
  WorkspacePlan p = planWorkspace(b);
  EXPECT_TRUE(p.dynamic);
  EXPECT_EQ(p.placed, 1);
  ASSERT_EQ(b.views.size(), 1u);
  EXPECT_TRUE(b.views[0].dynamic());
  const BundleBuffer &ws = b.buffers[b.views[0].in];
  EXPECT_TRUE(ws.dynamic());
  EXPECT_EQ(ws.bytes, 16);
  EXPECT_EQ(b.buffers[2].name, "tmp1");
  Bundle out;
  std::string err;
  ASSERT_TRUE(readBundle(writeBundle(b), out, err)) << err;
  std::vector<uint64_t> ptrs(out.buffers.size(), 0);
  ptrs[out.views[0].in] = 4096;
  out.views[0].offset = 32; // two units of the size in
  EXPECT_EQ(entryAddress(out, int(out.buffers.size()), ptrs.data(), 10), 4096u + 320u);
}

TEST(BufferPlan, TheReaderRefusesViewsThatCannotBeRight) {
  Bundle good = chain();
  planWorkspace(good);
  auto refused = [&](Bundle b, const std::string &why) {
    Bundle out;
    std::string err;
    EXPECT_FALSE(readBundle(writeBundle(b), out, err)) << why;
    EXPECT_NE(err.find(why), std::string::npos) << err;
  };
  Bundle b = good;
  b.views[2].offset = b.views[1].offset; // tmp2 onto tmp1 while both live
  refused(b, "share bytes while both are in use");
  b = good;
  b.views[0].offset = 8;
  refused(b, "16-byte aligned");
  b = good;
  b.views[1].offset = b.buffers[6].bytes - 16;
  refused(b, "does not fit");
  b = good;
  b.views[0].in = 0; // an input
  refused(b, "must lie in a temp buffer");
  b = good;
  b.views[0].in = 42;
  refused(b, "must lie in a temp buffer");
  b = good;
  b.views[0].shape = {-1, 8}; // dynamic view in a static workspace
  refused(b, "must lie in a temp buffer");
  // Order: a buffer after a view would move the views' indices.
  std::string text = writeBundle(good);
  Bundle out;
  std::string err;
  std::string payload = text.substr(text.find('\n') + 1);
  ASSERT_NE(payload.find("view tmp2"), std::string::npos);
  payload.insert(payload.find("kernel "), "buffer extra input f16 4 8\n");
  char head[96];
  std::snprintf(head, sizeof head, "EINLOOM-BUNDLE 1 %zu %016llx\n", payload.size(),
                static_cast<unsigned long long>(checksum(payload)));
  EXPECT_FALSE(readBundle(head + payload, out, err));
  EXPECT_NE(err.find("buffers must come before views"), std::string::npos) << err;
}

TEST(BufferPlan, BundlesWithoutIntermediatesAreLeftAlone) {
  Bundle b = chain();
  b.buffers.resize(5);
  b.buffers.push_back(buffer("out0", "output", 256));
  b.kernels = {kernel("k0", {0, 1}, 5)};
  b.launchOrder = {0};
  Bundle before = b;
  WorkspacePlan p = planWorkspace(b);
  EXPECT_EQ(p.placed, 0);
  EXPECT_TRUE(b.views.empty());
  EXPECT_EQ(b.buffers.size(), before.buffers.size());
  EXPECT_EQ(p.callerBytes, 5 * 512 + 256);
  EXPECT_NE(describeWorkspace(p).find("no intermediates"), std::string::npos);
}
