//===- einloom-jit-bench.cpp - what JIT compilation and the caches cost ---===//
//
// Measures, for one einsum (default: a 4096^3 f16 GEMM for sm_90a):
//   * a cold compile in a session (CPU time of this process; with ptxas
//     the assembler's CPU time is added from the children's usage),
//   * a hit in the session's memory cache,
//   * a hit in the on-disk cache from a new process (this program run again
//     with --child), which is what a restarted host program sees.
// The cache lives in a fresh temporary directory, removed at the end.
//
//===----------------------------------------------------------------------===//
#include "einloom/Session.h"
#include "einloom/runtime/Cache.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace einloom;

static double cpuMs() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static double childrenCpuMs() {
  rusage u;
  getrusage(RUSAGE_CHILDREN, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}
static double wallMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

int main(int argc, char **argv) {
  EinsumRequest q;
  q.spec = "mk,nk->mn";
  q.sizes = "m=4096,n=4096,k=4096";
  q.dtype = "f16";
  SessionOptions o;
  std::string child;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--child")
      child = next();
    else if (a == "--einsum")
      q.spec = next();
    else if (a == "--sizes")
      q.sizes = next();
    else if (a == "--dtype")
      q.dtype = next();
    else if (a == "--target")
      o.target = next();
    else if (a == "--no-ptxas")
      o.assemble = false;
    else {
      std::fprintf(stderr, "usage: einloom-jit-bench [--einsum S --sizes L --dtype T --target T] "
                           "[--no-ptxas]\n");
      return 1;
    }
  }
  if (!child.empty()) {
    // The new process: open a session on the same cache and time the hit.
    o.cacheDir = child;
    auto s = Session::create(o);
    if (!s) {
      std::fprintf(stderr, "error: %s\n", llvm::toString(s.takeError()).c_str());
      return 1;
    }
    CacheOutcome how;
    auto t0 = std::chrono::steady_clock::now();
    auto b = (*s)->compileEinsum(q, &how);
    double ms = wallMs(t0);
    if (!b) {
      std::fprintf(stderr, "error: %s\n", llvm::toString(b.takeError()).c_str());
      return 1;
    }
    std::printf("disk-cache hit, new process: %.3f ms (%s)\n", ms,
                how == CacheOutcome::DiskHit ? "hit" : "NOT A HIT");
    return how == CacheOutcome::DiskHit ? 0 : 1;
  }
  char tmpl[] = "/tmp/einloom-jit-bench.XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 1;
  }
  o.cacheDir = std::string(tmpl) + "/cache";
  auto s = Session::create(o);
  if (!s) {
    std::fprintf(stderr, "error: %s\n", llvm::toString(s.takeError()).c_str());
    return 1;
  }
  std::printf("einsum %s, %s, %s, target %s, %s\n", q.spec.c_str(), q.sizes.c_str(),
              q.dtype.c_str(), o.target.c_str(), o.assemble ? "PTX + cubin (ptxas)" : "PTX only");
  double c0 = cpuMs(), k0 = childrenCpuMs();
  auto w0 = std::chrono::steady_clock::now();
  auto b = (*s)->compileEinsum(q);
  double wall = wallMs(w0), cpu = cpuMs() - c0, ptxas = childrenCpuMs() - k0;
  if (!b) {
    std::fprintf(stderr, "error: %s\n", llvm::toString(b.takeError()).c_str());
    return 1;
  }
  std::printf("cold compile: %.1f ms CPU in the compiler + %.1f ms CPU in ptxas (%.1f ms wall)\n",
              cpu, ptxas, wall);
  w0 = std::chrono::steady_clock::now();
  CacheOutcome how;
  auto again = (*s)->compileEinsum(q, &how);
  std::printf("memory-cache hit: %.3f ms (%s)\n", wallMs(w0),
              again && how == CacheOutcome::MemoryHit ? "hit" : "NOT A HIT");
  std::fflush(stdout);
  // The disk hit, from a new process.
  pid_t pid = fork();
  if (pid == 0) {
    std::string dir = o.cacheDir;
    std::vector<std::string> args = {"/proc/self/exe", "--child", dir, "--einsum", q.spec,
                                     "--sizes", q.sizes, "--dtype", q.dtype, "--target", o.target};
    if (!o.assemble)
      args.push_back("--no-ptxas");
    std::vector<char *> av;
    for (std::string &a : args)
      av.push_back(a.data());
    av.push_back(nullptr);
    execv("/proc/self/exe", av.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::string rm = std::string("rm -rf ") + tmpl;
  if (system(rm.c_str()) != 0)
    std::fprintf(stderr, "warning: could not remove %s\n", tmpl);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
