//===- Tensor.cpp - host tensors and dtype rounding -----------------------===//
#include "einloom/Reference/Tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sys/resource.h>
#include <unistd.h>

using namespace einloom::ref;

namespace {
/// A binary float format: precision p (with the implicit bit), minimum
/// normal exponent, largest finite value, and whether it has infinities.
struct FloatFormat {
  int precision;
  int minExp;
  double max;
  bool hasInf;
  int expBits;
};

FloatFormat formatOf(DType t) {
  switch (t) {
  case DType::F32:
    return {24, -126, 3.4028234663852886e38, true, 8};
  case DType::F16:
    return {11, -14, 65504.0, true, 5};
  case DType::BF16:
    return {8, -126, 3.3895313892515355e38, true, 8};
  case DType::F8E4M3FN:
    return {4, -6, 448.0, false, 4};
  case DType::F8E5M2:
    return {3, -14, 57344.0, true, 5};
  default:
    return {53, -1022, std::numeric_limits<double>::max(), true, 11};
  }
}

/// Round to nearest even with an unbounded exponent range above minExp.
double roundMantissa(double x, const FloatFormat &f) {
  if (x == 0 || !std::isfinite(x))
    return x;
  int e;
  std::frexp(x, &e);
  int lead = std::max(e - 1, f.minExp);
  double quantum = std::ldexp(1.0, lead - (f.precision - 1));
  return std::nearbyint(x / quantum) * quantum;
}
} // namespace

const char *einloom::ref::dtypeName(DType t) {
  switch (t) {
  case DType::F64: return "f64";
  case DType::F32: return "f32";
  case DType::F16: return "f16";
  case DType::BF16: return "bf16";
  case DType::F8E4M3FN: return "f8E4M3FN";
  case DType::F8E5M2: return "f8E5M2";
  case DType::I64: return "i64";
  case DType::I32: return "i32";
  case DType::I16: return "i16";
  case DType::I8: return "i8";
  case DType::I4: return "i4";
  }
  return "?";
}

bool einloom::ref::parseDType(const std::string &name, DType &out) {
  for (DType t : {DType::F64, DType::F32, DType::F16, DType::BF16,
                  DType::F8E4M3FN, DType::F8E5M2, DType::I64, DType::I32,
                  DType::I16, DType::I8, DType::I4})
    if (name == dtypeName(t)) {
      out = t;
      return true;
    }
  return false;
}

bool einloom::ref::isFloat(DType t) {
  return t == DType::F64 || t == DType::F32 || t == DType::F16 ||
         t == DType::BF16 || t == DType::F8E4M3FN || t == DType::F8E5M2;
}

unsigned einloom::ref::bitWidth(DType t) {
  switch (t) {
  case DType::F64: case DType::I64: return 64;
  case DType::F32: case DType::I32: return 32;
  case DType::F16: case DType::BF16: case DType::I16: return 16;
  case DType::F8E4M3FN: case DType::F8E5M2: case DType::I8: return 8;
  case DType::I4: return 4;
  }
  return 0;
}

double einloom::ref::maxFinite(DType t) { return formatOf(t).max; }

double einloom::ref::roundTo(DType t, double x) {
  if (t == DType::F64)
    return x;
  if (isFloat(t)) {
    FloatFormat f = formatOf(t);
    double r = roundMantissa(x, f);
    if (std::isfinite(r) && std::fabs(r) > f.max)
      return f.hasInf ? std::copysign(INFINITY, r) : NAN;
    return r;
  }
  if (!std::isfinite(x))
    return 0;
  unsigned w = bitWidth(t);
  double v = std::trunc(x);
  if (w == 64)
    return v;
  double mod = std::ldexp(1.0, w);
  v = std::fmod(v, mod);
  if (v < 0)
    v += mod;
  if (v >= mod / 2)
    v -= mod;
  return v;
}

double einloom::ref::roundResult(DType t, double x) {
  // An i8 result is a requantized sum: nearest even, saturated.
  if (t == DType::I8)
    return std::isnan(x) ? 0 : std::clamp(std::nearbyint(x), -128.0, 127.0);
  return t == DType::F8E4M3FN || t == DType::F8E5M2 ? roundToSaturating(t, x) : roundTo(t, x);
}

double einloom::ref::roundToSaturating(DType t, double x) {
  if (!isFloat(t) || std::isnan(x))
    return roundTo(t, x);
  FloatFormat f = formatOf(t);
  double r = roundMantissa(x, f);
  if (std::fabs(r) > f.max)
    return std::copysign(f.max, r);
  return r;
}

uint32_t einloom::ref::floatBits(DType t, double x) {
  FloatFormat f = formatOf(t);
  int manBits = f.precision - 1;
  uint32_t sign = std::signbit(x) ? 1u : 0u;
  uint32_t bias = (1u << (f.expBits - 1)) - 1;
  uint32_t expField, man;
  double a = std::fabs(x);
  if (std::isnan(x)) {
    expField = (1u << f.expBits) - 1;
    man = f.hasInf ? (1u << (manBits - 1)) : (1u << manBits) - 1;
  } else if (std::isinf(x)) {
    expField = (1u << f.expBits) - 1;
    man = 0;
  } else if (a == 0) {
    expField = 0;
    man = 0;
  } else {
    int e;
    std::frexp(a, &e);
    int lead = e - 1;
    if (lead < f.minExp) { // subnormal
      expField = 0;
      man = static_cast<uint32_t>(std::ldexp(a, -(f.minExp - manBits)));
    } else {
      expField = static_cast<uint32_t>(lead + static_cast<int>(bias));
      man = static_cast<uint32_t>(std::ldexp(a, manBits - lead)) - (1u << manBits);
    }
  }
  return (sign << (f.expBits + manBits)) | (expField << manBits) | man;
}

double einloom::ref::floatFromBits(DType t, uint32_t bits) {
  FloatFormat f = formatOf(t);
  int manBits = f.precision - 1;
  uint32_t man = bits & ((1u << manBits) - 1);
  uint32_t expField = (bits >> manBits) & ((1u << f.expBits) - 1);
  bool neg = (bits >> (f.expBits + manBits)) & 1u;
  int bias = (1 << (f.expBits - 1)) - 1;
  double v;
  if (expField == (1u << f.expBits) - 1 && f.hasInf)
    v = man ? NAN : INFINITY;
  else if (expField == (1u << f.expBits) - 1 && man == (1u << manBits) - 1)
    v = NAN; // f8E4M3FN's only NaN pattern
  else if (expField == 0)
    v = std::ldexp(static_cast<double>(man), f.minExp - manBits);
  else
    v = std::ldexp(static_cast<double>(man + (1u << manBits)),
                   static_cast<int>(expField) - bias - manBits);
  return neg ? -v : v;
}

std::vector<int64_t> Tensor::strides() const {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t i = rank() - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

std::string Tensor::typeStr() const {
  std::string s;
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + dtypeName(dtype);
}

uint64_t Random::next() {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void einloom::ref::fillRandom(Tensor &t, Random &rng, Role role,
                              int64_t codeMin, int64_t codeMax) {
  for (double &v : t.data) {
    double u = rng.uniform();
    switch (role) {
    case Role::Scale:
      v = roundTo(t.dtype, 0.01 + 0.09 * u);
      break;
    case Role::ZeroPoint:
    case Role::Codes:
      v = static_cast<double>(codeMin +
                              static_cast<int64_t>(u * double(codeMax - codeMin + 1)));
      break;
    case Role::Data:
      if (isFloat(t.dtype)) {
        v = roundTo(t.dtype, 2.0 * u - 1.0);
      } else {
        unsigned w = std::min(bitWidth(t.dtype), 16u);
        double lo = -std::ldexp(1.0, w - 1);
        v = lo + std::floor(u * std::ldexp(1.0, w));
      }
      break;
    }
  }
}

std::string einloom::ref::summarize(const Tensor &t, size_t maxValues) {
  double sum = 0, sq = 0;
  size_t nonFinite = 0;
  for (double v : t.data) {
    if (!std::isfinite(v)) {
      ++nonFinite;
      continue;
    }
    sum += v;
    sq += v * v;
  }
  char buf[160];
  std::string s = "  type:     " + t.typeStr() + "\n";
  std::snprintf(buf, sizeof buf, "  checksum: sum=%.9g l2=%.9g", sum, std::sqrt(sq));
  s += buf;
  if (nonFinite)
    s += " (" + std::to_string(nonFinite) + " non-finite values left out)";
  s += "\n  values:   [";
  for (size_t i = 0; i < t.data.size() && i < maxValues; ++i) {
    std::snprintf(buf, sizeof buf, "%s%.6g", i ? ", " : "", t.data[i]);
    s += buf;
  }
  if (t.data.size() > maxValues)
    s += ", ...";
  return s + "]\n";
}

uint64_t einloom::ref::usableMemoryBytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES), pageSize = ::sysconf(_SC_PAGE_SIZE);
  uint64_t have = pages > 0 && pageSize > 0 ? uint64_t(pages) * uint64_t(pageSize) : 0;
  struct rlimit limit;
  if (::getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      (have == 0 || uint64_t(limit.rlim_cur) < have))
    have = uint64_t(limit.rlim_cur);
  return have;
}
