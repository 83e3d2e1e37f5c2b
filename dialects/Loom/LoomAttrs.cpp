//===- LoomAttrs.cpp - verifiers of the loom attributes -------------------===//
//
// Only facts local to an attribute are checked here; how an attribute fits
// the tensors it is used with is checked by the ops.
//
//===----------------------------------------------------------------------===//
#include "Loom/LoomDialect.h"
#include "einloom/Reference/Kernels.h"

using namespace mlir;
using namespace mlir::loom;

LogicalResult QuantAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                unsigned bits, QuantKind kind,
                                QuantScheme scheme,
                                QuantGranularity granularity, int64_t axis,
                                int64_t groupSize, Type scaleType) {
  if (bits < 1 || bits > 8)
    return emitError() << "bits must be in [1, 8], got " << bits;
  bool fp8 = kind == QuantKind::E4M3 || kind == QuantKind::E5M2;
  if (fp8 && bits != 8)
    return emitError() << "fp8 kind '" << stringifyQuantKind(kind)
                       << "' needs bits = 8, got " << bits;
  if ((fp8 || kind == QuantKind::Bipolar) && scheme == QuantScheme::Asymmetric)
    return emitError() << "kind '" << stringifyQuantKind(kind)
                       << "' has no zero point; use scheme = symmetric";
  if (kind == QuantKind::Signed && bits < 2)
    return emitError() << "a signed code needs at least 2 bits; use "
                          "kind = unsigned or bipolar for 1 bit";
  if (axis < 0)
    return emitError() << "axis must be non-negative, got " << axis;
  switch (granularity) {
  case QuantGranularity::PerTensor:
    if (axis != 0 || groupSize != 0)
      return emitError() << "per-tensor quantization takes no axis or group_size";
    break;
  case QuantGranularity::PerChannel:
    if (groupSize != 0)
      return emitError() << "per-channel quantization takes no group_size";
    break;
  case QuantGranularity::PerGroup:
    if (groupSize <= 0)
      return emitError() << "per-group quantization needs group_size > 0";
    break;
  case QuantGranularity::PerBlock:
    if (groupSize <= 0 || axis != 0)
      return emitError() << "per-block quantization needs group_size > 0 (the blocks' side) "
                            "and no axis";
    break;
  }
  if (!isa<FloatType>(scaleType))
    return emitError() << "scale_type must be a float type, got " << scaleType;
  return success();
}

int64_t QuantAttr::getMinCode() const {
  switch (getKind()) {
  case QuantKind::Signed:
    return -(int64_t(1) << (getBits() - 1));
  case QuantKind::Unsigned:
    return 0;
  case QuantKind::Bipolar:
    return -((int64_t(1) << getBits()) - 1);
  default:
    return 0;
  }
}

int64_t QuantAttr::getMaxCode() const {
  switch (getKind()) {
  case QuantKind::Signed:
    return (int64_t(1) << (getBits() - 1)) - 1;
  case QuantKind::Unsigned:
  case QuantKind::Bipolar:
    return (int64_t(1) << getBits()) - 1;
  default:
    return 0;
  }
}

LogicalResult SparseAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 SparseFormat format, int64_t tileRows,
                                 int64_t tileCols, int64_t density) {
  if (tileRows < 0 || tileCols < 0)
    return emitError() << "tile sizes must be non-negative";
  if (density < 0 || density > 100)
    return emitError() << "density is a percentage of non-zeros (1 to 100, or 0: unknown), got "
                       << density;
  if (format == SparseFormat::Auto) {
    if ((tileRows && tileRows != 64 && tileRows != 128) || (tileCols && tileCols != 64))
      return emitError() << "format 'auto' takes tiles of 64 or 128 rows by 64 columns (or "
                            "none: 64 x 64), got "
                         << tileRows << " x " << tileCols;
    return success();
  }
  if (format == SparseFormat::TwoFour) {
    if (tileRows || tileCols)
      return emitError() << "two_four takes no tile sizes";
    return success();
  }
  if (tileRows == 0 || tileCols == 0)
    return emitError() << "format '" << stringifySparseFormat(format)
                       << "' needs tile_rows and tile_cols";
  if (format == SparseFormat::TiledCsl && tileRows * tileCols > 65536)
    return emitError() << "a tiled_csl tile holds at most 65536 elements "
                          "(16-bit positions), got "
                       << tileRows * tileCols;
  if (format == SparseFormat::Bitmap && (tileRows % 8 || tileCols % 8))
    return emitError() << "bitmap tiles are made of 8 x 8 blocks, got " << tileRows << " x "
                       << tileCols;
  return success();
}

LogicalResult
PackLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       PackFormat format, int64_t bits, int64_t tileRows,
                       int64_t tileCols, QuantKind kind) {
  bool usesBits = format == PackFormat::Fragment || format == PackFormat::BitPlanes ||
                  format == PackFormat::AFragment;
  bool usesTiles = format == PackFormat::TiledCsl || format == PackFormat::BlockCsr ||
                   format == PackFormat::Bitmap;
  if (!usesBits && bits != 0)
    return emitError() << "format '" << stringifyPackFormat(format)
                       << "' takes no bits";
  if (!usesTiles && (tileRows != 0 || tileCols != 0))
    return emitError() << "format '" << stringifyPackFormat(format)
                       << "' takes no tile sizes";
  if (!usesBits && kind != QuantKind::Signed)
    return emitError() << "only fragment, a_fragment and bit_planes take a kind";
  if (format == PackFormat::Fragment && kind != QuantKind::Signed &&
      kind != QuantKind::Unsigned)
    return emitError() << "fragment packs signed or unsigned codes";
  if (format == PackFormat::Fragment && bits != 4 && bits != 8)
    return emitError() << "fragment layout packs 4- or 8-bit codes, got bits = "
                       << bits;
  if (format == PackFormat::AFragment && kind != QuantKind::Signed &&
      kind != QuantKind::Unsigned)
    return emitError() << "a_fragment packs signed or unsigned codes";
  if (format == PackFormat::AFragment && !einloom::ref::isAFragmentWidth(bits))
    return emitError() << "a_fragment layout packs 2-, 3-, 4- or 8-bit codes, got bits = "
                       << bits;
  if (format == PackFormat::BitPlanes) {
    if (bits < 1 || bits > 8)
      return emitError() << "bit_planes needs bits in [1, 8], got " << bits;
    if (kind == QuantKind::E4M3 || kind == QuantKind::E5M2)
      return emitError() << "bit_planes packs integer or bipolar codes";
    if (kind == QuantKind::Signed && bits < 2)
      return emitError() << "a signed code needs at least 2 bits";
  }
  if (usesTiles) {
    if (tileRows <= 0 || tileCols <= 0)
      return emitError() << "format '" << stringifyPackFormat(format)
                         << "' needs tile_rows > 0 and tile_cols > 0";
    if (format == PackFormat::TiledCsl && tileRows * tileCols > 65536)
      return emitError() << "a tiled_csl tile holds at most 65536 elements "
                            "(16-bit positions), got "
                         << tileRows * tileCols;
    if (format == PackFormat::Bitmap &&
        (tileRows % 8 || tileCols % 8 || tileRows * tileCols > 65536))
      return emitError() << "bitmap tiles are made of 8 x 8 blocks, at most 65536 elements, "
                            "got "
                         << tileRows << " x " << tileCols;
  }
  return success();
}

/// The (m, n, k) of one instruction; for wgmma n is chosen by the tile.
static std::array<int64_t, 3> instructionShape(MmaShape mma) {
  switch (mma) {
  case MmaShape::M16N8K16:
    return {16, 8, 16};
  case MmaShape::M16N8K8:
    return {16, 8, 8};
  case MmaShape::M16N8K32:
  case MmaShape::M16N8K32Sp: // k counts the logical (uncompressed) columns
    return {16, 8, 32};
  case MmaShape::WgmmaK16:
    return {64, 8, 16};
  case MmaShape::WgmmaK32:
    return {64, 8, 32};
  case MmaShape::Fma:
    return {1, 1, 1};
  case MmaShape::M8N8K4:
    return {8, 8, 4};
  }
  return {1, 1, 1};
}

LogicalResult PlanAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               int64_t tileM, int64_t tileN, int64_t tileK,
                               int64_t warpsM, int64_t warpsN, MmaShape mma,
                               int64_t stages, int64_t splitK,
                               ProducerKind producer, RasterOrder raster,
                               int64_t swizzle, int64_t clusterM, Schedule schedule,
                               OperandSource aSource, OperandOrder order,
                               int64_t prefetch) {
  if (prefetch < 1 || prefetch > 4)
    return emitError() << "prefetch must be 1 to 4 tiles, got " << prefetch;
  if (prefetch != 1 && producer != ProducerKind::TiledCsl && producer != ProducerKind::TwoFour &&
      producer != ProducerKind::Bitmap)
    return emitError() << "prefetch = " << prefetch
                       << " is a sparse producer's depth (tiled_csl, bitmap, two_four); other "
                          "producers take 1";
  if (schedule == Schedule::PingPong &&
      (producer != ProducerKind::Tma || warpsM != 8 || warpsN != 1 || tileM != 64 ||
       clusterM != 1))
    return emitError() << "a ping-pong schedule is two consumer warpgroups (warps_m = 8, "
                          "warps_n = 1) on 64-row tiles (tile_m = 64) with producer = tma "
                          "and no cluster";
  if (clusterM != 1 && clusterM != 2)
    return emitError() << "cluster_m must be 1 or 2, got " << clusterM;
  if (clusterM != 1 && producer != ProducerKind::Tma)
    return emitError() << "clusters (cluster_m = " << clusterM
                       << ") need producer = tma, which multicasts the shared tile";
  if (tileM <= 0 || tileN <= 0 || tileK <= 0)
    return emitError() << "tile sizes must be positive, got " << tileM << "x"
                       << tileN << "x" << tileK;
  if (warpsM <= 0 || warpsN <= 0)
    return emitError() << "warp counts must be positive";
  if (warpsM * warpsN > 32)
    return emitError() << "at most 32 warps (1024 threads) per CTA, got "
                       << warpsM * warpsN;
  auto [im, in, ik] = instructionShape(mma);
  bool wgmma = mma == MmaShape::WgmmaK16 || mma == MmaShape::WgmmaK32;
  if (aSource == OperandSource::Registers && !wgmma)
    return emitError() << "a_source = registers is a wgmma form (mma = wgmma_k16 or "
                          "wgmma_k32); mma.sync always reads A from registers";
  if (wgmma) {
    if ((warpsM * warpsN) % 4 != 0)
      return emitError() << "wgmma plans issue from whole warpgroups: the "
                            "warp count must be a multiple of 4, got "
                         << warpsM * warpsN;
    if (tileM % 64 != 0 || tileN % 8 != 0 || tileK % ik != 0)
      return emitError() << "tile " << tileM << "x" << tileN << "x" << tileK
                         << " is not a multiple of the wgmma shape 64x8x"
                         << ik;
  } else if (tileM % (warpsM * im) != 0 || tileN % (warpsN * in) != 0 ||
             tileK % ik != 0) {
    return emitError() << "tile " << tileM << "x" << tileN << "x" << tileK
                       << " does not divide into " << warpsM << "x" << warpsN
                       << " warps of " << stringifyMmaShape(mma)
                       << " instructions";
  }
  if (stages < 1 || stages > 8)
    return emitError() << "stages must be in [1, 8], got " << stages;
  if (splitK < 1)
    return emitError() << "split_k must be at least 1, got " << splitK;
  if (swizzle < 1 || swizzle > 16 || (swizzle & (swizzle - 1)))
    return emitError() << "swizzle must be a power of two in [1, 16], got "
                       << swizzle;
  if (swizzle != 1 && raster != RasterOrder::Swizzle)
    return emitError() << "swizzle = " << swizzle
                       << " needs raster = swizzle";
  if (splitK > 1 && clusterM > 1)
    return emitError() << "split_k = " << splitK << " and cluster_m = " << clusterM
                       << " both need the cluster: a TMA plan splits K across its cluster "
                          "or shares B in it, not both";
  (void)producer;
  (void)order;
  return success();
}
