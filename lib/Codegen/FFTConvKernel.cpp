//===- FFTConvKernel.cpp - loom.fftconv on tensor cores -------------------===//
//
// The fused order-2 FFT convolution kernel and its filter-spectrum kernel
// (include/einloom/Codegen/FFTConvKernel.h has the plan, the steps and the
// index maps; lib/Codegen/FFTConvModel.cpp runs the same steps on the host).
//
// Every warp's share of each product is known when the kernel is built:
// the code branches once on the warp index (scf.index_switch, uniform in a
// warp) and each case is straight-line code with constant tiles, so the
// zero-skipping decisions cost nothing at run time. The DFT matrices (in
// the 16-bit operand type) and the twiddles (f32) are computed in f64 on
// the host and rounded once, into constant tables in global memory; each
// CTA copies the matrices to shared memory once, and the convolution
// kernel's CTAs stay resident (persistent) and walk the sequence pairs.
//
//===----------------------------------------------------------------------===//
#include "einloom/Codegen/FFTConvKernel.h"
#include "einloom/Codegen/KernelBuilder.h"

#include "KernelContext.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/Support/Format.h"

#include <map>
#include <set>

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

namespace {

/// An i32 index value for the header's index-map templates.
struct Ix {
  KernelContext *kc;
  Value v;
};
Ix operator*(Ix a, int64_t c) { return {a.kc, a.kc->mul(a.v, c)}; }
Ix operator+(Ix a, int64_t c) { return {a.kc, a.kc->add(a.v, c)}; }
Ix operator+(Ix a, Ix c) { return {a.kc, a.kc->add(a.v, c.v)}; }

using Acc = std::array<Value, 4>;

class FFTConvGen {
public:
  FFTConvGen(OpBuilder &b, Location loc, KernelContext &kc, const FFTConvKernelPlan &p,
             gpu::GPUModuleOp module, Type op16)
      : b(b), loc(loc), kc(kc), p(p), module(module), op16(op16) {}

  OpBuilder &b;
  Location loc;
  KernelContext &kc;
  const FFTConvKernelPlan &p;
  gpu::GPUModuleOp module;
  Type op16; ///< the products' operand type: f16 or bf16
  Value halves, words, floats; ///< shared memory as op16, i32 and f32 (buffer A)
  Value allFloats;             ///< all of shared memory as f32
  Value tid, warp;
  Ix g, t;
  Value twiddles; ///< global f32 table [k1][j2][re, im]
  /// The outer kernels' two twiddle tables (outerTwiddle).
  Value outerLow, outerHigh;
  std::map<int64_t, Value> laneBase; ///< see laneWords

  Type f32() { return b.getF32Type(); }
  Value f32c(double v) { return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v))); }
  Value mulf(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value addf(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value subf(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  /// (a + ib)(c + id), or (a + ib)(c - id) with `conj`.
  std::pair<Value, Value> cmul(Value a, Value bi, Value c, Value d, bool conj = false) {
    if (conj)
      return {addf(mulf(a, c), mulf(bi, d)), subf(mulf(bi, c), mulf(a, d))};
    return {subf(mulf(a, c), mulf(bi, d)), addf(mulf(a, d), mulf(bi, c))};
  }

  /// A constant table in global memory (shared by every kernel of the
  /// module that asks for the same name).
  Value table(StringRef name, Type elem, const std::vector<double> &values) {
    auto space = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Global);
    auto type = MemRefType::get({int64_t(values.size())}, elem, nullptr, space);
    if (!SymbolTable::lookupSymbolIn(module, name)) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(module.getBody());
      const llvm::fltSemantics &sem = cast<FloatType>(elem).getFloatSemantics();
      SmallVector<APFloat> init;
      for (double v : values) {
        APFloat x(v);
        bool lost;
        x.convert(sem, APFloat::rmNearestTiesToEven, &lost);
        init.push_back(x);
      }
      memref::GlobalOp::create(b, loc, name, b.getStringAttr("private"), type,
                               DenseElementsAttr::get(RankedTensorType::get(type.getShape(), elem),
                                                      init),
                               /*constant=*/true, b.getI64IntegerAttr(16));
    }
    return memref::GetGlobalOp::create(b, loc, type, name);
  }
  std::string typeName() { return op16.isBF16() ? "bf16" : "f16"; }

  /// The kernel's entry: thread indices and views of shared memory; the
  /// DFT matrices copied to shared memory; the twiddle table.
  void begin() {
    tid = kc.fromIndex(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x));
    warp = kc.div(tid, 32);
    Value lane = kc.rem(tid, 32);
    g = {&kc, kc.div(lane, 4)};
    t = {&kc, kc.rem(lane, 4)};
    auto shared = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
    Value smem = gpu::DynamicSharedMemoryOp::create(
        b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), nullptr, shared));
    auto view = [&](Type elem, int64_t count) {
      return memref::ViewOp::create(b, loc, MemRefType::get({count}, elem, nullptr, shared), smem,
                                    arith::ConstantIndexOp::create(b, loc, 0), ValueRange{})
          .getResult();
    };
    halves = view(op16, p.sharedHalves());
    words = view(b.getI32Type(), p.sharedHalves() / 2);
    floats = view(f32(), p.bufferHalves() / 2);
    allFloats = view(f32(), p.sharedHalves() / 2);
    using Dft = FFTConvKernelPlan::Dft;
    bool outer = p.pass == FFTConvKernelPlan::Pass::Outer; // F_P alone; its own twiddles
    std::set<int64_t> copied;
    for (Dft d : {Dft::Left, Dft::Right, Dft::RightInverse}) {
      if ((outer && d != Dft::Left) || !copied.insert(p.dftCopy(d)).second)
        continue; // shared with one already copied
      int64_t r = p.radix(d);
      std::vector<Complex> f = dftMatrix(r);
      std::vector<double> re, im;
      for (int64_t a = 0; a < r; ++a)
        for (int64_t c = 0; c < r; ++c) {
          auto [row, col] = p.dftSource(d, a, c);
          re.push_back(f[row * r + col].real());
          im.push_back(f[row * r + col].imag());
        }
      std::string name = "einloom_dft" + std::to_string(r) + "_" + typeName() +
                         (d == Dft::Left || !p.centered() ? ""
                          : d == Dft::Right               ? "_centered"
                                                          : "_centered_t");
      Value tre = table(name + "_re", op16, re), tim = table(name + "_im", op16, im);
      forThreads(r * r, [&](Value e) {
        Value at = kc.add(kc.mul(kc.div(e, r), p.dftPitch(r)), kc.rem(e, r));
        for (auto [src, base] : {std::pair{tre, p.dftReal(d)}, std::pair{tim, p.dftImag(d)}})
          memref::StoreOp::create(b, loc, memref::LoadOp::create(b, loc, src, kc.idx(e)), halves,
                                  kc.idx(kc.add(at, base)));
      });
    }
    if (outer) {
      int64_t bits = outerTwiddleLowBits(p.M);
      auto make = [&](StringRef which, int64_t count, int64_t shift) {
        std::vector<double> v;
        for (int64_t e = 0; e < count; ++e) {
          Complex w = unitRoot(e << shift, p.M);
          v.push_back(w.real());
          v.push_back(w.imag());
        }
        return table(("einloom_outer_twiddles_" + which + "_" + std::to_string(p.M)).str(), f32(),
                     v);
      };
      outerLow = make("low", int64_t(1) << bits, 0);
      outerHigh = make("high", p.M >> bits, bits);
    } else {
      std::vector<double> tw;
      for (int64_t k1 = 0; k1 < p.r0; ++k1)
        for (int64_t j2 = 0; j2 < p.r1; ++j2) {
          Complex w = unitRoot(k1 * j2, p.Q);
          tw.push_back(w.real());
          tw.push_back(w.imag());
        }
      twiddles =
          table("einloom_twiddles" + std::to_string(p.r0) + "x" + std::to_string(p.r1), f32(), tw);
    }
    barrier();
  }

  /// The outer kernels' twiddle w_M^(k1 q) (conjugated with `conj`) times
  /// (re, im): the product of two table entries (outerTwiddleLowBits).
  std::pair<Value, Value> outerTwiddle(Value k1, Value q, Value re, Value im, bool conj) {
    int64_t bits = outerTwiddleLowBits(p.M);
    Value low = outerLow, high = outerHigh;
    Value e = kc.andI(kc.mulV(k1, q), p.M - 1);
    auto pair = [&](Value table, Value at) {
      Value v = vector::LoadOp::create(b, loc, VectorType::get({2}, f32()), table,
                                       kc.idx(kc.mul(at, 2)), /*nontemporal=*/false,
                                       llvm::MaybeAlign(8));
      return std::pair<Value, Value>{vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{0}),
                                     vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{1})};
    };
    auto [lr, li] = pair(low, kc.andI(e, (int64_t(1) << bits) - 1));
    auto [hr, hi] = pair(high, arith::ShRUIOp::create(b, loc, e, kc.cst(bits)));
    auto [wr, wi] = cmul(lr, li, hr, hi);
    return cmul(re, im, wr, wi, conj);
  }

  /// An index into a global array: row * rowElements + base + offset, in
  /// 32 bits, unsigned (FFTConvKernelPlan::build keeps the workspace below
  /// 2^32 floats; 64-bit addresses cost the inner kernel spills).
  Value rowAt(Value row, int64_t rowElements, Value offset, int64_t base = 0) {
    return kc.idx(kc.add(kc.add(kc.mul(row, rowElements), offset), base));
  }
  Value load4At(Value table, Value at) {
    return vector::LoadOp::create(b, loc, VectorType::get({4}, f32()), table, at,
                                  /*nontemporal=*/false, llvm::MaybeAlign(16));
  }
  void store4At(ArrayRef<Value> v, Value table, Value at) {
    vector::StoreOp::create(b, loc, vector::FromElementsOp::create(b, loc, VectorType::get({4}, f32()), v),
                            table, at, /*nontemporal=*/false, llvm::MaybeAlign(16));
  }
  Value extract(Value v, int64_t e) { return vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{e}); }

  void barrier() { gpu::BarrierOp::create(b, loc); }

  /// body(e) for e = tid, tid + threads, ... below `count`.
  void forThreads(int64_t count, function_ref<void(Value)> body) {
    auto loop = scf::ForOp::create(b, loc, kc.idx(tid), kc.idx(kc.cst(count)),
                                   arith::ConstantIndexOp::create(b, loc, p.threads()));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(kc.fromIndex(loop.getInductionVar()));
  }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  /// The thread's largest of magnitude(e) for e = tid, tid + threads, ...
  /// below `count` (0 for none).
  Value forThreadsMax(int64_t count, function_ref<Value(Value)> magnitude) {
    auto loop = scf::ForOp::create(b, loc, kc.idx(tid), kc.idx(kc.cst(count)),
                                   arith::ConstantIndexOp::create(b, loc, p.threads()),
                                   ValueRange{f32c(0)});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value m = magnitude(kc.fromIndex(loop.getInductionVar()));
    scf::YieldOp::create(b, loc, arith::MaxNumFOp::create(b, loc, loop.getRegionIterArgs()[0], m)
                                     .getResult());
    b.setInsertionPointAfter(loop);
    return loop.getResult(0);
  }
  /// The largest |x| of a vector of f32 (the sign bits cleared: absf would
  /// call libdevice; maxnum ignores NaN).
  Value largestMagnitude(Value v) {
    auto vt = cast<VectorType>(v.getType());
    auto it = VectorType::get(vt.getShape(), b.getI32Type());
    Value mask = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(it, int32_t(0x7fffffff)));
    Value mag = arith::BitcastOp::create(
        b, loc, vt, arith::AndIOp::create(b, loc, arith::BitcastOp::create(b, loc, it, v), mask));
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXNUMF, mag);
  }
  /// The largest of every thread's `x` (all threads get it): warp
  /// shuffles, then one slot a warp in shared memory. Two barriers.
  Value blockMax(Value x) {
    Value w = warpReduce(b, loc, x, 32, [&](Value p, Value q) {
      return arith::MaxNumFOp::create(b, loc, p, q).getResult();
    });
    Value slot0 = kc.cst(p.reductionSlots() / 2); // in f32 words
    auto first = scf::IfOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, kc.rem(tid, 32), kc.cst(0)),
        false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&first.getThenRegion().front());
      memref::StoreOp::create(b, loc, w, allFloats, kc.idx(kc.add(slot0, warp)));
    }
    barrier();
    Value m = memref::LoadOp::create(b, loc, allFloats, kc.idx(slot0));
    for (int64_t i = 1; i < p.warps(); ++i)
      m = arith::MaxNumFOp::create(b, loc, m,
                                   memref::LoadOp::create(b, loc, allFloats, kc.idx(kc.add(slot0, i))));
    barrier(); // the slots are free again
    return m;
  }
  /// powerOfTwoScale(largest) and its inverse, from the exponent bits E of
  /// the f32 `largest`: 2^(126 - E) and 2^(E - 126), E clamped to 26..226;
  /// 1 and 1 for zero, subnormals, infinity and NaN (E = 0 or 255).
  std::pair<Value, Value> powerOfTwoScales(Value largest) {
    Type i32 = b.getI32Type();
    Value e = kc.andI(arith::ShRUIOp::create(b, loc, arith::BitcastOp::create(b, loc, i32, largest),
                                             kc.cst(23)),
                      0xff);
    Value normal = kc.lt(sub(e, kc.cst(1)), 254); // 1 <= E <= 254
    Value clamped = arith::MinUIOp::create(b, loc, arith::MaxUIOp::create(b, loc, e, kc.cst(26)),
                                           kc.cst(226));
    auto asFloat = [&](Value exponentField) {
      Value bits = arith::ShLIOp::create(b, loc, exponentField, kc.cst(23));
      return arith::BitcastOp::create(b, loc, f32(), bits).getResult();
    };
    Value one = f32c(1);
    Value scale = kc.select(normal, asFloat(sub(kc.cst(253), clamped)), one);
    Value unscale = kc.select(normal, asFloat(kc.add(clamped, 1)), one);
    return {scale, unscale};
  }

  /// body(w) in warp w's own branch (w constant).
  void perWarp(function_ref<void(int64_t)> body) {
    SmallVector<int64_t> cases;
    for (int64_t w = 0; w < p.warps(); ++w)
      cases.push_back(w);
    auto sw = scf::IndexSwitchOp::create(b, loc, TypeRange{}, kc.idx(warp), cases, cases.size());
    OpBuilder::InsertionGuard guard(b);
    for (int64_t w : cases) {
      b.setInsertionPointToStart(&sw.getCaseRegions()[w].emplaceBlock());
      body(w);
      scf::YieldOp::create(b, loc);
    }
    b.setInsertionPointToStart(&sw.getDefaultRegion().emplaceBlock());
    scf::YieldOp::create(b, loc);
  }

  /// The lane's word offset g * pitch / 2 + t in a matrix of `pitch`
  /// halves (the part of every fragment map that depends on the lane: the
  /// maps are affine), made once at the kernel's entry.
  Value laneWords(int64_t pitch) {
    auto it = laneBase.find(pitch);
    if (it != laneBase.end())
      return it->second;
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointAfterValue(t.v);
    Ix halves = aFragmentOffset<Ix>(g, t, pitch, 0, 0, 0); // g * pitch + 2t
    Value w = kc.div(halves.v, 2);
    laneBase[pitch] = w;
    return w;
  }
  /// The word at lane offset + `constHalves` + `extraWords` (a run-time
  /// tile's words) from `base`: the constant folds into the load.
  Value word(int64_t pitch, int64_t constHalves, int64_t base, Value extraWords) {
    Value at = kc.add(laneWords(pitch), (constHalves + base) / 2);
    if (extraWords)
      at = kc.add(at, extraWords);
    return memref::LoadOp::create(b, loc, words, kc.idx(at));
  }
  Value negate(Value pair) { // both 16-bit halves' signs
    return arith::XOrIOp::create(b, loc, pair, kc.cst(int64_t(0x80008000)));
  }
  /// A fragment's `regs` words at the maps' constant offsets `offset(q)`,
  /// plus `extraWords` (a run-time tile).
  SmallVector<Value, 4> fragment(int regs, int64_t base, int64_t pitch, Value extraWords,
                                 function_ref<int64_t(int)> offset) {
    SmallVector<Value, 4> r;
    for (int q = 0; q < regs; ++q)
      r.push_back(word(pitch, offset(q), base, extraWords));
    return r;
  }
  /// A fragments at (row0, col0); B fragments of columns n0.., K k0...
  SmallVector<Value, 4> aFragment(int64_t base, int64_t pitch, int64_t row0, int64_t col0,
                                  Value extraWords = Value()) {
    return fragment(4, base, pitch, extraWords, [&](int q) {
      return aFragmentOffset<int64_t>(0, 0, pitch, row0, col0, q);
    });
  }
  SmallVector<Value, 4> bFragment(int64_t base, int64_t pitch, int64_t n0, int64_t k0,
                                  Value extraWords = Value()) {
    return fragment(2, base, pitch, extraWords, [&](int q) {
      return bFragmentOffset<int64_t>(0, 0, pitch, n0, k0, q);
    });
  }
  SmallVector<Value, 4> negated(SmallVector<Value, 4> x) {
    for (Value &v : x)
      v = negate(v);
    return x;
  }
  void mma(ArrayRef<Value> a, ArrayRef<Value> bf, Acc &acc) {
    std::string ptx = std::string("mma.sync.aligned.m16n8k16.row.col.f32.") + typeName() + "." +
                      typeName() +
                      ".f32 {$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9}, {$10, $11, $12, $13};";
    SmallVector<Value> ins(a.begin(), a.end());
    ins.append(bf.begin(), bf.end());
    ins.append(acc.begin(), acc.end());
    auto op = NVVM::InlinePtxOp::create(b, loc, TypeRange{f32(), f32(), f32(), f32()},
                                        ValueRange(ins), ValueRange{}, b.getStringAttr(ptx), Value());
    for (int e = 0; e < 4; ++e)
      acc[e] = op.getResult(e);
  }
  Acc zeros() { return {f32c(0), f32c(0), f32c(0), f32c(0)}; }

  /// An output tile: row tile i, column tile j; the one a warp loops over
  /// is a run-time value (its constant is -1), the other is known.
  struct Tile {
    int64_t i, j;
    Value iv, jv;
  };
  using Epilogue = function_ref<void(const Tile &tile, Acc &re, Acc &im)>;

  /// body(x) for x = from, from + step, ... below `to` (an scf.for: one
  /// tile's code, not one copy a tile).
  void loop(int64_t from, int64_t to, int64_t step, function_ref<void(Value)> body) {
    if (from >= to)
      return;
    auto l = scf::ForOp::create(b, loc, kc.idx(kc.cst(from)), kc.idx(kc.cst(to)),
                                kc.idx(kc.cst(step)));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(l.getBody());
    body(kc.fromIndex(l.getInductionVar()));
  }

  /// What a warp's fixed tile of a product does: its products, nothing
  /// (rows past the output), or its epilogue on zeros (a zero spectrum).
  enum class Fixed { Compute, Drop, Zero };

  /// Warp w's share of one stacked complex product (see the model,
  /// FFTConvModel.cpp, Model::left and Model::right): on the `left`, F_r0
  /// (the A operand) times buffer `src` as the B operand; else `src` as the
  /// A operand times F_r1 (conj F with `inverse`). A warp's tiles along the
  /// matrix's side are fixed (left: row pairs i, right: column pairs j): the
  /// matrix's fragments are loaded once for each, and the other side's
  /// tiles are a loop. `stepZero(s)`: K step s reads only zeros.
  void product(int64_t w, bool left, int64_t src, bool inverse,
               function_ref<bool(int64_t)> stepZero, function_ref<Fixed(int64_t)> fixed,
               Epilogue epi) {
    using Dft = FFTConvKernelPlan::Dft;
    Dft matrix = left ? Dft::Left : inverse ? Dft::RightInverse : Dft::Right;
    int64_t r = p.radix(matrix), half = r / 16; // K steps in each of Re, Im
    // The fixed side's tiles (of 16 rows or 8 columns) and the loop's.
    int64_t fixedTiles = left ? p.r0 / 16 : p.r1 / 8, loopTiles = left ? p.r1 / 8 : p.r0 / 16;
    int64_t fixedWarps = left ? p.leftWarpRows() : p.rightWarpCols(),
            loopWarps = p.warps() / fixedWarps;
    int64_t pitch = left ? p.pitchLeft() : p.pitchRight();
    for (int64_t x = w % fixedWarps; x < fixedTiles; x += fixedWarps) {
      Fixed what = fixed(x);
      if (what == Fixed::Drop)
        continue;
      // The matrix's fragments of this tile: Fr and Fi (conjugated).
      using Frag = SmallVector<Value, 4>;
      std::vector<Frag> fr(half), fi(half);
      auto load = [&](int64_t base, int64_t s) {
        return left ? aFragment(base, p.dftPitch(r), 16 * x, 16 * s)
                    : bFragment(base, p.dftPitch(r), 8 * x, 16 * s);
      };
      // The matrix's fragments of K step s; the first kCachedSteps of them
      // loaded once, before the loop (registers: with 128 x 128 and no
      // skipped steps, caching all would spill), the rest where used.
      auto matrixStep = [&](int64_t s) {
        fr[s] = load(p.dftReal(matrix), s);
        fi[s] = load(p.dftImag(matrix), s);
        if (inverse)
          fi[s] = negated(fi[s]);
      };
      const int64_t kCachedSteps = p.pass == FFTConvKernelPlan::Pass::Inner ? 4 : 6;
      for (int64_t s = 0; s < std::min(half, kCachedSteps) && what == Fixed::Compute; ++s)
        if (!stepZero(s) || !stepZero(s + half))
          matrixStep(s);
      loop(w / fixedWarps, loopTiles, loopWarps, [&](Value y) {
        Acc re = zeros(), im = zeros();
        // The data tile's offset in words: 8 rows of the B operand's [n][k]
        // layout, or 16 rows of the A operand's.
        Value off = kc.mul(y, (left ? 4 : 8) * pitch);
        for (int64_t s = 0; s < 2 * half && what == Fixed::Compute; ++s) {
          if (stepZero(s))
            continue;
          bool imagK = s >= half;
          int64_t sk = s % half;
          if (sk >= kCachedSteps && (!imagK || stepZero(sk)))
            matrixStep(sk); // (once for its Re and Im steps)
          // Re outputs: Fr, then -Fi along K; Im outputs: Fi, then Fr (Fi
          // already conjugated). The same for rows of F_r0 on the left and
          // columns of F_r1 on the right.
          Frag fRe = imagK ? negated(fi[sk]) : fr[sk], fIm = imagK ? fr[sk] : fi[sk];
          if (left) {
            auto data = bFragment(src, pitch, 0, 16 * s, off);
            mma(fRe, data, re);
            mma(fIm, data, im);
          } else {
            auto data = aFragment(src, pitch, 0, 16 * s, off);
            mma(data, fRe, re);
            mma(data, fIm, im);
          }
        }
        epi(left ? Tile{x, -1, kc.cst(x), y} : Tile{-1, x, y, kc.cst(x)}, re, im);
      });
    }
  }
  void left(int64_t w, int64_t src, bool inverse, function_ref<bool(int64_t)> stepZero,
            function_ref<bool(int64_t)> rowsNeeded, Epilogue epi) {
    product(w, true, src, inverse, stepZero,
            [&](int64_t i) { return rowsNeeded(i) ? Fixed::Compute : Fixed::Drop; }, epi);
  }
  void right(int64_t w, int64_t src, bool inverse, function_ref<bool(int64_t)> stepZero,
             function_ref<bool(int64_t)> skip, Epilogue epi) {
    product(w, false, src, inverse, stepZero,
            [&](int64_t j) { return skip(j) ? Fixed::Zero : Fixed::Compute; }, epi);
  }

  /// Row and column of accumulator element e in tile (i, j) (16 x 8).
  Value rowOf(const Tile &tile, int e) { return (cRow<Ix>(g, e) + Ix{&kc, tile.iv} * 16).v; }
  Value colOf(const Tile &tile, int e) { return (cCol<Ix>(t, e) + Ix{&kc, tile.jv} * 8).v; }

  /// Four f32 at `at` (a multiple of 4) of a global f32 table.
  std::array<Value, 4> load4(Value table, Value at) {
    Value v = vector::LoadOp::create(b, loc, VectorType::get({4}, f32()), table, kc.idx(at),
                                     /*nontemporal=*/false, llvm::MaybeAlign(16));
    std::array<Value, 4> r;
    for (int64_t e = 0; e < 4; ++e)
      r[e] = vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{e});
    return r;
  }
  void storeHalf(Value v, Value at) {
    memref::StoreOp::create(b, loc, arith::TruncFOp::create(b, loc, op16, v), halves, kc.idx(at));
  }

  /// The forward left product's epilogue: times w_M^(k1 j2), into buffer B
  /// as a right product's A operand (row k1: Re j2, then Im).
  void twiddleIntoB(const Tile &tile, Acc &re, Acc &im) {
    for (int pair = 0; pair < 2; ++pair) {
      Value k1 = rowOf(tile, 2 * pair), j2 = colOf(tile, 2 * pair);
      std::array<Value, 4> w = load4(twiddles, kc.mul(kc.add(kc.mul(k1, p.r1), j2), 2));
      for (int h = 0; h < 2; ++h) {
        int e = 2 * pair + h;
        auto [xr, xi] = cmul(re[e], im[e], w[2 * h], w[2 * h + 1]);
        Value at = kc.add(kc.add(kc.mul(k1, p.pitchRight()), j2), p.bufferB() + h);
        storeHalf(xr, at);
        storeHalf(xi, kc.add(at, p.r1));
      }
    }
  }

  /// Steps 2 and 3 (buffer A already filled): the forward transform, the
  /// right product's tiles handed to `spectrum` (column pairs known zero
  /// when `useCutoff`: their epilogue gets zeros).
  void forward(bool filter, Epilogue spectrum) {
    perWarp([&](int64_t w) {
      left(w, p.bufferA(), false, [&](int64_t s) { return p.forwardStepZero(s, filter); },
           [](int64_t) { return true; },
           [&](const Tile &tile, Acc &re, Acc &im) { twiddleIntoB(tile, re, im); });
    });
    barrier();
    perWarp([&](int64_t w) {
      right(w, p.bufferB(), false, [](int64_t) { return false; },
            [&](int64_t j) { return !filter && p.spectrumTileZero(j); }, spectrum);
    });
  }

  /// Step 1 of the inner pass: row `row` of the two-pass rows (complex
  /// f32, in the workspace after the spectra) into buffer A, scaled by the
  /// power of two below its largest magnitude; the scale and its inverse.
  std::pair<Value, Value> loadRow(Value ws, Value row) {
    auto at = [&](Value c) { return rowAt(row, 2 * p.Q, kc.mul(c, 4), p.dataOffset()); };
    Value largest = blockMax(forThreadsMax(p.Q / 2, [&](Value c) {
      return largestMagnitude(load4At(ws, at(c)));
    }));
    auto scales = powerOfTwoScales(largest);
    forThreads(p.Q / 2, [&](Value c) { // two complex values: q = 2c, 2c + 1
      Value v = load4At(ws, at(c));
      for (int64_t e = 0; e < 4; ++e)
        scatterInput(mulf(extract(v, e), scales.first), kc.add(kc.mul(c, 2), e / 2),
                     kc.cst(e % 2));
    });
    return scales;
  }

  /// Step 1's scatter: value v of x[n] (part 0: Re, 1: Im) into buffer A as
  /// a left product's B operand.
  void scatterInput(Value v, Value n, Value part) {
    Value j1 = kc.div(n, p.r1), j2 = kc.rem(n, p.r1);
    Value at = kc.add(kc.add(kc.mul(j2, p.pitchLeft()), j1), kc.mul(part, p.r0));
    storeHalf(v, kc.add(at, p.bufferA()));
  }
  /// The values of x the left product's unskipped steps read: n below
  /// this (N, or the whole length when a step covers the padding).
  int64_t fillLength(bool filter) {
    int64_t rows = 0, pairs = p.r0 / 16;
    for (int64_t s = 0; s < pairs; ++s)
      if (!p.forwardStepZero(s, filter) || !p.forwardStepZero(s + pairs, filter))
        rows = 16 * s + 16;
    return std::min(p.r0, rows) * p.r1;
  }
};

KernelContext fftContext(OpBuilder &b, Location loc, int64_t threads) {
  static const Contraction none{};
  return KernelContext{b, loc, none, loom::PlanAttr(), 0, 0, 0, 1, 1, 1, threads, 0,
                       b.getI32Type(), {}, {}, {}, {}};
}

bool is16(Type t) { return t.isF16() || t.isBF16(); }

/// The fused kernel's CTAs an SM (see buildFFTConvKernel).
int64_t fftconvCtasPerSM(const FFTConvKernelPlan &p) {
  int64_t bySmem = (FFTConvKernelPlan::kMaxSharedBytes) / (p.sharedBytes() + 1024);
  // (The inner pass, with no known zeros to skip, needs the registers of
  // three CTAs an SM at every length.)
  bool three = p.Q >= 4096 || p.pass == FFTConvKernelPlan::Pass::Inner;
  return std::clamp<int64_t>(bySmem, 1, three ? 3 : 4);
}
} // namespace

FailureOr<FFTConvKernelPlan> einloom::fftconvPlan(loom::FFTConvOp conv) {
  auto u = cast<RankedTensorType>(conv.getInput().getType());
  auto k = cast<RankedTensorType>(conv.getKernel().getType());
  auto fail = [&](const Twine &why) {
    conv.emitOpError("has no GPU kernel for this convolution: ") << why;
    return failure();
  };
  if (!u.hasStaticShape() || !k.hasStaticShape())
    return fail("the kernels take static shapes");
  Type io = u.getElementType();
  if (!is16(io))
    return fail("the sequences must be f16 or bf16 (the products' operand type), not " +
                llvm::Twine(llvm::isa<FloatType>(io) ? "a wider float" : "this type"));
  for (Value gate : {conv.getPreGate(), conv.getPostGate()})
    if (gate && cast<RankedTensorType>(gate.getType()).getElementType() != io)
      return fail("the gates must have the sequences' element type");
  if (cast<RankedTensorType>(conv.getResult().getType()).getElementType() != io)
    return fail("the result must have the sequences' element type");
  Type f = k.getElementType();
  if (!f.isF32() && !is16(f))
    return fail("the filter must be f32, f16 or bf16");
  FFTConvShape s;
  s.N = u.getShape().back();
  s.L = k.getShape().back();
  s.rows = u.getNumElements() / std::max<int64_t>(1, s.N);
  s.heads = k.getNumElements() / std::max<int64_t>(1, s.L);
  // The filter rows are u's trailing leading dimensions (or one filter).
  int64_t off = u.getRank() - k.getRank();
  if (s.heads != 1)
    for (int64_t d = 0; d + 1 < k.getRank(); ++d)
      if (k.getDimSize(d) != u.getDimSize(off + d))
        return fail("a filter that broadcasts along some of its leading dimensions but not "
                    "all is not supported; give it u's trailing leading dimensions or one row");
  // A dynamic batch (a size-bucket variant): u's leading dimension, which
  // no filter dimension may match.
  if (conv->hasAttr("loom.dynamic")) {
    if (u.getRank() <= k.getRank() && s.heads != 1)
      return fail("a dynamic leading dimension must be a batch dimension (u's rank above the "
                  "filter's, or one filter for all rows)");
    s.dynamicLead = u.getDimSize(0);
  }
  s.causal = conv.getMode() == loom::FFTConvMode::Causal;
  s.cutoff = conv.getFreqCutoff().value_or(0);
  s.preGate = static_cast<bool>(conv.getPreGate());
  s.postGate = static_cast<bool>(conv.getPostGate());
  FFTConvKernelPlan p;
  std::string why;
  if (!FFTConvKernelPlan::build(s, p, why))
    return fail(why);
  return p;
}

std::string einloom::describeFFTConvPlan(const FFTConvKernelPlan &p, const TargetInfo &target,
                                         Type io) {
  const FFTConvShape &s = p.shape;
  std::string out;
  llvm::raw_string_ostream os(out);
  int64_t ctas = fftconvCtasPerSM(p);
  os << "loom.fftconv " << (s.causal ? "causal" : "circular") << " N = " << s.N << ", "
     << s.rows << " sequences, " << s.heads << (s.heads == 1 ? " filter" : " filters") << " of "
     << s.L << " taps" << (s.cutoff ? ", frequencies below " + std::to_string(s.cutoff) : "")
     << (s.preGate ? ", pre-gate" : "") << (s.postGate ? ", post-gate" : "") << ":\n";
  std::string scaled = "mma.sync m16n8k16 f16 with f32 accumulation (each pair and filter scaled "
                       "by a power of two into f16's range" +
                       std::string(io.isBF16() ? ": the bf16 data keeps 3 more bits" : "") + ")";
  FFTConvKernelPlan o = p.outerPass();
  if (!p.twoPass()) {
    os << "  fused order-2 Monarch kernel: padded length " << p.M << " = " << p.r0 << " x " << p.r1
       << ", two sequences of a head per complex transform (" << p.pairs() << " pairs), "
       << scaled << "; " << p.sharedBytes() / 1024 << " KiB shared memory a CTA, " << ctas
       << (ctas == 1 ? " CTA" : " CTAs") << " an SM of " << p.warps()
       << " warps, persistent over the pairs\n";
  } else {
    os << "  two passes, order 3: padded length " << p.M << " = " << p.P << " x " << p.Q
       << " (rows of " << p.Q << " = " << p.r0 << " x " << p.r1
       << "), two sequences of a head per complex transform (" << p.pairs() << " pairs), "
       << scaled << ":\n"
       << "    outer kernel: F_" << p.P << " down the columns, " << o.r1
       << " columns a CTA, times w_M^(k1 q), into the workspace in complex f32 ("
       << o.sharedBytes() / 1024 << " KiB shared memory a CTA)\n"
       << "    inner kernel: each of the " << p.pairs() * p.P << " rows through the fused "
       << "kernel's steps, times the spectrum, and back, in place (" << p.sharedBytes() / 1024
       << " KiB shared memory a CTA, " << ctas << (ctas == 1 ? " CTA" : " CTAs") << " an SM of "
       << p.warps() << " warps, persistent over the rows)\n"
       << "    outer inverse: conj twiddles, conj F_" << p.P << ", the outputs"
       << (s.postGate ? " times the post-gate" : "") << "\n";
  }
  // mma.sync a pair (a filter) with nothing skipped, and as issued.
  int64_t full = 16 * p.M * (p.r0 + p.r1 + (p.twoPass() ? p.P : 0)) / 4096;
  int64_t pair = p.mmaCount(false) * p.P, filter = p.mmaCount(true) * p.P;
  if (p.twoPass()) {
    pair += p.outerTiles() * (o.leftMma(false, false) + o.leftMma(true, false));
    filter += p.outerTiles() * o.leftMma(false, true);
  }
  os << "  skipped as known zero: " << (full - pair) * 100 / full << "% of a pair's products"
     << (s.causal && full > pair ? (p.twoPass() ? " (the causal padding: half of the outer K and output rows)"
                                 : " (the causal padding's half of the first K and of the last rows)")
                  : "")
     << (s.cutoff && !p.twoPass() ? " (the spectrum's zero columns and inverse K steps)" : "")
     << (s.cutoff && p.twoPass() ? " (the cutoff's zeros are multiplied, not skipped, in two passes)" : "")
     << "\n";
  os << "  filter spectra: " << s.heads << " x " << p.M << " complex f32 ("
     << s.heads * p.M * 8 / 1024 << " KiB) by " << (p.twoPass() ? "kernels" : "a kernel")
     << " of their own, once per call, 1/M folded in\n";
  double flops = 4096.0 * double(pair * p.pairs() + filter * s.heads);
  int64_t seqs = 2 + (s.preGate ? 1 : 0) + (s.postGate ? 1 : 0);
  // Two passes: the rows written and read back twice each.
  double bytes = double(s.rows * s.N * 2 * seqs + s.heads * p.M * 8 * 2 +
                        (p.twoPass() ? p.pairs() * p.M * 8 * 4 : 0));
  double mmaUs = flops / target.mmaRate(io, false) * 1e6, dramUs = bytes / target.dramBytesPerSec * 1e6;
  os << llvm::format("  estimate: %.2f GFLOP on the tensor cores (%.1f us at the mma.sync rate), "
                     "%.1f MB (%.1f us at DRAM rate): %s-bound",
                     flops / 1e9, mmaUs, bytes / 1e6, dramUs, mmaUs > dramUs ? "compute" : "memory");
  return out;
}

FailureOr<KernelLaunch> einloom::buildFFTConvSpectrumKernel(gpu::GPUModuleOp module,
                                                            StringRef name,
                                                            const FFTConvKernelPlan &p,
                                                            Type filter, Location loc) {
  if (!isa<FloatType>(filter) || filter.getIntOrFloatBitWidth() > 32)
    return emitError(loc, "the FFT convolution kernels take an f32, f16 or bf16 filter");
  Type op16 = Float16Type::get(module.getContext());
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  const FFTConvShape &s = p.shape;
  bool twoPass = p.twoPass();
  KernelLaunch launch;
  launch.name = name.str();
  launch.block = {p.threads(), 1, 1};
  // One CTA a spectrum row: a head's (fused), or a head's row k1 of the
  // outer transform (two passes).
  launch.grid = {s.heads * p.P, 1, 1};
  launch.sharedMemoryBytes = p.sharedBytes();
  SmallVector<int64_t> buffers;
  if (!twoPass)
    buffers.push_back(s.heads * s.L * (filter.getIntOrFloatBitWidth() / 8));
  buffers.push_back(p.workspaceFloats() * 4);
  auto func = createKernelFunc(b, loc, name, buffers, /*takesSize=*/false, p.threads());
  Block &entry = func.getBody().front();
  KernelContext kc = fftContext(b, loc, p.threads());
  FFTConvGen gen(b, loc, kc, p, module, op16);
  Value k = twoPass ? Value() : typedView(b, loc, entry.getArgument(0), filter, s.heads * s.L);
  Value spectra =
      typedView(b, loc, entry.getArgument(twoPass ? 0 : 1), b.getF32Type(), p.workspaceFloats());
  gen.begin();
  Value R = kc.fromIndex(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
  Value k1o = kc.rem(R, p.P); // the outer frequency (0 fused)
  Value zero = gen.f32c(0);
  std::pair<Value, Value> tapScales;
  if (!twoPass) {
    // 1. The filter's taps (zero past L) as the real part; the imaginary
    // half of x is never read. Scaled, as the sequences are, by the power
    // of two below their largest magnitude.
    Value h = R;
    auto tap = [&](Value n) {
      Value inside = kc.lt(n, s.L);
      Value at = kc.add(kc.mul(h, s.L), kc.select(inside, n, kc.cst(0)));
      Value v = convertElement(b, loc, memref::LoadOp::create(b, loc, k, kc.idx(at)), b.getF32Type());
      return kc.select(inside, v, zero);
    };
    tapScales = gen.powerOfTwoScales(gen.blockMax(gen.forThreadsMax(s.L, [&](Value n) {
      return gen.largestMagnitude(
          vector::BroadcastOp::create(b, loc, VectorType::get({1}, b.getF32Type()), tap(n)));
    })));
    gen.forThreads(gen.fillLength(true), [&](Value n) {
      gen.scatterInput(gen.mulf(tap(n), tapScales.first), n, kc.cst(0));
    });
  } else {
    // 1. Row R of the filters' outer transform (the outer kernel's, in the
    // rows' part of the workspace), scaled likewise.
    tapScales = gen.loadRow(spectra, R);
  }
  gen.barrier();
  // 2-3. Its spectrum, times 1/M, with the cutoff applied: row R, [k1][k2].
  gen.forward(true, [&](const FFTConvGen::Tile &tile, Acc &re, Acc &im) {
    for (int pair = 0; pair < 2; ++pair) {
      Value k1 = gen.rowOf(tile, 2 * pair), k2 = gen.colOf(tile, 2 * pair);
      SmallVector<Value> out;
      for (int hh = 0; hh < 2; ++hh) {
        int e = 2 * pair + hh;
        Value scale = gen.f32c(1.0 / double(p.M));
        if (s.cutoff > 0) {
          // f = k1o + P (k1 + r0 k2At(q)) for this element's column q.
          Value q = kc.add(k2, hh);
          Value natural = q;
          if (p.centered()) {
            Value half = kc.div(q, 2);
            Value odd = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, kc.rem(q, 2),
                                              kc.cst(0));
            natural = kc.select(odd, gen.sub(kc.cst(p.r1 - 1), half), half);
          }
          Value f = kc.add(k1o, kc.mul(kc.add(k1, kc.mul(natural, p.r0)), p.P));
          Value mirror = gen.sub(kc.cst(p.M), f);
          Value low = arith::MinUIOp::create(b, loc, f, mirror);
          scale = kc.select(kc.lt(low, s.cutoff), scale, zero);
        }
        out.push_back(gen.mulf(re[e], scale));
        out.push_back(gen.mulf(im[e], scale));
      }
      gen.store4At(out, spectra, gen.rowAt(R, 2 * p.Q, kc.mul(kc.add(kc.mul(k1, p.r1), k2), 2)));
    }
  });
  // The row's largest magnitude, then the row scaled by the power of two
  // below it (exactly) and the inverse scale after all the spectra.
  gen.barrier();
  Value largest = gen.blockMax(gen.forThreadsMax(2 * p.Q / 4, [&](Value c) {
    return gen.largestMagnitude(gen.load4At(spectra, gen.rowAt(R, 2 * p.Q, kc.mul(c, 4))));
  }));
  auto [scale, unscale] = gen.powerOfTwoScales(largest);
  gen.forThreads(2 * p.Q, [&](Value e) {
    Value at = gen.rowAt(R, 2 * p.Q, e);
    memref::StoreOp::create(b, loc, gen.mulf(memref::LoadOp::create(b, loc, spectra, at), scale),
                            spectra, at);
  });
  auto first = scf::IfOp::create(
      b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, gen.tid, kc.cst(0)), false);
  b.setInsertionPointToStart(&first.getThenRegion().front());
  memref::StoreOp::create(b, loc, gen.mulf(unscale, tapScales.second), spectra,
                          gen.rowAt(R, 1, kc.cst(0), s.heads * 2 * p.M));
  b.setInsertionPointAfter(first);
  gpu::ReturnOp::create(b, loc);
  return launch;
}

FailureOr<KernelLaunch> einloom::buildFFTConvKernel(gpu::GPUModuleOp module, StringRef name,
                                                    const FFTConvKernelPlan &p, Type io,
                                                    Location loc, int64_t numSMs) {
  if (!is16(io))
    return emitError(loc, "the FFT convolution kernels take f16 or bf16 sequences");
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  const FFTConvShape &s = p.shape;
  KernelLaunch launch;
  launch.name = name.str();
  launch.block = {p.threads(), 1, 1};
  launch.sharedMemoryBytes = p.sharedBytes();
  // Persistent: every CTA resident at once (none waits for a second wave
  // with its share of the pairs), so as many as fit an SM by shared memory
  // and by registers, which the kernel is compiled to fit (minctasm): four
  // CTAs of four warps leave 128 registers a thread, enough below M = 4096,
  // three above.
  launch.persistent = true;
  launch.ctasPerSM = fftconvCtasPerSM(p);
  // Two passes: the units are the pairs' rows of the outer transform.
  bool twoPass = p.twoPass();
  launch.grid = {std::min(p.pairs() * p.P, numSMs * launch.ctasPerSM), 1, 1};
  // A dynamic batch: at most ceil(size * batches a unit / 2) * heads CTAs.
  if (s.dynamicLead > 0)
    launch.dynamicGrid = {p.batches() / s.dynamicLead, 2, s.heads};
  int64_t seqBytes = s.rows * s.N * 2;
  SmallVector<int64_t> buffers{seqBytes, p.workspaceFloats() * 4};
  if (s.preGate)
    buffers.push_back(seqBytes);
  if (s.postGate)
    buffers.push_back(seqBytes);
  buffers.push_back(seqBytes);
  if (twoPass) // the workspace alone: the outer kernels read u and write y
    buffers = {p.workspaceFloats() * 4};
  bool dynamic = s.dynamicLead > 0;
  auto func = createKernelFunc(b, loc, name, buffers, /*takesSize=*/dynamic, p.threads());
  func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                b.getI32IntegerAttr(int32_t(launch.ctasPerSM)));
  Block &entry = func.getBody().front();
  KernelContext kc = fftContext(b, loc, p.threads());
  // The batch count and the pairs of a head: constants, or from the size
  // the kernel is launched with (its last argument) for a dynamic batch.
  Value batches = kc.cst(p.batches()), perHead = kc.cst(p.pairsPerHead());
  if (dynamic) {
    Value size = arith::TruncIOp::create(b, loc, b.getI32Type(), entry.getArguments().back());
    batches = kc.mul(size, p.batches() / s.dynamicLead);
    perHead = kc.div(kc.add(batches, 1), 2);
  }
  FFTConvGen gen(b, loc, kc, p, module, Float16Type::get(module.getContext()));
  unsigned arg = 0;
  Value u, spectra, pre, post, y;
  if (!twoPass)
    u = typedView(b, loc, entry.getArgument(arg++), io, s.rows * s.N);
  spectra = typedView(b, loc, entry.getArgument(arg++), b.getF32Type(), p.workspaceFloats());
  if (!twoPass) {
    pre = s.preGate ? typedView(b, loc, entry.getArgument(arg++), io, s.rows * s.N) : Value();
    post = s.postGate ? typedView(b, loc, entry.getArgument(arg++), io, s.rows * s.N) : Value();
    y = typedView(b, loc, entry.getArgument(arg++), io, s.rows * s.N);
  }
  gen.begin();
  Type f32 = b.getF32Type();
  auto vec8 = [&](Type t) { return VectorType::get({8}, t); };
  Value zero8 = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vec8(f32), 0.0f));
  // The pairs (two passes: their rows), one after another (a grid-stride
  // loop).
  Value first = kc.fromIndex(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
  Value stride = kc.fromIndex(gpu::GridDimOp::create(b, loc, gpu::Dimension::x));
  auto pairs = scf::ForOp::create(b, loc, kc.idx(first),
                                  kc.idx(kc.mul(perHead, s.heads * p.P)), kc.idx(stride));
  b.setInsertionPointToStart(pairs.getBody());
  Value unit = kc.fromIndex(pairs.getInductionVar());
  Value pair = kc.div(unit, p.P);
  Value h = kc.divV(pair, perHead);
  Value R = kc.add(kc.mul(h, p.P), kc.rem(unit, p.P)); // the spectrum row
  Value batch = kc.mul(kc.remV(pair, perHead), 2);
  Value rows[2] = {kc.add(kc.mul(batch, s.heads), h), kc.add(kc.mul(kc.add(batch, 1), s.heads), h)};
  Value second = kc.ltV(kc.add(batch, 1), batches); // the pair has its imaginary row
  Value trueValue = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
  auto load8 = [&](Value view, Value at) {
    Value v = vector::LoadOp::create(b, loc, vec8(io), view, kc.idx(at), /*nontemporal=*/false,
                                     llvm::MaybeAlign(16));
    return arith::ExtFOp::create(b, loc, vec8(f32), v).getResult();
  };
  Value unscaleInput;
  if (twoPass) {
    // 1. The pair's row of the outer transform, scaled likewise.
    unscaleInput = gen.loadRow(spectra, unit).second;
  } else {
    // 1. u (times the pre-gate), scaled by the power of two below the pair's
    // largest magnitude, into buffer A; zeros past N where read.
    int64_t fill = gen.fillLength(false), chunks = fill / 8;
    // Chunk c's 8 values (zero where there are none).
    auto chunk = [&](Value c) {
      Value part = kc.div(c, chunks), n0 = kc.mul(kc.rem(c, chunks), 8);
      Value isSecond = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, part, kc.cst(0));
      Value inside = kc.lt(n0, s.N);
      Value row = kc.select(kc.andB(isSecond, second), rows[1], rows[0]);
      Value at = kc.add(kc.mul(row, s.N), kc.select(inside, n0, kc.cst(0)));
      Value v = load8(u, at);
      if (pre)
        v = arith::MulFOp::create(b, loc, v, load8(pre, at));
      Value keep = kc.andB(inside, kc.select(isSecond, second, trueValue));
      return std::tuple<Value, Value, Value>{arith::SelectOp::create(b, loc, keep, v, zero8), part,
                                             n0};
    };
    Value largest = gen.blockMax(gen.forThreadsMax(
        2 * chunks, [&](Value c) { return gen.largestMagnitude(std::get<0>(chunk(c))); }));
    Value inputScale = gen.powerOfTwoScales(largest).first;
    Value scale8 = vector::BroadcastOp::create(b, loc, vec8(f32), inputScale);
    gen.forThreads(2 * chunks, [&](Value c) {
      auto [v, part, n0] = chunk(c);
      v = arith::MulFOp::create(b, loc, v, scale8);
      for (int64_t e = 0; e < 8; ++e)
        gen.scatterInput(vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{e}), kc.add(n0, e),
                         part);
    });
    unscaleInput = gen.powerOfTwoScales(largest).second;
  }
  // What undoes both scales at the output (powers of two: exact).
  Value back = gen.mulf(
      memref::LoadOp::create(b, loc, spectra, gen.rowAt(R, 1, kc.cst(0), s.heads * 2 * p.M)),
      unscaleInput);
  gen.barrier();
  // 2-3. The forward transform, times the head's spectrum, into buffer A.
  gen.forward(false, [&](const FFTConvGen::Tile &tile, Acc &re, Acc &im) {
    for (int half = 0; half < 2; ++half) {
      Value k1 = gen.rowOf(tile, 2 * half), k2 = gen.colOf(tile, 2 * half);
      Value base = kc.add(kc.mul(k1, p.pitchRight()), k2);
      if (p.spectrumTileZero(tile.j)) {
        for (int hh = 0; hh < 2; ++hh) {
          gen.storeHalf(gen.f32c(0), kc.add(base, p.bufferA() + hh));
          gen.storeHalf(gen.f32c(0), kc.add(base, p.bufferA() + hh + p.r1));
        }
        continue;
      }
      Value spv = gen.load4At(spectra, gen.rowAt(R, 2 * p.Q, kc.mul(kc.add(kc.mul(k1, p.r1), k2), 2)));
      std::array<Value, 4> sp{gen.extract(spv, 0), gen.extract(spv, 1), gen.extract(spv, 2),
                              gen.extract(spv, 3)};
      for (int hh = 0; hh < 2; ++hh) {
        int e = 2 * half + hh;
        auto [xr, xi] = gen.cmul(re[e], im[e], sp[2 * hh], sp[2 * hh + 1]);
        gen.storeHalf(xr, kc.add(base, p.bufferA() + hh));
        gen.storeHalf(xi, kc.add(base, p.bufferA() + hh + p.r1));
      }
    }
  });
  gen.barrier();
  // 4. The inverse right product, times conj twiddles, into buffer B as a
  // left product's B operand.
  gen.perWarp([&](int64_t w) {
    gen.right(w, p.bufferA(), true, [&](int64_t st) { return p.inverseStepZero(st); },
              [](int64_t) { return false; },
              [&](const FFTConvGen::Tile &tile, Acc &re, Acc &im) {
                for (int half = 0; half < 2; ++half) {
                  Value k1 = gen.rowOf(tile, 2 * half), j2 = gen.colOf(tile, 2 * half);
                  std::array<Value, 4> tw =
                      gen.load4(gen.twiddles, kc.mul(kc.add(kc.mul(k1, p.r1), j2), 2));
                  for (int hh = 0; hh < 2; ++hh) {
                    int e = 2 * half + hh;
                    auto [xr, xi] = gen.cmul(re[e], im[e], tw[2 * hh], tw[2 * hh + 1], true);
                    Value at = kc.add(kc.add(kc.mul(kc.add(j2, hh), p.pitchLeft()), k1), p.bufferB());
                    gen.storeHalf(xr, at);
                    gen.storeHalf(xi, kc.add(at, p.r0));
                  }
                }
              });
  });
  gen.barrier();
  if (twoPass) {
    // 5. The inverse left product: the row's q = r1 j1 + j2, unscaled, back
    // into the workspace in place (two complex values a lane's pair of
    // columns).
    gen.perWarp([&](int64_t w) {
      gen.left(w, p.bufferB(), true, [](int64_t) { return false; },
               [](int64_t) { return true; },
               [&](const FFTConvGen::Tile &tile, Acc &re, Acc &im) {
                 for (int half = 0; half < 2; ++half) {
                   Value q = kc.add(kc.mul(gen.rowOf(tile, 2 * half), p.r1),
                                    gen.colOf(tile, 2 * half));
                   SmallVector<Value> out;
                   for (int e = 2 * half; e < 2 * half + 2; ++e) {
                     out.push_back(gen.mulf(re[e], back));
                     out.push_back(gen.mulf(im[e], back));
                   }
                   gen.store4At(out, spectra, gen.rowAt(unit, 2 * p.Q, kc.mul(q, 2), p.dataOffset()));
                 }
               });
    });
  } else {
    // 5. The inverse left product: y_b and y_{b+1} at n = r1 j1 + j2, staged
    // in f32 in buffer A ([part][n]).
    gen.perWarp([&](int64_t w) {
      gen.left(w, p.bufferB(), true, [](int64_t) { return false; },
               [&](int64_t i) { return p.outputRowsNeeded(i); },
               [&](const FFTConvGen::Tile &tile, Acc &re, Acc &im) {
                 for (int e = 0; e < 4; ++e) {
                   if ((16 * tile.i + 8 * (e / 2)) * p.r1 >= s.N)
                     continue; // rows past the output (causal)
                   Value n = kc.add(kc.mul(gen.rowOf(tile, e), p.r1), gen.colOf(tile, e));
                   memref::StoreOp::create(b, loc, re[e], gen.floats, kc.idx(n));
                   memref::StoreOp::create(b, loc, im[e], gen.floats, kc.idx(kc.add(n, s.N)));
                 }
               });
    });
    gen.barrier();
    // 6. The two rows, times the post-gate, in 16-byte vectors.
    int64_t outChunks = s.N / 8;
    gen.forThreads(2 * outChunks, [&](Value c) {
      Value part = kc.div(c, outChunks);
      Value n0 = kc.mul(kc.rem(c, outChunks), 8);
      Value isSecond = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, part, kc.cst(0));
      Value row = kc.select(isSecond, rows[1], rows[0]);
      Value valid = kc.select(isSecond, second, trueValue);
      auto write = scf::IfOp::create(b, loc, valid, false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&write.getThenRegion().front());
      Value v = vector::LoadOp::create(b, loc, vec8(f32), gen.floats,
                                       kc.idx(kc.add(kc.mul(part, s.N), n0)),
                                       /*nontemporal=*/false, llvm::MaybeAlign(16));
      Value at = kc.add(kc.mul(row, s.N), n0);
      v = arith::MulFOp::create(b, loc, v, vector::BroadcastOp::create(b, loc, vec8(f32), back));
      if (post)
        v = arith::MulFOp::create(b, loc, v, load8(post, at));
      vector::StoreOp::create(b, loc, arith::TruncFOp::create(b, loc, vec8(io), v), y, kc.idx(at),
                              /*nontemporal=*/false, llvm::MaybeAlign(16));
    });
  }
  gen.barrier(); // buffer A is the next pair's input
  b.setInsertionPointAfter(pairs);
  gpu::ReturnOp::create(b, loc);
  return launch;
}

FailureOr<KernelLaunch> einloom::buildFFTConvOuterKernel(gpu::GPUModuleOp module, StringRef name,
                                                         const FFTConvKernelPlan &plan,
                                                         FFTConvOuter which, Type data,
                                                         Location loc) {
  bool filter = which == FFTConvOuter::Filter, inverse = which == FFTConvOuter::Inverse;
  if (!plan.twoPass())
    return emitError(loc, "an outer FFT convolution kernel needs a two-pass plan");
  if (filter ? (!isa<FloatType>(data) || data.getIntOrFloatBitWidth() > 32) : !is16(data))
    return emitError(loc, "the FFT convolution kernels take f16 or bf16 sequences and an f32, "
                          "f16 or bf16 filter");
  FFTConvKernelPlan o = plan.outerPass();
  const FFTConvShape &s = plan.shape;
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  int64_t tiles = plan.outerTiles(), units = filter ? s.heads : plan.pairs(), Qt = o.r1;
  KernelLaunch launch;
  launch.name = name.str();
  launch.block = {o.threads(), 1, 1};
  launch.sharedMemoryBytes = o.sharedBytes();
  launch.grid = {units * tiles, 1, 1};
  int64_t seqBytes = s.rows * s.N * 2, ws = plan.workspaceFloats() * 4;
  SmallVector<int64_t> buffers;
  if (filter)
    buffers = {s.heads * s.L * (data.getIntOrFloatBitWidth() / 8), ws};
  else if (!inverse)
    buffers = s.preGate ? SmallVector<int64_t>{seqBytes, ws, seqBytes}
                        : SmallVector<int64_t>{seqBytes, ws};
  else
    buffers = s.postGate ? SmallVector<int64_t>{ws, seqBytes, seqBytes}
                         : SmallVector<int64_t>{ws, seqBytes};
  auto func = createKernelFunc(b, loc, name, buffers, /*takesSize=*/false, o.threads());
  Block &entry = func.getBody().front();
  KernelContext kc = fftContext(b, loc, o.threads());
  FFTConvGen gen(b, loc, kc, o, module, Float16Type::get(module.getContext()));
  Type f32 = b.getF32Type();
  int64_t count = filter ? s.heads * s.L : s.rows * s.N;
  auto arg = [&](unsigned i) { return entry.getArgument(i); };
  Value src = inverse ? Value() : typedView(b, loc, arg(0), data, count);
  Value wsv = typedView(b, loc, arg(inverse ? 0 : 1), f32, plan.workspaceFloats());
  Value pre = !inverse && !filter && s.preGate ? typedView(b, loc, arg(2), data, count) : Value();
  Value post = inverse && s.postGate ? typedView(b, loc, arg(1), data, count) : Value();
  Value y = inverse ? typedView(b, loc, arg(s.postGate ? 2 : 1), data, count) : Value();
  gen.begin();
  Value bid = kc.fromIndex(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
  Value unit = kc.div(bid, tiles), q0 = kc.mul(kc.rem(bid, tiles), Qt);
  // The unit's rows: a filter's, or a pair's two sequences (the second
  // absent past an odd batch count).
  Value rows[2], second;
  if (filter) {
    rows[0] = rows[1] = unit;
    second = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
  } else {
    Value h = kc.div(unit, plan.pairsPerHead());
    Value batch = kc.mul(kc.rem(unit, plan.pairsPerHead()), 2);
    rows[0] = kc.add(kc.mul(batch, s.heads), h);
    rows[1] = kc.add(kc.mul(kc.add(batch, 1), s.heads), h);
    second = kc.lt(kc.add(batch, 1), plan.batches());
  }
  Value zero = gen.f32c(0);
  // The buffer: row j of the tile, [Re p | Im p] (a left product's B operand).
  auto scatter = [&](Value v, Value p, Value j, int64_t part) {
    gen.storeHalf(v, kc.add(kc.add(kc.mul(j, o.pitchLeft()), p), o.bufferA() + part * plan.P));
  };
  Value unscale;
  if (!inverse) {
    // The rows p of x the unskipped K steps read (zeros past the length).
    int64_t fillRows = 0, len = filter ? s.L : s.N;
    for (int64_t st = 0; st < plan.P / 16; ++st)
      if (!o.forwardStepZero(st, filter))
        fillRows = 16 * st + 16;
    auto vec8 = [&](Type t) { return VectorType::get({8}, t); };
    // Element c: (part, p, j): x[Q p + q0 + j] of the part's row, in f32.
    int64_t parts = filter ? 1 : 2, width = filter ? 1 : 8, perRow = Qt / width;
    auto element = [&](Value c) -> std::tuple<Value, Value, Value, Value> {
      Value part = kc.div(c, fillRows * perRow), rest = kc.rem(c, fillRows * perRow);
      Value p = kc.div(rest, perRow), j = kc.mul(kc.rem(rest, perRow), width);
      Value n = kc.add(kc.add(kc.mul(p, plan.Q), q0), j);
      Value isSecond = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, part, kc.cst(0));
      Value inside = kc.andB(kc.lt(n, len),
                             kc.select(isSecond, second, arith::ConstantOp::create(
                                                             b, loc, b.getBoolAttr(true))));
      Value at = kc.select(inside, kc.add(kc.mul(kc.select(isSecond, rows[1], rows[0]), len), n),
                           kc.cst(0));
      Value v;
      if (filter) {
        v = convertElement(b, loc, memref::LoadOp::create(b, loc, src, kc.idx(at)), f32);
        v = vector::BroadcastOp::create(b, loc, VectorType::get({1}, f32), kc.select(inside, v, zero));
      } else {
        auto load8 = [&](Value view) {
          Value x = vector::LoadOp::create(b, loc, vec8(data), view, kc.idx(at),
                                           /*nontemporal=*/false, llvm::MaybeAlign(16));
          return arith::ExtFOp::create(b, loc, vec8(f32), x).getResult();
        };
        v = load8(src);
        if (pre)
          v = arith::MulFOp::create(b, loc, v, load8(pre));
        Value zero8 = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vec8(f32), 0.0f));
        v = arith::SelectOp::create(b, loc, inside, v, zero8);
      }
      return {v, part, p, j};
    };
    int64_t total = parts * fillRows * perRow;
    Value largest = gen.blockMax(gen.forThreadsMax(
        total, [&](Value c) { return gen.largestMagnitude(std::get<0>(element(c))); }));
    auto [scale, back] = gen.powerOfTwoScales(largest);
    unscale = back;
    gen.forThreads(total, [&](Value c) {
      auto [v, part, p, j] = element(c);
      for (int64_t e = 0; e < width; ++e) {
        Value x = gen.mulf(gen.extract(v, e), scale);
        // (part is 0 or 1: both stores, one kept, would cost more than this.)
        if (filter) {
          scatter(x, p, kc.add(j, e), 0);
          continue;
        }
        Value at = kc.add(kc.add(kc.mul(kc.add(j, e), o.pitchLeft()), p),
                          kc.add(kc.mul(part, plan.P), o.bufferA()));
        gen.storeHalf(x, at);
      }
    });
  } else {
    // The rows k1 of the inner pass's output, times conj w_M^(k1 q): two
    // complex values a thread (16 bytes).
    auto element = [&](Value c) {
      Value k1 = kc.div(c, Qt / 2), j = kc.mul(kc.rem(c, Qt / 2), 2);
      Value row = kc.add(kc.mul(unit, plan.P), k1);
      Value v = gen.load4At(wsv, gen.rowAt(row, 2 * plan.Q, kc.mul(kc.add(q0, j), 2),
                                          plan.dataOffset()));
      SmallVector<Value> out;
      for (int64_t e = 0; e < 2; ++e) {
        auto [xr, xi] = gen.outerTwiddle(k1, kc.add(kc.add(q0, j), e), gen.extract(v, 2 * e),
                                         gen.extract(v, 2 * e + 1), /*conj=*/true);
        out.push_back(xr);
        out.push_back(xi);
      }
      return std::tuple<SmallVector<Value>, Value, Value>{out, k1, j};
    };
    int64_t total = plan.P * Qt / 2;
    Value largest = gen.blockMax(gen.forThreadsMax(total, [&](Value c) {
      SmallVector<Value> v = std::get<0>(element(c));
      return gen.largestMagnitude(
          vector::FromElementsOp::create(b, loc, VectorType::get({4}, f32), v));
    }));
    auto [scale, back] = gen.powerOfTwoScales(largest);
    unscale = back;
    gen.forThreads(total, [&](Value c) {
      auto [v, k1, j] = element(c);
      for (int64_t e = 0; e < 2; ++e) {
        scatter(gen.mulf(v[2 * e], scale), k1, kc.add(j, e), 0);
        scatter(gen.mulf(v[2 * e + 1], scale), k1, kc.add(j, e), 1);
      }
    });
  }
  gen.barrier();
  gen.perWarp([&](int64_t w) {
    gen.left(
        w, o.bufferA(), inverse,
        [&](int64_t st) { return !inverse && o.forwardStepZero(st, filter); },
        [&](int64_t i) { return !inverse || o.outputRowsNeeded(i); },
        [&](const FFTConvGen::Tile &tile, Acc &re, Acc &im) {
          for (int half = 0; half < 2; ++half) {
            Value r = gen.rowOf(tile, 2 * half), j = gen.colOf(tile, 2 * half);
            Value q = kc.add(q0, j);
            if (!inverse) {
              // Row k1 = r: unscaled, times w_M^(k1 q), into the unit's row
              // k1 of the workspace's rows.
              SmallVector<Value> out;
              for (int e = 2 * half; e < 2 * half + 2; ++e) {
                auto [xr, xi] = gen.outerTwiddle(r, kc.add(q, e % 2), gen.mulf(re[e], unscale),
                                                 gen.mulf(im[e], unscale), /*conj=*/false);
                out.push_back(xr);
                out.push_back(xi);
              }
              Value row = kc.add(kc.mul(unit, plan.P), r);
              gen.store4At(out, wsv, gen.rowAt(row, 2 * plan.Q, kc.mul(q, 2), plan.dataOffset()));
              continue;
            }
            // Row p = r: n = Q p + q, the outputs (rows known at build time).
            if (!o.outputRowNeeded(16 * tile.i + 8 * half))
              continue;
            Value n = kc.add(kc.mul(r, plan.Q), q);
            for (int part = 0; part < 2; ++part) {
              Acc &acc = part == 0 ? re : im;
              Value at = kc.add(kc.mul(rows[part], s.N), n);
              auto vec2 = [&](Type t) { return VectorType::get({2}, t); };
              Value v = vector::FromElementsOp::create(
                  b, loc, vec2(f32),
                  ValueRange{gen.mulf(acc[2 * half], unscale), gen.mulf(acc[2 * half + 1], unscale)});
              if (post) {
                Value g = vector::LoadOp::create(b, loc, vec2(data), post, kc.idx(at),
                                                 /*nontemporal=*/false, llvm::MaybeAlign(4));
                v = arith::MulFOp::create(b, loc, v, arith::ExtFOp::create(b, loc, vec2(f32), g));
              }
              auto write = [&] {
                vector::StoreOp::create(b, loc, arith::TruncFOp::create(b, loc, vec2(data), v), y,
                                        kc.idx(at), /*nontemporal=*/false, llvm::MaybeAlign(4));
              };
              if (part == 0) {
                write();
                continue;
              }
              auto ifSecond = scf::IfOp::create(b, loc, second, false);
              OpBuilder::InsertionGuard guard(b);
              b.setInsertionPointToStart(&ifSecond.getThenRegion().front());
              write();
            }
          }
        });
  });
  gpu::ReturnOp::create(b, loc);
  return launch;
}
