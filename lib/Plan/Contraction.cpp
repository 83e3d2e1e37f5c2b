//===- Contraction.cpp - an einsum seen as a batched GEMM -----------------===//
#include "einloom/Plan/Contraction.h"
#include "llvm/Support/raw_ostream.h"

#include "Loom/EinsumSpec.h"
#include "Loom/LoomOps.h"

using namespace mlir;
using namespace einloom;

int64_t einloom::elementBytes(Type t) {
  return std::max<int64_t>(1, t.getIntOrFloatBitWidth() / 8);
}

int64_t Contraction::tensorBytes(const ModeGroup &x, const ModeGroup &y, Type t) const {
  return batch.size() * x.size() * y.size() * elementBytes(t);
}

int64_t Contraction::minBytes() const {
  if (quant) // the weight is the kernel's A once swapped
    return weightBytes() + tensorBytes(swapped ? n : m, k, swapped ? elemB : elemA) +
           tensorBytes(m, n, elemC);
  if (sparse) // the weight's bytes (Tiled-CSL: at the assumed density)
    return sparse->streamedBytes() + tensorBytes(swapped ? n : m, k, swapped ? elemB : elemA) +
           tensorBytes(m, n, elemC);
  return tensorBytes(m, k, elemA) + tensorBytes(n, k, elemB) + tensorBytes(m, n, elemC);
}

Contraction Contraction::transposed() const {
  Contraction t = *this;
  std::swap(t.m, t.n);
  std::swap(t.elemA, t.elemB);
  for (ModeGroup *g : {&t.batch, &t.m, &t.n, &t.k})
    for (Mode &md : g->modes)
      std::swap(md.strideA, md.strideB);
  t.swapped = !swapped;
  return t;
}

bool Contraction::contiguous(const ModeGroup &g, char operand, int64_t vec) const {
  if (g.modes.empty())
    return false;
  const Mode &last = g.modes.back();
  int64_t stride = operand == 'A' ? last.strideA : operand == 'B' ? last.strideB : last.strideC;
  return stride == 1 && last.extent % vec == 0;
}

bool Contraction::vectorizable(const ModeGroup &g, char operand) const {
  int64_t vec = 16 / elementBytes(operand == 'A' ? elemA : elemB);
  if (!contiguous(g, operand, vec))
    return false;
  for (const ModeGroup *grp : {&batch, &m, &n, &k})
    for (const Mode &md : grp->modes) {
      int64_t s = operand == 'A' ? md.strideA : md.strideB;
      if (&md != &g.modes.back() && s % vec != 0)
        return false;
    }
  return true;
}

const char *Contraction::operandLayout(char operand, int64_t tileRows) const {
  if (vectorizable(k, operand))
    return "k-major";
  int64_t eb = elementBytes(operand == 'A' ? elemA : elemB);
  // (The MN-major swizzle XORs a row's 16-byte chunk index with up to 7:
  // it stays in the row only when the row has a multiple of 8 chunks, 64
  // elements.)
  if (eb == 2 && tileRows % 64 == 0 && vectorizable(operand == 'A' ? m : n, operand))
    return "mn-major";
  return "elementwise";
}

LogicalResult Contraction::tensorMapFor(char operand, SmallVectorImpl<int64_t> &dims,
                                       SmallVectorImpl<int64_t> &strides,
                                       std::string &whyNot, bool *mnMajor) const {
  // A and B: rows M (N) by K; C: rows M by N. With `mnMajor`, an A or B
  // whose contiguous mode is M (N) is described transposed: inner M (N),
  // then K.
  const ModeGroup *rowsP = operand == 'B' ? &n : &m;
  const ModeGroup *innerP = operand == 'C' ? &n : &k;
  if (mnMajor) {
    *mnMajor = false;
    const Mode &last = rowsP->modes.back();
    int64_t s = operand == 'A' ? last.strideA : last.strideB;
    bool kContiguous = k.modes.size() == 1 &&
                       (operand == 'A' ? k.modes[0].strideA : k.modes[0].strideB) == 1;
    if (!kContiguous && rowsP->modes.size() == 1 && s == 1) {
      *mnMajor = true;
      std::swap(rowsP, innerP);
    }
  }
  const ModeGroup &rows = *rowsP;
  const ModeGroup &inner = *innerP;
  int64_t eb = elementBytes(operand == 'A' ? elemA : operand == 'B' ? elemB : elemC);
  auto strideOf = [&](const Mode &md) {
    return operand == 'A' ? md.strideA : operand == 'B' ? md.strideB : md.strideC;
  };
  std::string name = operand == 'C' ? std::string("the result") : std::string("operand ") + operand;
  dims.clear();
  strides.clear();
  if (inner.modes.size() != 1 || strideOf(inner.modes[0]) != 1) {
    whyNot = name + " is not contiguous along one " + (operand == 'C' ? "N" : "K") + " mode";
    return failure();
  }
  if (rows.modes.size() != 1 || batch.modes.size() > 1) {
    whyNot = name + "'s " + (rows.modes.size() != 1 ? "free" : "batch") +
             " modes do not merge into one dimension";
    return failure();
  }
  for (const ModeGroup *g : {&rows, &batch})
    for (const Mode &md : g->modes)
      if (md.extent > 1 && strideOf(md) == 0) {
        whyNot = name + " is broadcast along a mode (stride 0), which a tensor map cannot express";
        return failure();
      }
  dims.push_back(inner.modes[0].extent);
  dims.push_back(rows.modes[0].extent);
  // A unit mode (a matrix-vector product) has stride 0; any legal pitch will do.
  auto pitch = [&](const Mode &md) {
    return md.extent == 1 && strideOf(md) == 0 ? 16 : strideOf(md) * eb;
  };
  strides.push_back(pitch(rows.modes[0]));
  if (!batch.modes.empty()) {
    dims.push_back(batch.modes[0].extent);
    strides.push_back(pitch(batch.modes[0]));
  }
  for (int64_t s : strides)
    if (s % 16 != 0 || s >= (int64_t(1) << 40)) {
      whyNot = name + " has a " + std::to_string(s) +
               "-byte pitch; the copy engine needs a multiple of 16";
      return failure();
    }
  return success();
}

bool Contraction::tmaStorable() const {
  SmallVector<int64_t> dims, strides;
  std::string why;
  int64_t bytes = elemC.isIntOrFloat() ? elementBytes(elemC) : 0;
  return (bytes == 2 || bytes == 4) && succeeded(tensorMapFor('C', dims, strides, why));
}

static SmallVector<int64_t> rowMajorStrides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> s(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

SmallVector<int64_t, 2> EpilogueSpec::bufferBytes() const {
  SmallVector<int64_t, 2> b;
  if (biasType)
    b.push_back(biasElems * elementBytes(biasType));
  if (residualType)
    b.push_back(residualElems * elementBytes(residualType));
  for (int64_t n : {rowScaleElems, colScaleElems})
    if (n)
      b.push_back(n * 4);
  if (rowZeroType) {
    b.push_back(rowZeroElems * elementBytes(rowZeroType));
    b.push_back(colSumElems * elementBytes(colSumType));
  }
  if (maskElems)
    b.push_back(maskElems);
  return b;
}

std::string EpilogueSpec::describe() const {
  std::string d;
  llvm::raw_string_ostream os(d);
  auto sep = [&] { return d.empty() ? "" : ", "; };
  if (rowZeroType)
    os << sep() << "minus a zero point per row (" << rowZeroElems << " " << rowZeroType
       << ") times a sum per column (" << colSumElems << " " << colSumType << ")";
  if (blockK)
    os << sep() << "block scales (one a row per " << blockK << " of K and one a block of "
       << blockN << " columns by " << blockK << " of K: " << rowScaleElems << " and "
       << colScaleElems << " scales), applied to each block's partial sum in the main loop";
  if (rowScaleElems && !blockK)
    os << sep() << "times a scale per row (" << rowScaleElems << ")";
  if (colScaleElems && !blockK)
    os << sep() << "times a scale per column (" << colScaleElems << ")";
  if (alpha != 1)
    os << sep() << "times " << alpha;
  if (biasType)
    os << sep() << "plus a bias of " << biasElems << " " << biasType;
  if (activation >= 0)
    os << sep() << loom::stringifyActivation(static_cast<loom::Activation>(activation));
  if (residualType)
    os << sep() << "plus " << (beta != 1 ? std::to_string(beta) + " x " : std::string())
       << "a residual of " << residualElems << " " << residualType;
  return d;
}

EpilogueSpec einloom::epilogueOf(loom::EinsumOp op) {
  EpilogueSpec e;
  if (auto a = op.getAlpha())
    e.alpha = a->convertToDouble();
  if (auto b = op.getBeta())
    e.beta = b->convertToDouble();
  if (auto act = op.getActivation())
    e.activation = static_cast<int>(*act);
  if (auto t = dyn_cast<RankedTensorType>(op.getResult().getType()); t && t.hasStaticShape())
    e.resultElems = t.getNumElements();
  // An epilogue operand's element type and count (unset where absent).
  auto operand = [](Value v, Type &type, int64_t &elems) {
    if (!v)
      return;
    auto t = cast<RankedTensorType>(v.getType());
    type = t.getElementType();
    elems = t.getNumElements();
  };
  Type scaleType; // f32, as the verifier requires
  operand(op.getBias(), e.biasType, e.biasElems);
  operand(op.getResidual(), e.residualType, e.residualElems);
  operand(op.getRowScale(), scaleType, e.rowScaleElems);
  operand(op.getColScale(), scaleType, e.colScaleElems);
  operand(op.getRowZero(), e.rowZeroType, e.rowZeroElems);
  operand(op.getColSum(), e.colSumType, e.colSumElems);
  if (auto t = dyn_cast<RankedTensorType>(op.getResult().getType()); t && t.getRank() > 0)
    e.cols = std::max<int64_t>(1, t.getShape().back());
  if (std::optional<ArrayRef<int64_t>> blk = op.getScaleBlock()) {
    e.blockK = (*blk)[0];
    e.blockN = (*blk)[1];
  }
  if (Value mask = op.getBlockMask()) {
    auto t = cast<RankedTensorType>(mask.getType());
    e.maskElems = t.getNumElements();
    e.maskBlockM = (*op.getMaskBlock())[0];
    e.maskBlockN = (*op.getMaskBlock())[1];
    e.maskPerBatch = t.getRank() > 2;
    e.maskFill = op.getMaskFill() ? op.getMaskFill()->convertToDouble() : 0.0;
  }
  return e;
}

FailureOr<Contraction> einloom::analyzeContraction(loom::EinsumOp op) {
  if (op.getInputs().size() != 2)
    return op.emitOpError("code generation supports einsums of two operands "
                          "for now; this one has ")
           << op.getInputs().size()
           << " (n-ary contraction paths are not supported yet)";
  FailureOr<loom::EinsumSpec> spec =
      loom::parseSpec(op);
  if (failed(spec))
    return op.emitOpError("invalid spec");

  auto ta = cast<RankedTensorType>(op.getInputs()[0].getType());
  auto tb = cast<RankedTensorType>(op.getInputs()[1].getType());
  auto tc = cast<RankedTensorType>(op.getResult().getType());
  for (auto t : {ta, tb, tc}) {
    if (!t.hasStaticShape())
      return op.emitOpError("dynamic dimensions are not supported by code "
                            "generation yet: ")
             << t;
    if (t.getNumElements() == 0)
      return op.emitOpError("has a zero-sized dimension (")
             << t << "); there is nothing to compute";
    if (t.getNumElements() >= (int64_t(1) << 31))
      return op.emitOpError("operand ")
             << t << " has " << t.getNumElements()
             << " elements, which overflows 32-bit indexing";
  }
  SmallVector<int64_t> sa = rowMajorStrides(ta.getShape());
  SmallVector<int64_t> sb = rowMajorStrides(tb.getShape());
  SmallVector<int64_t> sc = rowMajorStrides(tc.getShape());
  const std::string &A = spec->inputs[0], &B = spec->inputs[1], &C = spec->output;

  Contraction c;
  c.elemA = ta.getElementType();
  c.elemB = tb.getElementType();
  c.elemC = tc.getElementType();
  c.acc = op.getAccumulatorType();
  c.spec = spec->str();
  c.tf32 = op.getAllowTf32();
  c.epilogue = epilogueOf(op);

  // A label repeated inside an operand (a diagonal, as in "iij") is one mode
  // whose stride is the sum of its positions' strides: the diagonal is a
  // strided view, read in place.
  auto strideIn = [](const std::string &labels, ArrayRef<int64_t> strides, char l) {
    int64_t s = 0;
    for (size_t p = 0; p < labels.size(); ++p)
      if (labels[p] == l)
        s += strides[p];
    return s;
  };
  // A dimension of size 1 against a larger one broadcasts: stride 0 there.
  auto modeOf = [&](char l) {
    Mode md{l, 0};
    if (size_t p = A.find(l); p != std::string::npos) {
      md.extent = ta.getDimSize(p);
      md.strideA = strideIn(A, sa, l);
    }
    if (size_t p = B.find(l); p != std::string::npos) {
      md.extent = std::max(md.extent, tb.getDimSize(p));
      md.strideB = strideIn(B, sb, l);
    }
    if (md.extent > 1) {
      if (size_t p = A.find(l); p != std::string::npos && ta.getDimSize(p) == 1)
        md.strideA = 0;
      if (size_t p = B.find(l); p != std::string::npos && tb.getDimSize(p) == 1)
        md.strideB = 0;
    }
    if (size_t p = C.find(l); p != std::string::npos) {
      md.extent = tc.getDimSize(p);
      md.strideC = sc[p];
    }
    return md;
  };
  // Batch, M and N modes in output order; K modes in A's order.
  for (char l : C) {
    bool inA = A.find(l) != std::string::npos, inB = B.find(l) != std::string::npos;
    ModeGroup &g = inA && inB ? c.batch : inA ? c.m : c.n;
    g.modes.push_back(modeOf(l));
  }
  // Contracted modes: first the labels summed inside one operand alone (A's,
  // then B's), then those both share, in A's order, each once. A label
  // summed inside one operand alone is a K mode along which the other
  // operand is broadcast (stride 0): the sum is the same. Outermost, it
  // leaves the shared modes innermost, where both operands can be
  // contiguous (and a copy by loom-normalize-operands makes them so).
  std::string seen;
  auto addK = [&](char l) {
    seen.push_back(l);
    c.k.modes.push_back(modeOf(l));
  };
  for (const std::string *x : {&A, &B}) {
    const std::string &other = x == &A ? B : A;
    for (char l : *x)
      if (C.find(l) == std::string::npos && seen.find(l) == std::string::npos &&
          other.find(l) == std::string::npos)
        addK(l);
  }
  for (char l : A)
    if (C.find(l) == std::string::npos && seen.find(l) == std::string::npos)
      addK(l);

  // A dynamic dimension (see compileModule's size buckets): the types hold
  // the bucket's largest size; the kernel is told the actual one.
  if (auto dyn = op->getAttrOfType<StringAttr>("loom.dynamic")) {
    char d = dyn.getValue().empty() ? 0 : dyn.getValue()[0];
    if (dyn.getValue().size() != 1 || A.empty() || A[0] != d || C.empty() || C[0] != d ||
        B.find(d) != std::string::npos || c.m.modes.size() != 1)
      return op.emitOpError("the dynamic dimension '")
             << dyn.getValue() << "' must be the leading dimension of the first operand "
             << "and of the result, and the first operand's only free label (spec "
             << spec->str() << ")";
    c.dynamicLabel = d;
    if (auto at = op->getAttrOfType<IntegerAttr>("loom.plan_at"))
      c.planningM = at.getInt();
  }
  // Merge neighbouring modes that are also neighbours, in the same order, in
  // every operand that has them: fewer index computations in the kernel.
  auto merge = [](ModeGroup &g) {
    SmallVector<Mode, 4> out;
    for (const Mode &md : g.modes) {
      if (!out.empty()) {
        Mode &p = out.back();
        auto fits = [&](int64_t outer, int64_t inner) {
          return (outer == 0 && inner == 0) || (inner != 0 && outer == inner * md.extent);
        };
        if (fits(p.strideA, md.strideA) && fits(p.strideB, md.strideB) &&
            fits(p.strideC, md.strideC)) {
          p.extent *= md.extent;
          p.label = md.label;
          p.strideA = md.strideA;
          p.strideB = md.strideB;
          p.strideC = md.strideC;
          continue;
        }
      }
      out.push_back(md);
    }
    g.modes = out;
  };
  merge(c.batch);
  merge(c.m);
  merge(c.n);
  merge(c.k);
  // Degenerate groups (e.g. no N modes: a matrix-vector product) get a unit mode.
  for (ModeGroup *g : {&c.m, &c.n, &c.k})
    if (g->modes.empty())
      g->modes.push_back(Mode{'1', 1, 0, 0, 0});
  if (std::optional<loom::QuantAttr> q = op.getWeightQuant()) {
    // The einsum reads codes (loom-fuse-dequantize checked the shapes the
    // kernels take); the MMA sees them dequantized to the activations' type.
    WeightQuant w;
    w.bits = q->getBits();
    w.isSigned = q->getKind() == loom::QuantKind::Signed;
    w.kDim = C.find(B[0]) == std::string::npos ? 0 : 1;
    int64_t N = tb.getDimSize(1 - w.kDim), K = tb.getDimSize(w.kDim);
    if (B.size() != 2 || c.k.modes.size() != 1 || c.n.modes.size() != 1 || !c.batch.modes.empty())
      return op.emitOpError("a dequantized weight is one kept and one summed label, with no "
                            "batch label (spec ")
             << spec->str() << ")";
    auto scaleT = cast<RankedTensorType>(op.getScale().getType());
    w.scaleType = scaleT.getElementType();
    w.scaleBytes = scaleT.getNumElements() * elementBytes(w.scaleType);
    if (Value z = op.getZeroPoint()) {
      auto zt = cast<RankedTensorType>(z.getType());
      w.zeroType = zt.getElementType();
      w.zeroBytes = zt.getNumElements() * elementBytes(w.zeroType);
    }
    switch (q->getGranularity()) {
    case loom::QuantGranularity::PerTensor:
      break;
    case loom::QuantGranularity::PerChannel:
      w.scaleRowStride = 1;
      break;
    case loom::QuantGranularity::PerBlock:
      return op.emitOpError("a dequantized weight with block scales has no mixed-input kernel");
    case loom::QuantGranularity::PerGroup: {
      // Scales shaped as the codes, K divided by the group size.
      w.groupSize = q->getGroupSize();
      int64_t groups = K / w.groupSize;
      w.scaleRowStride = w.kDim == 1 ? groups : 1;
      w.scaleGroupStride = w.kDim == 1 ? 1 : N;
      break;
    }
    }
    w.packedBytes = N * K * w.bits / 8;
    c.quant = w;
    c.elemB = c.elemA;
  }
  if (isa_and_nonnull<loom::SparseAttr>(ta.getEncoding())) {
    if (isa_and_nonnull<loom::SparseAttr>(tb.getEncoding()))
      return op.emitOpError("both operands are sparse; the kernels take one sparse weight "
                            "(remove the encoding from the other to read it dense)");
    return op.emitOpError("the sparse operand must be the second (loom-fuse-dequantize puts it "
                          "there; run the compile pipeline)");
  }
  if (auto sp = dyn_cast_or_null<loom::SparseAttr>(tb.getEncoding())) {
    StringRef format = loom::stringifySparseFormat(sp.getFormat());
    if (sp.getFormat() == loom::SparseFormat::Auto)
      return op.emitOpError("a sparse weight of format 'auto' has no format yet: "
                            "loom-select-plan chooses one (run the compile pipeline)");
    if (c.quant)
      return op.emitOpError("a weight cannot be both sparse and quantized");
    if (B.size() != 2 || c.k.modes.size() != 1 || c.n.modes.size() != 1 ||
        !c.batch.modes.empty() || B[1] != c.k.modes[0].label)
      return op.emitOpError("a ")
             << format
             << " weight is a matrix of one kept and one summed label, the summed one last "
                "(N x K, K contiguous), with no batch label (spec "
             << spec->str() << ")";
    if (!tb.getElementType().isF16() && !tb.getElementType().isBF16())
      return op.emitOpError("a ") << format << " weight holds f16 or bf16, not "
                                  << tb.getElementType();
    SparseWeight w;
    if (sp.getDensity() > 0)
      w.density = sp.getDensity() / 100.0;
    int64_t N = tb.getDimSize(0), K = tb.getDimSize(1);
    if (sp.getFormat() == loom::SparseFormat::BlockCsr) {
      if (sp.getTileRows() != 64 || sp.getTileCols() != 64)
        return op.emitOpError("the block-sparse kernel reads blocks of 64 x 64, not ")
               << sp.getTileRows() << " x " << sp.getTileCols();
      if (N % 64 || K % 64)
        return op.emitOpError("a block_csr weight's blocks divide it: N (")
               << N << ") and K (" << K << ") must be multiples of 64";
      w.format = SparseWeight::Format::BlockCsr;
      w.tileRows = w.tileCols = 64;
      w.tiles = (N / 64) * (K / 64);         // blocks, at most
      w.wordsBytes = N * K * 2;              // every block stored
      w.offsetsBytes = (N / 64 + 1) * 4;     // row pointers
      w.indexBytes = w.tiles * 4;            // a column index per block
    } else if (sp.getFormat() == loom::SparseFormat::TwoFour) {
      if (K % 16)
        return op.emitOpError("a two_four weight needs K (")
               << K << ") a multiple of 16 (a metadata word per 16 columns)";
      w.format = SparseWeight::Format::TwoFour;
      w.tileRows = 0;
      w.tiles = 0;
      w.wordsBytes = N * K;     // K/2 values of 2 bytes a row
      w.offsetsBytes = N * K / 8; // K/16 metadata words of 2 bytes a row
    } else {
      bool bitmap = sp.getFormat() == loom::SparseFormat::Bitmap;
      if (sp.getTileCols() != 64 || (sp.getTileRows() != 64 && sp.getTileRows() != 128))
        return op.emitOpError("the sparse kernel reads ")
               << format << " tiles of 64 or 128 rows by 64 columns, not " << sp.getTileRows()
               << " x " << sp.getTileCols();
      w.format = bitmap ? SparseWeight::Format::Bitmap : SparseWeight::Format::TiledCsl;
      w.tileRows = sp.getTileRows();
      w.tileCols = sp.getTileCols();
      w.tiles = ((N + w.tileRows - 1) / w.tileRows) * ((K + w.tileCols - 1) / w.tileCols);
      w.offsetsBytes = (w.tiles + 1) * 4;
      // Tiled-CSL: a 32-bit word per element; bitmap: a 16-bit value per
      // element and a bit per element of masks.
      w.wordsBytes = w.tiles * w.tileRows * w.tileCols * (bitmap ? 2 : 4);
      w.indexBytes = bitmap ? w.tiles * w.tileRows * w.tileCols / 8 : 0;
    }
    c.sparse = w;
  }
  return c;
}
