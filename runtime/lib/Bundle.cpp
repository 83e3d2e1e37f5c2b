//===- Bundle.cpp - reading and writing bundles ---------------------------===//
#include "einloom/runtime/Bundle.h"
#include "einloom/runtime/CollectivePlan.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <sstream>
#include <type_traits>

using namespace einloom::rt;

static const char *kMagic = "EINLOOM-BUNDLE";
static const char *kCollectiveForm =
    "bad collective (NAME all_reduce|all_gather|reduce_scatter|all_to_all|shard_slice AXIS DIM "
    "DIM2 INPUT OUTPUT SCRATCH)";
static const char *kEpilogueForm =
    "bad epilogue (ALPHA BETA none|relu|gelu|silu BIAS RESIDUAL [ROWSCALE COLSCALE [ROWZERO "
    "COLSUM]])";

uint64_t einloom::rt::checksum(const std::string &bytes) {
  return checksumOf(bytes.data(), bytes.size());
}

uint64_t einloom::rt::checksumOf(const char *data, size_t size) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) {
    unsigned char c = static_cast<unsigned char>(data[i]);
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

/// `v` joined by `sep`; -1 (a dynamic extent) is written `?`.
static std::string joinInts(const std::vector<int64_t> &v, char sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? std::string(1, sep) : "") + (v[i] == -1 ? std::string("?") : std::to_string(v[i]));
  return s.empty() ? "-" : s;
}

static std::string joinOrder(const std::vector<int> &v) {
  return joinInts(std::vector<int64_t>(v.begin(), v.end()), ',');
}

bool einloom::rt::isDynamic(const Bundle &b) { return !b.dynamicLabel.empty(); }

int einloom::rt::meshAxisIndex(const Bundle &b, const std::string &name) {
  for (size_t i = 0; i < b.mesh.size(); ++i)
    if (b.mesh[i].name == name)
      return static_cast<int>(i);
  return -1;
}

int64_t einloom::rt::meshRanks(const Bundle &b) {
  int64_t n = 1;
  for (const BundleMeshAxis &a : b.mesh)
    n *= a.size;
  return n;
}

const std::vector<int> *einloom::rt::launchOrderFor(const Bundle &b, int64_t size,
                                                    std::string &err) {
  if (!isDynamic(b)) {
    if (size != -1) {
      err = "the bundle has static shapes; it takes no dynamic size";
      return nullptr;
    }
    return &b.launchOrder;
  }
  for (const BundleVariant &v : b.variants)
    if (v.lo <= size && size <= v.hi)
      return &v.launchOrder;
  // Messages are built only here: a launch that succeeds allocates nothing.
  std::string range = b.dynamicLabel + " (" + std::to_string(b.dynamicMin) + " to " +
                      std::to_string(b.dynamicMax) + ")";
  if (size == -1)
    err = "the bundle has a dynamic dimension " + range + "; pass its size";
  else
    err = "size " + std::to_string(size) + " is outside the bundle's range for " + range;
  return nullptr;
}

const BundleBuffer &einloom::rt::entryAt(const Bundle &b, int i) {
  size_t n = b.buffers.size();
  return static_cast<size_t>(i) < n ? b.buffers[i] : b.views[i - n];
}

uint64_t einloom::rt::entryAddress(const Bundle &b, int i, const uint64_t *buffers, int64_t size) {
  if (static_cast<size_t>(i) < b.buffers.size())
    return buffers[i];
  const BundleBuffer &v = b.views[i - b.buffers.size()];
  return buffers[v.in] + static_cast<uint64_t>(v.dynamic() ? v.offset * size : v.offset);
}

std::vector<std::vector<std::pair<int, int>>> einloom::rt::liveRanges(const Bundle &b) {
  std::vector<const std::vector<int> *> orders;
  if (isDynamic(b))
    for (const BundleVariant &v : b.variants)
      orders.push_back(&v.launchOrder);
  else
    orders.push_back(&b.launchOrder);
  std::vector<std::vector<std::pair<int, int>>> out;
  for (const std::vector<int> *order : orders) {
    std::vector<std::pair<int, int>> r(numEntries(b), {-1, -1});
    for (size_t p = 0; p < order->size(); ++p)
      for (int a : b.kernels[(*order)[p]].args) {
        if (r[a].first < 0)
          r[a].first = static_cast<int>(p);
        r[a].second = static_cast<int>(p);
      }
    out.push_back(std::move(r));
  }
  return out;
}

bool einloom::rt::shareBytes(const BundleBuffer &x, const BundleBuffer &y) {
  return x.in >= 0 && x.in == y.in && x.bytes && y.bytes && x.offset < y.offset + y.bytes &&
         y.offset < x.offset + x.bytes;
}

bool einloom::rt::liveTogether(const std::vector<std::vector<std::pair<int, int>>> &ranges, int i,
                               int j) {
  for (const std::vector<std::pair<int, int>> &r : ranges)
    if (r[i].first >= 0 && r[j].first >= 0 && r[i].first <= r[j].second &&
        r[j].first <= r[i].second)
      return true;
  return false;
}

int64_t einloom::rt::bufferBytes(const BundleBuffer &x, int64_t size) {
  return x.dynamic() ? x.bytes * size : x.bytes;
}

/// The `sparse` line of a kernel whose sparse weight is buffer `i`, or null.
static const BundleSparse *sparseWeight(const Bundle &b, size_t i) {
  for (const BundleKernel &k : b.kernels)
    if (k.sparse.present() && k.operands.size() == 2 && k.operands[1] == static_cast<int>(i))
      return &k.sparse;
  return nullptr;
}

bool einloom::rt::holdsSparseWords(const Bundle &b, size_t i) {
  const BundleSparse *sp = sparseWeight(b, i);
  return sp && sp->format != "two_four";
}

int64_t einloom::rt::leastBytes(const Bundle &b, size_t i, int64_t size) {
  const BundleSparse *sp = sparseWeight(b, i);
  if (!sp || sp->format == "two_four")
    return bufferBytes(b.buffers[i], size);
  // One 16-byte chunk; a block-sparse weight's one 64 x 64 block of 16 bits.
  return sp->format == "block_csr" ? 64 * 64 * 2 : 16;
}

int64_t einloom::rt::flopsAt(const BundleKernel &k, int64_t size) {
  return k.sized() ? k.flops * size : k.flops;
}

int64_t einloom::rt::gridX(const BundleKernel &k, int64_t size) {
  if (!k.sized())
    return k.grid[0];
  return (size * k.sizedGrid[0] + k.sizedGrid[1] - 1) / k.sizedGrid[1] * k.sizedGrid[2];
}

std::string einloom::rt::writeBundle(const Bundle &b) {
  std::ostringstream m;
  m << "target " << b.target << "\n";
  m << "source " << (b.source.empty() ? "-" : b.source) << "\n";
  if (isDynamic(b))
    m << "dynamic " << b.dynamicLabel << " " << b.dynamicMin << " " << b.dynamicMax << "\n";
  if (isSharded(b)) {
    m << "mesh";
    for (const BundleMeshAxis &a : b.mesh)
      m << " " << a.name << "=" << a.size;
    m << "\n";
  }
  for (const BundleBuffer &x : b.buffers) {
    m << "buffer " << x.name << " " << x.role << " " << x.dtype << " "
      << joinInts(x.shape, 'x') << " " << x.bytes << "\n";
    if (!x.sharding.empty()) {
      m << "shard";
      for (const std::string &a : x.sharding)
        m << " " << (a.empty() ? "-" : a);
      m << "\n";
    }
  }
  for (const BundleBuffer &x : b.views)
    m << "view " << x.name << " " << x.dtype << " " << joinInts(x.shape, 'x') << " " << x.bytes
      << " " << x.in << " " << x.offset << "\n";
  for (const BundleKernel &k : b.kernels) {
    if (k.isCollective()) {
      const BundleCollective &c = k.collective;
      m << "collective " << k.name << " " << k.op << " " << c.axis << " " << c.dim << " "
        << c.dim2 << " " << (k.operands.empty() ? -1 : k.operands[0]) << " " << k.result << " "
        << c.scratch << "\n";
      continue;
    }
    m << "kernel " << k.name << " " << joinInts({k.grid.begin(), k.grid.end()}, ',')
      << " " << joinInts({k.block.begin(), k.block.end()}, ',') << " "
      << k.sharedMemoryBytes << " "
      << joinInts(std::vector<int64_t>(k.args.begin(), k.args.end()), ',') << "\n";
    m << "computes " << k.op << " " << k.spec << " " << k.acc << " "
      << joinInts(std::vector<int64_t>(k.operands.begin(), k.operands.end()), ',')
      << " " << k.result << " " << k.flops << (k.tf32 ? " tf32" : "") << "\n";
    for (const BundleTensorMap &t : k.tensorMaps)
      m << "tensormap " << t.arg << " " << t.elementBytes << " " << joinInts(t.dims, 'x') << " "
        << joinInts(t.strides, 'x') << " " << joinInts(t.box, 'x') << " " << t.swizzle << "\n";
    if (k.persistent)
      m << "persistent" << (k.ctasPerSM > 1 ? " " + std::to_string(k.ctasPerSM) : "") << "\n";
    if (k.cluster > 1)
      m << "cluster " << k.cluster << "\n";
    if (k.sized())
      m << "sized " << joinInts({k.sizedGrid.begin(), k.sizedGrid.end()}, ' ') << "\n";
    if (k.hasEpilogue()) {
      char nums[64];
      std::snprintf(nums, sizeof nums, "%.17g %.17g", k.alpha, k.beta);
      m << "epilogue " << nums << " " << k.activation << " " << k.bias << " " << k.residual;
      if (k.rowScale >= 0 || k.colScale >= 0 || k.rowZero >= 0)
        m << " " << k.rowScale << " " << k.colScale;
      if (k.rowZero >= 0)
        m << " " << k.rowZero << " " << k.colSum;
      m << "\n";
      if (k.blockScaled())
        m << "blockscale " << k.scaleBlock[0] << " " << k.scaleBlock[1] << "\n";
    }
    if (k.blockMask >= 0) {
      char fill[32];
      std::snprintf(fill, sizeof fill, "%.17g", k.maskFill);
      m << "mask " << k.blockMask << " " << k.maskBlock[0] << " " << k.maskBlock[1] << " "
        << fill << "\n";
    }
    if (k.weight.present()) {
      const BundleWeight &w = k.weight;
      m << "weight " << w.bits << " " << (w.isSigned ? "signed" : "unsigned") << " "
        << w.granularity << " " << w.axis << " " << w.group << " " << w.kDim << " " << w.scale
        << " " << w.zero << "\n";
    }
    if (k.sparse.present())
      m << "sparse " << k.sparse.format << " " << k.sparse.tileRows << " " << k.sparse.tileCols
        << " " << k.sparse.offsets
        << (k.sparse.index >= 0 ? " " + std::to_string(k.sparse.index) : std::string())
        << "\n";
  }
  if (isDynamic(b))
    for (const BundleVariant &v : b.variants)
      m << "variant " << v.lo << " " << v.hi << " " << joinOrder(v.launchOrder) << "\n";
  else
    m << "launch " << joinOrder(b.launchOrder) << "\n";
  m << "image ptx " << b.ptx.size() << "\n";
  m << "image cubin " << b.cubin.size() << "\n";
  std::string manifest = m.str();
  std::string payload = manifest + b.ptx + b.cubin;
  char head[96];
  std::snprintf(head, sizeof head, "%s %d %zu %016" PRIx64 "\n", kMagic, b.version,
                payload.size(), checksum(payload));
  return head + payload;
}

static bool parseInts(const std::string &s, char sep, std::vector<int64_t> &out) {
  out.clear();
  if (s == "-")
    return true;
  size_t at = 0;
  while (at < s.size()) {
    size_t end = s.find(sep, at);
    if (end == std::string::npos)
      end = s.size();
    std::string item = s.substr(at, end - at);
    at = end + 1;
    if (item == "?") {
      out.push_back(-1);
      continue;
    }
    char *stop;
    long long v = std::strtoll(item.c_str(), &stop, 10);
    if (item.empty() || *stop)
      return false;
    out.push_back(v);
  }
  return !s.empty() && s.back() != sep;
}

namespace {
/// The words of one manifest line, read like an istream (`ls >> a >> b`)
/// without iostreams: a bundle loads in a fresh process in well under a
/// millisecond. A number must be a whole word.
class Words {
public:
  explicit Words(const char *begin, const char *end) : at_(begin), end_(end) {}
  Words &operator>>(std::string &w) {
    if (ok_ && !word(w))
      ok_ = false;
    return *this;
  }
  template <typename T> Words &operator>>(T &v) {
    std::string w;
    if (!ok_ || !word(w)) {
      ok_ = false;
      return *this;
    }
    char *stop;
    errno = 0;
    long long x = std::strtoll(w.c_str(), &stop, 10);
    if (*stop || errno || (std::is_unsigned<T>::value && x < 0))
      ok_ = false;
    else
      v = static_cast<T>(x);
    return *this;
  }
  explicit operator bool() const { return ok_; }

private:
  bool word(std::string &w) {
    while (at_ < end_ && (*at_ == ' ' || *at_ == '\t' || *at_ == '\r'))
      ++at_;
    const char *b = at_;
    while (at_ < end_ && *at_ != ' ' && *at_ != '\t' && *at_ != '\r')
      ++at_;
    w.assign(b, at_);
    return at_ > b;
  }
  const char *at_, *end_;
  bool ok_ = true;
};
} // namespace

std::string einloom::rt::checkTensorMap(const BundleTensorMap &t, size_t numArgs) {
  size_t rank = t.dims.size();
  if (t.arg < 0 || static_cast<size_t>(t.arg) >= numArgs)
    return "tensor map names no kernel argument";
  if (t.elementBytes != 1 && t.elementBytes != 2 && t.elementBytes != 4)
    return "tensor map element size must be 1, 2 or 4 bytes";
  if (rank < 1 || rank > 5 || t.strides.size() != rank - 1 || t.box.size() != rank)
    return "tensor map rank, strides and box disagree";
  for (int64_t d : t.dims)
    if ((d < 1 && d != -1) || d > (int64_t(1) << 32))
      return "tensor map extent out of range";
  for (int64_t s : t.strides)
    if (s < 16 || s % 16 != 0 || s >= (int64_t(1) << 40))
      return "tensor map pitch must be a positive multiple of 16 bytes";
  for (int64_t x : t.box)
    if (x < 1 || x > 256)
      return "tensor map box extent must be 1 to 256";
  if (t.swizzle != 0 && t.swizzle != 32 && t.swizzle != 64 && t.swizzle != 128)
    return "tensor map swizzle must be 0, 32, 64 or 128";
  if (t.swizzle && t.box[0] * t.elementBytes > t.swizzle)
    return "tensor map box row is wider than its swizzle span";
  return "";
}

/// The rules that tie a dynamic dimension's entries together: "" when the
/// manifest keeps them.
static std::string checkDynamic(const Bundle &b) {
  if (!isDynamic(b) && !b.variants.empty())
    return "variants without a dynamic dimension";
  for (const BundleKernel &k : b.kernels) {
    for (int i = 0; i < 3; ++i)
      if (k.grid[i] < 1 || k.block[i] < 1)
        return "kernel '" + k.name + "' has an empty grid or block";
    bool dynMap = false;
    for (const BundleTensorMap &t : k.tensorMaps)
      for (int64_t d : t.dims)
        dynMap |= d == -1;
    if (dynMap && !k.sized())
      return "kernel '" + k.name + "' has a dynamic tensor map extent but is not sized";
    if (k.sized() && !isDynamic(b))
      return "kernel '" + k.name + "' is sized, but the bundle has no dynamic dimension";
  }
  if (!isDynamic(b)) {
    for (const BundleBuffer &x : b.buffers)
      if (x.dynamic())
        return "buffer '" + x.name + "' has a dynamic extent, but the bundle has no dynamic dimension";
    if (b.launchOrder.empty())
      return "no launch order";
    return "";
  }
  if (!b.launchOrder.empty())
    return "a bundle with a dynamic dimension launches by variant, not 'launch'";
  if (b.variants.empty())
    return "a dynamic dimension without variants";
  int64_t next = b.dynamicMin;
  for (const BundleVariant &v : b.variants) {
    if (v.lo != next)
      return "variants must cover " + std::to_string(b.dynamicMin) + " to " +
             std::to_string(b.dynamicMax) + " in order, without gaps or overlaps";
    next = v.hi + 1;
  }
  if (next != b.dynamicMax + 1)
    return "variants must end at the dynamic dimension's largest size " + std::to_string(b.dynamicMax);
  for (size_t i = 0; i < numEntries(b); ++i) {
    const BundleBuffer &x = entryAt(b, static_cast<int>(i));
    int dyn = 0;
    for (int64_t d : x.shape)
      dyn += d == -1;
    if (dyn > 1)
      return "buffer '" + x.name + "' has more than one dynamic extent";
    if (dyn && x.bytes > (int64_t(1) << 40) / b.dynamicMax)
      return "buffer '" + x.name + "' would exceed 1 TiB at the largest size";
  }
  return "";
}

/// Views that share bytes must never be in use at the same launch position:
/// "" when they are not.
static std::string checkViews(const Bundle &b) {
  if (b.views.empty())
    return "";
  auto ranges = liveRanges(b);
  int n = static_cast<int>(b.buffers.size());
  for (size_t i = 0; i < b.views.size(); ++i)
    for (size_t j = i + 1; j < b.views.size(); ++j) {
      const BundleBuffer &x = b.views[i], &y = b.views[j];
      if (shareBytes(x, y) && liveTogether(ranges, n + static_cast<int>(i), n + static_cast<int>(j)))
        return "views '" + x.name + "' and '" + y.name + "' share bytes while both are in use";
    }
  return "";
}

bool einloom::rt::readBundle(const std::string &bytes, Bundle &b, std::string &err) {
  size_t nl = bytes.find('\n');
  if (bytes.compare(0, 14, kMagic) != 0 || nl == std::string::npos) {
    err = "not an Einloom bundle (bad magic)";
    return false;
  }
  int version = 0;
  size_t size = 0;
  uint64_t sum = 0;
  if (std::sscanf(bytes.c_str() + 14, " %d %zu %" SCNx64, &version, &size, &sum) != 3) {
    err = "corrupt bundle header";
    return false;
  }
  if (version != 1) {
    err = "unsupported bundle version " + std::to_string(version) + " (this runtime reads 1)";
    return false;
  }
  const char *payload = bytes.data() + nl + 1;
  size_t payloadSize = bytes.size() - nl - 1;
  if (payloadSize != size) {
    err = "truncated or padded bundle: the header promises " + std::to_string(size) +
          " bytes, the file has " + std::to_string(payloadSize);
    return false;
  }
  if (checksumOf(payload, payloadSize) != sum) {
    err = "corrupt bundle: checksum mismatch";
    return false;
  }
  b = Bundle();
  std::string line;
  size_t consumed = 0;
  size_t ptxSize = 0, cubinSize = 0;
  bool sawCubin = false;
  auto bad = [&](const std::string &what) {
    err = "corrupt bundle manifest: " + what + " in line '" + line + "'";
    return false;
  };
  while (!sawCubin && consumed < payloadSize) {
    const char *lineEnd = static_cast<const char *>(
        std::memchr(payload + consumed, '\n', payloadSize - consumed));
    if (!lineEnd)
      lineEnd = payload + payloadSize;
    line.assign(payload + consumed, lineEnd);
    consumed = std::min(payloadSize, static_cast<size_t>(lineEnd - payload) + 1);
    Words ls(line.data(), line.data() + line.size());
    std::string kind;
    ls >> kind;
    if (kind == "target") {
      ls >> b.target;
    } else if (kind == "source") {
      ls >> b.source;
    } else if (kind == "buffer") {
      BundleBuffer x;
      std::string shape;
      if (!(ls >> x.name >> x.role >> x.dtype >> shape >> x.bytes) ||
          !parseInts(shape, 'x', x.shape) || x.bytes < 0)
        return bad("bad buffer");
      if (x.role != "input" && x.role != "output" && x.role != "temp")
        return bad("a buffer's role is input, output or temp, not '" + x.role + "'");
      // Extents are positive (or -1, dynamic), and their product fits in 2^48
      // elements: a mutated manifest's 2^63 x 8192 reached the runner.
      uint64_t elems = 1;
      for (int64_t d : x.shape)
        if (d == 0 || d < -1 || (d > 0 && __builtin_mul_overflow(elems, uint64_t(d), &elems)) ||
            elems > (uint64_t(1) << 48))
          return bad("a buffer's extents are positive (or ? for the dynamic one), at most 2^48 "
                     "elements in all");
      if (!b.views.empty() || !b.kernels.empty())
        return bad("buffers must come before views and kernels");
      b.buffers.push_back(x);
    } else if (kind == "mesh") {
      if (!b.buffers.empty() || isSharded(b))
        return bad("one 'mesh' line, before the buffers");
      std::string axis;
      while (ls >> axis) {
        size_t eq = axis.find('=');
        char *stop = nullptr;
        long long n = eq == std::string::npos ? 0 : std::strtoll(axis.c_str() + eq + 1, &stop, 10);
        if (eq == 0 || eq == std::string::npos || *stop || n < 1 || n > 65536)
          return bad("bad mesh (NAME=SIZE ..., sizes 1 to 65536)");
        BundleMeshAxis a{axis.substr(0, eq), n};
        if (meshAxisIndex(b, a.name) >= 0)
          return bad("mesh axis '" + a.name + "' given twice");
        b.mesh.push_back(a);
        if (meshRanks(b) > (int64_t(1) << 20)) // checked each axis: no overflow
          return bad("a mesh of more than 2^20 ranks");
      }
      if (b.mesh.empty())
        return bad("a mesh without axes");
    } else if (kind == "shard") {
      if (b.buffers.empty() || !b.buffers.back().sharding.empty())
        return bad("'shard' follows the buffer it describes, once");
      BundleBuffer &x = b.buffers.back();
      std::string axis;
      while (ls >> axis) {
        if (axis != "-" && meshAxisIndex(b, axis) < 0)
          return bad("shard names mesh axis '" + axis + "', which the mesh lacks");
        x.sharding.push_back(axis == "-" ? "" : axis);
      }
      if (x.sharding.size() != x.shape.size())
        return bad("shard gives " + std::to_string(x.sharding.size()) + " axes for a buffer of rank " +
                   std::to_string(x.shape.size()));
    } else if (kind == "collective") {
      std::string name, op;
      BundleCollective c;
      int in = -1, out = -1;
      if (!(ls >> name >> op >> c.axis >> c.dim >> c.dim2 >> in >> out >> c.scratch))
        return bad(kCollectiveForm);
      BundleKernel k = collectiveEntry(name, op, c, in, out);
      if (!k.isCollective())
        return bad(kCollectiveForm);
      int n = static_cast<int>(numEntries(b));
      if (in < 0 || in >= n || out < 0 || out >= n || c.scratch < -1 || c.scratch >= n)
        return bad("collective names no buffer");
      b.kernels.push_back(k);
    } else if (kind == "view") {
      BundleBuffer x;
      std::string shape;
      if (!(ls >> x.name >> x.dtype >> shape >> x.bytes >> x.in >> x.offset) ||
          !parseInts(shape, 'x', x.shape) || x.bytes < 0)
        return bad("bad view (NAME DTYPE SHAPE BYTES BUFFER OFFSET)");
      if (!b.kernels.empty())
        return bad("views must come before the kernels");
      if (x.in < 0 || x.in >= static_cast<int>(b.buffers.size()) || b.buffers[x.in].role != "temp" ||
          b.buffers[x.in].dynamic() != x.dynamic())
        return bad("a view must lie in a temp buffer, both dynamic or both not");
      const BundleBuffer &ws = b.buffers[x.in];
      if (x.offset < 0 || x.offset % 16 || x.offset > ws.bytes || x.bytes > ws.bytes - x.offset)
        return bad("view offset not 16-byte aligned, or the view does not fit its buffer");
      x.role = "temp";
      b.views.push_back(x);
    } else if (kind == "kernel") {
      BundleKernel k;
      std::string grid, block, args;
      std::vector<int64_t> g, bl, a;
      if (!(ls >> k.name >> grid >> block >> k.sharedMemoryBytes >> args) ||
          !parseInts(grid, ',', g) || !parseInts(block, ',', bl) ||
          !parseInts(args, ',', a) || g.size() != 3 || bl.size() != 3)
        return bad("bad kernel");
      // The driver's limits: a grid of at most 2^31 - 1 by 65535 by 65535
      // CTAs, a block of at most 1024 threads, 227 KiB of shared memory.
      int64_t threads = 1;
      for (int i = 0; i < 3; ++i) {
        if (g[i] < 1 || g[i] > (i == 0 ? INT32_MAX : 65535) || bl[i] < 1 || bl[i] > 1024)
          return bad("grid or block out of range");
        k.grid[i] = g[i];
        k.block[i] = bl[i];
        threads *= bl[i];
      }
      if (threads > 1024 || k.sharedMemoryBytes < 0 || k.sharedMemoryBytes > 232448)
        return bad("more than 1024 threads or 232448 bytes of shared memory");
      for (int64_t v : a) {
        if (v < 0 || v >= static_cast<int64_t>(numEntries(b)))
          return bad("kernel argument names no buffer");
        k.args.push_back(static_cast<int>(v));
      }
      b.kernels.push_back(k);
    } else if (kind == "computes") {
      if (b.kernels.empty())
        return bad("'computes' before any kernel");
      BundleKernel &k = b.kernels.back();
      if (!k.op.empty())
        return bad("a second 'computes' for one kernel");
      std::string ops;
      std::vector<int64_t> o;
      if (!(ls >> k.op >> k.spec >> k.acc >> ops >> k.result >> k.flops) || !parseInts(ops, ',', o))
        return bad("bad 'computes'");
      std::string rounding;
      if (ls >> rounding) {
        if (rounding != "tf32")
          return bad("bad 'computes': '" + rounding + "' after the flops (only 'tf32' may follow)");
        k.tf32 = true;
      }
      for (int64_t v : o) {
        if (v < 0 || v >= static_cast<int64_t>(numEntries(b)))
          return bad("operand names no buffer");
        k.operands.push_back(static_cast<int>(v));
      }
      if (k.result < 0 || k.result >= static_cast<int>(numEntries(b)))
        return bad("result names no buffer");
    } else if (kind == "tensormap") {
      if (b.kernels.empty())
        return bad("'tensormap' before any kernel");
      BundleKernel &k = b.kernels.back();
      BundleTensorMap t;
      std::string dims, strides, box;
      if (!(ls >> t.arg >> t.elementBytes >> dims >> strides >> box >> t.swizzle) ||
          !parseInts(dims, 'x', t.dims) || !parseInts(strides, 'x', t.strides) ||
          !parseInts(box, 'x', t.box))
        return bad("bad tensormap");
      std::string why = checkTensorMap(t, k.args.size());
      if (!why.empty())
        return bad(why);
      k.tensorMaps.push_back(t);
    } else if (kind == "persistent") {
      if (b.kernels.empty())
        return bad("'persistent' before any kernel");
      BundleKernel &k = b.kernels.back();
      k.persistent = true;
      std::string n;
      if (ls >> n) { // CTAs per SM (absent: 1)
        char *stop;
        long v = std::strtol(n.c_str(), &stop, 10);
        if (*stop || v < 1 || v > 8)
          return bad("bad persistent CTAs per SM (1 to 8)");
        k.ctasPerSM = v;
      }
    } else if (kind == "cluster") {
      if (b.kernels.empty())
        return bad("'cluster' before any kernel");
      BundleKernel &k = b.kernels.back();
      if (!(ls >> k.cluster) || k.cluster < 1 || k.cluster > 8 || k.grid[0] % k.cluster)
        return bad("bad cluster size (1 to 8, dividing grid.x)");
    } else if (kind == "dynamic") {
      if (!(ls >> b.dynamicLabel >> b.dynamicMin >> b.dynamicMax) || b.dynamicLabel.size() != 1 ||
          b.dynamicMin < 1 || b.dynamicMax < b.dynamicMin)
        return bad("bad dynamic dimension (LABEL MIN MAX, 1 <= MIN <= MAX)");
    } else if (kind == "sized") {
      if (b.kernels.empty())
        return bad("'sized' before any kernel");
      BundleKernel &k = b.kernels.back();
      for (int64_t &v : k.sizedGrid)
        if (!(ls >> v) || v < 1 || v > (int64_t(1) << 31))
          return bad("bad sized grid (three factors, 1 to 2^31)");
    } else if (kind == "epilogue") {
      if (b.kernels.empty())
        return bad("'epilogue' before any kernel");
      BundleKernel &k = b.kernels.back();
      std::string alpha, beta;
      auto number = [](const std::string &w, double &v) {
        char *stop;
        v = std::strtod(w.c_str(), &stop);
        return !w.empty() && !*stop && std::isfinite(v);
      };
      if (!(ls >> alpha >> beta >> k.activation >> k.bias >> k.residual) ||
          !number(alpha, k.alpha) || !number(beta, k.beta) ||
          (k.activation != "none" && k.activation != "relu" && k.activation != "gelu" &&
           k.activation != "silu"))
        return bad(kEpilogueForm);
      // Optional: the sum's row and column scales, then the rank-1 term's
      // row and column vectors (both given or both -1).
      for (auto [row, col] : {std::pair<int *, int *>{&k.rowScale, &k.colScale},
                              std::pair<int *, int *>{&k.rowZero, &k.colSum}}) {
        std::string more;
        if (!(ls >> more))
          break;
        char *stop;
        long r = std::strtol(more.c_str(), &stop, 10);
        if (*stop || !(ls >> *col) || r < -1 || r > INT32_MAX || *col < -1)
          return bad(kEpilogueForm);
        *row = static_cast<int>(r);
      }
      if ((k.rowZero < 0) != (k.colSum < 0))
        return bad("epilogue gives one of ROWZERO and COLSUM without the other");
      for (int x : {k.bias, k.residual, k.rowScale, k.colScale, k.rowZero, k.colSum})
        if (x != -1 && std::find(k.args.begin(), k.args.end(), x) == k.args.end())
          return bad("epilogue names a buffer the kernel does not take");
    } else if (kind == "blockscale") {
      if (b.kernels.empty())
        return bad("'blockscale' before any kernel");
      BundleKernel &k = b.kernels.back();
      int64_t bk = 0, bn = 0;
      if (!(ls >> bk >> bn) || bk < 1 || bn < 1 || bk > INT32_MAX || bn > INT32_MAX)
        return bad("bad 'blockscale': expected BK BN, two positive block sizes");
      if (k.rowScale < 0 || k.colScale < 0)
        return bad("'blockscale' on a kernel whose epilogue names no row and column scales");
      k.scaleBlock = {bk, bn};
    } else if (kind == "mask") {
      if (b.kernels.empty())
        return bad("'mask' before any kernel");
      BundleKernel &k = b.kernels.back();
      int64_t buf = -1, bm = 0, bn = 0;
      std::string fill;
      char *stop = nullptr;
      double f = 0;
      bool ok = static_cast<bool>(ls >> buf >> bm >> bn >> fill);
      if (ok)
        f = std::strtod(fill.c_str(), &stop);
      if (!ok || *stop || std::isnan(f) || buf < 0 || buf > INT32_MAX || bm < 1 || bn < 1 ||
          bm > INT32_MAX || bn > INT32_MAX)
        return bad("bad 'mask': expected BUFFER BM BN FILL (a buffer index, two positive "
                   "block sizes and a number)");
      if (std::find(k.args.begin(), k.args.end(), static_cast<int>(buf)) == k.args.end())
        return bad("'mask' names a buffer the kernel does not take");
      if (static_cast<size_t>(buf) < b.buffers.size() && b.buffers[buf].dtype != "i8")
        return bad("'mask' names a buffer of " + b.buffers[buf].dtype + ", not i8");
      k.blockMask = static_cast<int>(buf);
      k.maskBlock = {bm, bn};
      k.maskFill = f;
    } else if (kind == "weight") {
      if (b.kernels.empty())
        return bad("'weight' before any kernel");
      BundleKernel &k = b.kernels.back();
      BundleWeight &w = k.weight;
      std::string sign;
      if (!(ls >> w.bits >> sign >> w.granularity >> w.axis >> w.group >> w.kDim >> w.scale >>
            w.zero) ||
          ((w.bits < 2 || w.bits > 4) && w.bits != 8) || (sign != "signed" && sign != "unsigned") ||
          (w.granularity != "tensor" && w.granularity != "channel" && w.granularity != "group") ||
          w.axis < 0 || w.axis > 7 || w.kDim < 0 || w.kDim > 1 || w.group < 0 ||
          (w.granularity == "group") != (w.group > 0))
        return bad("bad weight (BITS signed|unsigned tensor|channel|group AXIS GROUP KDIM SCALE "
                   "ZERO)");
      w.isSigned = sign == "signed";
      for (int x : {w.scale, w.zero})
        if ((x != -1 || x == w.scale) &&
            std::find(k.args.begin(), k.args.end(), x) == k.args.end())
          return bad("weight names a buffer the kernel does not take");
      bool fits = k.op == "einsum"     ? k.operands.size() == 2
                  : k.op == "dequantize" ? k.operands.size() >= 2 && k.operands[1] == w.scale
                  : k.op == "quantize"   ? k.operands.size() == 1 && w.zero == -1 &&
                                             (w.granularity == "channel" ? w.axis == 0
                                                                         : w.bits == 8 &&
                                                                               w.granularity == "group") &&
                                             k.args.size() == 3 && k.args[2] == w.scale
                                         : false;
      if (!fits)
        return bad("a 'weight' line belongs to an einsum of two operands, a dequantize "
                   "(codes, scale[, zero point]) or a dynamic quantize (input; codes and "
                   "per-row or per-group scales)");
    } else if (kind == "sparse") {
      if (b.kernels.empty())
        return bad("'sparse' before any kernel");
      BundleKernel &k = b.kernels.back();
      BundleSparse &sp = k.sparse;
      bool ok = static_cast<bool>(ls >> sp.format >> sp.tileRows >> sp.tileCols >> sp.offsets);
      bool bitmap = sp.format == "bitmap", blocks = sp.format == "block_csr";
      if (ok && sp.hasIndex())
        ok = static_cast<bool>(ls >> sp.index) && sp.tileRows % 8 == 0 && sp.tileCols % 8 == 0;
      if (ok && blocks)
        ok = sp.tileRows == 64 && sp.tileCols == 64;
      if (!ok || (sp.format == "two_four" ? sp.tileRows != 0 || sp.tileCols != 0
                                           : (sp.format != "tiled_csl" && !bitmap && !blocks) ||
                                                 sp.tileRows <= 0 || sp.tileCols <= 0 ||
                                                 sp.tileRows * sp.tileCols > 65536))
        return bad("bad sparse (tiled_csl ROWS COLS OFFSETS, tiles of at most 65536 elements; "
                   "bitmap ROWS COLS OFFSETS MASKS, tiles of multiples of 8; block_csr 64 64 "
                   "ROWPTR COLIDX; or two_four 0 0 META)");
      for (int x : {sp.offsets, sp.index})
        if ((x != -1 || x == sp.offsets) &&
            std::find(k.args.begin(), k.args.end(), x) == k.args.end())
          return bad("sparse names an offsets (metadata, masks) buffer the kernel does not take");
      if (k.op != "einsum" || k.operands.size() != 2 || k.weight.present())
        return bad("a 'sparse' line belongs to an einsum of two operands without a quantized "
                   "weight");
    } else if (kind == "variant") {
      BundleVariant v;
      std::string order;
      std::vector<int64_t> o;
      if (!(ls >> v.lo >> v.hi >> order) || !parseInts(order, ',', o) || v.lo > v.hi || o.empty())
        return bad("bad variant (LO HI KERNELS)");
      for (int64_t x : o) {
        if (x < 0 || x >= static_cast<int64_t>(b.kernels.size()))
          return bad("variant names no kernel");
        v.launchOrder.push_back(static_cast<int>(x));
      }
      b.variants.push_back(v);
    } else if (kind == "launch") {
      std::string order;
      std::vector<int64_t> o;
      if (!(ls >> order) || !parseInts(order, ',', o))
        return bad("bad launch order");
      for (int64_t v : o) {
        if (v < 0 || v >= static_cast<int64_t>(b.kernels.size()))
          return bad("launch names no kernel");
        b.launchOrder.push_back(static_cast<int>(v));
      }
    } else if (kind == "image") {
      std::string which;
      size_t n;
      if (!(ls >> which >> n))
        return bad("bad image");
      if (which == "ptx")
        ptxSize = n;
      else if (which == "cubin") {
        cubinSize = n;
        sawCubin = true;
      } else
        return bad("unknown image kind");
    } else {
      return bad("unknown entry");
    }
  }
  if (!sawCubin || consumed + ptxSize + cubinSize != payloadSize) {
    err = "corrupt bundle: image sizes do not match the file";
    return false;
  }
  b.ptx.assign(payload + consumed, ptxSize);
  b.cubin.assign(payload + consumed + ptxSize, cubinSize);
  if (b.target.empty() || b.kernels.empty()) {
    err = "corrupt bundle manifest: no target or no kernels";
    return false;
  }
  for (const BundleKernel &k : b.kernels) {
    if (k.isCollective()) {
      std::string why = isSharded(b) ? checkCollective(b, k) : "a collective in a bundle without a mesh";
      if (why.empty() && (!k.tensorMaps.empty() || k.persistent || k.cluster > 1 || k.sized() ||
                          k.hasEpilogue() || k.weight.present() || k.sparse.present()))
        why = "collective '" + k.name + "' takes no kernel lines (tensormap, persistent, cluster, "
              "sized, epilogue, weight, sparse)";
      if (isDynamic(b) && why.empty())
        why = "a sharded bundle has static shapes";
      if (!why.empty()) {
        err = "corrupt bundle manifest: " + why;
        return false;
      }
      continue;
    }
    if (k.op.empty()) {
      err = "corrupt bundle manifest: kernel '" + k.name + "' has no 'computes' line";
      return false;
    }
    if (k.op == "quantize" && !k.weight.present()) {
      err = "corrupt bundle manifest: quantize kernel '" + k.name + "' has no 'weight' line";
      return false;
    }
  }
  if (isSharded(b) && isDynamic(b)) {
    err = "corrupt bundle manifest: a sharded bundle has static shapes";
    return false;
  }
  std::string why = checkDynamic(b);
  if (why.empty())
    why = checkViews(b);
  if (!why.empty()) {
    err = "corrupt bundle manifest: " + why;
    return false;
  }
  return true;
}
