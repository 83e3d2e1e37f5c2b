//===- CAPI.cpp - the C API over Session and the runtime ------------------===//
#include "einloom-c/Einloom.h"

#include "einloom/Reference/Kernels.h"
#include "einloom/Reference/Tensor.h"
#include "einloom/Session.h"
#include "einloom/runtime/Collectives.h"
#include "einloom/runtime/Runtime.h"

#include "Loom/EinsumSpec.h"

#include <cstring>
#include <fstream>
#include <map>
#include <iterator>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace einloom;

struct EinloomSessionImpl {
  std::unique_ptr<Session> session;
  bool lastCached = false;
};
struct EinloomBundleImpl {
  rt::Bundle bundle;
  /// einloomBundleBufferLayout's strings, per buffer asked about.
  std::map<size_t, std::string> layouts;
  /// einloomBundleBufferSharding's strings, likewise.
  std::map<size_t, std::string> shardings;
};
struct EinloomDeviceImpl {
  std::unique_ptr<rt::Device> device;
  int programs = 0;
};
struct EinloomProgramImpl {
  std::unique_ptr<rt::Program> program;
  EinloomDeviceImpl *device;
  /// A sharded program's per-axis communicators split from the world's.
  std::vector<std::unique_ptr<rt::Communicator>> axisComms;
};
struct EinloomCommunicatorImpl {
  rt::Communicator comm;
};

namespace {
thread_local std::string lastError;
thread_local std::string lastText; // einloomExplain*'s report

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

/// A packer's variable-length result: into `dest` (where given) if
/// `capacity` holds it, else an error naming what it takes ("the bitmap
/// data takes 16 values; ...").
template <typename T>
EinloomStatus deliver(const std::vector<T> &data, T *dest, size_t capacity, const char *what,
                      const char *unit) {
  if (!dest)
    return ok();
  if (capacity < data.size())
    return fail(EINLOOM_INVALID_ARGUMENT, std::string("the ") + what + " data takes " +
                                              std::to_string(data.size()) + " " + unit +
                                              "; the capacity given is " +
                                              std::to_string(capacity));
  std::copy(data.begin(), data.end(), dest);
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
int einloomApiVersion(void) { return 8; }
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

/// An einsum request from the C arguments (NULL: the default).
static EinsumRequest requestOf(const char *spec, const char *sizes, const char *dtype,
                               const char *acc, const char *out, const char *plan,
                               const char *blockMask) {
  EinsumRequest q{spec, sizes, dtype ? dtype : "f16", acc ? acc : "", out ? out : "", false,
                  plan ? plan : ""};
  q.blockMask = blockMask ? blockMask : "";
  return q;
}

EinloomStatus einloomCompileEinsumMasked(EinloomSession session, const char *spec,
                                         const char *sizes, const char *dtype, const char *acc,
                                         const char *out, const char *plan,
                                         const char *blockMask, EinloomBundle *bundle) {
  if (!live(session))
    return invalid("the session");
  if (!spec || !sizes || !bundle)
    return invalid(!spec ? "the spec" : !sizes ? "the sizes" : "the output pointer");
  *bundle = nullptr;
  EinsumRequest q = requestOf(spec, sizes, dtype, acc, out, plan, blockMask);
  CacheOutcome how = CacheOutcome::Compiled;
  return finishCompile(session, session->session->compileEinsum(q, &how), how, bundle);
}

EinloomStatus einloomCompileEinsumEx(EinloomSession session, const char *spec, const char *sizes,
                                     const char *dtype, const char *acc, const char *out,
                                     const char *plan, EinloomBundle *bundle) {
  return einloomCompileEinsumMasked(session, spec, sizes, dtype, acc, out, plan, nullptr, bundle);
}

EinloomStatus einloomExplainEinsum(EinloomSession session, const char *spec, const char *sizes,
                                   const char *dtype, const char *acc, const char *out,
                                   const char *plan, const char **text) {
  return einloomExplainEinsumMasked(session, spec, sizes, dtype, acc, out, plan, nullptr, text);
}

EinloomStatus einloomExplainEinsumMasked(EinloomSession session, const char *spec,
                                         const char *sizes, const char *dtype, const char *acc,
                                         const char *out, const char *plan,
                                         const char *blockMask, const char **text) {
  if (!live(session))
    return invalid("the session");
  if (!spec || !sizes || !text)
    return invalid(!spec ? "the spec" : !sizes ? "the sizes" : "the output pointer");
  EinsumRequest q = requestOf(spec, sizes, dtype, acc, out, plan, blockMask);
  llvm::Expected<std::string> r = session->session->explainEinsum(q);
  if (!r)
    return fromExpected(r);
  lastText = std::move(*r);
  *text = lastText.c_str();
  return ok();
}

EinloomStatus einloomExplainMLIR(EinloomSession session, const char *mlir, const char **text) {
  if (!live(session))
    return invalid("the session");
  if (!mlir || !text)
    return invalid(!mlir ? "the MLIR text" : "the output pointer");
  llvm::Expected<std::string> r = session->session->explainMLIR(mlir);
  if (!r)
    return fromExpected(r);
  lastText = std::move(*r);
  *text = lastText.c_str();
  return ok();
}

EinloomStatus einloomReferenceEinsum(const char *spec, size_t count, const char *const *dtypes,
                                     const size_t *ranks, const int64_t *const *shapes,
                                     const double *const *data, const char *outDtype,
                                     size_t outRank, const int64_t *outShape, int tf32,
                                     double *out) {
  if (!spec || (count && (!dtypes || !ranks || !shapes || !data)) || (outRank && !outShape) ||
      !out)
    return invalid("an argument");
  if (count == 0)
    return fail(EINLOOM_INVALID_ARGUMENT, "an einsum takes at least one operand");
  std::vector<ref::Tensor> tensors(count);
  std::vector<const ref::Tensor *> ins;
  std::vector<int64_t> rankList;
  for (size_t i = 0; i < count; ++i) {
    ref::DType t;
    if (!dtypes[i] || !ref::parseDType(dtypes[i], t))
      return fail(EINLOOM_INVALID_ARGUMENT, std::string("operand ") + std::to_string(i) +
                                                ": unknown element type '" +
                                                (dtypes[i] ? dtypes[i] : "(null)") + "'");
    if (ranks[i] && !shapes[i])
      return invalid("a shape");
    std::vector<int64_t> shape(shapes[i], shapes[i] + ranks[i]);
    double elems = 1;
    for (int64_t d : shape) {
      if (d < 0)
        return fail(EINLOOM_INVALID_ARGUMENT, "operand " + std::to_string(i) +
                                                  " has a negative extent");
      elems *= double(d);
    }
    if (elems * sizeof(double) * 2 > double(ref::usableMemoryBytes() ? ref::usableMemoryBytes()
                                                                     : uint64_t(1) << 62))
      return fail(EINLOOM_INVALID_ARGUMENT, "operand " + std::to_string(i) +
                                                " is too large for this process's memory");
    tensors[i] = ref::Tensor(t, shape);
    if (tensors[i].numel() && !data[i])
      return invalid("operand data");
    for (int64_t e = 0; e < tensors[i].numel(); ++e)
      tensors[i].data[e] = ref::isFloat(t) ? ref::roundTo(t, data[i][e]) : data[i][e];
    ins.push_back(&tensors[i]);
    rankList.push_back(static_cast<int64_t>(ranks[i]));
  }
  std::string err;
  llvm::FailureOr<mlir::loom::EinsumSpec> parsed = mlir::loom::EinsumSpec::parse(
      spec, rankList, [&](size_t pos, const llvm::Twine &msg) {
        err = "invalid einsum \"" + std::string(spec) + "\" at position " + std::to_string(pos) +
              ": " + msg.str();
      });
  if (llvm::failed(parsed))
    return fail(EINLOOM_INVALID_ARGUMENT, err);
  bool integer = !ref::isFloat(tensors[0].dtype);
  ref::DType resultType = integer ? ref::DType::I32 : tensors[0].dtype;
  if (outDtype && !ref::parseDType(outDtype, resultType))
    return fail(EINLOOM_INVALID_ARGUMENT, std::string("unknown result type '") + outDtype + "'");
  std::vector<std::string> subs(parsed->inputs.begin(), parsed->inputs.end());
  ref::EinsumOptions eo;
  eo.tf32 = tf32 != 0;
  eo.intAccBits = integer ? 32 : 0;
  ref::Tensor result;
  if (!ref::einsum(ins, subs, parsed->output, resultType, eo, result, err))
    return fail(EINLOOM_INVALID_ARGUMENT, err);
  if (result.shape.size() != outRank ||
      !std::equal(result.shape.begin(), result.shape.end(), outShape))
    return fail(EINLOOM_INVALID_ARGUMENT, "the result's shape is not the one given for `out`");
  std::copy(result.data.begin(), result.data.end(), out);
  return ok();
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

EinloomStatus einloomBundleBufferInfo(EinloomBundle bundle, size_t index, const char **name,
                                      const char **dtype, size_t *rank, const int64_t **shape) {
  if (!live(bundle))
    return invalid("the bundle");
  if (!name || !dtype || !rank || !shape)
    return invalid("an output pointer");
  if (index >= bundle->bundle.buffers.size())
    return fail(EINLOOM_INVALID_ARGUMENT, "buffer index " + std::to_string(index) +
                                              " is out of range (the bundle has " +
                                              std::to_string(bundle->bundle.buffers.size()) + ")");
  const rt::BundleBuffer &b = bundle->bundle.buffers[index];
  *name = b.name.c_str();
  *dtype = b.dtype.c_str();
  *rank = b.shape.size();
  *shape = b.shape.data();
  return ok();
}

EinloomStatus einloomBundleBufferLayout(EinloomBundle bundle, size_t index, const char **layout) {
  if (!live(bundle))
    return invalid("the bundle");
  if (!layout)
    return invalid("the output pointer");
  if (index >= bundle->bundle.buffers.size())
    return fail(EINLOOM_INVALID_ARGUMENT, "buffer index " + std::to_string(index) +
                                              " is out of range (the bundle has " +
                                              std::to_string(bundle->bundle.buffers.size()) + ")");
  *layout = "";
  for (const rt::BundleKernel &k : bundle->bundle.kernels) {
    if (k.op != "einsum" || k.operands.size() != 2)
      continue;
    if (k.weight.present() && k.operands[1] == static_cast<int>(index)) {
      bundle->layouts[index] = "a_fragment " + std::to_string(k.weight.bits) +
                               (k.weight.isSigned ? " signed" : " unsigned");
      *layout = bundle->layouts[index].c_str();
    }
    if (k.sparse.present() && k.operands[1] == static_cast<int>(index)) {
      bundle->layouts[index] = k.sparse.format == "two_four"
                                   ? k.sparse.format
                                   : k.sparse.format + " " + std::to_string(k.sparse.tileRows) +
                                         " " + std::to_string(k.sparse.tileCols);
      *layout = bundle->layouts[index].c_str();
    }
    if (k.sparse.present() && k.sparse.offsets == static_cast<int>(index))
      *layout = k.sparse.format == "two_four"    ? "two_four_meta"
                : k.sparse.format == "bitmap"    ? "bitmap_offsets"
                : k.sparse.format == "block_csr" ? "block_csr_row_ptr"
                                                 : "tiled_csl_offsets";
    if (k.sparse.present() && k.sparse.index == static_cast<int>(index))
      *layout = k.sparse.format == "bitmap" ? "bitmap_masks" : "block_csr_col_idx";
  }
  return ok();
}

EinloomStatus einloomPackWeight(const uint8_t *codes, int64_t n, int64_t k, int bits,
                                int isSigned, uint32_t *words) {
  if (!codes || !words)
    return invalid("a codes or words pointer");
  std::string err;
  if (!ref::packAFragmentWords(codes, n, k, static_cast<unsigned>(bits), isSigned != 0, words, err))
    return fail(EINLOOM_INVALID_ARGUMENT, err);
  return ok();
}

EinloomStatus einloomPackTiledCsl(const uint16_t *values, int64_t rows, int64_t cols,
                                  int64_t tileRows, int64_t tileCols, int32_t *offsets,
                                  uint32_t *words, size_t capacity, size_t *count) {
  if (!values || !count)
    return invalid("the values or count pointer");
  std::vector<int32_t> offs;
  std::vector<uint32_t> packed;
  std::string err;
  if (!ref::packTiledCslWords(values, rows, cols, tileRows, tileCols, offs, packed, err))
    return fail(EINLOOM_INVALID_ARGUMENT, err);
  *count = packed.size();
  if (offsets)
    std::copy(offs.begin(), offs.end(), offsets);
  return deliver(packed, words, capacity, "Tiled-CSL", "words");
}

EinloomStatus einloomPackTwoFour(const uint16_t *values, int64_t rows, int64_t cols, int prune,
                                 uint16_t *packed, uint16_t *meta) {
  if (!values || !packed || !meta)
    return invalid("the values, packed or meta pointer");
  if (rows <= 0 || cols <= 0 || rows > (int64_t(1) << 40) / std::max<int64_t>(cols, 1))
    return fail(EINLOOM_INVALID_ARGUMENT, "a 2:4 weight is a non-empty rows x cols matrix, not " +
                                              std::to_string(rows) + " x " + std::to_string(cols));
  // Packed aside first, so that an error writes nothing.
  std::vector<uint16_t> p(static_cast<size_t>(rows * (cols / 2))),
      m(static_cast<size_t>(rows * (cols / 16)));
  std::string err;
  if (!ref::packTwoFourBits(values, rows, cols, prune != 0, p.data(), m.data(), err))
    return fail(EINLOOM_INVALID_ARGUMENT, err);
  std::copy(p.begin(), p.end(), packed);
  std::copy(m.begin(), m.end(), meta);
  return ok();
}

EinloomStatus einloomPackBitmap(const uint16_t *values, int64_t rows, int64_t cols,
                                int64_t tileRows, int64_t tileCols, int32_t *offsets,
                                uint32_t *masks, uint16_t *packed, size_t capacity,
                                size_t *count) {
  if (!values || !count)
    return invalid("the values or count pointer");
  std::vector<int32_t> offs;
  std::vector<uint32_t> m;
  std::vector<uint16_t> p;
  std::string err;
  if (!ref::packBitmap(values, rows, cols, tileRows, tileCols, offs, m, p, err))
    return fail(EINLOOM_INVALID_ARGUMENT, err);
  *count = p.size();
  if (offsets)
    std::copy(offs.begin(), offs.end(), offsets);
  if (masks)
    std::copy(m.begin(), m.end(), masks);
  return deliver(p, packed, capacity, "bitmap", "values");
}

EinloomStatus einloomPackBlockCsr(const uint16_t *values, int64_t rows, int64_t cols,
                                  int32_t *rowPtr, int32_t *colIdx, uint16_t *blocks,
                                  size_t capacity, size_t *count) {
  if (!values || !count)
    return invalid("the values or count pointer");
  if (rows <= 0 || cols <= 0 || rows % 64 || cols % 64 || rows / 64 * (cols / 64) > INT32_MAX)
    return fail(EINLOOM_INVALID_ARGUMENT,
                "block_csr packs a non-empty matrix of 64 x 64 blocks (rows and cols multiples "
                "of 64), not " + std::to_string(rows) + " x " + std::to_string(cols));
  std::vector<int32_t> ptr, idx;
  for (int64_t i = 0; i < rows / 64; ++i) {
    ptr.push_back(static_cast<int32_t>(idx.size()));
    for (int64_t j = 0; j < cols / 64; ++j) {
      bool any = false;
      for (int64_t r = 0; r < 64 && !any; ++r)
        for (int64_t c = 0; c < 64 && !any; ++c)
          any = (values[(i * 64 + r) * cols + j * 64 + c] & 0x7fffu) != 0;
      if (any)
        idx.push_back(static_cast<int32_t>(j));
    }
  }
  ptr.push_back(static_cast<int32_t>(idx.size()));
  *count = idx.size();
  if (rowPtr)
    std::copy(ptr.begin(), ptr.end(), rowPtr);
  if (!blocks)
    return ok();
  if (capacity < idx.size())
    return fail(EINLOOM_INVALID_ARGUMENT, "the block_csr data takes " +
                                              std::to_string(idx.size()) +
                                              " blocks; the capacity given is " +
                                              std::to_string(capacity));
  if (!colIdx)
    return invalid("the column indices pointer");
  std::copy(idx.begin(), idx.end(), colIdx);
  size_t s = 0;
  for (int64_t i = 0; i < rows / 64; ++i)
    for (int32_t at = ptr[i]; at < ptr[i + 1]; ++at, ++s)
      for (int64_t r = 0; r < 64; ++r)
        std::copy_n(values + (i * 64 + r) * cols + int64_t(idx[at]) * 64, 64,
                    blocks + s * 4096 + r * 64);
  return ok();
}

EinloomStatus einloomCheckBitmap(const int32_t *offsets, size_t numOffsets,
                                 const uint32_t *masks, size_t numMasks, size_t numValues,
                                 int64_t rows, int64_t cols, int64_t tileRows, int64_t tileCols) {
  if (!offsets || (!masks && numMasks))
    return invalid("the offsets or masks pointer");
  std::string err;
  if (!ref::validateBitmap(offsets, static_cast<int64_t>(numOffsets), masks,
                           static_cast<int64_t>(numMasks), static_cast<int64_t>(numValues), rows,
                           cols, tileRows, tileCols, err))
    return fail(EINLOOM_INVALID_ARGUMENT, err);
  return ok();
}

EinloomStatus einloomCheckTiledCsl(const int32_t *offsets, size_t numOffsets,
                                   const uint32_t *words, size_t numWords, int64_t rows,
                                   int64_t cols, int64_t tileRows, int64_t tileCols) {
  if (!offsets || (!words && numWords))
    return invalid("the offsets or words pointer");
  std::string err;
  if (!ref::validateTiledCsl(offsets, static_cast<int64_t>(numOffsets), words,
                             static_cast<int64_t>(numWords), rows, cols, tileRows, tileCols, err))
    return fail(EINLOOM_INVALID_ARGUMENT, err);
  return ok();
}

EinloomStatus einloomBundleNumKernels(EinloomBundle bundle, size_t *count) {
  if (!live(bundle))
    return invalid("the bundle");
  if (!count)
    return invalid("the output pointer");
  *count = bundle->bundle.kernels.size();
  return ok();
}

EinloomStatus einloomBundleKernelInfo(EinloomBundle bundle, size_t index, const char **op,
                                      const char **spec, int64_t *flops) {
  if (!live(bundle))
    return invalid("the bundle");
  if (!op || !spec || !flops)
    return invalid("an output pointer");
  if (index >= bundle->bundle.kernels.size())
    return fail(EINLOOM_INVALID_ARGUMENT, "kernel index " + std::to_string(index) +
                                              " is out of range (the bundle has " +
                                              std::to_string(bundle->bundle.kernels.size()) + ")");
  const rt::BundleKernel &k = bundle->bundle.kernels[index];
  *op = k.op.c_str();
  *spec = k.spec.c_str();
  *flops = k.flops;
  return ok();
}

EinloomStatus einloomBundlePtx(EinloomBundle bundle, const char **ptx) {
  if (!live(bundle))
    return invalid("the bundle");
  if (!ptx)
    return invalid("the output pointer");
  *ptx = bundle->bundle.ptx.c_str();
  return ok();
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

EinloomStatus einloomBundleMeshAxes(EinloomBundle bundle, size_t *count) {
  if (!live(bundle))
    return invalid("the bundle");
  if (!count)
    return invalid("the output pointer");
  *count = bundle->bundle.mesh.size();
  return ok();
}

EinloomStatus einloomBundleMeshAxis(EinloomBundle bundle, size_t axis, const char **name,
                                    int64_t *size) {
  if (!live(bundle))
    return invalid("the bundle");
  if (!name || !size)
    return invalid("the output pointers");
  const std::vector<rt::BundleMeshAxis> &mesh = bundle->bundle.mesh;
  if (axis >= mesh.size())
    return fail(EINLOOM_INVALID_ARGUMENT, "mesh axis " + std::to_string(axis) +
                                              " is out of range (the bundle's mesh has " +
                                              std::to_string(mesh.size()) + ")");
  *name = mesh[axis].name.c_str();
  *size = mesh[axis].size;
  return ok();
}

EinloomStatus einloomBundleBufferSharding(EinloomBundle bundle, size_t index,
                                          const char **sharding) {
  if (!live(bundle))
    return invalid("the bundle");
  if (!sharding)
    return invalid("the output pointer");
  if (index >= bundle->bundle.buffers.size())
    return fail(EINLOOM_INVALID_ARGUMENT, "buffer index " + std::to_string(index) +
                                              " is out of range (the bundle has " +
                                              std::to_string(bundle->bundle.buffers.size()) + ")");
  std::string text;
  for (const std::string &a : bundle->bundle.buffers[index].sharding)
    text += (text.empty() ? "" : ",") + (a.empty() ? std::string("-") : a);
  bundle->shardings[index] = text;
  *sharding = bundle->shardings[index].c_str();
  return ok();
}

EinloomStatus einloomNcclUniqueId(unsigned char id[128]) {
  if (!id)
    return invalid("the id buffer");
  rt::nccl::UniqueId u;
  if (rt::Status s = rt::newUniqueId(u); !s)
    return fromStatus(s);
  std::memcpy(id, u.internal, sizeof u.internal);
  return ok();
}

EinloomStatus einloomCommunicatorCreate(const unsigned char id[128], int ranks, int rank,
                                        EinloomCommunicator *out) {
  if (!id || !out)
    return invalid("the id or the output pointer");
  const rt::NcclTable *t = nullptr;
  if (rt::Status s = rt::loadNccl(t); !s)
    return fromStatus(s);
  rt::nccl::UniqueId u;
  std::memcpy(u.internal, id, sizeof u.internal);
  auto c = std::make_unique<EinloomCommunicatorImpl>();
  if (rt::Status s = rt::Communicator::create(*t, u, ranks, rank, c->comm); !s)
    return fromStatus(s);
  *out = c.release();
  track(*out);
  return ok();
}

EinloomStatus einloomCommunicatorWrap(void *ncclComm, EinloomCommunicator *out) {
  if (!ncclComm || !out)
    return invalid("the NCCL communicator or the output pointer");
  const rt::NcclTable *t = nullptr;
  if (rt::Status s = rt::loadNccl(t); !s)
    return fromStatus(s);
  auto c = std::make_unique<EinloomCommunicatorImpl>();
  if (rt::Status s = rt::Communicator::wrap(*t, ncclComm, 0, c->comm); !s)
    return fromStatus(s);
  *out = c.release();
  track(*out);
  return ok();
}

EinloomStatus einloomCommunicatorInfo(EinloomCommunicator comm, int *ranks, int *rank) {
  if (!live(comm))
    return invalid("the communicator");
  if (!ranks || !rank)
    return invalid("the output pointers");
  *ranks = comm->comm.size();
  *rank = comm->comm.rank();
  return ok();
}

EinloomStatus einloomCommunicatorDestroy(EinloomCommunicator comm) {
  if (!untrack(comm))
    return invalid("the communicator");
  delete comm;
  return ok();
}

EinloomStatus einloomProgramUseCommunicator(EinloomProgram program, EinloomCommunicator world) {
  if (!live(program))
    return invalid("the program");
  if (!live(world))
    return invalid("the communicator");
  std::vector<std::unique_ptr<rt::Communicator>> owned;
  std::vector<rt::Communicator *> perAxis;
  if (rt::Status s =
          rt::meshCommunicators(world->comm, program->program->bundle().mesh, owned, perAxis);
      !s)
    return fromStatus(s);
  if (rt::Status s = program->program->useCommunicators(perAxis); !s)
    return fromStatus(s);
  program->axisComms = std::move(owned);
  return ok();
}

EinloomStatus einloomProgramFinish(EinloomProgram program, void *stream, int timeoutMs) {
  if (!live(program))
    return invalid("the program");
  if (timeoutMs <= 0)
    return fail(EINLOOM_INVALID_ARGUMENT, "the timeout must be positive milliseconds");
  return fromStatus(program->program->finish(stream, timeoutMs));
}

EinloomStatus einloomProgramDestroy(EinloomProgram program) {
  if (!untrack(program))
    return invalid("the program");
  --program->device->programs;
  delete program;
  return ok();
}

} // extern "C"
