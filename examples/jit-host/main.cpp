// jit-host: compile an einsum with a dynamic token count at run time,
// through the kernel caches, and run it at several counts on the GPU when
// there is one.
//
//   jit-host [M,M,...]   C[M, 256] = A[M, 64] . B[256, 64]^T in f16
//                        (default M = 1,7,16,300,4096)
//
// M is dynamic (`m=?`): one bundle serves every M up to 16384, with a plan
// per size bucket chosen at launch, so changing M never recompiles. The
// first run compiles and stores the bundle in the on-disk cache; the next
// run (a new process) finds it there. On a machine with a GPU each M is
// checked against a CPU loop; without one the program says so and still
// exits 0 after compiling.
#include "einloom/Session.h"
#include "einloom/runtime/Runtime.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace einloom;

static uint16_t toHalf(float f) { // round to nearest even, normal range only
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, man = x & 0x7fffff;
  if (exp == 0)
    return static_cast<uint16_t>(sign);
  int e = int(exp) - 127 + 15;
  uint32_t h = sign | (uint32_t(e) << 10) | (man >> 13);
  uint32_t rest = man & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    ++h;
  return static_cast<uint16_t>(h);
}
static float fromHalf(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  uint32_t x = exp == 0 ? sign : sign | ((exp - 15 + 127) << 23) | (man << 13);
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

int main(int argc, char **argv) {
  std::vector<int64_t> ms;
  {
    std::string list = argc > 1 ? argv[1] : "1,7,16,300,4096";
    size_t at = 0;
    while (at <= list.size()) {
      size_t comma = list.find(',', at);
      std::string item = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      char *end = nullptr;
      long long v = std::strtoll(item.c_str(), &end, 10);
      if (item.empty() || *end || v <= 0) {
        std::fprintf(stderr, "usage: jit-host [M,M,...]  (each M > 0)\n");
        return 1;
      }
      ms.push_back(v);
      if (comma == std::string::npos)
        break;
      at = comma + 1;
    }
  }
  const int n = 256, k = 64;
  auto session = Session::create();
  if (!session) {
    std::fprintf(stderr, "error: %s\n", llvm::toString(session.takeError()).c_str());
    return 1;
  }
  EinsumRequest q;
  q.spec = "mk,nk->mn";
  q.sizes = "m=?,n=256,k=64";
  q.dtype = "f16";
  CacheOutcome how;
  auto t0 = std::chrono::steady_clock::now();
  auto bundle = (*session)->compileEinsum(q, &how);
  double ms0 = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!bundle) {
    std::fprintf(stderr, "error: %s\n", llvm::toString(bundle.takeError()).c_str());
    return 1;
  }
  std::printf("compiled %s (m dynamic, %lld..%lld) for %s: %s in %.2f ms (%zu kernel(s), %zu "
              "size buckets)\n",
              q.spec.c_str(), static_cast<long long>(bundle->dynamicMin),
              static_cast<long long>(bundle->dynamicMax), bundle->target.c_str(),
              how == CacheOutcome::Compiled ? "cache miss, compiled"
              : how == CacheOutcome::DiskHit ? "disk-cache hit"
                                              : "memory-cache hit",
              ms0, bundle->kernels.size(), bundle->variants.size());

  std::unique_ptr<rt::Device> dev;
  if (rt::Status s = rt::Device::open(0, dev); !s) {
    std::printf("no GPU to run on (%s); compiling and caching worked\n", s.message().c_str());
    return 0;
  }
  auto loaded = Session::load(*bundle, *dev);
  if (!loaded) {
    std::printf("cannot run here (%s); compiling and caching worked\n",
                llvm::toString(loaded.takeError()).c_str());
    return 0;
  }
  std::unique_ptr<rt::Program> prog = std::move(*loaded);
  bool allOk = true;
  srand(1);
  for (int64_t m : ms) {
    std::vector<uint16_t> a(size_t(m) * k), b(size_t(n) * k), c(size_t(m) * n);
    for (auto &x : a)
      x = toHalf((rand() % 17 - 8) / 8.0f);
    for (auto &x : b)
      x = toHalf((rand() % 17 - 8) / 8.0f);
    std::vector<uint64_t> ptrs(bundle->buffers.size());
    std::vector<uint64_t> sizes(bundle->buffers.size());
    rt::Status s = rt::Status::ok();
    for (size_t i = 0; i < ptrs.size() && s; ++i) {
      sizes[i] = uint64_t(rt::bufferBytes(bundle->buffers[i], m));
      s = dev->allocate(sizes[i], ptrs[i]);
    }
    if (s)
      s = dev->copyToDevice(ptrs[0], a.data(), a.size() * 2);
    if (s)
      s = dev->copyToDevice(ptrs[1], b.data(), b.size() * 2);
    // The size picks the plan variant; the program is not rebuilt. The
    // stream is the caller's (here the device's own, passed explicitly).
    if (s)
      s = prog->launch(ptrs.data(), sizes.data(), ptrs.size(), m, dev->stream());
    if (s)
      s = dev->synchronize();
    if (s)
      s = dev->copyToHost(c.data(), ptrs[2], c.size() * 2);
    for (uint64_t p : ptrs)
      if (p)
        (void)dev->release(p);
    if (!s) {
      std::fprintf(stderr, "error at m=%lld: %s\n", static_cast<long long>(m), s.message().c_str());
      return 1;
    }
    double worst = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double ref = 0;
        for (int kk = 0; kk < k; ++kk)
          ref += double(fromHalf(a[size_t(i) * k + kk])) * fromHalf(b[size_t(j) * k + kk]);
        worst = std::max(worst, std::fabs(ref - fromHalf(c[size_t(i) * n + j])));
      }
    // Inputs are multiples of 1/8 and sums stay exact in f32; f16 rounding
    // of results up to 64 in magnitude is at most 2^-5.
    bool ok = worst <= 1.0 / 32;
    allOk = allOk && ok;
    std::printf("ran m=%lld on %s: max |error| %.4g: %s\n", static_cast<long long>(m),
                dev->info().name.c_str(), worst, ok ? "PASS" : "FAIL");
  }
  SessionStats st = (*session)->stats();
  std::printf("%zu sizes from one program; compiles in this process: %llu\n", ms.size(),
              static_cast<unsigned long long>(st.compiles));
  return allOk ? 0 : 1;
}
