//===- TimingCopiesTest.cpp - L2-cold input rotation of timing loops ---===//
#include "einloom/runtime/Runtime.h"

#include <gtest/gtest.h>

namespace {
constexpr int kL2 = 50 << 20; // an H100's or H200's L2

TEST(TimingInputCopies, SpansFourL2sAtMostEight) {
  // A 50 MB decode weight (4096 x 6144 f16, with 16 tokens) nearly fits
  // one L2: five copies span 252 MB (four would be 202 MB, short of 210).
  EXPECT_EQ(einloom::rt::timingInputCopies(size_t(4096) * 6144 * 2 + 16 * 4096 * 2, kL2), 5);
  // 117 MB: two copies span 234 MB (four L2s are 210 MB).
  EXPECT_EQ(einloom::rt::timingInputCopies(size_t(4096) * 14336 * 2, kL2), 2);
  // 470 MB streams from DRAM by itself.
  EXPECT_EQ(einloom::rt::timingInputCopies(size_t(8192) * 28672 * 2, kL2), 1);
  // Small inputs: capped at eight copies.
  EXPECT_EQ(einloom::rt::timingInputCopies(1 << 20, kL2), 8);
}

TEST(TimingInputCopies, UnknownCacheOrNoInputsMeansOneCopy) {
  EXPECT_EQ(einloom::rt::timingInputCopies(1 << 20, 0), 1);
  EXPECT_EQ(einloom::rt::timingInputCopies(0, kL2), 1);
}
} // namespace
