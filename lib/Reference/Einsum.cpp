//===- Einsum.cpp - reference n-ary einsum --------------------------------===//
//
// Loops over every combination of label values: the output labels outside,
// the summed labels inside. Each operand's offset is a dot product of the
// label values with that operand's per-label stride (a repeated label adds
// its strides, which walks the diagonal).
//
//===----------------------------------------------------------------------===//
#include "einloom/Reference/Kernels.h"

#include <cmath>
#include <map>

using namespace einloom::ref;

/// tf32 keeps f32's exponent and 10 explicit mantissa bits.
static double toTf32(double v) {
  if (v == 0 || !std::isfinite(v))
    return v;
  int e;
  std::frexp(v, &e);
  double quantum = std::ldexp(1.0, e - 11);
  return std::nearbyint(v / quantum) * quantum;
}

bool einloom::ref::einsum(const std::vector<const Tensor *> &inputs,
                          const std::vector<std::string> &subscripts,
                          const std::string &output, DType resultType,
                          const EinsumOptions &options, Tensor &result,
                          std::string &err) {
  if (inputs.size() != subscripts.size()) {
    err = "einsum: " + std::to_string(subscripts.size()) +
          " subscripts for " + std::to_string(inputs.size()) + " operands";
    return false;
  }
  std::map<char, int64_t> size;
  std::string labels = output;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor &t = *inputs[i];
    if (static_cast<int64_t>(subscripts[i].size()) != t.rank()) {
      err = "einsum: operand #" + std::to_string(i) + " has rank " +
            std::to_string(t.rank()) + " but subscripts \"" + subscripts[i] + "\"";
      return false;
    }
    for (size_t d = 0; d < subscripts[i].size(); ++d) {
      char c = subscripts[i][d];
      auto it = size.find(c);
      // A size of 1 broadcasts (read with stride 0 below).
      if (it != size.end() && it->second != t.shape[d] && it->second != 1 && t.shape[d] != 1) {
        err = std::string("einsum: label '") + c + "' has sizes " +
              std::to_string(it->second) + " and " + std::to_string(t.shape[d]);
        return false;
      }
      if (it == size.end() || it->second == 1)
        size[c] = t.shape[d];
      if (labels.find(c) == std::string::npos)
        labels.push_back(c);
    }
  }
  for (char c : output)
    if (!size.count(c)) {
      err = std::string("einsum: output label '") + c + "' is in no operand";
      return false;
    }

  size_t nl = labels.size(), nOut = output.size();
  std::vector<int64_t> extent(nl);
  for (size_t l = 0; l < nl; ++l)
    extent[l] = size[labels[l]];
  // stride[i][l]: how far operand i moves when label l increases by one.
  std::vector<std::vector<int64_t>> stride(inputs.size(),
                                           std::vector<int64_t>(nl, 0));
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<int64_t> s = inputs[i]->strides();
    for (size_t d = 0; d < subscripts[i].size(); ++d)
      if (inputs[i]->shape[d] != 1) // a broadcast dimension stays at 0
        stride[i][labels.find(subscripts[i][d])] += s[d];
  }

  std::vector<int64_t> outShape(extent.begin(), extent.begin() + nOut);
  result = Tensor(resultType, outShape);
  int64_t inner = 1;
  for (size_t l = nOut; l < nl; ++l)
    inner *= extent[l];

  auto operandValue = [&](size_t i, int64_t offset) {
    double v = inputs[i]->data[offset];
    return options.tf32 ? toTf32(v) : v;
  };

  std::vector<int64_t> idx(nl, 0);
  std::vector<int64_t> off(inputs.size(), 0);
  int64_t total = result.numel();
  for (int64_t o = 0; o < total; ++o) {
    // Decode the output index (row-major over the output labels).
    int64_t rem = o;
    for (size_t l = nOut; l-- > 0;) {
      idx[l] = rem % extent[l];
      rem /= extent[l];
    }
    for (size_t l = nOut; l < nl; ++l)
      idx[l] = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      off[i] = 0;
      for (size_t l = 0; l < nOut; ++l)
        off[i] += idx[l] * stride[i][l];
    }
    double acc = 0;
    for (int64_t s = 0; s < inner; ++s) {
      double prod = 1;
      for (size_t i = 0; i < inputs.size(); ++i)
        prod *= operandValue(i, off[i]);
      acc += options.magnitude ? std::fabs(prod) : prod;
      // Odometer step over the summed labels, innermost last.
      for (size_t l = nl; l-- > nOut;) {
        for (size_t i = 0; i < inputs.size(); ++i)
          off[i] += stride[i][l];
        if (++idx[l] < extent[l])
          break;
        for (size_t i = 0; i < inputs.size(); ++i)
          off[i] -= extent[l] * stride[i][l];
        idx[l] = 0;
      }
    }
    if (options.intAccBits && !options.magnitude)
      acc = roundTo(options.intAccBits == 32 ? DType::I32 : DType::I64, acc);
    result.data[o] = roundResult(resultType, acc);
  }
  return true;
}

double einloom::ref::einsumAt(const std::vector<const Tensor *> &inputs,
                              const std::vector<std::string> &subscripts,
                              const std::string &output,
                              const std::vector<int64_t> &index,
                              const EinsumOptions &options) {
  // Fix the output labels by slicing: a scalar einsum over offset views.
  std::map<char, int64_t> fixed;
  for (size_t i = 0; i < output.size(); ++i)
    fixed[output[i]] = index[i];
  std::map<char, int64_t> extent;
  std::string summed;
  for (size_t i = 0; i < inputs.size(); ++i)
    for (size_t d = 0; d < subscripts[i].size(); ++d) {
      char c = subscripts[i][d];
      if (!fixed.count(c) && !extent.count(c))
        summed.push_back(c);
      if (!fixed.count(c))
        extent[c] = std::max(extent[c], inputs[i]->shape[d]); // size 1 broadcasts
    }
  std::vector<int64_t> base(inputs.size(), 0);
  std::vector<std::vector<int64_t>> stride(inputs.size(), std::vector<int64_t>(summed.size(), 0));
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<int64_t> s = inputs[i]->strides();
    for (size_t d = 0; d < subscripts[i].size(); ++d) {
      char c = subscripts[i][d];
      if (inputs[i]->shape[d] == 1)
        continue; // broadcast: index 0 whatever the label's value
      if (fixed.count(c))
        base[i] += fixed[c] * s[d];
      else
        stride[i][summed.find(c)] += s[d];
    }
  }
  int64_t total = 1;
  for (char c : summed)
    total *= extent[c];
  std::vector<int64_t> idx(summed.size(), 0), off = base;
  double acc = 0;
  for (int64_t t = 0; t < total; ++t) {
    double prod = 1;
    for (size_t i = 0; i < inputs.size(); ++i) {
      double v = inputs[i]->data[off[i]];
      prod *= options.tf32 ? toTf32(v) : v;
    }
    acc += options.magnitude ? std::fabs(prod) : prod;
    for (size_t l = summed.size(); l-- > 0;) {
      for (size_t i = 0; i < inputs.size(); ++i)
        off[i] += stride[i][l];
      if (++idx[l] < extent[summed[l]])
        break;
      for (size_t i = 0; i < inputs.size(); ++i)
        off[i] -= extent[summed[l]] * stride[i][l];
      idx[l] = 0;
    }
  }
  if (options.intAccBits && !options.magnitude)
    acc = roundTo(options.intAccBits == 32 ? DType::I32 : DType::I64, acc);
  return acc;
}

double einloom::ref::activate(Epilogue::Act act, double x) {
  switch (act) {
  case Epilogue::Act::None:
    return x;
  case Epilogue::Act::Relu:
    return x > 0 ? x : 0.0;
  case Epilogue::Act::Gelu:
    return 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  case Epilogue::Act::Silu:
    return x / (1 + std::exp(-x));
  }
  return x;
}

double einloom::ref::Epilogue::apply(double x, int64_t i) const {
  double v = x;
  if (rowZero && colSum)
    v -= rowZero->data[static_cast<size_t>((i / cols) % rowZero->numel())] *
         colSum->data[static_cast<size_t>(i % colSum->numel())];
  v *= alpha;
  if (rowScale)
    v *= rowScale->data[static_cast<size_t>((i / cols) % rowScale->numel())];
  if (colScale)
    v *= colScale->data[static_cast<size_t>(i % colScale->numel())];
  if (bias)
    v += bias->data[static_cast<size_t>(i % bias->numel())];
  v = activate(act, v);
  if (residual)
    v += beta * residual->data[static_cast<size_t>(i % residual->numel())];
  return v;
}
