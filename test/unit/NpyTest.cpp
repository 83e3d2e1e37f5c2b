#include "einloom/Reference/Npy.h"

#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace einloom::ref;

static std::string tempPath(const char *name) {
  return std::string(::testing::TempDir()) + "/" + name + std::to_string(::getpid());
}

TEST(Npy, RoundTripEachType) {
  for (DType t : {DType::F64, DType::F32, DType::F16, DType::I32, DType::I8}) {
    Tensor x(t, {2, 3});
    x.data = {1, -2, 3, 4, 5, -6};
    std::string path = tempPath("rt.npy"), err;
    ASSERT_TRUE(writeNpy(path, x, err)) << err;
    Tensor y;
    ASSERT_TRUE(readNpy(path, t, y, err)) << err;
    EXPECT_EQ(y.shape, x.shape);
    EXPECT_EQ(y.data, x.data);
    std::remove(path.c_str());
  }
}

TEST(Npy, RejectsTruncatedAndMistyped) {
  Tensor x(DType::F32, {4});
  x.data = {1, 2, 3, 4};
  std::string path = tempPath("bad.npy"), err;
  ASSERT_TRUE(writeNpy(path, x, err));
  Tensor y;
  EXPECT_FALSE(readNpy(path, DType::I32, y, err));
  EXPECT_NE(err.find("floating-point"), std::string::npos) << err;
  // Chop the last 3 bytes.
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  in.close();
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 3);
  EXPECT_FALSE(readNpy(path, DType::F32, y, err));
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  // A header cut short.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, 20);
  EXPECT_FALSE(readNpy(path, DType::F32, y, err));
  std::remove(path.c_str());
}

TEST(Npy, IntegerOutOfRangeForArgument) {
  Tensor x(DType::I32, {1});
  x.data = {300};
  std::string path = tempPath("range.npy"), err;
  ASSERT_TRUE(writeNpy(path, x, err));
  Tensor y;
  EXPECT_FALSE(readNpy(path, DType::I8, y, err));
  EXPECT_NE(err.find("does not fit i8"), std::string::npos) << err;
  std::remove(path.c_str());
}

// A corrupt header's shape is checked against the file before any memory is
// allocated for it: 10^11 elements (800 GB as doubles) and a shape whose
// element count overflows 64 bits are errors, not an allocation failure.
TEST(Npy, HugeShapeInHeaderIsAnError) {
  Tensor x(DType::F32, {4});
  x.data = {1, 2, 3, 4};
  std::string path = tempPath("huge.npy"), err;
  ASSERT_TRUE(writeNpy(path, x, err));
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  in.close();
  size_t at = bytes.find("(4,)");
  ASSERT_NE(at, std::string::npos);
  // (The header's padding takes up the longer text.)
  std::pair<const char *, const char *> cases[] = {
      {"(100000000000,)", "truncated: expected 400000000000 bytes"},
      {"(4294967296, 4294967296, 16)", "has too many elements"}};
  for (auto [shape, message] : cases) {
    std::string header = bytes;
    header.replace(at, 4, shape);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << header;
    Tensor y;
    EXPECT_FALSE(readNpy(path, DType::F32, y, err)) << shape;
    EXPECT_NE(err.find(message), std::string::npos) << err;
    EXPECT_TRUE(y.data.empty());
  }
  std::remove(path.c_str());
}
