//===- Import.cpp - AWQ and GPTQ checkpoints into Einloom's layout --------===//
#include "einloom/Import.h"

#include "einloom/Reference/Kernels.h"
#include "einloom/Reference/Npy.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

using namespace einloom;
using llvm::createStringError;

namespace {
llvm::Error fail(const std::string &path, const llvm::Twine &what) {
  return createStringError(llvm::inconvertibleErrorCode(), path + ": " + what.str());
}

int64_t dtypeBytes(const std::string &d) {
  if (d == "I8" || d == "U8" || d == "BOOL")
    return 1;
  if (d == "I16" || d == "U16" || d == "F16" || d == "BF16")
    return 2;
  if (d == "I32" || d == "U32" || d == "F32")
    return 4;
  if (d == "I64" || d == "U64" || d == "F64")
    return 8;
  return 0;
}
} // namespace

llvm::Expected<SafetensorsFile> einloom::readSafetensors(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return fail(path, "cannot read: " + buf.getError().message());
  llvm::StringRef bytes = (*buf)->getBuffer();
  if (bytes.size() < 8)
    return fail(path, "truncated: " + llvm::Twine(bytes.size()) +
                          " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = n << 8 | static_cast<unsigned char>(bytes[i]);
  if (n > bytes.size() - 8)
    return fail(path, "truncated: the header says " + llvm::Twine(n) + " bytes of JSON, the file has " +
                          llvm::Twine(bytes.size() - 8) + " after the length");
  llvm::Expected<llvm::json::Value> json = llvm::json::parse(bytes.substr(8, n));
  if (!json)
    return fail(path, "the header is not valid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *top = json->getAsObject();
  if (!top)
    return fail(path, "the header is not a JSON object");
  SafetensorsFile f;
  f.path = path;
  f.data = bytes.substr(8 + n).str();
  for (const auto &[key, value] : *top) {
    std::string name = key.str();
    const llvm::json::Object *o = value.getAsObject();
    if (!o)
      return fail(path, "entry '" + name + "' is not an object");
    if (name == "__metadata__") {
      for (const auto &[mk, mv] : *o)
        if (auto s = mv.getAsString())
          f.metadata[mk.str()] = s->str();
      continue;
    }
    SafetensorsFile::Entry e;
    auto dtype = o->getString("dtype");
    const llvm::json::Array *shape = o->getArray("shape");
    const llvm::json::Array *offsets = o->getArray("data_offsets");
    if (!dtype || !shape || !offsets || offsets->size() != 2)
      return fail(path, "tensor '" + name + "' lacks dtype, shape or data_offsets [begin, end]");
    e.dtype = dtype->str();
    int64_t eb = dtypeBytes(e.dtype);
    if (!eb)
      return fail(path, "tensor '" + name + "' has unknown dtype '" + e.dtype + "'");
    int64_t elems = 1;
    for (const llvm::json::Value &d : *shape) {
      std::optional<int64_t> v = d.getAsInteger();
      if (!v || *v < 0 || (*v > 0 && elems > (int64_t(1) << 40) / *v))
        return fail(path, "tensor '" + name + "' has a bad shape");
      e.shape.push_back(*v);
      elems *= *v;
    }
    std::optional<int64_t> b = (*offsets)[0].getAsInteger(), en = (*offsets)[1].getAsInteger();
    if (!b || !en || *b < 0 || *en < *b || uint64_t(*en) > f.data.size())
      return fail(path, "tensor '" + name + "' has data_offsets outside the " +
                            llvm::Twine(f.data.size()) + " bytes of data (truncated file?)");
    e.begin = *b;
    e.end = *en;
    if (int64_t(e.end - e.begin) != elems * eb)
      return fail(path, "tensor '" + name + "' holds " + llvm::Twine(e.end - e.begin) +
                            " bytes; its dtype and shape need " + llvm::Twine(elems * eb));
    f.tensors[name] = e;
  }
  // No two tensors share bytes.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto &[name, e] : f.tensors)
    if (e.end > e.begin)
      ranges.push_back({e.begin, e.end});
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      return fail(path, "two tensors overlap in the data");
  return f;
}

llvm::Expected<ref::Tensor> einloom::safetensorsTensor(const SafetensorsFile &f,
                                                       const std::string &name) {
  auto it = f.tensors.find(name);
  if (it == f.tensors.end())
    return fail(f.path, "no tensor '" + name + "'");
  const SafetensorsFile::Entry &e = it->second;
  const std::string &d = e.dtype;
  ref::DType t = d == "F16" ? ref::DType::F16
                 : d == "BF16" ? ref::DType::BF16
                 : d == "F32" ? ref::DType::F32
                 : d == "F64" ? ref::DType::F64
                 : d == "I8" || d == "U8" ? ref::DType::I16
                 : d == "I16" || d == "U16" ? ref::DType::I32
                                            : ref::DType::I64;
  ref::Tensor out(t, e.shape);
  int64_t eb = dtypeBytes(d);
  const char *p = f.data.data() + e.begin;
  for (int64_t i = 0; i < out.numel(); ++i) {
    uint64_t bits = 0;
    std::memcpy(&bits, p + i * eb, eb); // little-endian
    double v;
    if (d == "F16" || d == "BF16")
      v = ref::floatFromBits(t, static_cast<uint32_t>(bits));
    else if (d == "F32") {
      float x;
      uint32_t u = static_cast<uint32_t>(bits);
      std::memcpy(&x, &u, 4);
      v = x;
    } else if (d == "F64") {
      std::memcpy(&v, &bits, 8);
    } else if (d[0] == 'U' || d == "BOOL") {
      v = static_cast<double>(bits);
    } else { // signed: sign-extend from eb bytes
      int shift = 64 - 8 * static_cast<int>(eb);
      v = static_cast<double>(static_cast<int64_t>(bits << shift) >> shift);
    }
    out.data[i] = v;
  }
  return out;
}

namespace {
/// Value `i` of a run of 32-bit words (stored as signed int32) read as one
/// little-endian bit stream, `bits` bits a value (GPTQ's packing: 3-bit
/// values cross word boundaries); `wordAt(j)` is the run's word j.
template <typename W> int64_t streamField(W wordAt, int64_t i, unsigned bits) {
  int64_t bit = i * bits, j = bit / 32, at = bit % 32;
  uint64_t two = static_cast<uint32_t>(static_cast<int64_t>(wordAt(j)));
  if (at + bits > 32)
    two |= uint64_t(static_cast<uint32_t>(static_cast<int64_t>(wordAt(j + 1)))) << 32;
  return static_cast<int64_t>((two >> at) & ((uint64_t(1) << bits) - 1));
}
} // namespace

llvm::Expected<ImportedWeight> einloom::importLinear(const SafetensorsFile &f,
                                                     const ImportOptions &o) {
  const std::string &p = o.prefix;
  bool awq = o.format == CheckpointFormat::AwqGemm;
  if (!ref::isAFragmentWidth(o.bits))
    return fail(f.path, llvm::Twine(o.bits) + "-bit codes: the import takes 2, 3, 4 or 8 bits");
  if (awq && o.bits != 4)
    return fail(f.path, "AutoAWQ checkpoints are 4-bit; asked for " + llvm::Twine(o.bits));
  auto qweight = safetensorsTensor(f, p + "qweight");
  if (!qweight)
    return qweight.takeError();
  auto qzeros = safetensorsTensor(f, p + "qzeros");
  if (!qzeros)
    return qzeros.takeError();
  auto scales = safetensorsTensor(f, p + "scales");
  if (!scales)
    return scales.takeError();
  for (const char *n : {"qweight", "qzeros"})
    if (f.tensors.at(p + n).dtype != "I32")
      return fail(f.path, p + n + " is " + f.tensors.at(p + n).dtype + ", not I32 packed words");
  if (scales->shape.size() != 2 || qweight->shape.size() != 2 || qzeros->shape.size() != 2)
    return fail(f.path, "qweight, qzeros and scales must be matrices");
  // GPTQ packs K (qweight) and N (qzeros) as bit streams of 32-bit
  // words: 32 / bits values a word, or 32 values in three for 3 bits.
  int64_t groups = scales->shape[0], N = scales->shape[1];
  auto valuesIn = [&](int64_t words) { return words * 32 / o.bits; };
  if (!awq && (qweight->shape[0] * 32) % o.bits)
    return fail(f.path, "qweight has " + llvm::Twine(qweight->shape[0]) + " rows: " +
                            llvm::Twine(o.bits) + "-bit values fill whole groups of " +
                            llvm::Twine(o.bits) + " words");
  int64_t K = awq ? qweight->shape[0] : valuesIn(qweight->shape[0]);
  if (awq ? qweight->shape[1] * 8 != N : qweight->shape[1] != N)
    return fail(f.path, "qweight " + llvm::Twine(qweight->shape[0]) + "x" +
                            llvm::Twine(qweight->shape[1]) + " does not match scales " +
                            llvm::Twine(groups) + "x" + llvm::Twine(N) +
                            (awq ? " (AutoAWQ's \"gemm\" version packs [K, N/8]; the \"gemv\" "
                                   "version is not supported)"
                                 : " (GPTQ packs [K*bits/32, N])"));
  int64_t G = o.groupSize > 0 ? o.groupSize : K;
  if (K % G || K / G != groups)
    return fail(f.path, "scales have " + llvm::Twine(groups) + " groups; K = " + llvm::Twine(K) +
                            " in groups of " + llvm::Twine(G) + " needs " +
                            llvm::Twine(K % G ? -1 : K / G));
  if (qzeros->shape[0] != groups ||
      (awq ? qzeros->shape[1] * 8 : valuesIn(qzeros->shape[1])) != N ||
      (qzeros->shape[1] * 32) % o.bits)
    return fail(f.path, "qzeros " + llvm::Twine(qzeros->shape[0]) + "x" +
                            llvm::Twine(qzeros->shape[1]) + " does not match " +
                            llvm::Twine(groups) + " groups of " + llvm::Twine(N) + " columns");
  ImportedWeight w;
  w.bits = o.bits;
  w.groupSize = G;
  w.codes = ref::Tensor(ref::DType::I16, {N, K});
  w.scales = ref::Tensor(scales->dtype, {N, groups});
  w.zeros = ref::Tensor(o.bits == 8 ? ref::DType::I16 : ref::DType::I8, {N, groups});
  // AWQ packs N: a row's words are one stream of its N values, column n
  // at nibble awqNibble[n % 8] of word n / 8 (the inverse of AutoAWQ's
  // order 0, 2, 4, 6, 1, 3, 5, 7).
  static const int awqNibble[8] = {0, 4, 1, 5, 2, 6, 3, 7};
  auto awqAt = [&](int64_t n) { return 8 * (n / 8) + awqNibble[n % 8]; };
  int64_t cols = qweight->shape[1];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      // AWQ: row k's stream; GPTQ: column n's words down the rows.
      w.codes.data[n * K + k] = static_cast<double>(
          awq ? streamField([&](int64_t j) { return qweight->data[k * cols + j]; }, awqAt(n), 4)
              : streamField([&](int64_t j) { return qweight->data[j * cols + n]; }, k, o.bits));
  int64_t zcols = qzeros->shape[1];
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t n = 0; n < N; ++n) {
      // Row g's words are one stream of N values (AWQ's interleaved).
      int64_t z = streamField([&](int64_t j) { return qzeros->data[g * zcols + j]; },
                              awq ? awqAt(n) : n, o.bits);
      // GPTQ v1 stores z - 1 (wrapping within the field).
      if (o.format == CheckpointFormat::GptqV1)
        z = (z + 1) & ((int64_t(1) << o.bits) - 1);
      w.zeros.data[n * groups + g] = static_cast<double>(z);
    }
    for (int64_t n = 0; n < N; ++n)
      w.scales.data[n * groups + g] = scales->data[g * N + n];
  }
  // Act-order: g_idx gives each input channel's group. Where it is not
  // k / G, K is reordered so that groups are contiguous; the activations
  // take the same order.
  if (!awq && f.tensors.count(p + "g_idx")) {
    auto gidx = safetensorsTensor(f, p + "g_idx");
    if (!gidx)
      return gidx.takeError();
    if (gidx->numel() != K)
      return fail(f.path, "g_idx has " + llvm::Twine(gidx->numel()) + " entries; K = " +
                              llvm::Twine(K));
    bool ordered = true;
    for (int64_t k = 0; k < K; ++k) {
      double g = gidx->data[k];
      if (g < 0 || g >= groups)
        return fail(f.path, "g_idx[" + llvm::Twine(k) + "] = " + llvm::Twine(int64_t(g)) +
                                " names no group");
      ordered = ordered && int64_t(g) == k / G;
    }
    if (!ordered) {
      w.perm.resize(K);
      std::iota(w.perm.begin(), w.perm.end(), 0);
      std::stable_sort(w.perm.begin(), w.perm.end(),
                       [&](int64_t a, int64_t b) { return gidx->data[a] < gidx->data[b]; });
      for (int64_t j = 0; j < K; ++j)
        if (int64_t(gidx->data[w.perm[j]]) != j / G)
          return fail(f.path, "g_idx does not put " + llvm::Twine(G) +
                                  " input channels in every group");
      ref::Tensor sorted(w.codes.dtype, w.codes.shape);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t j = 0; j < K; ++j)
          sorted.data[n * K + j] = w.codes.data[n * K + w.perm[j]];
      w.codes = std::move(sorted);
    }
  }
  return w;
}

llvm::Error einloom::writeEinloomWeight(const ImportedWeight &w, const std::string &dir,
                                        const std::string &name) {
  ref::PackParams pp;
  pp.format = ref::PackFormat::AFragment;
  pp.bits = w.bits;
  pp.kind = ref::QuantKind::Unsigned;
  std::vector<ref::Tensor> packed;
  std::string err;
  ref::Tensor codes = w.codes;
  codes.dtype = w.bits == 8 ? ref::DType::I16 : ref::DType::I8;
  if (!ref::pack(codes, pp, packed, err))
    return createStringError(llvm::inconvertibleErrorCode(), "packing the codes: " + err);
  std::string base = dir + "/" + name;
  for (auto [suffix, t] : {std::pair<const char *, const ref::Tensor *>{".codes.npy", &packed[0]},
                           {".scales.npy", &w.scales},
                           {".zeros.npy", &w.zeros}})
    if (!ref::writeNpy(base + suffix, *t, err))
      return createStringError(llvm::inconvertibleErrorCode(), err);
  if (!w.perm.empty()) {
    ref::Tensor perm(ref::DType::I64, {static_cast<int64_t>(w.perm.size())});
    for (size_t i = 0; i < w.perm.size(); ++i)
      perm.data[i] = static_cast<double>(w.perm[i]);
    if (!ref::writeNpy(base + ".perm.npy", perm, err))
      return createStringError(llvm::inconvertibleErrorCode(), err);
  }
  return llvm::Error::success();
}

llvm::Expected<einloom::SparseImport> einloom::importSparse(ref::Tensor dense,
                                                          const SparseImportOptions &o) {
  auto bad = [](const llvm::Twine &why) {
    return createStringError(llvm::inconvertibleErrorCode(), why);
  };
  if (dense.shape.size() != 2 || dense.numel() == 0)
    return bad("a sparse weight is a non-empty N x K matrix, not rank " +
               llvm::Twine(dense.shape.size()));
  bool sixteen = dense.dtype == ref::DType::F16 || dense.dtype == ref::DType::BF16;
  bool isFloat = sixteen || dense.dtype == ref::DType::F32 || dense.dtype == ref::DType::F64;
  if (!isFloat)
    return bad(llvm::Twine("a sparse weight holds floats; this one holds ") +
               ref::dtypeName(dense.dtype));
  SparseImport w;
  w.type = o.type ? *o.type : dense.dtype;
  if (w.type != ref::DType::F16 && w.type != ref::DType::BF16)
    return bad(llvm::Twine("the sparse kernels read f16 or bf16; give --dtype f16 or bf16 for "
                           "this ") +
               ref::dtypeName(dense.dtype) + " weight");
  bool twoFour = o.format == ref::PackFormat::TwoFour;
  bool blocks = o.format == ref::PackFormat::BlockCsr;
  if (!twoFour && !blocks && o.format != ref::PackFormat::TiledCsl &&
      o.format != ref::PackFormat::Bitmap)
    return bad("a sparse import writes tiled_csl, bitmap, block_csr or two_four");
  if (!twoFour && ((o.tileRows != 64 && o.tileRows != 128) || o.tileCols != 64))
    return bad("the sparse kernels read tiles of 64 or 128 rows by 64 columns");
  if (blocks && o.tileRows != 64)
    return bad("block_csr stores blocks of 64 x 64");
  if (blocks && (dense.shape[0] % 64 || dense.shape[1] % 64))
    return bad("block_csr needs N and K multiples of 64 (N = " + llvm::Twine(dense.shape[0]) +
               ", K = " + llvm::Twine(dense.shape[1]) + ")");
  if (o.sparsity >= 1 || (o.sparsity >= 0 && !(o.sparsity == o.sparsity)))
    return bad("--sparsity is a fraction below 1 (0.8 keeps a fifth of each row)");
  if (twoFour && o.sparsity >= 0 && o.sparsity != 0.5)
    return bad("two_four keeps 2 of every 4 along K: --sparsity is 0.5 (prune each group of "
               "4 to its 2 largest magnitudes) or absent (the weight is already 2:4)");
  w.format = o.format;
  w.rows = dense.shape[0];
  w.cols = dense.shape[1];
  if (twoFour && w.cols % 16)
    return bad("two_four needs K % 16 == 0 (K = " + llvm::Twine(w.cols) + ")");
  for (double &v : dense.data)
    v = ref::roundTo(w.type, v);
  if (twoFour) {
    // Pruned (when asked) and packed from the bits, as einloomPackTwoFour does.
    std::vector<uint16_t> bits(dense.data.size()), values(bits.size() / 2),
        meta(bits.size() / 16);
    for (size_t i = 0; i < bits.size(); ++i)
      bits[i] = static_cast<uint16_t>(ref::floatBits(w.type, dense.data[i]));
    std::string err;
    if (!ref::packTwoFourBits(bits.data(), w.rows, w.cols, o.sparsity == 0.5, values.data(),
                              meta.data(), err))
      return bad("packing the weight: " + err + " (give --sparsity 0.5 to prune it to 2:4)");
    w.values = ref::Tensor(w.type, {w.rows, w.cols / 2});
    for (size_t i = 0; i < values.size(); ++i) {
      w.values.data[i] = ref::floatFromBits(w.type, values[i]);
      w.nonZeros += (values[i] & 0x7fffu) != 0;
    }
    w.meta = ref::Tensor(ref::DType::I16, {w.rows, w.cols / 16});
    for (size_t i = 0; i < meta.size(); ++i)
      w.meta.data[i] = static_cast<int16_t>(meta[i]);
    return w;
  }
  if (blocks && o.sparsity >= 0) {
    // Each block row keeps its round(K / 64 * (1 - sparsity)) blocks of the
    // largest sum of squares (ties: the first); the others become zeros.
    int64_t perRow = w.cols / 64;
    int64_t keep = static_cast<int64_t>(std::llround(perRow * (1 - o.sparsity)));
    std::vector<int64_t> order(perRow);
    std::vector<double> energy(perRow);
    for (int64_t i = 0; i < w.rows / 64; ++i) {
      for (int64_t j = 0; j < perRow; ++j) {
        energy[j] = 0;
        for (int64_t r = 0; r < 64; ++r)
          for (int64_t c = 0; c < 64; ++c) {
            double v = dense.data[(i * 64 + r) * w.cols + j * 64 + c];
            energy[j] += v * v;
          }
      }
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t a, int64_t b) { return energy[a] > energy[b]; });
      for (int64_t n = keep; n < perRow; ++n)
        for (int64_t r = 0; r < 64; ++r)
          std::fill_n(dense.data.begin() + (i * 64 + r) * w.cols + order[n] * 64, 64, 0.0);
    }
  } else if (o.sparsity >= 0) {
    int64_t keep = static_cast<int64_t>(std::llround(w.cols * (1 - o.sparsity)));
    std::vector<int64_t> order(w.cols);
    for (int64_t r = 0; r < w.rows; ++r) {
      double *row = dense.data.data() + r * w.cols;
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t a, int64_t b) { return std::fabs(row[a]) > std::fabs(row[b]); });
      for (int64_t i = keep; i < w.cols; ++i)
        row[order[i]] = 0;
    }
  }
  dense.dtype = w.type;
  for (double v : dense.data)
    w.nonZeros += v != 0;
  ref::PackParams pp;
  pp.format = o.format;
  pp.tileRows = o.tileRows;
  pp.tileCols = o.tileCols;
  std::vector<ref::Tensor> packed;
  std::string err;
  if (!ref::pack(dense, pp, packed, err))
    return bad("packing the weight: " + err);
  if (o.format == ref::PackFormat::Bitmap || blocks) {
    // bitmap: offsets, masks, values; block_csr: row pointers, column
    // indices, blocks.
    w.offsets = std::move(packed[0]);
    w.masks = std::move(packed[1]);
    w.values = std::move(packed[2]);
  } else {
    w.offsets = std::move(packed[0]);
    w.words = std::move(packed[1]);
  }
  return w;
}

llvm::Error einloom::writeSparseWeight(const SparseImport &w, const std::string &dir,
                                       const std::string &name) {
  std::string err, base = dir + "/" + name;
  std::vector<std::pair<const char *, const ref::Tensor *>> files;
  if (w.format == ref::PackFormat::TwoFour)
    files = {{".values.npy", &w.values}, {".meta.npy", &w.meta}};
  else if (w.format == ref::PackFormat::Bitmap)
    files = {{".offsets.npy", &w.offsets}, {".masks.npy", &w.masks}, {".values.npy", &w.values}};
  else if (w.format == ref::PackFormat::BlockCsr)
    files = {{".row_ptr.npy", &w.offsets}, {".col_idx.npy", &w.masks}, {".blocks.npy", &w.values}};
  else
    files = {{".words.npy", &w.words}, {".offsets.npy", &w.offsets}};
  for (auto [suffix, t] : files)
    if (!ref::writeNpy(base + suffix, *t, err))
      return createStringError(llvm::inconvertibleErrorCode(), err);
  return llvm::Error::success();
}
