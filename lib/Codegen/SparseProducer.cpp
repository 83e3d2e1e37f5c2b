//===- SparseProducer.cpp - Tiled-CSL tiles into dense A stages -----------===//
//
// The sparse kernel's producer ("load as sparse, compute as dense"). A
// weight tile of tile_m x 64 arrives as 32-bit words, each a 16-bit value
// and its 16-bit slot in the stage's swizzled shared-memory image
// (docs/dialect.md, tiled_csl), padded to 16-byte chunks. Thread t loads
// chunks t, t + T, ... with 16-byte streaming loads into registers one
// iteration before they are needed, then stores each word's value at its
// slot in a stage that was zero-filled the iteration before. The stage is
// then the dense KMajorVector tile the ldmatrix/mma.sync core reads.
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
} // namespace

SmallVector<Value, 2> einloom::codegen::sparseTileBounds(KernelContext &kc, OperandTile &a,
                                                         Value tile, Value valid) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  // An invalid tile reads the first offsets (always present) and is empty.
  Value t = kc.select(valid, kc.add(a.sparse.firstTile, tile), kc.cst(0));
  auto offsetAt = [&](Value i) {
    Value v = memref::LoadOp::create(b, loc, a.sparse.offsets, ValueRange{kc.idx(i)});
    return kc.intType == v.getType() ? v : arith::ExtSIOp::create(b, loc, kc.intType, v).getResult();
  };
  Value begin = offsetAt(t), end = offsetAt(kc.add(t, 1));
  // Chunks: (end - begin) / 4, clamped to [0, a tile's most]; the first
  // word aligned down to a chunk and clamped into the buffer.
  Value zero = kc.cst(0);
  Value count = arith::SubIOp::create(b, loc, end, begin);
  count = arith::MaxSIOp::create(b, loc, zero, arith::DivSIOp::create(b, loc, count, kc.cst(4)));
  count = arith::MinSIOp::create(b, loc, count, kc.cst(mostChunks(kc)));
  count = kc.select(valid, count, zero);
  begin = arith::MaxSIOp::create(b, loc, zero, kc.andI(begin, ~int64_t(3)));
  begin = arith::MinSIOp::create(b, loc, begin, a.sparse.lastChunkWord);
  return {begin, count};
}

SmallVector<Value> einloom::codegen::loadSparseWords(KernelContext &kc, OperandTile &a,
                                                     ArrayRef<Value> bounds) {
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

void einloom::codegen::zeroStage(KernelContext &kc, OperandTile &a, Value stage) {
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

void einloom::codegen::scatterSparseTile(KernelContext &kc, OperandTile &a, Value stage,
                                         ArrayRef<Value> bounds, ArrayRef<Value> words) {
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
