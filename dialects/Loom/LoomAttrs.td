//===- LoomAttrs.td - attributes of the loom dialect -------*- tablegen -*-===//
#ifndef LOOM_ATTRS_TD
#define LOOM_ATTRS_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "LoomEnums.td"

class Loom_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Loom_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

class Loom_DefaultEnum<EnumAttrInfo info, string value> : EnumParameter<info> {
  let defaultValue = value;
}

def Loom_QuantAttr : Loom_Attr<"Quant", "quant"> {
  let summary = "quantization parameters";
  let description = [{
    Describes how real values map to `bits`-bit codes. Scales (and zero
    points) are tensor operands of the ops that use this attribute; their
    shape follows `granularity`:
      * `tensor`: a rank-0 tensor;
      * `channel`: a 1-D tensor with the size of dimension `axis`;
      * `group`: the input shape with dimension `axis` divided by `group_size`;
      * `block`: the input shape with its last two dimensions each divided
        by `group_size`, rounded up (one scale a `group_size` x `group_size`
        block, as DeepSeek-V3's FP8 weights; `axis` unused).
    Example:
      `#loom.quant<bits = 4, kind = unsigned, scheme = asymmetric,
                   granularity = group, axis = 0, group_size = 128,
                   scale_type = f16>`
  }];
  let parameters = (ins
    "unsigned":$bits,
    EnumParameter<Loom_QuantKind>:$kind,
    Loom_DefaultEnum<Loom_QuantScheme, "::mlir::loom::QuantScheme::Symmetric">:$scheme,
    Loom_DefaultEnum<Loom_QuantGranularity, "::mlir::loom::QuantGranularity::PerTensor">:$granularity,
    DefaultValuedParameter<"int64_t", "0">:$axis,
    DefaultValuedParameter<"int64_t", "0">:$group_size,
    "::mlir::Type":$scale_type
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    bool isFloat8() const {
      return getKind() == QuantKind::E4M3 || getKind() == QuantKind::E5M2;
    }
    bool hasZeroPoint() const { return getScheme() == QuantScheme::Asymmetric; }
    /// The smallest and largest code, for integer kinds.
    int64_t getMinCode() const;
    int64_t getMaxCode() const;
  }];
}

def Loom_SparseAttr : Loom_Attr<"Sparse", "sparse"> {
  let summary = "an einsum operand that will be stored sparse";
  let description = [{
    A tensor encoding. The tensor's value is still its dense value: the
    encoding tells planning which sparse producer to use (Tiled-CSL or
    bitmap tiles of `tile_rows` x `tile_cols`, 2:4, or block-CSR blocks), or
    (`auto`) lets loom-select-plan choose among Tiled-CSL, bitmap and a dense
    weight by its estimates. `density` (percent of non-zero elements, 1 to
    100; 0, the default: not known) is what the estimates assume.
    Example: `tensor<4096x4096xf16, #loom.sparse<format = tiled_csl,
    tile_rows = 128, tile_cols = 64, density = 20>>`
  }];
  let parameters = (ins
    EnumParameter<Loom_SparseFormat>:$format,
    DefaultValuedParameter<"int64_t", "0">:$tile_rows,
    DefaultValuedParameter<"int64_t", "0">:$tile_cols,
    DefaultValuedParameter<"int64_t", "0">:$density
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Loom_PackLayoutAttr : Loom_Attr<"PackLayout", "layout"> {
  let summary = "an exact packed storage layout";
  let description = [{
    The storage encodings of `loom.pack` / `loom.unpack`. docs/dialect.md
    gives the bit-exact definition of each:
      * `fragment` (`bits` = 4 or 8): a K x N weight in mma.sync B-fragment order;
      * `tiled_csl` (`tile_rows` x `tile_cols`): Flash-LLM's tiled CSL;
      * `two_four`: 2:4 structured values plus 4-bit-per-group metadata;
      * `bit_planes` (`bits`, `kind`): one packed plane per bit;
      * `block_csr` (`tile_rows` x `tile_cols` blocks).
  }];
  let parameters = (ins
    EnumParameter<Loom_PackFormat>:$format,
    DefaultValuedParameter<"int64_t", "0">:$bits,
    DefaultValuedParameter<"int64_t", "0">:$tile_rows,
    DefaultValuedParameter<"int64_t", "0">:$tile_cols,
    Loom_DefaultEnum<Loom_QuantKind, "::mlir::loom::QuantKind::Signed">:$kind
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Loom_PlanAttr : Loom_Attr<"Plan", "plan"> {
  let summary = "how one contraction runs on the GPU";
  let description = [{
    The CTA tile, the warp arrangement, the tensor-core instruction, the
    pipeline depth, split-K, the operand producer, the CTA raster order and
    the thread-block cluster (`cluster_m` CTAs along M share each B tile
    through TMA multicast; TMA plans only) and the consumer schedule
    (`pingpong`: TMA plans with two consumer warpgroups, warps_m = 8, each
    taking whole 64-row tiles in turn) and where wgmma reads A (`a_source =
    registers`: wgmma plans with a K-major A; each warp loads its 16 rows
    of the stage with ldmatrix and wgmma takes them from registers) and
    which operand is the MMA's A (`order = ba`: the transposed product, the
    second operand's rows on the instruction's wide M side; the skinny plans
    for a few tokens against a large weight) and how many tiles of a
    sparse weight's words are in flight in registers (`prefetch`;
    producers tiled_csl, bitmap and two_four only). With producer = tma, `split_k
    = S` runs clusters of S CTAs, each summing 1/S of K, whose partial sums
    meet in the first CTA's registers through distributed shared memory.
    Example: `#loom.plan<tile_m = 128, tile_n = 128, tile_k = 32,
    warps_m = 2, warps_n = 2, mma = m16n8k16, stages = 3>`
  }];
  let parameters = (ins
    "int64_t":$tile_m, "int64_t":$tile_n, "int64_t":$tile_k,
    "int64_t":$warps_m, "int64_t":$warps_n,
    EnumParameter<Loom_MmaShape>:$mma,
    DefaultValuedParameter<"int64_t", "2">:$stages,
    DefaultValuedParameter<"int64_t", "1">:$split_k,
    Loom_DefaultEnum<Loom_ProducerKind, "::mlir::loom::ProducerKind::CpAsync">:$producer,
    Loom_DefaultEnum<Loom_RasterOrder, "::mlir::loom::RasterOrder::RowMajor">:$raster,
    DefaultValuedParameter<"int64_t", "1">:$swizzle,
    DefaultValuedParameter<"int64_t", "1">:$cluster_m,
    Loom_DefaultEnum<Loom_Schedule, "::mlir::loom::Schedule::Cooperative">:$schedule,
    Loom_DefaultEnum<Loom_OperandSource, "::mlir::loom::OperandSource::Shared">:$a_source,
    Loom_DefaultEnum<Loom_OperandOrder, "::mlir::loom::OperandOrder::AB">:$order,
    DefaultValuedParameter<"int64_t", "1">:$prefetch
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getNumWarps() const { return getWarpsM() * getWarpsN(); }
  }];
}

def Loom_MeshAttr : Loom_Attr<"Mesh", "mesh"> {
  let summary = "a device mesh: named axes of GPUs";
  let description = [{
    The GPUs a sharded program runs on, as named axes whose sizes multiply
    to the number of ranks; rank r has coordinates in row-major order (the
    last axis fastest). Set on a function as `loom.mesh`; its einsums name
    the axis each label is split over (`loom.shard`), and
    `loom-partition-mesh` turns it into one program every rank runs.
    Example: `#loom.mesh<["tp" = 4]>`, `#loom.mesh<["dp" = 2, "tp" = 4]>`
  }];
  let parameters = (ins
    ArrayRefParameter<"::mlir::StringAttr">:$names,
    ArrayRefParameter<"int64_t">:$sizes
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The size of axis `name`, or 0 when the mesh has no such axis.
    int64_t getAxisSize(::llvm::StringRef name) const;
    /// The number of ranks (the product of the sizes).
    int64_t getNumRanks() const;
    /// Rank `rank`'s index along axis `name`.
    int64_t getAxisIndex(::llvm::StringRef name, int64_t rank) const;
  }];
}

#endif // LOOM_ATTRS_TD
