// The runner's host memory check: its copies of the buffers hold doubles
// (twice with --check), and a bundle whose copies cannot fit is an error
// before anything is allocated.
#include "einloom/runtime/Bundle.h"
#include "Runner.h"

#include <gtest/gtest.h>

using namespace einloom::rt;

static Bundle gemm(int64_t m) {
  Bundle b;
  b.target = "sm_90a";
  b.buffers = {{"arg0", "input", "f16", {m, 1024}, m * 2048},
               {"arg1", "input", "f16", {1024, 1024}, 1024 * 2048},
               {"out0", "output", "f16", {m, 1024}, m * 2048},
               {"ws", "temp", "f32", {1 << 20}, 4 << 20}};
  b.views = {{"t0", "temp", "f32", {1024, 1024}, 4 << 20, 3, 0}};
  return b;
}

TEST(Runner, HostCopiesMustFit) {
  // 1024 rows: 3 x 2^20 elements of buffers and 2^20 of the view (the
  // workspace itself has no host copy): 32 MiB as doubles, 64 MiB checked.
  // Timing alone: the two inputs as doubles and as f16 bytes, 20 MiB.
  Bundle b = gemm(1024);
  const uint64_t MiB = 1 << 20;
  EXPECT_EQ(hostCopiesDoNotFit(b, -1, true, 64 * MiB), "");
  EXPECT_EQ(hostCopiesDoNotFit(b, -1, false, 20 * MiB), "");
  std::string why = hostCopiesDoNotFit(b, -1, true, 63 * MiB);
  EXPECT_NE(why.find("need 0.1 GiB"), std::string::npos) << why;
  EXPECT_NE(why.find("twice for the check"), std::string::npos) << why;
  EXPECT_NE(hostCopiesDoNotFit(b, -1, false, 19 * MiB), "");
  // A timing run's large input counts as its repeated block in doubles:
  // 2^24 rows of 1024 f16 (2^34 elements) need 32 GiB of bytes, not 128.
  Bundle big = gemm(int64_t(1) << 24);
  big.buffers[1].shape = {1, 1024};
  big.buffers[1].bytes = 2048;
  EXPECT_EQ(hostCopiesDoNotFit(big, -1, false, uint64_t(33) << 30), "");
  EXPECT_NE(hostCopiesDoNotFit(big, -1, false, uint64_t(32) << 30), "");
  // Unknown memory: no verdict.
  EXPECT_EQ(hostCopiesDoNotFit(b, -1, true, 0), "");
  // A dynamic M counts at the size being run.
  Bundle d = gemm(-1);
  EXPECT_EQ(hostCopiesDoNotFit(d, 1024, true, 64 * MiB), "");
  EXPECT_NE(hostCopiesDoNotFit(d, 2048, true, 64 * MiB), "");
  // Far more than any machine: an error, and no overflow on the way.
  Bundle huge = gemm(int64_t(1) << 40);
  why = hostCopiesDoNotFit(huge, -1, true, uint64_t(1) << 40);
  EXPECT_NE(why.find("this process may use 1024.0 GiB"), std::string::npos) << why;
}

TEST(Runner, Int8SumScalesAreDrawnAsScales) {
  // W8A8: int8 x (0), int8 w (1), row scales (2), column scales (3). Drawn
  // from [-1, 1] as plain data, the scaled sums of 4096 products of codes
  // passed f16's 65504 and both sides read inf (the GPU run of 2026-12-07);
  // as scales (0.01 to 0.1) they stay in range.
  Bundle b;
  b.target = "sm_90a";
  b.buffers = {{"x", "input", "i8", {16, 4096}, 16 * 4096},
               {"w", "input", "i8", {1024, 4096}, 1024 * 4096},
               {"sa", "input", "f32", {16}, 64},
               {"sb", "input", "f32", {1024}, 4096},
               {"out0", "output", "f16", {16, 1024}, 16 * 2048}};
  BundleKernel k;
  k.name = "main_einsum0";
  k.op = "einsum";
  k.spec = "mk,nk->mn";
  k.args = {0, 1, 2, 3, 4};
  k.operands = {0, 1};
  k.result = 4;
  k.rowScale = 2;
  k.colScale = 3;
  b.kernels.push_back(k);
  EXPECT_EQ(inputRole(b, 0), einloom::ref::Role::Data);
  EXPECT_EQ(inputRole(b, 2), einloom::ref::Role::Scale);
  EXPECT_EQ(inputRole(b, 3), einloom::ref::Role::Scale);
  b.kernels[0].colScale = -1;
  EXPECT_EQ(inputRole(b, 3), einloom::ref::Role::Data);
}

TEST(Runner, TimingInputsRepeatOneBlockToTheBuffersSize) {
  std::string block = "abcdefg";
  std::string r = einloom::rt::repeatToSize(block, 17);
  EXPECT_EQ(r, "abcdefgabcdefgabc");
  EXPECT_EQ(einloom::rt::repeatToSize(block, 7), block);
  EXPECT_EQ(einloom::rt::repeatToSize(block, 3), "abc");
  EXPECT_EQ(einloom::rt::repeatToSize("", 5), "");
}
