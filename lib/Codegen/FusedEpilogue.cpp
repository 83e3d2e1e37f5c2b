//===- FusedEpilogue.cpp - a fused epilogue at the store ------------------===//
//
// What every kernel does to an accumulator just before it converts and
// stores it, when loom-fuse-epilogues fused an epilogue into the einsum:
// act(alpha * rowScale[row] * colScale[col] * (x - rowZero[row] *
// colSum[col]) + bias) + beta * residual,
// in the accumulator's float type (an integer sum in f32).
// Bias and residual elements are read at (C offset mod their count): they
// cover C's trailing dimensions and C is row-major. (One as large as C is
// read at the offset itself.)
//
//===----------------------------------------------------------------------===//
#include "KernelContext.h"

#include "Loom/LoomDialect.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

void EpilogueCode::bind(OpBuilder &b, Location loc, Block &entry, unsigned firstArg) {
  if (!active())
    return;
  unsigned arg = firstArg;
  if (spec->biasType)
    bias = typedView(b, loc, entry.getArgument(arg++), spec->biasType, spec->biasElems);
  if (spec->residualType)
    residual = typedView(b, loc, entry.getArgument(arg++), spec->residualType, spec->residualElems);
  if (spec->rowScaleElems)
    rowScale = typedView(b, loc, entry.getArgument(arg++), b.getF32Type(), spec->rowScaleElems);
  if (spec->colScaleElems)
    colScale = typedView(b, loc, entry.getArgument(arg++), b.getF32Type(), spec->colScaleElems);
  if (spec->rowZeroType) {
    rowZero = typedView(b, loc, entry.getArgument(arg++), spec->rowZeroType, spec->rowZeroElems);
    colSum = typedView(b, loc, entry.getArgument(arg++), spec->colSumType, spec->colSumElems);
  }
}

/// 2^x for an f32 x (ex2.approx: about 2 ulp; LLVM's exp would need libdevice).
static Value exp2f(OpBuilder &b, Location loc, Value x) {
  return NVVM::InlinePtxOp::create(b, loc, TypeRange{x.getType()}, ValueRange{x}, ValueRange{},
                                   b.getStringAttr("ex2.approx.ftz.f32 $0, $1;"), Value())
      .getResult(0);
}

/// 1/x for an f32 x (rcp.approx: about 1 ulp, against a division's
/// subroutine of some twenty instructions).
static Value rcpf(OpBuilder &b, Location loc, Value x) {
  return NVVM::InlinePtxOp::create(b, loc, TypeRange{x.getType()}, ValueRange{x}, ValueRange{},
                                   b.getStringAttr("rcp.approx.ftz.f32 $0, $1;"), Value())
      .getResult(0);
}

/// e^y for an f64 y, to about 1 ulp: y = n ln2 + r with |r| <= ln2 / 2
/// (ln2 in two parts, so n ln2 is exact), e^r by its Taylor series to r^13
/// (the first term left out is below 2^-58), times 2^n built from its bits.
/// y is first clamped to [-708, 709], where 2^n is a normal number: beyond,
/// e^y is 0 or infinite to the activations that use it.
static Value expF64(OpBuilder &b, Location loc, Value y) {
  Type f64 = b.getF64Type(), i64 = b.getI64Type();
  auto cst = [&](double v) { return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v)).getResult(); };
  y = arith::MaximumFOp::create(b, loc, arith::MinimumFOp::create(b, loc, y, cst(709.0)), cst(-708.0));
  // n = round(y / ln2), as the integer part of y / ln2 +- 1/2.
  Value t = arith::MulFOp::create(b, loc, y, cst(1.4426950408889634));
  Value half = arith::SelectOp::create(
      b, loc, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, t, cst(0)), cst(0.5), cst(-0.5));
  Value n = arith::FPToSIOp::create(b, loc, i64, arith::AddFOp::create(b, loc, t, half));
  Value nf = arith::SIToFPOp::create(b, loc, f64, n);
  // ln2 = 0x1.62e42fefa3800p-1 + 0x1.ef35793c7673p-45: the first part has
  // 42 significant bits, so n times it is exact for |n| < 2^11.
  Value r = arith::SubFOp::create(b, loc, y, arith::MulFOp::create(b, loc, nf, cst(0x1.62e42fefa3800p-1)));
  r = arith::SubFOp::create(b, loc, r, arith::MulFOp::create(b, loc, nf, cst(0x1.ef35793c7673p-45)));
  // Horner: 1 + r (1 + r/2 (1 + r/3 (... (1 + r/13)))).
  Value p = cst(1.0);
  for (int k = 13; k >= 1; --k)
    p = LLVM::FMAOp::create(b, loc, arith::MulFOp::create(b, loc, r, cst(1.0 / k)), p, cst(1.0));
  Value bits = arith::ShLIOp::create(
      b, loc, arith::AddIOp::create(b, loc, n, arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(1023))),
      arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(52)));
  return arith::MulFOp::create(b, loc, p, arith::BitcastOp::create(b, loc, f64, bits));
}

Value EpilogueCode::apply(KernelContext &kc, Value x, Value off) const {
  if (!active())
    return x;
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  // An integer sum (to be requantized) goes through the epilogue in f32.
  if (isa<IntegerType>(x.getType()))
    x = arith::SIToFPOp::create(b, loc, b.getF32Type(), x);
  Type t = x.getType();
  auto cst = [&](double v) { return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, v)).getResult(); };
  auto toT = [&](Value v) { return convertElement(b, loc, v, t); };
  auto load = [&](Value buf, int64_t n) {
    bool whole = spec->resultElems > 0 && n >= spec->resultElems;
    return toT(memref::LoadOp::create(b, loc, buf, ValueRange{kc.idx(whole ? off : kc.rem(off, n))}));
  };
  Value v = x;
  // Row o / cols of a per-row vector of n elements.
  auto loadRow = [&](Value buf, int64_t n) {
    Value row = kc.div(off, spec->cols);
    if (!(spec->resultElems > 0 && n * spec->cols >= spec->resultElems))
      row = kc.rem(row, n);
    return toT(memref::LoadOp::create(b, loc, buf, ValueRange{kc.idx(row)}));
  };
  // The rank-1 term (an asymmetric activation's zero point times the
  // weight codes' sum), then the sum's scales: row o / cols, column o %
  // cols (an int8 product's per-token and per-channel scales).
  if (rowZero)
    v = arith::SubFOp::create(b, loc, v,
                              arith::MulFOp::create(b, loc, loadRow(rowZero, spec->rowZeroElems),
                                                    load(colSum, spec->colSumElems)));
  // (Block scales were applied by the main loop, block by block.)
  if (rowScale && !spec->blockK)
    v = arith::MulFOp::create(b, loc, v, loadRow(rowScale, spec->rowScaleElems));
  if (colScale && !spec->blockK)
    v = arith::MulFOp::create(b, loc, v, load(colScale, spec->colScaleElems));
  if (spec->alpha != 1)
    v = arith::MulFOp::create(b, loc, v, cst(spec->alpha));
  if (bias)
    v = arith::AddFOp::create(b, loc, v, load(bias, spec->biasElems));
  if (spec->activation >= 0) {
    // exp(y) for the sigmoid-like terms, through ex2 in f32 (f64: its own
    // series, to f64 precision).
    auto expOf = [&](Value y) {
      if (t.isF64())
        return expF64(b, loc, y);
      Value y32 = t.isF32() ? y : arith::TruncFOp::create(b, loc, b.getF32Type(), y).getResult();
      Value scaled = arith::MulFOp::create(
          b, loc, y32, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.4426950408889634f)));
      Value e = exp2f(b, loc, scaled);
      return t.isF32() ? e : toT(e);
    };
    // 1/y: rcp.approx in f32; a true division in f64.
    auto inverse = [&](Value y) {
      if (t.isF64())
        return arith::DivFOp::create(b, loc, cst(1), y).getResult();
      Value y32 = t.isF32() ? y : arith::ExtFOp::create(b, loc, b.getF32Type(), y).getResult();
      Value r = rcpf(b, loc, y32);
      return t.isF32() ? r : toT(r);
    };
    switch (static_cast<loom::Activation>(spec->activation)) {
    case loom::Activation::Relu:
      v = arith::SelectOp::create(
          b, loc, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, v, cst(0)), v, cst(0));
      break;
    case loom::Activation::Silu: { // v / (1 + exp(-v))
      Value e = expOf(arith::NegFOp::create(b, loc, v));
      v = arith::MulFOp::create(b, loc, v, inverse(arith::AddFOp::create(b, loc, cst(1), e)));
      break;
    }
    case loom::Activation::Gelu: { // 0.5 v (1 + tanh(k (v + 0.044715 v^3))), tanh(y) = 1 - 2 / (exp(2y) + 1)
      Value v3 = arith::MulFOp::create(b, loc, v, arith::MulFOp::create(b, loc, v, v));
      Value inner = arith::MulFOp::create(
          b, loc, cst(2 * 0.7978845608028654),
          arith::AddFOp::create(b, loc, v, arith::MulFOp::create(b, loc, cst(0.044715), v3)));
      Value e = expOf(inner);
      Value tanh = arith::SubFOp::create(
          b, loc, cst(1),
          arith::MulFOp::create(b, loc, cst(2), inverse(arith::AddFOp::create(b, loc, e, cst(1)))));
      v = arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, cst(0.5), v),
                                arith::AddFOp::create(b, loc, cst(1), tanh));
      break;
    }
    }
  }
  if (residual) {
    Value r = load(residual, spec->residualElems);
    if (spec->beta != 1)
      r = arith::MulFOp::create(b, loc, r, cst(spec->beta));
    v = arith::AddFOp::create(b, loc, v, r);
  }
  return v;
}
