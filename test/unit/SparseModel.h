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

/// Random f16 data of `density` packed as the runner does (a buffer of at
/// least 4 words); empty offsets if packing failed.
inline Packed packRandom(int64_t rows, int64_t cols, int64_t bm, double density, uint32_t seed,
                  std::vector<uint16_t> &dense) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  dense.assign(static_cast<size_t>(rows * cols), 0);
  for (uint16_t &v : dense)
    if (u(rng) < density)
      v = static_cast<uint16_t>(0x3c00 + (rng() % 0x3ff) + 1) ^ (rng() % 2 ? 0x8000 : 0);
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

} // namespace einloom::test

#endif
