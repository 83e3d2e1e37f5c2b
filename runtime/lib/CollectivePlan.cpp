//===- CollectivePlan.cpp - a collective as NCCL calls and copies ---------===//
#include "einloom/runtime/CollectivePlan.h"
#include "einloom/runtime/Collectives.h"

#include <algorithm>

using namespace einloom::rt;

int64_t einloom::rt::dtypeBytes(const std::string &dtype) {
  if (dtype == "f16" || dtype == "bf16")
    return 2;
  if (dtype == "f32" || dtype == "i32")
    return 4;
  if (dtype == "f64" || dtype == "i64")
    return 8;
  if (dtype == "i8" || dtype == "u8" || dtype == "f8e4m3" || dtype == "f8e5m2")
    return 1;
  return 0;
}

int einloom::rt::ncclTypeOf(const std::string &dtype) {
  if (dtype == "f16")
    return nccl::Float16;
  if (dtype == "bf16")
    return nccl::Bfloat16;
  if (dtype == "f32")
    return nccl::Float32;
  if (dtype == "f64")
    return nccl::Float64;
  if (dtype == "i32")
    return nccl::Int32;
  if (dtype == "i8")
    return nccl::Int8;
  return -1;
}

int64_t einloom::rt::numElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

namespace {
int64_t numel(const std::vector<int64_t> &s) { return numElements(s); }
/// Elements before dimension `d` (rows of the strided copy).
int64_t outer(const std::vector<int64_t> &s, int64_t d) {
  int64_t n = 1;
  for (int64_t i = 0; i < d; ++i)
    n *= s[i];
  return n;
}
/// Bytes of dimension `d` and everything after it (one row of the copy).
int64_t slab(const std::vector<int64_t> &s, int64_t d, int64_t eb) {
  int64_t n = eb;
  for (size_t i = static_cast<size_t>(d); i < s.size(); ++i)
    n *= s[i];
  return n;
}
/// One rank's piece of an all-to-all input: dimension `split` divided.
std::vector<int64_t> piece(std::vector<int64_t> s, int64_t split, int64_t ranks) {
  s[split] /= ranks;
  return s;
}
} // namespace

BundleKernel einloom::rt::collectiveEntry(const std::string &name, const std::string &op,
                                          const BundleCollective &c, int in, int out) {
  BundleKernel k;
  k.name = name;
  k.op = op;
  k.spec = c.axis;
  k.acc = "-";
  k.collective = c;
  k.operands = {in};
  k.result = out;
  k.args = {in, out};
  if (c.scratch >= 0)
    k.args.push_back(c.scratch);
  return k;
}

int64_t einloom::rt::collectiveScratchBytes(const std::string &op, const std::vector<int64_t> &in,
                                            int64_t dim, int64_t dim2, int64_t eb, int64_t ranks) {
  int64_t all = numel(in) * eb;
  if (op == "all_gather")
    return outer(in, dim) > 1 ? all * ranks : 0;
  if (op == "reduce_scatter")
    return outer(in, dim) > 1 ? all : 0;
  if (op == "all_to_all") {
    std::vector<int64_t> p = piece(in, dim, ranks);
    return (outer(in, dim) > 1 ? all : 0) + (outer(p, dim2) > 1 ? all : 0);
  }
  return 0;
}

std::string einloom::rt::checkCollective(const Bundle &b, const BundleKernel &k) {
  std::string what = "collective '" + k.name + "' (" + k.op + ")";
  int axis = meshAxisIndex(b, k.collective.axis);
  if (axis < 0)
    return what + " runs over mesh axis '" + k.collective.axis + "', which the bundle's mesh lacks";
  int64_t ranks = b.mesh[axis].size;
  int n = static_cast<int>(numEntries(b));
  if (k.operands.size() != 1 || k.operands[0] < 0 || k.operands[0] >= n || k.result < 0 ||
      k.result >= n || k.operands[0] == k.result)
    return what + " needs one input and a distinct output";
  const BundleBuffer &in = entryAt(b, k.operands[0]), &out = entryAt(b, k.result);
  if (in.dynamic() || out.dynamic())
    return what + " needs static shapes";
  if (in.dtype != out.dtype)
    return what + " changes the type (" + in.dtype + " to " + out.dtype + ")";
  if (ncclTypeOf(in.dtype) < 0)
    return what + " moves " + in.dtype + ", which NCCL has no type for";
  int64_t eb = dtypeBytes(in.dtype);
  if (eb * numel(in.shape) > in.bytes || eb * numel(out.shape) > out.bytes)
    return what + ": a buffer is smaller than its shape";
  int64_t rank = static_cast<int64_t>(in.shape.size()), d = k.collective.dim,
          d2 = k.collective.dim2;
  bool usesDim = k.op != "all_reduce";
  if (usesDim && (d < 0 || d >= rank || (k.op == "all_to_all" && (d2 < 0 || d2 >= rank))))
    return what + ": dimension out of range for rank " + std::to_string(rank);
  if (out.shape.size() != in.shape.size())
    return what + ": input and output ranks differ";
  std::vector<int64_t> want = in.shape;
  if (k.op == "all_gather")
    want[d] *= ranks;
  else if (k.op == "reduce_scatter" || k.op == "shard_slice" || k.op == "all_to_all") {
    if (want[d] % ranks)
      return what + ": dimension " + std::to_string(d) + " of " + std::to_string(want[d]) +
             " does not split over the " + std::to_string(ranks) + " ranks of '" +
             k.collective.axis + "'";
    want[d] /= ranks;
    if (k.op == "all_to_all")
      want[d2] *= ranks;
  } else if (k.op != "all_reduce")
    return what + " is no collective the runtime knows";
  if (want != out.shape)
    return what + ": the output's shape does not follow from the input's over " +
           std::to_string(ranks) + " ranks";
  int64_t need = collectiveScratchBytes(k.op, in.shape, d, d2, eb, ranks);
  int s = k.collective.scratch;
  if (need > 0) {
    if (s < 0 || s >= n || entryAt(b, s).role != "temp" || entryAt(b, s).bytes < need ||
        std::find(k.args.begin(), k.args.end(), s) == k.args.end())
      return what + " needs a temp scratch buffer of " + std::to_string(need) +
             " bytes among its args";
  }
  std::vector<int> args = {k.operands[0], k.result};
  if (s >= 0)
    args.push_back(s);
  if (k.args != args)
    return what + ": its args must be the input, the output and the scratch, if any";
  return "";
}

std::vector<CollectiveStep> einloom::rt::planCollective(const Bundle &b, const BundleKernel &k,
                                                        int64_t ranks, int64_t rank) {
  using Kind = CollectiveStep::Kind;
  const BundleBuffer &inB = entryAt(b, k.operands[0]), &outB = entryAt(b, k.result);
  const std::vector<int64_t> &in = inB.shape, &out = outB.shape;
  int64_t eb = dtypeBytes(inB.dtype), d = k.collective.dim, d2 = k.collective.dim2;
  int src = k.operands[0], dst = k.result, scratch = k.collective.scratch;
  std::vector<CollectiveStep> steps;
  auto nccl = [&](Kind kind, int from, uint64_t fromOff, int to, uint64_t toOff, int64_t count) {
    CollectiveStep s;
    s.kind = kind;
    s.src = from;
    s.srcOffset = fromOff;
    s.dst = to;
    s.dstOffset = toOff;
    s.count = static_cast<uint64_t>(count);
    steps.push_back(s);
  };
  // `height` rows of `width` bytes from (from, fromOff, fromPitch) to (to, toOff, toPitch).
  auto copy = [&](int from, int64_t fromOff, int64_t fromPitch, int to, int64_t toOff,
                  int64_t toPitch, int64_t width, int64_t height) {
    CollectiveStep s;
    s.src = from;
    s.srcOffset = static_cast<uint64_t>(fromOff);
    s.srcPitch = static_cast<uint64_t>(fromPitch);
    s.dst = to;
    s.dstOffset = static_cast<uint64_t>(toOff);
    s.dstPitch = static_cast<uint64_t>(toPitch);
    s.width = static_cast<uint64_t>(width);
    s.height = static_cast<uint64_t>(height);
    steps.push_back(s);
  };
  if (k.op == "all_reduce") {
    nccl(Kind::AllReduce, src, 0, dst, 0, numel(in));
  } else if (k.op == "all_gather") {
    // NCCL stacks the ranks' inputs; rank r's rows then go to their place
    // along `d` of every outer index.
    int64_t rows = outer(in, d), w = slab(in, d, eb), part = numel(in) * eb;
    if (rows == 1)
      return nccl(Kind::AllGather, src, 0, dst, 0, numel(in)), steps;
    nccl(Kind::AllGather, src, 0, scratch, 0, numel(in));
    for (int64_t r = 0; r < ranks; ++r)
      copy(scratch, r * part, w, dst, r * w, ranks * w, w, rows);
  } else if (k.op == "reduce_scatter") {
    // The reverse: rank r's share of every outer index stacked first.
    int64_t rows = outer(in, d), w = slab(out, d, eb), part = numel(out) * eb;
    if (rows == 1)
      return nccl(Kind::ReduceScatter, src, 0, dst, 0, numel(out)), steps;
    for (int64_t r = 0; r < ranks; ++r)
      copy(src, r * w, ranks * w, scratch, r * part, w, w, rows);
    nccl(Kind::ReduceScatter, scratch, 0, dst, 0, numel(out));
  } else if (k.op == "shard_slice") {
    int64_t w = slab(out, d, eb);
    copy(src, rank * w, ranks * w, dst, 0, w, w, outer(in, d));
  } else { // all_to_all: pieces along d stacked, exchanged, laid out along d2
    std::vector<int64_t> p = piece(in, d, ranks);
    int64_t part = numel(p) * eb, all = numel(in) * eb;
    bool pack = outer(in, d) > 1, unpack = outer(p, d2) > 1;
    int from = src, to = dst;
    int64_t toOff = 0;
    if (pack) {
      int64_t w = slab(p, d, eb);
      for (int64_t j = 0; j < ranks; ++j)
        copy(src, j * w, ranks * w, scratch, j * part, w, w, outer(in, d));
      from = scratch;
    }
    if (unpack) {
      to = scratch;
      toOff = pack ? all : 0;
    }
    nccl(Kind::AllToAll, from, 0, to, static_cast<uint64_t>(toOff), numel(in));
    if (unpack) {
      int64_t w = slab(p, d2, eb);
      for (int64_t i = 0; i < ranks; ++i)
        copy(scratch, toOff + i * part, w, dst, i * w, ranks * w, w, outer(p, d2));
    }
  }
  return steps;
}
