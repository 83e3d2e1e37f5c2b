//===- Runtime.h - loading and launching bundles ----------------*- C++ -*-===//
//
// Built on the CUDA driver API, loaded with dlopen("libcuda.so.1") through a
// table of function pointers: the runtime links and runs on machines with no
// driver, where every call returns a clear error. No LLVM or MLIR inside.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_RUNTIME_RUNTIME_H
#define EINLOOM_RUNTIME_RUNTIME_H

#include "einloom/runtime/Bundle.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace einloom::rt {

/// An error message, or success. Every driver error carries the driver's
/// own name and text for the code.
class Status {
public:
  static Status ok() { return Status(); }
  static Status error(std::string msg) {
    Status s;
    s.message_ = std::move(msg);
    s.failed_ = true;
    return s;
  }
  explicit operator bool() const { return !failed_; }
  const std::string &message() const { return message_; }

private:
  bool failed_ = false;
  std::string message_;
};

struct DeviceInfo {
  std::string name;
  int major = 0, minor = 0;
  int multiprocessors = 0;
  /// The L2 cache's size in bytes (0 where the driver does not say).
  int l2Bytes = 0;
};

/// How many copies of a program's inputs (`inputBytes` in all) a timing
/// loop rotates through so that every timed launch streams them from DRAM
/// rather than an L2 of `l2Bytes`: enough to span four L2s, 1 to 8.
int timingInputCopies(size_t inputBytes, int l2Bytes);

struct DriverTable;
class Communicator;

/// The driver's CUDA_MEMCPY2D (cuMemcpy2DAsync's argument), declared here
/// since the runtime builds without cuda.h; test/Target/driver-abi.test
/// checks the layout against the toolkit's header. Memory type 2: device.
struct DriverMemcpy2D {
  size_t srcXInBytes = 0, srcY = 0;
  int srcMemoryType = 2;
  const void *srcHost = nullptr;
  unsigned long long srcDevice = 0;
  void *srcArray = nullptr;
  size_t srcPitch = 0;
  size_t dstXInBytes = 0, dstY = 0;
  int dstMemoryType = 2;
  void *dstHost = nullptr;
  unsigned long long dstDevice = 0;
  void *dstArray = nullptr;
  size_t dstPitch = 0;
  size_t WidthInBytes = 0, Height = 0;
};
struct CollectiveStep;

/// A device, its primary context and a stream.
class Device {
public:
  /// Loads the driver and opens device `ordinal`.
  static Status open(int ordinal, std::unique_ptr<Device> &out);
  ~Device();
  Device(const Device &) = delete;
  Device &operator=(const Device &) = delete;

  const DeviceInfo &info() const { return info_; }
  const DriverTable &driver() const { return *driver_; }
  void *stream() const { return stream_; }

  Status allocate(size_t bytes, uint64_t &ptr);
  Status release(uint64_t ptr);
  Status copyToDevice(uint64_t dst, const void *src, size_t bytes);
  Status copyToHost(void *dst, uint64_t src, size_t bytes);
  Status fill(uint64_t dst, unsigned char value, size_t bytes);
  Status synchronize();
  /// Makes this device's (primary) context current on the calling thread.
  /// Every call above and Program's load and launch do it first, so a
  /// Device opened on one thread serves any other (PyTorch's autograd
  /// runs backward on its own threads).
  Status makeCurrent() const;

private:
  Device() = default;
  const DriverTable *driver_ = nullptr;
  int device_ = 0;
  void *context_ = nullptr;
  void *stream_ = nullptr;
  DeviceInfo info_;
};

/// A bundle's kernels loaded on a device.
class Program {
public:
  /// Checks the bundle's target against the device and loads its code: the
  /// cubin when it matches the device exactly, else the PTX (JIT).
  static Status load(Device &device, const Bundle &bundle, std::unique_ptr<Program> &out);
  ~Program();
  Program(const Program &) = delete;
  Program &operator=(const Program &) = delete;

  /// Launches the bundle's sequence on the device's stream with one device
  /// pointer per manifest buffer, each at least that buffer's size.
  Status launch(const std::vector<uint64_t> &buffers, const std::vector<size_t> &sizes) {
    return launch(buffers, sizes, -1);
  }
  /// For a bundle with a dynamic dimension: launches the variant for
  /// `dynamicSize` (-1: none; see Bundle.h). Buffers are checked against
  /// their bytes at that size. Nothing recompiles when the size changes.
  Status launch(const std::vector<uint64_t> &buffers, const std::vector<size_t> &sizes,
                int64_t dynamicSize) {
    if (buffers.size() != sizes.size())
      return Status::error("got " + std::to_string(buffers.size()) + " buffers but " +
                           std::to_string(sizes.size()) + " sizes");
    static_assert(sizeof(size_t) == sizeof(uint64_t), "sizes are 64-bit");
    return launch(buffers.data(), reinterpret_cast<const uint64_t *>(sizes.data()),
                  buffers.size(), dynamicSize);
  }
  /// The same, from arrays of `count` pointers and sizes (what the C API
  /// passes through; a launch allocates nothing), on `stream` (a CUstream of
  /// this device's context; null: the device's own stream).
  Status launch(const uint64_t *buffers, const uint64_t *sizes, size_t count,
                int64_t dynamicSize, void *stream = nullptr);
  /// Measurement only: `count` back-to-back cuLaunchKernel calls of the
  /// first kernel with code the launch for `dynamicSize` would run, with its
  /// parameters built once and no checks: the driver's share of a launch's
  /// host cost (microseconds per call in `usPerLaunch`).
  Status timeDriverLaunches(const std::vector<uint64_t> &buffers, int64_t dynamicSize, int count,
                            double &usPerLaunch);
  /// A sharded bundle (Bundle::mesh): the communicators its collectives
  /// run on, one per mesh axis in the mesh's order, each of that axis's
  /// size (meshCommunicators splits them from a world communicator). Not
  /// owned: they outlive the launches. Launching a sharded bundle without
  /// them is an error.
  Status useCommunicators(const std::vector<Communicator *> &perAxis);
  /// Waits for the work launched on `stream` (null: the device's stream).
  /// A sharded bundle waits through its communicators: a peer that failed or
  /// stopped gives an error (and aborts them) within `timeoutMs`, never a
  /// hang; other bundles synchronize the stream.
  Status finish(void *stream, int timeoutMs);
  const Bundle &bundle() const { return bundle_; }
  /// The grid.x kernel `i` launches with at dynamic size `size` (-1 for
  /// static bundles): the manifest's, or for a persistent kernel at most the
  /// CTAs that can be resident at once.
  unsigned launchGridX(size_t i, int64_t size = -1) const {
    unsigned g = static_cast<unsigned>(gridX(bundle_.kernels[i], size));
    return bundle_.kernels[i].persistent && gridLimit_[i] < g ? gridLimit_[i] : g;
  }
  /// "cubin" or "ptx (JIT)".
  const std::string &loadedFrom() const { return loadedFrom_; }

  /// Bytes of one encoded TMA tensor map (CUtensorMap).
  static constexpr size_t kTensorMapBytes = 128;

private:
  Program() = default;
  /// Kernel `ki`'s tensor maps over `ptrs` (its buffer arguments) at
  /// dynamic size `size`: the ring slot (`slot`) that holds them, encoded
  /// and uploaded on `stream` if no slot did.
  Status prepareTensorMaps(int ki, const uint64_t *ptrs, size_t count, int64_t size,
                           void *stream, int &slot);
  /// Kernel `ki`'s launch parameters: its buffers, its tensor-map table
  /// (encoded first if needed, in ring slot `*slot`, -1 without maps), a
  /// sparse weight's word count (from its buffer's size in `sizes`), the
  /// dynamic size; `params` points into `params64`, both at least
  /// kMaxParams long.
  static constexpr size_t kMaxParams = 16;
  Status kernelParams(int ki, const uint64_t *buffers, const uint64_t *sizes,
                      int64_t dynamicSize, uint64_t *params64, void **params, void *stream,
                      int *slot);
  /// A kernel's tensor-map tables: kTensorMapSlots device tables, each
  /// encoded in its pinned host copy and uploaded asynchronously on the
  /// launch's stream, so that a launch never waits for the GPU and never
  /// reads a table a later launch rewrote. A slot is rewritten only after
  /// the event recorded behind its last launch has completed.
  static constexpr int kTensorMapSlots = 32;
  struct TensorMapRing {
    uint64_t device = 0;
    unsigned char *host = nullptr;
    size_t tableBytes = 0;
    struct Slot {
      void *done = nullptr; ///< CUevent behind the last launch reading it
      bool used = false;
      std::vector<uint64_t> ptrs;
      int64_t size = -1;
    };
    std::vector<Slot> slots;
    int next = 0;
  };
  /// Collective `ki`'s steps on `stream`.
  Status runCollective(int ki, const uint64_t *buffers, void *stream);
  Device *device_ = nullptr;
  Bundle bundle_;
  std::vector<Communicator *> comms_;                     ///< per mesh axis
  std::vector<std::vector<CollectiveStep>> collectiveSteps_; ///< per kernel
  std::vector<TensorMapRing> tensorMapRings_; ///< per kernel; empty without maps
  std::vector<unsigned> gridLimit_; ///< per kernel: CTAs that can be resident at once
  void *module_ = nullptr;
  std::vector<void *> functions_;
  std::string loadedFrom_;
};

/// Device-side timing: elapsed milliseconds between two points on the stream.
class Timer {
public:
  static Status create(Device &device, std::unique_ptr<Timer> &out);
  ~Timer();
  Status start();
  Status stop(float &milliseconds);

private:
  Timer() = default;
  Device *device_ = nullptr;
  void *begin_ = nullptr, *end_ = nullptr;
};

/// Parses "sm_90a" into (9, 0, true). False for anything else.
bool parseTarget(const std::string &target, int &major, int &minor, bool &archSpecific);

} // namespace einloom::rt

#endif
