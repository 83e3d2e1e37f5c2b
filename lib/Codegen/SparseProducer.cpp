//===- SparseProducer.cpp - Tiled-CSL tiles into dense A stages -----------===//
//
// The sparse kernel's producer ("load as sparse, compute as dense"). A
// weight tile of tile_m x 64 arrives as 32-bit words, each a 16-bit value
// and its 16-bit slot in the stage's swizzled shared-memory image
// (docs/dialect.md, tiled_csl), padded to 16-byte chunks. The words travel
// as the activations do: 16-byte cp.async copies into a staging ring as
// deep as the plan's stages, so that several tiles' words are in flight at
// once (a sparse tile is a few KiB: one in flight per CTA leaves the memory
// system idle). Thread t copies chunks t, t + T, ... up to the staging
// stage's size. Once a tile's group has landed, thread t reads the same
// chunks back and stores each word's value at its slot of a dense stage
// that was zero-filled before the last barrier; a denser tile's further
// chunks are loaded from global memory there. The dense stage is then the
// KMajorVector tile the ldmatrix/mma.sync core reads.
//
// Nothing read from the words or offsets can address memory outside the
// buffers or the stages: the chunk count is clamped to a tile's size, the
// first word is aligned down to a chunk and clamped to the buffer, each
// chunk's word too, and a slot is masked to the stage. Corrupt data gives
// wrong numbers, never a fault.
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
/// Chunks (16 bytes) a tile holds at most: every element stored, as a
/// 32-bit word (Tiled-CSL) or a 16-bit value (bitmap).
int64_t mostChunks(const KernelContext &kc, const OperandTile &a) {
  return kc.bm * kc.bk / (a.sparse.bitmap ? 8 : 4);
}

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
} // namespace

void einloom::codegen::fillOffsetRing(KernelContext &kc, OperandTile &a, int64_t n) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  for (int64_t i = 0; i * kc.threads < n; ++i) {
    Value at = kc.add(kc.tid, i * kc.threads);
    auto guard = scf::IfOp::create(b, loc, kc.lt(at, n), /*withElse=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&guard.getThenRegion().front());
    Value t = kc.add(a.sparse.firstTile, arith::MinSIOp::create(b, loc, at, a.sparse.count));
    Value v = memref::LoadOp::create(b, loc, a.sparse.offsets, ValueRange{kc.idx(t)});
    memref::StoreOp::create(b, loc, v, a.sparse.ring,
                            ValueRange{kc.idx(kc.rem(at, a.sparse.ringSize))});
  }
}

void einloom::codegen::copyOffsetToRing(KernelContext &kc, OperandTile &a, Value i) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  auto first = scf::IfOp::create(b, loc, kc.lt(kc.tid, 1), /*withElse=*/false);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(&first.getThenRegion().front());
  Value t = kc.add(a.sparse.firstTile, arith::MinSIOp::create(b, loc, i, a.sparse.count));
  nvgpu::DeviceAsyncCopyOp::create(b, loc, a.sparse.ring,
                                   ValueRange{kc.idx(kc.rem(i, a.sparse.ringSize))},
                                   a.sparse.offsets, ValueRange{kc.idx(t)}, b.getIndexAttr(1),
                                   /*dstElements=*/Value(), /*bypassL1=*/UnitAttr());
}

Value einloom::codegen::ringOffset(KernelContext &kc, OperandTile &a, Value i) {
  Value v = memref::LoadOp::create(kc.b, kc.loc, a.sparse.ring,
                                   ValueRange{kc.idx(kc.rem(i, a.sparse.ringSize))});
  return kc.intType == v.getType()
             ? v
             : arith::ExtSIOp::create(kc.b, kc.loc, kc.intType, v).getResult();
}

SmallVector<Value, 2> einloom::codegen::sparseTileBounds(KernelContext &kc, OperandTile &a,
                                                         Value begin, Value end) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  // Chunks: (end - begin) / 4, clamped to [0, a tile's most]; the first
  // word aligned down to a chunk and clamped into the buffer.
  Value zero = kc.cst(0);
  if (a.sparse.bitmap) { // offsets count 16-bit values: two a word
    begin = arith::ShRSIOp::create(b, loc, begin, kc.cst(1));
    end = arith::ShRSIOp::create(b, loc, end, kc.cst(1));
  }
  Value count = arith::SubIOp::create(b, loc, end, begin);
  count = arith::MaxSIOp::create(b, loc, zero, arith::DivSIOp::create(b, loc, count, kc.cst(4)));
  count = arith::MinSIOp::create(b, loc, count, kc.cst(mostChunks(kc, a)));
  begin = arith::MaxSIOp::create(b, loc, zero, kc.andI(begin, ~int64_t(3)));
  begin = arith::MinSIOp::create(b, loc, begin, a.sparse.lastChunkWord);
  return {begin, count};
}

void einloom::codegen::issueSparseTile(KernelContext &kc, OperandTile &a, Value wStage,
                                       Value tile, ArrayRef<Value> bounds) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Value stageBase = kc.mul(wStage, a.sparse.stageBytes);
  // A bitmap tile's masks (a fixed size, at the tile's index; the caller
  // copies only tiles of the CTA), after the values' chunks.
  int64_t maskChunks = a.sparse.maskBytes / 16;
  for (int64_t i = 0; i * kc.threads < maskChunks; ++i) {
    Value chunk = kc.add(kc.tid, i * kc.threads);
    auto guard = scf::IfOp::create(b, loc, kc.lt(chunk, maskChunks), /*withElse=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&guard.getThenRegion().front());
    Value src = kc.add(kc.mul(kc.add(a.sparse.firstTile, tile), a.sparse.maskBytes),
                       kc.mul(chunk, 16));
    Value dst = kc.add(stageBase, kc.add(kc.mul(chunk, 16), a.sparse.stageBytes - a.sparse.maskBytes));
    nvgpu::DeviceAsyncCopyOp::create(b, loc, a.sparse.staging, ValueRange{kc.idx(dst)},
                                     a.sparse.masks, ValueRange{kc.idx(src)}, b.getIndexAttr(16),
                                     /*dstElements=*/Value(), /*bypassL1=*/b.getUnitAttr());
  }
  for (int64_t i = 0; i < a.sparse.chunks; ++i) {
    Value chunk = kc.add(kc.tid, i * kc.threads);
    auto guard = scf::IfOp::create(b, loc, kc.ltV(chunk, bounds[1]), /*withElse=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&guard.getThenRegion().front());
    nvgpu::DeviceAsyncCopyOp::create(b, loc, a.sparse.staging,
                                     ValueRange{kc.idx(kc.add(stageBase, kc.mul(chunk, 16)))},
                                     a.global, ValueRange{chunkByteOffset(kc, a, bounds[0], chunk)},
                                     b.getIndexAttr(16), /*dstElements=*/Value(),
                                     /*bypassL1=*/b.getUnitAttr());
  }
  // Thread 0 records the bounds for the scatter (read after a barrier).
  auto first = scf::IfOp::create(b, loc, kc.lt(kc.tid, 1), /*withElse=*/false);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(&first.getThenRegion().front());
  Value slot = kc.mul(wStage, 2);
  memref::StoreOp::create(b, loc, bounds[0], a.sparse.bounds, ValueRange{kc.idx(slot)});
  memref::StoreOp::create(b, loc, bounds[1], a.sparse.bounds, ValueRange{kc.idx(kc.add(slot, 1))});
}

void einloom::codegen::zeroStage(KernelContext &kc, OperandTile &a, Value aStage) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Value quads = sharedView(kc, a, b.getI32Type());
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(VectorType::get({4}, b.getI32Type()), b.getI32IntegerAttr(0)));
  int64_t chunks = a.stageBytes() / 16;
  Value base = kc.mul(aStage, a.stageBytes() / 4);
  for (int64_t i = 0; i * kc.threads < chunks; ++i) {
    Value at = kc.add(base, kc.mul(kc.add(kc.tid, i * kc.threads), 4));
    // (Every thread has a chunk: tile_m * 8 chunks over 128 threads.)
    vector::StoreOp::create(b, loc, zero, quads, ValueRange{kc.idx(at)}, /*nontemporal=*/false,
                            llvm::MaybeAlign(16));
  }
}

/// Tiled-CSL: each staged word's value at its slot of the zeroed stage.
static void scatterTiledCsl(KernelContext &kc, OperandTile &a, Value aStage, Value wStage) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Value halves = sharedView(kc, a, b.getI16Type());
  Value stageBase = kc.mul(aStage, kc.bm * kc.bk);
  Value slot = kc.mul(wStage, 2);
  Value first = memref::LoadOp::create(b, loc, a.sparse.bounds, ValueRange{kc.idx(slot)});
  Value count =
      memref::LoadOp::create(b, loc, a.sparse.bounds, ValueRange{kc.idx(kc.add(slot, 1))});
  auto sType = cast<MemRefType>(a.sparse.staging.getType());
  Value staged = memref::ViewOp::create(
      b, loc,
      MemRefType::get({sType.getNumElements() / 4}, b.getI32Type(), nullptr,
                      sType.getMemorySpace()),
      a.sparse.staging, arith::ConstantIndexOp::create(b, loc, 0), ValueRange{});
  Value wordBase = kc.mul(wStage, a.sparse.stageBytes / 4);
  VectorType quad = VectorType::get({4}, b.getI32Type());
  for (int64_t i = 0; i < a.sparse.chunks; ++i) {
    Value chunk = kc.add(kc.tid, i * kc.threads);
    auto guard = scf::IfOp::create(b, loc, kc.ltV(chunk, count), /*withElse=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&guard.getThenRegion().front());
    Value v = vector::LoadOp::create(b, loc, quad, staged,
                                     ValueRange{kc.idx(kc.add(wordBase, kc.mul(chunk, 4)))},
                                     /*nontemporal=*/false, llvm::MaybeAlign(16));
    SmallVector<Value, 4> words;
    for (int64_t q = 0; q < 4; ++q)
      words.push_back(vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{q}));
    storeChunk(kc, halves, stageBase, words);
  }
  // The chunks of a denser tile than a staging stage holds: loaded here.
  Value from = kc.add(kc.tid, a.sparse.chunks * kc.threads);
  auto loop = scf::ForOp::create(b, loc, from, count, kc.cst(kc.threads));
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(loop.getBody());
  SmallVector<Value> more =
      streamingLoadWords(b, loc, a.global, chunkByteOffset(kc, a, first, loop.getInductionVar()),
                         4, a.sparse.policy);
  storeChunk(kc, halves, stageBase, more);
}

/// A bitmap tile: thread t decodes its half-blocks (4 rows x 8 columns of
/// an 8 x 8 block, a 32-bit mask each) t * H .. t * H + H - 1, in the order
/// the values are stored, so that its first value is the number of marks
/// before them: a scan of the masks' popcounts over the lanes (shuffles)
/// plus the marks of the earlier warps (their masks read back and summed
/// across the warp). Each row of 8 is assembled from the staged values and
/// written whole as the 16-byte chunk the swizzled dense stage expects.
static void decodeBitmap(KernelContext &kc, OperandTile &a, Value aStage, Value wStage) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Type i32 = b.getI32Type(), i16 = b.getI16Type();
  auto c32 = [&](int64_t v) { return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v)); };
  auto add32 = [&](Value x, Value y) { return arith::AddIOp::create(b, loc, x, y).getResult(); };
  auto popc = [&](Value v) { return LLVM::CtPopOp::create(b, loc, v).getResult(); };
  auto to32 = [&](Value v) {
    return v.getType() == i32 ? v : arith::TruncIOp::create(b, loc, i32, v).getResult();
  };
  auto stagedAs = [&](Type t) {
    auto sType = cast<MemRefType>(a.sparse.staging.getType());
    return memref::ViewOp::create(
               b, loc,
               MemRefType::get({sType.getNumElements() * 8 / t.getIntOrFloatBitWidth()}, t,
                               nullptr, sType.getMemorySpace()),
               a.sparse.staging, arith::ConstantIndexOp::create(b, loc, 0), ValueRange{})
        .getResult();
  };
  Value staged32 = stagedAs(i32), staged16 = stagedAs(i16);
  int64_t perThread = kc.bm * kc.bk / 32 / kc.threads;
  Value stageBase = kc.mul(wStage, a.sparse.stageBytes);
  Value maskWord0 = kc.div(kc.add(stageBase, a.sparse.stageBytes - a.sparse.maskBytes), 4);
  auto maskOf = [&](Value thread, int64_t i) {
    Value at = kc.add(maskWord0, kc.add(kc.mul(thread, perThread), i));
    return memref::LoadOp::create(b, loc, staged32, ValueRange{kc.idx(at)}).getResult();
  };
  SmallVector<Value, 2> mine;
  Value own = c32(0);
  for (int64_t i = 0; i < perThread; ++i) {
    mine.push_back(maskOf(kc.tid, i));
    own = add32(own, popc(mine.back()));
  }
  // The marks of the lanes before this one (an inclusive scan, less its own).
  Value lane32 = to32(kc.lane), width = c32(32);
  Value inclusive = own;
  for (int64_t d = 1; d < 32; d *= 2) {
    Value up = gpu::ShuffleOp::create(b, loc, inclusive, c32(d), width, gpu::ShuffleMode::UP)
                   .getShuffleResult();
    Value has = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, lane32, c32(d));
    inclusive = add32(inclusive, arith::SelectOp::create(b, loc, has, up, c32(0)));
  }
  // The marks of the warps before this one: lane l counts the masks of
  // lane l of each, then the warp sums its lanes.
  Value warp = kc.div(kc.tid, 32);
  Value earlier = c32(0);
  for (int64_t w = 0; w + 1 < kc.threads / 32; ++w) {
    Value count = c32(0);
    for (int64_t i = 0; i < perThread; ++i)
      count = add32(count, popc(maskOf(kc.add(kc.lane, w * 32), i)));
    Value before = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, kc.cst(w), warp);
    earlier = add32(earlier, arith::SelectOp::create(b, loc, before, count, c32(0)));
  }
  for (int64_t s = 16; s >= 1; s /= 2)
    earlier = add32(earlier, gpu::ShuffleOp::create(b, loc, earlier, c32(s), width,
                                                    gpu::ShuffleMode::XOR)
                                 .getShuffleResult());
  Value running = arith::SubIOp::create(b, loc, add32(earlier, inclusive), own);
  // The values: staged from the stage's start; an index is masked to the
  // stage (corrupt masks read stale values, never outside it).
  int64_t capacity = a.sparse.chunks * kc.threads * 8;
  assert(llvm::isPowerOf2_64(capacity) && "a staging stage holds a power of two of values");
  Value valueBase = to32(kc.div(stageBase, 2));
  Value dense = sharedView(kc, a, i32);
  Value denseBase = kc.mul(aStage, kc.bm * kc.bk / 2);
  VectorType quad = VectorType::get({4}, i32);
  int64_t blocksPerRow = kc.bk / 8;
  for (int64_t i = 0; i < perThread; ++i) {
    Value h = kc.add(kc.mul(kc.tid, perThread), i);
    Value block = kc.div(h, 2), half = kc.rem(h, 2);
    Value row0 = kc.add(kc.mul(kc.div(block, blocksPerRow), 8), kc.mul(half, 4));
    Value col8 = kc.rem(block, blocksPerRow);
    for (int64_t r = 0; r < 4; ++r) {
      Value bits = arith::AndIOp::create(
          b, loc, arith::ShRUIOp::create(b, loc, mine[i], c32(8 * r)), c32(0xff));
      SmallVector<Value, 8> vals;
      for (int64_t col = 0; col < 8; ++col) {
        Value below = popc(arith::AndIOp::create(b, loc, bits, c32((1 << col) - 1)));
        Value at = arith::AndIOp::create(b, loc, add32(running, below), c32(capacity - 1));
        Value v = memref::LoadOp::create(
            b, loc, staged16,
            ValueRange{arith::IndexCastUIOp::create(b, loc, b.getIndexType(), add32(valueBase, at))});
        Value marked = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ne,
            arith::AndIOp::create(b, loc, bits, c32(1 << col)), c32(0));
        vals.push_back(arith::ExtUIOp::create(
            b, loc, i32, arith::SelectOp::create(b, loc, marked, v,
                                                 arith::ConstantOp::create(b, loc, b.getI16IntegerAttr(0)))));
      }
      running = add32(running, popc(bits));
      SmallVector<Value, 4> words;
      for (int64_t j = 0; j < 4; ++j)
        words.push_back(arith::OrIOp::create(
            b, loc, vals[2 * j], arith::ShLIOp::create(b, loc, vals[2 * j + 1], c32(16))));
      Value row = kc.add(row0, r);
      Value chunk = kc.xorI(col8, kc.andI(row, 7));
      Value at = kc.add(denseBase, kc.add(kc.mul(row, kc.bk / 2), kc.mul(chunk, 4)));
      vector::StoreOp::create(b, loc, vector::FromElementsOp::create(b, loc, quad, words), dense,
                              ValueRange{kc.idx(at)}, /*nontemporal=*/false, llvm::MaybeAlign(16));
    }
  }
}

void einloom::codegen::rebuildSparseTile(KernelContext &kc, OperandTile &a, Value aStage,
                                         Value wStage) {
  if (a.sparse.bitmap)
    decodeBitmap(kc, a, aStage, wStage);
  else
    scatterTiledCsl(kc, a, aStage, wStage);
}
