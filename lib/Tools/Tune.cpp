//===- Tune.cpp - measured plan choice (einloom-tune) ---------------------===//
#include "einloom/Tune.h"

#include "Runner.h"
#include "einloom/Compiler.h"
#include "einloom/Passes.h"
#include "einloom/Plan/MemoryBound.h"
#include "einloom/Plan/SelectPlan.h"
#include "einloom/Plan/TuningDatabase.h"
#include "einloom/Tools.h"
#include "einloom/runtime/Runtime.h"

#include "Loom/LoomOps.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <cmath>
#include <ctime>
#include <map>
#include <sstream>
#include <thread>

using namespace mlir;
using namespace einloom;

std::string TuneShape::str() const {
  return spec + " " + sizes + " " + dtype + (out.empty() ? "" : " -> " + out) +
         (quant.empty() ? "" : " quant=" + quant) + (sparse.empty() ? "" : " sparse=" + sparse);
}

bool einloom::parseTuneShapes(const std::string &text, std::vector<TuneShape> &shapes,
                              std::string &error) {
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (size_t hash = line.find('#'); hash != std::string::npos)
      line.resize(hash);
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;)
      w.push_back(x);
    if (w.empty())
      continue;
    std::string quant, sparse;
    if (w.size() > 3 && w.back().rfind("quant=", 0) == 0) {
      quant = w.back().substr(6);
      w.pop_back();
    } else if (w.size() > 3 && w.back().rfind("sparse=", 0) == 0) {
      sparse = w.back().substr(7);
      w.pop_back();
    }
    if (w.size() < 3 || w.size() > 4 || w[0].find("->") == std::string::npos ||
        w[1].find('=') == std::string::npos) {
      error = "line " + std::to_string(n) +
              ": expected 'SPEC SIZES DTYPE [OUT] [quant=DESC | sparse=DESC]', "
              "e.g. 'mk,nk->mn m=16,n=4096,k=4096 f16 quant=int4:g128:asym', got '" + line + "'";
      return false;
    }
    shapes.push_back(TuneShape{w[0], w[1], w[2], w.size() == 4 ? w[3] : "", quant, sparse});
  }
  return true;
}

namespace {
/// The module of `shape`, with `plan` (if any) on its einsum; a quantized
/// weight's dequantize fused into the einsum when `fuse` (as the compile
/// pipeline does). Null, with a diagnostic, on a bad shape.
OwningOpRef<ModuleOp> buildTuneModule(MLIRContext &ctx, const TuneShape &shape,
                                      const std::string &plan, bool fuse) {
  OwningOpRef<ModuleOp> m =
      buildEinsumModule(ctx, shape.spec, shape.sizes, shape.dtype, "", shape.out);
  if (m && !shape.sparse.empty() && failed(setSparseWeight(*m, shape.sparse)))
    return nullptr;
  if (!m || (!plan.empty() && failed(setEinsumPlan(*m, plan))))
    return nullptr;
  if (shape.quant.empty())
    return m;
  if (failed(setWeightQuant(m, shape.quant)))
    return nullptr;
  if (fuse) { // (the compile pipeline fuses the candidates' modules)
    PassManager pm(&ctx);
    pm.addPass(createLoomFuseDequantize());
    if (failed(pm.run(*m)))
      return nullptr;
  }
  return m;
}

/// The one loom.einsum of a module built from a TuneShape.
loom::EinsumOp onlyEinsum(ModuleOp m) {
  loom::EinsumOp found;
  int count = 0;
  m.walk([&](loom::EinsumOp op) {
    found = op;
    ++count;
  });
  return count == 1 ? found : loom::EinsumOp();
}

std::string planText(loom::PlanAttr p) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << p;
  return s;
}

std::string today() {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&now));
  return buf;
}

/// Relative L2 distance of `x` from `y`.
double relDistance(const ref::Tensor &x, const ref::Tensor &y) {
  double num = 0, den = 0;
  for (size_t i = 0; i < x.data.size(); ++i) {
    double d = x.data[i] - y.data[i];
    if (std::isnan(x.data[i]) != std::isnan(y.data[i]))
      return INFINITY;
    num += d * d;
    den += y.data[i] * y.data[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

/// How far two candidates may disagree: they sum in different orders and
/// round the result to its type.
double agreement(ref::DType out) {
  switch (out) {
  case ref::DType::F8E4M3FN: case ref::DType::F8E5M2: return 0.1;
  case ref::DType::BF16: return 2e-2;
  case ref::DType::F16: return 5e-3;
  case ref::DType::F32: return 1e-4;
  case ref::DType::F64: return 1e-10;
  default: return 0;
  }
}

struct Candidate {
  loom::PlanAttr plan;
  double estimate;
};

/// Device allocations released on scope exit.
struct Allocations {
  rt::Device *dev = nullptr;
  std::vector<uint64_t> ptrs;
  ~Allocations() {
    for (uint64_t p : ptrs)
      (void)dev->release(p);
  }
  rt::Status add(size_t bytes, uint64_t &p) {
    rt::Status s = dev->allocate(std::max<size_t>(bytes, 16), p);
    if (s)
      ptrs.push_back(p);
    return s;
  }
};

} // namespace

namespace {
/// The device bytes of each sparse weight of `b` (a kernel's `sparse`
/// line): a random weight of `density` packed as the runner packs it, its
/// words and its offsets, by buffer index. False with `why` on failure.
bool packRandomSparse(const rt::Bundle &b, double density, uint64_t seed,
                      std::map<size_t, std::string> &packed, std::string &why) {
  for (const rt::BundleKernel &k : b.kernels) {
    if (!k.sparse.present() || k.operands.size() != 2)
      continue;
    const rt::BundleBuffer &w = b.buffers[k.operands[1]];
    ref::DType t;
    if (w.shape.size() != 2 || !ref::parseDType(w.dtype, t)) {
      why = "the sparse weight " + w.name + " is not a static matrix";
      return false;
    }
    ref::Tensor dense(t, w.shape);
    ref::Random rng(seed + k.operands[1]);
    ref::fillRandom(dense, rng, ref::Role::Data);
    rt::sparsify(dense, rng, density, k.sparse);
    if (!rt::packSparse(dense, k.sparse, static_cast<size_t>(k.operands[1]), packed, why))
      return false;
  }
  return true;
}

/// Fills `bytes` at `dst` with random values of `dtype`: a block of up to
/// 4 Mi elements, repeated (never zeros: they can run faster).
rt::Status fillRandom(rt::Device &dev, uint64_t dst, size_t bytes, ref::DType t, uint64_t seed) {
  size_t eb = std::max(1u, ref::bitWidth(t) / 8);
  int64_t n = static_cast<int64_t>(std::min<size_t>(bytes / eb, size_t(1) << 22));
  ref::Tensor block(t, {std::max<int64_t>(n, 1)});
  ref::Random rng(seed);
  ref::fillRandom(block, rng, ref::Role::Data);
  std::string data = rt::encodeTensor(block);
  for (size_t at = 0; at < bytes; at += data.size())
    if (rt::Status s = dev.copyToDevice(dst + at, data.data(), std::min(data.size(), bytes - at));
        !s)
      return s;
  return rt::Status::ok();
}
/// Compiles each candidate's module (the shape with that plan) in its own
/// context, `jobs` at a time; ptxas runs as a child process, so this is
/// what keeps many cores busy. An entry is empty where a candidate did not
/// build or compile (its diagnostics went to stderr); `why` says which.
std::vector<std::optional<rt::Bundle>> compileCandidates(const TuneShape &shape,
                                                         const std::vector<std::string> &plans,
                                                         const std::string &target, int jobs,
                                                         std::vector<std::string> &why) {
  std::vector<std::optional<rt::Bundle>> out(plans.size());
  why.assign(plans.size(), "");
  std::atomic<size_t> next{0};
  auto worker = [&] {
    ToolSession session;
    for (size_t i; (i = next.fetch_add(1)) < plans.size();) {
      OwningOpRef<ModuleOp> m = buildTuneModule(session.context(), shape, plans[i], false);
      if (!m) {
        why[i] = "did not build";
        continue;
      }
      CompileOptions co;
      co.target = target;
      FailureOr<CompileResult> r = compileModule(*m, "main", co);
      if (failed(r)) {
        why[i] = "did not compile (see above)";
        continue;
      }
      out[i] = std::move(r->bundle);
    }
  };
  unsigned n = jobs > 0 ? static_cast<unsigned>(jobs) : std::max(1u, std::thread::hardware_concurrency());
  n = std::min<unsigned>(n, static_cast<unsigned>(plans.size()));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < n; ++t)
    pool.emplace_back(worker);
  worker();
  for (std::thread &t : pool)
    t.join();
  return out;
}
} // namespace

int einloom::runTune(const TuneOptions &o, llvm::raw_ostream &os) {
  FailureOr<TargetInfo> target = lookupTarget(o.target);
  if (failed(target)) {
    os << "einloom-tune: unknown target '" << o.target
       << "'; expected sm_80, sm_86, sm_89, sm_90 or sm_90a\n";
    return 1;
  }
  if (o.shapes.empty()) {
    os << "einloom-tune: no contraction to tune (--einsum ... or --shapes FILE)\n";
    return 1;
  }
  std::optional<TuningDatabase> db;
  if (!o.database.empty() && !o.dryRun) {
    if (llvm::sys::fs::exists(o.database)) {
      llvm::Expected<TuningDatabase> loaded = TuningDatabase::load(o.database);
      if (!loaded) {
        os << "einloom-tune: " << llvm::toString(loaded.takeError())
           << "\n  (fix or remove the file; it is not overwritten)\n";
        return 1;
      }
      db = std::move(*loaded);
    } else {
      db.emplace();
    }
  }
  std::unique_ptr<rt::Device> dev;
  if (!o.dryRun) {
    if (rt::Status s = rt::Device::open(o.device, dev); !s) {
      os << "einloom-tune: no GPU: " << s.message()
         << "\n  (--dry-run lists the candidates without one)\n";
      return 1;
    }
    os << "device: " << dev->info().name << " (sm_" << dev->info().major << dev->info().minor
       << ", " << dev->info().multiprocessors << " SMs)\n";
  }
  ToolSession session;
  MLIRContext &ctx = session.context();
  int failures = 0;
  for (size_t si = 0; si < o.shapes.size(); ++si) {
    const TuneShape &shape = o.shapes[si];
    os << "[" << si + 1 << "/" << o.shapes.size() << "] " << shape.str() << "\n";
    OwningOpRef<ModuleOp> module = buildTuneModule(ctx, shape, "", true);
    loom::EinsumOp op = module ? onlyEinsum(*module) : loom::EinsumOp();
    if (!op) {
      os << "  not tuned: not an einsum of two operands (see the error above)\n";
      ++failures;
      continue;
    }
    if (runsAsMemoryKernel(op)) {
      os << "  nothing to tune: it runs as a memory-bound kernel, which takes no plan\n";
      continue;
    }
    FailureOr<Contraction> c = analyzeContraction(op);
    if (failed(c)) {
      ++failures;
      continue;
    }
    FailureOr<PlanChoice> choice = selectPlan(*c, *target, &ctx, [&] { return op.emitOpError(); });
    if (failed(choice)) {
      ++failures;
      continue;
    }
    // The planner's choice first, then every plan it accepts, fastest
    // estimate first (plans it set aside for another reason than the
    // target: a higher estimate, or a skinny plan preferred).
    std::vector<Candidate> cands{{choice->chosen.plan, choice->chosen.estimate.seconds}};
    // (The chosen plan's family first: where a skinny plan was preferred,
    // the other skinny plans, then the rest.)
    std::vector<Candidate> rest, setAside;
    for (const PlanCandidate &a : choice->alternatives) {
      if (StringRef(a.rejectedBecause).starts_with("estimated"))
        rest.push_back({a.plan, a.estimate.seconds});
      else if (StringRef(a.rejectedBecause).starts_with("a skinny plan"))
        setAside.push_back({a.plan, a.estimate.seconds});
    }
    auto faster = [](const Candidate &x, const Candidate &y) { return x.estimate < y.estimate; };
    std::stable_sort(rest.begin(), rest.end(), faster);
    std::stable_sort(setAside.begin(), setAside.end(), faster);
    rest.insert(rest.end(), setAside.begin(), setAside.end());
    for (const Candidate &r : rest)
      if (static_cast<int>(cands.size()) < std::max(1, o.top))
        cands.push_back(r);
    std::vector<std::string> plans, why;
    for (const Candidate &cand : cands)
      plans.push_back(planText(cand.plan));
    if (o.dryRun) {
      std::vector<std::optional<rt::Bundle>> bundles;
      if (o.compileOnly)
        bundles = compileCandidates(shape, plans, o.target, o.jobs, why);
      for (size_t i = 0; i < cands.size(); ++i) {
        os << "  candidate " << i + 1 << " of " << cands.size() << ": estimated "
           << llvm::format("%.1f", cands[i].estimate * 1e6) << " us  " << cands[i].plan;
        if (o.compileOnly && bundles[i])
          os << "  compiled (" << bundles[i]->kernels.size() << " kernels)";
        else if (o.compileOnly) {
          os << "  " << why[i];
          ++failures;
        }
        os << "\n";
      }
      continue;
    }

    // Compile, load and time each candidate on the same inputs: the
    // operands and the result (by name) are allocated once per shape, each
    // candidate's workspaces (which differ between plans) for it alone.
    // Where the inputs fit in the L2 cache a few times over, the launches
    // rotate through copies of them (as bench_decode.py does), so that a
    // plan is timed streaming its operands from DRAM, as a model's layers
    // do, not re-reading a warm L2.
    Allocations shared;
    shared.dev = dev.get();
    std::map<std::string, std::pair<std::vector<uint64_t>, size_t>> io;
    int copies = 0;
    ref::Tensor first;
    double best = INFINITY;
    int bestAt = -1;
    std::vector<double> times(cands.size(), NAN);
    std::vector<std::optional<rt::Bundle>> bundles =
        compileCandidates(shape, plans, o.target, o.jobs, why);
    for (size_t ci = 0; ci < cands.size(); ++ci) {
      std::string label = "  candidate " + std::to_string(ci + 1) + " of " +
                          std::to_string(cands.size()) + " ";
      if (!bundles[ci]) {
        os << label << why[ci] << "\n";
        continue;
      }
      const rt::Bundle &b = *bundles[ci];
      std::unique_ptr<rt::Program> prog;
      if (rt::Status s = rt::Program::load(*dev, b, prog); !s) {
        os << label << "did not load: " << s.message() << "\n";
        continue;
      }
      if (copies == 0) {
        size_t inBytes = 0;
        for (const rt::BundleBuffer &x : b.buffers)
          if (x.role == "input")
            inBytes += static_cast<size_t>(x.bytes);
        copies = rt::timingInputCopies(inBytes, dev->info().l2Bytes);
        if (copies > 1)
          os << "  inputs " << llvm::format("%.1f", inBytes / 1e6) << " MB: rotating through "
             << copies << " copies (L2 " << dev->info().l2Bytes / (1 << 20) << " MiB)\n";
      }
      Allocations mine;
      mine.dev = dev.get();
      std::vector<std::vector<uint64_t>> ptrSets(copies);
      std::vector<size_t> sizes;
      int resultIndex = -1;
      rt::Status s = rt::Status::ok();
      // A sparse weight's words and offsets: packed random data at the
      // density asked for (random bytes would time a meaningless walk);
      // packed once, by the first candidate, whose inputs the rest share.
      std::map<size_t, std::string> packedInputs;
      bool unpacked = llvm::any_of(b.kernels, [&](const rt::BundleKernel &k) {
        return k.sparse.present() && k.operands.size() == 2 &&
               !io.count(b.buffers[k.operands[1]].name);
      });
      if (std::string why;
          unpacked && !packRandomSparse(b, o.density, o.seed, packedInputs, why))
        s = rt::Status::error(why);
      for (size_t i = 0; i < b.buffers.size() && s; ++i) {
        const rt::BundleBuffer &x = b.buffers[i];
        size_t bytes = static_cast<size_t>(x.bytes);
        int n = x.role == "input" ? copies : 1;
        std::vector<uint64_t> ps;
        if (x.role == "temp") {
          uint64_t p = 0;
          s = mine.add(bytes, p);
          ps.push_back(p);
        } else if (auto it = io.find(x.name); it != io.end() && it->second.second == bytes) {
          ps = it->second.first;
        } else if (it != io.end()) {
          s = rt::Status::error("buffer " + x.name + " differs from the first candidate's");
        } else {
          for (int c = 0; c < n && s; ++c) {
            uint64_t p = 0;
            s = shared.add(bytes, p);
            ref::DType t;
            if (auto pk = packedInputs.find(i); s && pk != packedInputs.end())
              s = dev->copyToDevice(p, pk->second.data(), std::min(pk->second.size(), bytes));
            else if (s && x.role == "input" && ref::parseDType(x.dtype, t))
              s = fillRandom(*dev, p, bytes, t, o.seed + i + 7919 * c);
            ps.push_back(p);
          }
          io[x.name] = {ps, bytes};
        }
        if (x.role == "output")
          resultIndex = static_cast<int>(i);
        for (int c = 0; c < copies && s; ++c)
          ptrSets[c].push_back(ps[std::min<size_t>(c, ps.size() - 1)]);
        sizes.push_back(bytes);
      }
      std::vector<uint64_t> &ptrs = ptrSets[0];
      if (!s || resultIndex < 0) {
        os << label << "cannot set up its buffers: " << (s ? "no result" : s.message()) << "\n";
        continue;
      }
      // Run once and compare with the first candidate's result (poisoned
      // before, so an unwritten element shows as NaN).
      const rt::BundleBuffer &res = b.buffers[resultIndex];
      ref::DType outType = ref::DType::F32;
      ref::parseDType(res.dtype, outType);
      s = dev->fill(ptrs[resultIndex], 0xFF, sizes[resultIndex]);
      if (s)
        s = prog->launch(ptrs, sizes);
      if (s)
        s = dev->synchronize();
      std::string bytes(sizes[resultIndex], '\0');
      if (s)
        s = dev->copyToHost(bytes.data(), ptrs[resultIndex], bytes.size());
      if (!s) {
        os << label << "failed on the GPU: " << s.message() << "\n";
        continue;
      }
      ref::Tensor got = rt::decodeTensor(bytes, outType, res.shape);
      if (first.data.empty()) {
        first = got;
        if (std::any_of(got.data.begin(), got.data.end(), [](double v) { return std::isnan(v); })) {
          os << label << "left elements unwritten (NaN): not used\n";
          first = ref::Tensor();
          continue;
        }
      } else if (double d = relDistance(got, first); !(d <= agreement(outType))) {
        os << label << "disagrees with the first candidate (relative distance " << d
           << "): not used\n";
        continue;
      }
      // Time: warm-up, then rounds of back-to-back launches.
      std::unique_ptr<rt::Timer> timer;
      s = rt::Timer::create(*dev, timer);
      int next = 0;
      for (int w = 0; w < 3 && s; ++w)
        s = prog->launch(ptrSets[next++ % copies], sizes);
      std::vector<double> samples;
      for (int round = 0; round < std::max(1, o.rounds) && s; ++round) {
        float ms = 0;
        s = timer->start();
        for (int rep = 0; rep < std::max(1, o.reps) && s; ++rep)
          s = prog->launch(ptrSets[next++ % copies], sizes);
        if (s)
          s = timer->stop(ms);
        samples.push_back(double(ms) * 1e3 / std::max(1, o.reps));
      }
      if (!s) {
        os << label << "failed while timed: " << s.message() << "\n";
        continue;
      }
      std::sort(samples.begin(), samples.end());
      times[ci] = samples[samples.size() / 2];
      if (times[ci] < best) {
        best = times[ci];
        bestAt = static_cast<int>(ci);
      }
      os << label << llvm::format("%9.2f", times[ci]) << " us (best so far "
         << llvm::format("%.2f", best) << " us, candidate " << bestAt + 1 << ")  " << cands[ci].plan
         << "\n";
      os.flush();
    }
    if (bestAt < 0) {
      os << "  no candidate ran\n";
      ++failures;
      continue;
    }
    double model = times[0];
    os << "  fastest: candidate " << bestAt + 1 << ", " << llvm::format("%.2f", best) << " us";
    if (bestAt != 0 && std::isfinite(model))
      os << " (the cost model's choice: " << llvm::format("%.2f", model) << " us, "
         << llvm::format("%.2f", model / best) << "x slower)";
    os << "\n";
    if (db) {
      TuningEntry e;
      e.key = tuningKeyFor(*c, *target);
      e.gpu = dev->info().name;
      e.micros = best;
      e.date = today();
      e.plan = planText(cands[bestAt].plan);
      db->upsert(e);
      // Saved after each contraction: an interrupted run keeps what it measured.
      if (llvm::Error err = db->save(o.database)) {
        os << "einloom-tune: " << llvm::toString(std::move(err)) << "\n";
        return 1;
      }
    }
  }
  if (db)
    os << "tuning database " << o.database << ": " << db->entries().size() << " entries\n";
  return failures ? 1 : 0;
}
