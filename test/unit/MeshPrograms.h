//===- MeshPrograms.h - sharded loom programs the tests share -------------===//
#ifndef EINLOOM_TEST_MESHPROGRAMS_H
#define EINLOOM_TEST_MESHPROGRAMS_H

#include <cstdint>
#include <random>
#include <string>

namespace einloom::test {

/// The MLP block over `mesh`, `sp`: sequence parallel (x split by tokens,
/// the result reduce-scattered back to them); `dp`: x and the result split
/// by tokens over a "dp" axis as well.
inline std::string mlp(const std::string &mesh, const std::string &type, bool sp, bool dp) {
  std::string t = "tensor<16x64x" + type + ">", w1 = "tensor<256x64x" + type + ">",
              w2 = "tensor<64x256x" + type + ">", h = "tensor<16x256x" + type + ">";
  std::string xShard = sp ? " {loom.sharding = [\"tp\", \"\"]}" : dp ? " {loom.sharding = [\"dp\", \"\"]}" : "";
  std::string shard1 = dp ? "{loom.shard = {f = \"tp\", t = \"dp\"}}" : "{loom.shard = {f = \"tp\"}}";
  std::string shard2 = sp   ? "{loom.shard = {f = \"tp\"}, loom.out_shard = {t = \"tp\"}}"
                       : dp ? "{loom.shard = {f = \"tp\", t = \"dp\"}}"
                            : "{loom.shard = {f = \"tp\"}}";
  return "func.func @mlp(%x: " + t + xShard + ", %w1: " + w1 + ", %w2: " + w2 + ") -> " + t +
         " attributes {loom.mesh = #loom.mesh<" + mesh + ">} {\n"
         "  %h = loom.einsum \"th,fh->tf\" (%x, %w1) " + shard1 + " : (" + t + ", " + w1 + ") -> " + h + "\n"
         "  %a = loom.activation gelu %h : " + h + "\n"
         "  %y = loom.einsum \"tf,hf->th\" (%a, %w2) " + shard2 + " : (" + h + ", " + w2 + ") -> " + t + "\n"
         "  return %y : " + t + "\n}\n";
}

/// A random two-einsum chain over a random mesh (tp = 2 or 4, or dp x tp),
/// of element type `type`: labels split over random axes (sometimes one the
/// mesh lacks), sometimes a split input or result, a bias (with or without
/// its own split) or a scale between the einsums, sizes that do not always
/// divide. loom-partition-mesh must take it correctly or refuse it with an
/// error.
inline std::string randomChain(std::mt19937_64 &rng, const std::string &type) {
  const char *meshes[] = {"[\"tp\" = 2]", "[\"tp\" = 4]", "[\"dp\" = 2, \"tp\" = 2]"};
  const char *axes[] = {"tp", "tp", "dp", "ep"};
  auto pick = [&](std::initializer_list<int64_t> v) { return *(v.begin() + rng() % v.size()); };
  std::string mesh = meshes[rng() % 3];
  int64_t T = pick({4, 6, 8, 16}), H = pick({4, 8, 12}), F = pick({8, 6, 16}), G = pick({4, 8});
  auto shardOf = [&](const std::string &labels, const char *attr) {
    std::string d;
    for (char l : labels)
      if (rng() % 3 == 0)
        d += std::string(d.empty() ? "" : ", ") + l + " = \"" + axes[rng() % 4] + "\"";
    return d.empty() ? std::string() : std::string(attr) + " = {" + d + "}";
  };
  auto attrs = [](std::string a, std::string b) {
    std::string both = a + (a.empty() || b.empty() ? "" : ", ") + b;
    return both.empty() ? std::string() : " {" + both + "}";
  };
  auto t = [&](int64_t a, int64_t b) {
    return "tensor<" + std::to_string(a) + "x" + std::to_string(b) + "x" + type + ">";
  };
  std::string vec = "tensor<" + std::to_string(F) + "x" + type + ">";
  std::string xShard = rng() % 4 == 0 ? std::string(" {loom.sharding = [\"") + axes[rng() % 3] +
                                            "\", \"\"]}"
                                      : "";
  bool bias = rng() % 3 == 0;
  std::string biasArg =
      !bias ? std::string()
            : ", %b: " + vec +
                  (rng() % 2 ? std::string(" {loom.sharding = [\"") + axes[rng() % 3] + "\"]}"
                             : std::string());
  // Drawn in this order (the operands of + below have none).
  std::string shard1 = shardOf("thf", "loom.shard");
  std::string shard2 = shardOf("tfg", "loom.shard");
  std::string out2 = shardOf("tg", "loom.out_shard");
  return "func.func @f(%x: " + t(T, H) + xShard + ", %w1: " + t(F, H) + ", %w2: " + t(G, F) +
         biasArg + ") -> " + t(T, G) + " attributes {loom.mesh = #loom.mesh<" + mesh + ">} {\n" +
         "  %h0 = loom.einsum \"th,fh->tf\" (%x, %w1)" + attrs(shard1, "") +
         " : (" + t(T, H) + ", " + t(F, H) + ") -> " + t(T, F) + "\n" +
         (bias ? "  %h = loom.add %h0, %b : " + t(T, F) + ", " + vec + "\n"
               : "  %h = loom.scale %h0 by 0.5 : " + t(T, F) + "\n") +
         "  %a = loom.activation relu %h : " + t(T, F) + "\n" +
         "  %y = loom.einsum \"tf,gf->tg\" (%a, %w2)" +
         attrs(shard2, out2) + " : (" +
         t(T, F) + ", " + t(G, F) + ") -> " + t(T, G) + "\n" + "  return %y : " + t(T, G) +
         "\n}\n";
}

} // namespace einloom::test

#endif
