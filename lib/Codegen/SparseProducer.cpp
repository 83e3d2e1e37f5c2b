//===- SparseProducer.cpp - sparse tiles into dense A stages --------------===//
//
// The sparse kernel's producer ("load as sparse, compute as dense"). A
// weight tile of tile_m x 64 arrives as 32-bit words, each a 16-bit value
// and its 16-bit slot in the stage's swizzled shared-memory image
// (docs/dialect.md, tiled_csl), padded to 16-byte chunks. Thread t loads
// chunks t, t + T, ... with 16-byte streaming loads into registers
// `prefetch` iterations before they are needed (the plan's depth: tiles of
// words in flight per CTA, which is what hides DRAM's latency), then stores
// each word's value at its slot in a stage that was zero-filled the
// iteration before. The stage is then the dense KMajorVector tile the
// ldmatrix/mma.sync core reads. The CTA's tile offsets are copied into
// shared memory once, at the start, so that no load waits on another.
//
// A 2:4 weight (two_four) goes through the same pipeline, each thread
// decoding 16 columns of a row at a time from 8 values and a metadata word
// (twoFourDecode below).
//
// Nothing read from the words or offsets can address memory outside the
// buffers or the stage: the chunk count is clamped to a tile's size, the
// first word is aligned down to a chunk and clamped to the buffer, and a
// slot is masked to the stage. Corrupt data gives wrong numbers, never a
// fault.
//
//===----------------------------------------------------------------------===//
#include "KernelContext.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

namespace {
/// Chunks (16 bytes, four words) a tile holds at most: every element stored.
int64_t mostChunks(const KernelContext &kc) { return kc.bm * kc.bk / 4; }

Value sharedView(KernelContext &kc, OperandTile &a, Type t) {
  auto sType = cast<MemRefType>(a.smemBytes.getType());
  return memref::ViewOp::create(
      kc.b, kc.loc,
      MemRefType::get({sType.getNumElements() * 8 / t.getIntOrFloatBitWidth()}, t, nullptr,
                      sType.getMemorySpace()),
      a.smemBytes, arith::ConstantIndexOp::create(kc.b, kc.loc, 0), ValueRange{});
}

/// The 16-byte chunk `chunk` of a tile starting at word `first`, clamped
/// into the words buffer: its byte offset as an index.
Value chunkByteOffset(KernelContext &kc, OperandTile &a, Value first, Value chunk) {
  Value word = kc.add(first, kc.mul(chunk, 4));
  word = arith::MinUIOp::create(kc.b, kc.loc, word, a.sparse.lastChunkWord);
  return kc.idx(kc.mul(word, 4));
}

/// Stores the four words of one chunk at their slots of `stage`.
void storeChunk(KernelContext &kc, Value halves, Value stageBase, ArrayRef<Value> words) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Value mask = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(kc.bm * kc.bk - 1));
  Value sixteen = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(16));
  for (Value w : words) {
    Value slot = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, w, sixteen), mask);
    Value at = arith::AddIOp::create(b, loc, kc.idx(stageBase),
                                     arith::IndexCastUIOp::create(b, loc, b.getIndexType(), slot));
    Value v = arith::TruncIOp::create(b, loc, b.getI16Type(), w);
    memref::StoreOp::create(b, loc, v, halves, ValueRange{at});
  }
}

/// A tile's first word and 16-byte chunk count from the CTA's offsets in
/// shared memory: (end - begin) / 4 chunks, clamped to [0, a tile's most]
/// and 0 for a tile past `count` (the CTA's K tiles); the first word
/// aligned down to a chunk and clamped into the buffer.
SmallVector<Value, 2> tileBounds(KernelContext &kc, OperandTile &a, Value tile, Value count) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  int64_t last = cast<MemRefType>(a.sparse.sharedOffsets.getType()).getNumElements() - 2;
  Value t = arith::MinSIOp::create(b, loc, tile, kc.cst(last));
  auto entry = [&](Value i) {
    Value v = memref::LoadOp::create(b, loc, a.sparse.sharedOffsets, ValueRange{kc.idx(i)});
    return kc.intType == v.getType() ? v
                                     : arith::ExtSIOp::create(b, loc, kc.intType, v).getResult();
  };
  Value begin = entry(t), end = entry(kc.add(t, 1));
  Value zero = kc.cst(0);
  Value chunks = arith::SubIOp::create(b, loc, end, begin);
  chunks = arith::MaxSIOp::create(b, loc, zero, arith::DivSIOp::create(b, loc, chunks, kc.cst(4)));
  chunks = arith::MinSIOp::create(b, loc, chunks, kc.cst(mostChunks(kc)));
  chunks = kc.select(kc.ltV(tile, count), chunks, zero);
  begin = arith::MaxSIOp::create(b, loc, zero, kc.andI(begin, ~int64_t(3)));
  begin = arith::MinSIOp::create(b, loc, begin, a.sparse.lastChunkWord);
  return {begin, chunks};
}

/// Copies the offsets entries of the CTA's tiles (as many as the shared
/// array holds, from its first tile, each index clamped into the global
/// array) into shared memory: eight loads a thread in flight, then their
/// stores. A barrier must follow before they are read.
void copyOffsets(KernelContext &kc, OperandTile &a) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  int64_t n = cast<MemRefType>(a.sparse.sharedOffsets.getType()).getNumElements();
  int64_t last = cast<MemRefType>(a.sparse.offsets.getType()).getNumElements() - 1;
  const int64_t perThread = 8;
  int64_t batches = llvm::divideCeil(n, kc.threads * perThread);
  auto loop = scf::ForOp::create(b, loc, kc.cst(0), kc.cst(batches), kc.cst(1));
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(loop.getBody());
  Value base = kc.mul(loop.getInductionVar(), kc.threads * perThread);
  SmallVector<Value> at, vals;
  for (int64_t i = 0; i < perThread; ++i) {
    at.push_back(kc.add(base, kc.add(kc.tid, i * kc.threads)));
    Value global = arith::MinSIOp::create(b, loc, kc.add(a.sparse.firstTile, at.back()),
                                          kc.cst(last));
    vals.push_back(memref::LoadOp::create(b, loc, a.sparse.offsets, ValueRange{kc.idx(global)}));
  }
  for (int64_t i = 0; i < perThread; ++i) {
    auto guard = scf::IfOp::create(b, loc, kc.lt(at[i], n), /*withElse=*/false);
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(&guard.getThenRegion().front());
    memref::StoreOp::create(b, loc, vals[i], a.sparse.sharedOffsets, ValueRange{kc.idx(at[i])});
  }
}

/// Starts loading the words of the first `chunks` chunks per thread of the
/// tile with `bounds` into registers (the rest: scatterTile).
SmallVector<Value> loadWords(KernelContext &kc, OperandTile &a, ArrayRef<Value> bounds) {
  SmallVector<Value> words;
  for (int64_t i = 0; i < a.sparse.chunks; ++i) {
    Value chunk = kc.add(kc.tid, i * kc.threads);
    Value has = kc.ltV(chunk, bounds[1]);
    llvm::append_range(words, streamingLoadWords(kc.b, kc.loc, a.global,
                                                 chunkByteOffset(kc, a, bounds[0], chunk), 4,
                                                 a.sparse.policy, has));
  }
  return words;
}

void zeroStage(KernelContext &kc, OperandTile &a, Value stage) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Value quads = sharedView(kc, a, b.getI32Type());
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(VectorType::get({4}, b.getI32Type()), b.getI32IntegerAttr(0)));
  int64_t chunks = a.stageBytes() / 16;
  Value base = kc.mul(stage, a.stageBytes() / 4);
  for (int64_t i = 0; i * kc.threads < chunks; ++i) {
    Value at = kc.add(base, kc.mul(kc.add(kc.tid, i * kc.threads), 4));
    // (Every thread has a chunk: tile_m * 8 chunks over 128 threads.)
    vector::StoreOp::create(b, loc, zero, quads, ValueRange{kc.idx(at)}, /*nontemporal=*/false,
                            llvm::MaybeAlign(16));
  }
}

/// Stores a tile's words at their slots of `stage` (zeroed before): the
/// registers' chunks, then any further chunks of a denser tile, loaded here.
void scatterTile(KernelContext &kc, OperandTile &a, Value stage, ArrayRef<Value> bounds,
                 ArrayRef<Value> words) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Value halves = sharedView(kc, a, b.getI16Type());
  Value stageBase = kc.mul(stage, kc.bm * kc.bk);
  for (int64_t i = 0; i < a.sparse.chunks; ++i) {
    Value has = kc.ltV(kc.add(kc.tid, i * kc.threads), bounds[1]);
    auto guard = scf::IfOp::create(b, loc, has, /*withElse=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&guard.getThenRegion().front());
    storeChunk(kc, halves, stageBase, words.slice(4 * i, 4));
  }
  // The chunks of a denser tile than the registers hold: loaded here.
  Value from = kc.add(kc.tid, a.sparse.chunks * kc.threads);
  auto loop = scf::ForOp::create(b, loc, from, bounds[1], kc.cst(kc.threads));
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(loop.getBody());
  SmallVector<Value> more =
      streamingLoadWords(b, loc, a.global, chunkByteOffset(kc, a, bounds[0], loop.getInductionVar()),
                         4, a.sparse.policy);
  storeChunk(kc, halves, stageBase, more);
}

// 2:4 (two_four): thread t's item i of a tile is row t / 4 + (T / 4) i of
// it and its quarter t % 4 (logical columns 16 (t % 4) .. + 15): 8 values
// in one 16-byte load (K/2 a row: byte offset row K + 16 (4 tile + t % 4))
// and the quarter's 16-bit metadata word. Every element of the stage is
// written from them, so nothing is zero-filled.

/// Whether item (`rowInTile`, quarter `q`) of CTA tile `tile` holds data:
/// a tile of the CTA's, a row of the weight, columns inside K.
Value twoFourValid(KernelContext &kc, OperandTile &a, Value tile, Value count, Value rowInTile,
                   Value q) {
  Value row = kc.add(a.rowOrigin, rowInTile);
  Value col = kc.add(kc.mul(kc.add(a.sparse.kBegin, tile), 64), kc.mul(q, 16));
  return kc.andB(kc.ltV(tile, count),
                 kc.andB(kc.lt(row, a.rows->size()), kc.lt(col, kc.c.k.size())));
}

Value itemRow(KernelContext &kc, int64_t i) {
  return kc.add(kc.div(kc.tid, 4), i * (kc.threads / 4));
}

/// Starts loading this thread's items of tile `tile`: per item 4 words of
/// values and the metadata word (i16), as loaded (the loads of an item
/// outside the data are predicated off or clamped; twoFourDecode zeroes
/// them).
SmallVector<Value> loadTwoFour(KernelContext &kc, OperandTile &a, Value tile, Value count) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  int64_t N = a.rows->size(), K = kc.c.k.size();
  Value q = kc.rem(kc.tid, 4);
  Value gk = arith::MinSIOp::create(b, loc, kc.add(a.sparse.kBegin, tile),
                                    kc.cst((K + 63) / 64 - 1));
  SmallVector<Value> out;
  for (int64_t i = 0; i < SparseWeight::twoFourItems(kc.bm, kc.threads); ++i) {
    Value r = itemRow(kc, i);
    Value valid = twoFourValid(kc, a, tile, count, r, q);
    Value row = arith::MinSIOp::create(b, loc, kc.add(a.rowOrigin, r), kc.cst(N - 1));
    Value col = kc.add(kc.mul(gk, 64), kc.mul(q, 16)); // logical column = value byte
    Value byte = arith::MinSIOp::create(b, loc, kc.add(kc.mul(row, K), col), kc.cst(N * K - 16));
    llvm::append_range(out, streamingLoadWords(b, loc, a.global, kc.idx(byte), 4,
                                               a.sparse.policy, valid));
    Value word = arith::MinSIOp::create(b, loc, kc.div(kc.add(kc.mul(row, K), col), 16),
                                        kc.cst(N * K / 16 - 1));
    out.push_back(memref::LoadOp::create(b, loc, a.sparse.meta, ValueRange{kc.idx(word)}));
  }
  return out;
}

/// Decodes this thread's items of tile `tile` (`words`, as loadTwoFour
/// returned them) into `stage`: per group of four columns the two values
/// go to the positions its metadata names (low two bits the first), the
/// other two are zeros; the 16 columns are two 16-byte chunks of the row,
/// stored at their swizzled places (chunk c of row r at c ^ (r % 8)).
void twoFourDecode(KernelContext &kc, OperandTile &a, Value stage, Value tile, Value count,
                   ArrayRef<Value> words) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Type i32 = b.getI32Type();
  auto c32 = [&](int64_t v) { return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v)); };
  Value zero = c32(0);
  Value quads = sharedView(kc, a, i32);
  Value q = kc.rem(kc.tid, 4);
  for (int64_t i = 0; i < SparseWeight::twoFourItems(kc.bm, kc.threads); ++i) {
    ArrayRef<Value> item = words.slice(5 * i, 5);
    Value r = itemRow(kc, i);
    Value valid = twoFourValid(kc, a, tile, count, r, q);
    Value m = arith::ExtUIOp::create(b, loc, i32, item[4]);
    m = arith::SelectOp::create(b, loc, valid, m, zero);
    SmallVector<Value, 8> out;
    for (int64_t j = 0; j < 4; ++j) {
      Value v = arith::SelectOp::create(b, loc, valid, item[j], zero);
      Value lo = arith::AndIOp::create(b, loc, v, c32(0xffff));
      Value hi = arith::ShRUIOp::create(b, loc, v, c32(16));
      auto field = [&](int64_t shift) {
        return arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, m, c32(shift)), c32(3));
      };
      Value i0 = field(4 * j), i1 = field(4 * j + 2);
      auto at = [&](int64_t p) {
        auto is = [&](Value idx) {
          return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, idx, c32(p));
        };
        return arith::OrIOp::create(b, loc, arith::SelectOp::create(b, loc, is(i0), lo, zero),
                                    arith::SelectOp::create(b, loc, is(i1), hi, zero));
      };
      for (int64_t p = 0; p < 4; p += 2)
        out.push_back(arith::OrIOp::create(b, loc, at(p),
                                           arith::ShLIOp::create(b, loc, at(p + 1), c32(16))));
    }
    // The stage's row r: 128 bytes, chunk c at (c ^ (r % 8)) * 16.
    Value rowBase = kc.add(kc.mul(stage, kc.bm * 128), kc.mul(r, 128));
    for (int64_t h = 0; h < 2; ++h) {
      Value chunk = kc.xorI(kc.add(kc.mul(q, 2), h), kc.andI(r, 7));
      Value at = kc.div(kc.add(rowBase, kc.mul(chunk, 16)), 4);
      Value vec = vector::FromElementsOp::create(b, loc, VectorType::get({4}, i32),
                                                 ArrayRef<Value>(out).slice(4 * h, 4));
      vector::StoreOp::create(b, loc, vec, quads, ValueRange{kc.idx(at)}, /*nontemporal=*/false,
                              llvm::MaybeAlign(16));
    }
  }
}
} // namespace

namespace {
/// The format's two halves of the pipeline: start loading tile `tile`'s
/// words (Tiled-CSL: its first chunks; 2:4: its items), and store them into
/// `stage` (Tiled-CSL: scattered into a zeroed stage, with the bounds read
/// again from the shared offsets; 2:4: decoded, every element written).
bool twoFour(KernelContext &kc) { return kc.c.sparse->twoFour; }

SmallVector<Value> loadTile(KernelContext &kc, OperandTile &a, Value tile, Value count) {
  return twoFour(kc) ? loadTwoFour(kc, a, tile, count)
                     : loadWords(kc, a, tileBounds(kc, a, tile, count));
}

void storeTile(KernelContext &kc, OperandTile &a, Value stage, Value tile, Value count,
               ArrayRef<Value> words) {
  if (twoFour(kc))
    twoFourDecode(kc, a, stage, tile, count, words);
  else
    scatterTile(kc, a, stage, tileBounds(kc, a, tile, count), words);
}
} // namespace

// The pipeline's state is the words of tiles j .. j + D - 1 (D = prefetch;
// j = kt + stages - 2 at iteration kt), as many a tile as
// SparseWeight::registersPerTile says.
SmallVector<Value> einloom::codegen::startSparsePipeline(KernelContext &kc, OperandTile &a,
                                                         int64_t stages, Value count) {
  int64_t depth = a.sparse.depth, first = stages - 2;
  // Tiled-CSL: the offsets into shared memory, and zero-filled stages (a
  // 2:4 tile writes every element of its stage).
  if (!twoFour(kc)) {
    copyOffsets(kc, a);
    for (int64_t st = 0; st + 1 < stages; ++st)
      zeroStage(kc, a, kc.cst(st));
    gpu::BarrierOp::create(kc.b, kc.loc);
  }
  // Tiles 0 .. stages - 3 are stored here, their loads all issued before
  // the first store; then the pipeline's first tiles start loading.
  SmallVector<SmallVector<Value>> words;
  for (int64_t t = 0; t < first; ++t)
    words.push_back(loadTile(kc, a, kc.cst(t), count));
  for (int64_t t = 0; t < first; ++t)
    storeTile(kc, a, kc.cst(t), kc.cst(t), count, words[t]);
  SmallVector<Value> state;
  for (int64_t t = first; t < first + depth; ++t)
    llvm::append_range(state, loadTile(kc, a, kc.cst(t), count));
  return state;
}

SmallVector<Value> einloom::codegen::stepSparsePipeline(KernelContext &kc, OperandTile &a,
                                                        ArrayRef<Value> state, Value kt,
                                                        int64_t stages, Value count) {
  size_t nw = kc.c.sparse->registersPerTile(kc.bm, kc.threads);
  // Tile kt + stages - 2 (loaded `depth` iterations ago) into its stage
  // (Tiled-CSL: zeroed last iteration, and the stage the previous
  // iteration finished reading is zeroed now); then tile kt + stages - 2 +
  // depth starts loading into the registers just freed (so that a loop
  // unrolled by the depth keeps each tile's words where they were loaded,
  // with no copies waiting on them).
  Value t = kc.add(kt, kc.cst(stages - 2));
  storeTile(kc, a, kc.rem(t, stages), t, count, state.take_front(nw));
  if (!twoFour(kc))
    zeroStage(kc, a, kc.rem(kc.add(kt, kc.cst(stages - 1)), stages));
  SmallVector<Value> next(state.drop_front(nw));
  llvm::append_range(next, loadTile(kc, a, kc.add(t, kc.cst(a.sparse.depth)), count));
  return next;
}
