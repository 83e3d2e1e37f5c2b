//===- CAPI.cpp - the C API over Session and the runtime ------------------===//
#include "einloom-c/Einloom.h"

#include "einloom/Session.h"
#include "einloom/runtime/Runtime.h"

#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <sstream>
#include <string>

using namespace einloom;

struct EinloomSessionImpl {
  std::unique_ptr<Session> session;
  bool lastCached = false;
};
struct EinloomBundleImpl {
  rt::Bundle bundle;
};
struct EinloomDeviceImpl {
  std::unique_ptr<rt::Device> device;
  int programs = 0;
};
struct EinloomProgramImpl {
  std::unique_ptr<rt::Program> program;
  EinloomDeviceImpl *device;
};

namespace {
thread_local std::string lastError;

/// Every live handle, so that NULL, unknown and already-destroyed handles
/// are caught instead of dereferenced.
std::mutex registryMutex;
std::set<const void *> &registry() {
  static std::set<const void *> live;
  return live;
}
void track(const void *h) {
  std::lock_guard<std::mutex> lock(registryMutex);
  registry().insert(h);
}
bool live(const void *h) {
  std::lock_guard<std::mutex> lock(registryMutex);
  return h && registry().count(h);
}
bool untrack(const void *h) {
  std::lock_guard<std::mutex> lock(registryMutex);
  return h && registry().erase(h) == 1;
}

EinloomStatus ok() {
  lastError.clear();
  return EINLOOM_OK;
}
EinloomStatus fail(EinloomStatus s, std::string msg) {
  lastError = std::move(msg);
  return s;
}
EinloomStatus invalid(const char *what) {
  return fail(EINLOOM_INVALID_ARGUMENT, std::string(what) + " is NULL or not a live handle");
}
EinloomStatus fromStatus(const rt::Status &s) {
  return s ? ok() : fail(EINLOOM_ERROR, s.message());
}
template <typename T> EinloomStatus fromExpected(llvm::Expected<T> &e) {
  if (e)
    return ok();
  return fail(EINLOOM_ERROR, llvm::toString(e.takeError()));
}

/// Registers a new handle and hands it out.
template <typename H> EinloomStatus publish(H *h, H **out) {
  track(h);
  *out = h;
  return ok();
}

EinloomStatus finishCompile(EinloomSessionImpl *s, llvm::Expected<rt::Bundle> b, CacheOutcome how,
                            EinloomBundle *out) {
  if (!b)
    return fromExpected(b);
  s->lastCached = how != CacheOutcome::Compiled;
  return publish(new EinloomBundleImpl{std::move(*b)}, out);
}
} // namespace

extern "C" {

const char *einloomVersion(void) { return compilerVersion(); }
int einloomApiVersion(void) { return 1; }
const char *einloomLastError(void) { return lastError.c_str(); }

EinloomStatus einloomSessionCreate(const char *target, const char *cacheDir, EinloomSession *out) {
  if (!out)
    return invalid("the output pointer");
  *out = nullptr;
  SessionOptions o;
  if (target)
    o.target = target;
  if (cacheDir && !*cacheDir)
    o.diskCache = false;
  else if (cacheDir)
    o.cacheDir = cacheDir;
  auto s = Session::create(o);
  if (!s)
    return fromExpected(s);
  return publish(new EinloomSessionImpl{std::move(*s), false}, out);
}

EinloomStatus einloomSessionDestroy(EinloomSession session) {
  if (!untrack(session))
    return invalid("the session");
  delete session;
  return ok();
}

EinloomStatus einloomCompileEinsum(EinloomSession session, const char *spec, const char *sizes,
                                   const char *dtype, EinloomBundle *out) {
  if (!live(session))
    return invalid("the session");
  if (!spec || !sizes || !out)
    return fail(EINLOOM_INVALID_ARGUMENT, "spec, sizes and the output pointer are required");
  *out = nullptr;
  EinsumRequest q;
  q.spec = spec;
  q.sizes = sizes;
  if (dtype)
    q.dtype = dtype;
  CacheOutcome how = CacheOutcome::Compiled;
  llvm::Expected<rt::Bundle> b = session->session->compileEinsum(q, &how);
  return finishCompile(session, std::move(b), how, out);
}

EinloomStatus einloomCompileMLIR(EinloomSession session, const char *text, const char *entry,
                                 EinloomBundle *out) {
  if (!live(session))
    return invalid("the session");
  if (!text || !out)
    return fail(EINLOOM_INVALID_ARGUMENT, "the text and the output pointer are required");
  *out = nullptr;
  CacheOutcome how = CacheOutcome::Compiled;
  llvm::Expected<rt::Bundle> b = session->session->compileMLIR(text, entry ? entry : "", &how);
  return finishCompile(session, std::move(b), how, out);
}

EinloomStatus einloomSessionLastWasCached(EinloomSession session, int *cached) {
  if (!live(session) || !cached)
    return invalid("the session or the output pointer");
  *cached = session->lastCached;
  return ok();
}

EinloomStatus einloomBundleNumBuffers(EinloomBundle bundle, size_t *count) {
  if (!live(bundle) || !count)
    return invalid("the bundle or the output pointer");
  *count = bundle->bundle.buffers.size();
  return ok();
}

EinloomStatus einloomBundleBufferBytes(EinloomBundle bundle, size_t index, uint64_t *bytes) {
  if (!live(bundle) || !bytes)
    return invalid("the bundle or the output pointer");
  if (index >= bundle->bundle.buffers.size())
    return fail(EINLOOM_INVALID_ARGUMENT, "buffer index " + std::to_string(index) +
                                              " out of range (the bundle has " +
                                              std::to_string(bundle->bundle.buffers.size()) + ")");
  *bytes = static_cast<uint64_t>(bundle->bundle.buffers[index].bytes);
  return ok();
}

EinloomStatus einloomBundleDynamic(EinloomBundle bundle, const char **label, int64_t *minSize,
                                   int64_t *maxSize) {
  if (!live(bundle) || !label || !minSize || !maxSize)
    return invalid("the bundle or an output pointer");
  *label = bundle->bundle.dynamicLabel.c_str();
  *minSize = bundle->bundle.dynamicMin;
  *maxSize = bundle->bundle.dynamicMax;
  return ok();
}

EinloomStatus einloomBundleBufferBytesAt(EinloomBundle bundle, size_t index, int64_t size,
                                         uint64_t *bytes) {
  if (!live(bundle) || !bytes)
    return invalid("the bundle or the output pointer");
  const einloom::rt::Bundle &b = bundle->bundle;
  if (index >= b.buffers.size())
    return fail(EINLOOM_INVALID_ARGUMENT, "buffer index " + std::to_string(index) +
                                              " out of range (the bundle has " +
                                              std::to_string(b.buffers.size()) + ")");
  std::string why;
  if (!einloom::rt::launchOrderFor(b, size, why))
    return fail(EINLOOM_INVALID_ARGUMENT, why);
  *bytes = static_cast<uint64_t>(einloom::rt::bufferBytes(b.buffers[index], size));
  return ok();
}

EinloomStatus einloomBundleBufferRole(EinloomBundle bundle, size_t index, const char **role) {
  if (!live(bundle) || !role)
    return invalid("the bundle or the output pointer");
  if (index >= bundle->bundle.buffers.size())
    return fail(EINLOOM_INVALID_ARGUMENT, "buffer index out of range");
  *role = bundle->bundle.buffers[index].role.c_str();
  return ok();
}

EinloomStatus einloomBundleWrite(EinloomBundle bundle, const char *path) {
  if (!live(bundle) || !path)
    return invalid("the bundle or the path");
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << rt::writeBundle(bundle->bundle);
  if (!f)
    return fail(EINLOOM_ERROR, std::string("cannot write ") + path);
  return ok();
}

EinloomStatus einloomBundleRead(const char *path, EinloomBundle *out) {
  if (!path || !out)
    return fail(EINLOOM_INVALID_ARGUMENT, "the path and the output pointer are required");
  *out = nullptr;
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return fail(EINLOOM_ERROR, std::string("cannot open ") + path);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto *h = new EinloomBundleImpl();
  std::string err;
  if (!rt::readBundle(bytes, h->bundle, err)) {
    delete h;
    return fail(EINLOOM_ERROR, std::string(path) + ": " + err);
  }
  return publish(h, out);
}

EinloomStatus einloomBundleDestroy(EinloomBundle bundle) {
  if (!untrack(bundle))
    return invalid("the bundle");
  delete bundle;
  return ok();
}

EinloomStatus einloomDeviceOpen(int ordinal, EinloomDevice *out) {
  if (!out)
    return invalid("the output pointer");
  *out = nullptr;
  std::unique_ptr<rt::Device> d;
  if (rt::Status s = rt::Device::open(ordinal, d); !s)
    return fromStatus(s);
  return publish(new EinloomDeviceImpl{std::move(d), 0}, out);
}

EinloomStatus einloomDeviceDestroy(EinloomDevice device) {
  if (!live(device))
    return invalid("the device");
  if (device->programs > 0)
    return fail(EINLOOM_ERROR, "the device still has " + std::to_string(device->programs) +
                                   " loaded program(s); destroy them first");
  untrack(device);
  delete device;
  return ok();
}

EinloomStatus einloomDeviceAlloc(EinloomDevice device, uint64_t bytes, uint64_t *ptr) {
  if (!live(device) || !ptr)
    return invalid("the device or the output pointer");
  return fromStatus(device->device->allocate(bytes, *ptr));
}
EinloomStatus einloomDeviceFree(EinloomDevice device, uint64_t ptr) {
  if (!live(device))
    return invalid("the device");
  return fromStatus(device->device->release(ptr));
}
EinloomStatus einloomDeviceCopyIn(EinloomDevice device, uint64_t dst, const void *src, uint64_t bytes) {
  if (!live(device) || !src)
    return invalid("the device or the source");
  return fromStatus(device->device->copyToDevice(dst, src, bytes));
}
EinloomStatus einloomDeviceCopyOut(EinloomDevice device, void *dst, uint64_t src, uint64_t bytes) {
  if (!live(device) || !dst)
    return invalid("the device or the destination");
  return fromStatus(device->device->copyToHost(dst, src, bytes));
}
EinloomStatus einloomDeviceSynchronize(EinloomDevice device) {
  if (!live(device))
    return invalid("the device");
  return fromStatus(device->device->synchronize());
}

EinloomStatus einloomProgramLoad(EinloomDevice device, EinloomBundle bundle, EinloomProgram *out) {
  if (!live(device) || !live(bundle) || !out)
    return invalid("the device, the bundle or the output pointer");
  *out = nullptr;
  std::unique_ptr<rt::Program> p;
  if (rt::Status s = rt::Program::load(*device->device, bundle->bundle, p); !s)
    return fromStatus(s);
  ++device->programs;
  return publish(new EinloomProgramImpl{std::move(p), device}, out);
}

EinloomStatus einloomProgramLaunch(EinloomProgram program, const uint64_t *buffers,
                                   const uint64_t *sizes, size_t count) {
  if (!live(program))
    return invalid("the program");
  if (count && (!buffers || !sizes))
    return fail(EINLOOM_INVALID_ARGUMENT, "buffers and sizes are required");
  return einloomProgramLaunchOnStream(program, buffers, sizes, count, -1, nullptr);
}

EinloomStatus einloomProgramLaunchSized(EinloomProgram program, const uint64_t *buffers,
                                        const uint64_t *sizes, size_t count, int64_t size) {
  return einloomProgramLaunchOnStream(program, buffers, sizes, count, size, nullptr);
}

EinloomStatus einloomProgramLaunchOnStream(EinloomProgram program, const uint64_t *buffers,
                                           const uint64_t *sizes, size_t count, int64_t size,
                                           void *stream) {
  if (!live(program))
    return invalid("the program");
  if (count && (!buffers || !sizes))
    return fail(EINLOOM_INVALID_ARGUMENT, "buffers and sizes are required");
  return fromStatus(program->program->launch(buffers, sizes, count, size, stream));
}

EinloomStatus einloomProgramDestroy(EinloomProgram program) {
  if (!untrack(program))
    return invalid("the program");
  --program->device->programs;
  delete program;
  return ok();
}

} // extern "C"
