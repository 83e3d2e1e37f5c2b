// The bundle format: round trip, and every kind of damage is refused.
#include "einloom/runtime/Bundle.h"
#include "einloom/runtime/CollectivePlan.h"
#include "einloom/runtime/Runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

using namespace einloom::rt;

static Bundle sample() {
  Bundle b;
  b.target = "sm_90a";
  b.source = "main";
  b.buffers = {{"arg0", "input", "f16", {4, 8}, 64},
               {"arg1", "input", "f16", {2, 8}, 32},
               {"out0", "output", "f32", {4, 2}, 32}};
  BundleKernel k;
  k.name = "main_einsum0";
  k.grid = {3, 1, 2};
  k.block = {128, 1, 1};
  k.sharedMemoryBytes = 65536;
  k.args = {0, 1, 2};
  k.op = "einsum";
  k.spec = "mk,nk->mn";
  k.acc = "f32";
  k.operands = {0, 1};
  k.result = 2;
  k.flops = 128;
  b.kernels = {k};
  b.launchOrder = {0};
  b.ptx = ".version 8.4\n.target sm_90a\n";
  b.cubin = std::string("\x7f" "ELF\0\1\2", 7);
  return b;
}

/// `b` written, its manifest edited, then sealed again with a valid header:
/// manifests the writer never produces.
static std::string resealedBundle(const Bundle &b, void (*edit)(std::string &)) {
  std::string text = writeBundle(b);
  std::string payload = text.substr(text.find('\n') + 1);
  edit(payload);
  char head[96];
  std::snprintf(head, sizeof head, "EINLOOM-BUNDLE 1 %zu %016llx\n", payload.size(),
                static_cast<unsigned long long>(checksum(payload)));
  return head + payload;
}

TEST(Bundle, Tf32RoundTripsAndNothingElseFollowsTheFlops) {
  Bundle in = sample(), out;
  std::string err;
  ASSERT_TRUE(readBundle(writeBundle(in), out, err)) << err;
  EXPECT_FALSE(out.kernels[0].tf32);
  in.kernels[0].tf32 = true;
  std::string text = writeBundle(in);
  EXPECT_NE(text.find("computes einsum mk,nk->mn f32 0,1 2 128 tf32\n"), std::string::npos);
  ASSERT_TRUE(readBundle(text, out, err)) << err;
  EXPECT_TRUE(out.kernels[0].tf32);
  EXPECT_FALSE(readBundle(resealedBundle(sample(), [](std::string &p) {
                            p.insert(p.find("\n", p.find("computes ")), " fast");
                          }),
                          out, err));
  EXPECT_NE(err.find("'fast' after the flops (only 'tf32' may follow)"), std::string::npos) << err;
}

TEST(Bundle, RoundTrip) {
  Bundle in = sample(), out;
  std::string err;
  ASSERT_TRUE(readBundle(writeBundle(in), out, err)) << err;
  EXPECT_EQ(out.target, "sm_90a");
  ASSERT_EQ(out.buffers.size(), 3u);
  EXPECT_EQ(out.buffers[2].shape, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(out.buffers[2].role, "output");
  ASSERT_EQ(out.kernels.size(), 1u);
  EXPECT_EQ(out.kernels[0].grid, (std::array<int64_t, 3>{3, 1, 2}));
  EXPECT_EQ(out.kernels[0].sharedMemoryBytes, 65536);
  EXPECT_EQ(out.kernels[0].spec, "mk,nk->mn");
  EXPECT_EQ(out.kernels[0].result, 2);
  EXPECT_EQ(out.ptx, in.ptx);
  EXPECT_EQ(out.cubin, in.cubin); // binary, with a NUL inside
}

TEST(Bundle, RefusesDamage) {
  std::string good = writeBundle(sample());
  Bundle out;
  std::string err;
  EXPECT_FALSE(readBundle(good.substr(0, good.size() - 1), out, err));
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  std::string flipped = good;
  flipped[flipped.size() - 3] ^= 1;
  EXPECT_FALSE(readBundle(flipped, out, err));
  EXPECT_NE(err.find("checksum"), std::string::npos) << err;
  EXPECT_FALSE(readBundle("PK\3\4 a zip file", out, err));
  EXPECT_NE(err.find("bad magic"), std::string::npos);
  std::string v2 = good;
  v2.replace(good.find(" 1 "), 3, " 2 ");
  EXPECT_FALSE(readBundle(v2, out, err));
  EXPECT_NE(err.find("unsupported bundle version 2"), std::string::npos) << err;
}

TEST(Bundle, RefusesInconsistentManifest) {
  // A kernel argument naming a buffer that does not exist, with a valid
  // checksum: the manifest itself must be checked.
  Bundle b = sample();
  b.kernels[0].args = {0, 1, 7};
  Bundle out;
  std::string err;
  EXPECT_FALSE(readBundle(writeBundle(b), out, err));
  EXPECT_NE(err.find("kernel argument names no buffer"), std::string::npos) << err;
}

// Each kernel has exactly one `computes` line (what the runner checks it
// against) and launch dimensions the driver accepts.
TEST(Bundle, RefusesManifestsTheWriterNeverProduces) {
  struct Case {
    void (*edit)(std::string &);
    const char *message;
  };
  auto replace = [](std::string &p, const std::string &from, const std::string &to) {
    size_t at = p.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    p.replace(at, from.size(), to);
  };
  static auto replaceFn = replace;
  Case cases[] = {
      {[](std::string &p) {
         size_t at = p.find("computes "), end = p.find('\n', at);
         p.erase(at, end + 1 - at);
       },
       "kernel 'main_einsum0' has no 'computes' line"},
      {[](std::string &p) {
         size_t at = p.find("computes "), end = p.find('\n', at);
         p.insert(end + 1, p.substr(at, end + 1 - at));
       },
       "a second 'computes' for one kernel"},
      {[](std::string &p) { replaceFn(p, " 3,1,2 ", " 0,1,2 "); }, "grid or block out of range"},
      {[](std::string &p) { replaceFn(p, " 3,1,2 ", " 3,70000,2 "); }, "grid or block out of range"},
      {[](std::string &p) { replaceFn(p, " 128,1,1 ", " -128,1,1 "); }, "grid or block out of range"},
      {[](std::string &p) { replaceFn(p, " 128,1,1 ", " 128,16,1 "); }, "more than 1024 threads"},
      {[](std::string &p) { replaceFn(p, " 65536 ", " 300000 "); }, "232448 bytes of shared memory"},
  };
  for (const Case &c : cases) {
    std::string bytes = resealedBundle(sample(), c.edit);
    Bundle out;
    std::string err;
    EXPECT_FALSE(readBundle(bytes, out, err)) << c.message;
    EXPECT_NE(err.find(c.message), std::string::npos) << err;
  }
}

// Seeded mutations of whole manifests (lines dropped, repeated or swapped;
// words replaced by extreme or malformed numbers), each sealed with a valid
// header: readBundle refuses each with a message, or reads a bundle that
// writes back to one it reads again. (Under ASan and UBSan, 50000 of these
// over real bundles found the missing `computes` check above.)
/// 3000 random mutations of `base`'s manifest lines (deleted, repeated,
/// swapped, a word replaced): each is refused with a message or reads into
/// a bundle that round-trips; both outcomes occur often.
static void expectMutationsRefusedOrRoundTrip(const Bundle &base, uint64_t seed) {
  std::string text = writeBundle(base);
  std::string manifest = text.substr(text.find('\n') + 1);
  std::string images = manifest.substr(manifest.find('\n', manifest.find("image cubin")) + 1);
  manifest = manifest.substr(0, manifest.size() - images.size());
  std::vector<std::string> lines;
  for (size_t at = 0; at < manifest.size();) {
    size_t end = manifest.find('\n', at);
    lines.push_back(manifest.substr(at, end - at));
    at = end + 1;
  }
  const char *words[] = {"0", "-1", "1", "7", "65536", "2147483648", "9223372036854775807",
                         "99999999999999999999", "?", "", "x", "1,2", ",", "nan", "1e9"};
  std::mt19937_64 rng(seed);
  int refused = 0, read = 0;
  for (int it = 0; it < 3000; ++it) {
    std::vector<std::string> l = lines;
    for (int m = 1 + rng() % 3; m > 0; --m) {
      size_t i = rng() % l.size();
      switch (rng() % 5) {
      case 0: l.erase(l.begin() + i); break;
      case 1: l.insert(l.begin() + i, l[i]); break;
      case 2: std::swap(l[i], l[rng() % l.size()]); break;
      default: { // replace one word
        std::vector<std::string> w;
        for (size_t at = 0; at <= l[i].size();) {
          size_t end = std::min(l[i].find(' ', at), l[i].size());
          w.push_back(l[i].substr(at, end - at));
          at = end + 1;
        }
        w[rng() % w.size()] = words[rng() % (sizeof words / sizeof *words)];
        l[i].clear();
        for (size_t k = 0; k < w.size(); ++k)
          l[i] += (k ? " " : "") + w[k];
      }
      }
      if (l.empty())
        l.push_back("");
    }
    std::string payload;
    for (const std::string &x : l)
      payload += x + "\n";
    payload += images;
    char head[96];
    std::snprintf(head, sizeof head, "EINLOOM-BUNDLE 1 %zu %016llx\n", payload.size(),
                  static_cast<unsigned long long>(checksum(payload)));
    Bundle out;
    std::string err;
    if (!readBundle(head + payload, out, err)) {
      EXPECT_FALSE(err.empty()) << "refused without a message: " << payload;
      ++refused;
      continue;
    }
    ++read;
    Bundle again;
    EXPECT_TRUE(readBundle(writeBundle(out), again, err)) << err << "\nfrom:\n" << payload;
  }
  // Both outcomes occur, so the mutations reach past the first checks.
  EXPECT_GT(refused, 1000);
  EXPECT_GT(read, 100);
}

TEST(Bundle, MutatedManifestsAreRefusedOrRoundTrip) {
  Bundle base = sample();
  base.kernels[0].tensorMaps = {};
  base.kernels.push_back(base.kernels[0]);
  base.kernels[1].name = "second";
  base.launchOrder = {0, 1};
  expectMutationsRefusedOrRoundTrip(base, 20261124);
}

TEST(Bundle, MutatedShardedManifestsAreRefusedOrRoundTrip) {
  // A sharded bundle: its mesh, a split input, and an all-gather along the
  // second dimension through a scratch buffer after the kernel.
  Bundle base = sample();
  base.kernels[0].tensorMaps = {};
  base.mesh = {{"dp", 2}, {"tp", 4}};
  base.buffers[0].sharding.assign(base.buffers[0].shape.size(), "");
  base.buffers[0].sharding[0] = "dp";
  const BundleBuffer &res = base.buffers[base.kernels[0].result];
  std::vector<int64_t> gathered = res.shape;
  gathered.back() *= 4;
  int64_t eb = res.bytes / numElements(res.shape);
  BundleCollective c{"tp", int64_t(res.shape.size()) - 1, 0, -1};
  int in = base.kernels[0].result;
  int64_t scratch = collectiveScratchBytes("all_gather", res.shape, c.dim, 0, eb, 4);
  ASSERT_GT(scratch, 0);
  base.buffers.push_back({"out1", "output", res.dtype, gathered, numElements(gathered) * eb});
  int out = int(base.buffers.size()) - 1;
  base.buffers.push_back({"scratch1", "temp", "i8", {scratch}, scratch});
  c.scratch = int(base.buffers.size()) - 1;
  base.kernels.push_back(collectiveEntry("gather", "all_gather", c, in, out));
  base.launchOrder = {0, 1};
  std::string err;
  Bundle check;
  ASSERT_TRUE(readBundle(writeBundle(base), check, err)) << err;
  expectMutationsRefusedOrRoundTrip(base, 20261207);
}

static BundleTensorMap sampleMap() {
  BundleTensorMap t;
  t.arg = 1;
  t.elementBytes = 2;
  t.dims = {520, 263, 3};
  t.strides = {1040, 273520};
  t.box = {64, 128, 1};
  t.swizzle = 128;
  return t;
}

TEST(Bundle, TensorMapsPersistenceAndClustersRoundTrip) {
  Bundle in = sample(), out;
  in.kernels[0].grid = {132, 1, 1};
  in.kernels[0].tensorMaps = {sampleMap()};
  in.kernels[0].persistent = true;
  in.kernels[0].cluster = 2;
  std::string err;
  ASSERT_TRUE(readBundle(writeBundle(in), out, err)) << err;
  const BundleKernel &k = out.kernels[0];
  ASSERT_EQ(k.tensorMaps.size(), 1u);
  EXPECT_EQ(k.tensorMaps[0].arg, 1);
  EXPECT_EQ(k.tensorMaps[0].dims, (std::vector<int64_t>{520, 263, 3}));
  EXPECT_EQ(k.tensorMaps[0].strides, (std::vector<int64_t>{1040, 273520}));
  EXPECT_EQ(k.tensorMaps[0].box, (std::vector<int64_t>{64, 128, 1}));
  EXPECT_EQ(k.tensorMaps[0].swizzle, 128);
  EXPECT_TRUE(k.persistent);
  EXPECT_EQ(k.cluster, 2);
  // A plain kernel stays plain.
  ASSERT_TRUE(readBundle(writeBundle(sample()), out, err)) << err;
  EXPECT_TRUE(out.kernels[0].tensorMaps.empty());
  EXPECT_FALSE(out.kernels[0].persistent);
  EXPECT_EQ(out.kernels[0].cluster, 1);
}

TEST(Bundle, PersistentCtasPerSMRoundTripAndAreChecked) {
  Bundle in = sample(), out;
  in.kernels[0].persistent = true;
  std::string err;
  // One CTA per SM is written as before ("persistent" alone).
  std::string one = writeBundle(in);
  EXPECT_NE(one.find("persistent\n"), std::string::npos);
  ASSERT_TRUE(readBundle(one, out, err)) << err;
  EXPECT_EQ(out.kernels[0].ctasPerSM, 1);
  in.kernels[0].ctasPerSM = 2;
  std::string two = writeBundle(in);
  EXPECT_NE(two.find("persistent 2\n"), std::string::npos);
  ASSERT_TRUE(readBundle(two, out, err)) << err;
  EXPECT_EQ(out.kernels[0].ctasPerSM, 2);
  for (int bad : {9, 100}) {
    in.kernels[0].ctasPerSM = bad;
    EXPECT_FALSE(readBundle(writeBundle(in), out, err)) << bad;
    EXPECT_NE(err.find("bad persistent CTAs per SM"), std::string::npos) << err;
  }
}

TEST(Bundle, RefusesTensorMapsTheCopyEngineCannotUse) {
  struct Case {
    const char *expect;
    void (*damage)(BundleTensorMap &);
  };
  const Case cases[] = {
      {"names no kernel argument", [](BundleTensorMap &t) { t.arg = 3; }},
      {"element size", [](BundleTensorMap &t) { t.elementBytes = 3; }},
      {"rank, strides and box disagree", [](BundleTensorMap &t) { t.strides = {1040}; }},
      {"rank, strides and box disagree", [](BundleTensorMap &t) { t.dims = {1, 2, 3, 4, 5, 6}; }},
      {"extent out of range", [](BundleTensorMap &t) { t.dims[1] = 0; }},
      {"multiple of 16 bytes", [](BundleTensorMap &t) { t.strides[0] = 1030; }},
      {"box extent must be 1 to 256", [](BundleTensorMap &t) { t.box[1] = 512; }},
      {"swizzle must be", [](BundleTensorMap &t) { t.swizzle = 96; }},
      {"wider than its swizzle span", [](BundleTensorMap &t) { t.box[0] = 128; }},
  };
  for (const Case &c : cases) {
    Bundle b = sample();
    BundleTensorMap t = sampleMap();
    c.damage(t);
    b.kernels[0].tensorMaps = {t};
    Bundle out;
    std::string err;
    EXPECT_FALSE(readBundle(writeBundle(b), out, err)) << c.expect;
    EXPECT_NE(err.find(c.expect), std::string::npos) << err;
  }
  // A cluster that does not divide the grid.
  Bundle b = sample();
  b.kernels[0].grid = {3, 1, 1};
  b.kernels[0].cluster = 2;
  Bundle out;
  std::string err;
  EXPECT_FALSE(readBundle(writeBundle(b), out, err));
  EXPECT_NE(err.find("bad cluster size"), std::string::npos) << err;
}

TEST(Bundle, DynamicQuantizeKernelNeedsItsWeightLine) {
  // A dynamic quantize kernel: input, codes, per-row scales; its 'weight'
  // line gives the bits and names the scales. Without the line, or with
  // scales that are not its third argument, the bundle is refused.
  Bundle in;
  in.target = "sm_90a";
  in.source = "main";
  in.buffers = {{"arg0", "input", "f16", {4, 8}, 64},
                {"out0", "output", "i8", {4, 8}, 32},
                {"out0_scales", "output", "f32", {4}, 16}};
  BundleKernel k;
  k.name = "main_dynamic_quantize0";
  k.grid = {1, 1, 1};
  k.block = {256, 1, 1};
  k.args = {0, 1, 2};
  k.op = "quantize";
  k.spec = "dynamic";
  k.acc = "f32";
  k.operands = {0};
  k.result = 1;
  k.weight.bits = 8;
  k.weight.isSigned = true;
  k.weight.granularity = "channel";
  k.weight.axis = 0;
  k.weight.scale = 2;
  in.kernels = {k};
  in.launchOrder = {0};
  in.ptx = ".version 8.5\n";
  Bundle out;
  std::string err;
  ASSERT_TRUE(readBundle(writeBundle(in), out, err)) << err;
  EXPECT_EQ(out.kernels[0].op, "quantize");
  EXPECT_EQ(out.kernels[0].weight.scale, 2);
  EXPECT_EQ(out.kernels[0].weight.bits, 8u);
  Bundle bad = in;
  bad.kernels[0].weight = BundleWeight();
  EXPECT_FALSE(readBundle(writeBundle(bad), out, err));
  EXPECT_NE(err.find("quantize kernel 'main_dynamic_quantize0' has no 'weight' line"),
            std::string::npos)
      << err;
  bad = in;
  bad.kernels[0].args = {0, 2, 1};
  EXPECT_FALSE(readBundle(writeBundle(bad), out, err));
  EXPECT_NE(err.find("or a dynamic quantize"), std::string::npos) << err;
}

TEST(Bundle, RankOneTermRoundTripsAndIsChecked) {
  // Scales and the rank-1 term (row zero points, column sums) after the
  // bias and residual; both halves of the term or neither.
  Bundle in = sample(), out;
  in.buffers.push_back({"arg2", "input", "f32", {4}, 16});
  in.buffers.push_back({"arg3", "input", "i8", {4}, 4});
  BundleKernel &k = in.kernels[0];
  k.args = {0, 1, 2, 3, 4};
  k.rowZero = 4;
  k.colSum = 3;
  std::string err;
  ASSERT_TRUE(readBundle(writeBundle(in), out, err)) << err;
  const BundleKernel &r = out.kernels[0];
  EXPECT_TRUE(r.hasEpilogue());
  EXPECT_EQ(r.rowScale, -1);
  EXPECT_EQ(r.colScale, -1);
  EXPECT_EQ(r.rowZero, 4);
  EXPECT_EQ(r.colSum, 3);
  std::string text = writeBundle(in);
  EXPECT_NE(text.find("epilogue 1 1 none -1 -1 -1 -1 4 3\n"), std::string::npos);
  // One half alone, and a buffer the kernel does not take.
  Bundle bad = in;
  bad.kernels[0].colSum = -1;
  EXPECT_FALSE(readBundle(writeBundle(bad), out, err));
  EXPECT_NE(err.find("one of ROWZERO and COLSUM without the other"), std::string::npos) << err;
  bad = in;
  bad.kernels[0].args = {0, 1, 2, 3};
  EXPECT_FALSE(readBundle(writeBundle(bad), out, err));
  EXPECT_NE(err.find("names a buffer the kernel does not take"), std::string::npos) << err;
}

// Block scales: the `blockscale BK BN` line after the epilogue's scales
// round-trips; a line without both scales, or with a block of 0, is
// refused.
TEST(Bundle, BlockScalesRoundTripAndAreChecked) {
  Bundle in = sample(), out;
  in.buffers.push_back({"arg2", "input", "f32", {4, 2}, 32});
  in.buffers.push_back({"arg3", "input", "f32", {1, 2}, 8});
  BundleKernel &k = in.kernels[0];
  k.args = {0, 1, 2, 3, 4};
  k.rowScale = 3;
  k.colScale = 4;
  k.scaleBlock = {128, 64};
  std::string err;
  std::string text = writeBundle(in);
  EXPECT_NE(text.find("epilogue 1 1 none -1 -1 3 4\nblockscale 128 64\n"), std::string::npos)
      << text;
  ASSERT_TRUE(readBundle(text, out, err)) << err;
  EXPECT_TRUE(out.kernels[0].blockScaled());
  EXPECT_EQ(out.kernels[0].scaleBlock[0], 128);
  EXPECT_EQ(out.kernels[0].scaleBlock[1], 64);
  // Without it the scales are per row and column.
  Bundle plain = in;
  plain.kernels[0].scaleBlock = {0, 0};
  ASSERT_TRUE(readBundle(writeBundle(plain), out, err)) << err;
  EXPECT_FALSE(out.kernels[0].blockScaled());
  // A zero block, and block scales on a kernel without column scales.
  Bundle bad = in;
  bad.kernels[0].scaleBlock = {128, 0};
  EXPECT_FALSE(readBundle(writeBundle(bad), out, err));
  EXPECT_NE(err.find("two positive block sizes"), std::string::npos) << err;
  bad = in;
  bad.kernels[0].colScale = -1;
  EXPECT_FALSE(readBundle(writeBundle(bad), out, err));
  EXPECT_NE(err.find("names no row and column scales"), std::string::npos) << err;
}

// A block mask: the `mask BUFFER BM BN FILL` line round-trips, -inf
// included; a mask the kernel does not take, one not of i8, a block of 0
// and a fill that is not a number are refused.
TEST(Bundle, BlockMaskRoundTripsAndIsChecked) {
  Bundle in = sample(), out;
  in.buffers.push_back({"arg2", "input", "i8", {2, 3}, 6});
  BundleKernel &k = in.kernels[0];
  k.args = {0, 1, 2, 3};
  k.blockMask = 3;
  k.maskBlock = {64, 128};
  k.maskFill = -INFINITY;
  std::string err;
  std::string text = writeBundle(in);
  EXPECT_NE(text.find("mask 3 64 128 -inf\n"), std::string::npos) << text;
  ASSERT_TRUE(readBundle(text, out, err)) << err;
  EXPECT_EQ(out.kernels[0].blockMask, 3);
  EXPECT_EQ(out.kernels[0].maskBlock[0], 64);
  EXPECT_EQ(out.kernels[0].maskBlock[1], 128);
  EXPECT_TRUE(std::isinf(out.kernels[0].maskFill) && out.kernels[0].maskFill < 0);
  Bundle bad = in;
  bad.kernels[0].args = {0, 1, 2};
  EXPECT_FALSE(readBundle(writeBundle(bad), out, err));
  EXPECT_NE(err.find("'mask' names a buffer the kernel does not take"), std::string::npos) << err;
  bad = in;
  bad.buffers.back().dtype = "f32";
  bad.buffers.back().bytes = 24;
  EXPECT_FALSE(readBundle(writeBundle(bad), out, err));
  EXPECT_NE(err.find("not i8"), std::string::npos) << err;
  bad = in;
  bad.kernels[0].maskBlock = {64, 0};
  EXPECT_FALSE(readBundle(writeBundle(bad), out, err));
  EXPECT_NE(err.find("bad 'mask'"), std::string::npos) << err;
  bad = in;
  bad.kernels[0].maskFill = NAN;
  EXPECT_FALSE(readBundle(writeBundle(bad), out, err));
  EXPECT_NE(err.find("bad 'mask'"), std::string::npos) << err;
}

TEST(Bundle, EpilogueRoundTripsAndIsChecked) {
  Bundle in = sample(), out;
  in.buffers.push_back({"arg2", "input", "f32", {2}, 8});
  in.buffers.push_back({"arg3", "input", "f32", {4, 2}, 32});
  BundleKernel &k = in.kernels[0];
  k.args = {0, 1, 2, 3, 4};
  k.alpha = 0.125;
  k.beta = -1.5;
  k.activation = "gelu";
  k.bias = 3;
  k.residual = 4;
  std::string err;
  ASSERT_TRUE(readBundle(writeBundle(in), out, err)) << err;
  const BundleKernel &r = out.kernels[0];
  EXPECT_TRUE(r.hasEpilogue());
  EXPECT_EQ(r.alpha, 0.125);
  EXPECT_EQ(r.beta, -1.5);
  EXPECT_EQ(r.activation, "gelu");
  EXPECT_EQ(r.bias, 3);
  EXPECT_EQ(r.residual, 4);
  // Without one, none is written or read.
  ASSERT_TRUE(readBundle(writeBundle(sample()), out, err)) << err;
  EXPECT_FALSE(out.kernels[0].hasEpilogue());
  // An unknown activation, and a bias the kernel does not take.
  Bundle bad = in;
  bad.kernels[0].activation = "tanh";
  EXPECT_FALSE(readBundle(writeBundle(bad), out, err));
  EXPECT_NE(err.find("bad epilogue"), std::string::npos) << err;
  bad = in;
  bad.kernels[0].args = {0, 1, 2, 4};
  EXPECT_FALSE(readBundle(writeBundle(bad), out, err));
  EXPECT_NE(err.find("names a buffer the kernel does not take"), std::string::npos) << err;
}

// Sparse weights: each format's `sparse` line round-trips (a bitmap's and
// block_csr's second index buffer included), and lines the writer never
// produces are refused with the line's form. The launch may give a
// Tiled-CSL or bitmap weight one 16-byte chunk, a block-sparse one one
// 64 x 64 block, at least.
TEST(Bundle, SparseLinesRoundTripAndAreChecked) {
  for (const char *format : {"tiled_csl", "bitmap", "block_csr", "two_four"}) {
    Bundle in = sample(), out;
    in.buffers.push_back({"arg1_index", "input", "i32", {4}, 16});
    in.buffers.push_back({"arg1_offsets", "input", "i32", {2}, 8});
    BundleKernel &k = in.kernels[0];
    k.args = {0, 1, 2, 4, 3};
    k.sparse.format = format;
    bool twoFour = k.sparse.format == "two_four";
    k.sparse.tileRows = k.sparse.tileCols = twoFour ? 0 : 64;
    k.sparse.offsets = 4;
    if (k.sparse.hasIndex())
      k.sparse.index = 3;
    std::string err;
    ASSERT_TRUE(readBundle(writeBundle(in), out, err)) << format << ": " << err;
    const BundleSparse &r = out.kernels[0].sparse;
    EXPECT_EQ(r.format, format);
    EXPECT_EQ(r.offsets, 4);
    EXPECT_EQ(r.index, k.sparse.hasIndex() ? 3 : -1) << format;
    EXPECT_TRUE(holdsSparseWords(out, 1) == !twoFour) << format;
    EXPECT_EQ(leastBytes(out, 1, -1), twoFour                           ? 32
                                      : k.sparse.format == "block_csr" ? 8192
                                                                        : 16)
        << format;
  }
  // Each damaged line in place of "sparse bitmap 64 64 4 3", and why.
  static const char *const damaged[][2] = {
      {"sparse bitmap 64 64 4", "a bitmap without its masks"},
      {"sparse bitmap 60 64 4 3", "bitmap tiles not of 8 x 8 blocks"},
      {"sparse bitmap 64 64 4 7", "masks the kernel does not take"},
      {"sparse block_csr 32 32 4 3", "block_csr blocks not 64 x 64"},
      {"sparse csr 64 64 4 3", "an unknown format"}};
  for (const auto &d : damaged) {
    Bundle in = sample(), out;
    in.buffers.push_back({"arg1_index", "input", "i32", {4}, 16});
    in.buffers.push_back({"arg1_offsets", "input", "i32", {2}, 8});
    in.kernels[0].args = {0, 1, 2, 4, 3};
    in.kernels[0].sparse = {"bitmap", 64, 64, 4, 3};
    static const char *line;
    line = d[0];
    std::string err;
    EXPECT_FALSE(readBundle(resealedBundle(in,
                                           [](std::string &m) {
                                             m.replace(m.find("sparse bitmap 64 64 4 3"), 23,
                                                       line);
                                           }),
                            out, err))
        << d[1];
    EXPECT_NE(err.find("sparse"), std::string::npos) << d[1] << ": " << err;
  }
}

/// A dynamic-M bundle: two variants (1..16 with kernel 0, 17..4096 with
/// kernel 1), A and C with a dynamic leading extent.
static Bundle dynamicSample() {
  Bundle b = sample();
  b.buffers[0] = {"arg0", "input", "f16", {-1, 8}, 16};
  b.buffers[2] = {"out0", "output", "f32", {-1, 2}, 8};
  b.dynamicLabel = "m";
  b.dynamicMin = 1;
  b.dynamicMax = 4096;
  b.kernels[0].sizedGrid = {1, 32, 1};
  BundleKernel big = b.kernels[0];
  big.name = "main_m4096_einsum0";
  big.grid = {132, 1, 1};
  big.persistent = true;
  big.sizedGrid = {1, 128, 2};
  BundleTensorMap t = sampleMap();
  t.arg = 0;
  t.dims = {8, -1};
  t.strides = {16};
  t.box = {8, 128};
  big.tensorMaps = {t};
  b.kernels.push_back(big);
  b.launchOrder.clear();
  b.variants = {{1, 16, {0}}, {17, 4096, {1}}};
  return b;
}

TEST(Bundle, DynamicDimensionRoundTripsAndPicksVariants) {
  Bundle in = dynamicSample(), out;
  std::string err;
  std::string text = writeBundle(in);
  EXPECT_NE(text.find("dynamic m 1 4096\n"), std::string::npos);
  EXPECT_NE(text.find("buffer arg0 input f16 ?x8 16\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tensormap 0 2 8x? 16 8x128 128\n"), std::string::npos);
  EXPECT_NE(text.find("variant 17 4096 1\n"), std::string::npos);
  ASSERT_TRUE(readBundle(text, out, err)) << err;
  EXPECT_TRUE(isDynamic(out));
  EXPECT_EQ(out.dynamicLabel, "m");
  EXPECT_EQ(out.dynamicMax, 4096);
  EXPECT_EQ(out.buffers[0].shape, (std::vector<int64_t>{-1, 8}));
  EXPECT_TRUE(out.buffers[0].dynamic());
  EXPECT_FALSE(out.buffers[1].dynamic());
  EXPECT_EQ(out.kernels[1].tensorMaps[0].dims, (std::vector<int64_t>{8, -1}));
  EXPECT_EQ(out.kernels[1].sizedGrid, (std::array<int64_t, 3>{1, 128, 2}));
  ASSERT_EQ(out.variants.size(), 2u);

  // The variant by size, at both ends of each bucket.
  for (auto [size, kernel] : {std::pair<int64_t, int>{1, 0}, {16, 0}, {17, 1}, {4096, 1}}) {
    const std::vector<int> *order = launchOrderFor(out, size, err);
    ASSERT_NE(order, nullptr) << size << ": " << err;
    EXPECT_EQ(*order, std::vector<int>{kernel}) << size;
  }
  EXPECT_EQ(launchOrderFor(out, 4097, err), nullptr);
  EXPECT_NE(err.find("size 4097 is outside the bundle's range for m (1 to 4096)"),
            std::string::npos) << err;
  EXPECT_EQ(launchOrderFor(out, 0, err), nullptr);
  EXPECT_EQ(launchOrderFor(out, -1, err), nullptr);
  EXPECT_NE(err.find("pass its size"), std::string::npos) << err;
  EXPECT_EQ(launchOrderFor(sample(), 5, err), nullptr);
  EXPECT_NE(err.find("takes no dynamic size"), std::string::npos) << err;
  ASSERT_NE(launchOrderFor(sample(), -1, err), nullptr);

  // Bytes and grids at a size: per unit for dynamic buffers, fixed otherwise.
  EXPECT_EQ(bufferBytes(out.buffers[0], 300), 16 * 300);
  EXPECT_EQ(bufferBytes(out.buffers[1], 300), 32);
  EXPECT_EQ(gridX(out.kernels[0], 7), 1);     // ceil(7 / 32) * 1
  EXPECT_EQ(gridX(out.kernels[0], 33), 2);
  EXPECT_EQ(gridX(out.kernels[1], 300), 6);   // ceil(300 / 128) * 2
  EXPECT_EQ(gridX(sample().kernels[0], 300), 3); // static: the manifest's
  EXPECT_EQ(flopsAt(out.kernels[0], 7), 128 * 7); // per unit of the size
  EXPECT_EQ(flopsAt(sample().kernels[0], -1), 128);
}

TEST(Bundle, RefusesInconsistentDynamicManifests) {
  struct Case {
    const char *expect;
    void (*damage)(Bundle &);
  };
  const Case cases[] = {
      {"without gaps or overlaps", [](Bundle &b) { b.variants[1].lo = 18; }},
      {"without gaps or overlaps", [](Bundle &b) { b.variants[1].lo = 16; }},
      {"without gaps or overlaps", [](Bundle &b) { std::swap(b.variants[0], b.variants[1]); }},
      {"must end at the dynamic dimension's largest size", [](Bundle &b) { b.variants[1].hi = 4000; }},
      {"a dynamic dimension without variants", [](Bundle &b) { b.variants.clear(); }},
      {"variant names no kernel", [](Bundle &b) { b.variants[0].launchOrder = {5}; }},
      {"bad dynamic dimension", [](Bundle &b) { b.dynamicMin = 0; }},
      {"bad dynamic dimension", [](Bundle &b) { b.dynamicMax = -3; }},
      {"bad dynamic dimension", [](Bundle &b) { b.dynamicLabel = "mn"; }},
      {"bad sized grid", [](Bundle &b) { b.kernels[0].sizedGrid = {1, -32, 1}; }},
      {"has a dynamic tensor map extent but is not sized",
       [](Bundle &b) { b.kernels[1].sizedGrid = {0, 0, 0}; }},
      {"more than one dynamic extent", [](Bundle &b) { b.buffers[0].shape = {-1, -1}; }},
      {"would exceed 1 TiB", [](Bundle &b) { b.buffers[0].bytes = int64_t(1) << 32; }},
      // Dynamic pieces in a bundle without a dynamic dimension.
      {"is sized, but the bundle has no dynamic dimension",
       [](Bundle &b) {
         b.dynamicLabel.clear();
         b.variants.clear();
         b.launchOrder = {0};
       }},
  };
  for (const Case &c : cases) {
    Bundle b = dynamicSample();
    c.damage(b);
    Bundle out;
    std::string err;
    EXPECT_FALSE(readBundle(writeBundle(b), out, err)) << c.expect;
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.expect << ": " << err;
  }
  // Manifests the writer never produces: edited, then resealed with a valid
  // header. A `launch` line in a dynamic bundle; variants without `dynamic`.
  auto resealed = [](void (*edit)(std::string &)) { return resealedBundle(dynamicSample(), edit); };
  {
    Bundle out;
    std::string err;
    EXPECT_FALSE(readBundle(resealed([](std::string &p) { p.insert(p.find("variant "), "launch 0\n"); }),
                            out, err));
    EXPECT_NE(err.find("launches by variant, not 'launch'"), std::string::npos) << err;
    EXPECT_FALSE(readBundle(
        resealed([](std::string &p) { p.erase(p.find("dynamic m"), std::string("dynamic m 1 4096\n").size()); }),
        out, err));
    EXPECT_NE(err.find("variants without a dynamic dimension"), std::string::npos) << err;
  }
  // A static bundle with a `?` in a buffer.
  Bundle b = sample();
  b.buffers[0].shape = {-1, 8};
  Bundle out;
  std::string err;
  EXPECT_FALSE(readBundle(writeBundle(b), out, err));
  EXPECT_NE(err.find("has a dynamic extent, but the bundle has no dynamic dimension"),
            std::string::npos) << err;
}

TEST(Runtime, ParseTarget) {
  int major, minor;
  bool arch;
  ASSERT_TRUE(parseTarget("sm_90a", major, minor, arch));
  EXPECT_EQ(major, 9);
  EXPECT_EQ(minor, 0);
  EXPECT_TRUE(arch);
  ASSERT_TRUE(parseTarget("sm_80", major, minor, arch));
  EXPECT_EQ(major, 8);
  EXPECT_FALSE(arch);
  ASSERT_TRUE(parseTarget("sm_100a", major, minor, arch));
  EXPECT_EQ(major, 10);
  EXPECT_FALSE(parseTarget("compute_90", major, minor, arch));
  EXPECT_FALSE(parseTarget("sm_9", major, minor, arch));
}

TEST(Runtime, NoDriverIsAnErrorNotACrash) {
  setenv("EINLOOM_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
  std::unique_ptr<Device> dev;
  Status s = Device::open(0, dev);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("cannot load the CUDA driver"), std::string::npos) << s.message();
  EXPECT_EQ(dev, nullptr);
}
