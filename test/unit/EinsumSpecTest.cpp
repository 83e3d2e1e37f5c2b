#include "Loom/EinsumSpec.h"

#include <gtest/gtest.h>

using mlir::loom::EinsumSpec;

static llvm::FailureOr<EinsumSpec> parse(const char *s, size_t *pos = nullptr,
                                         std::string *msg = nullptr) {
  return EinsumSpec::parse(s, [&](size_t p, const llvm::Twine &m) {
    if (pos)
      *pos = p;
    if (msg)
      *msg = m.str();
  });
}

TEST(EinsumSpec, Explicit) {
  auto s = parse("bmk, bnk -> bmn");
  ASSERT_TRUE(succeeded(s));
  EXPECT_EQ(s->inputs.size(), 2u);
  EXPECT_EQ(s->inputs[1], "bnk");
  EXPECT_EQ(s->output, "bmn");
  EXPECT_EQ(s->summedLabels(), "k");
  EXPECT_EQ(s->str(), "bmk,bnk->bmn");
}

TEST(EinsumSpec, ImplicitOutputIsSortedSingletons) {
  auto s = parse("ji,jk");
  ASSERT_TRUE(succeeded(s));
  EXPECT_EQ(s->output, "ik");
  EXPECT_TRUE(succeeded(parse("ii")));
  EXPECT_EQ(parse("ii")->output, "");
}

TEST(EinsumSpec, ErrorsCarryPositions) {
  size_t pos = 0;
  std::string msg;
  EXPECT_TRUE(failed(parse("ab,c$->a", &pos, &msg)));
  EXPECT_EQ(pos, 4u);
  EXPECT_TRUE(failed(parse("ab->aa", &pos, &msg)));
  EXPECT_EQ(pos, 5u);
  EXPECT_NE(msg.find("twice"), std::string::npos);
  EXPECT_TRUE(failed(parse("ab->c", &pos, &msg)));
  EXPECT_EQ(pos, 4u);
  // Without the operands' ranks, `...` cannot be written out.
  EXPECT_TRUE(failed(parse("a...->a", &pos, &msg)));
  EXPECT_EQ(pos, 1u);
  EXPECT_NE(msg.find("needs the operands' ranks"), std::string::npos) << msg;
}

static llvm::FailureOr<EinsumSpec> parseRanks(const char *s, std::vector<int64_t> ranks,
                                              std::string *msg = nullptr) {
  return EinsumSpec::parse(s, ranks, [&](size_t, const llvm::Twine &m) {
    if (msg)
      *msg = m.str();
  });
}

TEST(EinsumSpec, EllipsisGetsFreshLabelsRightAligned) {
  auto s = parseRanks("...ij,...jk->...ik", {4, 3});
  ASSERT_TRUE(succeeded(s));
  // Operand 0 covers two broadcast dimensions, operand 1 only the inner one.
  EXPECT_EQ(s->ellipsisLabels, "AB");
  EXPECT_EQ(s->str(), "ABij,Bjk->ABik");
  // Letters the spec uses are not taken.
  auto t = parseRanks("A...b,b->...A", {3, 2});
  ASSERT_TRUE(succeeded(t));
  EXPECT_EQ(t->str(), "ABb,b->BA");
  // An explicit output without `...` sums the broadcast dimensions; implicit
  // mode puts them first.
  EXPECT_EQ(parseRanks("...i->i", {3})->str(), "ABi->i");
  EXPECT_EQ(parseRanks("...ij,jk", {3, 2})->str(), "Aij,jk->Aik");
  // `...` may stand for nothing.
  EXPECT_EQ(parseRanks("...ij,jk->...ik", {2, 2})->str(), "ij,jk->ik");
  std::string msg;
  EXPECT_TRUE(failed(parseRanks("...ij->ij", {1}, &msg)));
  EXPECT_NE(msg.find("rank 1 but its subscripts name 2"), std::string::npos) << msg;
  EXPECT_TRUE(failed(parseRanks("...i,i", {2}, &msg)));
  EXPECT_NE(msg.find("2 operand subscripts but there are 1 operands"), std::string::npos) << msg;
}

TEST(EinsumSpec, RepeatedInputLabel) {
  EXPECT_TRUE(parse("ii->i")->hasRepeatedInputLabel());
  EXPECT_FALSE(parse("ij,jk->ik")->hasRepeatedInputLabel());
}
