//===- MeshTest.cpp - sharded programs checked on the CPU -----------------===//
//
// loom-partition-mesh's per-rank programs, run on every rank at once by the
// reference (collectives applied by their definitions), equal the unsharded
// program: the Megatron MLP block (column-parallel up-projection, gelu,
// row-parallel down-projection; with and without sequence parallelism) on
// meshes of 1, 2, 4 and 8 ranks, and on a data x tensor mesh.
//
//===----------------------------------------------------------------------===//
#include "einloom/Passes.h"
#include "einloom/Reference/Evaluator.h"

#include "MeshPrograms.h"

#include "Loom/LoomDialect.h"
#include "Loom/LoomOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>

using namespace einloom;
using einloom::test::mlp;

namespace {
struct Case {
  std::string mesh;
  int64_t ranks;
  bool sp, dp;
  const char *type;
};

void PrintTo(const Case &c, std::ostream *os) {
  *os << c.mesh << " " << c.type << (c.sp ? " sequence-parallel" : "") << (c.dp ? " data x tensor" : "");
}

mlir::DialectRegistry loomRegistry() {
  mlir::DialectRegistry registry;
  registry.insert<mlir::loom::LoomDialect, mlir::func::FuncDialect, mlir::arith::ArithDialect>();
  return registry;
}

/// `text` parsed twice: `f` as written, `g` through loom-partition-mesh.
struct Partitioned {
  mlir::MLIRContext ctx{loomRegistry()};
  mlir::OwningOpRef<mlir::ModuleOp> whole, split;
  mlir::func::FuncOp f, g;
  bool ok = false;
  explicit Partitioned(const std::string &text) {
    whole = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
    split = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
    if (!whole || !split)
      return;
    mlir::PassManager pm(&ctx);
    pm.addPass(createLoomPartitionMesh());
    if (mlir::failed(pm.run(*split)))
      return;
    f = *whole->getOps<mlir::func::FuncOp>().begin();
    g = *split->getOps<mlir::func::FuncOp>().begin();
    ok = true;
  }
};

/// Rank `r`'s slice of `t`, split as `sharding` (one axis name a dimension).
ref::Tensor rankSlice(const ref::Tensor &t, mlir::ArrayAttr sharding, mlir::loom::MeshAttr mesh,
                      int64_t r) {
  ref::Tensor s = t;
  for (auto [d, a] : llvm::enumerate(sharding)) {
    llvm::StringRef axis = llvm::cast<mlir::StringAttr>(a).getValue();
    if (!axis.empty())
      s = ref::sliceAlong(s, int64_t(d), mesh.getAxisSize(axis), mesh.getAxisIndex(axis, r));
  }
  return s;
}

/// Random inputs (`seed`) through the whole program, and their slices
/// through every rank's at once: each rank's result is its slice of the
/// whole one, to `tol` of the largest magnitude.
void expectRanksMatchWhole(Partitioned &p, uint64_t seed, double tol, const std::string &what) {
  auto args = ref::randomArguments(p.f, seed);
  ASSERT_TRUE(mlir::succeeded(args));
  auto want = ref::evaluate(p.f, *args);
  ASSERT_TRUE(mlir::succeeded(want));
  auto mesh = p.g->getAttrOfType<mlir::loom::MeshAttr>("loom.mesh");
  int64_t ranks = mesh.getNumRanks();
  std::vector<std::vector<ref::Tensor>> rankArgs(static_cast<size_t>(ranks));
  for (int64_t r = 0; r < ranks; ++r)
    for (size_t i = 0; i < args->size(); ++i)
      rankArgs[r].push_back(rankSlice(
          (*args)[i], p.g.getArgAttrOfType<mlir::ArrayAttr>(unsigned(i), "loom.sharding"), mesh, r));
  auto got = ref::evaluateMesh(p.g, rankArgs);
  ASSERT_TRUE(mlir::succeeded(got));
  auto resultSharding = p.g.getResultAttrOfType<mlir::ArrayAttr>(0, "loom.sharding");
  ASSERT_TRUE(resultSharding);
  for (int64_t r = 0; r < ranks; ++r) {
    ref::Tensor expect = rankSlice((*want)[0], resultSharding, mesh, r);
    const ref::Tensor &mine = (*got)[r][0];
    ASSERT_EQ(mine.shape, expect.shape) << "rank " << r;
    double worst = 0, scale = 0;
    for (size_t i = 0; i < mine.data.size(); ++i) {
      worst = std::max(worst, std::abs(mine.data[i] - expect.data[i]));
      scale = std::max(scale, std::abs(expect.data[i]));
    }
    EXPECT_LE(worst, tol * scale) << "rank " << r << " of " << what;
  }
}

class MeshMLP : public ::testing::TestWithParam<Case> {};

TEST_P(MeshMLP, ShardedEqualsWhole) {
  const Case &c = GetParam();
  std::string text = mlp(c.mesh, c.type, c.sp, c.dp);
  Partitioned p(text);
  ASSERT_TRUE(p.ok) << text;
  mlir::func::FuncOp g = p.g;
  ASSERT_EQ(g->getAttrOfType<mlir::loom::MeshAttr>("loom.mesh").getNumRanks(), c.ranks);
  // f64: the same sums in another order; f32: the partial sums each
  // rounded to f32 before the all-reduce adds them.
  expectRanksMatchWhole(p, 7, std::string(c.type) == "f64" ? 1e-12 : 1e-5, c.mesh);
  // What the pass inserted: one collective (two with sequence parallelism).
  int64_t reduces = 0, gathers = 0, scatters = 0;
  g.walk([&](mlir::Operation *op) {
    reduces += mlir::isa<mlir::loom::AllReduceOp>(op);
    gathers += mlir::isa<mlir::loom::AllGatherOp>(op);
    scatters += mlir::isa<mlir::loom::ReduceScatterOp>(op);
  });
  EXPECT_EQ(reduces, c.sp ? 0 : 1);
  EXPECT_EQ(gathers, c.sp ? 1 : 0);
  EXPECT_EQ(scatters, c.sp ? 1 : 0);
}

INSTANTIATE_TEST_SUITE_P(
    Meshes, MeshMLP,
    ::testing::Values(Case{"[\"tp\" = 1]", 1, false, false, "f64"},
                      Case{"[\"tp\" = 2]", 2, false, false, "f64"},
                      Case{"[\"tp\" = 4]", 4, false, false, "f64"},
                      Case{"[\"tp\" = 8]", 8, false, false, "f64"},
                      Case{"[\"tp\" = 2]", 2, true, false, "f64"},
                      Case{"[\"tp\" = 4]", 4, true, false, "f64"},
                      Case{"[\"tp\" = 8]", 8, true, false, "f64"},
                      Case{"[\"tp\" = 4]", 4, false, false, "f32"},
                      Case{"[\"tp\" = 8]", 8, true, false, "f32"},
                      Case{"[\"dp\" = 2, \"tp\" = 4]", 8, false, true, "f64"}));

// Quantized weights under the same split: each rank dequantizes only its
// slice of the codes and their scales (per channel for the up-projection,
// groups of 32 along the summed f for the down-projection).
TEST(MeshQuantizedMLP, EachRankDequantizesItsSlice) {
  for (int64_t n : {2, 4, 8}) {
    std::string text =
        "func.func @mlp(%x: tensor<16x64xf32>, %q1: tensor<256x64xi8>, %s1: tensor<256xf32>, "
        "%q2: tensor<64x256xi8>, %s2: tensor<64x8xf32>) -> tensor<16x64xf32> attributes "
        "{loom.mesh = #loom.mesh<[\"tp\" = " + std::to_string(n) + "]>} {\n"
        "  %w1 = loom.dequantize %q1, %s1 {quant = #loom.quant<bits = 8, kind = signed, "
        "granularity = channel, axis = 0, scale_type = f32>} : (tensor<256x64xi8>, "
        "tensor<256xf32>) -> tensor<256x64xf32>\n"
        "  %w2 = loom.dequantize %q2, %s2 {quant = #loom.quant<bits = 4, kind = signed, "
        "granularity = group, axis = 1, group_size = 32, scale_type = f32>} : "
        "(tensor<64x256xi8>, tensor<64x8xf32>) -> tensor<64x256xf32>\n"
        "  %h = loom.einsum \"th,fh->tf\" (%x, %w1) {loom.shard = {f = \"tp\"}} : "
        "(tensor<16x64xf32>, tensor<256x64xf32>) -> tensor<16x256xf32>\n"
        "  %a = loom.activation silu %h : tensor<16x256xf32>\n"
        "  %y = loom.einsum \"tf,hf->th\" (%a, %w2) {loom.shard = {f = \"tp\"}} : "
        "(tensor<16x256xf32>, tensor<64x256xf32>) -> tensor<16x64xf32>\n"
        "  return %y : tensor<16x64xf32>\n}\n";
    Partitioned p(text);
    ASSERT_TRUE(p.ok) << text;
    mlir::func::FuncOp g = p.g;
    // No rank holds a whole weight: no slice or gather of one is inserted.
    int64_t reshards = 0;
    g.walk([&](mlir::Operation *op) {
      reshards += mlir::isa<mlir::loom::ShardSliceOp, mlir::loom::AllGatherOp>(op);
    });
    EXPECT_EQ(reshards, 0);
    auto local = [&](unsigned i) {
      return llvm::cast<mlir::RankedTensorType>(g.getArgumentTypes()[i]).getShape().vec();
    };
    EXPECT_EQ(local(1), (std::vector<int64_t>{256 / n, 64}));
    EXPECT_EQ(local(2), (std::vector<int64_t>{256 / n}));
    EXPECT_EQ(local(3), (std::vector<int64_t>{64, 256 / n}));
    EXPECT_EQ(local(4), (std::vector<int64_t>{64, 8 / n}));
    expectRanksMatchWhole(p, 11, 1e-5, "tp = " + std::to_string(n));
  }
}

// Random shardings of a two-einsum chain: the partitioner either refuses
// with an error diagnostic (an uneven split, an axis the mesh lacks, two
// axes on one einsum's sums, ...) or its program equals the unsharded one
// on every rank. Never a crash, never a silent failure. EINLOOM_MESH_FUZZ=N
// runs N chains instead of 300.
TEST(MeshFuzz, RandomShardingsPartitionCorrectlyOrFailWithAnError) {
  std::mt19937_64 rng(20261207);
  int refused = 0, run = 0;
  const char *env = std::getenv("EINLOOM_MESH_FUZZ");
  int iterations = env ? std::atoi(env) : 300;
  for (int it = 0; it < iterations; ++it) {
    std::string text = test::randomChain(rng, "f64");
    SCOPED_TRACE(text);
    mlir::MLIRContext ctx(loomRegistry());
    int errors = 0;
    mlir::ScopedDiagnosticHandler count(&ctx, [&](mlir::Diagnostic &d) {
      errors += d.getSeverity() == mlir::DiagnosticSeverity::Error;
      return mlir::success();
    });
    auto split = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
    ASSERT_TRUE(split);
    mlir::PassManager pm(&ctx);
    pm.addPass(createLoomPartitionMesh());
    if (mlir::failed(pm.run(*split))) {
      EXPECT_GT(errors, 0) << "failed without an error";
      ++refused;
      continue;
    }
    ASSERT_EQ(errors, 0);
    ++run;
    Partitioned p(text);
    ASSERT_TRUE(p.ok);
    expectRanksMatchWhole(p, 5 + it, 1e-9, "random sharding");
    if (HasFailure())
      break;
  }
  // Both outcomes occur often.
  EXPECT_GT(refused, 20);
  EXPECT_GT(run, 20);
}

// The host collectives themselves, on a small tensor: slices and
// concatenation are inverses along each dimension.
TEST(MeshCollectives, SliceAndConcat) {
  ref::Tensor t(ref::DType::F64, {4, 6});
  for (size_t i = 0; i < t.data.size(); ++i)
    t.data[i] = double(i);
  for (int64_t dim : {0, 1}) {
    std::vector<ref::Tensor> parts;
    for (int64_t i = 0; i < 2; ++i)
      parts.push_back(ref::sliceAlong(t, dim, 2, i));
    EXPECT_EQ(parts[1].data[0], dim == 0 ? 12.0 : 3.0);
    EXPECT_EQ(ref::concatAlong(parts, dim).data, t.data);
  }
}
} // namespace
