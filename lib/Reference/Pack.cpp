//===- Pack.cpp - reference storage layouts -------------------------------===//
//
// Every layout here is defined bit by bit in docs/dialect.md. 32-bit words
// are held as their two's-complement int32 value.
//
//===----------------------------------------------------------------------===//
#include "einloom/Reference/Kernels.h"

#include <algorithm>
#include <climits>
#include <cmath>

using namespace einloom::ref;

static double asInt32(uint32_t w) { return static_cast<double>(static_cast<int32_t>(w)); }
/// A 32-bit word stored as a double (an i32 tensor's value); what no word
/// can be (NaN, out of range: corrupt data) reads as 0.
static uint32_t asWord(double v) {
  if (!(v >= -2147483648.0 && v <= 4294967295.0))
    return 0;
  return static_cast<uint32_t>(static_cast<int64_t>(v));
}
static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t einloom::ref::tiledCslSlot(int64_t r, int64_t c, int64_t tileCols) {
  if (tileCols % 64)
    return r * tileCols + c;
  // 128-byte rows of eight 16-byte chunks; chunk j of row r at j ^ (r % 8).
  return r * tileCols + (c / 64) * 64 + (((c / 8) % 8) ^ (r % 8)) * 8 + c % 8;
}

void einloom::ref::tiledCslElement(int64_t slot, int64_t tileCols, int64_t &r, int64_t &c) {
  r = slot / tileCols;
  int64_t in = slot % tileCols;
  c = tileCols % 64 ? in : (in / 64) * 64 + (((in / 8) % 8) ^ (r % 8)) * 8 + in % 8;
}

/// The two stored positions of a 2:4 group whose non-zeros are `nz`: the
/// non-zeros, then the smallest unused positions, in increasing order.
/// False if more than 2 are non-zero.
static bool twoFourPositions(const bool nz[4], int idx[2]) {
  int n = 0;
  for (int j = 0; j < 4; ++j)
    if (nz[j]) {
      if (n == 2)
        return false;
      idx[n++] = j;
    }
  for (int j = 0; n < 2 && j < 4; ++j)
    if (!(n == 1 && idx[0] == j)) {
      idx[n++] = j;
      if (n == 2 && idx[0] > idx[1])
        std::swap(idx[0], idx[1]);
    }
  return true;
}

static std::string twoFourTooDense(int64_t r, int64_t g) {
  return "pack: row " + std::to_string(r) + ", columns " + std::to_string(4 * g) + ".." +
         std::to_string(4 * g + 3) + " hold more than 2 nonzeros; two_four needs at most 2 of "
         "every 4";
}

bool einloom::ref::packTwoFourBits(const uint16_t *values, int64_t rows, int64_t cols,
                                   bool prune, uint16_t *packed, uint16_t *meta,
                                   std::string &err) {
  if (rows <= 0 || cols <= 0 || cols % 16) {
    err = "pack: two_four needs a non-empty matrix with K % 16 == 0 (got " +
          std::to_string(rows) + " x " + std::to_string(cols) + ")";
    return false;
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < cols / 4; ++g) {
      const uint16_t *q = values + r * cols + 4 * g;
      // Magnitude is the bits without the sign (f16 and bf16 alike).
      bool nz[4];
      for (int j = 0; j < 4; ++j)
        nz[j] = (q[j] & 0x7fffu) != 0;
      if (prune) {
        int order[4] = {0, 1, 2, 3};
        std::stable_sort(order, order + 4,
                         [&](int a, int b) { return (q[a] & 0x7fffu) > (q[b] & 0x7fffu); });
        nz[order[2]] = nz[order[3]] = false;
      }
      int idx[2];
      if (!twoFourPositions(nz, idx)) {
        err = twoFourTooDense(r, g);
        return false;
      }
      for (int j = 0; j < 2; ++j)
        packed[r * (cols / 2) + 2 * g + j] = nz[idx[j]] ? q[idx[j]] : 0;
      uint16_t &word = meta[r * (cols / 16) + g / 4];
      if (g % 4 == 0)
        word = 0;
      word = static_cast<uint16_t>(word | ((idx[0] | idx[1] << 2) << (4 * (g % 4))));
    }
  return true;
}

bool einloom::ref::packTiledCslWords(const uint16_t *values, int64_t rows, int64_t cols,
                                     int64_t tr, int64_t tc, std::vector<int32_t> &offsets,
                                     std::vector<uint32_t> &words, std::string &err) {
  if (rows <= 0 || cols <= 0 || tr <= 0 || tc <= 0 || tr * tc > 65536) {
    err = "pack: tiled_csl needs a non-empty matrix and tiles of at most 65536 elements";
    return false;
  }
  int64_t tiles = ceilDiv(rows, tr) * ceilDiv(cols, tc);
  if (tiles > INT32_MAX / 4 || rows * cols > INT32_MAX / 2) {
    err = "pack: the matrix is too large for 32-bit Tiled-CSL offsets";
    return false;
  }
  offsets.assign(static_cast<size_t>(tiles + 1), 0);
  words.clear();
  std::vector<std::vector<uint32_t>> banks(32);
  std::vector<uint32_t> order;
  int64_t t = 0;
  for (int64_t bi = 0; bi < ceilDiv(rows, tr); ++bi)
    for (int64_t bj = 0; bj < ceilDiv(cols, tc); ++bj, ++t) {
      offsets[t] = static_cast<int32_t>(words.size());
      for (auto &bank : banks)
        bank.clear();
      size_t count = 0;
      for (int64_t r = 0; r < tr && bi * tr + r < rows; ++r)
        for (int64_t c = 0; c < tc && bj * tc + c < cols; ++c) {
          uint16_t v = values[(bi * tr + r) * cols + bj * tc + c];
          if ((v & 0x7fffu) == 0)
            continue;
          uint32_t slot = static_cast<uint32_t>(tiledCslSlot(r, c, tc));
          // The shared-memory bank of the 16-bit slot.
          banks[(slot / 2) % 32].push_back(slot << 16 | v);
          ++count;
        }
      // Round robin over the banks, so that 32 consecutive words mostly
      // fall in distinct banks; then each whole run of 128 words is
      // transposed so that word q of the 32 16-byte chunks a warp loads
      // together (one store instruction) is one of those runs of 32.
      order.clear();
      for (size_t round = 0; order.size() < count; ++round)
        for (auto &bank : banks)
          if (round < bank.size())
            order.push_back(bank[round]);
      size_t whole = order.size() / 128 * 128;
      size_t begin = words.size();
      words.resize(begin + order.size());
      for (size_t i = 0; i < order.size(); ++i)
        words[begin + (i < whole ? (i / 128) * 128 + 4 * (i % 32) + (i % 128) / 32 : i)] =
            order[i];
      // Pad to a multiple of 4 by repeating the last word: scattering it
      // twice writes the same value to the same place.
      while ((words.size() - begin) % 4)
        words.push_back(words.back());
    }
  offsets[tiles] = static_cast<int32_t>(words.size());
  return true;
}

bool einloom::ref::validateTiledCsl(const int32_t *offsets, int64_t numOffsets,
                                    const uint32_t *words, int64_t numWords, int64_t rows,
                                    int64_t cols, int64_t tr, int64_t tc, std::string &err) {
  auto fail = [&](const std::string &what) {
    err = "corrupt tiled_csl data: " + what;
    return false;
  };
  if (tr <= 0 || tc <= 0 || tr * tc > 65536)
    return fail("tiles of " + std::to_string(tr) + " x " + std::to_string(tc));
  int64_t tilesK = ceilDiv(cols, tc), tiles = ceilDiv(rows, tr) * tilesK;
  if (numOffsets != tiles + 1)
    return fail(std::to_string(numOffsets) + " offsets for " + std::to_string(tiles) +
                " tiles (expected " + std::to_string(tiles + 1) + ")");
  int64_t most = ceilDiv(tr * tc, 4) * 4;
  for (int64_t t = 0; t < tiles; ++t) {
    int64_t begin = offsets[t], end = offsets[t + 1];
    std::string at = "tile " + std::to_string(t) + " ";
    if (begin < 0 || end < begin || end > numWords)
      return fail(at + "has offsets " + std::to_string(begin) + ".." + std::to_string(end) +
                  " outside the " + std::to_string(numWords) + " words or decreasing");
    if (begin % 4 || end % 4)
      return fail(at + "does not start and end on a 16-byte boundary (offsets " +
                  std::to_string(begin) + ".." + std::to_string(end) + ")");
    if (end - begin > most)
      return fail(at + "has " + std::to_string(end - begin) + " words; a tile holds at most " +
                  std::to_string(most));
    int64_t rowsIn = std::min(tr, rows - (t / tilesK) * tr);
    int64_t colsIn = std::min(tc, cols - (t % tilesK) * tc);
    for (int64_t w = begin; w < end; ++w) {
      int64_t slot = words[w] >> 16, r, c;
      tiledCslElement(slot, tc, r, c);
      if (slot >= tr * tc || r >= rowsIn || c >= colsIn)
        return fail(at + "word " + std::to_string(w) + " has position " + std::to_string(slot) +
                    ", outside the tile's " + std::to_string(rowsIn) + " x " +
                    std::to_string(colsIn) + " elements");
    }
  }
  return true;
}

namespace {
/// The tile element of bit q of half h of block b (tiles `tc` wide).
void bitmapElement(int64_t b, int h, int q, int64_t tc, int64_t &r, int64_t &c) {
  r = 8 * (b / (tc / 8)) + 4 * h + q / 8;
  c = 8 * (b % (tc / 8)) + q % 8;
}

bool bitmapTiles(int64_t tr, int64_t tc, std::string &err) {
  if (tr <= 0 || tc <= 0 || tr % 8 || tc % 8 || tr * tc > 65536) {
    err = "bitmap tiles are multiples of 8 x 8 of at most 65536 elements, not " +
          std::to_string(tr) + " x " + std::to_string(tc);
    return false;
  }
  return true;
}
} // namespace

bool einloom::ref::packBitmap(const uint16_t *values, int64_t rows, int64_t cols, int64_t tr,
                              int64_t tc, std::vector<int32_t> &offsets,
                              std::vector<uint32_t> &masks, std::vector<uint16_t> &packed,
                              std::string &err) {
  if (rows <= 0 || cols <= 0 || !bitmapTiles(tr, tc, err)) {
    if (err.empty())
      err = "a non-empty matrix";
    err = "pack: bitmap needs " + err;
    return false;
  }
  int64_t tilesK = ceilDiv(cols, tc), tiles = ceilDiv(rows, tr) * tilesK, blocks = tr * tc / 64;
  if (tiles > INT32_MAX / 2 || rows * cols > INT32_MAX / 2) {
    err = "pack: the matrix is too large for 32-bit bitmap offsets";
    return false;
  }
  offsets.assign(static_cast<size_t>(tiles + 1), 0);
  masks.assign(static_cast<size_t>(tiles * blocks * 2), 0);
  packed.clear();
  for (int64_t t = 0; t < tiles; ++t) {
    offsets[t] = static_cast<int32_t>(packed.size());
    int64_t r0 = (t / tilesK) * tr, c0 = (t % tilesK) * tc;
    for (int64_t b = 0; b < blocks; ++b)
      for (int h = 0; h < 2; ++h)
        for (int q = 0; q < 32; ++q) {
          int64_t r, c;
          bitmapElement(b, h, q, tc, r, c);
          if (r0 + r >= rows || c0 + c >= cols)
            continue;
          uint16_t v = values[(r0 + r) * cols + c0 + c];
          if ((v & 0x7fffu) == 0)
            continue;
          masks[(t * blocks + b) * 2 + h] |= 1u << q;
          packed.push_back(v);
        }
    while (packed.size() % 8)
      packed.push_back(0);
  }
  offsets[tiles] = static_cast<int32_t>(packed.size());
  return true;
}

bool einloom::ref::validateBitmap(const int32_t *offsets, int64_t numOffsets,
                                  const uint32_t *masks, int64_t numMasks, int64_t numValues,
                                  int64_t rows, int64_t cols, int64_t tr, int64_t tc,
                                  std::string &err) {
  auto fail = [&](const std::string &what) {
    err = "corrupt bitmap data: " + what;
    return false;
  };
  std::string why;
  if (!bitmapTiles(tr, tc, why))
    return fail(why);
  int64_t tilesK = ceilDiv(cols, tc), tiles = ceilDiv(rows, tr) * tilesK, blocks = tr * tc / 64;
  if (numOffsets != tiles + 1)
    return fail(std::to_string(numOffsets) + " offsets for " + std::to_string(tiles) +
                " tiles (expected " + std::to_string(tiles + 1) + ")");
  if (numMasks != tiles * blocks * 2)
    return fail(std::to_string(numMasks) + " mask words for " + std::to_string(tiles) +
                " tiles (expected " + std::to_string(tiles * blocks * 2) + ")");
  for (int64_t t = 0; t < tiles; ++t) {
    int64_t begin = offsets[t], end = offsets[t + 1];
    std::string at = "tile " + std::to_string(t) + " ";
    if (begin < 0 || end < begin || end > numValues)
      return fail(at + "has offsets " + std::to_string(begin) + ".." + std::to_string(end) +
                  " outside the " + std::to_string(numValues) + " values or decreasing");
    if (begin % 8 || end % 8)
      return fail(at + "does not start and end on a 16-byte boundary (offsets " +
                  std::to_string(begin) + ".." + std::to_string(end) + ")");
    int64_t rowsIn = std::min(tr, rows - (t / tilesK) * tr);
    int64_t colsIn = std::min(tc, cols - (t % tilesK) * tc);
    int64_t bits = 0;
    for (int64_t b = 0; b < blocks; ++b)
      for (int h = 0; h < 2; ++h) {
        uint32_t m = masks[(t * blocks + b) * 2 + h];
        bits += __builtin_popcount(m);
        for (int q = 0; q < 32; ++q) {
          int64_t r, c;
          bitmapElement(b, h, q, tc, r, c);
          if ((m >> q & 1u) && (r >= rowsIn || c >= colsIn))
            return fail(at + "marks element (" + std::to_string(r) + ", " + std::to_string(c) +
                        "), outside the tile's " + std::to_string(rowsIn) + " x " +
                        std::to_string(colsIn) + " elements");
        }
      }
    if (end - begin < bits)
      return fail(at + "has " + std::to_string(end - begin) + " values for " +
                  std::to_string(bits) + " marked elements");
  }
  return true;
}

namespace {
/// Integer codes <-> unsigned bit fields of `bits` bits.
struct CodeField {
  int64_t bits;
  QuantKind kind;

  bool encode(double code, uint32_t &field, std::string &err) const {
    int64_t c = static_cast<int64_t>(code);
    int64_t full = int64_t(1) << bits;
    bool ok = c == code;
    int64_t u = c;
    switch (kind) {
    case QuantKind::Signed:
      ok = ok && c >= -full / 2 && c < full / 2;
      u = c & (full - 1);
      break;
    case QuantKind::Unsigned:
      ok = ok && c >= 0 && c < full;
      break;
    case QuantKind::Bipolar:
      ok = ok && (c & 1) && c >= -(full - 1) && c <= full - 1;
      u = (c + full - 1) / 2;
      break;
    default:
      ok = false;
    }
    if (!ok) {
      err = "pack: code " + std::to_string(code) + " does not fit a " +
            std::to_string(bits) + "-bit " +
            (kind == QuantKind::Signed     ? "signed"
             : kind == QuantKind::Unsigned ? "unsigned"
                                           : "bipolar") +
            " field";
      return false;
    }
    field = static_cast<uint32_t>(u);
    return true;
  }

  double decode(uint32_t u) const {
    int64_t full = int64_t(1) << bits;
    int64_t v = u & (full - 1);
    if (kind == QuantKind::Signed && v >= full / 2)
      v -= full;
    if (kind == QuantKind::Bipolar)
      v = 2 * v - (full - 1);
    return static_cast<double>(v);
  }
};

/// Where element (k, n) of a K x N weight goes in the fragment layout:
/// the word index and the bit offset inside it.
struct FragmentSlot {
  int64_t word;
  int64_t shift;
  /// A field split across two words (3-bit a_fragment codes): its low two
  /// bits at `shift` of `word`, its high bit at `highShift` of `highWord`.
  int64_t highWord = -1;
  int64_t highShift = 0;

  /// Ors the field `u` into `words`.
  void place(uint32_t *words, uint32_t u) const {
    if (highWord < 0) {
      words[word] |= u << shift;
      return;
    }
    words[word] |= (u & 3u) << shift;
    words[highWord] |= (u >> 2 & 1u) << highShift;
  }
  /// The `bits`-bit field read back from `wordAt(i)`.
  template <typename W> uint32_t read(W wordAt, int64_t bits) const {
    if (highWord < 0)
      return (wordAt(word) >> shift) & ((1u << bits) - 1);
    return ((wordAt(word) >> shift) & 3u) | ((wordAt(highWord) >> highShift & 1u) << 2);
  }
};

/// Calls f(k, n, slot) for every element, in word order.
template <typename F>
void forEachFragmentSlot(int64_t K, int64_t N, int64_t bits, F f) {
  if (bits == 4) {
    // Per 16x16 block (kt, nb) and lane: two n8 sub-tiles j, four
    // m16n8k16 B-fragment elements i; nibble p = 4j + i sits at nibble
    // (p % 2) * 4 + p / 2, so `w & 0x000f000f` yields elements 0 and 1.
    for (int64_t kt = 0; kt < K / 16; ++kt)
      for (int64_t nb = 0; nb < N / 16; ++nb)
        for (int64_t lane = 0; lane < 32; ++lane) {
          int64_t word = (kt * (N / 16) + nb) * 32 + lane;
          for (int64_t j = 0; j < 2; ++j)
            for (int64_t i = 0; i < 4; ++i) {
              int64_t p = 4 * j + i;
              int64_t k = kt * 16 + (lane % 4) * 2 + (i % 2) + (i / 2) * 8;
              int64_t n = nb * 16 + j * 8 + lane / 4;
              f(k, n, FragmentSlot{word, 4 * ((p % 2) * 4 + p / 2)});
            }
        }
    return;
  }
  // bits == 8: per k32 x n8 tile and lane, two words r holding the
  // m16n8k32 B-fragment bytes b: k = (lane % 4) * 4 + b + 16 r.
  for (int64_t kt = 0; kt < K / 32; ++kt)
    for (int64_t nt = 0; nt < N / 8; ++nt)
      for (int64_t lane = 0; lane < 32; ++lane)
        for (int64_t r = 0; r < 2; ++r) {
          int64_t word = ((kt * (N / 8) + nt) * 32 + lane) * 2 + r;
          for (int64_t b = 0; b < 4; ++b)
            f(kt * 32 + (lane % 4) * 4 + b + 16 * r, nt * 8 + lane / 4,
              FragmentSlot{word, 8 * b});
        }
}

/// Calls f(k, n, slot) for every element of an N x K weight (row n, column
/// k) in the a_fragment layout. Per 16-row x 64-k tile T = kt·(N/16) + nb
/// and lane, `bits` consecutive words; register j = 4·ks + r of the lane
/// holds the m16n8k16 A-fragment pair (halves h = 0, 1) at row
/// 16·nb + lane/4 + 8·(r % 2), k = 64·kt + 16·ks + 2·(lane % 4) + 8·(r / 2) + h.
/// 2- and 4-bit words hold R = 16/bits registers, register i of a word in
/// field i (low half) and field i + R (high half), so that one shift by
/// bits·i and one mask expose both halves; 8-bit words hold 2 registers,
/// register i's half h in byte 2i + h. 3-bit codes take three words: words
/// 0 and 1 hold the low two bits of registers 8w + i as 2-bit codes do, and
/// word 2 the high bit of register j's half h at bit j + 16h.
template <typename F>
void forEachAFragmentSlot(int64_t N, int64_t K, int64_t bits, F f) {
  int64_t regsPerWord = bits == 8 ? 2 : bits == 3 ? 8 : 16 / bits;
  for (int64_t kt = 0; kt < K / 64; ++kt)
    for (int64_t nb = 0; nb < N / 16; ++nb)
      for (int64_t lane = 0; lane < 32; ++lane)
        for (int64_t j = 0; j < 16; ++j)
          for (int64_t h = 0; h < 2; ++h) {
            int64_t ks = j / 4, r = j % 4;
            int64_t n = nb * 16 + lane / 4 + 8 * (r % 2);
            int64_t k = kt * 64 + 16 * ks + 2 * (lane % 4) + 8 * (r / 2) + h;
            int64_t first = ((kt * (N / 16) + nb) * 32 + lane) * bits;
            int64_t word = first + j / regsPerWord, i = j % regsPerWord;
            if (bits == 3) // the low pair as a 2-bit field, the high bit in word 2
              f(k, n, FragmentSlot{word, 2 * (i + 8 * h), first + 2, j + 16 * h});
            else
              f(k, n, FragmentSlot{word, bits * (bits == 8 ? 2 * i + h : i + h * regsPerWord)});
          }
}

bool needRank2(const Tensor &t, const char *what, std::string &err) {
  if (t.rank() == 2)
    return true;
  err = std::string("pack: ") + what + " packs a rank-2 tensor, got " + t.typeStr();
  return false;
}

/// The bit patterns of `dense`, a matrix of f16 or bf16 values (what the
/// sparse formats store).
bool sixteenBitMatrix(const Tensor &dense, const char *format, std::vector<uint16_t> &bits,
                      std::string &err) {
  if (!needRank2(dense, format, err))
    return false;
  if (dense.dtype != DType::F16 && dense.dtype != DType::BF16) {
    err = std::string("pack: ") + format + " stores f16 or bf16 values";
    return false;
  }
  bits.resize(dense.data.size());
  for (size_t i = 0; i < bits.size(); ++i)
    bits[i] = static_cast<uint16_t>(floatBits(dense.dtype, dense.data[i]));
  return true;
}

/// 32-bit integers or words as an i32 tensor (words keep their bits).
template <typename T> Tensor i32Tensor(const std::vector<T> &v) {
  Tensor t(DType::I32, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i)
    t.data[i] = asInt32(static_cast<uint32_t>(v[i]));
  return t;
}

/// An i32 tensor's elements as 32-bit words.
std::vector<uint32_t> wordsOf(const Tensor &t) {
  std::vector<uint32_t> w(t.data.size());
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = asWord(t.data[i]);
  return w;
}
/// Packs the codes of `dense` (element (k, n) at `index(k, n)`) into words
/// at the slots `forEach` visits; false with `err` on a code out of range.
template <typename ForEach, typename Index>
bool packSlots(const Tensor &dense, const PackParams &p, size_t numWords, ForEach forEach,
               Index index, std::vector<Tensor> &out, std::string &err) {
  std::vector<uint32_t> words(numWords, 0);
  CodeField field{p.bits, p.kind};
  bool ok = true;
  forEach([&](int64_t k, int64_t n, FragmentSlot s) {
    uint32_t u = 0;
    if (ok && field.encode(dense.data[index(k, n)], u, err))
      s.place(words.data(), u);
    else
      ok = false;
  });
  if (!ok)
    return false;
  Tensor t(DType::I32, {static_cast<int64_t>(words.size())});
  for (size_t i = 0; i < words.size(); ++i)
    t.data[i] = asInt32(words[i]);
  out.push_back(std::move(t));
  return true;
}
/// Decodes the code of each slot `forEach` visits in `words` into
/// `result.data[index(k, n)]`.
template <typename ForEach, typename Index>
void unpackSlots(const Tensor &words, const PackParams &p, ForEach forEach, Index index,
                 Tensor &result) {
  CodeField field{p.bits, p.kind};
  forEach([&](int64_t k, int64_t n, FragmentSlot s) {
    result.data[index(k, n)] =
        field.decode(s.read([&](int64_t i) { return asWord(words.data[i]); }, p.bits));
  });
}
} // namespace

bool einloom::ref::packAFragmentWords(const uint8_t *codes, int64_t N, int64_t K, unsigned bits,
                                      bool isSigned, uint32_t *words, std::string &err) {
  if (!isAFragmentWidth(bits)) {
    err = "pack: a_fragment takes 2, 3, 4 or 8 bits; got " + std::to_string(bits);
    return false;
  }
  if (N <= 0 || K <= 0 || N % 16 || K % 64) {
    err = "pack: a_fragment takes an N x K weight with N % 16 == 0 and "
          "K % 64 == 0; got " + std::to_string(bits) + " bits, N = " + std::to_string(N) +
          ", K = " + std::to_string(K);
    return false;
  }
  std::fill(words, words + N * K * bits / 32, 0u);
  CodeField field{bits, isSigned ? QuantKind::Signed : QuantKind::Unsigned};
  bool ok = true;
  forEachAFragmentSlot(N, K, bits, [&](int64_t k, int64_t n, FragmentSlot slot) {
    if (!ok)
      return;
    uint8_t byte = codes[n * K + k];
    double code = isSigned ? static_cast<double>(static_cast<int8_t>(byte)) : byte;
    uint32_t f = 0;
    ok = field.encode(code, f, err);
    slot.place(words, f);
  });
  return ok;
}

bool einloom::ref::pack(const Tensor &dense, const PackParams &p,
                        std::vector<Tensor> &out, std::string &err) {
  out.clear();
  switch (p.format) {
  case PackFormat::Fragment: {
    if (!needRank2(dense, "fragment", err))
      return false;
    int64_t K = dense.shape[0], N = dense.shape[1];
    int64_t tk = p.bits == 4 ? 16 : 32, tn = p.bits == 4 ? 16 : 8;
    if (K % tk || N % tn) {
      err = "pack: fragment layout needs K % " + std::to_string(tk) +
            " == 0 and N % " + std::to_string(tn) + " == 0";
      return false;
    }
    return packSlots(
        dense, p, static_cast<size_t>(K * N * p.bits / 32),
        [&](auto f) { forEachFragmentSlot(K, N, p.bits, f); },
        [&](int64_t k, int64_t n) { return k * N + n; }, out, err);
  }
  case PackFormat::AFragment: {
    if (!needRank2(dense, "a_fragment", err))
      return false;
    int64_t N = dense.shape[0], K = dense.shape[1];
    if (N % 16 || K % 64) {
      err = "pack: a_fragment layout needs N % 16 == 0 and K % 64 == 0 (an N x K weight), "
            "got N = " + std::to_string(N) + ", K = " + std::to_string(K);
      return false;
    }
    return packSlots(
        dense, p, static_cast<size_t>(N * K * p.bits / 32),
        [&](auto f) { forEachAFragmentSlot(N, K, p.bits, f); },
        [&](int64_t k, int64_t n) { return n * K + k; }, out, err);
  }
  case PackFormat::TiledCsl: {
    std::vector<uint16_t> bits;
    std::vector<int32_t> offsets;
    std::vector<uint32_t> words;
    if (!sixteenBitMatrix(dense, "tiled_csl", bits, err) ||
        !packTiledCslWords(bits.data(), dense.shape[0], dense.shape[1], p.tileRows, p.tileCols,
                           offsets, words, err))
      return false;
    out.push_back(i32Tensor(offsets));
    out.push_back(i32Tensor(words));
    return true;
  }
  case PackFormat::Bitmap: {
    std::vector<uint16_t> bits;
    std::vector<int32_t> offsets;
    std::vector<uint32_t> masks;
    std::vector<uint16_t> values;
    if (!sixteenBitMatrix(dense, "bitmap", bits, err) ||
        !packBitmap(bits.data(), dense.shape[0], dense.shape[1], p.tileRows, p.tileCols, offsets,
                    masks, values, err))
      return false;
    Tensor v(dense.dtype, {static_cast<int64_t>(values.size())});
    for (size_t i = 0; i < values.size(); ++i)
      v.data[i] = floatFromBits(dense.dtype, values[i]);
    out.push_back(i32Tensor(offsets));
    out.push_back(i32Tensor(masks));
    out.push_back(std::move(v));
    return true;
  }
  case PackFormat::TwoFour: {
    if (!needRank2(dense, "two_four", err))
      return false;
    int64_t M = dense.shape[0], K = dense.shape[1];
    if (K % 16) {
      err = "pack: two_four needs K % 16 == 0";
      return false;
    }
    Tensor values(dense.dtype, {M, K / 2}), meta(DType::I16, {M, K / 16});
    for (int64_t r = 0; r < M; ++r)
      for (int64_t g = 0; g < K / 4; ++g) {
        bool nz[4];
        for (int j = 0; j < 4; ++j)
          nz[j] = dense.data[r * K + 4 * g + j] != 0;
        int idx[2];
        if (!twoFourPositions(nz, idx)) {
          err = twoFourTooDense(r, g);
          return false;
        }
        values.data[r * (K / 2) + 2 * g] = dense.data[r * K + 4 * g + idx[0]];
        values.data[r * (K / 2) + 2 * g + 1] = dense.data[r * K + 4 * g + idx[1]];
        uint32_t field = static_cast<uint32_t>(idx[0] | (idx[1] << 2));
        uint32_t word = asWord(meta.data[r * (K / 16) + g / 4]) & 0xffffu;
        word |= field << (4 * (g % 4));
        meta.data[r * (K / 16) + g / 4] =
            static_cast<double>(static_cast<int16_t>(static_cast<uint16_t>(word)));
      }
    out.push_back(std::move(values));
    out.push_back(std::move(meta));
    return true;
  }
  case PackFormat::BitPlanes: {
    if (dense.rank() < 1) {
      err = "pack: bit_planes needs rank >= 1";
      return false;
    }
    int64_t K = dense.shape.back(), rows = dense.numel() / std::max<int64_t>(K, 1);
    int64_t W = ceilDiv(K, 32);
    std::vector<int64_t> shape{p.bits};
    shape.insert(shape.end(), dense.shape.begin(), dense.shape.end());
    shape.back() = W;
    Tensor planes(DType::I32, shape);
    std::vector<uint32_t> words(static_cast<size_t>(p.bits * rows * W), 0);
    CodeField field{p.bits, p.kind};
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < K; ++k) {
        uint32_t u;
        if (!field.encode(dense.data[r * K + k], u, err))
          return false;
        for (int64_t b = 0; b < p.bits; ++b)
          words[(b * rows + r) * W + k / 32] |= ((u >> b) & 1u) << (k % 32);
      }
    for (size_t i = 0; i < words.size(); ++i)
      planes.data[i] = asInt32(words[i]);
    out.push_back(std::move(planes));
    return true;
  }
  case PackFormat::BlockCsr: {
    if (!needRank2(dense, "block_csr", err))
      return false;
    int64_t M = dense.shape[0], N = dense.shape[1];
    int64_t br = p.tileRows, bc = p.tileCols;
    if (M % br || N % bc) {
      err = "pack: block_csr needs the shape to be a multiple of the block";
      return false;
    }
    Tensor rowPtr(DType::I32, {M / br + 1});
    std::vector<double> cols, blocks;
    for (int64_t i = 0; i < M / br; ++i) {
      rowPtr.data[i] = static_cast<double>(cols.size());
      for (int64_t j = 0; j < N / bc; ++j) {
        bool any = false;
        for (int64_t r = 0; r < br && !any; ++r)
          for (int64_t c = 0; c < bc && !any; ++c)
            any = dense.data[(i * br + r) * N + j * bc + c] != 0;
        if (!any)
          continue;
        cols.push_back(static_cast<double>(j));
        for (int64_t r = 0; r < br; ++r)
          for (int64_t c = 0; c < bc; ++c)
            blocks.push_back(dense.data[(i * br + r) * N + j * bc + c]);
      }
    }
    rowPtr.data[M / br] = static_cast<double>(cols.size());
    Tensor colIdx(DType::I32, {static_cast<int64_t>(cols.size())});
    colIdx.data = cols;
    Tensor values(dense.dtype, {static_cast<int64_t>(cols.size()), br, bc});
    values.data = blocks;
    out.push_back(std::move(rowPtr));
    out.push_back(std::move(colIdx));
    out.push_back(std::move(values));
    return true;
  }
  }
  err = "pack: unknown format";
  return false;
}

bool einloom::ref::unpack(const std::vector<const Tensor *> &packed,
                          const PackParams &p,
                          const std::vector<int64_t> &denseShape,
                          DType denseType, Tensor &result, std::string &err) {
  result = Tensor(denseType, denseShape);
  auto need = [&](size_t n) {
    if (packed.size() == n)
      return true;
    err = "unpack: expected " + std::to_string(n) + " packed tensors, got " +
          std::to_string(packed.size());
    return false;
  };
  auto badIndex = [&](const char *what) {
    err = std::string("unpack: ") + what + " out of range; the packed data is corrupt";
    return false;
  };
  // The sparse formats: a matrix, and their first tensor's tile offsets
  // (checked to be 32-bit integers before any conversion).
  auto sparseHead = [&](const char *format, std::vector<int32_t> &offsets) {
    if (denseShape.size() != 2) {
      err = std::string("unpack: ") + format + " needs a rank-2 result";
      return false;
    }
    for (double v : packed[0]->data) {
      if (!(v >= INT32_MIN && v <= INT32_MAX)) {
        err = std::string("unpack: corrupt ") + format + " data: an offset is not a 32-bit integer";
        return false;
      }
      offsets.push_back(static_cast<int32_t>(v));
    }
    return true;
  };
  switch (p.format) {
  case PackFormat::Fragment: {
    if (!need(1))
      return false;
    if (denseShape.size() != 2) {
      err = "unpack: fragment needs a rank-2 result";
      return false;
    }
    int64_t K = denseShape[0], N = denseShape[1];
    if (packed[0]->numel() != K * N * p.bits / 32)
      return badIndex("word count");
    unpackSlots(
        *packed[0], p, [&](auto f) { forEachFragmentSlot(K, N, p.bits, f); },
        [&](int64_t k, int64_t n) { return k * N + n; }, result);
    return true;
  }
  case PackFormat::AFragment: {
    if (!need(1))
      return false;
    if (denseShape.size() != 2 || denseShape[0] % 16 || denseShape[1] % 64) {
      err = "unpack: a_fragment needs a rank-2 N x K result with N % 16 == 0, K % 64 == 0";
      return false;
    }
    int64_t N = denseShape[0], K = denseShape[1];
    if (packed[0]->numel() != N * K * p.bits / 32)
      return badIndex("word count");
    unpackSlots(
        *packed[0], p, [&](auto f) { forEachAFragmentSlot(N, K, p.bits, f); },
        [&](int64_t k, int64_t n) { return n * K + k; }, result);
    return true;
  }
  case PackFormat::TiledCsl: {
    std::vector<int32_t> offsets;
    if (!need(2) || !sparseHead("tiled_csl", offsets))
      return false;
    int64_t M = denseShape[0], K = denseShape[1];
    int64_t tr = p.tileRows, tc = p.tileCols, tilesK = ceilDiv(K, tc);
    std::vector<uint32_t> words = wordsOf(*packed[1]);
    if (!validateTiledCsl(offsets.data(), static_cast<int64_t>(offsets.size()), words.data(),
                          static_cast<int64_t>(words.size()), M, K, tr, tc, err)) {
      err = "unpack: " + err;
      return false;
    }
    for (int64_t t = 0; t + 1 < static_cast<int64_t>(offsets.size()); ++t)
      for (int64_t w = offsets[t]; w < offsets[t + 1]; ++w) {
        int64_t r, c;
        tiledCslElement(words[w] >> 16, tc, r, c);
        result.data[((t / tilesK) * tr + r) * K + (t % tilesK) * tc + c] =
            floatFromBits(denseType, words[w] & 0xffffu);
      }
    return true;
  }
  case PackFormat::Bitmap: {
    std::vector<int32_t> offsets;
    if (!need(3) || !sparseHead("bitmap", offsets))
      return false;
    int64_t M = denseShape[0], K = denseShape[1];
    int64_t tr = p.tileRows, tc = p.tileCols;
    std::vector<uint32_t> masks = wordsOf(*packed[1]);
    const Tensor &values = *packed[2];
    if (!validateBitmap(offsets.data(), static_cast<int64_t>(offsets.size()), masks.data(),
                        static_cast<int64_t>(masks.size()), values.numel(), M, K, tr, tc, err)) {
      err = "unpack: " + err;
      return false;
    }
    int64_t tilesK = ceilDiv(K, tc), blocks = tr * tc / 64;
    for (int64_t t = 0; t + 1 < static_cast<int64_t>(offsets.size()); ++t) {
      int64_t next = offsets[t];
      for (int64_t b = 0; b < blocks; ++b)
        for (int h = 0; h < 2; ++h)
          for (int q = 0; q < 32; ++q)
            if (masks[(t * blocks + b) * 2 + h] >> q & 1u) {
              int64_t r, c;
              bitmapElement(b, h, q, tc, r, c);
              result.data[((t / tilesK) * tr + r) * K + (t % tilesK) * tc + c] =
                  roundTo(denseType, values.data[next++]);
            }
    }
    return true;
  }
  case PackFormat::TwoFour: {
    if (!need(2))
      return false;
    if (denseShape.size() != 2 || denseShape[1] % 16) {
      err = "unpack: two_four needs a rank-2 M x K result with K % 16 == 0";
      return false;
    }
    int64_t M = denseShape[0], K = denseShape[1];
    if (packed[0]->numel() != M * K / 2)
      return badIndex("value count");
    if (packed[1]->numel() != M * K / 16)
      return badIndex("metadata count");
    for (int64_t r = 0; r < M; ++r)
      for (int64_t g = 0; g < K / 4; ++g) {
        uint32_t word = asWord(packed[1]->data[r * (K / 16) + g / 4]) & 0xffffu;
        uint32_t field = (word >> (4 * (g % 4))) & 0xfu;
        int64_t i0 = field & 3, i1 = field >> 2;
        if (i0 >= i1) {
          err = "unpack: invalid two_four metadata at row " + std::to_string(r) + ", columns " +
                std::to_string(4 * g) + ".." + std::to_string(4 * g + 3) + ": positions " +
                std::to_string(i0) + " and " + std::to_string(i1) +
                " (the first must be below the second); the packed data is corrupt";
          return false;
        }
        result.data[r * K + 4 * g + i0] = packed[0]->data[r * (K / 2) + 2 * g];
        result.data[r * K + 4 * g + i1] = packed[0]->data[r * (K / 2) + 2 * g + 1];
      }
    return true;
  }
  case PackFormat::BitPlanes: {
    if (!need(1))
      return false;
    int64_t K = denseShape.empty() ? 0 : denseShape.back();
    int64_t rows = result.numel() / std::max<int64_t>(K, 1), W = ceilDiv(K, 32);
    if (packed[0]->numel() != p.bits * rows * W)
      return badIndex("plane size");
    CodeField field{p.bits, p.kind};
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < K; ++k) {
        uint32_t u = 0;
        for (int64_t b = 0; b < p.bits; ++b)
          u |= ((asWord(packed[0]->data[(b * rows + r) * W + k / 32]) >> (k % 32)) & 1u) << b;
        result.data[r * K + k] = field.decode(u);
      }
    return true;
  }
  case PackFormat::BlockCsr: {
    if (!need(3))
      return false;
    int64_t br = p.tileRows, bc = p.tileCols;
    if (denseShape.size() != 2 || br <= 0 || bc <= 0 || denseShape[0] % br ||
        denseShape[1] % bc) {
      err = "unpack: block_csr needs a rank-2 result that its blocks divide";
      return false;
    }
    int64_t M = denseShape[0], N = denseShape[1];
    const Tensor &rowPtr = *packed[0], &cols = *packed[1], &blocks = *packed[2];
    if (rowPtr.numel() != M / br + 1)
      return badIndex("block-row count");
    // Indices are checked as the doubles they are stored as, before any
    // conversion (a NaN or a huge value converts to nothing sensible).
    auto inRange = [](double v, double hi) { return v >= 0 && v <= hi && v == std::floor(v); };
    for (int64_t i = 0; i < M / br; ++i) {
      double lo = rowPtr.data[i], hi = rowPtr.data[i + 1];
      if (!inRange(lo, static_cast<double>(cols.numel())) ||
          !inRange(hi, static_cast<double>(cols.numel())) || hi < lo ||
          hi * br * bc > static_cast<double>(blocks.numel()))
        return badIndex("row pointer");
      int64_t begin = static_cast<int64_t>(lo), end = static_cast<int64_t>(hi);
      for (int64_t b = begin; b < end; ++b) {
        if (!inRange(cols.data[b], static_cast<double>(N / bc - 1)))
          return badIndex("block column");
        int64_t j = static_cast<int64_t>(cols.data[b]);
        for (int64_t r = 0; r < br; ++r)
          for (int64_t c = 0; c < bc; ++c)
            result.data[(i * br + r) * N + j * bc + c] = blocks.data[(b * br + r) * bc + c];
      }
    }
    return true;
  }
  }
  err = "unpack: unknown format";
  return false;
}
