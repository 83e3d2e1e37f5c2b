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
// (twoFourDecode below). A bitmap weight's values and masks are loaded the
// same way, then staged in shared memory one iteration before their decode
// (stageBitmap, decodeBitmap below).
//
// Nothing read from the words or offsets can address memory outside the
// buffers or the stage: the chunk count is clamped to a tile's size, the
// first word is aligned down to a chunk and clamped to the buffer, and a
// slot is masked to the stage. Corrupt data gives wrong numbers, never a
// fault.
//
//===----------------------------------------------------------------------===//
#include "KernelContext.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

namespace {
bool bitmap(KernelContext &kc) { return kc.c.sparse->bitmap(); }

/// An i32 constant (the decoders' bit arithmetic is 32-bit whatever the
/// kernel's integer type).
Value c32(KernelContext &kc, int64_t v) {
  return arith::ConstantOp::create(kc.b, kc.loc, kc.b.getI32IntegerAttr(v));
}

/// Chunks (16 bytes, four words) a tile holds at most: every element stored
/// (Tiled-CSL: a word each; bitmap: a 16-bit value each).
int64_t mostChunks(KernelContext &kc) { return kc.bm * kc.bk / (bitmap(kc) ? 8 : 4); }

/// Shared-memory bytes `bytes` (memref<n x i8, 3>) seen as elements of `t`.
Value sharedView(KernelContext &kc, Value bytes, Type t) {
  auto sType = cast<MemRefType>(bytes.getType());
  return memref::ViewOp::create(
      kc.b, kc.loc,
      MemRefType::get({sType.getNumElements() * 8 / t.getIntOrFloatBitWidth()}, t, nullptr,
                      sType.getMemorySpace()),
      bytes, arith::ConstantIndexOp::create(kc.b, kc.loc, 0), ValueRange{});
}
Value sharedView(KernelContext &kc, OperandTile &a, Type t) {
  return sharedView(kc, a.smemBytes, t);
}

Value vec4(KernelContext &kc, ArrayRef<Value> words) {
  return vector::FromElementsOp::create(kc.b, kc.loc, VectorType::get({4}, kc.b.getI32Type()),
                                        words);
}

/// Stores 16 bytes (`vec`, vector<4xi32>) at 32-bit element `at` of `quads`.
void storeQuad(KernelContext &kc, Value quads, Value at, Value vec) {
  vector::StoreOp::create(kc.b, kc.loc, vec, quads, ValueRange{kc.idx(at)},
                          /*nontemporal=*/false, llvm::MaybeAlign(16));
}

/// The byte of logical chunk `chunk` (16 bytes) of row `row` of A stage
/// `stage`: tile_m rows of 128 bytes, the chunk at chunk ^ (row % 8) (the
/// swizzle the ldmatrix core reads).
Value stageChunkByte(KernelContext &kc, Value stage, Value row, Value chunk) {
  return kc.add(kc.mul(stage, kc.bm * 128),
                kc.add(kc.mul(row, 128), kc.mul(kc.xorI(chunk, kc.andI(row, 7)), 16)));
}

/// cp.async of `bytes` (16 bypass L1) from byte `src` of `global` to byte
/// `dst` of the A tile's shared memory.
void copyAsync(KernelContext &kc, OperandTile &a, Value dst, Value global, Value src,
               int64_t bytes) {
  nvgpu::DeviceAsyncCopyOp::create(kc.b, kc.loc, a.smemBytes, ValueRange{kc.idx(dst)}, global,
                                   ValueRange{kc.idx(src)}, kc.b.getIndexAttr(bytes), Value(),
                                   bytes == 16 ? kc.b.getUnitAttr() : UnitAttr());
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
  if (bitmap(kc)) { // offsets count 16-bit values: two a word
    begin = arith::ShRSIOp::create(b, loc, begin, kc.cst(1));
    end = arith::ShRSIOp::create(b, loc, end, kc.cst(1));
  }
  Value zero = kc.cst(0);
  Value chunks = arith::SubIOp::create(b, loc, end, begin);
  chunks = arith::MaxSIOp::create(b, loc, zero, arith::DivSIOp::create(b, loc, chunks, kc.cst(4)));
  chunks = arith::MinSIOp::create(b, loc, chunks, kc.cst(mostChunks(kc)));
  chunks = kc.select(kc.ltV(tile, count), chunks, zero);
  begin = arith::MaxSIOp::create(b, loc, zero, kc.andI(begin, ~int64_t(3)));
  begin = arith::MinSIOp::create(b, loc, begin, a.sparse.lastChunkWord);
  return {begin, chunks};
}

/// Copies entries `first` .. of the i32 array `global` (as many as
/// a.sparse.sharedOffsets holds, each index clamped into the array) into
/// a.sparse.sharedOffsets: eight loads a thread in flight, then their
/// stores. A barrier must follow before they are read. (Tiled-CSL and
/// bitmap: the CTA's tile offsets; block_csr: its block row's column
/// indices.)
void copyToShared(KernelContext &kc, OperandTile &a, Value global, Value first) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  int64_t n = cast<MemRefType>(a.sparse.sharedOffsets.getType()).getNumElements();
  int64_t last = cast<MemRefType>(global.getType()).getNumElements() - 1;
  const int64_t perThread = 8;
  int64_t batches = llvm::divideCeil(n, kc.threads * perThread);
  auto loop = scf::ForOp::create(b, loc, kc.cst(0), kc.cst(batches), kc.cst(1));
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(loop.getBody());
  Value base = kc.mul(loop.getInductionVar(), kc.threads * perThread);
  SmallVector<Value> at, vals;
  for (int64_t i = 0; i < perThread; ++i) {
    at.push_back(kc.add(base, kc.add(kc.tid, i * kc.threads)));
    Value entryAt = arith::MinSIOp::create(b, loc, kc.add(first, at.back()), kc.cst(last));
    vals.push_back(memref::LoadOp::create(b, loc, global, ValueRange{kc.idx(entryAt)}));
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
    // (Every thread has a chunk: tile_m * 8 chunks over 128 threads.)
    storeQuad(kc, quads, kc.add(base, kc.mul(kc.add(kc.tid, i * kc.threads), 4)), zero);
  }
}

/// Calls `store(chunk, its four words)` for each of this thread's chunks of
/// the tile with `bounds`: those in `words` (the registers, first
/// a.sparse.chunks a thread), then any further ones of a denser tile,
/// loaded here.
void eachChunk(KernelContext &kc, OperandTile &a, ArrayRef<Value> bounds, ArrayRef<Value> words,
               function_ref<void(Value, ArrayRef<Value>)> store) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  for (int64_t i = 0; i < a.sparse.chunks; ++i) {
    Value chunk = kc.add(kc.tid, i * kc.threads);
    auto guard = scf::IfOp::create(b, loc, kc.ltV(chunk, bounds[1]), /*withElse=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&guard.getThenRegion().front());
    store(chunk, words.slice(4 * i, 4));
  }
  Value from = kc.add(kc.tid, a.sparse.chunks * kc.threads);
  auto loop = scf::ForOp::create(b, loc, from, bounds[1], kc.cst(kc.threads));
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(loop.getBody());
  Value chunk = loop.getInductionVar();
  SmallVector<Value> more = streamingLoadWords(
      b, loc, a.global, chunkByteOffset(kc, a, bounds[0], chunk), 4, a.sparse.policy);
  store(chunk, more);
}

/// Stores a tile's words at their slots of `stage` (zeroed before).
void scatterTile(KernelContext &kc, OperandTile &a, Value stage, ArrayRef<Value> bounds,
                 ArrayRef<Value> words) {
  Value halves = sharedView(kc, a, kc.b.getI16Type());
  Value stageBase = kc.mul(stage, kc.bm * kc.bk);
  eachChunk(kc, a, bounds, words, [&](Value, ArrayRef<Value> four) {
    storeChunk(kc, halves, stageBase, four);
  });
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
  Value zero = c32(kc, 0);
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
      Value lo = arith::AndIOp::create(b, loc, v, c32(kc, 0xffff));
      Value hi = arith::ShRUIOp::create(b, loc, v, c32(kc, 16));
      auto field = [&](int64_t shift) {
        return arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, m, c32(kc, shift)), c32(kc, 3));
      };
      Value i0 = field(4 * j), i1 = field(4 * j + 2);
      auto at = [&](int64_t p) {
        auto is = [&](Value idx) {
          return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, idx, c32(kc, p));
        };
        return arith::OrIOp::create(b, loc, arith::SelectOp::create(b, loc, is(i0), lo, zero),
                                    arith::SelectOp::create(b, loc, is(i1), hi, zero));
      };
      for (int64_t p = 0; p < 4; p += 2)
        out.push_back(arith::OrIOp::create(b, loc, at(p),
                                           arith::ShLIOp::create(b, loc, at(p + 1), c32(kc, 16))));
    }
    // The stage's row r: its chunks 2q and 2q + 1.
    for (int64_t h = 0; h < 2; ++h)
      storeQuad(kc, quads, kc.div(stageChunkByte(kc, stage, r, kc.add(kc.mul(q, 2), h)), 4),
                vec4(kc, ArrayRef<Value>(out).slice(4 * h, 4)));
  }
}
} // namespace

namespace {
// Bitmap: a tile of bm x 64 has bm * 2 half-blocks (8 columns by 4 rows,
// one 32-bit mask word each, bit 8r + c for row r, column c); thread t
// owns half-blocks t * H .. t * H + H - 1 (H = SparseWeight::maskWords),
// whose values are one contiguous run of the tile's values, in order. Each
// tile passes through one of two staging buffers in shared memory:
//   values (bm * 64 x 16 bits, the tile's chunks from its offset) |
//   masks (bm * 2 words, in thread order) | each thread's first value
//   within its warp (threads words) | each warp's count (a word a warp).
// stageBitmap fills one an iteration before decodeBitmap reads it, so the
// main loop's barrier lies between them and no barrier is added.

/// Starts loading tile `tile`'s mask words (undefined for a tile past
/// `count`: stageBitmap zeroes them) and its first value chunks.
SmallVector<Value> loadBitmap(KernelContext &kc, OperandTile &a, Value tile, Value count) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  int64_t perTile = kc.bm * kc.bk / 32;
  Value global = arith::MinSIOp::create(b, loc, kc.add(a.sparse.firstTile, tile),
                                        kc.cst(kc.c.sparse->tiles - 1));
  Value word = kc.add(kc.mul(global, perTile), kc.mul(kc.tid, a.sparse.maskWords));
  SmallVector<Value> out = streamingLoadWords(b, loc, a.sparse.masks, kc.idx(kc.mul(word, 4)),
                                              a.sparse.maskWords, a.sparse.policy,
                                              kc.ltV(tile, count));
  llvm::append_range(out, loadWords(kc, a, tileBounds(kc, a, tile, count)));
  return out;
}

/// The byte offsets, within one staging buffer, of its masks, first values
/// and warp counts.
struct StagingLayout {
  int64_t masks, firsts, warps;
  explicit StagingLayout(KernelContext &kc)
      : masks(kc.bm * kc.bk * 2), firsts(masks + kc.bm * kc.bk / 8),
        warps(firsts + kc.threads * 4) {}
};

/// Stores tile `tile` (`words`, as loadBitmap returned them) into staging
/// buffer `buf`: its value chunks (the registers', then any further ones
/// of a denser tile, loaded here), its masks, and from their popcounts each
/// thread's first value within its warp (an inclusive shuffle scan less its
/// own count) and each warp's count.
void stageBitmap(KernelContext &kc, OperandTile &a, Value buf, Value tile, Value count,
                 ArrayRef<Value> words) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Type i32 = b.getI32Type();
  StagingLayout at(kc);
  Value quads = sharedView(kc, a.sparse.staging, i32);
  Value base = kc.mul(buf, a.sparse.stagingBytes / 4); // in words
  int64_t nm = a.sparse.maskWords;
  eachChunk(kc, a, tileBounds(kc, a, tile, count), words.drop_front(nm),
            [&](Value chunk, ArrayRef<Value> four) {
              storeQuad(kc, quads, kc.add(base, kc.mul(chunk, 4)), vec4(kc, four));
            });
  Value valid = kc.ltV(tile, count);
  Value own = c32(kc, 0);
  for (int64_t i = 0; i < nm; ++i) {
    Value m = arith::SelectOp::create(b, loc, valid, words[i], c32(kc, 0));
    memref::StoreOp::create(
        b, loc, m, quads,
        ValueRange{kc.idx(kc.add(base, kc.add(kc.mul(kc.tid, nm), at.masks / 4 + i)))});
    own = arith::AddIOp::create(b, loc, own, LLVM::CtPopOp::create(b, loc, i32, m));
  }
  Value scan = own;
  Value width = c32(kc, 32);
  for (int64_t d = 1; d < 32; d *= 2) {
    auto up = gpu::ShuffleOp::create(b, loc, scan, c32(kc, d), width, gpu::ShuffleMode::UP);
    Value add = arith::SelectOp::create(b, loc, up.getValid(), up.getShuffleResult(), c32(kc, 0));
    scan = arith::AddIOp::create(b, loc, scan, add);
  }
  memref::StoreOp::create(b, loc, arith::SubIOp::create(b, loc, scan, own), quads,
                          ValueRange{kc.idx(kc.add(base, kc.add(kc.tid, at.firsts / 4)))});
  Value lastLane = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, kc.lane, kc.cst(31));
  auto last = scf::IfOp::create(b, loc, lastLane, /*withElse=*/false);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(&last.getThenRegion().front());
  memref::StoreOp::create(
      b, loc, scan, quads,
      ValueRange{kc.idx(kc.add(base, kc.add(kc.div(kc.tid, 32), at.warps / 4)))});
}

/// Decodes the tile in staging buffer `buf` into `stage`: each of the
/// thread's half-blocks from its mask and the values from its first (its
/// first within its warp plus the earlier warps' counts), element (r, c)
/// the next value if bit 8r + c is set, else zero; each row of 8 stored
/// whole at its swizzled 16-byte chunk (chunk c of row r at c ^ (r % 8)).
/// A value's index is masked to the staged values, so corrupt masks read
/// wrong values, never outside the buffer.
void decodeBitmap(KernelContext &kc, OperandTile &a, Value buf, Value stage) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Type i32 = b.getI32Type();
  StagingLayout at(kc);
  Value words = sharedView(kc, a.sparse.staging, i32);
  Value halves = sharedView(kc, a.sparse.staging, b.getI16Type());
  Value stageQuads = sharedView(kc, a, i32);
  Value base = kc.mul(buf, a.sparse.stagingBytes / 4);
  int64_t nm = a.sparse.maskWords;
  Value warp = kc.div(kc.tid, 32);
  Value first = memref::LoadOp::create(
      b, loc, words, ValueRange{kc.idx(kc.add(base, kc.add(kc.tid, at.firsts / 4)))});
  for (int64_t w = 0; w + 1 < kc.threads / 32; ++w) {
    Value n = memref::LoadOp::create(b, loc, words,
                                     ValueRange{kc.idx(kc.add(base, at.warps / 4 + w))});
    n = arith::SelectOp::create(b, loc, kc.ltV(kc.cst(w), warp), n, c32(kc, 0));
    first = arith::AddIOp::create(b, loc, first, n);
  }
  Value valueBase = kc.idx(kc.mul(base, 2)); // the buffer's first value
  int64_t capacity = kc.bm * kc.bk; // staged values, a power of two
  for (int64_t i = 0; i < nm; ++i) {
    Value m = memref::LoadOp::create(
        b, loc, words,
        ValueRange{kc.idx(kc.add(base, kc.add(kc.mul(kc.tid, nm), at.masks / 4 + i)))});
    Value h = kc.add(kc.mul(kc.tid, nm), i); // half-block
    Value block = kc.div(h, 2);
    Value row0 = kc.add(kc.mul(kc.div(block, kc.bk / 8), 8), kc.mul(kc.rem(h, 2), 4));
    Value col8 = kc.rem(block, kc.bk / 8);
    for (int64_t r = 0; r < 4; ++r) {
      SmallVector<Value, 8> vals;
      for (int64_t c = 0; c < 8; ++c) {
        int64_t q = 8 * r + c;
        Value before = LLVM::CtPopOp::create(
            b, loc, i32, arith::AndIOp::create(b, loc, m, c32(kc, (int64_t(1) << q) - 1)));
        Value idx = arith::AndIOp::create(b, loc, arith::AddIOp::create(b, loc, first, before),
                                          c32(kc, capacity - 1));
        Value at16 = arith::AddIOp::create(
            b, loc, arith::IndexCastUIOp::create(b, loc, b.getIndexType(), idx), valueBase);
        Value v = arith::ExtUIOp::create(
            b, loc, i32, memref::LoadOp::create(b, loc, halves, ValueRange{at16}));
        Value set = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ne,
            arith::AndIOp::create(b, loc, m, c32(kc, int64_t(1) << q)), c32(kc, 0));
        vals.push_back(arith::SelectOp::create(b, loc, set, v, c32(kc, 0)));
      }
      SmallVector<Value, 4> packed;
      for (int64_t c = 0; c < 8; c += 2)
        packed.push_back(arith::OrIOp::create(
            b, loc, vals[c], arith::ShLIOp::create(b, loc, vals[c + 1], c32(kc, 16))));
      storeQuad(kc, stageQuads, kc.div(stageChunkByte(kc, stage, kc.add(row0, r), col8), 4),
                vec4(kc, packed));
    }
    first = arith::AddIOp::create(b, loc, first, LLVM::CtPopOp::create(b, loc, i32, m));
  }
}
} // namespace

namespace {
/// The format's two halves of the pipeline: start loading tile `tile`'s
/// words (Tiled-CSL: its first chunks; bitmap: its masks and first value
/// chunks; 2:4: its items), and store them into `stage` (Tiled-CSL:
/// scattered into a zeroed stage, with the bounds read again from the
/// shared offsets; 2:4: decoded, every element written). A bitmap tile is
/// stored in two steps instead (stageBitmap, decodeBitmap).
bool twoFour(KernelContext &kc) { return kc.c.sparse->twoFour(); }

SmallVector<Value> loadTile(KernelContext &kc, OperandTile &a, Value tile, Value count) {
  if (bitmap(kc))
    return loadBitmap(kc, a, tile, count);
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
// j = kt + stages - 2 at iteration kt; bitmap: j + 1 .. j + D, tile j
// being in its staging buffer), as many a tile as
// SparseWeight::registersPerTile says.
SmallVector<Value> einloom::codegen::startSparsePipeline(KernelContext &kc, OperandTile &a,
                                                         int64_t stages, Value count) {
  int64_t depth = a.sparse.depth, first = stages - 2;
  // Tiled-CSL and bitmap: the offsets into shared memory; Tiled-CSL:
  // zero-filled stages (bitmap and 2:4 tiles write every element).
  if (!twoFour(kc)) {
    copyToShared(kc, a, a.sparse.offsets, a.sparse.firstTile);
    if (!bitmap(kc))
      for (int64_t st = 0; st + 1 < stages; ++st)
        zeroStage(kc, a, kc.cst(st));
    gpu::BarrierOp::create(kc.b, kc.loc);
  }
  // Tiles 0 .. stages - 3 are stored here, their loads all issued before
  // the first store; then the pipeline's first tiles start loading. A
  // bitmap tile is staged, and decoded after a barrier; tile stages - 2 is
  // left staged for the main loop's first iteration.
  int64_t staged = bitmap(kc) ? 1 : 0;
  SmallVector<SmallVector<Value>> words;
  for (int64_t t = 0; t < first + staged; ++t)
    words.push_back(loadTile(kc, a, kc.cst(t), count));
  for (int64_t t = 0; t < first; ++t) {
    if (!bitmap(kc)) {
      storeTile(kc, a, kc.cst(t), kc.cst(t), count, words[t]);
      continue;
    }
    stageBitmap(kc, a, kc.cst(t % 2), kc.cst(t), count, words[t]);
    gpu::BarrierOp::create(kc.b, kc.loc);
    decodeBitmap(kc, a, kc.cst(t % 2), kc.cst(t));
  }
  if (bitmap(kc))
    stageBitmap(kc, a, kc.cst(first % 2), kc.cst(first), count, words[first]);
  SmallVector<Value> state;
  for (int64_t t = first + staged; t < first + staged + depth; ++t)
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
  // with no copies waiting on them). A bitmap tile kt + stages - 2 is
  // decoded from the staging buffer the previous iteration filled (the
  // main loop's barrier between), and the next tile is staged in the
  // other buffer, which the previous iteration's decode finished reading
  // before that barrier.
  Value t = kc.add(kt, kc.cst(stages - 2));
  Value next = t;
  if (bitmap(kc)) {
    next = kc.add(t, 1);
    decodeBitmap(kc, a, kc.rem(t, 2), kc.rem(t, stages));
    stageBitmap(kc, a, kc.rem(next, 2), next, count, state.take_front(nw));
  } else {
    storeTile(kc, a, kc.rem(t, stages), t, count, state.take_front(nw));
  }
  if (!twoFour(kc) && !bitmap(kc))
    zeroStage(kc, a, kc.rem(kc.add(kt, kc.cst(stages - 1)), stages));
  SmallVector<Value> out(state.drop_front(nw));
  llvm::append_range(out, loadTile(kc, a, kc.add(next, kc.cst(a.sparse.depth)), count));
  return out;
}

// Block-sparse (block_csr): the K loop walks the block row's stored blocks;
// block j of the row (the j-th K tile the CTA runs) is copied whole (64 rows
// of 128 bytes) into the stage, and the activations' K tile is the one its
// column index names. Corrupt row pointers or column indices give wrong
// numbers, never a read outside the buffers: the range is clamped to the
// blocks given and to K's tiles, a column index to K's tiles.
Value einloom::codegen::startBlockSparse(KernelContext &kc, OperandTile &a, Value rowTile) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  auto entry = [&](Value i) {
    Value v = memref::LoadOp::create(b, loc, a.sparse.offsets, ValueRange{kc.idx(i)});
    return kc.intType == v.getType() ? v
                                     : arith::ExtSIOp::create(b, loc, kc.intType, v).getResult();
  };
  Value zero = kc.cst(0);
  Value begin = entry(rowTile), end = entry(kc.add(rowTile, 1));
  begin = arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, begin, zero),
                                 a.sparse.lastBlock);
  Value count = arith::SubIOp::create(b, loc, end, begin);
  int64_t kTiles = kc.c.k.size() / 64;
  count = arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, count, zero),
                                 kc.cst(kTiles));
  a.sparse.rowBegin = begin;
  copyToShared(kc, a, a.sparse.indices, begin); // the row's column indices
  gpu::BarrierOp::create(b, loc);
  return count;
}

Value einloom::codegen::copyBlock(KernelContext &kc, OperandTile &a, Value stage, Value kTile) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Value blk = arith::MinSIOp::create(b, loc, kc.add(a.sparse.rowBegin, kTile), a.sparse.lastBlock);
  Value blockBase = kc.mul(blk, kc.bm * 128);
  // bm x 8 chunks of 16 bytes, every thread the same number (4 warps).
  for (int64_t i = 0; i * kc.threads < kc.bm * 8; ++i) {
    Value chunk = kc.add(kc.tid, i * kc.threads);
    copyAsync(kc, a, stageChunkByte(kc, stage, kc.div(chunk, 8), kc.rem(chunk, 8)), a.global,
              kc.add(blockBase, kc.mul(chunk, 16)), 16);
  }
  // The activations' K tile: the block's column, clamped to K's tiles.
  int64_t kTiles = kc.c.k.size() / 64;
  Value col = memref::LoadOp::create(
      b, loc, a.sparse.sharedOffsets,
      ValueRange{kc.idx(arith::MinSIOp::create(b, loc, kTile, kc.cst(kTiles - 1)))});
  if (col.getType() != kc.intType)
    col = arith::ExtSIOp::create(b, loc, kc.intType, col);
  col = arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, col, kc.cst(0)),
                               kc.cst(kTiles - 1));
  return kc.mul(col, 64);
}

void einloom::codegen::copyTwoFourStage(KernelContext &kc, OperandTile &a, Value stage,
                                        Value kTile) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  int64_t N = a.rows->size(), K = kc.c.k.size();
  auto rowOf = [&](Value r) {
    return arith::MinSIOp::create(b, loc, kc.add(a.rowOrigin, r), kc.cst(N - 1)).getResult();
  };
  // The values: bm x 4 chunks (row r, chunk q: bytes row K + 64 kTile +
  // 16 q), every thread the same number (4 warps).
  for (int64_t i = 0; i * kc.threads < kc.bm * 4; ++i) {
    Value item = kc.add(kc.tid, i * kc.threads);
    Value r = kc.div(item, 4), q = kc.rem(item, 4);
    Value src = kc.add(kc.add(kc.mul(rowOf(r), K), kc.mul(kTile, 64)), kc.mul(q, 16));
    copyAsync(kc, a, stageChunkByte(kc, stage, r, q), a.global, src, 16);
  }
  // The metadata: row r's 8 bytes (bytes row K/8 + 8 kTile), threads 0 ..
  // bm - 1.
  auto some = scf::IfOp::create(b, loc, kc.lt(kc.tid, kc.bm), false);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(&some.getThenRegion().front());
  Value r = kc.tid;
  Value src = kc.add(kc.mul(rowOf(r), K / 8), kc.mul(kTile, 8));
  copyAsync(kc, a, stageChunkByte(kc, stage, r, kc.cst(4)), a.sparse.metaBytes, src, 8);
}
