//===- MemoryKernel.cpp - memory-bound einsums on the CUDA cores ----------===//
//
// Transposes, reductions, traces, elementwise and outer products, batched
// dot products: einsums whose time is the time to move their bytes. Every
// address is computed from the dimensions' strides (any layout, diagonals,
// broadcasts); what varies is which way the threads walk, so that the big
// tensors are read and written in whole sectors (see MemoryStrategy):
//  - Map: each thread owns `vec` consecutive result elements, read and
//    written with 16-byte vector accesses where the layout allows;
//  - RowReduce: a warp (or CTA) sums one result element, its lanes reading
//    the widest input along its contiguous dimension, combined by shuffles;
//  - Transpose: 64x64 tiles staged in shared memory (pitch 65, no bank
//    conflicts), read along the input's contiguous dimension and written
//    along the result's.
// Products and sums are formed in the accumulator type; summed dimensions
// are unrolled four deep so that each thread keeps several loads in flight.
//
//===----------------------------------------------------------------------===//
#include "einloom/Codegen/KernelBuilder.h"

#include "KernelContext.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

Value einloom::codegen::warpReduce(OpBuilder &b, Location loc, Value x, int64_t lanes,
                        function_ref<Value(Value, Value)> combine) {
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value width = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(32));
  for (int64_t s = lanes / 2; s >= 1; s /= 2) {
    Value offset = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int32_t(s)));
    auto shuffle = [&](Value v) {
      return gpu::ShuffleOp::create(b, loc, v, offset, width, gpu::ShuffleMode::XOR)
          .getShuffleResult();
    };
    Value other;
    if (x.getType().getIntOrFloatBitWidth() == 64) {
      Value bits = arith::BitcastOp::create(b, loc, i64, x);
      Value lo = shuffle(arith::TruncIOp::create(b, loc, i32, bits));
      Value hi = shuffle(arith::TruncIOp::create(
          b, loc, i32,
          arith::ShRUIOp::create(b, loc, bits,
                                 arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(32)))));
      Value joined = arith::OrIOp::create(
          b, loc, arith::ExtUIOp::create(b, loc, i64, lo),
          arith::ShLIOp::create(b, loc, arith::ExtUIOp::create(b, loc, i64, hi),
                                arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(32))));
      other = arith::BitcastOp::create(b, loc, x.getType(), joined);
    } else {
      other = shuffle(x);
    }
    x = combine(x, other);
  }
  return x;
}

namespace {
constexpr int64_t kThreads = 256, kTile = 64, kPitch = kTile + 1, kUnroll = 4;


/// The code of one memory-bound kernel: typed views of the buffers and the
/// index, load and arithmetic helpers the three strategies share.
struct MemoryKernel {
  OpBuilder &b;
  Location loc;
  const MemoryEinsum &m;
  KernelContext &kc; // only its integer helpers: there is no contraction here
  SmallVector<Value> inputs;
  Value result;
  EpilogueCode epi; // applied where results are stored (not to partial sums)
  /// Inputs read once and too big to stay in L2 for long (1 MiB or more: a
  /// matrix-vector product's matrix): their 8- and 16-byte loads go
  /// around L1 and mark their L2 lines evict-first, so that streaming the
  /// weight does not push out what the next kernel reads.
  SmallVector<bool> streamed;
  Value evictFirst; // the L2 policy (createpolicy), made once at entry

  Value zeroAcc() { return arith::ConstantOp::create(b, loc, b.getZeroAttr(m.acc)); }

  /// The element offsets in each input, then in the result, of linear index
  /// `x` over `dims` (outermost first; `x` below their product).
  SmallVector<Value> offsets(ArrayRef<LoopDim> dims, Value x) {
    SmallVector<Value> off(m.numInputs() + 1, kc.cst(0));
    Value cur = x;
    for (int64_t d = static_cast<int64_t>(dims.size()) - 1; d >= 0; --d) {
      Value i = d == 0 ? cur : kc.rem(cur, dims[d].extent);
      if (d > 0)
        cur = kc.div(cur, dims[d].extent);
      for (size_t k = 0; k < m.numInputs(); ++k)
        if (dims[d].in[k])
          off[k] = kc.add(off[k], kc.mul(i, dims[d].in[k]));
      if (dims[d].out)
        off.back() = kc.add(off.back(), kc.mul(i, dims[d].out));
    }
    return off;
  }

  static SmallVector<Value> plus(ArrayRef<Value> x, ArrayRef<Value> y, KernelContext &kc) {
    SmallVector<Value> s;
    for (auto [a, c] : llvm::zip(x, y))
      s.push_back(kc.add(a, c));
    return s;
  }

  Value convert(Value v, Type to) { return convertElement(b, loc, v, to); }
  /// A loaded element of input `i` in the accumulator type.
  Value fromInput(size_t i, Value x) { return loadedAs(b, loc, x, m.elems[i], m.acc); }
  Value add(Value x, Value y) {
    return isa<FloatType>(m.acc) ? arith::AddFOp::create(b, loc, x, y).getResult()
                                 : arith::AddIOp::create(b, loc, x, y).getResult();
  }
  Value mul(Value x, Value y) {
    return isa<FloatType>(m.acc) ? arith::MulFOp::create(b, loc, x, y).getResult()
                                 : arith::MulIOp::create(b, loc, x, y).getResult();
  }

  /// One aligned 8- or 16-byte load of input `i` at element `off`, as
  /// `vt`: ld.global.L1::no_allocate.L2::cache_hint with the evict-first
  /// policy (PTX; LLVM's NVPTX backend has no such load).
  Value streamingLoad(size_t i, Value off, VectorType vt, int64_t bytes) {
    int64_t words = bytes / 4;
    Value byteOff = arith::MulIOp::create(
        b, loc, kc.idx(off), arith::ConstantIndexOp::create(b, loc, elementBytes(vt.getElementType())));
    SmallVector<Value> w = streamingLoadWords(b, loc, inputs[i], byteOff, words, evictFirst);
    Value packed = vector::FromElementsOp::create(
        b, loc, VectorType::get({words}, b.getI32Type()), w);
    return vector::BitCastOp::create(b, loc, vt, packed);
  }

  /// `count` elements of input `i` starting at element `off`, `stride`
  /// apart, in the accumulator type: one aligned vector load when the run
  /// is contiguous, one load repeated when it is broadcast.
  SmallVector<Value> loadRun(size_t i, Value off, int64_t stride, int64_t count) {
    Type elem = storageType(m.elems[i]);
    SmallVector<Value> v;
    if (count > 1 && stride == 1) {
      auto vt = VectorType::get({count}, elem);
      int64_t bytes = count * elementBytes(elem);
      Value vec = evictFirst && streamed[i] && (bytes == 16 || bytes == 8)
                      ? streamingLoad(i, off, vt, bytes)
                      : vector::LoadOp::create(b, loc, vt, inputs[i], ValueRange{kc.idx(off)},
                                               /*nontemporal=*/false, llvm::MaybeAlign(bytes))
                            .getResult();
      for (int64_t j = 0; j < count; ++j)
        v.push_back(vector::ExtractOp::create(b, loc, vec, ArrayRef<int64_t>{j}));
    } else {
      for (int64_t j = 0; j < count; ++j) {
        if (j > 0 && stride == 0) {
          v.push_back(v.front());
          continue;
        }
        v.push_back(memref::LoadOp::create(b, loc, inputs[i],
                                           ValueRange{kc.idx(kc.add(off, j * stride))}));
      }
    }
    for (Value &x : v)
      x = fromInput(i, x);
    return v;
  }

  /// The product of the inputs at `off` (one offset per input), for `count`
  /// consecutive positions along `along`.
  SmallVector<Value> products(ArrayRef<Value> off, const LoopDim &along, int64_t count) {
    SmallVector<Value> p;
    for (size_t i = 0; i < m.numInputs(); ++i) {
      SmallVector<Value> run = loadRun(i, off[i], along.in[i], count);
      if (p.empty()) {
        p = run;
        continue;
      }
      for (int64_t j = 0; j < count; ++j)
        p[j] = mul(p[j], run[j]);
    }
    return p;
  }

  /// Stores `values` (accumulator type) to the result at element `off`,
  /// consecutive: one aligned vector store when there are several.
  void storeRun(Value off, ArrayRef<Value> values) {
    SmallVector<Value> v;
    for (auto [j, x] : llvm::enumerate(values))
      v.push_back(storedAs(b, loc, epi.apply(kc, x, kc.add(off, int64_t(j))), m.elemC));
    if (v.size() == 1) {
      memref::StoreOp::create(b, loc, v[0], result, ValueRange{kc.idx(off)});
      return;
    }
    auto vt = VectorType::get({static_cast<int64_t>(v.size())}, storageType(m.elemC));
    Value vec = vector::FromElementsOp::create(b, loc, vt, v);
    vector::StoreOp::create(b, loc, vec, result, ValueRange{kc.idx(off)}, /*nontemporal=*/false,
                            llvm::MaybeAlign(v.size() * elementBytes(m.elemC)));
  }

  /// Sums `body(r)` for r in [first, end) stepping `step`, `kUnroll`
  /// terms per iteration (their loads issued together), into `acc`.
  /// `body` gets the term's index (clamped to 0 past the end) and returns
  /// `acc.size()` values; past the end they count as zero. `most` bounds
  /// the number of terms (for the unroll depth).
  void sumTerms(Value first, Value end, int64_t most, int64_t step, SmallVectorImpl<Value> &acc,
                function_ref<SmallVector<Value>(Value)> body) {
    // (Fewer in flight where each term is wide: a term of 16 fp8 values of
    // two operands unrolled four deep spilled.)
    int64_t perTerm = int64_t(acc.size()) * int64_t(m.numInputs());
    int64_t unroll = std::max<int64_t>(
        1, std::min<int64_t>({kUnroll, most, std::max<int64_t>(1, 32 / perTerm)}));
    // Whole groups of `unroll` terms, then the rest one at a time (not a
    // predicate per term: with select chains ptxas spilled for some trip
    // counts, e.g. 30 and 31 terms of vec-8 f16 on sm_80).
    Value span = arith::MaxSIOp::create(b, loc, arith::SubIOp::create(b, loc, end, first),
                                        kc.cst(0));
    Value terms = kc.div(kc.add(span, kc.cst(step - 1)), step);
    Value fullEnd = kc.add(first, kc.mul(kc.mul(kc.div(terms, unroll), unroll), step));
    auto sumLoop = [&](Value from, Value to, int64_t perIteration) {
      auto loop = scf::ForOp::create(b, loc, from, to, kc.cst(step * perIteration), acc);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      SmallVector<Value> sums(loop.getRegionIterArgs());
      SmallVector<SmallVector<Value>> loaded; // issue every load before the adds
      for (int64_t u = 0; u < perIteration; ++u)
        loaded.push_back(body(kc.add(loop.getInductionVar(), u * step)));
      for (const SmallVector<Value> &term : loaded)
        for (size_t j = 0; j < sums.size(); ++j)
          sums[j] = add(sums[j], term[j]);
      scf::YieldOp::create(b, loc, sums);
      b.setInsertionPointAfter(loop);
      acc.assign(loop.getResults().begin(), loop.getResults().end());
    };
    sumLoop(first, fullEnd, unroll);
    if (unroll > 1)
      sumLoop(fullEnd, end, 1);
  }

  /// `x` summed over the lanes of each warp (every lane gets the sum).
  Value warpSum(Value x, int64_t lanes = 32) {
    return warpReduce(b, loc, x, lanes, [&](Value p, Value q) { return add(p, q); });
  }

  /// A view of dynamic shared memory holding `count` accumulators.
  Value sharedAccumulators(int64_t count) { return sharedArray(count, m.acc); }
  /// `count` elements of `t` at the start of dynamic shared memory.
  Value sharedArray(int64_t count, Type t) {
    auto shared = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
    Value smem = gpu::DynamicSharedMemoryOp::create(
        b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), nullptr, shared));
    return memref::ViewOp::create(b, loc, MemRefType::get({count}, t, nullptr, shared), smem,
                                  arith::ConstantIndexOp::create(b, loc, 0), ValueRange{})
        .getResult();
  }

  /// Runs `then` under `cond`.
  void ifThen(Value cond, function_ref<void()> then) {
    auto ifOp = scf::IfOp::create(b, loc, cond, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    then();
  }

  /// Split summation (m.split > 1): the range [first, end) of `total`
  /// terms that slice `slice` (blockIdx.y) sums; all of it otherwise.
  std::pair<Value, Value> sliceOf(Value slice, int64_t total);
  /// Stores the sums `acc` of result elements o.. : to the result, or with
  /// a split to the slice's row of the workspace.
  void finish(Value slice, Value o, ArrayRef<Value> acc);

  /// Result elements / `per`: a constant, or with a dynamic size a value.
  Value resultCount(int64_t per);

  void buildMap(Value tid, Value bid, Value slice);
  void buildRowReduce(Value tid, Value bid, Value slice);
  void buildTranspose(Value tid, Value bid);
  /// buildTranspose's plain copy of 1-byte elements in 4-byte groups, for
  /// the tile at (c0, w0) of the rest-dimension offsets `base`.
  void buildByteTranspose(Value c0, Value w0, ArrayRef<Value> base, Value tid);
  /// The second kernel of a split summation: `inputs[0]` is the workspace.
  void buildPartialSums(Value tid, Value bid);
};
} // namespace

std::pair<Value, Value> MemoryKernel::sliceOf(Value slice, int64_t total) {
  if (m.split == 1)
    return {kc.cst(0), kc.cst(total)};
  int64_t per = (total + m.split - 1) / m.split;
  Value first = kc.mul(slice, per);
  return {first, arith::MinUIOp::create(b, loc, kc.add(first, per), kc.cst(total))};
}

void MemoryKernel::finish(Value slice, Value o, ArrayRef<Value> acc) {
  if (m.split == 1)
    return storeRun(o, acc);
  // A partial sum: workspace [split][result elements] in the accumulator type.
  Value at = kc.add(kc.mul(slice, m.outSize()), o);
  if (acc.size() == 1) {
    memref::StoreOp::create(b, loc, acc[0], result, ValueRange{kc.idx(at)});
    return;
  }
  auto vt = VectorType::get({static_cast<int64_t>(acc.size())}, m.acc);
  vector::StoreOp::create(b, loc, vector::FromElementsOp::create(b, loc, vt, acc), result,
                          ValueRange{kc.idx(at)}, /*nontemporal=*/false,
                          llvm::MaybeAlign(acc.size() * elementBytes(m.acc)));
}

Value MemoryKernel::resultCount(int64_t per) {
  if (!m.dynamicLabel)
    return kc.cst(m.outSize() / per);
  return kc.mulV(kc.mSize, kc.cst(m.outPerUnit() / per));
}

void MemoryKernel::buildMap(Value tid, Value bid, Value slice) {
  int64_t v = m.vec;
  Value g = kc.add(kc.mul(bid, kThreads), tid);
  ifThen(kc.ltV(g, resultCount(v)), [&] {
    SmallVector<Value> base = offsets(m.out, kc.mul(g, v));
    SmallVector<Value> acc;
    if (m.red.empty()) {
      acc = products(base, m.out.back(), v);
    } else {
      acc.assign(v, zeroAcc());
      auto [first, end] = sliceOf(slice, m.redSize());
      sumTerms(first, end, m.redSize() / m.split, 1, acc, [&](Value r) {
        return products(plus(base, offsets(m.red, r), kc), m.out.back(), v);
      });
    }
    finish(slice, base.back(), acc);
  });
}

void MemoryKernel::buildRowReduce(Value tid, Value bid, Value slice) {
  int64_t t = m.threadsPerOutput, perCta = kThreads / t, v = m.vec;
  Value o = kc.add(kc.mul(bid, perCta), kc.div(tid, t));
  Value lane = kc.rem(tid, t);
  Value valid = kc.ltV(o, resultCount(1));
  SmallVector<Value> base = offsets(m.out, kc.select(valid, o, kc.cst(0)));
  SmallVector<Value> acc{zeroAcc()};
  // Chunk c covers summed indices c*v .. c*v+v-1, contiguous in the widest input.
  int64_t chunks = m.redSize() / v;
  auto [first, end] = sliceOf(slice, chunks);
  sumTerms(kc.add(first, lane), end, chunks / m.split / t, t, acc, [&](Value c) {
    SmallVector<Value> p = products(plus(base, offsets(m.red, kc.mul(c, v)), kc), m.red.back(), v);
    Value s = p[0];
    for (int64_t j = 1; j < v; ++j)
      s = add(s, p[j]);
    return SmallVector<Value>{s};
  });
  Value sum = warpSum(acc[0]);
  if (t > 32) {
    // Warp sums meet in shared memory; warp 0 adds them.
    Value partial = sharedAccumulators(kThreads / 32);
    Value warp = kc.div(tid, 32);
    ifThen(kc.lt(kc.rem(tid, 32), 1),
           [&] { memref::StoreOp::create(b, loc, sum, partial, ValueRange{kc.idx(warp)}); });
    gpu::BarrierOp::create(b, loc);
    Value mine = kc.lt(tid, kThreads / 32);
    Value x = memref::LoadOp::create(b, loc, partial,
                                     ValueRange{kc.idx(kc.select(mine, tid, kc.cst(0)))});
    sum = warpSum(arith::SelectOp::create(b, loc, mine, x, zeroAcc()), kThreads / 32);
  }
  ifThen(kc.andB(valid, kc.lt(lane, 1)), [&] { finish(slice, base.back(), {sum}); });
}

void MemoryKernel::buildPartialSums(Value tid, Value bid) {
  // A warp per result element: its lanes add the slices' partial sums.
  Value o = kc.add(kc.mul(bid, kThreads / 32), kc.div(tid, 32));
  Value lane = kc.rem(tid, 32);
  Value valid = kc.lt(o, m.outSize());
  Value oc = kc.select(valid, o, kc.cst(0));
  SmallVector<Value> acc{zeroAcc()};
  sumTerms(lane, kc.cst(m.split), m.split / 32, 32, acc, [&](Value s) {
    Value x = memref::LoadOp::create(b, loc, inputs[0],
                                     ValueRange{kc.idx(kc.add(kc.mul(s, m.outSize()), oc))});
    return SmallVector<Value>{x};
  });
  Value sum = warpSum(acc[0]);
  ifThen(kc.andB(valid, kc.lt(lane, 1)), [&] { storeRun(oc, {sum}); });
}

void MemoryKernel::buildTranspose(Value tid, Value bid) {
  const LoopDim &cd = m.out[m.transposeDim], &wd = m.out.back();
  SmallVector<LoopDim, 4> rest;
  for (size_t d = 0; d + 1 < m.out.size(); ++d)
    if (static_cast<int>(d) != m.transposeDim)
      rest.push_back(m.out[d]);
  int64_t tilesC = (cd.extent + kTile - 1) / kTile, tilesW = (wd.extent + kTile - 1) / kTile;
  Value restIdx = kc.div(bid, tilesC * tilesW), inRest = kc.rem(bid, tilesC * tilesW);
  Value c0 = kc.mul(kc.div(inRest, tilesW), kTile), w0 = kc.mul(kc.rem(inRest, tilesW), kTile);
  SmallVector<Value> base = offsets(rest, restIdx);
  // A plain transpose of one-byte elements (one operand, nothing summed, the
  // same type in and out, no epilogue) moves the stored bits: no conversion
  // to the accumulator and back, which for 8-bit floats costs two cvt per
  // element. Wider types keep the 4-byte tile, whose pitch of 65 words is
  // free of bank conflicts (2-byte elements at that pitch measured 7-14%
  // slower on the H100, runs O and Q).
  bool raw = m.red.empty() && m.numInputs() == 1 && m.elems[0] == m.elemC &&
             m.epilogue.empty() && elementBytes(m.elemC) == 1;
  // One-byte elements move four at a time (32-bit global loads and stores,
  // byte stores into the tile) when every 4-element group lies inside one
  // tile and is 4-byte aligned.
  bool quads = raw && elementBytes(m.elemC) == 1 && cd.extent % 4 == 0 && wd.extent % 4 == 0 &&
               wd.in[0] % 4 == 0 && cd.out % 4 == 0 && cd.in[0] == 1 && wd.out == 1 &&
               llvm::all_of(rest, [](const LoopDim &d) { return d.in[0] % 4 == 0 && d.out % 4 == 0; });
  if (quads)
    return buildByteTranspose(c0, w0, base, tid);
  Value tile = raw ? sharedArray(kTile * kPitch, storageType(m.elemC))
                   : sharedAccumulators(kTile * kPitch);
  constexpr int64_t rows = kThreads / kTile, perThread = kTile / rows;

  // Read: consecutive threads along the input's contiguous dimension.
  Value lc = kc.rem(tid, kTile), lw0 = kc.div(tid, kTile);
  Value c = kc.add(c0, lc);
  Value cOk = kc.lt(c, cd.extent);
  // Per element: its offset in each input.
  auto offsetsOf = [&](int64_t j) {
    Value w = kc.add(w0, kc.add(lw0, j * rows));
    Value ok = kc.andB(cOk, kc.lt(w, wd.extent));
    SmallVector<Value> off;
    for (size_t i = 0; i < m.numInputs(); ++i)
      off.push_back(kc.add(base[i], kc.select(ok, kc.add(kc.mul(c, cd.in[i]), kc.mul(w, wd.in[i])),
                                              kc.cst(0))));
    return off;
  };
  SmallVector<SmallVector<Value>> at;
  for (int64_t j = 0; j < perThread; ++j)
    at.push_back(offsetsOf(j));
  // With a sum, each step recomputes the offsets rather than keep all 16
  // elements' (times the inputs) live through the loop beside the
  // accumulators (which spilled for two i8 operands and 1536 terms).
  auto terms = [&](ArrayRef<Value> redOff) {
    SmallVector<Value> t;
    for (int64_t j = 0; j < perThread; ++j) {
      SmallVector<Value> off = redOff.empty() ? at[j] : offsetsOf(j);
      t.push_back(products(redOff.empty() ? ArrayRef<Value>(off) : ArrayRef<Value>(plus(off, redOff, kc)),
                           cd, 1)[0]);
    }
    return t;
  };
  SmallVector<Value> acc;
  if (raw) {
    for (const SmallVector<Value> &off : at)
      acc.push_back(memref::LoadOp::create(b, loc, inputs[0], ValueRange{kc.idx(off[0])}));
  } else if (m.red.empty()) {
    acc = terms({});
  } else {
    // The tile's elements are the unrolled dimension here: one load each per step.
    acc.assign(perThread, zeroAcc());
    auto loop = scf::ForOp::create(b, loc, kc.cst(0), kc.cst(m.redSize()), kc.cst(1), acc);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      SmallVector<Value> redOff = offsets(m.red, loop.getInductionVar());
      redOff.pop_back();
      SmallVector<Value> t = terms(redOff);
      SmallVector<Value> next;
      for (auto [a, x] : llvm::zip(loop.getRegionIterArgs(), t))
        next.push_back(add(a, x));
      scf::YieldOp::create(b, loc, next);
    }
    acc.assign(loop.getResults().begin(), loop.getResults().end());
  }
  for (int64_t j = 0; j < perThread; ++j)
    memref::StoreOp::create(b, loc, acc[j], tile,
                            ValueRange{kc.idx(kc.add(kc.mul(lc, kPitch), kc.add(lw0, j * rows)))});
  gpu::BarrierOp::create(b, loc);

  // Write: consecutive threads along the result's innermost dimension.
  Value lw = kc.rem(tid, kTile), lc0 = kc.div(tid, kTile);
  Value w = kc.add(w0, lw);
  Value wOk = kc.lt(w, wd.extent);
  for (int64_t j = 0; j < perThread; ++j) {
    Value lcj = kc.add(lc0, j * rows);
    Value cc = kc.add(c0, lcj);
    ifThen(kc.andB(wOk, kc.lt(cc, cd.extent)), [&] {
      Value x = memref::LoadOp::create(b, loc, tile, ValueRange{kc.idx(kc.add(kc.mul(lcj, kPitch), lw))});
      Value off = kc.add(base.back(), kc.add(kc.mul(cc, cd.out), kc.mul(w, wd.out)));
      if (raw)
        memref::StoreOp::create(b, loc, x, result, ValueRange{kc.idx(off)});
      else
        storeRun(off, {x});
    });
  }
}

void MemoryKernel::buildByteTranspose(Value c0, Value w0, ArrayRef<Value> base, Value tid) {
  const LoopDim &cd = m.out[m.transposeDim], &wd = m.out.back();
  // Pitch 68: a multiple of 4 for the word reads; the byte writes of a warp
  // then meet at most two to a bank.
  constexpr int64_t pitch = kTile + 4, groups = kTile / 4, rowsPerPass = kThreads / groups;
  Type byte = storageType(m.elemC);
  auto quad = VectorType::get({4}, byte);
  Value tile = sharedArray(kTile * pitch, byte);
  Value q4 = kc.mul(kc.rem(tid, groups), 4), r0 = kc.div(tid, groups);
  // Read: four consecutive bytes along c per thread; each goes to its row.
  Value c = kc.add(c0, q4);
  for (int64_t j = 0; j < kTile / rowsPerPass; ++j) {
    Value lw = kc.add(r0, j * rowsPerPass);
    Value w = kc.add(w0, lw);
    ifThen(kc.andB(kc.lt(c, cd.extent), kc.lt(w, wd.extent)), [&] {
      Value off = kc.add(base[0], kc.add(kc.mul(c, cd.in[0]), kc.mul(w, wd.in[0])));
      Value v = vector::LoadOp::create(b, loc, quad, inputs[0], ValueRange{kc.idx(off)},
                                       /*nontemporal=*/false, llvm::MaybeAlign(4));
      for (int64_t t = 0; t < 4; ++t)
        memref::StoreOp::create(b, loc, vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{t}),
                                tile, ValueRange{kc.idx(kc.add(kc.mul(kc.add(q4, t), pitch), lw))});
    });
  }
  gpu::BarrierOp::create(b, loc);
  // Write: four consecutive bytes along w per thread, one word from the tile.
  Value w = kc.add(w0, q4);
  for (int64_t j = 0; j < kTile / rowsPerPass; ++j) {
    Value lc = kc.add(r0, j * rowsPerPass);
    Value cc = kc.add(c0, lc);
    ifThen(kc.andB(kc.lt(w, wd.extent), kc.lt(cc, cd.extent)), [&] {
      Value v = vector::LoadOp::create(b, loc, quad, tile,
                                       ValueRange{kc.idx(kc.add(kc.mul(lc, pitch), q4))},
                                       /*nontemporal=*/false, llvm::MaybeAlign(4));
      Value off = kc.add(base.back(), kc.add(kc.mul(cc, cd.out), w));
      vector::StoreOp::create(b, loc, v, result, ValueRange{kc.idx(off)}, /*nontemporal=*/false,
                              llvm::MaybeAlign(4));
    });
  }
}

/// A KernelContext for its 32-bit integer helpers alone: a memory-bound
/// kernel has no contraction or plan.
static KernelContext integerContext(OpBuilder &b, Location loc) {
  static const Contraction none{};
  return KernelContext{b, loc, none, loom::PlanAttr(), 0, 0, 0, 1, 1, 1, kThreads, 0,
                       b.getI32Type(), {}, {}, {}, {}};
}

/// A launch of `name` with the memory-bound kernels' block.
static KernelLaunch memoryLaunch(StringRef name) {
  KernelLaunch launch;
  launch.name = name.str();
  launch.block = {kThreads, 1, 1};
  return launch;
}

FailureOr<KernelLaunch> einloom::buildMemoryKernel(gpu::GPUModuleOp module, StringRef name,
                                                   const MemoryEinsum &m, Location loc) {
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  KernelLaunch launch = memoryLaunch(name);
  launch.layoutA = launch.layoutB = "memory-bound (CUDA cores)";
  int64_t accBytes = elementBytes(m.acc);
  switch (m.strategy) {
  case MemoryStrategy::Map:
    launch.grid[0] = (m.outSize() / m.vec + kThreads - 1) / kThreads;
    if (m.dynamicLabel)
      launch.dynamicGrid = {m.outPerUnit() / m.vec, kThreads, 1};
    break;
  case MemoryStrategy::RowReduce: {
    int64_t perCta = kThreads / m.threadsPerOutput;
    launch.grid[0] = (m.outSize() + perCta - 1) / perCta;
    if (m.dynamicLabel)
      launch.dynamicGrid = {m.outPerUnit(), perCta, 1};
    if (m.threadsPerOutput > 32)
      launch.sharedMemoryBytes = kThreads / 32 * accBytes;
    break;
  }
  case MemoryStrategy::Transpose: {
    if (m.dynamicLabel)
      return emitError(loc, "internal error: a dynamic size in a tiled transpose");
    int64_t blocks = 1;
    for (size_t d = 0; d < m.out.size(); ++d)
      blocks *= static_cast<int>(d) == m.transposeDim || d + 1 == m.out.size()
                    ? (m.out[d].extent + kTile - 1) / kTile
                    : m.out[d].extent;
    launch.grid[0] = blocks;
    launch.sharedMemoryBytes = kTile * kPitch * accBytes;
    break;
  }
  }
  if (launch.grid[0] >= (int64_t(1) << 31))
    return emitError(loc, "the memory-bound kernel would need ")
           << launch.grid[0] << " CTAs, more than a grid holds";
  launch.grid[1] = m.split;
  if (m.split > 1)
    launch.workspaceBytes = m.split * m.outSize() * accBytes;
  SmallVector<int64_t> buffers;
  for (size_t i = 0; i < m.numInputs(); ++i)
    buffers.push_back(m.inputBytes(i));
  buffers.push_back(m.split > 1 ? launch.workspaceBytes : m.outputBytes());
  if (m.split == 1) // (with a split, the kernel adding the partial sums applies it)
    launch.epilogueBytes = m.epilogue.bufferBytes();
  buffers.append(launch.epilogueBytes.begin(), launch.epilogueBytes.end());
  auto func = createKernelFunc(b, loc, name, buffers, /*takesSize=*/m.dynamicLabel != 0, kThreads);
  Block &entry = func.getBody().front();

  KernelContext kc = integerContext(b, loc);
  if (m.dynamicLabel) // the size, the kernel's last argument (i64)
    kc.mSize = arith::TruncIOp::create(b, loc, b.getI32Type(), entry.getArguments().back());
  MemoryKernel k{b, loc, m, kc, {}, {}};
  for (size_t i = 0; i < m.numInputs(); ++i) {
    k.inputs.push_back(typedView(b, loc, entry.getArgument(i), storageType(m.elems[i]),
                                 buffers[i] / elementBytes(m.elems[i])));
    k.streamed.push_back(buffers[i] >= (int64_t(1) << 20));
  }
  if (llvm::is_contained(k.streamed, true))
    k.evictFirst = l2Policy(b, loc, "evict_first");
  k.result = m.split > 1 ? typedView(b, loc, entry.getArgument(m.numInputs()), m.acc, m.split * m.outSize())
                         : typedView(b, loc, entry.getArgument(m.numInputs()), storageType(m.elemC),
                                     m.outSize());
  if (m.split == 1) {
    k.epi.spec = &m.epilogue;
    k.epi.bind(b, loc, entry, m.numInputs() + 1);
  }
  Value tid = kc.fromIndex(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x));
  Value bid = kc.fromIndex(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
  Value slice = kc.fromIndex(gpu::BlockIdOp::create(b, loc, gpu::Dimension::y));
  switch (m.strategy) {
  case MemoryStrategy::Map: k.buildMap(tid, bid, slice); break;
  case MemoryStrategy::RowReduce: k.buildRowReduce(tid, bid, slice); break;
  case MemoryStrategy::Transpose: k.buildTranspose(tid, bid); break;
  }
  gpu::ReturnOp::create(b, loc);
  return launch;
}

FailureOr<KernelLaunch> einloom::buildMemoryPartialSums(gpu::GPUModuleOp module, StringRef name,
                                                        const MemoryEinsum &m, Location loc) {
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  KernelLaunch launch = memoryLaunch(name);
  launch.grid[0] = (m.outSize() + kThreads / 32 - 1) / (kThreads / 32);
  int64_t ws = m.split * m.outSize() * elementBytes(m.acc);
  launch.epilogueBytes = m.epilogue.bufferBytes();
  SmallVector<int64_t> buffers{ws, m.outputBytes()};
  buffers.append(launch.epilogueBytes.begin(), launch.epilogueBytes.end());
  auto func = createKernelFunc(b, loc, name, buffers, /*takesSize=*/false, kThreads);
  Block &entry = func.getBody().front();
  KernelContext kc = integerContext(b, loc);
  MemoryKernel k{b, loc, m, kc, {}, {}};
  k.inputs.push_back(typedView(b, loc, entry.getArgument(0), m.acc, m.split * m.outSize()));
  k.result = typedView(b, loc, entry.getArgument(1), storageType(m.elemC), m.outSize());
  k.epi.spec = &m.epilogue;
  k.epi.bind(b, loc, entry, 2);
  k.buildPartialSums(kc.fromIndex(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x)),
                     kc.fromIndex(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x)));
  gpu::ReturnOp::create(b, loc);
  return launch;
}

int64_t DequantizeSpec::scaleElements() const {
  if (granularity == 0)
    return 1;
  if (granularity == 1)
    return shape[axis];
  return elements() / groupSize;
}

FailureOr<KernelLaunch> einloom::buildDequantizeKernel(gpu::GPUModuleOp module, StringRef name,
                                                       const DequantizeSpec &d, Location loc) {
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  int64_t total = d.elements();
  KernelLaunch launch = memoryLaunch(name);
  launch.grid[0] = (total + kThreads - 1) / kThreads;
  if (launch.grid[0] >= (int64_t(1) << 31) || total >= (int64_t(1) << 31))
    return emitError(loc, "the dequantize has ") << total << " elements, more than 2^31";
  auto stored = [&](Type t) {
    return t.getIntOrFloatBitWidth() <= 8 ? Type(b.getI8Type()) : storageType(t);
  };
  Type codeT = stored(d.codeType);
  SmallVector<int64_t> buffers{total * elementBytes(codeT),
                               d.scaleElements() * elementBytes(d.scaleType)};
  Type zeroT = d.zeroType ? (isa<IntegerType>(d.zeroType) ? stored(d.zeroType) : d.zeroType)
                          : Type();
  if (zeroT)
    buffers.push_back(d.scaleElements() * elementBytes(zeroT));
  buffers.push_back(total * elementBytes(d.resultType));
  auto func = createKernelFunc(b, loc, name, buffers, /*takesSize=*/false, kThreads);
  Block &entry = func.getBody().front();
  KernelContext kc = integerContext(b, loc);
  unsigned arg = 0;
  Value codes = typedView(b, loc, entry.getArgument(arg++), codeT, total);
  Value scales = typedView(b, loc, entry.getArgument(arg++), d.scaleType, d.scaleElements());
  Value zeros = zeroT ? typedView(b, loc, entry.getArgument(arg++), zeroT, d.scaleElements())
                      : Value();
  Value result = typedView(b, loc, entry.getArgument(arg), d.resultType, total);
  Value e = kc.globalThread(kThreads);
  auto inside = scf::IfOp::create(b, loc, kc.lt(e, total), false);
  b.setInsertionPointToStart(&inside.getThenRegion().front());
  // The scale's index: the element's along the axis (per channel), or the
  // element's with the axis divided by the group size (per group).
  int64_t inner = 1;
  for (size_t i = d.axis + 1; i < d.shape.size(); ++i)
    inner *= d.shape[i];
  int64_t along = d.granularity ? d.shape[d.axis] : 1;
  Value at = kc.cst(0);
  if (d.granularity == 1) {
    at = kc.rem(kc.div(e, inner), along);
  } else if (d.granularity == 2) {
    int64_t groups = along / d.groupSize;
    Value outer = kc.div(e, inner * along), i = kc.rem(kc.div(e, inner), along);
    at = kc.add(kc.mul(kc.add(kc.mul(outer, groups), kc.div(i, d.groupSize)), inner),
                kc.rem(e, inner));
  }
  // Exact in f32 where the scale has 16 bits and the zero point is an
  // integer (at most 9 x 11 significant bits); else in f64. One rounding.
  bool narrow = elementBytes(d.scaleType) == 2 && (!zeroT || isa<IntegerType>(zeroT));
  Type f = narrow ? Type(b.getF32Type()) : Type(b.getF64Type());
  Type i32 = b.getI32Type();
  Value q = memref::LoadOp::create(b, loc, codes, ValueRange{kc.idx(e)});
  if (q.getType() != i32)
    q = d.isSigned ? arith::ExtSIOp::create(b, loc, i32, q).getResult()
                   : arith::ExtUIOp::create(b, loc, i32, q).getResult();
  Value x = arith::SIToFPOp::create(b, loc, f, q);
  if (zeros) {
    Value z = memref::LoadOp::create(b, loc, zeros, ValueRange{kc.idx(at)});
    if (isa<IntegerType>(z.getType())) {
      if (z.getType() != i32)
        z = arith::ExtSIOp::create(b, loc, i32, z);
      z = arith::SIToFPOp::create(b, loc, f, z);
    } else {
      z = convertElement(b, loc, z, f);
    }
    x = arith::SubFOp::create(b, loc, x, z);
  }
  Value s = convertElement(b, loc, memref::LoadOp::create(b, loc, scales, ValueRange{kc.idx(at)}), f);
  Value v = convertElement(b, loc, arith::MulFOp::create(b, loc, x, s), d.resultType);
  memref::StoreOp::create(b, loc, v, result, ValueRange{kc.idx(e)});
  b.setInsertionPointAfter(inside);
  gpu::ReturnOp::create(b, loc);
  launch.argumentBytes = {0, 0, 0};
  return launch;
}

namespace {
/// A dynamic quantize kernel's frame: one warp a row, kThreads / 32 rows a
/// block; the input, codes (bytes) and f32 scales viewed from the
/// arguments; the builder inside `inside`, the test that the warp has a row.
struct WarpRowQuantize {
  KernelLaunch launch;
  Value x, codes, scales, lane, row;
  Operation *inside = nullptr;
};
} // namespace

static FailureOr<WarpRowQuantize> startWarpRowQuantize(OpBuilder &b, KernelContext &kc,
                                                       gpu::GPUModuleOp module, StringRef name,
                                                       int64_t rows, int64_t cols, Type input,
                                                       int64_t scaleCount, Location loc) {
  if (rows * cols >= (int64_t(1) << 31))
    return emitError(loc, "the dynamic quantize has ") << rows * cols << " elements, more than 2^31";
  int64_t perBlock = kThreads / 32;
  WarpRowQuantize w;
  w.launch = memoryLaunch(name);
  w.launch.grid[0] = (rows + perBlock - 1) / perBlock;
  auto func = createKernelFunc(b, loc, name,
                               {rows * cols * elementBytes(input), rows * cols, scaleCount * 4},
                               /*takesSize=*/false, kThreads);
  Block &entry = func.getBody().front();
  Type i32 = b.getI32Type();
  w.x = typedView(b, loc, entry.getArgument(0), input, rows * cols);
  w.codes = typedView(b, loc, entry.getArgument(1), b.getI8Type(), rows * cols);
  w.scales = typedView(b, loc, entry.getArgument(2), b.getF32Type(), scaleCount);
  Value tid32 = arith::IndexCastOp::create(b, loc, i32, gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x));
  w.lane = kc.rem(tid32, 32);
  w.row = kc.add(kc.mul(arith::IndexCastOp::create(
                            b, loc, i32, gpu::BlockIdOp::create(b, loc, gpu::Dimension::x)),
                        perBlock),
                 kc.div(tid32, 32));
  // A whole warp takes a row or none (rows per block divide the grid).
  auto inside = scf::IfOp::create(b, loc, kc.lt(w.row, rows), false);
  b.setInsertionPointToStart(&inside.getThenRegion().front());
  w.inside = inside;
  return w;
}

/// The scale of a warp's values whose largest magnitudes (one a lane) are
/// `most`: the warp's maximum over `divisor` (div.rn.f32), stored by lane
/// 0 at scales[at].
static Value warpScale(OpBuilder &b, Location loc, KernelContext &kc, Value most, float divisor,
                       Value lane, Value scales, Value at) {
  most = warpReduce(b, loc, most, 32, [&](Value p, Value q) {
    return arith::MaxNumFOp::create(b, loc, p, q).getResult();
  });
  Value s = arith::DivFOp::create(
      b, loc, most, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(divisor)));
  auto first = scf::IfOp::create(
      b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, kc.cst(0)), false);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(&first.getThenRegion().front());
  memref::StoreOp::create(b, loc, s, scales, ValueRange{kc.idx(at)});
  return s;
}

/// max(m, |v|) for f32 values: |v| by clearing the sign bit (the math
/// dialect's absf would call libdevice); maxnumf ignores a NaN.
static Value maxMagnitude(OpBuilder &b, Location loc, KernelContext &kc, Value m, Value v) {
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  Value mag = arith::BitcastOp::create(
      b, loc, f32,
      arith::AndIOp::create(b, loc, arith::BitcastOp::create(b, loc, i32, v), kc.cst(0x7fffffff)));
  return arith::MaxNumFOp::create(b, loc, m, mag);
}

FailureOr<KernelLaunch> einloom::buildDynamicQuantizeKernel(gpu::GPUModuleOp module,
                                                            StringRef name, int64_t rows,
                                                            int64_t cols, Type input,
                                                            unsigned bits, Location loc) {
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  KernelContext kc = integerContext(b, loc);
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  FailureOr<WarpRowQuantize> w =
      startWarpRowQuantize(b, kc, module, name, rows, cols, input, rows, loc);
  if (failed(w))
    return failure();
  KernelLaunch launch = w->launch;
  Value x = w->x, codes = w->codes, scales = w->scales, lane = w->lane, row = w->row;
  Operation *inside = w->inside;
  Value base = kc.mul(row, cols);
  auto f32c = [&](float v) { return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v)).getResult(); };
  // Rows of whole 16-byte chunks are read a chunk (`width` values) at a
  // time and written `width` codes at a time; other rows a value at a time.
  int64_t width = (cols * elementBytes(input)) % 16 == 0 ? 16 / elementBytes(input) : 1;
  auto loadChunk = [&](Value c) { // chunk c of the row as f32 values
    Value at = kc.idx(kc.add(base, kc.mul(c, width)));
    SmallVector<Value> out;
    if (width == 1) {
      out.push_back(convertElement(b, loc, memref::LoadOp::create(b, loc, x, ValueRange{at}), f32));
      return out;
    }
    Value vec = vector::LoadOp::create(b, loc, VectorType::get({width}, input), x, ValueRange{at},
                                       /*nontemporal=*/false, llvm::MaybeAlign(16));
    for (int64_t i = 0; i < width; ++i)
      out.push_back(convertElement(
          b, loc, vector::ExtractOp::create(b, loc, vec, ArrayRef<int64_t>{i}), f32));
    return out;
  };
  // The lane's chunks lane, lane + 32, ...: their largest magnitude
  // (maxnumf: a NaN is ignored).
  Value from = kc.idx(lane), to = kc.idx(kc.cst(cols / width)), step = kc.idx(kc.cst(32));
  auto maxLoop = scf::ForOp::create(b, loc, from, to, step, ValueRange{f32c(0)});
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(maxLoop.getBody());
    Value c = arith::IndexCastOp::create(b, loc, i32, maxLoop.getInductionVar());
    Value m = maxLoop.getRegionIterArgs()[0];
    for (Value v : loadChunk(c))
      m = maxMagnitude(b, loc, kc, m, v);
    scf::YieldOp::create(b, loc, m);
  }
  float qmax = float((1 << (bits - 1)) - 1);
  Value s = warpScale(b, loc, kc, maxLoop.getResult(0), qmax, lane, scales, row);
  // The row again (from L1 or L2): the codes.
  auto codeLoop = scf::ForOp::create(b, loc, from, to, step);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(codeLoop.getBody());
    Value c = arith::IndexCastOp::create(b, loc, i32, codeLoop.getInductionVar());
    SmallVector<Value> q8;
    for (Value v : loadChunk(c)) {
      Value r = arith::DivFOp::create(b, loc, v, s);
      // cvt.rni.s32.f32: round half to even, NaN to 0, saturating.
      Value q = inlinePtx(b, loc, i32, ValueRange{r}, "cvt.rni.s32.f32 $0, $1;", "=r,f");
      q = arith::MaxSIOp::create(b, loc, arith::MinSIOp::create(b, loc, q, kc.cst(int64_t(qmax))),
                                 kc.cst(-int64_t(qmax) - 1));
      q8.push_back(arith::TruncIOp::create(b, loc, b.getI8Type(), q));
    }
    Value at = kc.idx(kc.add(base, kc.mul(c, width)));
    if (width == 1)
      memref::StoreOp::create(b, loc, q8[0], codes, ValueRange{at});
    else
      vector::StoreOp::create(
          b, loc, vector::FromElementsOp::create(b, loc, VectorType::get({width}, b.getI8Type()), q8),
          codes, ValueRange{at}, /*nontemporal=*/false, llvm::MaybeAlign(width));
  }
  b.setInsertionPointAfter(inside);
  gpu::ReturnOp::create(b, loc);
  launch.argumentBytes = {0, 0, 0};
  return launch;
}

FailureOr<KernelLaunch> einloom::buildDynamicQuantizeGroupKernel(
    gpu::GPUModuleOp module, StringRef name, int64_t rows, int64_t cols, Type input,
    Type codeType, int64_t group, Location loc) {
  if (!isFp8(codeType) || group < 1)
    return emitError(loc, "fp8 group quantization needs f8E4M3FN or f8E5M2 codes and a group");
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  KernelContext kc = integerContext(b, loc);
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  int64_t groups = (cols + group - 1) / group;
  FailureOr<WarpRowQuantize> w =
      startWarpRowQuantize(b, kc, module, name, rows, cols, input, rows * groups, loc);
  if (failed(w))
    return failure();
  KernelLaunch launch = w->launch;
  Value x = w->x, codes = w->codes, scales = w->scales, lane = w->lane, row = w->row;
  Operation *inside = w->inside;
  auto f32c = [&](float v) { return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v)).getResult(); };
  float fp8max = isa<Float8E4M3FNType>(codeType) ? 448.0f : 57344.0f;
  // Group g of the row: the lane's values lane, lane + 32, ... of it (those
  // inside the row), kept in registers between the maximum and the codes.
  int64_t perLane = (group + 31) / 32;
  auto groupLoop = scf::ForOp::create(b, loc, kc.idx(kc.cst(0)), kc.idx(kc.cst(groups)),
                                      kc.idx(kc.cst(1)));
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(groupLoop.getBody());
    Value gi = arith::IndexCastOp::create(b, loc, i32, groupLoop.getInductionVar());
    Value first = kc.mul(gi, group);
    Value end = arith::MinSIOp::create(b, loc, kc.add(first, group), kc.cst(cols));
    SmallVector<Value> vals, oks, ats;
    Value most = f32c(0);
    for (int64_t j = 0; j < perLane; ++j) {
      Value col = kc.add(first, kc.add(lane, 32 * j));
      Value ok = kc.ltV(col, end);
      Value at = kc.add(kc.mul(row, cols), arith::SelectOp::create(b, loc, ok, col, kc.cst(0)));
      Value v = convertElement(b, loc, memref::LoadOp::create(b, loc, x, ValueRange{kc.idx(at)}), f32);
      v = arith::SelectOp::create(b, loc, ok, v, f32c(0));
      most = maxMagnitude(b, loc, kc, most, v);
      vals.push_back(v);
      oks.push_back(ok);
      ats.push_back(at);
    }
    Value s = warpScale(b, loc, kc, most, fp8max, lane, scales, kc.add(kc.mul(row, groups), gi));
    for (int64_t j = 0; j < perLane; ++j) {
      Value r = arith::DivFOp::create(b, loc, vals[j], s);
      Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, r, r);
      r = arith::SelectOp::create(b, loc, isNan, f32c(0), r);
      auto store = scf::IfOp::create(b, loc, oks[j], false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(&store.getThenRegion().front());
      memref::StoreOp::create(b, loc, storedAs(b, loc, r, codeType), codes,
                              ValueRange{kc.idx(ats[j])});
    }
  }
  b.setInsertionPointAfter(inside);
  gpu::ReturnOp::create(b, loc);
  launch.argumentBytes = {0, 0, 0};
  return launch;
}

FailureOr<KernelLaunch> einloom::buildPackKernel(gpu::GPUModuleOp module, StringRef name,
                                                 int64_t N, int64_t K, unsigned bits,
                                                 Location loc) {
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  int64_t words = N * K * bits / 32;
  KernelLaunch launch = memoryLaunch(name);
  launch.grid[0] = (words + kThreads - 1) / kThreads;
  auto func = createKernelFunc(b, loc, name, {N * K, words * 4}, /*takesSize=*/false, kThreads);
  Block &entry = func.getBody().front();
  KernelContext kc = integerContext(b, loc);
  Value codes = typedView(b, loc, entry.getArgument(0), b.getI8Type(), N * K);
  Value out = typedView(b, loc, entry.getArgument(1), b.getI32Type(), words);
  Value w = kc.globalThread(kThreads);
  auto inside = scf::IfOp::create(b, loc, kc.lt(w, words), false);
  b.setInsertionPointToStart(&inside.getThenRegion().front());
  // Word w: lane `lane` of 16 x 64 tile T = kt·(N/16) + nb, its word wi of
  // `bits`; register j = wi·R + i holds the pair (h = 0, 1) at row
  // 16nb + lane/4 + 8(r%2), k 64kt + 16ks + 2(lane%4) + 8(r/2) + h, in
  // field i + R·h (2 and 4 bits) or byte 2i + h (8 bits): docs/dialect.md.
  // 3 bits: words 0 and 1 are 2-bit words of the codes' low bit pairs,
  // word 2 holds register j's high bits at bits j and j + 16.
  bool split = bits == 3;
  int64_t regsPerWord = bits == 8 ? 2 : split ? 8 : 16 / bits;
  Value wi = kc.rem(w, bits), slot = kc.div(w, bits);
  Value lane = kc.rem(slot, 32), tile = kc.div(slot, 32);
  Value kt = kc.div(tile, N / 16), nb = kc.rem(tile, N / 16);
  Value rowBase = kc.add(kc.mul(nb, 16), kc.div(lane, 4));
  Value kBase = kc.add(kc.mul(kt, 64), kc.mul(kc.rem(lane, 4), 2));
  auto i32c = [&](int64_t v) { return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v)); };
  // The code of register j (a value), half h, as an i32.
  auto codeOf = [&](Value j, int64_t h) -> Value {
    Value ks = kc.div(j, 4), r = kc.rem(j, 4);
    Value row = kc.add(rowBase, kc.mul(kc.rem(r, 2), 8));
    Value k = kc.add(kBase, kc.add(kc.mul(ks, 16), kc.add(kc.mul(kc.div(r, 2), 8), h)));
    Value code = memref::LoadOp::create(b, loc, codes,
                                        ValueRange{kc.idx(kc.add(kc.mul(row, K), k))});
    return arith::ExtUIOp::create(b, loc, b.getI32Type(), code);
  };
  // Word wi of the low fields: register i of it at field i + R·h (byte
  // 2i + h for 8 bits), `fieldBits` bits each.
  auto lowWord = [&]() {
    int64_t fieldBits = split ? 2 : bits;
    Value word = i32c(0), mask = i32c((1 << fieldBits) - 1);
    for (int64_t i = 0; i < regsPerWord; ++i)
      for (int64_t h = 0; h < 2; ++h) {
        Value field = arith::AndIOp::create(b, loc, codeOf(kc.add(kc.mul(wi, regsPerWord), i), h),
                                            mask);
        int64_t shift = fieldBits * (bits == 8 ? 2 * i + h : i + h * regsPerWord);
        word = arith::OrIOp::create(b, loc, word, arith::ShLIOp::create(b, loc, field, i32c(shift)));
      }
    return word;
  };
  Value word;
  if (split) {
    auto which = scf::IfOp::create(b, loc, TypeRange{b.getI32Type()}, kc.lt(wi, 2), true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&which.getThenRegion().front());
      scf::YieldOp::create(b, loc, lowWord());
      b.setInsertionPointToStart(&which.getElseRegion().front());
      Value high = i32c(0);
      for (int64_t j = 0; j < 16; ++j)
        for (int64_t h = 0; h < 2; ++h) {
          Value bit = arith::AndIOp::create(
              b, loc, arith::ShRUIOp::create(b, loc, codeOf(kc.cst(j), h), i32c(2)), i32c(1));
          high = arith::OrIOp::create(b, loc, high,
                                      arith::ShLIOp::create(b, loc, bit, i32c(j + 16 * h)));
        }
      scf::YieldOp::create(b, loc, high);
    }
    word = which.getResult(0);
  } else {
    word = lowWord();
  }
  memref::StoreOp::create(b, loc, word, out, ValueRange{kc.idx(w)});
  b.setInsertionPointAfter(inside);
  gpu::ReturnOp::create(b, loc);
  return launch;
}
