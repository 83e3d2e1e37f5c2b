//===- Runner.cpp - run a bundle on the GPU, check it, time it ------------===//
#include "Runner.h"

#include "einloom/Reference/Compare.h"
#include "einloom/Reference/Kernels.h"
#include "einloom/runtime/CollectivePlan.h"
#include "einloom/runtime/Collectives.h"
#include "einloom/runtime/Runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

using namespace einloom;
using namespace einloom::rt;
using ref::DType;
using ref::Tensor;

namespace {
constexpr size_t kGuard = 512;
constexpr unsigned char kGuardByte = 0xA5;
constexpr unsigned char kPoisonByte = 0xFF; // NaN in every float type we write

bool dtypeOf(const std::string &name, DType &t) { return ref::parseDType(name, t); }

std::string encode(const Tensor &t) { return rt::encodeTensor(t); }
Tensor decode(const std::string &bytes, DType t, const std::vector<int64_t> &shape) {
  return rt::decodeTensor(bytes, t, shape);
}
} // namespace

std::string einloom::rt::encodeTensor(const Tensor &t) {
  size_t eb = std::max(1u, ref::bitWidth(t.dtype) / 8);
  std::string bytes(t.data.size() * eb, '\0');
  for (size_t i = 0; i < t.data.size(); ++i) {
    double v = t.data[i];
    uint64_t bits;
    switch (t.dtype) {
    case DType::F32: {
      float f = static_cast<float>(v);
      uint32_t u;
      std::memcpy(&u, &f, 4);
      bits = u;
      break;
    }
    case DType::F64:
      std::memcpy(&bits, &v, 8);
      break;
    case DType::F16: case DType::BF16: case DType::F8E4M3FN: case DType::F8E5M2:
      bits = ref::floatBits(t.dtype, v);
      break;
    default:
      bits = static_cast<uint64_t>(static_cast<int64_t>(v));
    }
    std::memcpy(&bytes[i * eb], &bits, eb); // little-endian
  }
  return bytes;
}

Tensor einloom::rt::decodeTensor(const std::string &bytes, DType t,
                                 const std::vector<int64_t> &shape) {
  Tensor out(t, shape);
  size_t eb = std::max(1u, ref::bitWidth(t) / 8);
  for (size_t i = 0; i < out.data.size(); ++i) {
    uint64_t bits = 0;
    std::memcpy(&bits, &bytes[i * eb], eb);
    switch (t) {
    case DType::F32: {
      float f;
      uint32_t u = static_cast<uint32_t>(bits);
      std::memcpy(&f, &u, 4);
      out.data[i] = f;
      break;
    }
    case DType::F64:
      std::memcpy(&out.data[i], &bits, 8);
      break;
    case DType::F16: case DType::BF16: case DType::F8E4M3FN: case DType::F8E5M2:
      out.data[i] = ref::floatFromBits(t, static_cast<uint32_t>(bits));
      break;
    case DType::I32:
      out.data[i] = static_cast<int32_t>(bits);
      break;
    case DType::I8:
      out.data[i] = static_cast<int8_t>(bits);
      break;
    default:
      out.data[i] = static_cast<double>(static_cast<int64_t>(bits));
    }
  }
  return out;
}

namespace {
/// Splits "ab,cd->ef".
bool splitSpec(const std::string &spec, std::vector<std::string> &ins, std::string &out) {
  size_t arrow = spec.find("->");
  if (arrow == std::string::npos)
    return false;
  out = spec.substr(arrow + 2);
  // Split at every comma: an empty subscript (a scalar operand, as in
  // "fc,->f") is an operand too, also the last one.
  std::string lhs = spec.substr(0, arrow);
  ins.clear();
  for (size_t at = 0;;) {
    size_t comma = lhs.find(',', at);
    ins.push_back(lhs.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos)
      break;
    at = comma + 1;
  }
  return true;
}

/// How many products each element of the einsum sums: the product of the
/// summed labels' extents (a size-1 dimension broadcasts).
static int64_t summedTerms(const std::vector<const Tensor *> &ins,
                           const std::vector<std::string> &subs, const std::string &outSub) {
  std::map<char, int64_t> summed;
  for (size_t i = 0; i < subs.size(); ++i)
    for (size_t d = 0; d < subs[i].size(); ++d)
      if (outSub.find(subs[i][d]) == std::string::npos)
        summed[subs[i][d]] = std::max(summed[subs[i][d]], ins[i]->shape[d]);
  int64_t terms = 1;
  for (const auto &[label, extent] : summed)
    terms *= extent;
  return terms;
}

/// Relative L2 error tolerated for a result type given the operand type,
/// and whether the tensor cores rounded f32 operands to tf32.
/// `terms` is how many products each result element sums.
double tolerance(DType out, DType in, bool tf32, int64_t terms) {
  if (!ref::isFloat(out))
    return 0;
  // An 8-bit float result: the reference rounds the same sum, so only a sum
  // that lands on a rounding boundary can differ (by one step, 6-25%).
  if (out == DType::F8E4M3FN || out == DType::F8E5M2)
    return 1e-2;
  if (out == DType::BF16)
    return 2e-2;
  if (out == DType::F16)
    return 4e-3;
  if (in == DType::F32 && tf32) // operands rounded to 10 mantissa bits
    return 8e-3;
  // f64 throughout: the reference sums in f64 too, in another order; the
  // activations' exp is accurate to about 1 ulp.
  if (in == DType::F64 && out == DType::F64)
    return 1e-12;
  // fp8 on Hopper's wgmma: the tensor cores keep fewer accumulator bits than
  // f32 (measured on an H100, 1000x1800x2048 e5m2 -> f32: rel 4.3e-4 from
  // both wgmma kernels, 2.8e-8 from mma.sync).
  if (in == DType::F8E4M3FN || in == DType::F8E5M2)
    return 2e-3;
  // An f32 sum's rounding error grows with the square root of its length
  // (u = 2^-24 a step): a correct sum of 460800 products (`ce,d->`, one
  // scalar) was off by 1.4e-5 on an H100.
  return std::max(1e-5, std::ldexp(1.0, -24) * std::sqrt(double(terms)));
}

struct DeviceBuffer {
  uint64_t base = 0;
  size_t bytes = 0;
  uint64_t data() const { return base + kGuard; }
};

int fail(const RunOptions &o, const std::string &what, const char *status = "ERROR") {
  std::printf("error: %s\n", what.c_str());
  std::printf("RESULT %s %s rel=nan ms=nan tflops=nan\n", o.label.c_str(), status);
  return 1;
}
} // namespace

bool einloom::rt::loadBundleFile(const std::string &path, Bundle &b) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::printf("error: %s: cannot open file\n", path.c_str());
    return false;
  }
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string err;
  if (!readBundle(bytes, b, err)) {
    std::printf("error: %s: %s\n", path.c_str(), err.c_str());
    return false;
  }
  return true;
}

/// Which buffers are workspaces: they hold views (intermediates), no one
/// value, and get no host tensor.
static std::vector<bool> workspaceBuffers(const Bundle &b) {
  std::vector<bool> workspace(b.buffers.size(), false);
  for (const BundleBuffer &v : b.views)
    workspace[v.in] = true;
  return workspace;
}

std::string einloom::rt::hostCopiesDoNotFit(const Bundle &b, int64_t size, bool check,
                                            uint64_t haveBytes) {
  // With the check: every buffer and view but the workspaces, and a second
  // copy of each for the reference. Timing alone: the inputs (a large one
  // as its one repeated block) and their encoded bytes, kept for --bench.
  std::vector<bool> workspace = workspaceBuffers(b);
  double need = 0;
  for (size_t i = 0; i < numEntries(b); ++i) {
    const BundleBuffer &x = entryAt(b, static_cast<int>(i));
    if ((i < b.buffers.size() && workspace[i]) || (!check && x.role != "input"))
      continue;
    double n = 1; // in double: no product can overflow
    for (int64_t d : x.shape)
      n *= static_cast<double>(d == -1 ? size : d);
    if (check)
      need += 2 * n * sizeof(double);
    else
      need += (n > 2.0 * kTimingBlock ? double(kTimingBlock) : n) * sizeof(double) +
              n * static_cast<double>(std::max<int64_t>(1, dtypeBytes(x.dtype)));
  }
  if (haveBytes == 0 || need <= double(haveBytes))
    return "";
  char text[200];
  std::snprintf(text, sizeof text,
                "the host copies of the buffers (doubles%s) need %.1f GiB; this process may use "
                "%.1f GiB of memory",
                check ? ", twice for the check" : "", need / (1 << 30), double(haveBytes) / (1 << 30));
  return text;
}

namespace {
ref::QuantParams quantParams(const BundleWeight &w) {
  ref::QuantParams q;
  q.bits = static_cast<unsigned>(w.bits);
  q.kind = w.isSigned ? ref::QuantKind::Signed : ref::QuantKind::Unsigned;
  q.zeroPoint = w.zero >= 0;
  q.granularity = w.granularity == "block"     ? ref::Granularity::PerBlock
                  : w.granularity == "group"   ? ref::Granularity::PerGroup
                  : w.granularity == "channel" ? ref::Granularity::PerChannel
                                               : ref::Granularity::PerTensor;
  q.axis = w.axis;
  q.groupSize = w.group;
  return q;
}

ref::PackParams aFragmentParams(unsigned bits, bool isSigned) {
  ref::PackParams p;
  p.format = ref::PackFormat::AFragment;
  p.bits = bits;
  p.kind = isSigned ? ref::QuantKind::Signed : ref::QuantKind::Unsigned;
  return p;
}

/// A pack kernel's spec, "a_fragment:BITS:KIND"; false for anything else.
bool packSpec(const std::string &spec, ref::PackParams &p) {
  unsigned bits = 0;
  char kind[16] = {0};
  if (std::sscanf(spec.c_str(), "a_fragment:%u:%15s", &bits, kind) != 2 || bits < 1 || bits > 8)
    return false;
  p = aFragmentParams(bits, std::string(kind) == "signed");
  return true;
}

/// What an input is to a kernel that reads integer codes: the codes (of a
/// dequantized weight or a repack), the scales or the zero points, with the
/// range its random values take; Data for every other buffer.
struct WeightRole {
  ref::Role role = ref::Role::Data;
  int64_t lo = 0, hi = 0;
  /// An einsum's dequantized weight: its codes go to the device packed.
  const BundleWeight *packedFor = nullptr;
  /// An einsum's sparse weight: random data at the requested density,
  /// packed to the format's words (and its offsets buffer); or the offsets
  /// buffer itself (`offsetsOf`: the weight's buffer).
  const BundleSparse *sparseFor = nullptr;
  int offsetsOf = -1;
  /// A block mask: each block computed (byte 1) with probability
  /// --density, else 0.
  bool blockMask = false;
};

std::vector<WeightRole> weightRoles(const Bundle &b) {
  std::vector<WeightRole> roles(numEntries(b));
  for (const BundleKernel &k : b.kernels) {
    ref::PackParams pp;
    if (k.op == "pack" && k.operands.size() == 1 && packSpec(k.spec, pp)) {
      ref::QuantParams q;
      q.bits = static_cast<unsigned>(pp.bits);
      q.kind = pp.kind;
      roles[k.operands[0]] = {ref::Role::Codes, q.minCode(), q.maxCode()};
      continue;
    }
    if (k.sparse.present() && k.operands.size() == 2) {
      roles[k.operands[1]].sparseFor = &k.sparse;
      roles[k.sparse.offsets].offsetsOf = k.operands[1];
      if (k.sparse.index >= 0)
        roles[k.sparse.index].offsetsOf = k.operands[1];
    }
    // An int8 sum's row and column scales (W8A8) are scales too: drawn
    // from [-1, 1] they would push an f16 result past its range.
    for (int x : {k.rowScale, k.colScale})
      if (x >= 0)
        roles[x] = {ref::Role::Scale};
    // A block mask: bytes 1, then each kept with probability --density.
    if (k.blockMask >= 0) {
      roles[k.blockMask] = {ref::Role::Codes, 1, 1};
      roles[k.blockMask].blockMask = true;
    }
    if (!k.weight.present())
      continue;
    ref::QuantParams q = quantParams(k.weight);
    bool einsum = k.op == "einsum";
    roles[k.operands[einsum ? 1 : 0]] = {ref::Role::Codes, q.minCode(), q.maxCode(),
                                         einsum ? &k.weight : nullptr};
    roles[k.weight.scale] = {ref::Role::Scale};
    if (k.weight.zero >= 0)
      roles[k.weight.zero] = {ref::Role::ZeroPoint, q.minCode(), q.maxCode()};
  }
  return roles;
}

/// The device bytes of a dequantized weight's codes: the N x K codes (the
/// tensor transposed where K comes first) in the a_fragment layout.
bool packWeight(const Tensor &codes, const BundleWeight &w, std::string &bytes,
                std::string &err) {
  if (codes.shape.size() != 2) {
    err = "a dequantized weight's codes must be a matrix";
    return false;
  }
  Tensor nk = codes;
  if (w.kDim == 0) {
    int64_t K = codes.shape[0], N = codes.shape[1];
    nk.shape = {N, K};
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n)
        nk.data[n * K + k] = codes.data[k * N + n];
  }
  std::vector<Tensor> out;
  if (!ref::pack(nk, aFragmentParams(static_cast<unsigned>(w.bits), w.isSigned), out, err))
    return false;
  bytes = encodeTensor(out[0]);
  return true;
}

/// `n` random corruptions of packed Tiled-CSL, bitmap or block-sparse
/// data: offsets (row pointers) set to wild values (negative, past the
/// data, out of order, unaligned) and, every other one, Tiled-CSL words'
/// positions to any 16 bits, or words of the second index (`masks`: a
/// bitmap's masks, block_csr's column indices; null for Tiled-CSL) to any
/// 32 bits.
void corruptOffsetsAnd(std::string &words, std::string &offsets, std::string *masks, int n,
                       ref::Random &rng) {
  auto pick = [&](size_t count) { return static_cast<size_t>(rng.uniform() * count) % count; };
  size_t numOffsets = offsets.size() / 4, numWords = words.size() / 4;
  size_t other = masks ? masks->size() / 4 : numWords;
  for (int i = 0; i < n; ++i) {
    int32_t v;
    if (i % 2 == 0 || other == 0) {
      size_t at = pick(numOffsets);
      std::memcpy(&v, &offsets[4 * at], 4);
      const int32_t wild[] = {-1, INT32_MIN, INT32_MAX, v + 1, v + 4096, v - 4096,
                              static_cast<int32_t>(2 * numWords) + 8};
      v = wild[pick(std::size(wild))];
      std::memcpy(&offsets[4 * at], &v, 4);
    } else if (masks) {
      v = static_cast<int32_t>(static_cast<uint32_t>(pick(65536)) << 16 | pick(65536));
      std::memcpy(&(*masks)[4 * pick(other)], &v, 4);
    } else {
      size_t at = pick(numWords);
      std::memcpy(&v, &words[4 * at], 4);
      v = static_cast<int32_t>((static_cast<uint32_t>(v) & 0xffffu) |
                               static_cast<uint32_t>(pick(65536)) << 16);
      std::memcpy(&words[4 * at], &v, 4);
    }
  }
}

/// `n` random 16-bit metadata words of 2:4 data set to any value (equal
/// positions in a group included): the kernel's addresses never depend on
/// them, so the result is wrong but every read stays in its buffer.
void corruptTwoFourMeta(std::string &meta, int n, ref::Random &rng) {
  size_t words = meta.size() / 2;
  for (int i = 0; i < n && words; ++i) {
    size_t at = static_cast<size_t>(rng.uniform() * words) % words;
    uint16_t v = static_cast<uint16_t>(rng.uniform() * 65536);
    std::memcpy(&meta[2 * at], &v, 2);
  }
}

} // namespace

void einloom::rt::sparsify(Tensor &t, ref::Random &rng, double density) {
  for (double &v : t.data)
    if (rng.uniform() >= density)
      v = 0;
}

void einloom::rt::sparsify(Tensor &t, ref::Random &rng, double density, const BundleSparse &sp) {
  if (sp.format == "block_csr" && t.shape.size() == 2 && sp.tileRows > 0 && sp.tileCols > 0) {
    // Whole blocks kept with probability `density`, dense inside.
    int64_t rows = t.shape[0], cols = t.shape[1];
    for (int64_t i = 0; i < rows; i += sp.tileRows)
      for (int64_t j = 0; j < cols; j += sp.tileCols)
        if (rng.uniform() >= density)
          for (int64_t r = i; r < std::min(rows, i + sp.tileRows); ++r)
            for (int64_t c = j; c < std::min(cols, j + sp.tileCols); ++c)
              t.data[r * cols + c] = 0;
    return;
  }
  sparsify(t, rng, density);
  if (sp.format == "two_four") // at most 2 of every 4 kept
    pruneTwoFour(t);
}

void einloom::rt::pruneTwoFour(Tensor &t) {
  int64_t K = t.shape.empty() ? 0 : t.shape.back();
  for (size_t g = 0; K % 4 == 0 && g + 4 <= t.data.size(); g += 4) {
    int order[4] = {0, 1, 2, 3};
    std::stable_sort(order, order + 4, [&](int a, int b) {
      return std::fabs(t.data[g + a]) > std::fabs(t.data[g + b]);
    });
    t.data[g + order[2]] = t.data[g + order[3]] = 0;
  }
}

bool einloom::rt::packSparse(const Tensor &dense, const BundleSparse &sp, size_t weight,
                             std::map<size_t, std::string> &packed, std::string &err) {
  ref::PackParams p;
  bool twoFour = sp.format == "two_four", bitmap = sp.format == "bitmap",
       blocks = sp.format == "block_csr";
  p.format = twoFour  ? ref::PackFormat::TwoFour
             : bitmap ? ref::PackFormat::Bitmap
             : blocks ? ref::PackFormat::BlockCsr
                      : ref::PackFormat::TiledCsl;
  p.tileRows = sp.tileRows;
  p.tileCols = sp.tileCols;
  std::vector<Tensor> out;
  if (dense.shape.size() != 2) {
    err = "a sparse weight must be a matrix";
    return false;
  }
  if (!ref::pack(dense, p, out, err))
    return false;
  // Tiled-CSL: (offsets, words); bitmap: (offsets, masks, values);
  // block_csr: (row pointers, column indices, blocks); 2:4: (values,
  // metadata).
  if (sp.hasIndex() && sp.index < 0) {
    err = "a " + sp.format + " weight needs its second index buffer";
    return false;
  }
  packed[static_cast<size_t>(sp.offsets)] = encodeTensor(out[twoFour ? 1 : 0]);
  packed[weight] = encodeTensor(out[twoFour ? 0 : sp.hasIndex() ? 2 : 1]);
  if (sp.hasIndex())
    packed[static_cast<size_t>(sp.index)] = encodeTensor(out[1]);
  return true;
}
/// One run of the loaded program at dynamic size `size` (-1: static).
/// Compares a kernel's output `got` (buffer `name`) with the reference's
/// `want` element for element (two NaNs agree); prints the check's line
/// ("check NAME (TYPE, WHAT): PASS|FAIL, n of N elements differ ...") and
/// the first difference. True when they agree and have one size.
static bool checkExact(const std::string &name, const char *what, const Tensor &got,
                       const Tensor &want) {
  int64_t wrong = got.numel() == want.numel() ? 0 : got.numel(), first = -1;
  for (int64_t n = 0; n < got.numel() && n < want.numel(); ++n)
    if (!(got.data[n] == want.data[n]) && !(std::isnan(got.data[n]) && std::isnan(want.data[n])))
      if (wrong++ == 0)
        first = n;
  std::printf("check %s (%s, %s): %s, %lld of %lld elements differ from the reference\n",
              name.c_str(), got.typeStr().c_str(), what, wrong ? "FAIL" : "PASS",
              static_cast<long long>(wrong), static_cast<long long>(got.numel()));
  if (first >= 0)
    std::printf("  first at flat index %lld: got %.9g, want %.9g\n", static_cast<long long>(first),
                got.data[first], want.data[first]);
  return wrong == 0;
}

static int runAt(Device *dev, Program *prog, const Bundle &b, const RunOptions &o,
                 int64_t size) {
  std::string why;
  const std::vector<int> *order = launchOrderFor(b, size, why);
  if (!order)
    return fail(o, why);
  if (size != -1) {
    std::printf("size: %s=%lld runs", b.dynamicLabel.c_str(), static_cast<long long>(size));
    for (int ki : *order)
      std::printf(" %s", b.kernels[ki].name.c_str());
    std::printf("\n");
  }
  for (int ki : *order)
    if (b.kernels[ki].persistent)
      std::printf("kernel %s: persistent, %u CTAs (clusters of %lld; the manifest's grid is %lld)\n",
                  b.kernels[ki].name.c_str(), prog->launchGridX(ki, size),
                  static_cast<long long>(b.kernels[ki].cluster),
                  static_cast<long long>(b.kernels[ki].grid[0]));

  // Host inputs, fresh random data from the seed: every buffer and view
  // but the workspaces.
  std::vector<bool> workspace = workspaceBuffers(b);
  // The host copies hold doubles: refuse what cannot fit rather than fail
  // to allocate part way.
  std::string tooBig = hostCopiesDoNotFit(b, size, o.check, ref::usableMemoryBytes());
  if (!tooBig.empty())
    return fail(o, tooBig);
  std::vector<Tensor> host(numEntries(b));
  std::vector<WeightRole> roles = weightRoles(b);
  ref::Random rng(o.seed + (size == -1 ? 0 : static_cast<uint64_t>(size)));
  // Timing alone (no --check): a large plain input is one random block
  // repeated, made and encoded once (the values do not change the time;
  // making every element of a 1M-long convolution's inputs took minutes),
  // and results need no host copies.
  std::vector<bool> repeated(numEntries(b), false);
  for (size_t i = 0; i < numEntries(b); ++i) {
    const BundleBuffer &x = entryAt(b, static_cast<int>(i));
    if (i < b.buffers.size() && workspace[i])
      continue;
    DType t;
    if (!dtypeOf(x.dtype, t))
      return fail(o, "buffer " + x.name + " has element type " + x.dtype + ", which the runner does not model");
    std::vector<int64_t> shape = x.shape;
    int64_t elements = 1;
    for (int64_t &d : shape) {
      if (d == -1)
        d = size;
      elements *= d;
    }
    if (!o.check && x.role != "input") {
      host[i] = Tensor(t, {0}); // only --check reads results back
      continue;
    }
    repeated[i] = !o.check && x.role == "input" && roles[i].role == ref::Role::Data &&
                  roles[i].offsetsOf < 0 && !roles[i].sparseFor && !roles[i].packedFor &&
                  elements > 2 * kTimingBlock;
    host[i] = Tensor(t, repeated[i] ? std::vector<int64_t>{kTimingBlock} : shape);
    if (x.role != "input")
      continue;
    // Codes and zero points lie in the codes' range (a dequantized weight's
    // or a repack's).
    if (roles[i].role != ref::Role::Data)
      ref::fillRandom(host[i], rng, roles[i].role, roles[i].lo, roles[i].hi);
    else if (roles[i].offsetsOf < 0)
      ref::fillRandom(host[i], rng, ref::Role::Data);
    if (roles[i].sparseFor)
      sparsify(host[i], rng, o.density, *roles[i].sparseFor);
    if (roles[i].blockMask)
      sparsify(host[i], rng, o.density);
  }
  // Sparse weights go to the device packed: the words to the weight's
  // buffer, the offsets to theirs.
  std::map<size_t, std::string> packedSparse;
  for (size_t i = 0; i < b.buffers.size(); ++i)
    if (roles[i].sparseFor) {
      std::string err;
      const BundleSparse &sp = *roles[i].sparseFor;
      int off = sp.offsets;
      if (!packSparse(host[i], sp, i, packedSparse, err))
        return fail(o, "buffer " + b.buffers[i].name + ": " + err);
      std::printf("sparse weight %s: %zu words (density %.3f requested)\n",
                  b.buffers[i].name.c_str(), packedSparse[i].size() / 4, o.density);
      if (o.corruptSparse > 0 && sp.format == "two_four") {
        corruptTwoFourMeta(packedSparse[off], o.corruptSparse, rng);
        std::printf("sparse weight %s: %d random corruptions of its 2:4 metadata; the result "
                    "is not checked\n",
                    b.buffers[i].name.c_str(), o.corruptSparse);
      } else if (o.corruptSparse > 0) {
        corruptOffsetsAnd(packedSparse[i], packedSparse[off],
                          sp.hasIndex() ? &packedSparse[static_cast<size_t>(sp.index)] : nullptr,
                          o.corruptSparse, rng);
        std::printf("sparse weight %s: %d random corruptions of its offsets and %s; "
                    "the result is not checked\n",
                    b.buffers[i].name.c_str(), o.corruptSparse,
                    sp.format == "bitmap"      ? "masks"
                    : sp.format == "block_csr" ? "column indices"
                                               : "positions");
      }
    }
  bool checkResults = o.check && !(o.corruptSparse > 0 && !packedSparse.empty());

  // Device buffers with guard bands; outputs and temporaries poisoned.
  std::vector<DeviceBuffer> buf(b.buffers.size());
  auto cleanup = [&] {
    for (DeviceBuffer &d : buf)
      if (d.base)
        dev->release(d.base);
  };
  std::vector<uint64_t> ptrs;
  std::vector<size_t> sizes;
  // What each input buffer was given, kept for --bench's copies.
  std::vector<std::string> uploaded(b.buffers.size());
  for (size_t i = 0; i < b.buffers.size(); ++i) {
    // A sparse weight's words take only what its data needs (the kernel is
    // told their count); everything else what the bundle says.
    buf[i].bytes = packedSparse.count(i)
                       ? std::max<size_t>(static_cast<size_t>(leastBytes(b, i, size)),
                                          packedSparse[i].size())
                       : static_cast<size_t>(bufferBytes(b.buffers[i], size));
    Status s = dev->allocate(buf[i].bytes + 2 * kGuard, buf[i].base);
    if (s)
      s = dev->fill(buf[i].base, kGuardByte, buf[i].bytes + 2 * kGuard);
    if (s) {
      if (b.buffers[i].role == "input") {
        std::string bytes;
        std::string err;
        if (roles[i].packedFor) {
          if (!packWeight(host[i], *roles[i].packedFor, bytes, err)) {
            cleanup();
            return fail(o, "buffer " + b.buffers[i].name + ": " + err);
          }
        } else if (packedSparse.count(i)) {
          bytes = packedSparse[i];
        } else {
          bytes = encode(host[i]);
          if (repeated[i])
            bytes = repeatToSize(bytes, static_cast<size_t>(bufferBytes(b.buffers[i], size)));
        }
        if (bytes.size() > buf[i].bytes) {
          cleanup();
          return fail(o, "buffer " + b.buffers[i].name + " holds " +
                             std::to_string(buf[i].bytes) + " bytes; its data needs " +
                             std::to_string(bytes.size()));
        }
        s = dev->copyToDevice(buf[i].data(), bytes.data(), bytes.size());
        if (o.bench)
          uploaded[i] = std::move(bytes);
      } else {
        s = dev->fill(buf[i].data(), kPoisonByte, buf[i].bytes);
      }
    }
    if (!s) {
      cleanup();
      return fail(o, s.message());
    }
    ptrs.push_back(buf[i].data());
    sizes.push_back(buf[i].bytes);
  }

  // Setup copies and memsets must finish before the kernels read them.
  Status s = dev->synchronize();
  if (s)
    s = prog->launch(ptrs, sizes, size);
  if (s)
    s = dev->synchronize();
  if (!s) {
    cleanup();
    return fail(o, s.message());
  }

  bool ok = true;
  double worstRel = 0;
  if (o.check) {
    // Guard bands of every buffer must be untouched.
    std::vector<std::string> raw(buf.size());
    for (size_t i = 0; i < buf.size() && ok; ++i) {
      std::string all(buf[i].bytes + 2 * kGuard, '\0');
      if (Status g = dev->copyToHost(all.data(), buf[i].base, all.size()); !g) {
        cleanup();
        return fail(o, g.message());
      }
      for (size_t j = 0; j < kGuard; ++j)
        if (static_cast<unsigned char>(all[j]) != kGuardByte ||
            static_cast<unsigned char>(all[kGuard + buf[i].bytes + j]) != kGuardByte) {
          std::printf("check %s: FAIL guard band overwritten near byte %zu\n",
                      b.buffers[i].name.c_str(), j);
          ok = false;
          break;
        }
      if (workspace[i])
        raw[i] = all.substr(kGuard, buf[i].bytes);
      else if (b.buffers[i].role != "input")
        host[i] = decode(all.substr(kGuard, buf[i].bytes), host[i].dtype, host[i].shape);
    }
    // Views, from their workspace. One whose bytes a later kernel reused no
    // longer holds its value: it is not compared, and the kernels after it
    // consume the reference's value.
    std::vector<bool> reused(numEntries(b), false);
    {
      auto ranges = liveRanges(b);
      size_t which = 0;
      for (size_t v = 0; v < b.variants.size(); ++v)
        if (&b.variants[v].launchOrder == order)
          which = v;
      const auto &r = ranges[which];
      size_t n = b.buffers.size();
      for (size_t i = 0; ok && i < b.views.size(); ++i) {
        const BundleBuffer &x = b.views[i];
        int64_t at = x.dynamic() ? x.offset * size : x.offset;
        int64_t len = bufferBytes(x, size);
        host[n + i] = decode(raw[x.in].substr(at, len), host[n + i].dtype, host[n + i].shape);
        for (size_t j = 0; j < b.views.size(); ++j)
          if (j != i && shareBytes(x, b.views[j]) && r[n + i].first >= 0 &&
              r[n + j].first > r[n + i].second)
            reused[n + i] = true;
      }
    }
    // The reference, kernel by kernel, on the host copies (not for
    // deliberately corrupted sparse data: only the guards are checked).
    std::vector<Tensor> expect = host;
    for (int ki : *order) {
      if (!ok || !checkResults)
        break;
      const BundleKernel &k = b.kernels[ki];
      if (k.op == "reduce")
        continue; // finishes the split-K einsum before it; checked there
      if (k.isCollective()) {
        // One rank: every collective hands its input on unchanged (a result
        // whose bytes a later kernel reused is not compared).
        if (!reused[k.result]) {
          bool same = checkExact(entryAt(b, k.result).name, (k.op + " over one rank").c_str(),
                                 host[k.result], expect[k.operands[0]]);
          ok = ok && same;
        }
        expect[k.result] = expect[k.operands[0]];
        continue;
      }
      if (k.op == "pack") {
        // The a_fragment repack: the reference's words exactly.
        ref::PackParams pp;
        if (!packSpec(k.spec, pp)) {
          cleanup();
          return fail(o, "kernel " + k.name + " packs '" + k.spec + "', which the runner cannot check");
        }
        std::vector<Tensor> want;
        std::string err;
        if (!ref::pack(expect[k.operands[0]], pp, want, err)) {
          cleanup();
          return fail(o, "reference: " + err);
        }
        const Tensor &got = host[k.result];
        int64_t wrong = 0;
        for (int64_t n = 0; n < got.numel() && n < want[0].numel(); ++n)
          wrong += got.data[n] != want[0].data[n];
        bool same = got.numel() == want[0].numel() && wrong == 0;
        std::printf("check %s (%s, pack %s): %s, %lld of %lld words differ from the reference\n",
                    entryAt(b, k.result).name.c_str(), got.typeStr().c_str(), k.spec.c_str(),
                    same ? "PASS" : "FAIL", static_cast<long long>(wrong),
                    static_cast<long long>(got.numel()));
        ok = ok && same;
        expect[k.result] = got;
        continue;
      }
      if (k.op == "quantize") {
        // Codes and per-row scales from the data: the reference's exactly.
        Tensor codes, scales;
        std::string err;
        // "dynamic", or fp8 in groups of the last dimension: "dynamic:e4m3:G".
        char kind[8] = {0};
        long long group = 0;
        bool fp8 = std::sscanf(k.spec.c_str(), "dynamic:%7[a-z0-9]:%lld", kind, &group) == 2;
        if (fp8 && ((std::string(kind) != "e4m3" && std::string(kind) != "e5m2") || group < 1)) {
          cleanup();
          return fail(o, "kernel " + k.name + " quantizes as '" + k.spec +
                             "', which the runner cannot check");
        }
        bool made = fp8 ? ref::dynamicQuantizeGroups(expect[k.operands[0]],
                                                    std::string(kind) == "e4m3" ? DType::F8E4M3FN
                                                                                : DType::F8E5M2,
                                                    group, codes, scales, err)
                        : ref::dynamicQuantize(expect[k.operands[0]], k.weight.bits, 0, codes,
                                               scales, err);
        if (!made) {
          cleanup();
          return fail(o, "reference: " + err);
        }
        for (auto [at, want] : {std::pair<int, const Tensor *>{k.result, &codes},
                                std::pair<int, const Tensor *>{k.weight.scale, &scales}}) {
          bool same = checkExact(entryAt(b, at).name, "dynamic quantize", host[at], *want);
          ok = ok && same;
          expect[at] = host[at];
        }
        continue;
      }
      if (k.op == "fftconv_spectrum" || k.op == "fftconv_pass")
        continue; // the filters' spectra, a two-pass convolution's first
                  // passes: checked through the convolution's last kernel
      if (k.op == "fftconv") {
        // The f64 reference convolution, rounded to the result's type.
        char mode[16] = {0};
        long long cutoff = 0;
        int pre = 0, post = 0;
        if (std::sscanf(k.spec.c_str(), "%15[a-z]:%lld:%d:%d", mode, &cutoff, &pre, &post) != 4 ||
            k.operands.size() != size_t(2 + pre + post)) {
          cleanup();
          return fail(o, "kernel " + k.name + " computes 'fftconv " + k.spec +
                             "', which the runner cannot read");
        }
        ref::FFTConvParams params;
        params.causal = std::string(mode) == "causal";
        params.freqCutoff = cutoff;
        const Tensor *preGate = pre ? &expect[k.operands[2]] : nullptr;
        const Tensor *postGate = post ? &expect[k.operands[2 + pre]] : nullptr;
        Tensor want;
        std::string err;
        if (!ref::fftconv(expect[k.operands[0]], expect[k.operands[1]], preGate, postGate, params,
                          host[k.result].dtype, want, err)) {
          cleanup();
          return fail(o, "reference: " + err);
        }
        const Tensor &got = host[k.result];
        std::vector<int64_t> all(static_cast<size_t>(got.numel()));
        for (int64_t n = 0; n < got.numel(); ++n)
          all[n] = n;
        // The kernel rounds its operands to the 16-bit type at each of its
        // four DFT products (FFTConvKernelTest: about 3x an f32 FFT's error).
        double tol = got.dtype == DType::BF16 ? 1e-2 : 2e-3;
        ref::Agreement agree = ref::compare(got.data.data(), want.data.data(), all);
        bool pass = agree.pass(tol);
        std::printf("check %s (%s, fftconv %s): %s rel_err=%.3g max_abs=%.3g tol=%.1g, %zu "
                    "elements (all)%s\n",
                    entryAt(b, k.result).name.c_str(), got.typeStr().c_str(), k.spec.c_str(),
                    pass ? "PASS" : "FAIL", agree.relErr, agree.maxAbs, tol, all.size(),
                    agree.nans ? (", " + std::to_string(agree.nans) + " NaN (unwritten?)").c_str()
                               : "");
        ok = ok && pass;
        expect[k.result] = got;
        continue;
      }
      if (k.op == "dequantize" && k.weight.present()) {
        // (q - z) * s rounded once: the reference's values exactly.
        Tensor want;
        std::string err;
        if (!ref::dequantize(expect[k.operands[0]], expect[k.weight.scale],
                             k.weight.zero >= 0 ? &expect[k.weight.zero] : nullptr,
                             quantParams(k.weight), host[k.result].dtype, want, err)) {
          cleanup();
          return fail(o, "reference: " + err);
        }
        bool same = checkExact(entryAt(b, k.result).name, "dequantize", host[k.result], want);
        ok = ok && same;
        // Later kernels consume what this one really produced.
        expect[k.result] = host[k.result];
        continue;
      }
      std::vector<std::string> subs;
      std::string outSub;
      if (k.op != "einsum" || !splitSpec(k.spec, subs, outSub)) {
        cleanup();
        return fail(o, "kernel " + k.name + " computes '" + k.op + " " + k.spec + "', which the runner cannot check");
      }
      std::vector<const Tensor *> ins;
      for (int a : k.operands)
        ins.push_back(&expect[a]);
      // A dequantized weight: the reference multiplies its dequantized
      // values (in the activations' type), computed from the same codes.
      Tensor dequantized;
      if (k.weight.present()) {
        std::string err;
        if (!ref::dequantize(expect[k.operands[1]], expect[k.weight.scale],
                             k.weight.zero >= 0 ? &expect[k.weight.zero] : nullptr,
                             quantParams(k.weight), ins[0]->dtype, dequantized, err)) {
          cleanup();
          return fail(o, "reference: dequantizing the weight: " + err);
        }
        ins[1] = &dequantized;
      }
      // Block scales: the operands scaled element by element (f64), so that
      // the plain sum is the block-scaled one.
      // (The operands' own type sets the tolerance: fp8 codes stay fp8
      // below, though the block-scaled reference multiplies f64 values.)
      DType operandType = ins[0]->dtype;
      Tensor scaledA, scaledB;
      if (k.blockScaled()) {
        std::string err;
        if (subs.size() != 2 ||
            !ref::applyBlockScales(*ins[0], *ins[1], subs[0], subs[1], outSub, expect[k.rowScale],
                                   expect[k.colScale], k.scaleBlock[0], k.scaleBlock[1], scaledA,
                                   scaledB, err)) {
          cleanup();
          return fail(o, "reference: block scales: " + (err.empty() ? "not two operands" : err));
        }
        ins = {&scaledA, &scaledB};
      }
      ref::EinsumOptions eo;
      eo.intAccBits = k.acc == "i32" ? 32 : 0;
      // Only a tf32 kernel rounds its f32 operands; the CUDA-core and
      // memory-bound kernels compute in f32.
      eo.tf32 = k.tf32;
      const Tensor &got = host[k.result];
      Tensor &want = expect[k.result];
      // A fused epilogue (on this kernel or on its split-K reduce kernel).
      const BundleKernel *withEpilogue = &k;
      for (int x : *order)
        if (b.kernels[x].op == "reduce" && b.kernels[x].result == k.result)
          withEpilogue = &b.kernels[x];
      ref::Epilogue ep;
      bool fused = withEpilogue->hasEpilogue();
      if (fused) {
        ep.alpha = withEpilogue->alpha;
        ep.beta = withEpilogue->beta;
        const std::string &a = withEpilogue->activation;
        ep.act = a == "relu"   ? ref::Epilogue::Act::Relu
                 : a == "gelu" ? ref::Epilogue::Act::Gelu
                 : a == "silu" ? ref::Epilogue::Act::Silu
                               : ref::Epilogue::Act::None;
        ep.bias = withEpilogue->bias >= 0 ? &expect[withEpilogue->bias] : nullptr;
        ep.residual = withEpilogue->residual >= 0 ? &expect[withEpilogue->residual] : nullptr;
        // (Block scales are folded into the operands instead.)
        bool rowCol = !withEpilogue->blockScaled();
        ep.rowScale = rowCol && withEpilogue->rowScale >= 0 ? &expect[withEpilogue->rowScale] : nullptr;
        ep.colScale = rowCol && withEpilogue->colScale >= 0 ? &expect[withEpilogue->colScale] : nullptr;
        ep.rowZero = withEpilogue->rowZero >= 0 ? &expect[withEpilogue->rowZero] : nullptr;
        ep.colSum = withEpilogue->colSum >= 0 ? &expect[withEpilogue->colSum] : nullptr;
        ep.cols = got.shape.empty() ? 1 : std::max<int64_t>(1, got.shape.back());
      }
      size_t einsums = 0;
      for (int x : *order)
        einsums += b.kernels[x].op == "einsum";
      bool sampled = einsums == 1 && double(flopsAt(k, size)) > o.fullCheckFlops;
      std::vector<int64_t> checkIdx;
      // The result's index (in output-label order) at a flat offset.
      std::vector<int64_t> strides = got.strides();
      auto indexAt = [&](int64_t flat) {
        std::vector<int64_t> idx(got.shape.size());
        for (size_t d = 0; d < idx.size(); ++d)
          idx[d] = (flat / strides[d]) % got.shape[d];
        return idx;
      };
      if (sampled) {
        ref::Random pick(o.seed ^ 0x5eed);
        for (int n = 0; n < o.samples; ++n)
          checkIdx.push_back(static_cast<int64_t>(pick.uniform() * double(got.numel())));
        for (int64_t flat : checkIdx) {
          double x = ref::einsumAt(ins, subs, outSub, indexAt(flat), eo);
          want.data[flat] = ref::roundResult(want.dtype, fused ? ep.apply(x, flat) : x);
        }
      } else {
        Tensor full;
        std::string err;
        if (!ref::einsum(ins, subs, outSub, fused ? DType::F64 : want.dtype, eo, full, err)) {
          cleanup();
          return fail(o, "reference: " + err);
        }
        if (fused) {
          for (int64_t n = 0; n < full.numel(); ++n)
            full.data[n] = ref::roundResult(want.dtype, ep.apply(full.data[n], n));
          full.dtype = want.dtype;
        }
        want = full;
        for (int64_t n = 0; n < got.numel(); ++n)
          checkIdx.push_back(n);
      }
      // A block mask: the masked-out blocks hold its fill.
      if (k.blockMask >= 0) {
        std::string err;
        want.dtype = got.dtype;
        if (!ref::applyBlockMask(want, expect[k.blockMask], k.maskBlock[0], k.maskBlock[1],
                                 k.maskFill, err)) {
          cleanup();
          return fail(o, "reference: block mask: " + err);
        }
      }
      if (reused[k.result]) {
        std::printf("check %s (%s, einsum \"%s\"): not compared: a later kernel reused its "
                    "workspace bytes; the chain goes on from the reference's value\n",
                    entryAt(b, k.result).name.c_str(), got.typeStr().c_str(), k.spec.c_str());
        continue;
      }
      int64_t terms = summedTerms(ins, subs, outSub);
      double tol = tolerance(got.dtype, operandType, k.tf32, terms);
      ref::Agreement agree = ref::compare(got.data.data(), want.data.data(), checkIdx);
      // A float result off by more than the tolerance may only have
      // cancelled (Compare.h): measure it against the size of its terms,
      // from the same einsum over the products' magnitudes.
      bool retry = !agree.pass(tol) && tol > 0 && !fused;
      if (retry && terms > 1) {
        ref::EinsumOptions mo = eo;
        mo.magnitude = true;
        std::vector<double> magnitude; // in the order of checkIdx
        if (sampled) {
          for (int64_t flat : checkIdx)
            magnitude.push_back(ref::einsumAt(ins, subs, outSub, indexAt(flat), mo));
        } else {
          Tensor m;
          std::string err;
          if (ref::einsum(ins, subs, outSub, DType::F64, mo, m, err))
            magnitude = std::move(m.data); // checkIdx is every element, in order
        }
        if (magnitude.size() == checkIdx.size())
          agree = ref::compare(got.data.data(), want.data.data(), checkIdx, magnitude.data(), terms);
      }
      bool pass = agree.pass(tol);
      std::string cancelNote;
      if (agree.passByScale(tol)) {
        char text[96];
        std::snprintf(text, sizeof text, ", the reference cancels: error %.3g of its terms' usual size",
                      agree.scaledErr);
        cancelNote = text;
      }
      std::printf("check %s (%s, einsum \"%s\"): %s rel_err=%.3g max_abs=%.3g tol=%.1g, %zu %s elements%s%s\n",
                  entryAt(b, k.result).name.c_str(), got.typeStr().c_str(), k.spec.c_str(),
                  pass ? "PASS" : "FAIL", agree.relErr, agree.maxAbs, tol, checkIdx.size(),
                  sampled ? "sampled" : "(all)",
                  agree.nans ? (", " + std::to_string(agree.nans) + " NaN (unwritten?)").c_str() : "",
                  cancelNote.c_str());
      // Where a failing result is furthest off (index in result-label
      // order, with both values): most kernel bugs are index bugs.
      if (!pass && agree.worstAt >= 0) {
        std::vector<int64_t> idx = indexAt(agree.worstAt);
        std::string at;
        for (int64_t x : idx)
          at += (at.empty() ? "" : ",") + std::to_string(x);
        std::printf("  worst element [%s]: got %.6g, want %.6g\n", at.c_str(),
                    got.data[agree.worstAt], want.data[agree.worstAt]);
      }
      ok = ok && pass;
      worstRel = std::max(worstRel, agree.relErr);
      // Later kernels consume what this one really produced.
      if (!sampled)
        want = got;
    }
  }

  double ms = NAN, tflops = NAN;
  if (o.bench && ok) {
    int64_t flops = 0, bytes = 0;
    for (int ki : *order)
      flops += flopsAt(b.kernels[ki], size);
    for (const BundleBuffer &x : b.buffers)
      bytes += bufferBytes(x, size);
    std::unique_ptr<Timer> timer;
    if (Status t = Timer::create(*dev, timer); !t) {
      cleanup();
      return fail(o, t.message());
    }
    // Launches rotate through copies of the inputs spanning four L2s, so
    // that each reads them from DRAM as a model's next layer would.
    size_t inBytes = 0;
    for (const std::string &u : uploaded)
      inBytes += u.size();
    int copies = timingInputCopies(inBytes, dev->info().l2Bytes);
    std::vector<std::vector<uint64_t>> ptrSets(copies, ptrs);
    std::vector<uint64_t> extra;
    for (int c = 1; c < copies; ++c)
      for (size_t i = 0; i < b.buffers.size(); ++i) {
        if (b.buffers[i].role != "input")
          continue;
        uint64_t p = 0;
        Status st = dev->allocate(std::max<size_t>(buf[i].bytes, 16), p);
        if (st)
          extra.push_back(p);
        if (st)
          st = dev->copyToDevice(p, uploaded[i].data(), uploaded[i].size());
        if (!st) {
          for (uint64_t q : extra)
            dev->release(q);
          cleanup();
          return fail(o, st.message());
        }
        ptrSets[c][i] = p;
      }
    if (copies > 1)
      std::printf("bench: inputs %.1f MB, launches rotate through %d copies (L2 %d MiB)\n",
                  inBytes / 1e6, copies, dev->info().l2Bytes >> 20);
    for (int i = 0; i < o.warmup; ++i)
      prog->launch(ptrSets[i % copies], sizes, size);
    std::vector<float> times;
    int batch = std::max(1, o.batch);
    int turn = 0;
    for (int i = 0; i < o.iterations; ++i) {
      float t = 0;
      Status st = timer->start();
      for (int j = 0; j < batch && st; ++j)
        st = prog->launch(ptrSets[turn++ % copies], sizes, size);
      if (st)
        st = timer->stop(t);
      t /= float(batch);
      if (!st) {
        for (uint64_t q : extra)
          dev->release(q);
        cleanup();
        return fail(o, st.message());
      }
      times.push_back(t);
    }
    (void)dev->synchronize();
    for (uint64_t q : extra)
      dev->release(q);
    std::sort(times.begin(), times.end());
    ms = times[times.size() / 2];
    tflops = double(flops) / (ms * 1e-3) / 1e12;
    std::printf("bench: median %.4f ms (min %.4f, max %.4f) over %d runs%s: %.1f TFLOP/s, %.1f GB/s\n",
                ms, times.front(), times.back(), o.iterations,
                batch > 1 ? (" of " + std::to_string(batch) + " back-to-back launches").c_str() : "",
                tflops,
                double(bytes) / (ms * 1e-3) / 1e9);
    // Host-side cost of a launch: back-to-back enqueues, timed on the host
    // (100, few enough that the driver's queue never fills).
    if (Status st = dev->synchronize(); !st) {
      cleanup();
      return fail(o, st.message());
    }
    auto h0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i)
      prog->launch(ptrs, sizes, size);
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - h0).count() / 100;
    (void)dev->synchronize();
    std::printf("launch: host overhead %.2f us per launch of %zu kernel(s) (100 back-to-back)\n",
                us, order->size());
    // The driver's share: the first kernel alone, parameters built once.
    double driverUs = 0;
    if (Status st = prog->timeDriverLaunches(ptrs, size, 100, driverUs); st) {
      (void)dev->synchronize();
      std::printf("launch: cuLaunchKernel alone %.2f us per call (first kernel, 100 back-to-back)\n",
                  driverUs);
    }
  }
  cleanup();
  std::printf("RESULT %s %s rel=%.3g ms=%.4f tflops=%.1f\n", o.label.c_str(),
              ok ? "PASS" : "FAIL", worstRel, ms, tflops);
  return ok ? 0 : 1;
}

std::string einloom::rt::repeatToSize(const std::string &block, size_t bytes) {
  std::string out;
  if (block.empty())
    return out;
  out.reserve(bytes);
  while (out.size() < bytes)
    out.append(block, 0, std::min(block.size(), bytes - out.size()));
  return out;
}

int einloom::rt::runBundle(const Bundle &b, const RunOptions &o, Device *dev) {
  if (isDynamic(b) && o.dynamicSizes.empty())
    return fail(o, "the bundle has a dynamic dimension " + b.dynamicLabel + " (" +
                       std::to_string(b.dynamicMin) + " to " + std::to_string(b.dynamicMax) +
                       "); give its sizes with --size N[,N...]");
  for (int64_t size : o.dynamicSizes) {
    std::string why;
    if (isDynamic(b) && !launchOrderFor(b, size, why))
      return fail(o, why);
  }
  if (!isDynamic(b) && !o.dynamicSizes.empty())
    return fail(o, "--size applies to bundles with a dynamic dimension; this one has static shapes");
  // A sharded bundle runs on every rank of its mesh at once: one process a
  // GPU, under a launcher. A mesh of one rank runs here, its collectives
  // through a communicator of one.
  if (meshRanks(b) > 1)
    return fail(o, "the bundle is one rank's program over a mesh of " +
                       std::to_string(meshRanks(b)) +
                       " ranks; run it with a launcher, one process a GPU (the Python package "
                       "under torchrun: examples/sharded/mlp_torchrun.py)");
  std::unique_ptr<Device> owned;
  if (!dev) {
    if (Status s = Device::open(o.device, owned); !s)
      return fail(o, s.message());
    dev = owned.get();
  }
  std::printf("device: %s (sm_%d%d, %d SMs)\n", dev->info().name.c_str(), dev->info().major,
              dev->info().minor, dev->info().multiprocessors);
  std::unique_ptr<Program> prog;
  if (Status s = Program::load(*dev, b, prog); !s)
    return fail(o, s.message());
  std::printf("bundle: %s for %s, %zu kernel(s), loaded from %s\n", b.source.c_str(),
              b.target.c_str(), b.kernels.size(), prog->loadedFrom().c_str());
  Communicator single;
  if (isSharded(b)) {
    const NcclTable *nccl = nullptr;
    nccl::UniqueId id;
    if (Status s = newUniqueId(id); !s)
      return fail(o, s.message());
    if (Status s = loadNccl(nccl); !s) // loaded already by newUniqueId
      return fail(o, s.message());
    if (Status s = Communicator::create(*nccl, id, 1, 0, single); !s)
      return fail(o, s.message());
    if (Status s = prog->useCommunicators(std::vector<Communicator *>(b.mesh.size(), &single)); !s)
      return fail(o, s.message());
    std::printf("mesh of one rank: collectives through a one-rank NCCL communicator\n");
  }
  if (!isDynamic(b))
    return runAt(dev, prog.get(), b, o, -1);
  // Every size from the same loaded program: nothing is recompiled.
  int rc = 0;
  for (int64_t size : o.dynamicSizes) {
    RunOptions one = o;
    one.label = o.label + "@" + b.dynamicLabel + "=" + std::to_string(size);
    rc |= runAt(dev, prog.get(), b, one, size);
  }
  return rc;
}

ref::Role einloom::rt::inputRole(const Bundle &b, int index) {
  std::vector<WeightRole> roles = weightRoles(b);
  return index >= 0 && size_t(index) < roles.size() ? roles[index].role : ref::Role::Data;
}
