//===- CollectivePlan.h - a collective as NCCL calls and copies -*- C++ -*-===//
//
// A sharded bundle's collective (BundleCollective) along any dimension of a
// row-major tensor, as the steps that run it: NCCL calls, which gather,
// scatter and exchange along the leading dimension only, and strided device
// copies that move the other dimensions' slices into and out of a scratch
// buffer. Plain arithmetic, no driver: the runtime runs the steps on the
// GPU, the unit tests on host memory, bit for bit the same.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_RUNTIME_COLLECTIVEPLAN_H
#define EINLOOM_RUNTIME_COLLECTIVEPLAN_H

#include "einloom/runtime/Bundle.h"

#include <cstdint>
#include <string>
#include <vector>

namespace einloom::rt {

struct CollectiveStep {
  enum class Kind { Copy, AllReduce, AllGather, ReduceScatter, AllToAll };
  Kind kind = Kind::Copy;
  int src = -1, dst = -1;                ///< bundle entries (buffers, then views)
  uint64_t srcOffset = 0, dstOffset = 0; ///< bytes into them
  /// Copy: `height` rows of `width` bytes, `srcPitch` and `dstPitch` bytes
  /// apart.
  uint64_t width = 0, height = 1, srcPitch = 0, dstPitch = 0;
  /// NCCL calls, in elements: a rank's input (all-reduce, all-gather, and
  /// all-to-all, whose rank j gets slice j of count / ranks), a rank's
  /// output (reduce-scatter).
  uint64_t count = 0;
};

/// Bytes of one element of a bundle dtype ("f16", "f32", ...), or 0.
int64_t dtypeBytes(const std::string &dtype);
/// The number of elements of a static shape.
int64_t numElements(const std::vector<int64_t> &shape);

/// Collective `op` (BundleCollective `c`) from entry `in` to entry `out` as
/// an entry of a bundle's kernels: its operands, result and args (input,
/// output, then the scratch if any), as the manifest's `collective` line.
BundleKernel collectiveEntry(const std::string &name, const std::string &op,
                             const BundleCollective &c, int in, int out);

/// Scratch bytes collective `op` needs on a rank whose input has shape
/// `in` (elements of `elementBytes`), for `ranks` ranks: 0 when NCCL can
/// work in place on the buffers (the dimension is the leading one, or all
/// dimensions before it are 1).
int64_t collectiveScratchBytes(const std::string &op, const std::vector<int64_t> &in, int64_t dim,
                               int64_t dim2, int64_t elementBytes, int64_t ranks);

/// Why entry `k` is not a collective this bundle can run ("" when it is):
/// its axis is not the mesh's, its dimensions are out of range, its input
/// and output shapes do not match the collective over that axis's size,
/// its dtype has no NCCL type, or its scratch is missing or too small.
std::string checkCollective(const Bundle &b, const BundleKernel &k);

/// The steps of collective `k` on the rank at position `rank` of its axis's
/// `ranks` (checkCollective first). Every step but the NCCL call runs on
/// the rank's own buffers.
std::vector<CollectiveStep> planCollective(const Bundle &b, const BundleKernel &k, int64_t ranks,
                                           int64_t rank);

} // namespace einloom::rt

#endif
