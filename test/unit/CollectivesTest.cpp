//===- CollectivesTest.cpp - the NCCL layer against a mocked NCCL ---------===//
//
// The calls Communicator makes (which entry point, counts, types, peers,
// in order), and its errors: a communicator of the wrong size, NCCL's own
// errors with its text, a peer gone (an asynchronous error) and a timeout,
// both of which abort the communicator; and no NCCL at all.
//
//===----------------------------------------------------------------------===//
#include "einloom/runtime/Collectives.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

using namespace einloom::rt;

namespace {
std::vector<std::string> calls;
int fakeSize = 4, fakeRank = 2;
nccl::Result failWith = nccl::kSuccess; // returned by the collectives when set
nccl::Result asyncError = nccl::kSuccess;
char commObject;

std::string str(const char *name, std::initializer_list<long long> args) {
  std::string s = name;
  for (long long a : args)
    s += " " + std::to_string(a);
  return s;
}

NcclTable fakeTable() {
  NcclTable t;
  t.commCount = [](nccl::Comm, int *n) { *n = fakeSize; return nccl::kSuccess; };
  t.commUserRank = [](nccl::Comm, int *r) { *r = fakeRank; return nccl::kSuccess; };
  t.commInitRank = [](nccl::Comm *c, int n, nccl::UniqueId, int r) {
    calls.push_back(str("init", {n, r}));
    *c = &commObject;
    return nccl::kSuccess;
  };
  t.commDestroy = [](nccl::Comm) { calls.push_back("destroy"); return nccl::kSuccess; };
  t.commAbort = [](nccl::Comm) { calls.push_back("abort"); return nccl::kSuccess; };
  t.commGetAsyncError = [](nccl::Comm, nccl::Result *e) { *e = asyncError; return nccl::kSuccess; };
  t.getErrorString = [](nccl::Result r) {
    return r == 6 ? "remote process exited or there was a network error" : "some NCCL error";
  };
  t.allReduce = [](const void *, void *, size_t n, int dt, int op, nccl::Comm, void *) {
    calls.push_back(str("allReduce", {(long long)n, dt, op}));
    return failWith;
  };
  t.allGather = [](const void *, void *, size_t n, int dt, nccl::Comm, void *) {
    calls.push_back(str("allGather", {(long long)n, dt}));
    return failWith;
  };
  t.reduceScatter = [](const void *, void *, size_t n, int dt, int op, nccl::Comm, void *) {
    calls.push_back(str("reduceScatter", {(long long)n, dt, op}));
    return failWith;
  };
  t.send = [](const void *p, size_t n, int, int peer, nccl::Comm, void *) {
    calls.push_back(str("send", {(long long)(reinterpret_cast<uintptr_t>(p) & 0xfff), (long long)n, peer}));
    return peer == 1 ? failWith : nccl::kSuccess;
  };
  t.recv = [](void *p, size_t n, int, int peer, nccl::Comm, void *) {
    calls.push_back(str("recv", {(long long)(reinterpret_cast<uintptr_t>(p) & 0xfff), (long long)n, peer}));
    return nccl::kSuccess;
  };
  t.groupStart = [] { calls.push_back("groupStart"); return nccl::kSuccess; };
  t.groupEnd = [] { calls.push_back("groupEnd"); return nccl::kSuccess; };
  return t;
}

struct Collectives : ::testing::Test {
  void SetUp() override {
    calls.clear();
    fakeSize = 4;
    fakeRank = 2;
    failWith = asyncError = nccl::kSuccess;
  }
};

TEST_F(Collectives, CallsNcclWithTheBundlesTypes) {
  NcclTable t = fakeTable();
  Communicator c;
  ASSERT_TRUE(Communicator::wrap(t, &commObject, 4, c));
  EXPECT_EQ(c.size(), 4);
  EXPECT_EQ(c.rank(), 2);
  EXPECT_TRUE(c.allReduce(nullptr, nullptr, 1024, ncclTypeOf("bf16"), nullptr));
  EXPECT_TRUE(c.allGather(nullptr, nullptr, 256, ncclTypeOf("f16"), nullptr));
  EXPECT_TRUE(c.reduceScatter(nullptr, nullptr, 256, ncclTypeOf("f32"), nullptr));
  EXPECT_EQ(calls, (std::vector<std::string>{"allReduce 1024 9 0", "allGather 256 6",
                                             "reduceScatter 256 7 0"}));
  EXPECT_EQ(ncclTypeOf("e4m3"), -1);
}

TEST_F(Collectives, AllToAllSendsEachPeerItsSlice) {
  NcclTable t = fakeTable();
  Communicator c;
  ASSERT_TRUE(Communicator::wrap(t, &commObject, 4, c));
  alignas(4096) static char in[4096], out[4096];
  ASSERT_TRUE(c.allToAll(in, out, 64, ncclTypeOf("f16"), 2, nullptr));
  // 16 elements of 2 bytes a peer: offsets 0, 32, 64, 96.
  EXPECT_EQ(calls, (std::vector<std::string>{"groupStart", "send 0 16 0", "recv 0 16 0",
                                             "send 32 16 1", "recv 32 16 1", "send 64 16 2",
                                             "recv 64 16 2", "send 96 16 3", "recv 96 16 3",
                                             "groupEnd"}));
  // A failed send still closes the group, and says which call failed.
  calls.clear();
  failWith = 5;
  Status s = c.allToAll(in, out, 64, ncclTypeOf("f16"), 2, nullptr);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("ncclSend failed on rank 2 of 4"), std::string::npos) << s.message();
  EXPECT_EQ(calls.back(), "groupEnd");
  EXPECT_FALSE(c.allToAll(in, out, 63, ncclTypeOf("f16"), 2, nullptr));
}

TEST_F(Collectives, ErrorsAreClear) {
  NcclTable t = fakeTable();
  Communicator c;
  Status s = Communicator::wrap(t, &commObject, 8, c);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), "the program's mesh has 8 ranks but the communicator has 4");
  EXPECT_FALSE(Communicator::wrap(t, nullptr, 4, c));
  Communicator d;
  ASSERT_TRUE(Communicator::wrap(t, &commObject, 4, d));
  failWith = 6;
  s = d.allReduce(nullptr, nullptr, 8, ncclTypeOf("f32"), nullptr);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), "ncclAllReduce failed on rank 2 of 4: remote process exited or there "
                         "was a network error (6)");
  Communicator e;
  EXPECT_FALSE(Communicator::create(t, nccl::UniqueId{}, 4, 4, e));
}

TEST_F(Collectives, APeerGoneOrATimeoutAbortsInsteadOfHanging) {
  NcclTable t = fakeTable();
  {
    Communicator c;
    ASSERT_TRUE(Communicator::create(t, nccl::UniqueId{}, 4, 1, c));
    auto never = [](void *) { return false; };
    asyncError = 6;
    Status s = c.wait(never, nullptr, 10000);
    ASSERT_FALSE(s);
    EXPECT_NE(s.message().find("a collective failed on rank 1 of 4: remote process exited"),
              std::string::npos)
        << s.message();
    EXPECT_EQ(calls, (std::vector<std::string>{"init 4 1", "abort"}));
  } // (aborted: not destroyed again)
  EXPECT_EQ(calls.back(), "abort");
  calls.clear();
  asyncError = nccl::kSuccess;
  Communicator c;
  ASSERT_TRUE(Communicator::wrap(t, &commObject, 4, c));
  Status s = c.wait([](void *) { return false; }, nullptr, 20);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("did not finish within 20 ms on rank 2 of 4"), std::string::npos);
  EXPECT_EQ(calls, (std::vector<std::string>{"abort"}));
  int flag = 1;
  EXPECT_TRUE(c.wait([](void *p) { return *static_cast<int *>(p) == 1; }, &flag, 20));
}

// Split communicators answer their own size and rank: three fake objects.
char splitA, splitB;
std::vector<std::pair<int, int>> splits; // (color, key) per ncclCommSplit
nccl::Result splitAsync = nccl::kSuccess;

NcclTable splittingTable() {
  NcclTable t = fakeTable();
  t.commSplit = [](nccl::Comm, int color, int key, nccl::Comm *out, void *) {
    splits.push_back({color, key});
    *out = splits.size() == 1 ? &splitA : &splitB;
    return nccl::kSuccess;
  };
  // The world: 8 ranks, this one 5 (coordinates (1, 1) of dp = 2 x tp = 4);
  // the first split (dp) has 2 ranks, the second (tp) 4.
  t.commCount = [](nccl::Comm c, int *n) {
    *n = c == &splitA ? 2 : c == &splitB ? 4 : 8;
    return nccl::kSuccess;
  };
  t.commUserRank = [](nccl::Comm c, int *r) {
    *r = c == &commObject ? 5 : 1;
    return nccl::kSuccess;
  };
  t.commGetAsyncError = [](nccl::Comm c, nccl::Result *e) {
    *e = c == &splitB ? splitAsync : nccl::kSuccess;
    return nccl::kSuccess;
  };
  t.commAbort = [](nccl::Comm c) {
    calls.push_back(c == &splitA ? "abort dp" : c == &splitB ? "abort tp" : "abort world");
    return nccl::kSuccess;
  };
  return t;
}

TEST_F(Collectives, AMeshOfTwoAxesSplitsTheWorldPerAxis) {
  splits.clear();
  splitAsync = nccl::kSuccess;
  NcclTable t = splittingTable();
  Communicator world;
  ASSERT_TRUE(Communicator::wrap(t, &commObject, 0, world));
  std::vector<std::unique_ptr<Communicator>> owned;
  std::vector<Communicator *> perAxis;
  ASSERT_TRUE(meshCommunicators(world, {{"dp", 2}, {"tp", 4}}, owned, perAxis));
  // dp's group: the ranks with this tp coordinate (color 1), ordered by dp
  // (key 1); tp's: this dp coordinate (color 1), ordered by tp (key 1).
  EXPECT_EQ(splits, (std::vector<std::pair<int, int>>{{1, 1}, {1, 1}}));
  ASSERT_EQ(perAxis.size(), 2u);
  EXPECT_EQ(perAxis[0]->size(), 2);
  EXPECT_EQ(perAxis[1]->size(), 4);
  // One axis: the world itself, nothing split.
  splits.clear();
  std::vector<std::unique_ptr<Communicator>> none;
  ASSERT_TRUE(meshCommunicators(world, {{"tp", 8}}, none, perAxis));
  EXPECT_TRUE(splits.empty() && none.empty());
  EXPECT_EQ(perAxis, std::vector<Communicator *>{&world});
  // A mesh that is not the communicator's size.
  Status s = meshCommunicators(world, {{"tp", 4}}, none, perAxis);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("the program's mesh has 4 ranks but the communicator has 8"),
            std::string::npos)
      << s.message();
  // A peer gone on one axis aborts every axis's communicator.
  splits.clear();
  ASSERT_TRUE(meshCommunicators(world, {{"dp", 2}, {"tp", 4}}, owned, perAxis));
  calls.clear();
  splitAsync = 6;
  s = Communicator::waitAll(perAxis.data(), perAxis.size(), [](void *) { return false; }, nullptr,
                            10000);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("remote process exited"), std::string::npos) << s.message();
  EXPECT_EQ(calls, (std::vector<std::string>{"abort dp", "abort tp"}));
}

TEST_F(Collectives, NoCommSplitIsAClearErrorForTwoAxes) {
  NcclTable t = fakeTable(); // commSplit null: an NCCL before 2.18
  fakeSize = 8;
  Communicator world;
  ASSERT_TRUE(Communicator::wrap(t, &commObject, 8, world));
  std::vector<std::unique_ptr<Communicator>> owned;
  std::vector<Communicator *> perAxis;
  Status s = meshCommunicators(world, {{"dp", 2}, {"tp", 4}}, owned, perAxis);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("no ncclCommSplit (NCCL 2.18 or newer"), std::string::npos)
      << s.message();
}

TEST_F(Collectives, NoNcclIsAClearError) {
  setenv("EINLOOM_LIBNCCL", "libnccl-that-does-not-exist.so.2", 1);
  const NcclTable *t = nullptr;
  Status s = loadNccl(t);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("cannot load NCCL (libnccl-that-does-not-exist.so.2)"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(t, nullptr);
}
} // namespace
