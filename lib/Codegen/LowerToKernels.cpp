//===- LowerToKernels.cpp - loom-lower-to-kernels -------------------------===//
#include "einloom/Codegen/FFTConvKernel.h"
#include "einloom/Codegen/KernelBuilder.h"
#include "einloom/Passes.h"
#include "einloom/Plan/SelectPlan.h"

#include "Loom/LoomOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace einloom {
#define GEN_PASS_DEF_LOOMLOWERTOKERNELS
#include "einloom/Passes.h.inc"
} // namespace einloom

using namespace mlir;
using namespace einloom;

namespace {
/// The grid and block of a launch, as attributes.
SmallVector<NamedAttribute> launchShape(OpBuilder &b, const KernelLaunch &l) {
  SmallVector<NamedAttribute> attrs{b.getNamedAttr("grid", b.getDenseI64ArrayAttr(l.grid)),
                                    b.getNamedAttr("block", b.getDenseI64ArrayAttr(l.block))};
  if (l.dynamicGrid[0])
    attrs.push_back(b.getNamedAttr("dynamic_grid", b.getDenseI64ArrayAttr(l.dynamicGrid)));
  return attrs;
}

struct LoomLowerToKernels : einloom::impl::LoomLowerToKernelsBase<LoomLowerToKernels> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<TargetInfo> t = lookupTarget(target);
    if (failed(t)) {
      module.emitError("unknown target '") << target << "'";
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    gpu::GPUModuleOp kernels;
    bool failedAny = false;
    auto kernelModule = [&]() {
      if (!kernels) {
        b.setInsertionPointToEnd(module.getBody());
        auto nvvmTarget = NVVM::NVVMTargetAttr::get(
            ctx, /*optLevel=*/3, "nvptx64-nvidia-cuda", t->chip, kPtxFeatures);
        kernels = gpu::GPUModuleOp::create(b, module.getLoc(), "einloom_kernels",
                                           b.getArrayAttr({nvvmTarget}));
        module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), b.getUnitAttr());
      }
      return kernels;
    };
    // A memory-bound kernel of its own for `op`: named on it with its launch
    // (no shared memory), or the pass fails.
    auto mark = [&](Operation *op, FailureOr<KernelLaunch> launch) {
      if (failed(launch)) {
        failedAny = true;
        return;
      }
      op->setAttr("loom.kernel", SymbolRefAttr::get(kernels.getNameAttr(),
                                                    {FlatSymbolRefAttr::get(ctx, launch->name)}));
      SmallVector<NamedAttribute> attrs = launchShape(b, *launch);
      attrs.push_back(b.getNamedAttr("smem", b.getI64IntegerAttr(0)));
      op->setAttr("loom.launch", b.getDictionaryAttr(attrs));
    };
    // A dequantize that did not fuse into its einsum: a memory-bound kernel
    // of its own, whose result the einsum reads as a dense operand.
    auto lowerDequantize = [&](loom::DequantizeOp d, StringRef name, int index) {
      loom::QuantAttr q = d.getQuant();
      if (q.isFloat8() || q.getKind() == loom::QuantKind::Bipolar) {
        d.emitOpError("has no GPU kernel for ")
            << loom::stringifyQuantKind(q.getKind()) << " codes yet";
        failedAny = true;
        return;
      }
      if (q.getGranularity() == loom::QuantGranularity::PerBlock) {
        d.emitOpError("has no GPU kernel of its own for block scales yet (they run fused: two "
                      "fp8 dequantizes feeding an einsum become its scale_block)");
        failedAny = true;
        return;
      }
      auto codes = cast<RankedTensorType>(d.getInput().getType());
      DequantizeSpec ds;
      ds.shape.assign(codes.getShape().begin(), codes.getShape().end());
      ds.bits = q.getBits();
      ds.isSigned = q.getKind() == loom::QuantKind::Signed;
      ds.granularity = q.getGranularity() == loom::QuantGranularity::PerTensor    ? 0
                       : q.getGranularity() == loom::QuantGranularity::PerChannel ? 1
                                                                                  : 2;
      ds.axis = q.getAxis();
      ds.groupSize = q.getGroupSize();
      ds.codeType = codes.getElementType();
      ds.scaleType = cast<RankedTensorType>(d.getScale().getType()).getElementType();
      if (Value z = d.getZeroPoint())
        ds.zeroType = cast<RankedTensorType>(z.getType()).getElementType();
      ds.resultType = cast<RankedTensorType>(d.getResult().getType()).getElementType();
      if (!codes.hasStaticShape() || ds.codeType.getIntOrFloatBitWidth() > 32) {
        d.emitOpError("a dequantize kernel takes static shapes and integer codes of at most "
                      "32 bits");
        failedAny = true;
        return;
      }
      std::string kernel = (name + "_dequantize" + Twine(index)).str();
      mark(d, buildDequantizeKernel(kernelModule(), kernel, ds, d.getLoc()));
    };
    // A loom.pack into the a_fragment layout (a repack at load time): a
    // kernel of its own.
    auto lowerPack = [&](loom::PackOp p, StringRef name, int index) {
      loom::PackLayoutAttr layout = p.getLayout();
      auto in = cast<RankedTensorType>(p.getInput().getType());
      if (layout.getFormat() != loom::PackFormat::AFragment || !in.hasStaticShape() ||
          in.getRank() != 2 || !in.getElementType().isSignlessInteger() ||
          in.getElementType().getIntOrFloatBitWidth() > 8) {
        p.emitOpError("has a GPU kernel only for the a_fragment layout of static N x K "
                      "integer codes of at most 8 bits (stored one per byte); this is ")
            << loom::stringifyPackFormat(layout.getFormat()) << " of " << in;
        failedAny = true;
        return;
      }
      std::string kernel = (name + "_pack" + Twine(index)).str();
      mark(p, buildPackKernel(kernelModule(), kernel, in.getDimSize(0), in.getDimSize(1),
                              static_cast<unsigned>(layout.getBits()), p.getLoc()));
    };
    // A dynamic (per-token) quantize: a warp a row.
    auto lowerDynamicQuantize = [&](loom::DynamicQuantizeOp q, StringRef name, int index) {
      auto in = cast<RankedTensorType>(q.getInput().getType());
      std::string kernel = (name + "_dynamic_quantize" + Twine(index)).str();
      // FP8 codes in groups along the last dimension (the verifier checked).
      if (q.getQuant().isFloat8() && in.hasStaticShape()) {
        int64_t cols = in.getShape().back(), rows = in.getNumElements() / std::max<int64_t>(1, cols);
        mark(q, buildDynamicQuantizeGroupKernel(
                    kernelModule(), kernel, rows, cols, in.getElementType(),
                    cast<RankedTensorType>(q.getCodes().getType()).getElementType(),
                    q.getQuant().getGroupSize(), q.getLoc()));
        return;
      }
      if (!in.hasStaticShape() || q.getQuant().getAxis() != 0) {
        q.emitOpError("has a GPU kernel only for static shapes with the scales along the first "
                      "dimension (one per row, the rest of the row contiguous); this is ")
            << in << " along dimension " << q.getQuant().getAxis();
        failedAny = true;
        return;
      }
      int64_t rows = in.getDimSize(0), cols = in.getNumElements() / std::max<int64_t>(1, rows);
      mark(q, buildDynamicQuantizeKernel(kernelModule(), kernel, rows, cols, in.getElementType(),
                                         q.getQuant().getBits(), q.getLoc()));
    };
    // A long convolution: the filters' spectra, then the fused kernel.
    auto lowerFFTConv = [&](loom::FFTConvOp conv, StringRef name, int index) {
      FailureOr<codegen::FFTConvKernelPlan> plan = fftconvPlan(conv);
      if (failed(plan)) {
        failedAny = true;
        return;
      }
      auto u = cast<RankedTensorType>(conv.getInput().getType());
      Type filter = cast<RankedTensorType>(conv.getKernel().getType()).getElementType();
      std::string base = (name + "_fftconv" + Twine(index)).str();
      FailureOr<KernelLaunch> spectrum = buildFFTConvSpectrumKernel(
          kernelModule(), base + "_spectrum", *plan, filter, conv.getLoc());
      FailureOr<KernelLaunch> fused =
          failed(spectrum) ? FailureOr<KernelLaunch>(failure())
                           : buildFFTConvKernel(kernels, base, *plan, u.getElementType(),
                                                conv.getLoc(), t->numSMs);
      // Two passes: the outer kernels around the spectrum and inner ones.
      std::vector<std::pair<StringRef, FailureOr<KernelLaunch>>> outer;
      if (succeeded(fused) && plan->twoPass())
        for (auto [attr, which, type] :
             {std::tuple{StringRef("loom.outer_filter"), FFTConvOuter::Filter, filter},
              std::tuple{StringRef("loom.outer_forward"), FFTConvOuter::Forward, u.getElementType()},
              std::tuple{StringRef("loom.outer_inverse"), FFTConvOuter::Inverse, u.getElementType()}})
          outer.push_back({attr, buildFFTConvOuterKernel(kernels, (base + attr.drop_front(5)).str(),
                                                         *plan, which, type, conv.getLoc())});
      if (failed(fused) || llvm::any_of(outer, [](auto &o) { return failed(o.second); })) {
        failedAny = true;
        return;
      }
      auto named = [&](const KernelLaunch &l) {
        return SymbolRefAttr::get(kernels.getNameAttr(), {FlatSymbolRefAttr::get(ctx, l.name)});
      };
      auto shape = [&](const KernelLaunch &l) {
        SmallVector<NamedAttribute> attrs = launchShape(b, l);
        attrs.push_back(b.getNamedAttr("smem", b.getI64IntegerAttr(l.sharedMemoryBytes)));
        if (l.persistent)
          attrs.push_back(b.getNamedAttr("persistent", b.getUnitAttr()));
        if (l.ctasPerSM > 1)
          attrs.push_back(b.getNamedAttr("ctas_per_sm", b.getI64IntegerAttr(l.ctasPerSM)));
        return b.getDictionaryAttr(attrs);
      };
      conv->setAttr("loom.kernel", named(*fused));
      conv->setAttr("loom.launch", shape(*fused));
      conv->setAttr("loom.spectrum_kernel", named(*spectrum));
      conv->setAttr("loom.spectrum_launch", shape(*spectrum));
      conv->setAttr("loom.workspace", b.getI64IntegerAttr(plan->workspaceFloats() * 4));
      for (auto &[attr, launch] : outer) {
        conv->setAttr((attr + "_kernel").str(), named(*launch));
        conv->setAttr((attr + "_launch").str(), shape(*launch));
      }
      conv->setAttr("loom.fftconv_plan",
                    b.getDenseI64ArrayAttr({plan->M, plan->r0, plan->r1, plan->P, plan->Q}));
    };
    module.walk([&](func::FuncOp func) {
      int dequantizes = 0, packs = 0, quantizes = 0, convs = 0;
      func.walk([&](Operation *op) {
        if (failedAny)
          return;
        if (auto conv = dyn_cast<loom::FFTConvOp>(op))
          lowerFFTConv(conv, func.getSymName(), convs++);
        else if (auto q = dyn_cast<loom::DynamicQuantizeOp>(op))
          lowerDynamicQuantize(q, func.getSymName(), quantizes++);
        else if (auto d = dyn_cast<loom::DequantizeOp>(op))
          lowerDequantize(d, func.getSymName(), dequantizes++);
        else if (auto p = dyn_cast<loom::PackOp>(op))
          lowerPack(p, func.getSymName(), packs++);
      });
    });
    module.walk([&](func::FuncOp func) {
      int index = 0;
      func.walk([&](loom::EinsumOp op) {
        if (failedAny)
          return;
        bool memory = runsAsMemoryKernel(op);
        loom::PlanAttr plan = op.getPlanAttr();
        if (!plan && !memory) {
          op.emitOpError("has no plan; run -loom-select-plan first");
          failedAny = true;
          return;
        }
        FailureOr<MemoryEinsum> mem = failure();
        FailureOr<Contraction> c = failure();
        if (memory ? failed(mem = analyzeMemoryEinsum(op))
                   : failed(c = analyzeContraction(op)) ||
                         failed(verifyPlanForTarget(plan, *c, *t,
                                                    [&] { return op.emitOpError(); }))) {
          failedAny = true;
          return;
        }
        // 8-bit floats convert with cvt ...e4m3x2 / e5m2x2, new in sm_89.
        if (memory && t->smVersion < 89 &&
            (llvm::any_of(mem->elems, isFp8) || isFp8(mem->elemC))) {
          op.emitOpError("8-bit float elements need target sm_89 or newer (cvt between fp8 "
                         "and f16), not ")
              << target;
          failedAny = true;
          return;
        }
        kernelModule();
        std::string name = (func.getSymName() + "_einsum" + Twine(index++)).str();
        // The kernels see the contraction in the plan's operand order.
        Contraction storage;
        const Contraction *kc = memory ? nullptr : &oriented(plan, *c, storage);
        FailureOr<KernelLaunch> launch =
            memory ? buildMemoryKernel(kernels, name, *mem, op.getLoc())
                   : buildContractionKernel(kernels, name, *kc, plan, op.getLoc(), t->numSMs);
        if (failed(launch)) {
          failedAny = true;
          return;
        }
        // (A TMA plan sums its split in the cluster, in one kernel.)
        bool twoKernels = memory ? mem->split > 1
                                 : plan.getSplitK() > 1 &&
                                       plan.getProducer() != loom::ProducerKind::Tma;
        if (twoKernels) {
          FailureOr<KernelLaunch> reduce =
              memory ? buildMemoryPartialSums(kernels, name + "_reduce", *mem, op.getLoc())
                     : buildSplitKReduceKernel(kernels, name + "_reduce", *kc, plan.getSplitK(),
                                               op.getLoc());
          if (failed(reduce)) {
            failedAny = true;
            return;
          }
          op->setAttr("loom.reduce_kernel",
                      SymbolRefAttr::get(kernels.getNameAttr(),
                                         {FlatSymbolRefAttr::get(ctx, reduce->name)}));
          op->setAttr("loom.reduce_launch", b.getDictionaryAttr(launchShape(b, *reduce)));
          op->setAttr("loom.workspace", b.getI64IntegerAttr(memory ? launch->workspaceBytes
                                                                   : launch->argumentBytes[2]));
        }
        op->setAttr("loom.kernel",
                    SymbolRefAttr::get(kernels.getNameAttr(),
                                       {FlatSymbolRefAttr::get(ctx, launch->name)}));
        SmallVector<NamedAttribute> attrs = launchShape(b, *launch);
        attrs.push_back(b.getNamedAttr("smem", b.getI64IntegerAttr(launch->sharedMemoryBytes)));
        attrs.push_back(b.getNamedAttr("layout_a", b.getStringAttr(launch->layoutA)));
        attrs.push_back(b.getNamedAttr("layout_b", b.getStringAttr(launch->layoutB)));
        if (!launch->tensorMaps.empty()) {
          SmallVector<Attribute> maps;
          for (const KernelLaunch::TensorMap &m : launch->tensorMaps)
            maps.push_back(b.getDictionaryAttr(
                {b.getNamedAttr("operand", b.getI64IntegerAttr(m.operand)),
                 b.getNamedAttr("element_bytes", b.getI64IntegerAttr(m.elementBytes)),
                 b.getNamedAttr("dims", b.getDenseI64ArrayAttr(m.dims)),
                 b.getNamedAttr("strides", b.getDenseI64ArrayAttr(m.strides)),
                 b.getNamedAttr("box", b.getDenseI64ArrayAttr(m.box)),
                 b.getNamedAttr("swizzle", b.getI64IntegerAttr(m.swizzleBytes))}));
          attrs.push_back(b.getNamedAttr("tensor_maps", b.getArrayAttr(maps)));
        }
        if (launch->persistent)
          attrs.push_back(b.getNamedAttr("persistent", b.getUnitAttr()));
        if (launch->ctasPerSM > 1)
          attrs.push_back(b.getNamedAttr("ctas_per_sm", b.getI64IntegerAttr(launch->ctasPerSM)));
        if (launch->cluster > 1)
          attrs.push_back(b.getNamedAttr("cluster", b.getI64IntegerAttr(launch->cluster)));
        op->setAttr("loom.launch", b.getDictionaryAttr(attrs));
      });
    });
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace
