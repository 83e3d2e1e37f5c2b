//===- HostCollectives.h - a sharded bundle's collectives on host memory --===//
//
// Runs the steps of a bundle's collective (runtime CollectivePlan.h) for
// every rank of its mesh at once on host buffers: the copies as the driver
// makes them, the NCCL calls by their definitions (sums in the element
// type, rank order). The unit tests check the plans and whole sharded
// bundles with it, bit for bit, where no GPU or NCCL is.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_TEST_HOSTCOLLECTIVES_H
#define EINLOOM_TEST_HOSTCOLLECTIVES_H

#include "einloom/runtime/Bundle.h"
#include "einloom/runtime/CollectivePlan.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace einloom::test {

/// One rank's memory: a host allocation per bundle buffer.
struct HostRank {
  std::vector<std::vector<unsigned char>> buffers;
  std::vector<uint64_t> pointers() {
    std::vector<uint64_t> p;
    for (auto &b : buffers)
      p.push_back(reinterpret_cast<uint64_t>(b.data()));
    return p;
  }
  /// Entry `i` (a buffer or a view) of bundle `b`.
  unsigned char *entry(const rt::Bundle &b, int i) {
    std::vector<uint64_t> p = pointers();
    return reinterpret_cast<unsigned char *>(rt::entryAddress(b, i, p.data(), -1));
  }
};

/// Every rank's buffers, sized as the bundle says, zero-filled.
inline std::vector<HostRank> hostRanks(const rt::Bundle &b, int64_t ranks) {
  std::vector<HostRank> out(static_cast<size_t>(ranks));
  for (HostRank &r : out)
    for (const rt::BundleBuffer &x : b.buffers)
      r.buffers.emplace_back(static_cast<size_t>(x.bytes), 0);
  return out;
}

/// Ranks apart along mesh axis `axis` (the mesh's ranks row-major, the
/// last axis fastest).
inline int64_t axisStride(const rt::Bundle &b, int axis) {
  int64_t stride = 1;
  for (size_t i = static_cast<size_t>(axis) + 1; i < b.mesh.size(); ++i)
    stride *= b.mesh[i].size;
  return stride;
}

/// `rank`'s coordinate along mesh axis `axis`.
inline int64_t axisPosition(const rt::Bundle &b, int axis, int64_t rank) {
  return rank / axisStride(b, axis) % b.mesh[axis].size;
}

/// The ranks that share every coordinate but `axis`'s with `rank`, in
/// their order along it.
inline std::vector<int64_t> axisGroup(const rt::Bundle &b, int axis, int64_t rank) {
  int64_t stride = axisStride(b, axis), n = b.mesh[axis].size, at = axisPosition(b, axis, rank);
  std::vector<int64_t> g;
  for (int64_t j = 0; j < n; ++j)
    g.push_back(rank + (j - at) * stride);
  return g;
}

/// x += y, `count` elements of `dtype`; false for a type the tests do not sum.
inline bool addInto(unsigned char *x, const unsigned char *y, uint64_t count,
                    const std::string &dtype) {
  auto add = [&](auto zero) {
    using T = decltype(zero);
    for (uint64_t i = 0; i < count; ++i) {
      T a, c;
      std::memcpy(&a, x + i * sizeof(T), sizeof(T));
      std::memcpy(&c, y + i * sizeof(T), sizeof(T));
      a += c;
      std::memcpy(x + i * sizeof(T), &a, sizeof(T));
    }
    return true;
  };
  if (dtype == "f32")
    return add(0.0f);
  if (dtype == "f64")
    return add(0.0);
  if (dtype == "i32")
    return add(int32_t(0));
  return false;
}

/// Collective `k` of `b` on every rank of `ranks`; "" or what went wrong.
inline std::string runCollectiveOnHost(const rt::Bundle &b, const rt::BundleKernel &k,
                                       std::vector<HostRank> &ranks) {
  using Kind = rt::CollectiveStep::Kind;
  int axis = rt::meshAxisIndex(b, k.collective.axis);
  if (axis < 0)
    return "no such axis";
  int64_t n = b.mesh[axis].size;
  const std::string &dtype = rt::entryAt(b, k.operands[0]).dtype;
  uint64_t eb = static_cast<uint64_t>(rt::dtypeBytes(dtype));
  // Each rank's group along the axis, its position there, and its plan.
  std::vector<std::vector<int64_t>> groups;
  std::vector<int64_t> positions;
  std::vector<std::vector<rt::CollectiveStep>> plans;
  for (size_t r = 0; r < ranks.size(); ++r) {
    groups.push_back(axisGroup(b, axis, static_cast<int64_t>(r)));
    positions.push_back(axisPosition(b, axis, static_cast<int64_t>(r)));
    plans.push_back(rt::planCollective(b, k, n, positions.back()));
    if (plans.back().size() != plans.front().size())
      return "ranks plan different numbers of steps";
  }
  for (size_t s = 0; s < plans[0].size(); ++s) {
    const rt::CollectiveStep &st0 = plans[0][s];
    if (st0.kind == Kind::Copy) {
      for (size_t r = 0; r < ranks.size(); ++r) {
        const rt::CollectiveStep &st = plans[r][s];
        const unsigned char *src = ranks[r].entry(b, st.src) + st.srcOffset;
        unsigned char *dst = ranks[r].entry(b, st.dst) + st.dstOffset;
        for (uint64_t row = 0; row < st.height; ++row)
          std::memcpy(dst + row * st.dstPitch, src + row * st.srcPitch, st.width);
      }
      continue;
    }
    // An NCCL call: every rank's result from its group's inputs, all read
    // before any is written.
    std::vector<std::vector<unsigned char>> results(ranks.size());
    for (size_t r = 0; r < ranks.size(); ++r) {
      const std::vector<int64_t> &g = groups[r];
      int64_t at = positions[r];
      auto input = [&](int64_t member) {
        const rt::CollectiveStep &st = plans[member][s];
        return ranks[member].entry(b, st.src) + st.srcOffset;
      };
      uint64_t count = st0.count, bytes = count * eb;
      std::vector<unsigned char> &out = results[r];
      switch (st0.kind) {
      case Kind::AllReduce:
      case Kind::ReduceScatter: {
        // The sum of every member's input (a reduce-scatter: of its slice at).
        uint64_t from = st0.kind == Kind::ReduceScatter ? static_cast<uint64_t>(at) * bytes : 0;
        out.assign(input(g[0]) + from, input(g[0]) + from + bytes);
        for (size_t m = 1; m < g.size(); ++m)
          if (!addInto(out.data(), input(g[m]) + from, count, dtype))
            return "the host sums no " + dtype;
        break;
      }
      case Kind::AllGather:
        for (int64_t m : g)
          out.insert(out.end(), input(m), input(m) + bytes);
        break;
      case Kind::AllToAll: {
        uint64_t part = bytes / static_cast<uint64_t>(n);
        for (int64_t m : g)
          out.insert(out.end(), input(m) + at * part, input(m) + (at + 1) * part);
        break;
      }
      case Kind::Copy:
        break;
      }
    }
    for (size_t r = 0; r < ranks.size(); ++r) {
      const rt::CollectiveStep &st = plans[r][s];
      std::memcpy(ranks[r].entry(b, st.dst) + st.dstOffset, results[r].data(), results[r].size());
    }
  }
  return "";
}

} // namespace einloom::test

#endif
