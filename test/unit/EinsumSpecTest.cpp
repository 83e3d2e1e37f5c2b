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
  EXPECT_TRUE(failed(parse("a...->a", &pos, &msg)));
  EXPECT_NE(msg.find("not supported yet"), std::string::npos);
}

TEST(EinsumSpec, RepeatedInputLabel) {
  EXPECT_TRUE(parse("ii->i")->hasRepeatedInputLabel());
  EXPECT_FALSE(parse("ij,jk->ik")->hasRepeatedInputLabel());
}
