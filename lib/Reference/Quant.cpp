//===- Quant.cpp - reference quantize / dequantize ------------------------===//
#include "einloom/Reference/Kernels.h"

#include <algorithm>
#include <cmath>

using namespace einloom::ref;

int64_t QuantParams::minCode() const {
  switch (kind) {
  case QuantKind::Signed: return -(int64_t(1) << (bits - 1));
  case QuantKind::Unsigned: return 0;
  case QuantKind::Bipolar: return -((int64_t(1) << bits) - 1);
  default: return 0;
  }
}

int64_t QuantParams::maxCode() const {
  switch (kind) {
  case QuantKind::Signed: return (int64_t(1) << (bits - 1)) - 1;
  case QuantKind::Unsigned:
  case QuantKind::Bipolar: return (int64_t(1) << bits) - 1;
  default: return 0;
  }
}

namespace {
/// Maps each element of the quantized tensor to its scale's flat index.
class ScaleIndex {
public:
  ScaleIndex(const Tensor &values, const Tensor &scale, const QuantParams &q)
      : q(q), shape(values.shape), scaleStrides(scale.strides()) {}

  int64_t operator()(int64_t flat) const {
    if (q.granularity == Granularity::PerTensor)
      return 0;
    // Decode the multi-index one dimension at a time from the back.
    int64_t index = 0;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      int64_t i = flat % shape[d];
      flat /= shape[d];
      if (q.granularity == Granularity::PerChannel) {
        if (d == q.axis)
          return i;
        continue;
      }
      bool blocked = q.granularity == Granularity::PerBlock
                         ? d >= static_cast<int64_t>(shape.size()) - 2
                         : d == q.axis;
      if (blocked)
        i /= q.groupSize;
      index += i * scaleStrides[d];
    }
    return index;
  }

private:
  const QuantParams &q;
  std::vector<int64_t> shape;
  std::vector<int64_t> scaleStrides;
};

bool checkScaleShape(const Tensor &values, const Tensor &scale,
                     const Tensor *zp, const QuantParams &q, std::string &err) {
  std::vector<int64_t> want;
  if (q.granularity != Granularity::PerTensor && q.granularity != Granularity::PerBlock &&
      (q.axis < 0 || q.axis >= values.rank())) {
    err = "quant: axis " + std::to_string(q.axis) + " out of range";
    return false;
  }
  if (q.granularity == Granularity::PerChannel)
    want = {values.shape[q.axis]};
  if (q.granularity == Granularity::PerBlock) {
    want = values.shape;
    if (q.groupSize <= 0 || values.rank() < 2) {
      err = "quant: block granularity needs a block size and a rank of 2 or more";
      return false;
    }
    for (int64_t d = values.rank() - 2; d < values.rank(); ++d)
      want[d] = (want[d] + q.groupSize - 1) / q.groupSize;
  }
  if (q.granularity == Granularity::PerGroup) {
    want = values.shape;
    if (q.groupSize <= 0 || want[q.axis] % q.groupSize) {
      err = "quant: dimension " + std::to_string(q.axis) +
            " is not a multiple of the group size";
      return false;
    }
    want[q.axis] /= q.groupSize;
  }
  if (scale.shape != want) {
    err = "quant: scale has shape " + scale.typeStr() + ", which does not fit";
    return false;
  }
  if (q.zeroPoint != (zp != nullptr) || (zp && zp->shape != scale.shape)) {
    err = "quant: zero point missing, unexpected, or shaped unlike the scale";
    return false;
  }
  return true;
}

DType fp8Type(QuantKind k) {
  return k == QuantKind::E4M3 ? DType::F8E4M3FN : DType::F8E5M2;
}
} // namespace

bool einloom::ref::quantize(const Tensor &x, const Tensor &scale,
                            const Tensor *zp, const QuantParams &q,
                            DType resultType, Tensor &result,
                            std::string &err) {
  if (!checkScaleShape(x, scale, zp, q, err))
    return false;
  ScaleIndex at(x, scale, q);
  result = Tensor(resultType, x.shape);
  bool fp8 = q.kind == QuantKind::E4M3 || q.kind == QuantKind::E5M2;
  double lo = static_cast<double>(q.minCode()), hi = static_cast<double>(q.maxCode());
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t si = at(i);
    double v = x.data[i] / scale.data[si];
    double code;
    if (fp8) {
      code = roundToSaturating(fp8Type(q.kind), v);
    } else if (std::isnan(v)) {
      code = 0; // NaN has no code; documented as mapping to 0.
    } else if (q.kind == QuantKind::Bipolar) {
      code = 2 * std::nearbyint((v - 1) / 2) + 1;
      code = std::fmin(std::fmax(code, lo), hi);
    } else {
      if (zp)
        v += zp->data[si];
      code = std::fmin(std::fmax(std::nearbyint(v), lo), hi);
    }
    result.data[i] = code + 0.0; // no negative zero codes
  }
  return true;
}

bool einloom::ref::dequantize(const Tensor &codes, const Tensor &scale,
                              const Tensor *zp, const QuantParams &q,
                              DType resultType, Tensor &result,
                              std::string &err) {
  if (!checkScaleShape(codes, scale, zp, q, err))
    return false;
  ScaleIndex at(codes, scale, q);
  result = Tensor(resultType, codes.shape);
  for (int64_t i = 0; i < codes.numel(); ++i) {
    int64_t si = at(i);
    double c = codes.data[i];
    if (zp)
      c -= zp->data[si];
    result.data[i] = roundTo(resultType, c * scale.data[si]);
  }
  return true;
}

bool einloom::ref::dynamicQuantizeGroups(const Tensor &x, DType codeType, int64_t group,
                                         Tensor &codes, Tensor &scales, std::string &err) {
  if ((codeType != DType::F8E4M3FN && codeType != DType::F8E5M2) || group < 1 || x.rank() < 1) {
    err = "dynamic_quantize: fp8 groups need an e4m3 or e5m2 code type, a group of 1 or more "
          "and an input of rank 1 or more";
    return false;
  }
  int64_t cols = x.shape.back(), groups = (cols + group - 1) / group;
  int64_t rows = cols ? x.numel() / cols : 0;
  float fp8max = codeType == DType::F8E4M3FN ? 448.0f : 57344.0f;
  std::vector<int64_t> shape = x.shape;
  shape.back() = groups;
  scales = Tensor(DType::F32, shape);
  codes = Tensor(codeType, x.shape);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      int64_t lo = r * cols + g * group, hi = r * cols + std::min(cols, (g + 1) * group);
      float most = 0;
      for (int64_t i = lo; i < hi; ++i)
        most = std::fmax(most, std::fabs(static_cast<float>(x.data[i]))); // NaNs ignored
      float s = most / fp8max;
      scales.data[r * groups + g] = s;
      for (int64_t i = lo; i < hi; ++i) {
        float q = static_cast<float>(x.data[i]) / s;
        codes.data[i] = std::isnan(q) ? 0.0 : roundToSaturating(codeType, double(q));
      }
    }
  return true;
}

bool einloom::ref::dynamicQuantize(const Tensor &x, int bits, int64_t axis, Tensor &codes,
                                   Tensor &scales, std::string &err) {
  if (bits < 2 || bits > 8 || axis < 0 || axis >= x.rank()) {
    err = "dynamic_quantize: bits must be 2 to 8 and axis a dimension of the input";
    return false;
  }
  int64_t along = x.shape[axis], inner = 1;
  for (int64_t d = axis + 1; d < x.rank(); ++d)
    inner *= x.shape[d];
  auto channel = [&](int64_t i) { return (i / inner) % along; };
  float qmax = float((1 << (bits - 1)) - 1);
  std::vector<float> most(static_cast<size_t>(along), 0.0f);
  for (int64_t i = 0; i < x.numel(); ++i) {
    float v = std::fabs(static_cast<float>(x.data[i]));
    float &m = most[static_cast<size_t>(channel(i))];
    m = std::fmax(m, v); // fmax ignores a NaN
  }
  scales = Tensor(DType::F32, {along});
  for (int64_t c = 0; c < along; ++c)
    scales.data[c] = most[static_cast<size_t>(c)] / qmax;
  codes = Tensor(DType::I8, x.shape);
  for (int64_t i = 0; i < x.numel(); ++i) {
    float s = static_cast<float>(scales.data[channel(i)]);
    float r = static_cast<float>(x.data[i]) / s;
    double q = std::isnan(r) ? 0.0 : std::nearbyint(double(r)); // round half to even
    codes.data[i] = std::clamp(q, double(-qmax - 1), double(qmax)) + 0.0;
  }
  return true;
}

double einloom::ref::fp8TensorCoreDot(const double *a, const double *b, int64_t k, int accBits,
                                      int64_t promoteEvery) {
  // x truncated toward zero to `accBits` significant bits.
  auto chop = [&](double x) {
    if (x == 0 || !std::isfinite(x))
      return x;
    int e = std::ilogb(x);
    double quantum = std::ldexp(1.0, e - accBits + 1);
    return std::trunc(x / quantum) * quantum;
  };
  auto toF32 = [](double x) { return static_cast<double>(static_cast<float>(x)); };
  double acc = 0, promoted = 0;
  for (int64_t g = 0; g < k; g += 32) {
    double group = 0; // exact: fp8 products and their sums of 32 fit a double
    for (int64_t i = g; i < std::min(k, g + 32); ++i)
      group += a[i] * b[i];
    acc = chop(acc + group);
    if (promoteEvery > 0 && ((g + 32) % promoteEvery == 0 || g + 32 >= k)) {
      promoted = toF32(promoted + acc);
      acc = 0;
    }
  }
  return promoteEvery > 0 ? promoted : toF32(acc);
}

bool einloom::ref::applyBlockMask(Tensor &out, const Tensor &mask, int64_t bm, int64_t bn,
                                  double fill, std::string &err) {
  size_t rank = out.shape.size();
  if (rank < 2 || bm < 1 || bn < 1 || mask.shape.size() < 2) {
    err = "a block mask needs a result and a mask of rank 2 or more, and positive blocks";
    return false;
  }
  int64_t M = out.shape[rank - 2], N = out.shape[rank - 1];
  int64_t tm = M / bm + (M % bm != 0), tn = N / bn + (N % bn != 0); // (no overflow at any bm)
  std::vector<int64_t> want(out.shape.begin(), out.shape.end() - 2);
  want.push_back(tm);
  want.push_back(tn);
  bool perBatch = mask.shape == want;
  if (!perBatch && !(mask.shape.size() == 2 && mask.shape[0] == tm && mask.shape[1] == tn)) {
    err = "the block mask's shape does not fit the result's";
    return false;
  }
  for (int64_t i = 0; i < out.numel(); ++i) {
    int64_t n = i % N, m = (i / N) % M, batch = i / (M * N);
    int64_t at = (perBatch ? batch * tm * tn : 0) + (m / bm) * tn + n / bn;
    if (mask.data[at] == 0)
      out.data[i] = roundResult(out.dtype, fill);
  }
  return true;
}

bool einloom::ref::applyBlockScales(const Tensor &a, const Tensor &b, const std::string &subA,
                                    const std::string &subB, const std::string &out,
                                    const Tensor &rowScale, const Tensor &colScale, int64_t bk,
                                    int64_t bn, Tensor &sa, Tensor &sb, std::string &err) {
  if (subA.size() != 2 || subB.size() != 2 || out.size() != 2 || a.rank() != 2 || b.rank() != 2 ||
      bk <= 0 || bn <= 0) {
    err = "block scales take a product of two matrices and positive block sizes";
    return false;
  }
  size_t rowAt = subA.find(out[0]), colAt = subB.find(out[1]);
  if (rowAt == std::string::npos || colAt == std::string::npos) {
    err = "the result's rows must come from the first operand and its columns from the second";
    return false;
  }
  size_t kA = 1 - rowAt, kB = 1 - colAt;
  if (subA[kA] != subB[kB] || a.shape[kA] != b.shape[kB]) {
    err = "the two operands do not share one summed label of one size";
    return false;
  }
  int64_t k = a.shape[kA], rows = a.shape[rowAt], cols = b.shape[colAt];
  int64_t kb = (k + bk - 1) / bk, nb = (cols + bn - 1) / bn;
  if (rowScale.numel() != rows * kb || colScale.numel() != nb * kb) {
    err = "row_scale must hold " + std::to_string(rows) + " x " + std::to_string(kb) +
          " and col_scale " + std::to_string(nb) + " x " + std::to_string(kb) + " scales";
    return false;
  }
  auto scaled = [&](const Tensor &x, size_t kAt, const Tensor &s, int64_t per, Tensor &y) {
    y = Tensor(DType::F64, x.shape);
    int64_t inner = x.shape[1];
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t r = i / inner, c = i % inner;
      int64_t kk = kAt == 1 ? c : r, other = kAt == 1 ? r : c;
      y.data[i] = x.data[i] * s.data[(other / per) * kb + kk / bk];
    }
  };
  scaled(a, kA, rowScale, 1, sa);
  scaled(b, kB, colScale, bn, sb);
  return true;
}
