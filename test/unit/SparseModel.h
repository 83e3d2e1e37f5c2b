//===- SparseModel.h - the Tiled-CSL producer, on the host ------*- C++ -*-===//
//
// A host model of the sparse kernel's producer (lib/Codegen/SparseProducer.cpp
// and the word count KernelBuilder derives): each shared-memory stage rebuilt
// as the kernel does, with its clamps, so that tests can compare it with
// the weight's tiles and fuzz it with corrupt data. Shared by the unit
// tests and the AddressSanitizer fuzzer (test/fuzz/sparse-fuzz.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_TEST_SPARSEMODEL_H
#define EINLOOM_TEST_SPARSEMODEL_H

#include "einloom/Reference/Kernels.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace einloom::test {
using namespace einloom::ref;

constexpr int64_t kThreads = 128, kTileK = 64;

struct Packed {
  std::vector<int32_t> offsets;
  std::vector<uint32_t> words; ///< as the device buffer holds them (at least 4)
  int64_t capacity = 0;        ///< the bundle's capacity in words
};

/// The kernel's stage for tile (rowTile, kTile): `bm` x 64 halves in the
/// swizzled image. Returns false if a read or write left its buffer.
inline bool modelStage(const Packed &p, int64_t tilesK, int64_t rowTile, int64_t kTile, int64_t bm,
                int64_t regChunks, std::vector<uint16_t> &stage) {
  stage.assign(static_cast<size_t>(bm * kTileK), 0); // zeroStage
  int64_t t = rowTile * tilesK + kTile;
  if (t + 1 >= static_cast<int64_t>(p.offsets.size()))
    return false;
  int64_t begin = p.offsets[t], end = p.offsets[t + 1];
  // The last whole chunk of the words the launch gives (KernelBuilder):
  // the buffer's word count, at least 4, at most the capacity.
  int64_t given = static_cast<int64_t>(p.words.size());
  int64_t last = (std::min(std::max<int64_t>(given, 4), p.capacity) & ~int64_t(3)) - 4;
  // sparseTileBounds
  int64_t most = bm * kTileK / 4;
  int64_t chunks = std::min(std::max<int64_t>(0, (end - begin) / 4), most);
  begin = std::min(std::max<int64_t>(0, begin & ~int64_t(3)), last);
  auto chunkAt = [&](int64_t chunk, bool &ok) {
    int64_t w = std::min(begin + 4 * chunk, last);
    ok = ok && w >= 0 && w + 4 <= given;
    return w;
  };
  bool ok = true;
  auto store = [&](int64_t w) {
    for (int q = 0; q < 4; ++q) {
      if (w < 0 || w + q >= static_cast<int64_t>(p.words.size())) {
        ok = false; // a read outside the buffer
        return;
      }
      uint32_t word = p.words[w + q];
      int64_t slot = (word >> 16) & (bm * kTileK - 1);
      ok = ok && slot < static_cast<int64_t>(stage.size());
      stage[slot] = static_cast<uint16_t>(word & 0xffffu);
    }
  };
  for (int64_t tid = 0; tid < kThreads; ++tid) {
    for (int64_t i = 0; i < regChunks; ++i) // loadSparseWords, scatter
      if (tid + i * kThreads < chunks)
        store(chunkAt(tid + i * kThreads, ok));
    for (int64_t ch = tid + regChunks * kThreads; ch < chunks; ch += kThreads)
      store(chunkAt(ch, ok)); // the overflow loop
  }
  return ok;
}

/// Element (r, c) of a stage as the MMA core reads it: row r's 16-byte
/// chunk c / 8 sits at chunk (c / 8) ^ (r % 8) of the row's 128 bytes.
inline uint16_t readStage(const std::vector<uint16_t> &stage, int64_t r, int64_t c) {
  return stage[r * kTileK + (((c / 8) ^ (r % 8)) * 8) + c % 8];
}

/// Random non-zero f16 bits (either sign) at `density`, zeros elsewhere.
inline void randomDense(int64_t rows, int64_t cols, double density, uint32_t seed,
                        std::vector<uint16_t> &dense) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  dense.assign(static_cast<size_t>(rows * cols), 0);
  for (uint16_t &v : dense)
    if (u(rng) < density)
      v = static_cast<uint16_t>(0x3c00 + (rng() % 0x3ff) + 1) ^ (rng() % 2 ? 0x8000 : 0);
}

/// Random f16 data of `density` packed as the runner does (a buffer of at
/// least 4 words); empty offsets if packing failed.
inline Packed packRandom(int64_t rows, int64_t cols, int64_t bm, double density, uint32_t seed,
                  std::vector<uint16_t> &dense) {
  randomDense(rows, cols, density, seed, dense);
  Packed p;
  std::string err;
  if (!packTiledCslWords(dense.data(), rows, cols, bm, kTileK, p.offsets, p.words, err))
    p.offsets.clear();
  if (p.words.size() < 4) // the runtime gives at least one chunk
    p.words.resize(4, 0);
  int64_t tiles = static_cast<int64_t>(p.offsets.size()) - 1;
  p.capacity = tiles * bm * kTileK; // the bundle's words capacity
  return p;
}

/// Bitmap data as a device would hold it.
struct PackedBitmap {
  std::vector<int32_t> offsets;
  std::vector<uint32_t> masks;
  std::vector<uint16_t> values; ///< at least 8 (one 16-byte chunk)
};

/// The bitmap kernel's producer (lib/Codegen/SparseProducer.cpp: loadBitmap,
/// stageBitmap, decodeBitmap) for one 64-column tile of `bm` rows, 128
/// threads, step by step. Staging: the tile's value chunks (8 values, four
/// 32-bit words) from its offset, counted in words as the kernel does (the
/// offsets halved, the first word aligned down to a chunk and clamped to
/// the buffer's last whole chunk, the chunk count clamped to a tile's
/// elements); thread t's H mask words (H = bm * 64 / 32 / 128: half-blocks
/// t * H .. t * H + H - 1); its first value within its warp (an inclusive
/// scan of the popcounts over the warp's lanes, less its own); each warp's
/// count. Decode: the thread's first value is that plus the earlier warps'
/// counts; element q = 8r + c of a half-block takes the value at its first
/// plus the popcount of the mask's bits below q (an index masked to the
/// staged values) if bit q is set, else zero; each row of 8 is stored whole
/// at its swizzled 16-byte chunk. `storeChunks`, when given, receives for
/// each (thread, half-block, row) the 16-byte chunk index within the stage
/// it writes, in that order. Returns false if a read left a buffer or a
/// write the stage.
inline bool modelBitmapStage(const PackedBitmap &p, int64_t tilesK, int64_t rowTile,
                             int64_t kTile, int64_t bm, std::vector<uint16_t> &stage,
                             std::vector<int64_t> *storeChunks = nullptr) {
  const int64_t threads = kThreads, perThread = bm * kTileK / 32 / threads;
  const int64_t capacity = bm * kTileK; // staged values (the whole tile)
  stage.assign(static_cast<size_t>(bm * kTileK), 0xdead); // every element is written
  int64_t t = rowTile * tilesK + kTile;
  if (t + 1 >= static_cast<int64_t>(p.offsets.size()))
    return false;
  // The staged values, in 32-bit words (two values a word): the buffer's
  // words (at most the capacity), its last whole chunk, the tile's bounds.
  int64_t givenWords = std::min<int64_t>(static_cast<int64_t>(p.values.size()) / 2, capacity / 2 *
                                         static_cast<int64_t>(p.offsets.size() - 1));
  int64_t lastWord = (std::max<int64_t>(givenWords, 4) & ~int64_t(3)) - 4;
  int64_t beginW = p.offsets[t] >> 1, endW = p.offsets[t + 1] >> 1;
  int64_t chunks = std::min(std::max<int64_t>(0, (endW - beginW) / 4), capacity / 8);
  beginW = std::min(std::max<int64_t>(0, beginW & ~int64_t(3)), lastWord);
  std::vector<uint16_t> staged(static_cast<size_t>(capacity), 0);
  for (int64_t ch = 0; ch < chunks; ++ch) {
    int64_t w = std::min(beginW + 4 * ch, lastWord);
    if (w < 0 || 2 * (w + 4) > static_cast<int64_t>(p.values.size()))
      return false;
    std::copy(p.values.begin() + 2 * w, p.values.begin() + 2 * w + 8, staged.begin() + 8 * ch);
  }
  int64_t maskBase = t * bm * kTileK / 32;
  if (maskBase + bm * kTileK / 32 > static_cast<int64_t>(p.masks.size()))
    return false;
  auto maskOf = [&](int64_t thread, int64_t i) { return p.masks[maskBase + thread * perThread + i]; };
  auto popc = [](uint32_t x) { return static_cast<int64_t>(__builtin_popcount(x)); };
  // stageBitmap: each thread's count, its first within its warp, the
  // warps' counts.
  std::vector<int64_t> own(threads, 0), firstInWarp(threads, 0), warpCount(threads / 32, 0);
  for (int64_t th = 0; th < threads; ++th)
    for (int64_t i = 0; i < perThread; ++i)
      own[th] += popc(maskOf(th, i));
  for (int64_t w = 0; w < threads / 32; ++w) {
    int64_t inclusive = 0;
    for (int64_t l = 0; l < 32; ++l) {
      inclusive += own[w * 32 + l];
      firstInWarp[w * 32 + l] = inclusive - own[w * 32 + l];
    }
    warpCount[w] = inclusive;
  }
  // decodeBitmap.
  for (int64_t th = 0; th < threads; ++th) {
    int64_t first = firstInWarp[th];
    for (int64_t w = 0; w < th / 32; ++w)
      first += warpCount[w];
    for (int64_t i = 0; i < perThread; ++i) {
      int64_t h = th * perThread + i, block = h / 2, half = h % 2;
      int64_t row0 = 8 * (block / 8) + 4 * half, col8 = block % 8;
      uint32_t m = maskOf(th, i);
      for (int64_t r = 0; r < 4; ++r) {
        int64_t row = row0 + r, chunk = col8 ^ (row % 8);
        if (row >= bm)
          return false;
        for (int64_t c = 0; c < 8; ++c) {
          int64_t q = 8 * r + c;
          int64_t at = (first + popc(m & ((uint32_t(1) << q) - 1))) & (capacity - 1);
          stage[row * kTileK + chunk * 8 + c] = (m >> q) & 1 ? staged[at] : 0;
        }
        if (storeChunks)
          storeChunks->push_back(row * 8 + chunk);
      }
      first += popc(m);
    }
  }
  return true;
}

/// The block-sparse kernel's producer (lib/Codegen/SparseProducer.cpp:
/// startBlockSparse, copyBlock) for block row `row` of a block_csr weight
/// K columns wide (64 x 64 blocks of 16-bit values, `blocks` as the launch
/// gives them): the row's K tiles as the kernel runs them, each a stage
/// (the block copied whole, swizzled: row r's chunk c at c ^ (r % 8)) and
/// the activations' K offset its column index names, with the kernel's
/// clamps (the first block to the blocks given, the count to [0, K / 64],
/// each block to the last given, a column index to K's tiles). Returns
/// false if a read left a buffer.
struct BlockTile {
  std::vector<uint16_t> stage;
  int64_t k0 = 0;
};
inline bool modelBlockRow(const std::vector<int32_t> &rowPtr, const std::vector<int32_t> &colIdx,
                          const std::vector<uint16_t> &blocks, int64_t K, int64_t row,
                          std::vector<BlockTile> &tiles) {
  tiles.clear();
  if (row + 1 >= static_cast<int64_t>(rowPtr.size()))
    return false;
  int64_t capacity = static_cast<int64_t>(colIdx.size()); // blocks the bundle holds
  int64_t given = std::max<int64_t>(
      1, std::min<int64_t>(static_cast<int64_t>(blocks.size()) / 4096, capacity));
  int64_t kTiles = K / 64;
  int64_t begin = std::min<int64_t>(std::max<int64_t>(rowPtr[row], 0), given - 1);
  int64_t count = std::min<int64_t>(std::max<int64_t>(int64_t(rowPtr[row + 1]) - begin, 0), kTiles);
  for (int64_t j = 0; j < count; ++j) {
    BlockTile t;
    int64_t blk = std::min(begin + j, given - 1);
    if ((blk + 1) * 4096 > static_cast<int64_t>(blocks.size()))
      return false;
    t.stage.assign(64 * 64, 0);
    for (int64_t chunk = 0; chunk < 64 * 8; ++chunk) {
      int64_t r = chunk / 8, c = chunk % 8;
      std::copy_n(blocks.begin() + blk * 4096 + chunk * 8, 8,
                  t.stage.begin() + r * 64 + ((c ^ (r % 8)) * 8));
    }
    // The row's column indices, copied to shared memory from `begin`
    // (each index clamped into the array), read at min(j, kTiles - 1).
    int64_t at = std::min<int64_t>(begin + std::min(j, kTiles - 1), capacity - 1);
    if (at < 0)
      return false;
    t.k0 = std::min<int64_t>(std::max<int64_t>(colIdx[at], 0), kTiles - 1) * 64;
    tiles.push_back(std::move(t));
  }
  return true;
}

/// Random f16 data of `density` packed in the bitmap layout (values padded
/// to at least one chunk, as the runtime would give them).
inline PackedBitmap packRandomBitmap(int64_t rows, int64_t cols, int64_t bm, double density,
                                     uint32_t seed, std::vector<uint16_t> &dense) {
  randomDense(rows, cols, density, seed, dense);
  PackedBitmap p;
  std::string err;
  if (!packBitmap(dense.data(), rows, cols, bm, kTileK, p.offsets, p.masks, p.values, err))
    p.offsets.clear();
  if (p.values.size() < 8)
    p.values.resize(8, 0);
  return p;
}

} // namespace einloom::test

#endif
