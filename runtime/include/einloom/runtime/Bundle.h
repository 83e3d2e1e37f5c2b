//===- Bundle.h - the bundle file: code plus manifest -----------*- C++ -*-===//
//
// Shared by the compiler (which writes bundles) and the runtime (which reads
// them); plain C++, no LLVM. docs/bundle.md describes the format.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_RUNTIME_BUNDLE_H
#define EINLOOM_RUNTIME_BUNDLE_H

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace einloom::rt {

struct BundleBuffer {
  std::string name;
  std::string role;  ///< "input", "output" or "temp"
  std::string dtype; ///< "f16", "i8", ...
  std::vector<int64_t> shape;
  int64_t bytes = 0;
};

struct BundleKernel {
  std::string name;
  std::array<int64_t, 3> grid{1, 1, 1}, block{1, 1, 1};
  int64_t sharedMemoryBytes = 0;
  std::vector<int> args; ///< buffer indices, in parameter order
  /// What the kernel computes, for checking: "einsum" and its spec.
  std::string op, spec, acc;
  std::vector<int> operands; ///< buffer indices of the einsum's operands
  int result = -1;
  int64_t flops = 0;
};

struct Bundle {
  int version = 1;
  std::string target; ///< "sm_90a"
  std::string source; ///< what it was compiled from
  std::vector<BundleBuffer> buffers;
  std::vector<BundleKernel> kernels;
  std::vector<int> launchOrder;
  std::string ptx;
  std::string cubin; ///< empty when ptxas was not available
};

/// Serializes `b` (manifest, then the images, with a checksum).
std::string writeBundle(const Bundle &b);
/// Parses bundle bytes. On failure returns false and says why in `err`
/// (bad magic, unsupported version, truncated, checksum mismatch, ...).
bool readBundle(const std::string &bytes, Bundle &b, std::string &err);
/// FNV-1a 64-bit.
uint64_t checksum(const std::string &bytes);

} // namespace einloom::rt

#endif
