//===- MemoryBound.cpp - analysing memory-bound einsums -------------------===//
#include "einloom/Plan/MemoryBound.h"
#include "einloom/Plan/Contraction.h"
#include "einloom/Target.h"

#include "Loom/EinsumSpec.h"
#include "Loom/LoomOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace einloom;

bool einloom::runsAsMemoryKernel(loom::EinsumOp op) {
  size_t n = op.getInputs().size();
  if (n == 1)
    return true;
  // (A dequantized or sparse weight, block scales or a block mask run on a
  // contraction kernel at every M.)
  if (n != 2 || op.getPlanAttr() || op.hasDequantizedWeight() || op.hasSparseOperand() ||
      op.hasBlockScales() || op.hasBlockMask())
    return false;
  FailureOr<loom::EinsumSpec> spec = loom::parseSpec(op);
  if (failed(spec))
    return false;
  const std::string &A = spec->inputs[0], &B = spec->inputs[1];
  // (A summed label of extent 1 sums nothing.)
  auto extentOf = [&](char l) {
    int64_t e = 1;
    for (size_t i = 0; i < 2; ++i) {
      auto t = cast<RankedTensorType>(op.getInputs()[i].getType());
      for (size_t p = 0; p < spec->inputs[i].size(); ++p)
        if (spec->inputs[i][p] == l)
          e = std::max(e, t.getDimSize(p));
    }
    return e;
  };
  if (llvm::all_of(spec->summedLabels(), [&](char l) { return extentOf(l) == 1; }))
    return true; // elementwise, outer product, broadcast
  // No label summed across both operands: each operand is summed on its
  // own (an outer product of sums). A GEMM would read a stride-0 K; the
  // memory-bound kernel sums the terms of each result element directly,
  // while there are not too many of them.
  std::string summed = spec->summedLabels();
  if (llvm::none_of(summed, [&](char l) { return A.find(l) != std::string::npos &&
                                                 B.find(l) != std::string::npos; })) {
    auto result = dyn_cast<RankedTensorType>(op.getResult().getType());
    if (result && result.hasStaticShape()) {
      double work = double(result.getNumElements());
      for (char l : summed)
        work *= double(extentOf(l));
      if (work <= double(int64_t(1) << 32))
        return true;
    }
  }
  // Nothing free in just one operand: batched dot products (M = N = 1).
  if (llvm::all_of(spec->output, [&](char l) {
        return A.find(l) != std::string::npos && B.find(l) != std::string::npos;
      }))
    return true;
  // Matrix-vector products (`k,nk->n`, `ii,ij->j`, `bk,bnk->bn`, or M = 1
  // written as a label of extent 1): an operand whose labels free in it
  // alone all have extent 1. Each element of the other operand is used
  // once, so the kernel that streams it at memory speed wins; a GEMM tile
  // would waste all but one of its rows.
  auto result = dyn_cast<RankedTensorType>(op.getResult().getType());
  if (!result || !result.hasStaticShape())
    return false;
  auto onlyIn = [&](const std::string &mine, const std::string &other) {
    for (size_t p = 0; p < spec->output.size(); ++p) {
      char l = spec->output[p];
      if (mine.find(l) != std::string::npos && other.find(l) == std::string::npos &&
          result.getDimSize(p) != 1)
        return false;
    }
    return true;
  };
  return onlyIn(A, B) || onlyIn(B, A);
}

int64_t MemoryEinsum::outSize() const {
  int64_t s = 1;
  for (const LoopDim &d : out)
    s *= d.extent;
  return s;
}

int64_t MemoryEinsum::outPerUnit() const { return outSize() / dynamicMax; }

int64_t MemoryEinsum::redSize() const {
  int64_t s = 1;
  for (const LoopDim &d : red)
    s *= d.extent;
  return s;
}

int64_t MemoryEinsum::inputBytes(size_t i) const {
  // The elements the input spans: its largest offset plus one.
  int64_t last = 0;
  for (const auto *dims : {&out, &red})
    for (const LoopDim &d : *dims)
      last += (d.extent - 1) * d.in[i];
  return (last + 1) * elementBytes(elems[i]);
}

int64_t MemoryEinsum::outputBytes() const { return outSize() * elementBytes(elemC); }

int64_t MemoryEinsum::bytes() const {
  int64_t b = outputBytes();
  for (size_t i = 0; i < numInputs(); ++i)
    b += inputBytes(i);
  return b;
}

int64_t MemoryEinsum::flops() const {
  int64_t perTerm = static_cast<int64_t>(numInputs()) - 1 + (redSize() > 1 ? 1 : 0);
  return outSize() * redSize() * perTerm;
}

std::string MemoryEinsum::describe() const {
  std::string split = this->split > 1 ? "; the sum cut into " + std::to_string(this->split) +
                                            " slices whose partial sums a second kernel adds"
                                      : "";
  return describeStrategy() + split;
}

std::string MemoryEinsum::describeStrategy() const {
  switch (strategy) {
  case MemoryStrategy::Map:
    return "a thread per " + std::to_string(vec) + " result element" + (vec > 1 ? "s" : "") +
           (red.empty() ? "" : ", summing " + std::to_string(redSize()) + " terms each");
  case MemoryStrategy::RowReduce:
    return std::string(threadsPerOutput == 32 ? "a warp" : "a CTA of 256 threads") +
           " per result element, summing " + std::to_string(redSize()) + " terms read " +
           std::to_string(vec) + " at a time along the contiguous dimension";
  case MemoryStrategy::Transpose:
    return "64x64 tiles transposed through shared memory (read along '" +
           std::string(1, out[transposeDim].label) + "', written along '" +
           std::string(1, out.back().label) + "')" +
           (red.empty() ? "" : ", summing " + std::to_string(redSize()) + " terms each");
  }
  return "?";
}

static SmallVector<int64_t> rowMajor(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> s(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/// Merges neighbouring dimensions that are neighbours, in the same order, in
/// every tensor: fewer divisions in the kernel's index math.
static void mergeDims(SmallVectorImpl<LoopDim> &dims) {
  SmallVector<LoopDim, 4> merged;
  for (const LoopDim &d : dims) {
    if (!merged.empty()) {
      LoopDim &p = merged.back();
      auto fits = [&](int64_t outer, int64_t inner) {
        return (outer == 0 && inner == 0) || (inner != 0 && outer == inner * d.extent);
      };
      bool ok = fits(p.out, d.out);
      for (size_t i = 0; i < d.in.size(); ++i)
        ok = ok && fits(p.in[i], d.in[i]);
      if (ok) {
        p.extent *= d.extent;
        p.label = d.label;
        p.in = d.in;
        p.out = d.out;
        continue;
      }
    }
    merged.push_back(d);
  }
  dims.assign(merged.begin(), merged.end());
}

/// The largest power of two up to `most` that divides `extent` and, for each
/// input read contiguously along the dimension (stride 1), every other
/// stride of that input: vector accesses then stay aligned.
static int64_t vectorWidth(const MemoryEinsum &m, const LoopDim &along, int64_t most) {
  // A dynamic size scales out[0]'s extent: only its part per unit is known.
  int64_t extent = m.dynamicLabel && &along == &m.out[0] ? along.extent / m.dynamicMax
                                                         : along.extent;
  for (int64_t v = most; v > 1; v /= 2) {
    bool ok = extent % v == 0;
    for (size_t i = 0; i < m.numInputs() && ok; ++i) {
      if (along.in[i] != 1)
        continue;
      for (const auto *dims : {&m.out, &m.red})
        for (const LoopDim &d : *dims)
          ok = ok && (&d == &along || d.in[i] % v == 0);
    }
    if (ok)
      return v;
  }
  return 1;
}

FailureOr<MemoryEinsum> einloom::analyzeMemoryEinsum(loom::EinsumOp op) {
  FailureOr<loom::EinsumSpec> spec = loom::parseSpec(op);
  if (failed(spec))
    return op.emitOpError("invalid spec");
  MemoryEinsum m;
  if (auto dyn = op->getAttrOfType<StringAttr>("loom.dynamic")) {
    char d = dyn.getValue().size() == 1 ? dyn.getValue()[0] : 0;
    bool leads = d && !spec->output.empty() && spec->output[0] == d;
    for (const std::string &in : spec->inputs)
      if (size_t p = in.find(d); p != std::string::npos)
        leads = leads && p == 0 && in.find(d, 1) == std::string::npos;
    if (!leads)
      return op.emitOpError("the dynamic dimension '")
             << dyn.getValue() << "' must lead the result and every operand that has it, "
             << "once (spec " << spec->str() << ")";
    m.dynamicLabel = d;
    m.dynamicMax = cast<RankedTensorType>(op.getResult().getType()).getDimSize(0);
  }
  m.spec = spec->str();
  m.epilogue = epilogueOf(op);
  for (Type e : {m.epilogue.biasType, m.epilogue.residualType})
    if (e && isFp8(e))
      return op.emitOpError("a fused bias or residual of 8-bit floats is not supported; "
                            "give it as f16, bf16 or f32");
  auto tc = cast<RankedTensorType>(op.getResult().getType());
  SmallVector<RankedTensorType, 2> ins;
  for (Value v : op.getInputs())
    ins.push_back(cast<RankedTensorType>(v.getType()));
  SmallVector<RankedTensorType, 3> all(ins.begin(), ins.end());
  all.push_back(tc);
  for (RankedTensorType t : all) {
    if (!t.hasStaticShape())
      return op.emitOpError("dynamic dimensions are not supported by code generation yet: ") << t;
    if (t.getNumElements() == 0)
      return op.emitOpError("has a zero-sized dimension (") << t << "); there is nothing to compute";
    if (t.getNumElements() >= (int64_t(1) << 31))
      return op.emitOpError("operand ") << t << " has " << t.getNumElements()
                                        << " elements, which overflows 32-bit indexing";
    Type e = t.getElementType();
    if (!(e.isF16() || e.isBF16() || e.isF32() || e.isF64() || e.isSignlessInteger(8) ||
          e.isSignlessInteger(32) || isFp8(e)))
      return op.emitOpError("an einsum with nothing to contract on tensor cores runs on the "
                            "CUDA cores, which take f16, bf16, f32, f64, f8E4M3FN, f8E5M2, i8 "
                            "and i32 here, not ")
             << e;
  }
  for (RankedTensorType t : ins)
    m.elems.push_back(t.getElementType());
  m.elemC = tc.getElementType();
  m.acc = op.getAccumulatorType();
  if (!(m.acc.isF32() || m.acc.isF64() || m.acc.isSignlessInteger(32)))
    return op.emitOpError("accumulates in ") << m.acc << "; the CUDA-core kernels accumulate in "
                                             << "f32, f64 or i32";
  for (Type e : m.elems)
    if (isa<FloatType>(e) != isa<FloatType>(m.acc))
      return op.emitOpError("mixes ") << e << " operands with a " << m.acc
                                      << " accumulator; give a matching acc";

  SmallVector<SmallVector<int64_t>> strides;
  for (RankedTensorType t : ins)
    strides.push_back(rowMajor(t.getShape()));
  SmallVector<int64_t> sc = rowMajor(tc.getShape());
  // A repeated label reads a diagonal (strides add up); a dimension of size 1
  // against a larger one broadcasts (stride 0).
  auto dimOf = [&](char l) {
    LoopDim d{l, 1, SmallVector<int64_t, 2>(ins.size(), 0), 0};
    for (size_t i = 0; i < ins.size(); ++i)
      for (size_t p = 0; p < spec->inputs[i].size(); ++p)
        if (spec->inputs[i][p] == l) {
          d.extent = std::max(d.extent, ins[i].getDimSize(p));
          d.in[i] += strides[i][p];
        }
    for (size_t i = 0; i < ins.size(); ++i)
      for (size_t p = 0; p < spec->inputs[i].size(); ++p)
        if (spec->inputs[i][p] == l && ins[i].getDimSize(p) == 1 && d.extent > 1)
          d.in[i] = 0;
    if (size_t p = spec->output.find(l); p != std::string::npos) {
      d.extent = tc.getDimSize(p);
      d.out = sc[p];
    }
    return d;
  };
  for (char l : spec->output)
    m.out.push_back(dimOf(l));
  for (char l : spec->summedLabels())
    m.red.push_back(dimOf(l));

  // The widest input decides the reading order.
  size_t dom = 0;
  for (size_t i = 1; i < ins.size(); ++i)
    if (ins[i].getNumElements() > ins[dom].getNumElements())
      dom = i;
  // Summed dimensions: outermost first in the widest input's order.
  llvm::stable_sort(m.red, [&](const LoopDim &x, const LoopDim &y) { return x.in[dom] > y.in[dom]; });
  mergeDims(m.out);
  mergeDims(m.red);
  // Drop extent-1 dimensions (they index nothing), but keep one result dimension.
  auto drop = [](SmallVectorImpl<LoopDim> &d) {
    llvm::erase_if(d, [](const LoopDim &x) { return x.extent == 1; });
  };
  drop(m.red);
  if (!m.dynamicLabel) // (a dynamic out[0] stays, whatever its bucket)
    drop(m.out);
  if (m.out.empty())
    m.out.push_back(LoopDim{'1', 1, SmallVector<int64_t, 2>(ins.size(), 0), 1});

  int64_t widest = elementBytes(m.elemC);
  for (Type e : m.elems)
    widest = std::max(widest, elementBytes(e));
  int64_t most = std::max<int64_t>(1, 16 / widest);

  bool contiguousSum = !m.red.empty() && m.red.back().in[dom] == 1;
  int transposeDim = -1;
  for (size_t d = 0; d + 1 < m.out.size(); ++d)
    if (m.out[d].in[dom] == 1)
      transposeDim = static_cast<int>(d);
  if (contiguousSum && m.redSize() >= 64) {
    m.strategy = MemoryStrategy::RowReduce;
    int64_t inMost = 1;
    for (Type e : m.elems)
      inMost = std::max(inMost, elementBytes(e));
    m.vec = vectorWidth(m, m.red.back(), std::max<int64_t>(1, 16 / inMost));
    // Few results: a CTA per result keeps the GPU busy; many: a warp each.
    m.threadsPerOutput = m.outSize() < 2048 && m.redSize() >= 256 * m.vec ? 256 : 32;
  } else if (!m.dynamicLabel && transposeDim >= 0 && m.out[transposeDim].extent > 1 &&
             m.inputBytes(dom) * 2 >= m.outputBytes() &&
             (m.red.empty() || m.numInputs() == 1)) {
    // (When the result dwarfs the input, as in an outer product, writing it
    // along its rows is what matters: Map. So also for a sum of products of
    // two operands: a tile's 16 elements per thread kept both operands'
    // offsets live beside the sums, and spilled.)
    m.strategy = MemoryStrategy::Transpose;
    m.transposeDim = transposeDim;
  } else {
    m.strategy = MemoryStrategy::Map;
    m.vec = vectorWidth(m, m.out.back(), most);
  }
  // Too few threads to keep enough loads in flight (about 1024 per SM on an
  // H100): split the sum, each slice at least `minTerms` terms per thread.
  constexpr int64_t enoughThreads = 132 * 1024, minTerms = 16;
  int64_t threads = 0, termsPerThread = 0;
  if (m.strategy == MemoryStrategy::Map && !m.red.empty()) {
    threads = m.outSize() / m.vec;
    termsPerThread = m.redSize();
  } else if (m.strategy == MemoryStrategy::RowReduce) {
    threads = m.outSize() * m.threadsPerOutput;
    termsPerThread = m.redSize() / m.vec / m.threadsPerOutput;
  }
  // (Not for a shortfall of less than half: a second kernel and the
  // workspace cost more than the missing threads. Measured on the H200 for
  // `mk,nk->mn` M = 1, K = 14336, N = 4096 bf16, a warp per result: split
  // in two it ran 40.7 us against cuBLAS's 32.8.)
  if (threads > 0 && 2 * threads <= enoughThreads && !m.dynamicLabel)
    // (At most 65535 slices: the slice is the grid's y index.)
    m.split = std::max<int64_t>(1, std::min({(enoughThreads + threads - 1) / threads,
                                             termsPerThread / minTerms, int64_t(65535)}));
  return m;
}

void einloom::printMemoryExplanation(raw_ostream &os, const MemoryEinsum &m, const TargetInfo &t) {
  double seconds = double(m.bytes()) / t.dramBytesPerSec;
  os << "einsum \"" << m.spec << "\" is memory-bound: " << m.numInputs() << " operand"
     << (m.numInputs() > 1 ? "s" : "") << ", " << m.outSize() << " result element"
     << (m.outSize() > 1 ? "s" : "") << ", " << m.redSize() << " term"
     << (m.redSize() > 1 ? "s" : "") << " each; no tensor-core plan\n";
  os << "chosen kernel: " << m.describe() << " (CUDA cores, accumulating in " << m.acc << ")\n";
  if (!m.epilogue.empty())
    os << "  fused epilogue: " << m.epilogue.describe() << "\n";
  os << "  estimate: " << llvm::format("%.2f", seconds * 1e6) << " us to move " << m.bytes()
     << " bytes at " << llvm::format("%.0f", t.dramBytesPerSec / 1e9) << " GB/s\n";
}
