//===- PackLayouts.cpp - the storage types of packed layouts --------------===//
//
// docs/dialect.md defines every layout bit by bit; this file derives only the
// tensor types that hold them.
//
//===----------------------------------------------------------------------===//
#include "Loom/LoomOps.h"

using namespace mlir;
using namespace mlir::loom;

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

FailureOr<SmallVector<RankedTensorType>>
mlir::loom::getPackedTypes(PackLayoutAttr layout, RankedTensorType dense,
                           function_ref<InFlightDiagnostic()> emitError) {
  MLIRContext *ctx = dense.getContext();
  Type i32 = IntegerType::get(ctx, 32), i16 = IntegerType::get(ctx, 16);
  Type elem = dense.getElementType();
  int64_t dyn = ShapedType::kDynamic;
  StringRef name = stringifyPackFormat(layout.getFormat());
  auto tensor = [](ArrayRef<int64_t> shape, Type t) {
    return RankedTensorType::get(shape, t);
  };
  if (!dense.hasStaticShape()) {
    emitError() << "layout '" << name << "' needs a static dense shape, got "
                << dense;
    return failure();
  }
  auto needRank2 = [&]() -> LogicalResult {
    if (dense.getRank() == 2)
      return success();
    emitError() << "layout '" << name << "' packs a rank-2 tensor, got "
                << dense;
    return failure();
  };
  auto needHalf = [&]() -> LogicalResult {
    if (elem.isF16() || elem.isBF16())
      return success();
    emitError() << "layout '" << name << "' stores f16 or bf16 values, got "
                << elem;
    return failure();
  };
  ArrayRef<int64_t> shape = dense.getShape();
  SmallVector<RankedTensorType> types;

  switch (layout.getFormat()) {
  case PackFormat::Fragment: {
    if (failed(needRank2()))
      return failure();
    auto it = dyn_cast<IntegerType>(elem);
    int64_t bits = layout.getBits();
    if (!it || it.getWidth() < bits || it.getWidth() > 8) {
      emitError() << "fragment layout with bits = " << bits
                  << " needs i" << bits << " or i8 codes, got " << elem;
      return failure();
    }
    int64_t k = shape[0], n = shape[1];
    int64_t tk = bits == 4 ? 16 : 32, tn = bits == 4 ? 16 : 8;
    if (k % tk || n % tn) {
      emitError() << "fragment layout with bits = " << bits << " needs K % "
                  << tk << " == 0 and N % " << tn << " == 0, got K = " << k
                  << ", N = " << n;
      return failure();
    }
    types.push_back(tensor({k * n * bits / 32}, i32));
    break;
  }
  case PackFormat::AFragment: {
    if (failed(needRank2()))
      return failure();
    auto it = dyn_cast<IntegerType>(elem);
    int64_t bits = layout.getBits();
    if (!it || it.getWidth() < bits || it.getWidth() > 8) {
      emitError() << "a_fragment layout with bits = " << bits << " needs i" << bits
                  << " to i8 codes, got " << elem;
      return failure();
    }
    int64_t n = shape[0], k = shape[1];
    if (n % 16 || k % 64) {
      emitError() << "a_fragment layout needs N % 16 == 0 and K % 64 == 0 (an N x K "
                     "weight, K contiguous), got N = "
                  << n << ", K = " << k;
      return failure();
    }
    types.push_back(tensor({n * k * bits / 32}, i32));
    break;
  }
  case PackFormat::TiledCsl: {
    if (failed(needRank2()) || failed(needHalf()))
      return failure();
    int64_t tiles = ceilDiv(shape[0], layout.getTileRows()) *
                    ceilDiv(shape[1], layout.getTileCols());
    types.push_back(tensor({tiles + 1}, i32));
    types.push_back(tensor({dyn}, i32));
    break;
  }
  case PackFormat::Bitmap: {
    if (failed(needRank2()) || failed(needHalf()))
      return failure();
    int64_t tr = layout.getTileRows(), tc = layout.getTileCols();
    int64_t tiles = ceilDiv(shape[0], tr) * ceilDiv(shape[1], tc);
    types.push_back(tensor({tiles + 1}, i32));
    types.push_back(tensor({tiles * tr * tc / 32}, i32));
    types.push_back(tensor({dyn}, elem));
    break;
  }
  case PackFormat::TwoFour: {
    if (failed(needRank2()) || failed(needHalf()))
      return failure();
    if (shape[1] % 16) {
      emitError() << "two_four layout needs K % 16 == 0, got K = " << shape[1];
      return failure();
    }
    types.push_back(tensor({shape[0], shape[1] / 2}, elem));
    types.push_back(tensor({shape[0], shape[1] / 16}, i16));
    break;
  }
  case PackFormat::BitPlanes: {
    auto it = dyn_cast<IntegerType>(elem);
    unsigned need = layout.getBits() + (layout.getKind() == QuantKind::Bipolar);
    if (!it || it.getWidth() < need || dense.getRank() < 1) {
      emitError() << "bit_planes with bits = " << layout.getBits()
                  << " needs integer codes of at least " << need
                  << " bits and rank >= 1, got " << dense;
      return failure();
    }
    SmallVector<int64_t> s{layout.getBits()};
    s.append(shape.begin(), shape.end());
    s.back() = ceilDiv(s.back(), 32);
    types.push_back(tensor(s, i32));
    break;
  }
  case PackFormat::BlockCsr: {
    if (failed(needRank2()))
      return failure();
    int64_t br = layout.getTileRows(), bc = layout.getTileCols();
    if (shape[0] % br || shape[1] % bc) {
      emitError() << "block_csr with " << br << "x" << bc
                  << " blocks needs the shape to be a multiple, got "
                  << shape[0] << "x" << shape[1];
      return failure();
    }
    types.push_back(tensor({shape[0] / br + 1}, i32));
    types.push_back(tensor({dyn}, i32));
    types.push_back(tensor({dyn, br, bc}, elem));
    break;
  }
  }
  return types;
}
