//===- MixedInput.cpp - dequantizing packed codes into A fragments --------===//
//
// The mixed-input kernel's consumer side. Its producer (Producers.cpp,
// PackedFragments) copies each stage's a_fragment words into shared memory;
// here each lane reads its own words and turns them into the f16 or bf16
// registers of m16n8k16 A fragments with the instructions of a
// DequantRecipe (include/einloom/Codegen/Dequant.h), whose host model the
// unit tests check bit for bit against the reference. The MMA core then
// runs on those registers as on ldmatrix's.
//
//===----------------------------------------------------------------------===//
#include "KernelContext.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cstdio>

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

namespace {
std::string hex(uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", v);
  return text;
}

/// A 16-bit pattern in both halves of an i32.
Value splat16(KernelContext &kc, Value half) {
  OpBuilder &b = kc.b;
  Value bits = arith::BitcastOp::create(b, kc.loc, b.getI16Type(), half);
  Value w = arith::ExtUIOp::create(b, kc.loc, b.getI32Type(), bits);
  Value hi = arith::ShLIOp::create(b, kc.loc, w,
                                   arith::ConstantOp::create(b, kc.loc, b.getI32IntegerAttr(16)));
  return arith::OrIOp::create(b, kc.loc, w, hi);
}
} // namespace

/// Weight row `n` as the scale loads read it: rows past the weight (a
/// partial last tile) read row 0; their products are never stored.
static Value clampRow(KernelContext &kc, Value n, int64_t rows) {
  return kc.select(kc.lt(n, rows), n, kc.cst(0));
}

/// The scales' (and zero points') element of row `n`, group `g`.
static Value scaleIndex(KernelContext &kc, Value n, Value g) {
  const WeightQuant &q = *kc.c.quant;
  return kc.add(kc.mul(n, q.scaleRowStride), kc.mul(g, q.scaleGroupStride));
}

/// The registers of loadDequantParams, with each row half's scale and
/// zero point from `fetch(at, rowInTile)` (`at` their element, of a row
/// clamped to the weight; the zero point as an i32, 0 without one).
static SmallVector<Value>
dequantParamsFrom(KernelContext &kc, OperandTile &a, Value kTile,
                  function_ref<std::pair<Value, Value>(Value, Value)> fetch) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  const WeightQuant &q = *kc.c.quant;
  const DequantRecipe &r = a.recipe;
  Type f32 = b.getF32Type();
  Type half = r.bf16 ? Type(b.getBF16Type()) : Type(b.getF16Type());
  int64_t wm = kc.bm / kc.warpsM;
  int64_t rows = a.rows->size();
  SmallVector<Value> out;
  Value laneRow = kc.div(kc.lane, 4);
  for (int64_t f = 0; f < wm / 16; ++f)
    for (int64_t gi = 0; gi < q.groupsPerTile(); ++gi) {
      // The group of k = 64 kTile + 32 gi.
      Value g = q.groupSize ? kc.div(kc.add(kc.mul(kTile, 64), 32 * gi), q.groupSize) : kc.cst(0);
      for (int64_t h = 0; h < 2; ++h) {
        Value inTile = kc.add(kc.warpRow, kc.add(laneRow, 16 * f + 8 * h));
        Value n = clampRow(kc, kc.add(a.rowOrigin, inTile), rows);
        auto [s, z] = fetch(scaleIndex(kc, n, g), inTile);
        if (r.path == DequantPath::PrmtFloat) {
          // f32: the scale, and 2^23 + z + offset (exact).
          Value zo = arith::AddIOp::create(
              b, loc, z, arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(r.offset)));
          Value zf = arith::AddFOp::create(
              b, loc, arith::SIToFPOp::create(b, loc, f32, zo),
              arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(r.bias))));
          out.push_back(arith::ExtFOp::create(b, loc, f32, s));
          out.push_back(zf);
          continue;
        }
        // f16 / bf16 pairs: the scale, and bias + z + offset rounded to the
        // half type (exact for the zero points of the code's range); the
        // bf16 lop3 path adds its negation with fma (sm_80 has no bf16x2 sub).
        Value zo = arith::AddIOp::create(
            b, loc, z,
            arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int64_t(r.bias) + r.offset)));
        Value zc = splat16(kc, arith::SIToFPOp::create(b, loc, half, zo));
        Value negate = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int32_t(0x80008000u)));
        if (r.bf16)
          zc = arith::XOrIOp::create(b, loc, zc, negate);
        out.push_back(splat16(kc, s));
        out.push_back(zc);
        // Raised fields (pairedNibbles): -(bias / 16 + z + offset).
        if (r.pairedNibbles) {
          Value zr = arith::AddIOp::create(
              b, loc, z,
              arith::ConstantOp::create(b, loc,
                                        b.getI32IntegerAttr(int64_t(r.bias) / 16 + r.offset)));
          out.push_back(arith::XOrIOp::create(
              b, loc, splat16(kc, arith::SIToFPOp::create(b, loc, half, zr)), negate));
        }
      }
    }
  return out;
}

SmallVector<Value> einloom::codegen::loadDequantParams(KernelContext &kc, OperandTile &a,
                                                       Value kTile) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Type i32 = b.getI32Type();
  return dequantParamsFrom(kc, a, kTile, [&](Value at, Value) {
    Value s = memref::LoadOp::create(b, loc, a.scales, ValueRange{kc.idx(at)});
    Value z = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
    if (a.zeros) {
      Value zl = memref::LoadOp::create(b, loc, a.zeros, ValueRange{kc.idx(at)});
      z = zl.getType() == i32 ? zl : arith::ExtSIOp::create(b, loc, i32, zl).getResult();
    }
    return std::pair<Value, Value>{s, z};
  });
}

/// `v` as an i32 (offsets are computed in the kernel's integer type).
static Value toI32(KernelContext &kc, Value v) {
  return v.getType() == kc.b.getI32Type()
             ? v
             : arith::TruncIOp::create(kc.b, kc.loc, kc.b.getI32Type(), v).getResult();
}

// Staged scales: element `at` of the scales (zero points) lives in the
// aligned 4-byte word at byte (2 at) & ~3 (at & ~3) of its buffer, which
// stageDequantParams copies into the stage's slot of the row, as half
// (at & 1) (byte (at & 3)) of it, which loadStagedDequantParams takes out.
SmallVector<Value> einloom::codegen::loadStagedDequantParams(KernelContext &kc, OperandTile &a,
                                                             Value kTile, Value stage) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  Type i32 = b.getI32Type();
  Type half = a.recipe.bf16 ? Type(b.getBF16Type()) : Type(b.getF16Type());
  auto c32 = [&](int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v)).getResult();
  };
  auto shared = cast<MemRefType>(a.staged.getType());
  Value words = memref::ViewOp::create(
      b, loc, MemRefType::get({shared.getNumElements() / 4}, i32, nullptr, shared.getMemorySpace()),
      a.staged, arith::ConstantIndexOp::create(b, loc, 0), ValueRange{});
  int64_t rows = a.tileRows, stages = kc.stages;
  return dequantParamsFrom(kc, a, kTile, [&](Value atIndex, Value inTile) {
    Value at = toI32(kc, atIndex);
    Value slot = kc.add(kc.mul(stage, rows), inTile);
    Value sw = memref::LoadOp::create(b, loc, words, ValueRange{kc.idx(slot)});
    // The scale: half (at & 1) of its word.
    Value sh = arith::ShLIOp::create(b, loc, arith::AndIOp::create(b, loc, at, c32(1)), c32(4));
    Value bits = arith::TruncIOp::create(b, loc, b.getI16Type(),
                                         arith::ShRUIOp::create(b, loc, sw, sh));
    Value s = arith::BitcastOp::create(b, loc, half, bits);
    Value z = c32(0);
    if (a.zeros) {
      // The zero point: byte (at & 3) of its word, sign-extended.
      Value zw = memref::LoadOp::create(b, loc, words,
                                        ValueRange{kc.idx(kc.add(slot, stages * rows))});
      Value byteShift = arith::ShLIOp::create(b, loc, arith::AndIOp::create(b, loc, at, c32(3)), c32(3));
      Value up = arith::ShLIOp::create(b, loc, arith::ShRUIOp::create(b, loc, zw, byteShift), c32(24));
      z = arith::ShRSIOp::create(b, loc, up, c32(24));
    }
    return std::pair<Value, Value>{s, z};
  });
}

void einloom::codegen::stageDequantParams(KernelContext &kc, OperandTile &a, Value stage,
                                          Value kTile) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  const WeightQuant &q = *kc.c.quant;
  int64_t rows = a.tileRows, stages = kc.stages;
  // The tile's (first) group; a row's word holds it (and with groups of 32
  // the next, adjacent).
  Value g = kc.div(kc.mul(kTile, 64), q.groupSize);
  for (int64_t pass = 0; pass * kc.threads < rows; ++pass) {
    Value r = kc.add(kc.tid, pass * kc.threads);
    std::optional<scf::IfOp> guard;
    if ((pass + 1) * kc.threads > rows) {
      guard = scf::IfOp::create(b, loc, kc.lt(r, rows), false);
      b.setInsertionPointToStart(&guard->getThenRegion().front());
    }
    Value at = scaleIndex(kc, clampRow(kc, kc.add(a.rowOrigin, r), a.rows->size()), g);
    Value slot = kc.add(kc.mul(stage, rows), r);
    auto copy = [&](Value global, Value srcByte, Value dstByte) {
      nvgpu::DeviceAsyncCopyOp::create(b, loc, a.staged, ValueRange{kc.idx(dstByte)}, global,
                                       ValueRange{kc.idx(srcByte)}, b.getIndexAttr(4), Value(),
                                       UnitAttr());
    };
    // 2-byte scales: the word at byte (2 at) & ~3; 1-byte zero points: at & ~3.
    copy(a.scaleArg, kc.andI(kc.mul(at, 2), ~int64_t(3)), kc.mul(slot, 4));
    if (a.zeroArg)
      copy(a.zeroArg, kc.andI(at, ~int64_t(3)), kc.mul(kc.add(slot, stages * rows), 4));
    if (guard)
      b.setInsertionPointAfter(*guard);
  }
}

SmallVector<Value, 4> einloom::codegen::dequantFragment(KernelContext &kc, OperandTile &a,
                                                        Value words32, Value laneBase,
                                                        int64_t frag, int64_t ks) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  const DequantRecipe &r = a.recipe;
  const WeightQuant &q = *kc.c.quant;
  Type i32 = b.getI32Type();
  SmallVector<Value, 4> regs;
  Value word;
  int64_t wordAt = -1;
  // Paired nibbles: the word shifted right by 8, for registers 2 and 3.
  Value shifted;
  // 3-bit codes: the lane's third word holds every register's high bits.
  Value high;
  if (r.path == DequantPath::Lop3Split)
    high = memref::LoadOp::create(b, loc, words32,
                                  ValueRange{kc.idx(kc.div(kc.add(laneBase, 8), 4))});
  for (int64_t reg = 0; reg < 4; ++reg) {
    int64_t j = 4 * ks + reg;
    int64_t wi = j / r.regsPerWord;
    unsigned i = j % r.regsPerWord;
    if (wi != wordAt) {
      word = memref::LoadOp::create(b, loc, words32,
                                    ValueRange{kc.idx(kc.div(kc.add(laneBase, 4 * wi), 4))});
      wordAt = wi;
      shifted = Value();
    }
    // Paired nibbles: one shift serves two registers, so it is done outside
    // their assembly, once a word.
    Value source = word;
    if (r.pairedNibbles && r.shift(i)) {
      assert(r.shift(i) == 8 && "paired nibbles shift by 0 or 8");
      if (!shifted)
        shifted = arith::ShRUIOp::create(b, loc, word,
                                         arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(8)));
      source = shifted;
    }
    int64_t gi = q.groupsPerTile() == 2 ? ks / 2 : 0;
    int64_t h = reg % 2;
    size_t at = ((frag * q.groupsPerTile() + gi) * 2 + h) * r.paramsPerHalf();
    Value s = a.dequant[at], zc = a.dequant[at + 1];
    if (r.raisedField(i))
      zc = a.dequant[at + 2];
    // The register's two halves under the magic exponent (`t`), or for
    // 8-bit bf16 as two f32 (d0, d1); then minus the zero point, times the
    // scale, each step rounded once (exact but for the last).
    std::string text;
    if (r.path == DequantPath::PrmtFloat) {
      std::string w = r.wordXor ? "xor.b32 w, $1, " + hex(r.wordXor) + "; " : "mov.b32 w, $1; ";
      text = "{ .reg .b32 w, x0, x1; .reg .f32 d0, d1; " + w + "prmt.b32 x0, w, " +
             hex(r.magic) + ", " + hex(r.selector(i, 0)) + "; prmt.b32 x1, w, " + hex(r.magic) +
             ", " + hex(r.selector(i, 1)) +
             "; mov.b32 d0, x0; mov.b32 d1, x1; sub.rn.f32 d0, d0, $2; sub.rn.f32 d1, d1, $2; "
             "mul.rn.f32 d0, d0, $3; mul.rn.f32 d1, d1, $3; cvt.rn.bf16x2.f32 $0, d1, d0; }";
    } else {
      std::string head;
      if (r.path == DequantPath::Lop3 || r.path == DequantPath::Lop3Split)
        head = (r.shift(i) && !r.pairedNibbles ? "shr.b32 t, $1, " + std::to_string(r.shift(i)) + "; lop3.b32 t, t, "
                           : std::string("lop3.b32 t, $1, ")) +
               hex(r.maskFor(i)) + ", " + hex(r.magicFor(i)) + ", " + hex(DequantRecipe::lut) +
               "; ";
      if (r.path == DequantPath::Lop3Split) {
        // The high bits moved to bit 2 of each half, then ored in (a signed
        // code's flip is in the magic: (h & mask) ^ t).
        int sh = r.highShift(static_cast<unsigned>(j));
        std::string moved = sh > 0   ? "shr.b32 u, $4, " + std::to_string(sh) + "; "
                            : sh < 0 ? "shl.b32 u, $4, " + std::to_string(-sh) + "; "
                                     : "mov.b32 u, $4; ";
        head += moved + "lop3.b32 t, u, " + hex(r.highMask) + ", t, " +
                hex(DequantRecipe::lut) + "; ";
      } else if (r.path != DequantPath::Lop3)
        head = (r.wordXor ? "xor.b32 t, $1, " + hex(r.wordXor) + "; prmt.b32 t, t, "
                          : std::string("prmt.b32 t, $1, ")) +
               hex(r.magic) + ", " + hex(r.selector(i)) + "; ";
      // bf16 (lop3 only: 8-bit bf16 is PrmtFloat) subtracts and multiplies
      // with fma, which sm_80 has for bf16x2.
      if (r.bf16)
        text = "{ .reg .b32 t, u, one, nz; mov.b32 one, 0x3f803f80; mov.b32 nz, 0x80008000; " +
               head + "fma.rn.bf16x2 t, t, one, $2; fma.rn.bf16x2 $0, t, $3, nz; }";
      else if (r.raisedField(i)) // x / 16 - (bias / 16 + z + offset), exact
        text = "{ .reg .b32 t, u, sixteenth; mov.b32 sixteenth, 0x2c002c00; " + head +
               "fma.rn.f16x2 t, t, sixteenth, $2; mul.rn.f16x2 $0, t, $3; }";
      else
        text = "{ .reg .b32 t, u; " + head + "sub.rn.f16x2 t, t, $2; mul.rn.f16x2 $0, t, $3; }";
    }
    std::string inType = r.path == DequantPath::PrmtFloat ? "f" : "r";
    SmallVector<Value, 4> ins{source, zc, s};
    std::string constraints = "=r,r," + inType + "," + inType;
    if (high) {
      ins.push_back(high);
      constraints += ",r";
    }
    regs.push_back(inlinePtx(kc.b, kc.loc, i32, ins, text, constraints));
  }
  return regs;
}

DequantParams einloom::codegen::makeDequantParams(KernelContext &kc, OperandTile &a,
                                                  Value kBegin, int64_t numK) {
  DequantParams d;
  d.kBegin = kBegin;
  d.groupSize = kc.c.quant->groupSize;
  d.load = [&kc, &a, kBegin, numK](Value tile) {
    // (The clamp keeps an empty split's loads inside the tensors.)
    Value global = arith::MinSIOp::create(kc.b, kc.loc, kc.add(kBegin, tile), kc.cst(numK - 1));
    return loadDequantParams(kc, a, global);
  };
  return d;
}

SmallVector<Value> DequantParams::next(KernelContext &kc, ArrayRef<Value> params, Value kt) {
  if (groupSize == 0)
    return SmallVector<Value>(params);
  Value following = kc.add(kt, kc.cst(1));
  if (groupSize < 128)
    return load(following);
  OpBuilder &b = kc.b;
  Value starts = arith::CmpIOp::create(b, kc.loc, arith::CmpIPredicate::eq,
                                       kc.rem(kc.add(kBegin, following), groupSize / 64),
                                       kc.cst(0));
  SmallVector<Type> types;
  for (Value v : params)
    types.push_back(v.getType());
  auto reload = scf::IfOp::create(b, kc.loc, types, starts, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&reload.getThenRegion().front());
    scf::YieldOp::create(b, kc.loc, load(following));
    b.setInsertionPointToStart(&reload.getElseRegion().front());
    scf::YieldOp::create(b, kc.loc, params);
  }
  return SmallVector<Value>(reload.getResults());
}

void einloom::codegen::bindPackedWeight(KernelContext &kc, OperandTile &a,
                                        const DequantRecipe &recipe, Block &entry,
                                        unsigned first) {
  OpBuilder &b = kc.b;
  const WeightQuant &q = *kc.c.quant;
  a.layout = SmemLayout::PackedFragments;
  a.rowBytes = 8 * q.bits;
  a.recipe = recipe;
  a.scaleArg = entry.getArgument(first);
  if (q.zeroType)
    a.zeroArg = entry.getArgument(first + 1);
  a.scales = typedView(b, kc.loc, entry.getArgument(first), q.scaleType,
                       q.scaleBytes / elementBytes(q.scaleType));
  if (q.zeroType) {
    // Zero points of 8 bits or fewer are stored one per byte.
    Type zt = q.zeroType.getIntOrFloatBitWidth() <= 8 ? b.getI8Type() : q.zeroType;
    a.zeros = typedView(b, kc.loc, entry.getArgument(first + 1), zt,
                        q.zeroBytes / elementBytes(zt));
  }
}

SmallVector<int64_t, 2> einloom::codegen::packedWeightBuffers(const WeightQuant &q) {
  SmallVector<int64_t, 2> out{q.scaleBytes};
  if (q.zeroType)
    out.push_back(q.zeroBytes);
  return out;
}
