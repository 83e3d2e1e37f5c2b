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
