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

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
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

Value einloom::codegen::sparseOffset(KernelContext &kc, OperandTile &a, Value tile) {
  Value t = kc.add(a.sparse.firstTile, arith::MinSIOp::create(kc.b, kc.loc, tile, a.sparse.count));
  Value v = memref::LoadOp::create(kc.b, kc.loc, a.sparse.offsets, ValueRange{kc.idx(t)});
  return kc.intType == v.getType() ? v
                                   : arith::ExtSIOp::create(kc.b, kc.loc, kc.intType, v).getResult();
}

SmallVector<Value, 2> einloom::codegen::sparseTileBounds(KernelContext &kc, OperandTile &a,
                                                         Value begin, Value end) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  // Chunks: (end - begin) / 4, clamped to [0, a tile's most]; the first
  // word aligned down to a chunk and clamped into the buffer.
  Value zero = kc.cst(0);
  Value count = arith::SubIOp::create(b, loc, end, begin);
  count = arith::MaxSIOp::create(b, loc, zero, arith::DivSIOp::create(b, loc, count, kc.cst(4)));
  count = arith::MinSIOp::create(b, loc, count, kc.cst(mostChunks(kc)));
  begin = arith::MaxSIOp::create(b, loc, zero, kc.andI(begin, ~int64_t(3)));
  begin = arith::MinSIOp::create(b, loc, begin, a.sparse.lastChunkWord);
  return {begin, count};
}

void einloom::codegen::issueSparseTile(KernelContext &kc, OperandTile &a, Value wStage,
                                       ArrayRef<Value> bounds) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Value stageBase = kc.mul(wStage, a.sparse.stagingStageBytes(kc.threads));
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

void einloom::codegen::scatterSparseTile(KernelContext &kc, OperandTile &a, Value aStage,
                                         Value wStage) {
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
  Value wordBase = kc.mul(wStage, a.sparse.stagingStageBytes(kc.threads) / 4);
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
