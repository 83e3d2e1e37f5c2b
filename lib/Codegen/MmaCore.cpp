//===- MmaCore.cpp - shared memory to accumulators with mma.sync ----------===//
//
// Every mma.sync variant we use consumes 32 bytes of K per instruction (f16
// and bf16 k16, tf32 k8, s8 and fp8 k32), and its A and B fragments have
// the same byte layout. So the core works on bytes: ldmatrix loads 16-bit
// units from a K-major tile (or, transposed, from an M/N-major tile of a
// 16-bit type), and only the PTX instruction depends on the element type.
//
// Each lane's ldmatrix addresses are a per-lane offset (computed once,
// before the main loop) plus compile-time constants plus the stage base, so
// the loop body spends its integer instructions on one add per ldmatrix.
//
//===----------------------------------------------------------------------===//
#include "KernelContext.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace einloom;
using namespace einloom::codegen;

std::string einloom::codegen::mmaInstruction(const Contraction &c) {
  Type e = c.elemA;
  // nvgpu.mma.sync cannot type bf16 or fp8 operands and nvvm.mma.sync has no
  // fp8 form in MLIR 22, so every variant is issued through nvvm.inline_ptx.
  if (e.isF16())
    return "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32";
  if (e.isBF16())
    return "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32";
  if (e.isF32())
    return "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32";
  if (e.isSignlessInteger(8))
    return "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32";
  if (isa<Float8E4M3FNType>(e))
    return "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32";
  return "mma.sync.aligned.m16n8k32.row.col.f32.e5m2.e5m2.f32";
}

static constexpr int64_t kSteps = kStepsPerTile;

int64_t KernelContext::kSteps() const { return sparseMma() ? 2 : kStepsPerTile; }

// mma.sp (m16n8k32_sp, a 2:4 weight): the A stage holds the compressed
// values, row r's 32 values of a K tile (64 logical columns) in its logical
// chunks 0-3, and its four 16-bit metadata words (quarters 0-3) in the
// first half of logical chunk 4 (each chunk c at c ^ (r % 8), as every
// stage row; SparseProducer.cpp, copyTwoFourStage). So at step s (logical
// columns 32s .. 32s + 31, compressed 16s .. 16s + 15) the A fragment is
// the dense k16 fragment of compressed step s, ldmatrix'd exactly as dense
// step s, and lane 4g + p's metadata register (selector 0) is quarter
// 2s + p of fragment row g in its low half and of row g + 8 in its high
// half, as mma.sp reads it (test/unit/TwoFourModel.h): two 16-bit loads
// from the same place of the two rows (their r % 8 agree). The B fragment
// of k32 is dense k16 steps 2s and 2s + 1, each as ldmatrix gives it.

/// The lane's metadata word of step 0 in fragment row g, for each of the
/// warp's A fragments, in 16-bit units within a stage (row g + 8's is 8 x
/// 64 units on).
static SmallVector<Value> metaOffsets(KernelContext &kc, int64_t frags) {
  SmallVector<Value> out;
  Value g = kc.div(kc.lane, 4), p = kc.rem(kc.lane, 2);
  Value inRow = kc.add(kc.mul(kc.xorI(g, kc.cst(4)), 8), p);
  for (int64_t f = 0; f < frags; ++f)
    out.push_back(kc.add(kc.mul(kc.add(kc.warpRow, kc.add(g, f * 16)), 64), inRow));
  return out;
}

/// Offsets in 16-bit units within a stage, one per (fragment, kstep).
static SmallVector<Value> laneOffsets(KernelContext &kc, OperandTile &op, Value warpBase,
                                      int64_t frags, bool isA) {
  SmallVector<Value> out;
  Value lane = kc.lane, q = kc.div(lane, 8), r8 = kc.rem(lane, 8);
  if (op.layout != SmemLayout::MNMajorVector) {
    // K-major: rows are M (or N); a fragment's 16 rows start at a multiple
    // of 8, so the swizzle term (row & 7) is the lane's own r8.
    Value rowInFrag = isA ? kc.rem(lane, 16) : kc.add(r8, kc.mul(kc.div(lane, 16), 8));
    Value chunkLane = isA ? kc.div(lane, 16) : kc.rem(q, 2);
    Value rowBase = kc.mul(kc.add(warpBase, rowInFrag), 64);
    SmallVector<Value> kPart;
    for (int64_t ks = 0; ks < kSteps; ++ks)
      kPart.push_back(kc.add(rowBase, kc.mul(kc.xorI(kc.add(chunkLane, 2 * ks), r8), 8)));
    for (int64_t f = 0; f < frags; ++f)
      for (int64_t ks = 0; ks < kSteps; ++ks)
        out.push_back(kc.add(kPart[ks], f * 16 * 64));
    return out;
  }
  // MN-major (16-bit types, ldmatrix.trans): rows are K, of tileRows elements.
  // A's matrices are (m0-7,k0-7) (m8-15,k0-7) (m0-7,k8-15) (m8-15,k8-15);
  // B's are (n0-7,k0-7) (n0-7,k8-15) (n8-15,k0-7) (n8-15,k8-15).
  int64_t chunksPerRow = op.tileRows / 8;
  int64_t mask = std::min<int64_t>(8, chunksPerRow) - 1;
  Value kHalf = isA ? kc.div(q, 2) : kc.rem(q, 2);
  Value mnHalf = isA ? kc.rem(q, 2) : kc.div(q, 2);
  Value kInStep = kc.add(r8, kc.mul(kHalf, 8));
  Value kRow = kc.mul(kInStep, op.tileRows);
  Value kAnd = kc.andI(kInStep, mask); // (16 * ks) & mask == 0
  for (int64_t f = 0; f < frags; ++f) {
    Value chunk = kc.add(kc.div(warpBase, 8), kc.add(mnHalf, 2 * f));
    Value base = kc.add(kRow, kc.mul(kc.xorI(chunk, kAnd), 8));
    for (int64_t ks = 0; ks < kSteps; ++ks)
      out.push_back(kc.add(base, 16 * ks * op.tileRows));
  }
  return out;
}

/// f64 (DMMA, m8n8k4): one f64 per lane and 8x8 sub-tile per k step of 4
/// (32 bytes, as every variant here): lane (g, q) = (lane / 4, lane % 4)
/// holds row g, k 4 ks + q, at byte 8 (4 ks + q) of its 128-byte row, in
/// chunk (2 ks + q / 2) ^ g after the producers' swizzle (the sub-tile's
/// rows start at a multiple of 8). Offsets are in 16-bit units, as for
/// ldmatrix; one per (sub-tile, k step).
static bool isDmma(KernelContext &kc) { return kc.plan.getMma() == loom::MmaShape::M8N8K4; }

static SmallVector<Value> dmmaLaneOffsets(KernelContext &kc, Value warpBase, int64_t tiles8) {
  SmallVector<Value> out;
  Value g = kc.div(kc.lane, 4), q = kc.rem(kc.lane, 4);
  Value rowBase = kc.mul(kc.add(warpBase, g), 64);
  Value half = kc.mul(kc.rem(q, 2), 4), pair = kc.div(q, 2);
  SmallVector<Value> kPart;
  for (int64_t ks = 0; ks < kSteps; ++ks)
    kPart.push_back(kc.add(rowBase, kc.add(kc.mul(kc.xorI(kc.add(pair, 2 * ks), g), 8), half)));
  for (int64_t t = 0; t < tiles8; ++t)
    for (int64_t ks = 0; ks < kSteps; ++ks)
      out.push_back(kc.add(kPart[ks], t * 8 * 64));
  return out;
}

/// Packed codes: the lane's first word of the warp's 16-row tile `f`, in
/// bytes within a stage (a_fragment: `bits` words per lane, the 32 lanes'
/// consecutive; the warp's tiles start at row kc.warpRow). The wgmma core
/// reads its warp's one tile of a warpgroup's 64 rows the same way.
static Value packedLaneOffset(KernelContext &kc, OperandTile &a, int64_t f) {
  return kc.mul(kc.add(kc.mul(kc.add(kc.div(kc.warpRow, 16), f), 32), kc.lane),
                4 * a.recipe.bits);
}

/// The packed operand's shared-memory region as 32-bit words.
static Value packedWordsView(OpBuilder &b, Location loc, OperandTile &a) {
  auto t = cast<MemRefType>(a.smemBytes.getType());
  return memref::ViewOp::create(
      b, loc, MemRefType::get({t.getNumElements() / 4}, b.getI32Type(), nullptr, t.getMemorySpace()),
      a.smemBytes, arith::ConstantIndexOp::create(b, loc, 0), ValueRange{});
}

FragmentState einloom::codegen::prepareFragments(KernelContext &kc, OperandTile &a,
                                                 OperandTile &b) {
  int64_t wm = kc.bm / kc.warpsM, wn = kc.bn / kc.warpsN;
  FragmentState fs;
  if (isDmma(kc)) {
    fs.a = dmmaLaneOffsets(kc, kc.warpRow, wm / 8);
    fs.b = dmmaLaneOffsets(kc, kc.warpCol, wn / 8);
    return fs;
  }
  if (a.layout == SmemLayout::PackedFragments) {
    for (int64_t f = 0; f < wm / 16; ++f)
      fs.a.push_back(packedLaneOffset(kc, a, f));
  } else {
    fs.a = laneOffsets(kc, a, kc.warpRow, wm / 16, /*isA=*/true);
  }
  fs.b = laneOffsets(kc, b, kc.warpCol, wn / 16, /*isA=*/false);
  if (kc.sparseMma())
    fs.meta = metaOffsets(kc, wm / 16);
  return fs;
}

/// An operand's shared-memory region as 16-bit units, which ldmatrix reads.
static Value halfwordView(OpBuilder &b, Location loc, OperandTile &op) {
  auto t = cast<MemRefType>(op.smemBytes.getType());
  return memref::ViewOp::create(
      b, loc, MemRefType::get({t.getNumElements() / 2}, b.getI16Type(), nullptr, t.getMemorySpace()),
      op.smemBytes, arith::ConstantIndexOp::create(b, loc, 0), ValueRange{});
}

/// ldmatrix.x4 at i16 index `idx` of `tile16`; returns four 32-bit registers.
static SmallVector<Value, 4> ldmatrix4(KernelContext &kc, Value tile16, Value idx,
                                       bool transpose) {
  OpBuilder &b = kc.b;
  auto vt = VectorType::get({4, 2}, b.getI16Type());
  Value frag = nvgpu::LdMatrixOp::create(b, kc.loc, vt, tile16, ValueRange{kc.idx(idx)},
                                           transpose, 4);
  SmallVector<Value, 4> regs;
  for (int64_t i = 0; i < 4; ++i) {
    Value row = vector::ExtractOp::create(b, kc.loc, frag, ArrayRef<int64_t>{i});
    Value asI32 = vector::BitCastOp::create(b, kc.loc, VectorType::get({1}, b.getI32Type()), row);
    regs.push_back(vector::ExtractOp::create(b, kc.loc, asI32, ArrayRef<int64_t>{0}));
  }
  return regs;
}

SmallVector<Value> einloom::codegen::loadFragments(KernelContext &kc, OperandTile &a,
                                                   OperandTile &bop, const FragmentState &fs,
                                                   Value stage, int64_t ks) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  int64_t wm = kc.bm / kc.warpsM, wn = kc.bn / kc.warpsN;
  Value a16 = halfwordView(b, loc, a), b16 = halfwordView(b, loc, bop);
  Value aBase = arith::MulIOp::create(b, loc, stage, kc.cst(a.stageBytes() / 2));
  Value bBase = arith::MulIOp::create(b, loc, stage, kc.cst(bop.stageBytes() / 2));
  bool aT = a.layout == SmemLayout::MNMajorVector, bT = bop.layout == SmemLayout::MNMajorVector;
  SmallVector<Value> regs;
  if (isDmma(kc)) {
    // One f64 per 8x8 sub-tile: its offset / 4 in an f64 view of the stage.
    auto f64View = [&](OperandTile &op) {
      auto t = cast<MemRefType>(op.smemBytes.getType());
      return memref::ViewOp::create(
                 b, loc, MemRefType::get({t.getNumElements() / 8}, b.getF64Type(), nullptr,
                                         t.getMemorySpace()),
                 op.smemBytes, arith::ConstantIndexOp::create(b, loc, 0), ValueRange{})
          .getResult();
    };
    Value a64 = f64View(a), b64 = f64View(bop);
    for (int64_t i = 0; i < wm / 8; ++i)
      regs.push_back(memref::LoadOp::create(
          b, loc, a64, ValueRange{kc.idx(kc.div(kc.add(aBase, fs.a[i * kSteps + ks]), 4))}));
    for (int64_t j = 0; j < wn / 8; ++j)
      regs.push_back(memref::LoadOp::create(
          b, loc, b64, ValueRange{kc.idx(kc.div(kc.add(bBase, fs.b[j * kSteps + ks]), 4))}));
    return regs;
  }
  if (a.layout == SmemLayout::PackedFragments) {
    Value words = packedWordsView(b, loc, a);
    Value stageBytes = arith::MulIOp::create(b, loc, stage, kc.cst(a.stageBytes()));
    for (int64_t i = 0; i < wm / 16; ++i)
      llvm::append_range(regs, dequantFragment(kc, a, words, kc.add(stageBytes, fs.a[i]), i, ks));
  } else {
    for (int64_t i = 0; i < wm / 16; ++i)
      llvm::append_range(regs, ldmatrix4(kc, a16, kc.add(aBase, fs.a[i * kSteps + ks]), aT));
  }
  if (kc.sparseMma()) {
    // Step ks (32 logical columns): each fragment's metadata word.
    Type i32 = b.getI32Type();
    for (int64_t i = 0; i < wm / 16; ++i) {
      Value at = kc.add(aBase, kc.add(fs.meta[i], 2 * ks));
      auto half = [&](Value idx) {
        return arith::ExtUIOp::create(b, loc, i32,
                                      memref::LoadOp::create(b, loc, a16, ValueRange{kc.idx(idx)}));
      };
      regs.push_back(arith::OrIOp::create(
          b, loc, half(at),
          arith::ShLIOp::create(b, loc, half(kc.add(at, 8 * 64)),
                                arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(16)))));
    }
  }
  // B: each pair of n8 tiles at dense k16 step ks, or (mma.sp) steps 2 ks
  // and 2 ks + 1.
  int64_t bSteps = kc.sparseMma() ? 2 : 1;
  for (int64_t j = 0; j < wn / 16; ++j)
    for (int64_t h = 0; h < bSteps; ++h)
      llvm::append_range(
          regs, ldmatrix4(kc, b16, kc.add(bBase, fs.b[j * kSteps + bSteps * ks + h]), bT));
  return regs;
}

void einloom::codegen::mmaStep(KernelContext &kc, ArrayRef<Value> frags,
                               SmallVectorImpl<Value> &acc) {
  OpBuilder &b = kc.b;
  int64_t wm = kc.bm / kc.warpsM, wn = kc.bn / kc.warpsN;
  if (isDmma(kc)) {
    // 8x8 sub-tile (i8, n) keeps row g, columns 2q and 2q + 1: as the
    // epilogue expects of m16n8 fragments, with 16-row fragment i8 / 2 and
    // its row half i8 % 2.
    Type f64 = b.getF64Type();
    int64_t tilesM8 = wm / 8, tilesN = wn / 8;
    for (int64_t i = 0; i < tilesM8; ++i)
      for (int64_t n = 0; n < tilesN; ++n) {
        size_t at = ((i / 2) * tilesN + n) * 4 + (i % 2) * 2;
        auto mma = NVVM::InlinePtxOp::create(
            b, kc.loc, TypeRange{f64, f64},
            ValueRange{frags[i], frags[tilesM8 + n], acc[at], acc[at + 1]}, ValueRange{},
            b.getStringAttr("mma.sync.aligned.m8n8k4.row.col.f64.f64.f64.f64 {$0, $1}, {$2}, "
                            "{$3}, {$4, $5};"),
            Value());
        acc[at] = mma.getResult(0);
        acc[at + 1] = mma.getResult(1);
      }
    return;
  }
  int64_t fragsM = wm / 16, tilesN = wn / 8;
  // frags: A (4 registers a fragment), then for mma.sp the metadata (one a
  // fragment), then B (a pair of n8 tiles: four registers, or eight for
  // mma.sp's k32: k16 step 2s's four, then step 2s + 1's).
  bool sp = kc.sparseMma();
  std::string ptx =
      sp ? std::string("mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.") +
               (kc.c.elemA.isBF16() ? "bf16.bf16" : "f16.f16") +
               ".f32 {$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9, $10, $11}, "
               "{$12, $13, $14, $15}, $16, 0x0;"
         : mmaInstruction(kc.c) +
               " {$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9}, {$10, $11, $12, $13};";
  Type accT = acc.front().getType();
  ArrayRef<Value> fa = frags.take_front(fragsM * 4);
  ArrayRef<Value> fm = sp ? frags.slice(fragsM * 4, fragsM) : ArrayRef<Value>();
  ArrayRef<Value> fb = frags.drop_front(fragsM * 4 + fm.size());
  int64_t pairRegs = sp ? 8 : 4;
  for (int64_t i = 0; i < fragsM; ++i)
    for (int64_t n = 0; n < tilesN; ++n) {
      size_t at = (i * tilesN + n) * 4;
      size_t bAt = (n / 2) * pairRegs + (n % 2) * 2;
      SmallVector<Value> ins{fa[i * 4], fa[i * 4 + 1], fa[i * 4 + 2], fa[i * 4 + 3],
                             fb[bAt], fb[bAt + 1]};
      if (sp)
        ins.append({fb[bAt + 4], fb[bAt + 5]});
      ins.append({acc[at], acc[at + 1], acc[at + 2], acc[at + 3]});
      if (sp)
        ins.push_back(fm[i]);
      auto mma = NVVM::InlinePtxOp::create(b, kc.loc, TypeRange{accT, accT, accT, accT},
                                           ValueRange(ins), ValueRange{},
                                           b.getStringAttr(ptx), Value());
      for (int64_t e = 0; e < 4; ++e)
        acc[at + e] = mma.getResult(e);
    }
}

/// A wgmma shared-memory matrix descriptor for a 128-byte-swizzled K-major
/// tile starting at shared address `addr`: 8-row core matrices 1024 bytes
/// apart (stride byte offset), swizzle mode 1 (128B) in bits 62-63.
/// For an MN-major tile (MNMajorAtoms), the leading byte offset is the step
/// between 64-element atoms along M (N), 8 KiB, and the stride byte offset
/// the step between groups of 8 K rows, 1024 bytes.
static Value smemDescriptor(OpBuilder &b, Location loc, Value addr, bool mnMajor = false) {
  auto c64 = [&](int64_t v) { return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v)); };
  Value start = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, addr, c64(4)), c64(0x3FFF));
  // (Measured on an H100: with the two swapped, every MN-major case fails.)
  int64_t lbo = mnMajor ? 8192 : 16, sbo = 1024;
  int64_t fixed = (int64_t(lbo >> 4) << 16) | (int64_t(sbo >> 4) << 32) | (int64_t(1) << 62);
  return arith::OrIOp::create(b, loc, start, c64(fixed));
}

void einloom::codegen::wgmmaTile(KernelContext &kc, OperandTile &a, OperandTile &bop,
                                 Value stage, SmallVectorImpl<Value> &acc,
                                 Value warpgroup, Value accumulate) {
  OpBuilder &b = kc.b;
  Location loc = kc.loc;
  MLIRContext *ctx = b.getContext();
  int64_t n = kc.bn;
  auto addressOf = [&](OperandTile &op) { return sharedAddress(b, loc, op.smemBytes); };
  // (Kernels with 64-bit indexing compute in i64 already.)
  auto toI64 = [&](Value v) {
    return v.getType().isInteger(64)
               ? v
               : arith::ExtUIOp::create(b, loc, b.getI64Type(), v).getResult();
  };
  Value i64Stage = toI64(stage);
  auto c64 = [&](int64_t v) { return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v)); };
  if (!warpgroup)
    warpgroup = toI64(kc.div(kc.tid, 128));
  Value aBase = arith::AddIOp::create(
      b, loc, addressOf(a),
      arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, i64Stage, c64(a.stageBytes())),
                            arith::MulIOp::create(b, loc, warpgroup, c64(64 * 128))));
  Value bBase = arith::AddIOp::create(b, loc, addressOf(bop),
                                      arith::MulIOp::create(b, loc, i64Stage, c64(bop.stageBytes())));
  Type accT = acc.front().getType();
  Type e = kc.c.elemA;
  bool isInt = e.isSignlessInteger(8);
  bool is8bit = isInt || isa<Float8E4M3FNType, Float8E5M2Type>(e);
  std::string type = e.isBF16() ? "bf16" : e.isF16() ? "f16" : isInt ? "s8"
                     : isa<Float8E4M3FNType>(e) ? "e4m3" : "e5m2";
  // Every variant reads 32 bytes of K per instruction: k16 for 16-bit
  // types, k32 for 8-bit ones. Operand lists differ by type (PTX ISA):
  // 16-bit types take scale-d, scale-a, scale-b, transpose-a, transpose-b;
  // fp8 takes no transpose flags; integers take only scale-d.
  std::string shape = "m64n" + std::to_string(n) + (is8bit ? "k32" : "k16");
  // MN-major operands are read transposed (16-bit types only).
  bool aMN = a.layout == SmemLayout::MNMajorAtoms, bMN = bop.layout == SmemLayout::MNMajorAtoms;
  // A from registers (a_source = registers): four 32-bit registers per
  // thread, the fragment mma.sync takes for its 16 rows of the warp, and no
  // transpose flag for A.
  bool aRegs = kc.plan.getASource() == loom::OperandSource::Registers;
  std::string tail = isInt ? "p;" : is8bit ? "p, 1, 1;"
                     : std::string("p, 1, 1, ") + (aRegs ? "" : aMN ? "1, " : "0, ") +
                           (bMN ? "1" : "0") + ";";
  size_t nIn = acc.size(); // the first input operand's number
  auto operandRef = [&](size_t i) { return "$" + std::to_string(nIn + i); };
  // upstream nvgpu.warpgroup.mma needs its own descriptor and fragment
  // types; the instruction is issued as inline assembly with the
  // accumulators tied (read and written in place).
  std::string asmText = "{\n.reg .pred p;\nsetp.ne.b32 p, " + operandRef(aRegs ? 5 : 2) +
                        ", 0;\nwgmma.mma_async.sync.aligned." + shape + "." +
                        (isInt ? "s32" : "f32") + "." + type + "." + type + " {";
  std::string constraints;
  for (size_t i = 0; i < acc.size(); ++i) {
    asmText += (i ? ", $" : "$") + std::to_string(i);
    constraints += isInt ? "=r," : "=f,";
  }
  if (aRegs)
    asmText += "}, {" + operandRef(0) + ", " + operandRef(1) + ", " + operandRef(2) + ", " +
               operandRef(3) + "}, " + operandRef(4) + ", " + tail + "\n}";
  else
    asmText += "}, " + operandRef(0) + ", " + operandRef(1) + ", " + tail + "\n}";
  constraints += aRegs ? "r,r,r,r,l,r" : "l,l,r";
  for (size_t i = 0; i < acc.size(); ++i)
    constraints += "," + std::to_string(i);
  auto resultType = LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(acc.size(), accT));
  Value one = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(1));

  // Registers for A: each warp loads its 16 rows of the K tile (kc.warpRow
  // is its first row) with one ldmatrix.x4 per k step, before the fence
  // that orders these register writes before the MMAs read them. An MMA in
  // flight may still read its A registers (rewriting them before the wait
  // is undefined in the PTX ISA), so the tile goes in two groups of two k
  // steps with their own registers: each group's loads follow the wait
  // that completed the group which last used those registers, and one
  // group is always in flight while the next one loads.
  // Packed codes (the mixed-input kernel) are read and dequantized into
  // the same registers instead (dequantFragment, as the mma.sync core).
  bool packed = a.layout == SmemLayout::PackedFragments;
  SmallVector<Value> lanes;
  Value a16, aStage, words, laneWord;
  if (aRegs && packed) {
    words = packedWordsView(b, loc, a);
    laneWord = kc.add(kc.mul(stage, a.stageBytes()), packedLaneOffset(kc, a, 0));
  } else if (aRegs) {
    lanes = laneOffsets(kc, a, kc.warpRow, 1, /*isA=*/true);
    a16 = halfwordView(b, loc, a);
    aStage = kc.mul(stage, a.stageBytes() / 2);
  }
  int64_t groups = aRegs ? 2 : 1, perGroup = kStepsPerTile / groups;
  for (int64_t grp = 0; grp < groups; ++grp) {
    SmallVector<Value> aFrags;
    for (int64_t ks = grp * perGroup; aRegs && ks < (grp + 1) * perGroup; ++ks)
      llvm::append_range(aFrags, packed ? dequantFragment(kc, a, words, laneWord, 0, ks)
                                        : ldmatrix4(kc, a16, kc.add(aStage, lanes[ks]), false));
    NVVM::WgmmaFenceAlignedOp::create(b, loc);
    for (int64_t ks = grp * perGroup; ks < (grp + 1) * perGroup; ++ks) {
      // A k16 (k32) step is 32 bytes along a K-major row, or 16 K rows of
      // 128 bytes in an MN-major tile.
      SmallVector<Value> operands;
      if (aRegs)
        llvm::append_range(operands, ArrayRef<Value>(aFrags).slice(4 * (ks - grp * perGroup), 4));
      else
        operands.push_back(smemDescriptor(
            b, loc, arith::AddIOp::create(b, loc, aBase, c64((aMN ? 2048 : 32) * ks)), aMN));
      operands.push_back(smemDescriptor(
          b, loc, arith::AddIOp::create(b, loc, bBase, c64((bMN ? 2048 : 32) * ks)), bMN));
      operands.push_back(accumulate && ks == 0 ? accumulate : one);
      llvm::append_range(operands, acc);
      auto mma = LLVM::InlineAsmOp::create(b, loc, resultType, operands, asmText, constraints,
                                           /*has_side_effects=*/true, /*is_align_stack=*/false,
                                           LLVM::TailCallKind::None,
                                           LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT),
                                           ArrayAttr());
      for (size_t i = 0; i < acc.size(); ++i)
        acc[i] = LLVM::ExtractValueOp::create(b, loc, mma.getRes(), ArrayRef<int64_t>{int64_t(i)});
    }
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    // Keep this group's MMAs in flight while the next iteration waits for
    // its copies; the stage they read is not refilled until two tiles
    // later. With A in registers, this wait also completes the group that
    // read the registers the next group loads.
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 1);
  }
}

SmallVector<Value> einloom::codegen::wgmmaLoopInit(KernelContext &kc, int64_t bn, Value zero,
                                                  std::optional<DequantParams> &dq,
                                                  size_t &numAcc) {
  SmallVector<Value> init(bn / 2, zero);
  numAcc = init.size();
  if (dq)
    llvm::append_range(init, dq->start(kc));
  return init;
}

SmallVector<Value> einloom::codegen::wgmmaWaitAll(OpBuilder &b, Location loc, ValueRange acc) {
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
  if (acc.empty())
    return {};
  // One asm of no instructions that rewrites each accumulator in place
  // ("=f"/"=r" tied to the input); with side effects, it stays after the
  // wait, and every later read goes through its results.
  std::string constraints;
  for (Value v : acc)
    constraints += v.getType().isInteger(32) ? "=r," : "=f,";
  for (size_t i = 0; i < acc.size(); ++i)
    constraints += (i ? "," : "") + std::to_string(i);
  SmallVector<Type> types;
  for (Value v : acc)
    types.push_back(v.getType());
  MLIRContext *ctx = b.getContext();
  auto st = LLVM::LLVMStructType::getLiteral(ctx, types);
  auto fence = LLVM::InlineAsmOp::create(
      b, loc, st, acc, "", constraints, /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::TailCallKind::None, LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT),
      ArrayAttr());
  SmallVector<Value> out;
  for (size_t i = 0; i < acc.size(); ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, loc, fence.getRes(), ArrayRef<int64_t>{int64_t(i)}));
  return out;
}

Value einloom::codegen::sharedAddress(OpBuilder &b, Location loc, Value memref) {
  Value p = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  return arith::IndexCastUIOp::create(b, loc, b.getI64Type(), p).getResult();
}

SmallVector<Value> einloom::codegen::streamingLoadWords(OpBuilder &b, Location loc, Value bytes,
                                                      Value byteOffset, int64_t words,
                                                      Value policy, Value pred) {
  MLIRContext *ctx = b.getContext();
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, bytes);
  Value addr = arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                          arith::AddIOp::create(b, loc, base, byteOffset));
  Value ptr = LLVM::IntToPtrOp::create(b, loc, LLVM::LLVMPointerType::get(ctx), addr);
  SmallVector<Type> fields(words, b.getI32Type());
  auto st = LLVM::LLVMStructType::getLiteral(ctx, fields);
  std::string regs, cons;
  for (int64_t w = 0; w < words; ++w) {
    regs += (w ? ", $" : "$") + std::to_string(w);
    cons += "=r,";
  }
  std::string n = std::to_string(words);
  // (One word is a scalar load: PTX has no .v1.)
  std::string load = "ld.global.L1::no_allocate.L2::cache_hint" +
                     (words == 1 ? std::string(".b32 ") + regs
                                 : ".v" + n + ".b32 {" + regs + "}") +
                     ", [$" + n + "], $" + std::to_string(words + 1) + ";";
  SmallVector<Value> operands{ptr, policy};
  std::string text = load;
  if (pred) {
    text = "{ .reg .pred p; setp.ne.b32 p, $" + std::to_string(words + 2) + ", 0; @p " + load +
           " }";
    operands.push_back(arith::ExtUIOp::create(b, loc, b.getI32Type(), pred));
  }
  Value loaded =
      LLVM::InlineAsmOp::create(b, loc, st, operands, text, cons + (pred ? "l,l,r" : "l,l"),
                                /*has_side_effects=*/false, /*is_align_stack=*/false,
                                LLVM::TailCallKind::None,
                                LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT),
                                ArrayAttr())
          .getResult(0);
  SmallVector<Value> out;
  for (int64_t j = 0; j < words; ++j)
    out.push_back(LLVM::ExtractValueOp::create(b, loc, loaded, ArrayRef<int64_t>{j}));
  return out;
}

void einloom::codegen::asyncProxyFence(OpBuilder &b, Location loc) {
  LLVM::InlineAsmOp::create(b, loc, Type(), ValueRange{}, "fence.proxy.async.shared::cta;", "",
                            /*has_side_effects=*/true, /*is_align_stack=*/false,
                            LLVM::TailCallKind::None,
                            LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
                            ArrayAttr());
}
