//===- Tensor.h - host tensors for the reference semantics ------*- C++ -*-===//
//
// Plain C++ (no LLVM/MLIR), so that runtime-only tools on the GPU host can use
// the reference as their oracle. Every element is held as a double: exact
// for every supported dtype's values, so rounding happens only where an op's
// semantics say it does.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_REFERENCE_TENSOR_H
#define EINLOOM_REFERENCE_TENSOR_H

#include <cstdint>
#include <string>
#include <vector>

namespace einloom::ref {

enum class DType { F64, F32, F16, BF16, F8E4M3FN, F8E5M2, I64, I32, I16, I8, I4 };

/// "f16", "i8", ...: MLIR's spelling.
const char *dtypeName(DType t);
bool parseDType(const std::string &name, DType &out);
bool isFloat(DType t);
/// Storage size in bits (4 for i4).
unsigned bitWidth(DType t);

/// Rounds `x` to the nearest value of `t`: floats round to nearest even
/// (overflow gives inf, or NaN for f8E4M3FN, which has no inf); integers
/// truncate toward zero and wrap two's-complement.
double roundTo(DType t, double x);
/// As roundTo for floats, but overflow saturates to the largest finite value.
double roundToSaturating(DType t, double x);
/// How a computed result is rounded to its element type: as roundTo, except
/// that 8-bit floats saturate (the hardware's cvt .satfinite; f8E4M3FN has
/// no inf, and a NaN for every overflow would hide the values), and an i8
/// result (a requantized integer sum) rounds to nearest even and saturates.
double roundResult(DType t, double x);
/// The largest finite value of a float type.
double maxFinite(DType t);

/// Bit pattern of a value already representable in the float type `t`
/// (f16, bf16, f8E4M3FN, f8E5M2), and back.
uint32_t floatBits(DType t, double x);
double floatFromBits(DType t, uint32_t bits);

struct Tensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<double> data;

  Tensor() = default;
  Tensor(DType t, std::vector<int64_t> s) : dtype(t), shape(std::move(s)) {
    data.assign(static_cast<size_t>(numel()), 0.0);
  }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  /// Row-major strides.
  std::vector<int64_t> strides() const;
  /// "4x8xf16"
  std::string typeStr() const;
};

/// Bytes of memory this process may use: the machine's physical memory, or
/// less under a limit on the address space (ulimit -v); 0 if unknown. The
/// reference holds every element as a double, so its callers check what
/// they are about to allocate against this first.
uint64_t usableMemoryBytes();

/// A seeded generator (SplitMix64) so results are identical on every machine.
class Random {
public:
  explicit Random(uint64_t seed) : state(seed) {}
  uint64_t next();
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
  uint64_t state;
};

/// What a random input is used for; it decides the value range.
enum class Role { Data, Scale, ZeroPoint, Codes };

/// Fills `t` with values of its dtype: data uniform in [-1, 1), scales in
/// [0.01, 0.1], integer data over the whole range of the type.
void fillRandom(Tensor &t, Random &rng, Role role, int64_t codeMin = 0,
                int64_t codeMax = 0);

/// A few readable lines: shape and dtype, a checksum (sum and L2 norm, in
/// f64), and the first `maxValues` values.
std::string summarize(const Tensor &t, size_t maxValues = 8);

} // namespace einloom::ref

#endif

