//===- Runtime.cpp - the CUDA driver API through dlopen -------------------===//
#include "einloom/runtime/Runtime.h"
#include "einloom/runtime/CollectivePlan.h"
#include "einloom/runtime/Collectives.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <dlfcn.h>
#include <mutex>

using namespace einloom::rt;

namespace einloom::rt {
// The few driver types we need, declared here so that no CUDA header is
// required to build the runtime.
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;

struct DriverTable {
  void *handle = nullptr;
  CUresult (*cuInit)(unsigned) = nullptr;
  CUresult (*cuDeviceGetCount)(int *) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice *, int) = nullptr;
  CUresult (*cuDeviceGetName)(char *, int, CUdevice) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(void **, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice) = nullptr;
  CUresult (*cuCtxSetCurrent)(void *) = nullptr;
  CUresult (*cuCtxSynchronize)() = nullptr;
  CUresult (*cuStreamCreate)(void **, unsigned) = nullptr;
  CUresult (*cuStreamDestroy)(void *) = nullptr;
  CUresult (*cuStreamSynchronize)(void *) = nullptr;
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t) = nullptr;
  CUresult (*cuMemFree)(CUdeviceptr) = nullptr;
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t) = nullptr;
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, void *) = nullptr;
  CUresult (*cuMemAllocHost)(void **, size_t) = nullptr;
  CUresult (*cuMemFreeHost)(void *) = nullptr;
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t) = nullptr;
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, void *) = nullptr;
  CUresult (*cuMemcpy2DAsync)(const void *, void *) = nullptr;
  CUresult (*cuStreamQuery)(void *) = nullptr;
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t) = nullptr;
  CUresult (*cuModuleLoadDataEx)(void **, const void *, unsigned, int *, void **) = nullptr;
  CUresult (*cuModuleUnload)(void *) = nullptr;
  CUresult (*cuModuleGetFunction)(void **, void *, const char *) = nullptr;
  CUresult (*cuFuncSetAttribute)(void *, int, int) = nullptr;
  CUresult (*cuLaunchKernel)(void *, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, void *, void **, void **) = nullptr;
  CUresult (*cuEventCreate)(void **, unsigned) = nullptr;
  CUresult (*cuEventDestroy)(void *) = nullptr;
  CUresult (*cuEventRecord)(void *, void *) = nullptr;
  CUresult (*cuEventSynchronize)(void *) = nullptr;
  CUresult (*cuEventElapsedTime)(float *, void *, void *) = nullptr;
  CUresult (*cuTensorMapEncodeTiled)(void *, int, unsigned, void *, const uint64_t *,
                                     const uint64_t *, const unsigned *, const unsigned *, int,
                                     int, int, int) = nullptr;
  CUresult (*cuOccupancyMaxActiveClusters)(int *, void *, const void *) = nullptr;
  CUresult (*cuGetErrorName)(CUresult, const char **) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char **) = nullptr;
  std::string loadError;
};
} // namespace einloom::rt

namespace {
constexpr int kAttrMultiprocessors = 16;
constexpr int kAttrL2CacheSize = 38;
constexpr int kAttrCcMajor = 75;
constexpr int kAttrCcMinor = 76;
constexpr int kFuncMaxDynamicShared = 8;
constexpr int kJitErrorLogBuffer = 5;
constexpr int kJitErrorLogBufferSize = 6;

const DriverTable &driverTable() {
  static DriverTable table;
  static std::once_flag once;
  std::call_once(once, [] {
    // EINLOOM_LIBCUDA names another driver library (tests use it to
    // simulate a machine without one).
    const char *env = std::getenv("EINLOOM_LIBCUDA");
    const char *lib = env ? env : "libcuda.so.1";
    table.handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!table.handle) {
      const char *e = dlerror();
      table.loadError = std::string("cannot load the CUDA driver (") + lib + "): " +
                        (e ? e : "unknown error") + "; is an NVIDIA driver installed?";
      return;
    }
    auto sym = [&](auto &fn, const char *name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(table.handle, name));
      if (!fn && table.loadError.empty())
        table.loadError = std::string("the CUDA driver lacks ") + name;
    };
    sym(table.cuInit, "cuInit");
    sym(table.cuDeviceGetCount, "cuDeviceGetCount");
    sym(table.cuDeviceGet, "cuDeviceGet");
    sym(table.cuDeviceGetName, "cuDeviceGetName");
    sym(table.cuDeviceGetAttribute, "cuDeviceGetAttribute");
    sym(table.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    sym(table.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
    sym(table.cuCtxSetCurrent, "cuCtxSetCurrent");
    sym(table.cuCtxSynchronize, "cuCtxSynchronize");
    sym(table.cuStreamCreate, "cuStreamCreate");
    sym(table.cuStreamDestroy, "cuStreamDestroy_v2");
    sym(table.cuStreamSynchronize, "cuStreamSynchronize");
    sym(table.cuMemAlloc, "cuMemAlloc_v2");
    sym(table.cuMemFree, "cuMemFree_v2");
    sym(table.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
    sym(table.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
    sym(table.cuMemAllocHost, "cuMemAllocHost_v2");
    sym(table.cuMemFreeHost, "cuMemFreeHost");
    sym(table.cuMemcpyDtoH, "cuMemcpyDtoH_v2");
    sym(table.cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
    sym(table.cuMemcpy2DAsync, "cuMemcpy2DAsync_v2");
    sym(table.cuStreamQuery, "cuStreamQuery");
    sym(table.cuMemsetD8, "cuMemsetD8_v2");
    sym(table.cuModuleLoadDataEx, "cuModuleLoadDataEx");
    sym(table.cuModuleUnload, "cuModuleUnload");
    sym(table.cuModuleGetFunction, "cuModuleGetFunction");
    sym(table.cuFuncSetAttribute, "cuFuncSetAttribute");
    sym(table.cuLaunchKernel, "cuLaunchKernel");
    sym(table.cuEventCreate, "cuEventCreate");
    sym(table.cuEventDestroy, "cuEventDestroy_v2");
    sym(table.cuEventRecord, "cuEventRecord");
    sym(table.cuEventSynchronize, "cuEventSynchronize");
    sym(table.cuEventElapsedTime, "cuEventElapsedTime");
    // Optional: drivers before CUDA 12 lack it; only TMA kernels need it.
    table.cuTensorMapEncodeTiled = reinterpret_cast<decltype(table.cuTensorMapEncodeTiled)>(
        dlsym(table.handle, "cuTensorMapEncodeTiled"));
    table.cuOccupancyMaxActiveClusters =
        reinterpret_cast<decltype(table.cuOccupancyMaxActiveClusters)>(
            dlsym(table.handle, "cuOccupancyMaxActiveClusters"));
    sym(table.cuGetErrorName, "cuGetErrorName");
    sym(table.cuGetErrorString, "cuGetErrorString");
  });
  return table;
}

Status check(const DriverTable &d, CUresult r, const char *what) {
  if (r == 0)
    return Status::ok();
  const char *name = nullptr, *text = nullptr;
  if (d.cuGetErrorName)
    d.cuGetErrorName(r, &name);
  if (d.cuGetErrorString)
    d.cuGetErrorString(r, &text);
  return Status::error(std::string(what) + " failed: " + (name ? name : "CUDA error") + " (" +
                       std::to_string(r) + "): " + (text ? text : "no description"));
}
} // namespace

#define EL_CHECK(call, what)                                                   \
  do {                                                                         \
    Status s_ = check(*driver_, (call), what);                                 \
    if (!s_)                                                                   \
      return s_;                                                               \
  } while (0)

bool einloom::rt::parseTarget(const std::string &t, int &major, int &minor, bool &arch) {
  if (t.size() < 5 || t.compare(0, 3, "sm_") != 0)
    return false;
  std::string digits = t.substr(3);
  arch = !digits.empty() && digits.back() == 'a';
  if (arch)
    digits.pop_back();
  if (digits.size() < 2 || digits.size() > 3)
    return false;
  for (char c : digits)
    if (!isdigit(static_cast<unsigned char>(c)))
      return false;
  major = std::stoi(digits.substr(0, digits.size() - 1));
  minor = digits.back() - '0';
  return true;
}

Status Device::open(int ordinal, std::unique_ptr<Device> &out) {
  const DriverTable &d = driverTable();
  if (!d.loadError.empty())
    return Status::error(d.loadError);
  std::unique_ptr<Device> dev(new Device());
  dev->driver_ = &d;
  Status s = check(d, d.cuInit(0), "cuInit");
  if (!s)
    return s;
  int count = 0;
  if (!(s = check(d, d.cuDeviceGetCount(&count), "cuDeviceGetCount")))
    return s;
  if (ordinal < 0 || ordinal >= count)
    return Status::error("no CUDA device " + std::to_string(ordinal) + " (this machine has " +
                         std::to_string(count) + ")");
  if (!(s = check(d, d.cuDeviceGet(&dev->device_, ordinal), "cuDeviceGet")))
    return s;
  char name[256] = {0};
  d.cuDeviceGetName(name, sizeof name - 1, dev->device_);
  dev->info_.name = name;
  d.cuDeviceGetAttribute(&dev->info_.major, kAttrCcMajor, dev->device_);
  d.cuDeviceGetAttribute(&dev->info_.minor, kAttrCcMinor, dev->device_);
  d.cuDeviceGetAttribute(&dev->info_.multiprocessors, kAttrMultiprocessors, dev->device_);
  d.cuDeviceGetAttribute(&dev->info_.l2Bytes, kAttrL2CacheSize, dev->device_);
  if (!(s = check(d, d.cuDevicePrimaryCtxRetain(&dev->context_, dev->device_),
                  "cuDevicePrimaryCtxRetain")))
    return s;
  if (!(s = check(d, d.cuCtxSetCurrent(dev->context_), "cuCtxSetCurrent")))
    return s;
  // A blocking stream: it orders after work on the legacy stream (memsets).
  if (!(s = check(d, d.cuStreamCreate(&dev->stream_, 0), "cuStreamCreate")))
    return s;
  out = std::move(dev);
  return Status::ok();
}

Device::~Device() {
  if (stream_)
    driver_->cuStreamDestroy(stream_);
  if (context_)
    driver_->cuDevicePrimaryCtxRelease(device_);
}

Status Device::makeCurrent() const {
  EL_CHECK(driver_->cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  return Status::ok();
}
Status Device::allocate(size_t bytes, uint64_t &ptr) {
  if (Status s = makeCurrent(); !s)
    return s;
  CUdeviceptr p = 0;
  EL_CHECK(driver_->cuMemAlloc(&p, bytes ? bytes : 1), "cuMemAlloc");
  ptr = p;
  return Status::ok();
}
Status Device::release(uint64_t ptr) {
  if (Status s = makeCurrent(); !s)
    return s;
  EL_CHECK(driver_->cuMemFree(ptr), "cuMemFree");
  return Status::ok();
}
Status Device::copyToDevice(uint64_t dst, const void *src, size_t bytes) {
  if (Status s = makeCurrent(); !s)
    return s;
  EL_CHECK(driver_->cuMemcpyHtoD(dst, src, bytes), "cuMemcpyHtoD");
  return Status::ok();
}
Status Device::copyToHost(void *dst, uint64_t src, size_t bytes) {
  if (Status s = makeCurrent(); !s)
    return s;
  EL_CHECK(driver_->cuMemcpyDtoH(dst, src, bytes), "cuMemcpyDtoH");
  return Status::ok();
}
Status Device::fill(uint64_t dst, unsigned char value, size_t bytes) {
  if (Status s = makeCurrent(); !s)
    return s;
  EL_CHECK(driver_->cuMemsetD8(dst, value, bytes), "cuMemsetD8");
  return Status::ok();
}
int einloom::rt::timingInputCopies(size_t inputBytes, int l2Bytes) {
  if (l2Bytes <= 0 || inputBytes == 0)
    return 1;
  size_t want = (4 * static_cast<size_t>(l2Bytes) + inputBytes - 1) / inputBytes;
  return static_cast<int>(std::clamp<size_t>(want, 1, 8));
}

Status Device::synchronize() {
  if (Status s = makeCurrent(); !s)
    return s;
  EL_CHECK(driver_->cuCtxSynchronize(), "device work (cuCtxSynchronize)");
  return Status::ok();
}

Status Program::load(Device &device, const Bundle &bundle, std::unique_ptr<Program> &out) {
  if (Status s = device.makeCurrent(); !s)
    return s;
  int major, minor;
  bool arch;
  if (!parseTarget(bundle.target, major, minor, arch))
    return Status::error("bundle target '" + bundle.target + "' is not an sm_XY target");
  const DeviceInfo &info = device.info();
  std::string dev = info.name + " (sm_" + std::to_string(info.major) + std::to_string(info.minor) + ")";
  bool exact = info.major == major && info.minor == minor;
  if (arch && !exact)
    return Status::error("bundle built for " + bundle.target + " cannot run on " + dev +
                         ": arch-specific code runs only on that exact architecture");
  if (info.major * 10 + info.minor < major * 10 + minor)
    return Status::error("bundle built for " + bundle.target + " cannot run on " + dev +
                         ", an older architecture");
  std::unique_ptr<Program> p(new Program());
  p->device_ = &device;
  p->bundle_ = bundle;
  const DriverTable &d = device.driver();
  bool useCubin = exact && !bundle.cubin.empty();
  bool anyCode = false; // a program of collectives alone loads no module
  for (const BundleKernel &k : bundle.kernels)
    anyCode |= !k.isCollective();
  std::string image = useCubin ? bundle.cubin : bundle.ptx;
  if (!useCubin)
    image.push_back('\0');
  char log[8192] = {0};
  int opts[] = {kJitErrorLogBuffer, kJitErrorLogBufferSize};
  void *vals[] = {log, reinterpret_cast<void *>(static_cast<uintptr_t>(sizeof log))};
  CUresult r = anyCode ? d.cuModuleLoadDataEx(&p->module_, image.data(), 2, opts, vals) : 0;
  if (r != 0) {
    Status s = check(d, r, useCubin ? "loading the bundle's cubin" : "JIT-compiling the bundle's PTX");
    return Status::error(s.message() + (log[0] ? std::string("\n") + log : ""));
  }
  p->loadedFrom_ = useCubin ? "cubin" : "ptx (JIT)";
  for (const BundleKernel &k : bundle.kernels) {
    if (k.isCollective()) { // NCCL calls and copies: no code
      p->functions_.push_back(nullptr);
      p->tensorMapRings_.emplace_back();
      p->gridLimit_.push_back(1);
      continue;
    }
    void *fn = nullptr;
    Status s = check(d, d.cuModuleGetFunction(&fn, p->module_, k.name.c_str()),
                     ("finding kernel '" + k.name + "'").c_str());
    if (!s)
      return s;
    // Always set: the NVPTX backend turns the dynamic shared memory symbol
    // into a 1-byte static one, so even exactly 48 KiB needs the opt-in.
    if (k.sharedMemoryBytes > 0) {
      s = check(d, d.cuFuncSetAttribute(fn, kFuncMaxDynamicShared, static_cast<int>(k.sharedMemoryBytes)),
                "allowing the kernel's dynamic shared memory");
      if (!s)
        return s;
    }
    p->functions_.push_back(fn);
    // A ring of tensor-map tables (see prepareTensorMaps): device slots, a
    // pinned host copy of each for the asynchronous upload, and an event
    // per slot that completes when the last launch reading it has.
    TensorMapRing ring;
    if (!k.tensorMaps.empty()) {
      if (!d.cuTensorMapEncodeTiled)
        return Status::error("kernel '" + k.name + "' uses TMA tensor maps, but this CUDA "
                             "driver has no cuTensorMapEncodeTiled (CUDA 12 or newer needed)");
      ring.tableBytes = kTensorMapBytes * k.tensorMaps.size();
      if (!(s = device.allocate(ring.tableBytes * kTensorMapSlots, ring.device)))
        return s;
      void *host = nullptr;
      if (!(s = check(d, d.cuMemAllocHost(&host, ring.tableBytes * kTensorMapSlots),
                      "allocating pinned memory for tensor maps (cuMemAllocHost)"))) {
        device.release(ring.device);
        return s;
      }
      ring.host = static_cast<unsigned char *>(host);
      ring.slots.resize(kTensorMapSlots);
      for (TensorMapRing::Slot &slot : ring.slots)
        if (!(s = check(d, d.cuEventCreate(&slot.done, /*CU_EVENT_DISABLE_TIMING*/ 2),
                        "cuEventCreate"))) {
          p->tensorMapRings_.push_back(std::move(ring));
          return s;
        }
    }
    p->tensorMapRings_.push_back(std::move(ring));
    // A persistent kernel's CTAs must all be resident at once, or the ones
    // left over run a second, full-length round. With clusters fewer than
    // SMs / cluster may fit (a GPC's SMs need not pair up): ask the driver.
    unsigned limit = static_cast<unsigned>(k.grid[0]);
    if (k.persistent) {
      unsigned cl = static_cast<unsigned>(k.cluster);
      limit = std::min(limit, static_cast<unsigned>(info.multiprocessors * k.ctasPerSM) / cl * cl);
      if (cl > 1 && d.cuOccupancyMaxActiveClusters) {
        struct LaunchConfig {
          unsigned grid[3], block[3], sharedMemBytes;
          void *stream;
          void *attrs;
          unsigned numAttrs;
        } config{{static_cast<unsigned>(k.grid[0]), 1, 1},
                 {static_cast<unsigned>(k.block[0]), static_cast<unsigned>(k.block[1]),
                  static_cast<unsigned>(k.block[2])},
                 static_cast<unsigned>(k.sharedMemoryBytes), nullptr, nullptr, 0};
        int clusters = 0;
        s = check(d, d.cuOccupancyMaxActiveClusters(&clusters, fn, &config),
                  ("counting the resident clusters of '" + k.name + "'").c_str());
        if (!s)
          return s;
        if (clusters > 0)
          limit = std::min(limit, static_cast<unsigned>(clusters) * cl);
      }
      if (limit == 0)
        return Status::error("kernel '" + k.name + "' cannot be resident on " + dev);
    }
    p->gridLimit_.push_back(limit);
  }
  out = std::move(p);
  return Status::ok();
}

Program::~Program() {
  const DriverTable &d = device_->driver();
  for (TensorMapRing &ring : tensorMapRings_) {
    for (TensorMapRing::Slot &slot : ring.slots)
      if (slot.done) {
        d.cuEventSynchronize(slot.done);
        d.cuEventDestroy(slot.done);
      }
    if (ring.device)
      device_->release(ring.device);
    if (ring.host)
      d.cuMemFreeHost(ring.host);
  }
  if (module_)
    device_->driver().cuModuleUnload(module_);
}

/// What a sharded bundle needs before it launches.
static std::string meshNeed(const Bundle &b) {
  std::string mesh;
  for (const BundleMeshAxis &a : b.mesh)
    mesh += (mesh.empty() ? "" : ",") + a.name + "=" + std::to_string(a.size);
  return "the bundle is one rank's program over the mesh " + mesh +
         ": give it one NCCL communicator per mesh axis first (useCommunicators; the C API's "
         "einloomProgramUseCommunicator)";
}

Status Program::launch(const uint64_t *buffers, const uint64_t *sizes, size_t count,
                       int64_t dynamicSize, void *stream) {
  if (Status s = device_->makeCurrent(); !s)
    return s;
  if (!stream)
    stream = device_->stream();
  if (count != bundle_.buffers.size() || (count && (!buffers || !sizes)))
    return Status::error("the bundle takes " + std::to_string(bundle_.buffers.size()) +
                         " buffers, got " + std::to_string(count));
  std::string why;
  const std::vector<int> *order = launchOrderFor(bundle_, dynamicSize, why);
  if (!order)
    return Status::error(why);
  for (size_t i = 0; i < count; ++i) {
    // A sparse weight's words take what its data needs (one 16-byte chunk
    // at least): the kernel reads no further than the size it is given.
    int64_t need = leastBytes(bundle_, i, dynamicSize);
    if (sizes[i] < static_cast<uint64_t>(need))
      return Status::error("buffer " + std::to_string(i) + " (" + bundle_.buffers[i].name + ") has " +
                           std::to_string(sizes[i]) + " bytes; the bundle needs " +
                           std::to_string(need));
  }
  const DriverTable &d = device_->driver();
  // Kernel parameters: the buffers, the tensor-map table, the dynamic size.
  uint64_t params64[kMaxParams];
  void *params[kMaxParams];
  if (isSharded(bundle_) && comms_.empty())
    return Status::error(meshNeed(bundle_));
  for (int ki : *order) {
    const BundleKernel &k = bundle_.kernels[ki];
    if (k.isCollective()) {
      if (Status s = runCollective(ki, buffers, stream); !s)
        return s;
      continue;
    }
    int slot = -1;
    if (Status st = kernelParams(ki, buffers, sizes, dynamicSize, params64, params, stream, &slot);
        !st)
      return st;
    unsigned gridX = launchGridX(ki, dynamicSize);
    CUresult r = d.cuLaunchKernel(functions_[ki], gridX, k.grid[1], k.grid[2], k.block[0],
                                  k.block[1], k.block[2], static_cast<unsigned>(k.sharedMemoryBytes),
                                  stream, params, nullptr);
    if (r != 0) // the message is built only on failure: launches stay allocation-free
      return check(d, r, ("launching '" + k.name + "'").c_str());
    // The slot's table may be rewritten once this launch is done with it.
    if (slot >= 0)
      if (CUresult e = d.cuEventRecord(tensorMapRings_[ki].slots[slot].done, stream); e != 0)
        return check(d, e, "cuEventRecord");
  }
  return Status::ok();
}

Status Program::useCommunicators(const std::vector<Communicator *> &perAxis) {
  if (!isSharded(bundle_))
    return Status::error("the bundle is not sharded; it takes no communicators");
  if (perAxis.size() != bundle_.mesh.size())
    return Status::error(meshNeed(bundle_) + " (got " + std::to_string(perAxis.size()) + ")");
  for (size_t a = 0; a < perAxis.size(); ++a)
    if (!perAxis[a] || perAxis[a]->size() != bundle_.mesh[a].size)
      return Status::error(
          "mesh axis '" + bundle_.mesh[a].name + "' has " + std::to_string(bundle_.mesh[a].size) +
          " ranks but its communicator has " +
          (perAxis[a] ? std::to_string(perAxis[a]->size()) : std::string("none")));
  std::vector<std::vector<CollectiveStep>> steps(bundle_.kernels.size());
  for (size_t ki = 0; ki < bundle_.kernels.size(); ++ki) {
    const BundleKernel &k = bundle_.kernels[ki];
    if (!k.isCollective())
      continue;
    const Communicator &c = *perAxis[meshAxisIndex(bundle_, k.collective.axis)];
    steps[ki] = planCollective(bundle_, k, c.size(), c.rank());
    // The driver's 2D copy takes pitches below 2^31 bytes.
    for (const CollectiveStep &st : steps[ki])
      if (st.kind == CollectiveStep::Kind::Copy && st.height > 1 &&
          std::max(st.srcPitch, st.dstPitch) >= (uint64_t(1) << 31))
        return Status::error("collective '" + k.name + "' would copy rows " +
                             std::to_string(std::max(st.srcPitch, st.dstPitch)) +
                             " bytes apart; the driver's strided copy takes less than 2 GiB");
  }
  comms_ = perAxis;
  collectiveSteps_ = std::move(steps);
  return Status::ok();
}

Status Program::runCollective(int ki, const uint64_t *buffers, void *stream) {
  const BundleKernel &k = bundle_.kernels[ki];
  Communicator &c = *comms_[meshAxisIndex(bundle_, k.collective.axis)];
  const std::string &dtype = entryAt(bundle_, k.operands[0]).dtype;
  int type = ncclTypeOf(dtype);
  size_t eb = static_cast<size_t>(dtypeBytes(dtype));
  const DriverTable &d = device_->driver();
  for (const CollectiveStep &st : collectiveSteps_[ki]) {
    uint64_t src = entryAddress(bundle_, st.src, buffers, -1) + st.srcOffset;
    uint64_t dst = entryAddress(bundle_, st.dst, buffers, -1) + st.dstOffset;
    void *in = reinterpret_cast<void *>(static_cast<uintptr_t>(src));
    void *out = reinterpret_cast<void *>(static_cast<uintptr_t>(dst));
    Status s = Status::ok();
    switch (st.kind) {
    case CollectiveStep::Kind::Copy:
      if (st.height == 1 || (st.srcPitch == st.width && st.dstPitch == st.width)) {
        s = check(d, d.cuMemcpyDtoDAsync(dst, src, st.width * st.height, stream),
                  ("copying for '" + k.name + "' (cuMemcpyDtoDAsync)").c_str());
      } else {
        DriverMemcpy2D m; // device to device
        m.srcDevice = src;
        m.srcPitch = st.srcPitch;
        m.dstDevice = dst;
        m.dstPitch = st.dstPitch;
        m.WidthInBytes = st.width;
        m.Height = st.height;
        s = check(d, d.cuMemcpy2DAsync(&m, stream),
                  ("copying for '" + k.name + "' (cuMemcpy2DAsync)").c_str());
      }
      break;
    case CollectiveStep::Kind::AllReduce:
      s = c.allReduce(in, out, st.count, type, stream);
      break;
    case CollectiveStep::Kind::AllGather:
      s = c.allGather(in, out, st.count, type, stream);
      break;
    case CollectiveStep::Kind::ReduceScatter:
      s = c.reduceScatter(in, out, st.count, type, stream);
      break;
    case CollectiveStep::Kind::AllToAll:
      s = c.allToAll(in, out, st.count, type, eb, stream);
      break;
    }
    if (!s)
      return Status::error("collective '" + k.name + "': " + s.message());
  }
  return Status::ok();
}

Status Program::finish(void *stream, int timeoutMs) {
  if (Status s = device_->makeCurrent(); !s)
    return s;
  if (!stream)
    stream = device_->stream();
  const DriverTable &d = device_->driver();
  if (comms_.empty())
    return check(d, d.cuStreamSynchronize(stream), "device work (cuStreamSynchronize)");
  struct Query {
    const DriverTable *d;
    void *stream;
    CUresult last;
  } q{&d, stream, 0};
  auto done = [](void *ctx) {
    auto *q = static_cast<Query *>(ctx);
    q->last = q->d->cuStreamQuery(q->stream);
    return q->last != 600; // CUDA_ERROR_NOT_READY
  };
  Status s = Communicator::waitAll(comms_.data(), comms_.size(), done, &q, timeoutMs);
  if (!s)
    return s;
  return check(d, q.last, "device work (cuStreamQuery)");
}

Status Program::kernelParams(int ki, const uint64_t *buffers, const uint64_t *sizes,
                             int64_t dynamicSize, uint64_t *params64, void **params, void *stream,
                             int *slot) {
  const BundleKernel &k = bundle_.kernels[ki];
  size_t n = 0;
  if (k.args.size() + 3 > kMaxParams)
    return Status::error("kernel '" + k.name + "' takes too many arguments");
  for (int a : k.args)
    params64[n++] = entryAddress(bundle_, a, buffers, dynamicSize);
  if (!k.tensorMaps.empty()) {
    int at = 0;
    Status s = prepareTensorMaps(ki, params64, n, dynamicSize, stream, at);
    if (!s)
      return s;
    const TensorMapRing &ring = tensorMapRings_[ki];
    params64[n++] = ring.device + static_cast<uint64_t>(at) * ring.tableBytes;
    if (slot)
      *slot = at;
  }
  if (k.sparse.present())
    params64[n++] = sizes[k.operands[1]] / 4;
  if (k.sized())
    params64[n++] = static_cast<uint64_t>(dynamicSize);
  for (size_t i = 0; i < n; ++i)
    params[i] = &params64[i];
  return Status::ok();
}

Status Program::timeDriverLaunches(const std::vector<uint64_t> &buffers, int64_t dynamicSize,
                                   int count, double &usPerLaunch) {
  std::string why;
  const std::vector<int> *order = launchOrderFor(bundle_, dynamicSize, why);
  if (!order || order->empty() || buffers.size() != bundle_.buffers.size())
    return Status::error(order ? "the bundle takes " + std::to_string(bundle_.buffers.size()) +
                                     " buffers"
                               : why);
  // The first kernel with code (a sharded bundle may start with a collective).
  auto first = std::find_if(order->begin(), order->end(),
                            [&](int i) { return !bundle_.kernels[i].isCollective(); });
  if (first == order->end())
    return Status::error("the bundle launches no kernel with code, only collectives");
  int ki = *first;
  const BundleKernel &k = bundle_.kernels[ki];
  uint64_t params64[kMaxParams];
  void *params[kMaxParams];
  int slot = -1;
  std::vector<uint64_t> sizes;
  for (const BundleBuffer &x : bundle_.buffers)
    sizes.push_back(static_cast<uint64_t>(bufferBytes(x, dynamicSize)));
  if (Status st = kernelParams(ki, buffers.data(), sizes.data(), dynamicSize, params64, params,
                               device_->stream(), &slot);
      !st)
    return st;
  unsigned gx = launchGridX(ki, dynamicSize);
  const DriverTable &d = device_->driver();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i)
    if (CUresult r = d.cuLaunchKernel(functions_[ki], gx, k.grid[1], k.grid[2], k.block[0],
                                      k.block[1], k.block[2],
                                      static_cast<unsigned>(k.sharedMemoryBytes),
                                      device_->stream(), params, nullptr);
        r != 0)
      return check(d, r, ("launching '" + k.name + "'").c_str());
  usPerLaunch = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                    .count() / count;
  if (slot >= 0)
    if (CUresult e = d.cuEventRecord(tensorMapRings_[ki].slots[slot].done, device_->stream()); e != 0)
      return check(d, e, "cuEventRecord");
  return Status::ok();
}

Status Program::prepareTensorMaps(int ki, const uint64_t *ptrs, size_t count, int64_t size,
                                  void *stream, int &slot) {
  const BundleKernel &k = bundle_.kernels[ki];
  const DriverTable &d = device_->driver();
  TensorMapRing &ring = tensorMapRings_[ki];
  // A slot already holding the maps of these buffers at this size: reuse it
  // (its table never changes while it holds them).
  for (size_t i = 0; i < ring.slots.size(); ++i) {
    const TensorMapRing::Slot &sl = ring.slots[i];
    if (sl.used && sl.size == size && sl.ptrs.size() == count &&
        std::equal(ptrs, ptrs + count, sl.ptrs.begin())) {
      slot = static_cast<int>(i);
      return Status::ok();
    }
  }
  // Else the next slot of the ring, once the last launch that read it is
  // done (normally long ago): encode into its pinned host copy and upload it
  // on the launch's stream, so that the launch, and no earlier one, reads it.
  slot = ring.next;
  ring.next = (ring.next + 1) % static_cast<int>(ring.slots.size());
  TensorMapRing::Slot &sl = ring.slots[slot];
  if (sl.used)
    if (Status s = check(d, d.cuEventSynchronize(sl.done), "waiting for a tensor-map slot"); !s)
      return s;
  sl.used = false;
  unsigned char *host = ring.host + static_cast<size_t>(slot) * ring.tableBytes;
  // (Pinned memory is page-aligned and each table a multiple of 128 bytes:
  // every CUtensorMap is 64-byte aligned, as the driver needs.)
  for (size_t i = 0; i < k.tensorMaps.size(); ++i) {
    const BundleTensorMap &t = k.tensorMaps[i];
    uint64_t base = ptrs[t.arg];
    if (base % 16)
      return Status::error("kernel '" + k.name + "' reads argument " + std::to_string(t.arg) +
                           " with TMA, which needs a 16-byte aligned address");
    std::vector<uint64_t> dims, strides(t.strides.begin(), t.strides.end());
    for (int64_t x : t.dims)
      dims.push_back(static_cast<uint64_t>(x == -1 ? size : x));
    std::vector<unsigned> box(t.box.begin(), t.box.end()), unit(t.dims.size(), 1);
    // Raw bits: 8-, 16- or 32-bit unsigned elements (no conversion happens).
    int type = t.elementBytes == 1 ? 0 : t.elementBytes == 2 ? 1 : 2;
    int swizzle = t.swizzle == 128 ? 3 : t.swizzle == 64 ? 2 : t.swizzle == 32 ? 1 : 0;
    const int interleaveNone = 0, l2Promotion256 = 3, oobFillZero = 0;
    Status s = check(d,
                     d.cuTensorMapEncodeTiled(host + i * kTensorMapBytes, type,
                                              static_cast<unsigned>(dims.size()),
                                              reinterpret_cast<void *>(static_cast<uintptr_t>(base)),
                                              dims.data(), strides.data(), box.data(), unit.data(),
                                              interleaveNone, swizzle, l2Promotion256, oobFillZero),
                     ("encoding a tensor map for '" + k.name + "' (cuTensorMapEncodeTiled)").c_str());
    if (!s)
      return s;
  }
  Status s = check(d,
                   d.cuMemcpyHtoDAsync(ring.device + static_cast<uint64_t>(slot) * ring.tableBytes,
                                       host, ring.tableBytes, stream),
                   "uploading tensor maps (cuMemcpyHtoDAsync)");
  if (!s)
    return s;
  sl.ptrs.assign(ptrs, ptrs + count);
  sl.size = size;
  sl.used = true;
  return Status::ok();
}

Status Timer::create(Device &device, std::unique_ptr<Timer> &out) {
  std::unique_ptr<Timer> t(new Timer());
  t->device_ = &device;
  const DriverTable &d = device.driver();
  Status s = check(d, d.cuEventCreate(&t->begin_, 0), "cuEventCreate");
  if (s)
    s = check(d, d.cuEventCreate(&t->end_, 0), "cuEventCreate");
  if (!s)
    return s;
  out = std::move(t);
  return Status::ok();
}
Timer::~Timer() {
  if (begin_)
    device_->driver().cuEventDestroy(begin_);
  if (end_)
    device_->driver().cuEventDestroy(end_);
}
Status Timer::start() {
  return check(device_->driver(), device_->driver().cuEventRecord(begin_, device_->stream()),
               "cuEventRecord");
}
Status Timer::stop(float &ms) {
  const DriverTable &d = device_->driver();
  Status s = check(d, d.cuEventRecord(end_, device_->stream()), "cuEventRecord");
  if (s)
    s = check(d, d.cuEventSynchronize(end_), "kernel execution (cuEventSynchronize)");
  if (s)
    s = check(d, d.cuEventElapsedTime(&ms, begin_, end_), "cuEventElapsedTime");
  return s;
}
