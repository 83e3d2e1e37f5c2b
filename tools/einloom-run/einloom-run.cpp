//===- einloom-run.cpp - run a loom program -------------------------------===//
//
// One source, two builds: `einloom-run` (with the compiler: .mlir files,
// --einsum, --reference) and `einloom-run-rt` (runtime only, no LLVM: runs
// bundles; this is the build that goes to the GPU host).
//
//===----------------------------------------------------------------------===//
#include "Runner.h"
#include <cstdlib>
#include "einloom/runtime/Runtime.h"

#ifdef EINLOOM_WITH_COMPILER
#include "einloom/Compiler.h"
#include "einloom/Registration.h"
#include "einloom/Tools.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"
#endif

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

static const char *kUsage =
    "usage: einloom-run [options] BUNDLE... | FILE.mlir | --einsum SPEC --sizes ...\n"
    "  (several bundles run in turn on one device, one RESULT line each)\n"
    "  --check / --no-check   compare with the CPU reference (default: check)\n"
    "  --bench                time the launches (median of --iters, CUDA events)\n"
    "  --iters N              timed samples (default 50)\n"
    "  --batch N              launches per timed sample, back to back (default 1: each\n"
    "                         launch alone; more keeps the host's launch cost out)\n"
    "  --seed S               seed of the random inputs (default 0)\n"
    "  --density D            non-zero fraction of a sparse weight's random data, or the\n"
    "                         share of a block mask's blocks computed, 0 to 1 (default 0.25)\n"
    "  --device N             CUDA device (default 0)\n"
    "  --label NAME           name in the final RESULT line\n"
    "  --size N[,N...]        sizes of the bundle's dynamic dimension to run, each from\n"
    "                         the one loaded program\n"
#ifdef EINLOOM_WITH_COMPILER
    "  --reference            evaluate FILE.mlir with the CPU reference only\n"
    "  --inputs A.npy,B.npy   (--reference) inputs from .npy files\n"
    "  --save-outputs DIR     (--reference) write DIR/result<i>.npy\n"
    "  --function NAME        the function to run\n"
    "  --print-values N       (--reference) values to print (default 8)\n"
    "  --target sm_XY         compile for this target (default sm_90a)\n"
    "  --einsum SPEC --sizes m=..,n=.. [--dtype f16] [--acc f32] [--out f16] [--scale S]\n"
    "                         (--scale multiplies the sum; with --out i8 it requantizes)\n"
#endif
    ;

namespace {
struct Args {
  std::map<std::string, std::string> opts;
  std::vector<std::string> positional;
  std::string error;
};

Args parse(int argc, char **argv) {
  static const char *flags[] = {"--check", "--no-check", "--bench", "--reference", "--help"};
  static const char *valued[] = {"--iters", "--batch", "--seed", "--density", "--corrupt-sparse", "--device", "--label", "--inputs", "--size",
                                 "--save-outputs", "--function", "--print-values", "--target",
                                 "--einsum", "--sizes", "--dtype", "--acc", "--out", "--scale"};
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("-", 0) != 0 || s == "-") {
      a.positional.push_back(s);
      continue;
    }
    if (s.rfind("--", 0) != 0)
      s = "-" + s; // accept -seed as --seed
    std::string value;
    size_t eq = s.find('=');
    if (eq != std::string::npos) {
      value = s.substr(eq + 1);
      s = s.substr(0, eq);
    }
    bool known = false;
    for (const char *f : flags)
      if (s == f) {
        a.opts[s] = "1";
        known = true;
      }
    for (const char *v : valued)
      if (s == v) {
        if (eq == std::string::npos) {
          if (i + 1 >= argc) {
            a.error = s + " needs a value";
            return a;
          }
          value = argv[++i];
        }
        a.opts[s] = value;
        known = true;
      }
    if (!known) {
      a.error = "unknown option '" + s + "'";
      return a;
    }
  }
  return a;
}

bool toInt(const std::string &s, long long &v) {
  char *end;
  v = std::strtoll(s.c_str(), &end, 10);
  return !s.empty() && *end == '\0';
}
} // namespace

int main(int argc, char **argv) {
  Args args = parse(argc, argv);
  // Several inputs: bundles only, each labelled by its own path.
  if (args.error.empty() && args.positional.size() > 1) {
    for (const std::string &p : args.positional)
      if (p.size() < 8 || p.substr(p.size() - 7) != ".bundle")
        args.error = "several inputs must all be bundles (.bundle), got '" + p + "'";
    if (args.opts.count("--label"))
      args.error = "--label names one input; several bundles are labelled by their paths";
  }
  if (!args.error.empty()) {
    std::fprintf(stderr, "einloom-run: %s\n%s", args.error.c_str(), kUsage);
    return 1;
  }
  auto has = [&](const char *k) { return args.opts.count(k) > 0; };
  auto get = [&](const char *k, const char *d = "") {
    return has(k) ? args.opts[k] : std::string(d);
  };
  if (has("--help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  einloom::rt::RunOptions ro;
  long long v;
  for (auto [name, field] : {std::pair<const char *, int *>{"--iters", &ro.iterations},
                             {"--batch", &ro.batch}, {"--device", &ro.device},
                             {"--corrupt-sparse", &ro.corruptSparse}}) {
    if (!has(name))
      continue;
    if (!toInt(get(name), v) || v < 0) {
      std::fprintf(stderr, "einloom-run: %s takes a non-negative integer\n", name);
      return 1;
    }
    *field = static_cast<int>(v);
  }
  if (has("--seed")) {
    if (!toInt(get("--seed"), v)) {
      std::fprintf(stderr, "einloom-run: --seed takes an integer\n");
      return 1;
    }
    ro.seed = static_cast<uint64_t>(v);
  }
  if (has("--density")) {
    char *end = nullptr;
    std::string d = get("--density");
    ro.density = std::strtod(d.c_str(), &end);
    if (d.empty() || *end || !(ro.density >= 0 && ro.density <= 1)) {
      std::fprintf(stderr, "einloom-run: --density takes a fraction from 0 to 1, e.g. 0.2\n");
      return 1;
    }
  }
  if (has("--size")) {
    std::stringstream ss(get("--size"));
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!toInt(item, v) || v < 1) {
        std::fprintf(stderr, "einloom-run: --size takes positive integers, e.g. --size 1,7,300\n");
        return 1;
      }
      ro.dynamicSizes.push_back(v);
    }
    if (ro.dynamicSizes.empty()) {
      std::fprintf(stderr, "einloom-run: --size takes positive integers, e.g. --size 1,7,300\n");
      return 1;
    }
  }
  ro.check = !has("--no-check");
  ro.bench = has("--bench");
  std::string input = args.positional.empty() ? "" : args.positional[0];
  ro.label = get("--label", input.empty() ? "einsum" : input.c_str());

  bool wantsCompiler = has("--reference") || has("--einsum") ||
                       (input.size() > 5 && input.substr(input.size() - 5) == ".mlir") ||
                       input == "-";
#ifndef EINLOOM_WITH_COMPILER
  if (wantsCompiler) {
    std::fprintf(stderr, "einloom-run: this build (einloom-run-rt) has no compiler; give it "
                         "a bundle from einloom-compile\n");
    return 1;
  }
#else
  if (wantsCompiler) {
    einloom::ToolSession session;
    mlir::MLIRContext &ctx = session.context();
    mlir::OwningOpRef<mlir::ModuleOp> module =
        has("--einsum") ? einloom::buildEinsumModule(ctx, get("--einsum"), get("--sizes"),
                                                     get("--dtype", "f16"), get("--acc"),
                                                     get("--out"))
                        : einloom::loadModule(ctx, input.empty() ? "-" : input);
    if (!module)
      return 1;
    if (has("--scale")) {
      char *end = nullptr;
      std::string text = get("--scale");
      double scale = std::strtod(text.c_str(), &end);
      if (text.empty() || *end || !std::isfinite(scale)) {
        std::fprintf(stderr, "einloom-run: --scale takes a finite number, not '%s'\n",
                     text.c_str());
        return 1;
      }
      if (!has("--einsum") || mlir::failed(einloom::setEinsumScale(*module, scale))) {
        if (!has("--einsum"))
          std::fprintf(stderr, "einloom-run: --scale goes with --einsum\n");
        return 1;
      }
    }
    if (has("--reference")) {
      mlir::func::FuncOp func = einloom::findEntry(*module, get("--function"));
      if (!func)
        return 1;
      einloom::ReferenceRunOptions options;
      options.seed = ro.seed;
      std::stringstream ss(get("--inputs"));
      std::string item;
      while (std::getline(ss, item, ','))
        if (!item.empty())
          options.inputs.push_back(item);
      options.saveDir = get("--save-outputs");
      if (has("--print-values")) {
        if (!toInt(get("--print-values"), v) || v < 0) {
          std::fprintf(stderr, "einloom-run: --print-values takes a non-negative integer\n");
          return 1;
        }
        options.maxValues = static_cast<size_t>(v);
      }
      return mlir::failed(einloom::runReference(func, options, llvm::outs())) ? 1 : 0;
    }
    einloom::CompileOptions co;
    co.target = get("--target", "sm_90a");
    mlir::FailureOr<einloom::CompileResult> r =
        einloom::compileModule(*module, get("--function"), co);
    if (mlir::failed(r))
      return 1;
    llvm::outs().flush();
    return einloom::rt::runBundle(r->bundle, ro);
  }
#endif
  if (input.empty()) {
    std::fprintf(stderr, "einloom-run: no input\n%s", kUsage);
    return 1;
  }
  if (args.positional.size() == 1) {
    einloom::rt::Bundle b;
    if (!einloom::rt::loadBundleFile(input, b))
      return 1;
    return einloom::rt::runBundle(b, ro);
  }
  // Several bundles: each in turn on one device (one RESULT line each,
  // labelled by its path); the status is 1 if any failed.
  std::unique_ptr<einloom::rt::Device> dev;
  if (einloom::rt::Status s = einloom::rt::Device::open(ro.device, dev); !s) {
    std::printf("error: %s\n", s.message().c_str());
    return 1;
  }
  int rc = 0;
  for (const std::string &path : args.positional) {
    einloom::rt::RunOptions one = ro;
    one.label = path;
    einloom::rt::Bundle b;
    if (!einloom::rt::loadBundleFile(path, b)) {
      std::printf("RESULT %s ERROR rel=nan ms=nan tflops=nan\n", path.c_str());
      rc = 1;
      continue;
    }
    rc |= einloom::rt::runBundle(b, one, dev.get());
    std::fflush(stdout);
  }
  return rc;
}
