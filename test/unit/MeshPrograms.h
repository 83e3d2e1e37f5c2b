//===- MeshPrograms.h - sharded loom programs the tests share -------------===//
#ifndef EINLOOM_TEST_MESHPROGRAMS_H
#define EINLOOM_TEST_MESHPROGRAMS_H

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

} // namespace einloom::test

#endif
