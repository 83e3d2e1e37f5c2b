//===- MeshBundleTest.cpp - sharded bundles run on host memory ------------===//
//
// The compiler's bundle of a sharded program (the Megatron MLP block, with
// and without sequence parallelism, on 1, 2, 4 and 8 ranks, and a
// column-parallel layer whose split result is gathered along its second
// dimension), run on every rank at once with host memory: each kernel by
// the reference on the bytes its entries hold, each collective by its
// planned steps (test/unit/HostCollectives.h). Every rank's result equals
// its slice of the unsharded program's. This checks the bundle's wiring
// (buffers, views, the workspace, scratch, launch order) and the
// collectives' plans together, without a GPU.
//
//===----------------------------------------------------------------------===//
#include "HostCollectives.h"
#include "MeshPrograms.h"
#include "Runner.h"

#include "einloom/Compiler.h"
#include "einloom/Passes.h"
#include "einloom/Reference/Evaluator.h"
#include "einloom/Reference/Kernels.h"
#include "einloom/Registration.h"

#include "Loom/LoomOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

using namespace einloom;

namespace {

/// Entry `i` of rank `r` as a reference tensor.
ref::Tensor readEntry(const rt::Bundle &b, test::HostRank &r, int i) {
  const rt::BundleBuffer &x = rt::entryAt(b, i);
  ref::DType t;
  EXPECT_TRUE(ref::parseDType(x.dtype, t)) << x.dtype;
  int64_t n = rt::dtypeBytes(x.dtype) * rt::numElements(x.shape);
  return rt::decodeTensor(std::string(reinterpret_cast<char *>(r.entry(b, i)), size_t(n)), t,
                          x.shape);
}

void writeEntry(const rt::Bundle &b, test::HostRank &r, int i, const ref::Tensor &t) {
  std::string bytes = rt::encodeTensor(t);
  ASSERT_LE(int64_t(bytes.size()), rt::entryAt(b, i).bytes);
  std::memcpy(r.entry(b, i), bytes.data(), bytes.size());
}

/// Whether `b` has collective `op` along `dim` (an all-to-all: split `dim`,
/// concatenate `dim2`), through a scratch buffer if `scratch`.
bool hasCollective(const rt::Bundle &b, const std::string &op, int64_t dim, int64_t dim2,
                   bool scratch = false) {
  for (const rt::BundleKernel &k : b.kernels)
    if (k.op == op && k.collective.dim == dim && k.collective.dim2 == dim2 &&
        (!scratch || k.collective.scratch >= 0))
      return true;
  return false;
}

/// Runs every entry of `b` in launch order on all ranks; "" or what failed.
std::string runOnHost(const rt::Bundle &b, std::vector<test::HostRank> &ranks) {
  for (int ki : b.launchOrder) {
    const rt::BundleKernel &k = b.kernels[ki];
    if (k.isCollective()) {
      if (std::string e = test::runCollectiveOnHost(b, k, ranks); !e.empty())
        return k.name + ": " + e;
      continue;
    }
    if (k.op == "reduce")
      continue; // a split sum's second half: the reference sums whole
    size_t arrow = k.spec.find("->"), comma = k.spec.find(',');
    if (k.op != "einsum" || k.operands.size() > 2 || arrow == std::string::npos ||
        (k.operands.size() == 2) != (comma < arrow))
      return "the host runs no '" + k.op + " " + k.spec + "'";
    std::vector<std::string> subs = {k.spec.substr(0, std::min(comma, arrow))};
    if (k.operands.size() == 2)
      subs.push_back(k.spec.substr(comma + 1, arrow - comma - 1));
    // A split sum's epilogue sits on its reduce kernel.
    const rt::BundleKernel *ep = &k;
    for (int x : b.launchOrder)
      if (b.kernels[x].op == "reduce" && b.kernels[x].result == k.result)
        ep = &b.kernels[x];
    for (test::HostRank &r : ranks) {
      std::vector<ref::Tensor> ins;
      for (int x : k.operands)
        ins.push_back(readEntry(b, r, x));
      std::vector<const ref::Tensor *> inPtrs;
      for (const ref::Tensor &t : ins)
        inPtrs.push_back(&t);
      ref::Tensor out;
      std::string err;
      ref::EinsumOptions eo;
      eo.tf32 = k.tf32;
      ref::DType t;
      ref::parseDType(rt::entryAt(b, k.result).dtype, t);
      if (!ref::einsum(inPtrs, subs, k.spec.substr(arrow + 2), ref::DType::F64, eo, out, err))
        return err;
      ref::Epilogue e;
      e.alpha = ep->alpha;
      e.beta = ep->beta;
      e.act = ep->activation == "gelu" ? ref::Epilogue::Act::Gelu
              : ep->activation == "relu" ? ref::Epilogue::Act::Relu
              : ep->activation == "silu" ? ref::Epilogue::Act::Silu
                                         : ref::Epilogue::Act::None;
      ref::Tensor bias, residual;
      if (ep->bias >= 0)
        bias = readEntry(b, r, ep->bias), e.bias = &bias;
      if (ep->residual >= 0)
        residual = readEntry(b, r, ep->residual), e.residual = &residual;
      if (ep->rowScale >= 0 || ep->colScale >= 0 || ep->rowZero >= 0)
        return "the host runs no scales";
      ref::Tensor rounded = out;
      rounded.dtype = t;
      for (size_t i = 0; i < out.data.size(); ++i)
        rounded.data[i] = e.apply(out.data[i], int64_t(i));
      writeEntry(b, r, k.result, rounded);
    }
  }
  return "";
}

/// `text`'s function compiled for the mesh, run on every rank on the host,
/// against its slices of the unsharded program's result.
/// (`expectCollectives` -1: any number.)
void expectBundleMatchesWhole(const std::string &text, double tol, int expectCollectives,
                              rt::Bundle *bundle = nullptr) {
  mlir::DialectRegistry registry;
  registerCompilerDialects(registry);
  mlir::MLIRContext ctx(registry);
  auto whole = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  auto split = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  ASSERT_TRUE(whole && split) << text;
  mlir::func::FuncOp f = *whole->getOps<mlir::func::FuncOp>().begin();
  CompileOptions options;
  options.assemble = false; // the host runs the kernels' definitions, not their code
  auto compiled = compileModule(*split, f.getSymName(), options);
  ASSERT_TRUE(mlir::succeeded(compiled)) << text;
  // Through the file format, as a launcher gets it.
  rt::Bundle b;
  std::string err;
  ASSERT_TRUE(rt::readBundle(rt::writeBundle(compiled->bundle), b, err)) << err;
  ASSERT_TRUE(rt::isSharded(b));
  int collectives = 0;
  for (const rt::BundleKernel &k : b.kernels)
    collectives += k.isCollective();
  if (expectCollectives >= 0) {
    EXPECT_EQ(collectives, expectCollectives);
  }
  if (bundle)
    *bundle = b;

  auto args = ref::randomArguments(f, 11);
  ASSERT_TRUE(mlir::succeeded(args));
  auto want = ref::evaluate(f, *args);
  ASSERT_TRUE(mlir::succeeded(want));
  int64_t ranks = rt::meshRanks(b);
  std::vector<test::HostRank> mem = test::hostRanks(b, ranks);
  // Rank r's slice of a whole tensor, as the buffer's sharding says.
  auto slice = [&](const ref::Tensor &t, const rt::BundleBuffer &x, int64_t r) {
    ref::Tensor s = t;
    for (size_t d = 0; d < x.sharding.size(); ++d)
      if (!x.sharding[d].empty()) {
        int axis = rt::meshAxisIndex(b, x.sharding[d]);
        s = ref::sliceAlong(s, int64_t(d), b.mesh[axis].size, test::axisPosition(b, axis, r));
      }
    return s;
  };
  for (int64_t r = 0; r < ranks; ++r)
    for (size_t i = 0; i < args->size(); ++i) {
      ref::Tensor s = slice((*args)[i], b.buffers[i], r);
      ASSERT_EQ(s.shape, b.buffers[i].shape) << "argument " << i;
      writeEntry(b, mem[r], int(i), s);
    }
  ASSERT_EQ(runOnHost(b, mem), "");
  int out = -1;
  for (size_t i = 0; i < b.buffers.size(); ++i)
    if (b.buffers[i].role == "output")
      out = int(i);
  ASSERT_GE(out, 0);
  for (int64_t r = 0; r < ranks; ++r) {
    ref::Tensor expect = slice((*want)[0], b.buffers[out], r);
    ref::Tensor got = readEntry(b, mem[r], out);
    ASSERT_EQ(got.shape, expect.shape);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < got.data.size(); ++i) {
      worst = std::max(worst, std::abs(got.data[i] - expect.data[i]));
      scale = std::max(scale, std::abs(expect.data[i]));
    }
    EXPECT_GT(scale, 0);
    EXPECT_LE(worst, tol * scale) << "rank " << r << " of " << ranks;
  }
}

struct BundleCase {
  int64_t ranks;
  bool sp;
};
void PrintTo(const BundleCase &c, std::ostream *os) {
  *os << "tp=" << c.ranks << (c.sp ? " sequence-parallel" : "");
}
class MeshBundle : public ::testing::TestWithParam<BundleCase> {};

TEST_P(MeshBundle, MLPBlockOnEveryRankEqualsTheWholeBlock) {
  const BundleCase &c = GetParam();
  // f32 on tf32 tensor cores: the kernels' rounding, well inside 1e-2.
  // The block's collectives: one all-reduce, or an all-gather of the tokens
  // and a reduce-scatter back to them.
  expectBundleMatchesWhole(test::mlp("[\"tp\" = " + std::to_string(c.ranks) + "]", "f32", c.sp,
                                     false),
                           1e-2, c.sp ? 2 : 1);
}
INSTANTIATE_TEST_SUITE_P(Mesh, MeshBundle,
                         ::testing::Values(BundleCase{1, false}, BundleCase{2, false},
                                           BundleCase{4, false}, BundleCase{8, false},
                                           BundleCase{2, true}, BundleCase{4, true},
                                           BundleCase{8, true}));

TEST(MeshBundle, LayersWithBiasesSplitTheFirstBiasAndAddTheSecondAfterTheSum) {
  // A column-parallel layer's bias is split with its columns (and fused
  // into that einsum with the silu); the row-parallel layer's bias is added
  // once, after the all-reduce.
  std::string text =
      "func.func @layer(%x: tensor<16x256xf32>, %w: tensor<128x256xf32>, %b: tensor<128xf32>, "
      "%w2: tensor<64x128xf32>, %b2: tensor<64xf32>) -> tensor<16x64xf32> attributes "
      "{loom.mesh = #loom.mesh<[\"tp\" = 4]>} {\n"
      "  %y = loom.einsum \"mk,nk->mn\" (%x, %w) {loom.shard = {n = \"tp\"}} : "
      "(tensor<16x256xf32>, tensor<128x256xf32>) -> tensor<16x128xf32>\n"
      "  %z = loom.add %y, %b : tensor<16x128xf32>, tensor<128xf32>\n"
      "  %a = loom.activation silu %z : tensor<16x128xf32>\n"
      "  %o = loom.einsum \"mn,hn->mh\" (%a, %w2) {loom.shard = {n = \"tp\"}} : "
      "(tensor<16x128xf32>, tensor<64x128xf32>) -> tensor<16x64xf32>\n"
      "  %r = loom.add %o, %b2 : tensor<16x64xf32>, tensor<64xf32>\n"
      "  return %r : tensor<16x64xf32>\n}\n";
  rt::Bundle b;
  expectBundleMatchesWhole(text, 1e-2, 1, &b);
  EXPECT_EQ(b.buffers[2].sharding, (std::vector<std::string>{"tp"}));
  EXPECT_TRUE(b.buffers[4].sharding.empty());
  EXPECT_EQ(b.kernels[0].bias, 2) << "the split bias fused into the first einsum";
}

/// A random layer pair over tp ranks: tokens T, hidden H and intermediate F
/// (multiples of the ranks), optional biases on both layers, optional
/// sequence parallelism, one of the activations.
std::string randomBlock(std::mt19937_64 &rng, int64_t tp, bool &sp, int &collectives) {
  auto pick = [&](std::initializer_list<int64_t> v) { return *(v.begin() + rng() % v.size()); };
  int64_t T = tp * pick({1, 2, 3, 8}), H = tp * pick({8, 16, 24}), F = tp * pick({8, 16, 40});
  bool bias1 = rng() % 2, bias2 = rng() % 2;
  sp = rng() % 2;
  const char *act = pick({0, 1, 2}) == 0 ? "gelu" : rng() % 2 ? "silu" : "relu";
  auto t = [](int64_t a, int64_t b) {
    return "tensor<" + std::to_string(a) + "x" + std::to_string(b) + "xf32>";
  };
  auto v = [](int64_t a) { return "tensor<" + std::to_string(a) + "xf32>"; };
  std::string args = "%x: " + t(T, H) + (sp ? " {loom.sharding = [\"tp\", \"\"]}" : "") +
                     ", %w1: " + t(F, H) + ", %w2: " + t(H, F);
  args += bias1 ? ", %b1: " + v(F) : "";
  args += bias2 ? ", %b2: " + v(H) : "";
  std::string body =
      "  %h = loom.einsum \"th,fh->tf\" (%x, %w1) {loom.shard = {f = \"tp\"}} : (" + t(T, H) +
      ", " + t(F, H) + ") -> " + t(T, F) + "\n";
  std::string h = "%h";
  if (bias1) {
    body += "  %hb = loom.add %h, %b1 : " + t(T, F) + ", " + v(F) + "\n";
    h = "%hb";
  }
  body += "  %a = loom.activation " + std::string(act) + " " + h + " : " + t(T, F) + "\n";
  body += "  %y = loom.einsum \"tf,hf->th\" (%a, %w2) {loom.shard = {f = \"tp\"}" +
          std::string(sp ? ", loom.out_shard = {t = \"tp\"}" : "") + "} : (" + t(T, F) + ", " +
          t(H, F) + ") -> " + t(T, H) + "\n";
  std::string y = "%y";
  if (bias2) {
    body += "  %yb = loom.add %y, %b2 : " + t(T, H) + ", " + v(H) + "\n";
    y = "%yb";
  }
  // Sequence parallel: gather x, reduce-scatter y; else one all-reduce.
  collectives = sp ? 2 : 1;
  return "func.func @block(" + args + ") -> " + t(T, H) +
         " attributes {loom.mesh = #loom.mesh<[\"tp\" = " + std::to_string(tp) + "]>} {\n" +
         body + "  return " + y + " : " + t(T, H) + "\n}\n";
}

TEST(MeshBundle, RandomBlocksOnEveryRankEqualTheWholeBlock) {
  std::mt19937_64 rng(20261207);
  for (int i = 0; i < 12; ++i) {
    int64_t tp = int64_t(1) << (rng() % 4);
    bool sp;
    int collectives;
    std::string text = randomBlock(rng, tp, sp, collectives);
    SCOPED_TRACE(text);
    expectBundleMatchesWhole(text, 1e-2, collectives);
    if (HasFailure())
      break;
  }
}

TEST(MeshBundle, AnAxisMovingBetweenDimensionsIsOneAllToAll) {
  // The first einsum leaves its result split by columns (f); the second
  // wants it split by rows (t): one all-to-all (split 0, concat 1), whose
  // pieces move through the scratch buffer.
  std::string text =
      "func.func @f(%x: tensor<8x16xf32>, %w1: tensor<32x16xf32>, %w2: tensor<8x32xf32>) -> "
      "tensor<8x8xf32> attributes {loom.mesh = #loom.mesh<[\"tp\" = 4]>} {\n"
      "  %h = loom.einsum \"th,fh->tf\" (%x, %w1) {loom.shard = {f = \"tp\"}} : "
      "(tensor<8x16xf32>, tensor<32x16xf32>) -> tensor<8x32xf32>\n"
      "  %a = loom.activation relu %h : tensor<8x32xf32>\n"
      "  %y = loom.einsum \"tf,gf->tg\" (%a, %w2) {loom.shard = {t = \"tp\"}} : "
      "(tensor<8x32xf32>, tensor<8x32xf32>) -> tensor<8x8xf32>\n"
      "  return %y : tensor<8x8xf32>\n}\n";
  rt::Bundle b;
  expectBundleMatchesWhole(text, 1e-2, 1, &b);
  EXPECT_TRUE(hasCollective(b, "all_to_all", 0, 1));
}

TEST(MeshBundle, RandomShardingsCompileAndRunAsTheWholeProgram) {
  // The partition fuzzer's chains (test/unit/MeshTest.cpp) that the
  // partitioner takes, compiled and run rank by rank on host memory:
  // reshards by all-to-all, gathers along any dimension, slices, biases.
  // (EINLOOM_MESH_FUZZ=N: N / 20 chains instead of 16.)
  std::mt19937_64 rng(7);
  const char *env = std::getenv("EINLOOM_MESH_FUZZ");
  int want = env ? std::atoi(env) / 20 : 16;
  int compiled = 0;
  for (int it = 0; it < 25 * want && compiled < want; ++it) {
    std::string text = test::randomChain(rng, "f32");
    {
      mlir::DialectRegistry registry;
      registerCompilerDialects(registry);
      mlir::MLIRContext ctx(registry);
      ctx.getDiagEngine().registerHandler([](mlir::Diagnostic &) { return mlir::success(); });
      auto m = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
      ASSERT_TRUE(m);
      mlir::PassManager pm(&ctx);
      pm.addPass(createLoomPartitionMesh());
      if (mlir::failed(pm.run(*m)))
        continue; // refused with an error (MeshFuzz checks that)
    }
    SCOPED_TRACE(text);
    ++compiled;
    expectBundleMatchesWhole(text, 1e-2, -1);
    if (HasFailure())
      break;
  }
  EXPECT_EQ(compiled, want);
}

TEST(MeshBundle, ColumnParallelResultGatheredAlongItsSecondDimension) {
  // The split label f is the second dimension of the first einsum's result,
  // which the second einsum reads whole: NCCL gathers the ranks' columns
  // stacked, and strided copies lay them side by side.
  std::string text =
      "func.func @col(%x: tensor<16x64xf32>, %w: tensor<256x64xf32>, %v: tensor<32x256xf32>) -> "
      "tensor<16x32xf32> attributes {loom.mesh = #loom.mesh<[\"tp\" = 4]>} {\n"
      "  %h = loom.einsum \"th,fh->tf\" (%x, %w) {loom.shard = {f = \"tp\"}} : "
      "(tensor<16x64xf32>, tensor<256x64xf32>) -> tensor<16x256xf32>\n"
      "  %y = loom.einsum \"tf,gf->tg\" (%h, %v) : (tensor<16x256xf32>, tensor<32x256xf32>) -> "
      "tensor<16x32xf32>\n"
      "  return %y : tensor<16x32xf32>\n}\n";
  rt::Bundle b;
  expectBundleMatchesWhole(text, 1e-2, 1, &b);
  EXPECT_TRUE(hasCollective(b, "all_gather", 1, 0, true))
      << "an all-gather along dimension 1 through a scratch buffer";
}

} // namespace
