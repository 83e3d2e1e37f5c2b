//===- PartitionMeshPass.cpp - loom-partition-mesh ------------------------===//
//
// A function over a device mesh (`loom.mesh`) with einsums that split their
// labels over mesh axes (`loom.shard`) becomes the program every rank runs
// on its slices. Each value's sharding is tracked as one mesh axis a
// dimension ("" for whole) plus the axis of a pending partial sum; where an
// einsum wants its operand split otherwise, collectives are inserted.
//
//===----------------------------------------------------------------------===//
#include "einloom/Passes.h"

#include "Loom/EinsumSpec.h"
#include "Loom/LoomOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/Format.h"

#include <optional>
#include "llvm/Support/raw_ostream.h"

namespace einloom {
#define GEN_PASS_DEF_LOOMPARTITIONMESH
#include "einloom/Passes.h.inc"
} // namespace einloom

using namespace mlir;
using namespace einloom;

namespace {
/// How a value is split: one mesh axis a dimension ("" whole), and the
/// axis of a partial sum still to be reduced ("" none).
struct Sharding {
  SmallVector<std::string> dims;
  std::string partial;
  bool operator==(const Sharding &o) const { return dims == o.dims && partial == o.partial; }
};

class Partitioner {
public:
  Partitioner(func::FuncOp func, loom::MeshAttr mesh, bool explain)
      : func(func), mesh(mesh), explain(explain), b(func.getContext()) {}

  LogicalResult run();

private:
  func::FuncOp func;
  loom::MeshAttr mesh;
  bool explain;
  OpBuilder b;
  llvm::DenseMap<Value, Sharding> shardings;
  double wireBytes = 0;

  int64_t axisSize(StringRef axis) { return axis.empty() ? 1 : mesh.getAxisSize(axis); }

  /// The label -> axis map of an einsum's `attr` (a dictionary), checked.
  FailureOr<llvm::StringMap<std::string>> labelAxes(Operation *op, StringRef attr) {
    llvm::StringMap<std::string> m;
    auto dict = op->getAttrOfType<DictionaryAttr>(attr);
    if (!op->hasAttr(attr))
      return m;
    if (!dict)
      return op->emitOpError("`") << attr << "` must be a dictionary of labels to mesh axes",
             failure();
    for (NamedAttribute a : dict) {
      auto axis = dyn_cast<StringAttr>(a.getValue());
      if (!axis || a.getName().size() != 1)
        return op->emitOpError("`") << attr << "` maps one-letter labels to mesh axis names, not "
                                    << a.getName().getValue() << " = " << a.getValue(),
               failure();
      if (mesh.getAxisSize(axis.getValue()) == 0)
        return op->emitOpError("splits label '")
                   << a.getName().getValue() << "' over mesh axis \"" << axis.getValue()
                   << "\", which the mesh " << mesh << " does not have",
               failure();
      m[a.getName()] = axis.getValue().str();
    }
    return m;
  }

  /// A mesh axis that `dims` names twice, or "".
  static std::string axisTwice(ArrayRef<std::string> dims) {
    for (size_t i = 0; i < dims.size(); ++i)
      for (size_t j = i + 1; j < dims.size(); ++j)
        if (!dims[i].empty() && dims[i] == dims[j])
          return dims[i];
    return "";
  }

  /// The local (this rank's) type of `type` split as `dims`.
  FailureOr<RankedTensorType> localType(Operation *op, RankedTensorType type,
                                        ArrayRef<std::string> dims, StringRef what = "") {
    SmallVector<int64_t> shape(type.getShape());
    if (std::string twice = axisTwice(dims); !twice.empty())
      return op->emitOpError(what) << "splits two dimensions of " << type << " over mesh axis \""
                                   << twice << "\"; an axis splits one dimension of a tensor",
             failure();
    for (auto [d, axis] : llvm::enumerate(dims)) {
      int64_t n = axisSize(axis);
      if (ShapedType::isDynamic(shape[d]) || shape[d] % n != 0)
        return op->emitOpError(what) << "dimension " << d << " of " << type
                                     << " does not split evenly over mesh axis \"" << axis
                                     << "\" of " << n << " ranks",
               failure();
      shape[d] /= n;
    }
    return RankedTensorType::get(shape, type.getElementType(), type.getEncoding());
  }

  int64_t bytes(Value v) {
    auto t = cast<RankedTensorType>(v.getType());
    return t.getNumElements() * std::max<int64_t>(1, t.getElementTypeBitWidth() / 8);
  }
  void note(Operation *c, double wire) {
    wireBytes += wire;
    if (!explain)
      return;
    llvm::errs() << "  " << c->getName() << " over \"" << c->getAttrOfType<StringAttr>("mesh_axis").getValue()
                 << "\" " << c->getOperand(0).getType() << " -> " << c->getResult(0).getType()
                 << llvm::format(": %.3g MB on the wire a rank\n", wire / 1e6);
  }

  /// The partial sum of `v` reduced where it is used whole.
  Value resolve(Value v) {
    Sharding s = shardings[v];
    if (s.partial.empty())
      return v;
    auto r = loom::AllReduceOp::create(b, v.getLoc(), v, b.getStringAttr(s.partial));
    int64_t n = axisSize(s.partial);
    note(r, 2.0 * double(n - 1) / double(n) * double(bytes(v))); // ring
    s.partial.clear();
    shardings[r] = s;
    return r;
  }

  /// `v` split as `want` (its partial sum reduced first): an axis that
  /// moves from one dimension to another by an all-to-all, then every
  /// dimension whose split changes gathered whole, then the new splits
  /// sliced (gathers first: a slice along one axis before a gather along
  /// it would gather different slices from each rank).
  FailureOr<Value> reshard(Operation *user, Value v, ArrayRef<std::string> want) {
    v = resolve(v);
    Sharding have = shardings[v];
    if (std::string twice = axisTwice(want); !twice.empty())
      return user->emitOpError("splits two dimensions of an operand or result over mesh axis \"")
                 << twice << "\"; an axis splits one dimension of a tensor",
             failure();
    for (size_t from = 0; from < want.size(); ++from) {
      const std::string axis = have.dims[from];
      if (axis.empty() || want[from] == axis)
        continue;
      for (size_t to = 0; to < want.size(); ++to) {
        if (to == from || want[to] != axis || !have.dims[to].empty())
          continue;
        auto type = cast<RankedTensorType>(v.getType());
        SmallVector<int64_t> shape(type.getShape());
        int64_t n = axisSize(axis);
        if (shape[to] % n != 0)
          return user->emitOpError("dimension ")
                     << to << " of " << type << " does not split evenly over mesh axis \""
                     << axis << "\" of " << n << " ranks",
                 failure();
        shape[to] /= n;
        shape[from] *= n;
        auto a = loom::AllToAllOp::create(
            b, v.getLoc(), RankedTensorType::get(shape, type.getElementType()), v,
            b.getStringAttr(axis), b.getI64IntegerAttr(int64_t(to)),
            b.getI64IntegerAttr(int64_t(from)));
        note(a, double(n - 1) / double(n) * double(bytes(v)));
        v = a;
        have.dims[from].clear();
        have.dims[to] = axis;
        shardings[v] = have;
        break;
      }
    }
    for (size_t d = 0; d < want.size(); ++d) { // gather whole
      if (have.dims[d] == want[d] || have.dims[d].empty())
        continue;
      auto type = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> shape(type.getShape());
      int64_t n = axisSize(have.dims[d]);
      shape[d] *= n;
      auto g = loom::AllGatherOp::create(
          b, v.getLoc(), RankedTensorType::get(shape, type.getElementType()), v,
          b.getStringAttr(have.dims[d]), b.getI64IntegerAttr(int64_t(d)));
      note(g, double(n - 1) / double(n) * double(bytes(g)));
      v = g;
      have.dims[d].clear();
      shardings[v] = have;
    }
    for (size_t d = 0; d < want.size(); ++d) { // this rank's slice
      if (have.dims[d] == want[d])
        continue;
      auto type = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> shape(type.getShape());
      int64_t n = axisSize(want[d]);
      if (shape[d] % n != 0)
        return user->emitOpError("dimension ")
                   << d << " of " << type << " does not split evenly over mesh axis \""
                   << want[d] << "\" of " << n << " ranks",
               failure();
      shape[d] /= n;
      auto s = loom::ShardSliceOp::create(
          b, v.getLoc(), RankedTensorType::get(shape, type.getElementType()), v,
          b.getStringAttr(want[d]), b.getI64IntegerAttr(int64_t(d)));
      note(s, 0);
      v = s;
      have.dims[d] = want[d];
      shardings[v] = have;
    }
    return v;
  }

  LogicalResult einsum(loom::EinsumOp e);
  LogicalResult elementwise(Operation *op);
  LogicalResult dequantize(loom::DequantizeOp d);

  /// How the einsum that first reads `v` wants it split (nothing when no
  /// split einsum reads it directly); failure where that einsum's spec or
  /// `loom.shard` is bad (diagnosed).
  FailureOr<std::optional<SmallVector<std::string>>> wantedByEinsum(Value v) {
    for (OpOperand &use : v.getUses()) {
      auto e = dyn_cast<loom::EinsumOp>(use.getOwner());
      if (!e || !e->hasAttr("loom.shard"))
        continue;
      FailureOr<loom::EinsumSpec> spec = loom::parseSpec(e);
      auto axes = labelAxes(e, "loom.shard");
      if (failed(spec) || failed(axes))
        return failure();
      unsigned i = use.getOperandNumber() - e.getInputs().getBeginOperandIndex();
      if (i >= spec->inputs.size())
        continue; // an epilogue operand
      SmallVector<std::string> dims;
      for (char l : spec->inputs[i]) {
        auto it = axes->find(StringRef(&l, 1));
        dims.push_back(it != axes->end() ? it->second : std::string());
      }
      return std::optional<SmallVector<std::string>>(dims);
    }
    return std::optional<SmallVector<std::string>>();
  }
  /// How an add wants `v` split when `v` is the addend (a bias) of a split
  /// einsum's result: as that result's trailing dimensions (its labels'
  /// axes, `loom.out_shard`'s where given). Nothing otherwise, or where
  /// the result is a partial sum (reduced whole before the add).
  FailureOr<std::optional<SmallVector<std::string>>> wantedByAdd(Value v) {
    for (OpOperand &use : v.getUses()) {
      auto add = dyn_cast<loom::AddOp>(use.getOwner());
      auto e = add && use.getOperandNumber() == 1 ? add.getLhs().getDefiningOp<loom::EinsumOp>()
                                                  : loom::EinsumOp();
      if (!e || !e->hasAttr("loom.shard"))
        continue;
      FailureOr<loom::EinsumSpec> spec = loom::parseSpec(e);
      auto axes = labelAxes(e, "loom.shard");
      auto outAxes = labelAxes(e, "loom.out_shard");
      if (failed(spec) || failed(axes) || failed(outAxes))
        return failure();
      SmallVector<std::string> dims;
      for (char l : spec->output) {
        StringRef label(&l, 1);
        auto it = outAxes->find(label);
        auto in = axes->find(label);
        dims.push_back(it != outAxes->end() ? it->second
                       : in != axes->end()  ? in->second
                                            : std::string());
      }
      for (char l : spec->summedLabels())
        if (axes->count(StringRef(&l, 1)) && outAxes->empty())
          return std::optional<SmallVector<std::string>>(); // a partial sum
      int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
      if (rank > static_cast<int64_t>(dims.size()))
        continue;
      return std::optional<SmallVector<std::string>>(
          SmallVector<std::string>(ArrayRef<std::string>(dims).take_back(rank)));
    }
    return std::optional<SmallVector<std::string>>();
  }
  /// A dequantize's scale (or zero point) split to match codes split as
  /// `dims`: per channel, the channel axis's; per group, the same dims
  /// (the groups split with their codes); per tensor, whole.
  SmallVector<std::string> scaleDims(loom::DequantizeOp d, Value scale,
                                     ArrayRef<std::string> dims) {
    auto q = d.getQuant();
    int64_t rank = cast<RankedTensorType>(scale.getType()).getRank();
    if (q.getGranularity() == loom::QuantGranularity::PerChannel && rank == 1)
      return {dims[q.getAxis()]};
    if (q.getGranularity() == loom::QuantGranularity::PerGroup &&
        rank == static_cast<int64_t>(dims.size()))
      return SmallVector<std::string>(dims);
    return SmallVector<std::string>(rank, "");
  }
};

LogicalResult Partitioner::dequantize(loom::DequantizeOp d) {
  // The codes split as the einsum reading the weight wants (so no rank
  // holds the whole weight), else as they are.
  b.setInsertionPoint(d);
  SmallVector<std::string> dims = shardings[d.getInput()].dims;
  auto want = wantedByEinsum(d.getResult());
  if (failed(want))
    return failure();
  if (*want)
    dims = **want;
  FailureOr<Value> in = reshard(d, d.getInput(), dims);
  if (failed(in))
    return failure();
  d->setOperand(0, *in);
  for (unsigned i = 1; i < d->getNumOperands(); ++i) {
    Value x = d->getOperand(i);
    FailureOr<Value> r = reshard(d, x, scaleDims(d, x, dims));
    if (failed(r))
      return failure();
    d->setOperand(i, *r);
  }
  auto type = cast<RankedTensorType>(d.getResult().getType());
  FailureOr<RankedTensorType> local = localType(d, type, dims);
  if (failed(local))
    return failure();
  d.getResult().setType(*local);
  shardings[d.getResult()] = Sharding{dims, ""};
  return success();
}

LogicalResult Partitioner::einsum(loom::EinsumOp e) {
  FailureOr<loom::EinsumSpec> spec = loom::parseSpec(e);
  if (failed(spec))
    return e.emitOpError("has a spec the partitioner cannot read");
  auto axes = labelAxes(e, "loom.shard");
  auto outAxes = labelAxes(e, "loom.out_shard");
  if (failed(axes) || failed(outAxes))
    return failure();
  if (e.getBias() || e.getResidual() || e.getScale() || e.getWeightQuant())
    if (!axes->empty())
      return e.emitOpError("with an epilogue operand or quantized weights cannot be split yet; "
                           "split the plain einsum before loom-fuse-epilogues");
  auto axisOf = [&](char label) {
    auto it = axes->find(StringRef(&label, 1));
    return it == axes->end() ? std::string() : it->second;
  };
  b.setInsertionPoint(e);
  for (auto [i, operand] : llvm::enumerate(e.getInputs())) {
    SmallVector<std::string> want;
    for (char l : spec->inputs[i])
      want.push_back(axisOf(l));
    FailureOr<Value> v = reshard(e, operand, want);
    if (failed(v))
      return failure();
    e->setOperand(static_cast<unsigned>(i), *v);
  }
  // The result: its labels' axes, and a partial sum over the axis of the
  // summed labels that are split (one axis at most).
  Sharding out;
  for (char l : spec->output)
    out.dims.push_back(axisOf(l));
  for (char l : spec->summedLabels()) {
    std::string a = axisOf(l);
    if (a.empty())
      continue;
    if (!out.partial.empty() && out.partial != a)
      return e.emitOpError("sums labels split over two mesh axes (\"")
             << out.partial << "\" and \"" << a << "\"); split the summed labels over one";
    if (llvm::is_contained(out.dims, a))
      return e.emitOpError("splits a summed label and a kept one over the same mesh axis \"")
             << a << "\"";
    out.partial = a;
  }
  auto type = cast<RankedTensorType>(e.getResult().getType());
  FailureOr<RankedTensorType> local = localType(e, type, out.dims);
  if (failed(local))
    return failure();
  e.getResult().setType(*local);
  shardings[e.getResult()] = out;
  e->removeAttr("loom.shard");
  // loom.out_shard: the result split along a label; a partial sum becomes a
  // reduce-scatter there (sequence parallelism).
  if (!outAxes->empty()) {
    SmallVector<std::string> want = out.dims;
    for (auto [d, l] : llvm::enumerate(spec->output)) {
      auto it = outAxes->find(StringRef(&l, 1));
      if (it != outAxes->end())
        want[d] = it->second;
    }
    b.setInsertionPointAfter(e);
    Value v = e.getResult();
    SmallVector<OpOperand *> uses;
    for (OpOperand &u : v.getUses())
      uses.push_back(&u);
    if (!out.partial.empty()) {
      // The dimension that takes the partial sum's axis.
      int64_t dim = -1;
      for (size_t d = 0; d < want.size(); ++d)
        if (want[d] == out.partial && out.dims[d].empty())
          dim = static_cast<int64_t>(d);
      if (dim >= 0) {
        auto t = cast<RankedTensorType>(v.getType());
        SmallVector<int64_t> shape(t.getShape());
        int64_t n = axisSize(out.partial);
        if (shape[dim] % n != 0)
          return e.emitOpError("dimension ")
                 << dim << " of " << t << " does not split evenly over mesh axis \""
                 << out.partial << "\" of " << n << " ranks";
        shape[dim] /= n;
        auto rs = loom::ReduceScatterOp::create(
            b, e.getLoc(), RankedTensorType::get(shape, t.getElementType()), v,
            b.getStringAttr(out.partial), b.getI64IntegerAttr(dim));
        note(rs, double(n - 1) / double(n) * double(bytes(v)));
        Sharding s = out;
        s.partial.clear();
        s.dims[dim] = want[dim];
        shardings[rs] = s;
        v = rs;
      }
    }
    FailureOr<Value> r = reshard(e, v, want);
    if (failed(r))
      return failure();
    for (OpOperand *u : uses)
      u->set(*r);
    e->removeAttr("loom.out_shard");
  }
  return success();
}

LogicalResult Partitioner::elementwise(Operation *op) {
  b.setInsertionPoint(op);
  // A nonlinear op (or a cast's rounding) needs the whole sum; loom.scale
  // is linear and keeps it partial.
  Value in = op->getOperand(0);
  if (!isa<loom::ScaleOp>(op)) {
    in = resolve(in);
    op->setOperand(0, in);
  }
  Sharding s = shardings[in];
  if (auto add = dyn_cast<loom::AddOp>(op)) {
    // rhs: lhs's trailing dimensions, split as they are.
    auto rhsType = cast<RankedTensorType>(add.getRhs().getType());
    ArrayRef<std::string> trailing = ArrayRef<std::string>(s.dims).take_back(rhsType.getRank());
    FailureOr<Value> r = reshard(op, add.getRhs(), trailing);
    if (failed(r))
      return failure();
    op->setOperand(1, *r);
  }
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  FailureOr<RankedTensorType> local = localType(op, type, s.dims);
  if (failed(local))
    return failure();
  op->getResult(0).setType(*local);
  shardings[op->getResult(0)] = s;
  return success();
}

LogicalResult Partitioner::run() {
  Block &body = func.getBody().front();
  // The arguments' shardings: given (loom.sharding), else their first
  // einsum use's.
  for (BlockArgument arg : body.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type)
      return func.emitOpError("argument #") << arg.getArgNumber() << " is not a ranked tensor";
    Sharding s;
    s.dims.assign(type.getRank(), "");
    if (auto given = func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), "loom.sharding")) {
      if (given.size() != size_t(type.getRank()))
        return func.emitOpError("argument #")
               << arg.getArgNumber() << "'s `loom.sharding` needs one axis name a dimension ("
               << type.getRank() << ")";
      for (auto [d, a] : llvm::enumerate(given)) {
        auto axis = dyn_cast<StringAttr>(a);
        if (!axis || (!axis.getValue().empty() && mesh.getAxisSize(axis.getValue()) == 0))
          return func.emitOpError("argument #")
                 << arg.getArgNumber() << " is split over " << a << ", not an axis of " << mesh;
        s.dims[d] = axis.getValue().str();
      }
    } else {
      // Codes, scales and zero points of a dequantized weight: as the
      // einsum that reads the weight wants its codes split; then as an
      // einsum that reads the argument itself wants it.
      for (OpOperand &use : arg.getUses()) {
        auto d = dyn_cast<loom::DequantizeOp>(use.getOwner());
        if (!d)
          continue;
        auto want = wantedByEinsum(d.getResult());
        if (failed(want))
          return failure();
        if (*want) {
          s.dims = use.getOperandNumber() == 0 ? **want : scaleDims(d, arg, **want);
          break;
        }
      }
      // A bias: as the split result it is added to.
      auto want = wantedByEinsum(arg);
      if (succeeded(want) && !*want)
        want = wantedByAdd(arg);
      if (failed(want))
        return failure();
      if (*want)
        for (auto [d, a] : llvm::enumerate(**want))
          if (!a.empty())
            s.dims[d] = a;
    }
    std::string what = "argument #" + std::to_string(arg.getArgNumber()) + ": ";
    FailureOr<RankedTensorType> local = localType(func, type, s.dims, what);
    if (failed(local))
      return failure();
    arg.setType(*local);
    shardings[arg] = s;
    auto names = llvm::map_to_vector(s.dims, [&](const std::string &a) -> Attribute {
      return b.getStringAttr(a);
    });
    func.setArgAttr(arg.getArgNumber(), "loom.sharding", b.getArrayAttr(names));
  }
  if (explain)
    llvm::errs() << "loom-partition-mesh: @" << func.getSymName() << " over " << mesh << " ("
                 << mesh.getNumRanks() << " ranks):\n";
  for (Operation &op : llvm::make_early_inc_range(body)) {
    if (auto e = dyn_cast<loom::EinsumOp>(op)) {
      if (failed(einsum(e)))
        return failure();
      continue;
    }
    if (auto d = dyn_cast<loom::DequantizeOp>(op)) {
      if (failed(dequantize(d)))
        return failure();
      continue;
    }
    if (isa<loom::ScaleOp, loom::AddOp, loom::ActivationOp, loom::CastOp>(op)) {
      if (failed(elementwise(&op)))
        return failure();
      continue;
    }
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      b.setInsertionPoint(ret);
      SmallVector<Type> results;
      for (OpOperand &r : ret->getOpOperands()) {
        Value v = resolve(r.get());
        r.set(v);
        results.push_back(v.getType());
        auto names = llvm::map_to_vector(shardings[v].dims, [&](const std::string &a) -> Attribute {
          return b.getStringAttr(a);
        });
        func.setResultAttr(r.getOperandNumber(), "loom.sharding", b.getArrayAttr(names));
      }
      func.setFunctionType(b.getFunctionType(body.getArgumentTypes(), results));
      continue;
    }
    // Anything else runs only on whole tensors.
    for (Value v : op.getOperands()) {
      const Sharding &s = shardings[v];
      if (!s.partial.empty() || llvm::any_of(s.dims, [](auto &a) { return !a.empty(); }))
        return op.emitOpError("cannot take a split tensor yet (loom-partition-mesh knows "
                              "einsums and elementwise ops); keep its operands whole");
    }
    for (Value r : op.getResults())
      if (auto t = dyn_cast<RankedTensorType>(r.getType()))
        shardings[r] = Sharding{SmallVector<std::string>(t.getRank(), ""), ""};
  }
  if (explain)
    llvm::errs() << llvm::format("  %.3g MB on the wire a rank in all\n", wireBytes / 1e6);
  return success();
}

struct PartitionMeshPass : einloom::impl::LoomPartitionMeshBase<PartitionMeshPass> {
  using LoomPartitionMeshBase::LoomPartitionMeshBase;
  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp func) {
      auto mesh = func->getAttrOfType<loom::MeshAttr>("loom.mesh");
      if (!mesh) {
        func.walk([&](loom::EinsumOp e) {
          if (e->hasAttr("loom.shard") || e->hasAttr("loom.out_shard")) {
            e.emitOpError("is split over mesh axes, but its function has no `loom.mesh`");
            signalPassFailure();
          }
        });
        return;
      }
      if (failed(Partitioner(func, mesh, explain).run()))
        signalPassFailure();
    });
  }
};
} // namespace
