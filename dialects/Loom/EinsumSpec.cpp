//===- EinsumSpec.cpp - einsum subscript parsing --------------------------===//
#include "Loom/EinsumSpec.h"

#include <algorithm>
#include <array>

using namespace mlir::loom;

static bool isLabel(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

llvm::FailureOr<EinsumSpec> EinsumSpec::parse(
    llvm::StringRef spec,
    llvm::function_ref<void(size_t, const llvm::Twine &)> emitError) {
  EinsumSpec result;
  size_t arrow = spec.find("->");
  if (arrow != llvm::StringRef::npos) {
    size_t second = spec.find("->", arrow + 2);
    if (second != llvm::StringRef::npos) {
      emitError(second, "a second '->'");
      return llvm::failure();
    }
  }
  llvm::StringRef lhs = spec.substr(0, arrow);
  result.inputs.emplace_back();
  for (size_t i = 0; i < lhs.size(); ++i) {
    char c = lhs[i];
    if (c == ' ')
      continue;
    if (c == ',') {
      result.inputs.emplace_back();
      continue;
    }
    if (c == '.') {
      emitError(i, "'...' broadcasting is not supported yet");
      return llvm::failure();
    }
    if (c == '-' || c == '>') {
      emitError(i, "a stray '" + llvm::Twine(c) + "'; the output follows '->'");
      return llvm::failure();
    }
    if (!isLabel(c)) {
      emitError(i, "invalid character '" + llvm::Twine(c) +
                       "'; labels are ASCII letters");
      return llvm::failure();
    }
    result.inputs.back().push_back(c);
  }

  std::array<int, 128> count{};
  for (const std::string &in : result.inputs)
    for (char c : in)
      ++count[static_cast<unsigned char>(c)];

  if (arrow == llvm::StringRef::npos) {
    // Implicit mode: labels that appear exactly once, alphabetically.
    for (int c = 0; c < 128; ++c)
      if (count[c] == 1)
        result.output.push_back(static_cast<char>(c));
    std::sort(result.output.begin(), result.output.end());
    return result;
  }

  llvm::StringRef rhs = spec.substr(arrow + 2);
  size_t base = arrow + 2;
  for (size_t i = 0; i < rhs.size(); ++i) {
    char c = rhs[i];
    if (c == ' ')
      continue;
    if (c == '.') {
      emitError(base + i, "'...' broadcasting is not supported yet");
      return llvm::failure();
    }
    if (c == ',') {
      emitError(base + i, "einsum has a single output; ',' after '->'");
      return llvm::failure();
    }
    if (!isLabel(c)) {
      emitError(base + i, "invalid character '" + llvm::Twine(c) +
                              "'; labels are ASCII letters");
      return llvm::failure();
    }
    if (result.output.find(c) != std::string::npos) {
      emitError(base + i, "label '" + llvm::Twine(c) +
                              "' appears twice in the output");
      return llvm::failure();
    }
    if (count[static_cast<unsigned char>(c)] == 0) {
      emitError(base + i, "label '" + llvm::Twine(c) +
                              "' appears only in the output");
      return llvm::failure();
    }
    result.output.push_back(c);
  }
  return result;
}

std::string EinsumSpec::allLabels() const {
  std::string labels = output;
  for (const std::string &in : inputs)
    for (char c : in)
      if (labels.find(c) == std::string::npos)
        labels.push_back(c);
  return labels;
}

std::string EinsumSpec::summedLabels() const {
  return allLabels().substr(output.size());
}

std::string EinsumSpec::str() const {
  std::string s;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i)
      s += ',';
    s += inputs[i];
  }
  return s + "->" + output;
}

bool EinsumSpec::hasRepeatedInputLabel() const {
  for (const std::string &in : inputs) {
    std::array<int, 128> seen{};
    for (char c : in)
      if (seen[static_cast<unsigned char>(c)]++)
        return true;
  }
  return false;
}
