//===- Runner.h - run a bundle on the GPU, check it, time it ----*- C++ -*-===//
//
// Runtime-only (no LLVM): this is what einloom-run does with a bundle, and
// what runs on the GPU host.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_RUNTIME_RUNNER_H
#define EINLOOM_RUNTIME_RUNNER_H

#include "einloom/Reference/Tensor.h"
#include "einloom/runtime/Bundle.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace einloom::rt {

struct RunOptions {
  uint64_t seed = 0;
  bool check = true;
  bool bench = false;
  int iterations = 50;
  /// Launches per timed sample, back to back between the two events (the
  /// sample's time is divided by it): more than 1 keeps the host's cost of
  /// a launch out of the measurement, as in a model's consecutive layers.
  int batch = 1;
  int warmup = 5;
  int device = 0;
  /// Sampled check of this many output elements when the full reference
  /// would exceed `fullCheckFlops`.
  int samples = 2048;
  double fullCheckFlops = 4.0e9;
  std::string label; ///< name used in the RESULT line
  /// Sizes of a dynamic dimension to run, one after the other, from the one
  /// loaded program (each gets its own RESULT line). Required for a bundle
  /// with a dynamic dimension; must be empty otherwise.
  std::vector<int64_t> dynamicSizes;
  /// The fraction of non-zero elements in the random data of a sparse
  /// weight (0 to 1).
  double density = 0.25;
  /// Random corruptions of a sparse weight's packed data (offsets and
  /// in-tile positions) before upload, to show that the kernel stays in
  /// bounds (run it under compute-sanitizer); the result is not checked.
  int corruptSparse = 0;
};

/// Runs `b` and prints a report to stdout, ending with one line
/// "RESULT <label> PASS|FAIL|ERROR rel=<e> ms=<t> tflops=<f>" (per dynamic
/// size: "RESULT <label>@<dim>=<size> ...").
/// Returns 0 on success, 1 on a failed check or any error.
/// `device`: an open device to run on (null: open options.device).
int runBundle(const Bundle &b, const RunOptions &options, class Device *device = nullptr);

/// What the random data of buffer `index` is to the kernels that read it:
/// codes, scales (a dequantize's, or an int8 sum's row and column scales),
/// zero points, or plain data.
ref::Role inputRole(const Bundle &b, int index);

/// A timing run (no check) makes an input of more than twice this many
/// elements from one random block of this many, repeated.
constexpr int64_t kTimingBlock = int64_t(1) << 22;

/// Why the runner's host copies of `b`'s buffers at dynamic size `size`
/// (-1: static) would not fit in `haveBytes` of memory (with `check` every
/// buffer as doubles, twice; without, the inputs as doubles, a large one
/// as its block, and their encoded bytes); empty when they fit or
/// `haveBytes` is 0 (unknown).
std::string hostCopiesDoNotFit(const Bundle &b, int64_t size, bool check, uint64_t haveBytes);

/// A host tensor as the device holds it: each element in its dtype's bits,
/// little-endian; and back.
std::string encodeTensor(const ref::Tensor &t);
/// `block` repeated (the last copy cut short) to `bytes` bytes: a timing
/// run's large input from one random block.
std::string repeatToSize(const std::string &block, size_t bytes);
ref::Tensor decodeTensor(const std::string &bytes, ref::DType t, const std::vector<int64_t> &shape);

/// Keeps each element of `t` with probability `density` (the rest 0): a
/// sparse weight's random data.
void sparsify(ref::Tensor &t, ref::Random &rng, double density);
/// The same for the weight of a kernel's `sparse` line: a 2:4 weight is
/// then pruned to at most 2 of every 4 (pruneTwoFour).
void sparsify(ref::Tensor &t, ref::Random &rng, double density, const BundleSparse &sp);
/// Keeps the two largest magnitudes of every group of four along the last
/// dimension (ties: the first), as 2:4 weights are pruned.
void pruneTwoFour(ref::Tensor &t);
/// A sparse weight's device bytes: `dense` (a matrix) packed as `sp` says,
/// into `packed` by buffer index: the Tiled-CSL words, the bitmap values or
/// the blocks, or the 2:4 values at `weight` (the weight's buffer), the
/// offsets (2:4: the metadata; block_csr: the row pointers) at sp.offsets, a
/// bitmap's masks or block_csr's column indices at sp.index. False with
/// `err` otherwise.
bool packSparse(const ref::Tensor &dense, const BundleSparse &sp, size_t weight,
                std::map<size_t, std::string> &packed, std::string &err);

/// Reads and parses a bundle file; on failure prints why and returns false.
bool loadBundleFile(const std::string &path, Bundle &b);

} // namespace einloom::rt

#endif
