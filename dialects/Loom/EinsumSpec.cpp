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
      emitError(i, "'...' needs the operands' ranks here; write the labels out");
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
      emitError(base + i, "'...' needs the operands' ranks here; write the labels out");
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

llvm::FailureOr<EinsumSpec> EinsumSpec::parse(
    llvm::StringRef spec, llvm::ArrayRef<int64_t> ranks,
    llvm::function_ref<void(size_t, const llvm::Twine &)> emitError) {
  if (spec.find('.') == llvm::StringRef::npos)
    return parse(spec, emitError);
  size_t arrow = spec.find("->");
  size_t lhsEnd = arrow == llvm::StringRef::npos ? spec.size() : arrow;
  // Every '.' must belong to a "...", at most one per operand and output.
  struct Part {
    size_t begin, end, dots = llvm::StringRef::npos;
    int64_t named = 0;
  };
  llvm::SmallVector<Part> parts{{0, lhsEnd}};
  for (size_t i = 0; i < lhsEnd; ++i)
    if (spec[i] == ',') {
      parts.back().end = i;
      parts.push_back({i + 1, lhsEnd});
    }
  Part out{arrow == llvm::StringRef::npos ? spec.size() : arrow + 2, spec.size()};
  auto scan = [&](Part &p) -> bool {
    for (size_t i = p.begin; i < p.end; ++i) {
      char c = spec[i];
      if (c != '.') {
        p.named += isLabel(c);
        continue;
      }
      if (spec.substr(i, 3) != "..." || i + 3 > p.end) {
        emitError(i, "a lone '.'; broadcast dimensions are written '...'");
        return false;
      }
      if (p.dots != llvm::StringRef::npos) {
        emitError(i, "a second '...' in one subscript");
        return false;
      }
      p.dots = i;
      i += 2;
    }
    return true;
  };
  for (Part &p : parts)
    if (!scan(p))
      return llvm::failure();
  if (!scan(out))
    return llvm::failure();
  if (ranks.size() != parts.size()) {
    emitError(0, "the spec has " + llvm::Twine(parts.size()) + " operand subscripts but there are " +
                     llvm::Twine(ranks.size()) + " operands");
    return llvm::failure();
  }
  // How many dimensions each operand's "..." covers; the widest sets the
  // output's.
  llvm::SmallVector<int64_t> covers;
  int64_t widest = 0;
  for (auto [p, rank] : llvm::zip(parts, ranks)) {
    int64_t n = p.dots == llvm::StringRef::npos ? 0 : rank - p.named;
    if (n < 0) {
      emitError(p.dots, "the operand has rank " + llvm::Twine(rank) + " but its subscripts name " +
                            llvm::Twine(p.named) + " dimensions");
      return llvm::failure();
    }
    covers.push_back(n);
    widest = std::max(widest, n);
  }
  std::string fresh;
  for (char c : std::string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
    if (static_cast<int64_t>(fresh.size()) < widest && spec.find(c) == llvm::StringRef::npos)
      fresh.push_back(c);
  if (static_cast<int64_t>(fresh.size()) < widest) {
    emitError(0, "not enough unused letters for the " + llvm::Twine(widest) + " dimensions of '...'");
    return llvm::failure();
  }
  auto expand = [&](const Part &p, int64_t n) {
    if (p.dots == llvm::StringRef::npos)
      return spec.substr(p.begin, p.end - p.begin).str();
    return (spec.substr(p.begin, p.dots - p.begin) + fresh.substr(widest - n) +
            spec.substr(p.dots + 3, p.end - p.dots - 3))
        .str();
  };
  std::string text;
  for (auto [i, p] : llvm::enumerate(parts))
    text += (i ? "," : "") + expand(p, covers[i]);
  if (arrow != llvm::StringRef::npos) {
    text += "->" + expand(out, widest);
  } else {
    // Implicit mode: the broadcast labels, then those that appear once.
    std::array<int, 128> count{};
    for (char c : text)
      if (isLabel(c))
        ++count[static_cast<unsigned char>(c)];
    std::string once;
    for (int c = 0; c < 128; ++c)
      if (count[c] == 1 && fresh.find(static_cast<char>(c)) == std::string::npos)
        once.push_back(static_cast<char>(c));
    text += "->" + fresh + once;
  }
  llvm::FailureOr<EinsumSpec> r = parse(text, [&](size_t pos, const llvm::Twine &msg) {
    emitError(0, msg + " (in \"" + text + "\", '...' written out)");
  });
  if (succeeded(r))
    r->ellipsisLabels = fresh;
  return r;
}
