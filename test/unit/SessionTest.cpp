// The embeddable compiler: caches in memory and on disk, errors as values,
// several threads at once.
#include "einloom/Session.h"
#include "einloom/Registration.h"
#include "einloom/runtime/Cache.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>
#include <unistd.h>

using namespace einloom;

namespace {
std::string freshDir() {
  char tmpl[] = "/tmp/einloom-session-test.XXXXXX";
  return mkdtemp(tmpl);
}

SessionOptions options(const std::string &dir) {
  SessionOptions o;
  o.cacheDir = dir;
  o.assemble = false; // PTX only: fast, and the same with or without ptxas
  return o;
}

EinsumRequest gemm(int m) {
  EinsumRequest q;
  q.spec = "mk,nk->mn";
  q.sizes = "m=" + std::to_string(m) + ",n=256,k=256";
  q.dtype = "f16";
  return q;
}

const char *kText = R"(
func.func @main(%a: tensor<128x64xf16>, %b: tensor<96x64xf16>) -> tensor<128x96xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %b) : (tensor<128x64xf16>, tensor<96x64xf16>) -> tensor<128x96xf16>
  return %c : tensor<128x96xf16>
}
)";
} // namespace

TEST(Session, MemoryThenDiskThenRebuildsACorruptEntry) {
  std::string dir = freshDir();
  auto s = Session::create(options(dir));
  ASSERT_TRUE(bool(s)) << llvm::toString(s.takeError());
  CacheOutcome how;
  auto b1 = (*s)->compileEinsum(gemm(300), &how);
  ASSERT_TRUE(bool(b1)) << llvm::toString(b1.takeError());
  EXPECT_EQ(how, CacheOutcome::Compiled);
  EXPECT_NE(b1->ptx.find(".entry main_einsum0"), std::string::npos);
  auto b2 = (*s)->compileEinsum(gemm(300), &how);
  ASSERT_TRUE(bool(b2));
  EXPECT_EQ(how, CacheOutcome::MemoryHit);
  EXPECT_EQ(b2->ptx, b1->ptx);
  auto other = (*s)->compileEinsum(gemm(7), &how); // another M: another kernel
  ASSERT_TRUE(bool(other));
  EXPECT_EQ(how, CacheOutcome::Compiled);
  EXPECT_NE(other->ptx, b1->ptx);
  EXPECT_EQ((*s)->stats().compiles, 2u);

  // A new session (a new process would do the same) finds it on disk.
  auto s2 = Session::create(options(dir));
  ASSERT_TRUE(bool(s2));
  auto b3 = (*s2)->compileEinsum(gemm(300), &how);
  ASSERT_TRUE(bool(b3));
  EXPECT_EQ(how, CacheOutcome::DiskHit);
  EXPECT_EQ(b3->ptx, b1->ptx);
  EXPECT_EQ((*s2)->stats().compiles, 0u);

  // Damage every entry: the next session discards them and recompiles.
  rt::CacheStats st;
  std::unique_ptr<rt::DiskCache> c;
  ASSERT_TRUE(rt::DiskCache::open(dir, 1 << 30, c));
  ASSERT_TRUE(c->stats(st));
  EXPECT_EQ(st.entries, 4u); // each under its canonical key and its request key
  std::string cmd = "for f in " + dir + "/*.bundle; do printf 'garbage' >> $f; done";
  ASSERT_EQ(system(cmd.c_str()), 0);
  auto s3 = Session::create(options(dir));
  ASSERT_TRUE(bool(s3));
  auto b4 = (*s3)->compileEinsum(gemm(300), &how);
  ASSERT_TRUE(bool(b4));
  EXPECT_EQ(how, CacheOutcome::Compiled);
  EXPECT_EQ(b4->ptx, b1->ptx);
  EXPECT_NE((*s3)->stats().lastDiskNote.find("discarded a corrupt entry"), std::string::npos)
      << (*s3)->stats().lastDiskNote;
}

TEST(Session, KeysFollowTheCanonicalIRTargetAndOptions) {
  std::string dir = freshDir();
  auto s = Session::create(options(dir));
  ASSERT_TRUE(bool(s));
  auto k1 = (*s)->cacheKey(kText);
  ASSERT_TRUE(bool(k1)) << llvm::toString(k1.takeError());
  // Comments, spacing and SSA names do not change the key...
  std::string respelled = std::string("// a comment\n") + kText;
  for (auto [from, to] : {std::pair<std::string, std::string>{"%c", "%result"}, {"  ", "    "}})
    for (size_t p = respelled.find(from); p != std::string::npos; p = respelled.find(from, p + to.size()))
      respelled.replace(p, from.size(), to);
  auto k2 = (*s)->cacheKey(respelled);
  ASSERT_TRUE(bool(k2));
  EXPECT_EQ(*k1, *k2);
  EXPECT_TRUE(rt::DiskCache::validKey(*k1));
  // ...a different shape, target or option does.
  std::string bigger = kText;
  for (size_t p = bigger.find("128x"); p != std::string::npos; p = bigger.find("128x", p + 4))
    bigger.replace(p, 4, "256x");
  auto k3 = (*s)->cacheKey(bigger);
  ASSERT_TRUE(bool(k3));
  EXPECT_NE(*k1, *k3);
  SessionOptions o = options(dir);
  o.target = "sm_80";
  auto s80 = Session::create(o);
  ASSERT_TRUE(bool(s80));
  auto k4 = (*s80)->cacheKey(kText);
  ASSERT_TRUE(bool(k4));
  EXPECT_NE(*k1, *k4);
  o = options(dir);
  o.assemble = true;
  auto sa = Session::create(o);
  ASSERT_TRUE(bool(sa));
  auto k5 = (*sa)->cacheKey(kText);
  ASSERT_TRUE(bool(k5));
  EXPECT_NE(*k1, *k5);
}

TEST(Session, ADynamicDimensionIsOneBundleWithVariantsAndTheBucketsAreInTheKey) {
  std::string dir = freshDir();
  SessionOptions o = options(dir);
  o.buckets = {16, 256};
  o.dynamicMax = 4096;
  auto s = Session::create(o);
  ASSERT_TRUE(bool(s));
  EinsumRequest q{"mk,nk->mn", "m=?,n=64,k=32", "f16", "", "", false, ""};
  auto b = (*s)->compileEinsum(q);
  ASSERT_TRUE(bool(b)) << llvm::toString(b.takeError());
  EXPECT_TRUE(rt::isDynamic(*b));
  EXPECT_EQ(b->dynamicMax, 4096);
  ASSERT_EQ(b->variants.size(), 3u);
  EXPECT_EQ(b->variants[1].lo, 17);
  EXPECT_EQ(b->variants[1].hi, 256);
  // Other buckets compile to another bundle: the key must differ.
  const char *text = "func.func @main(%a: tensor<?x32xf16>, %b: tensor<64x32xf16>) -> tensor<?x64xf16> {\n"
                     "  %c = loom.einsum \"mk,nk->mn\"(%a, %b) : (tensor<?x32xf16>, tensor<64x32xf16>) -> tensor<?x64xf16>\n"
                     "  return %c : tensor<?x64xf16>\n}\n";
  auto k1 = (*s)->cacheKey(text);
  ASSERT_TRUE(bool(k1)) << llvm::toString(k1.takeError());
  o.buckets = {16, 512};
  auto s2 = Session::create(o);
  ASSERT_TRUE(bool(s2));
  auto k2 = (*s2)->cacheKey(text);
  ASSERT_TRUE(bool(k2));
  EXPECT_NE(*k1, *k2);
  auto b2 = (*s2)->compileMLIR(text);
  ASSERT_TRUE(bool(b2)) << llvm::toString(b2.takeError());
  EXPECT_EQ(b2->variants[1].hi, 512);
}

TEST(Session, CompilesAModuleFromTheCallersOwnContext) {
  auto s = Session::create(options(freshDir()));
  ASSERT_TRUE(bool(s));
  // A framework's context, not the session's.
  mlir::DialectRegistry registry;
  registerCompilerDialects(registry);
  mlir::MLIRContext ctx(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(kText, &ctx);
  ASSERT_TRUE(module);
  CacheOutcome how;
  auto fromModule = (*s)->compileModule(module->getOperation(), "", &how);
  ASSERT_TRUE(bool(fromModule)) << llvm::toString(fromModule.takeError());
  EXPECT_EQ(how, CacheOutcome::Compiled);
  EXPECT_EQ(fromModule->kernels.size(), 1u);
  EXPECT_EQ(fromModule->buffers[2].shape, (std::vector<int64_t>{128, 96}));
  // The caller's module is left as it was: no plan, no kernels.
  std::string after;
  llvm::raw_string_ostream os(after);
  module->print(os);
  EXPECT_EQ(after.find("loom.plan"), std::string::npos) << after;
  EXPECT_EQ(after.find("gpu.module"), std::string::npos);
  // The same program as text is the same kernel.
  auto fromText = (*s)->compileMLIR(kText);
  ASSERT_TRUE(bool(fromText));
  EXPECT_EQ(fromText->ptx, fromModule->ptx);
  auto bad = (*s)->compileModule(nullptr);
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("builtin.module"), std::string::npos);
}

TEST(Session, ErrorsAreValuesAndNothingIsPrinted) {
  auto s = Session::create(options(freshDir()));
  ASSERT_TRUE(bool(s));
  testing::internal::CaptureStderr();
  EinsumRequest bad = gemm(64);
  bad.spec = "mk,nk->mq";
  auto r1 = (*s)->compileEinsum(bad);
  auto r2 = (*s)->compileMLIR("func.func @main( {");
  EinsumRequest badPlan = gemm(64);
  badPlan.plan = "#loom.plan<tile_m = 3>";
  auto r3 = (*s)->compileEinsum(badPlan);
  EinsumRequest unsupported = gemm(64);
  unsupported.dtype = "i4"; // no instruction for it (f64 runs on the CUDA cores)
  auto r4 = (*s)->compileEinsum(unsupported);
  std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(printed.empty()) << printed;
  ASSERT_FALSE(bool(r1));
  EXPECT_NE(llvm::toString(r1.takeError()).find("invalid einsum"), std::string::npos);
  ASSERT_FALSE(bool(r2));
  EXPECT_NE(llvm::toString(r2.takeError()).find("does not parse"), std::string::npos);
  ASSERT_FALSE(bool(r3));
  llvm::consumeError(r3.takeError());
  ASSERT_FALSE(bool(r4));
  EXPECT_NE(llvm::toString(r4.takeError()).find("no instruction for 'i4'"), std::string::npos);
  SessionOptions o;
  o.target = "sm_75";
  auto bt = Session::create(o);
  ASSERT_FALSE(bool(bt));
  EXPECT_NE(llvm::toString(bt.takeError()).find("unknown target 'sm_75'"), std::string::npos);
  // An unusable cache directory is an error too, not a crash.
  std::string file = freshDir() + "/file";
  std::ofstream(file) << "x";
  o = options(file);
  auto bd = Session::create(o);
  ASSERT_FALSE(bool(bd));
  llvm::consumeError(bd.takeError());
}

TEST(Session, ThreadsShareOneSession) {
  auto s = Session::create(options(freshDir()));
  ASSERT_TRUE(bool(s));
  Session &session = **s;
  std::vector<std::thread> threads;
  std::vector<std::string> ptx(8);
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      auto b = session.compileEinsum(gemm(t % 2 ? 100 : 200));
      if (b) {
        ok[t] = 1;
        ptx[t] = b->ptx;
      } else {
        llvm::consumeError(b.takeError());
      }
    });
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < 8; ++t) {
    EXPECT_EQ(ok[t], 1);
    EXPECT_EQ(ptx[t], ptx[t % 2]);
  }
  EXPECT_NE(ptx[0], ptx[1]);
  SessionStats st = session.stats();
  EXPECT_EQ(st.compiles, 2u); // each distinct request compiled once
  EXPECT_EQ(st.memoryHits + st.diskHits, 6u);
}
