//===- Bundle.h - the bundle file: code plus manifest -----------*- C++ -*-===//
//
// Shared by the compiler (which writes bundles) and the runtime (which reads
// them); plain C++, no LLVM. docs/bundle.md describes the format.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_RUNTIME_BUNDLE_H
#define EINLOOM_RUNTIME_BUNDLE_H

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace einloom::rt {

struct BundleBuffer {
  std::string name;
  std::string role;  ///< "input", "output" or "temp"
  std::string dtype; ///< "f16", "i8", ...
  std::vector<int64_t> shape; ///< -1 marks the dynamic dimension
  int64_t bytes = 0;          ///< per unit of the dynamic size when dynamic()
  /// For a view (an intermediate placed in a workspace buffer; see
  /// Bundle::views): the workspace's buffer index and the byte offset in it,
  /// per unit of the dynamic size when dynamic(). -1 for a buffer.
  int in = -1;
  int64_t offset = 0;
  /// In a sharded bundle (Bundle::mesh), the mesh axis each dimension is
  /// split over ("" where it is whole); empty when the buffer is whole on
  /// every rank. The shape is one rank's slice.
  std::vector<std::string> sharding;
  bool dynamic() const {
    for (int64_t d : shape)
      if (d < 0)
        return true;
    return false;
  }
};

/// A TMA tensor map the runtime encodes (cuTensorMapEncodeTiled) over one
/// of the kernel's buffers before each launch.
struct BundleTensorMap {
  int arg = 0;               ///< position in the kernel's `args`
  int64_t elementBytes = 2;  ///< 1, 2 or 4 (copied as raw bits)
  std::vector<int64_t> dims; ///< extents, innermost first; -1: the dynamic size
  std::vector<int64_t> strides; ///< byte pitches of dims 1..rank-1
  std::vector<int64_t> box;  ///< box extents, innermost first
  int64_t swizzle = 128;     ///< 0, 32, 64 or 128 bytes
};

/// A contraction that dequantizes its second operand (see docs/bundle.md,
/// `weight`): that buffer holds the N x K codes in the a_fragment layout.
struct BundleWeight {
  int bits = 0;            ///< 2, 3, 4 or 8; 0: no dequantized weight
  bool isSigned = true;
  std::string granularity; ///< "tensor", "channel" or "group"
  int axis = 0;            ///< the quantization axis of the codes' tensor
  int64_t group = 0;       ///< the group size (granularity "group")
  int kDim = 1;            ///< which dimension of the codes' tensor is K
  int scale = -1, zero = -1; ///< buffer indices (zero: -1 when none)
  bool present() const { return bits > 0; }
};

/// An einsum's sparse weight (its second operand): the weight's buffer
/// holds the Tiled-CSL words, the bitmap values or the stored blocks
/// (docs/dialect.md; `bytes` is the capacity, every element stored) or the
/// 2:4 values, and buffer `offsets` (also among the kernel's args) the tile
/// offsets (2:4: the metadata; block_csr: the row pointers); buffer `index`
/// a bitmap's masks or block_csr's column indices. The weight buffer's
/// shape and dtype are the dense weight's, N x K.
struct BundleSparse {
  /// "tiled_csl", "bitmap", "block_csr" or "two_four" (no tile: 0 0);
  /// empty: none.
  std::string format;
  int64_t tileRows = 0, tileCols = 0;
  int offsets = -1;
  int index = -1; ///< bitmap and block_csr only
  bool present() const { return !format.empty(); }
  /// Whether the format has the second index buffer.
  bool hasIndex() const { return format == "bitmap" || format == "block_csr"; }
};

/// A collective of a sharded bundle (an entry of `kernels` whose op is
/// all_reduce, all_gather, reduce_scatter, all_to_all or shard_slice): no
/// code, but NCCL calls and device copies over one mesh axis
/// (runtime/include/einloom/runtime/CollectivePlan.h). Its `operands` are
/// the input, `result` the output, and its `args` the input, the output and
/// the scratch buffer when it needs one.
struct BundleCollective {
  std::string axis; ///< the mesh axis whose ranks take part
  int64_t dim = 0;  ///< gathered, scattered or sliced dimension (all_to_all: split)
  int64_t dim2 = 0; ///< all_to_all: the concatenated dimension
  int scratch = -1; ///< a temp entry the data is rearranged in; -1: none
};

struct BundleKernel {
  std::string name;
  std::array<int64_t, 3> grid{1, 1, 1}, block{1, 1, 1};
  int64_t sharedMemoryBytes = 0;
  std::vector<int> args; ///< buffer indices, in parameter order
  /// What the kernel computes, for checking: "einsum" and its spec.
  std::string op, spec, acc;
  std::vector<int> operands; ///< buffer indices of the einsum's operands
  int result = -1;
  int64_t flops = 0;
  /// The tensor cores round f32 operands to tf32 (10 mantissa bits) before
  /// the products: `tf32` after the flops of `computes`. A checker's
  /// tolerance depends on it.
  bool tf32 = false;
  /// When non-empty the kernel takes one more pointer after `args`: a
  /// device table of these maps, 128 bytes each, in order.
  std::vector<BundleTensorMap> tensorMaps;
  /// grid.x CTAs loop over the tiles; the runtime may lower grid.x to the
  /// device's SM count.
  bool persistent = false;
  /// CTAs of a persistent kernel that fit on one SM (1 to 8): the runtime
  /// launches at most this times the SM count.
  int64_t ctasPerSM = 1;
  /// CTAs per thread-block cluster along x, compiled into the kernel; grid.x
  /// is a multiple of it.
  int64_t cluster = 1;
  /// In a bundle with a dynamic dimension, a kernel that depends on it
  /// takes its size as one more (64-bit) parameter, last, and launches
  /// grid.x = ceil(size * a / b) * c for {a, b, c} (a persistent one: at
  /// most that). `grid` is then the largest grid; `flops` is per unit of
  /// the size. {0, 0, 0} for kernels that do not depend on it.
  std::array<int64_t, 3> sizedGrid{0, 0, 0};
  bool sized() const { return sizedGrid[0] != 0; }
  /// A fused epilogue applied before the result is rounded:
  /// act(alpha * sum + bias) + beta * residual, with `bias` and `residual`
  /// buffer indices (-1: none) that are also among `args`; `activation` is
  /// "none", "relu", "gelu" or "silu". A split-K reduce kernel carries the
  /// epilogue of its einsum.
  /// `rowScale` and `colScale` (-1: none): f32 buffers scaling the sum
  /// first, element o by rowScale[o / N] and colScale[o % N], N the
  /// result's last dimension. `rowZero` and `colSum` (-1: none; both or
  /// neither): the rank-1 term rowZero[o / N] * colSum[o % N] subtracted
  /// before the scales (an asymmetric activation's zero point times the
  /// weight codes' sums).
  double alpha = 1, beta = 1;
  std::string activation = "none";
  int bias = -1, residual = -1;
  int rowScale = -1, colScale = -1;
  int rowZero = -1, colSum = -1;
  /// Block scales (`blockscale BK BN`; {0, 0}: rowScale and colScale are
  /// per row and per column): rowScale holds rows x ceil(K / BK) scales,
  /// colScale ceil(N / BN) x ceil(K / BK), and each block of BK contracted
  /// elements is summed alone and scaled by rowScale[row][kb] *
  /// colScale[col / BN][kb].
  std::array<int64_t, 2> scaleBlock{0, 0};
  bool blockScaled() const { return scaleBlock[0] > 0; }
  /// A block mask (`mask BUFFER BM BN FILL`; -1: none): an i8 buffer, also
  /// among `args`, of one byte a BM x BN block of the result ([batch...,
  /// ceil(M / BM), ceil(N / BN)], or one mask for every batch); a block
  /// whose byte is 0 holds FILL and is not computed.
  int blockMask = -1;
  std::array<int64_t, 2> maskBlock{0, 0};
  double maskFill = 0;
  BundleWeight weight;
  BundleSparse sparse;
  BundleCollective collective;
  /// Whether this entry is a collective (no code to launch).
  bool isCollective() const {
    return op == "all_reduce" || op == "all_gather" || op == "reduce_scatter" ||
           op == "all_to_all" || op == "shard_slice";
  }
  /// Every single buffer index the kernel names besides `args` and
  /// `operands` (those that are set: >= 0), for renumbering.
  std::vector<int *> bufferRefs() {
    std::vector<int *> refs;
    for (int *x : {&result, &bias, &residual, &rowScale, &colScale, &rowZero, &colSum,
                   &blockMask, &weight.scale, &weight.zero, &sparse.offsets, &sparse.index,
                   &collective.scratch})
      if (*x >= 0)
        refs.push_back(x);
    return refs;
  }
  bool hasEpilogue() const {
    return alpha != 1 || beta != 1 || activation != "none" || bias >= 0 || residual >= 0 ||
           rowScale >= 0 || colScale >= 0 || rowZero >= 0 || colSum >= 0;
  }
};

/// The kernels to launch, in order, for dynamic sizes lo..hi.
struct BundleVariant {
  int64_t lo = 0, hi = 0;
  std::vector<int> launchOrder;
};

/// One axis of a sharded bundle's device mesh.
struct BundleMeshAxis {
  std::string name;
  int64_t size = 1;
};

struct Bundle {
  int version = 1;
  std::string target; ///< "sm_90a"
  std::string source; ///< what it was compiled from
  /// What the caller allocates: one device pointer per buffer.
  std::vector<BundleBuffer> buffers;
  /// Intermediates placed inside a workspace buffer (role "temp") at an
  /// offset; views whose lifetimes do not overlap may share bytes. Kernels
  /// name view `i` as index buffers.size() + i.
  std::vector<BundleBuffer> views;
  std::vector<BundleKernel> kernels;
  std::vector<int> launchOrder; ///< static bundles
  /// Shape polymorphism: one dynamic dimension (its einsum label, and the
  /// sizes the bundle serves), and the plan variants chosen by size.
  /// dynamicLabel is empty for static bundles.
  std::string dynamicLabel;
  int64_t dynamicMin = 0, dynamicMax = 0;
  std::vector<BundleVariant> variants;
  /// A sharded bundle: the program every rank of this mesh runs (each
  /// buffer one rank's slice), with collectives among its kernels. Empty
  /// for single-GPU bundles.
  std::vector<BundleMeshAxis> mesh;
  std::string ptx;
  std::string cubin; ///< empty when ptxas was not available
};

bool isDynamic(const Bundle &b);
/// Whether the bundle is the per-rank program of a device mesh.
inline bool isSharded(const Bundle &b) { return !b.mesh.empty(); }
/// The index of mesh axis `name`, or -1.
int meshAxisIndex(const Bundle &b, const std::string &name);
/// The number of ranks of the bundle's mesh (1 when not sharded).
int64_t meshRanks(const Bundle &b);
/// Buffer or view `i` (views follow the buffers), and how many there are.
const BundleBuffer &entryAt(const Bundle &b, int i);
inline size_t numEntries(const Bundle &b) { return b.buffers.size() + b.views.size(); }
/// The device address of entry `i` given the caller's buffer pointers, at
/// dynamic size `size` (-1 for static bundles).
uint64_t entryAddress(const Bundle &b, int i, const uint64_t *buffers, int64_t size);
/// For each launch order (the static one, or each variant's), the first and
/// last position in it at which each entry is a kernel argument; {-1, -1}
/// where the order does not use it. Indexed [order][entry].
std::vector<std::vector<std::pair<int, int>>> liveRanges(const Bundle &b);
/// Whether views `x` and `y` lie in the same workspace and overlap.
bool shareBytes(const BundleBuffer &x, const BundleBuffer &y);
/// Whether entries `i` and `j` are both in use at some launch position.
bool liveTogether(const std::vector<std::vector<std::pair<int, int>>> &ranges, int i, int j);
/// The kernels to launch for dynamic size `size` (-1 for a static bundle),
/// or null with `err` set when the size is missing, not wanted or out of
/// the bundle's range.
const std::vector<int> *launchOrderFor(const Bundle &b, int64_t size, std::string &err);
/// Bytes buffer `x` needs at dynamic size `size`.
int64_t bufferBytes(const BundleBuffer &x, int64_t size);
/// Whether buffer `i` holds a sparse weight's words, values or blocks (a kernel's `sparse`
/// line): a launch may give it fewer bytes than the bundle's capacity, at
/// least one 16-byte chunk, and its kernel reads no further.
bool holdsSparseWords(const Bundle &b, size_t i);
/// The fewest bytes a launch at dynamic size `size` may give buffer `i`.
int64_t leastBytes(const Bundle &b, size_t i, int64_t size);
/// FLOPs kernel `k` performs at dynamic size `size`.
int64_t flopsAt(const BundleKernel &k, int64_t size);
/// grid.x kernel `k` needs at dynamic size `size` (before a persistent
/// kernel is limited to what can be resident).
int64_t gridX(const BundleKernel &k, int64_t size);

/// Serializes `b` (manifest, then the images, with a checksum).
std::string writeBundle(const Bundle &b);
/// Parses bundle bytes. On failure returns false and says why in `err`
/// (bad magic, unsupported version, truncated, checksum mismatch, ...).
bool readBundle(const std::string &bytes, Bundle &b, std::string &err);
/// Why `t` is not a tensor map the copy engine accepts for a kernel with
/// `numArgs` buffer arguments; empty when it is.
std::string checkTensorMap(const BundleTensorMap &t, size_t numArgs);
/// FNV-1a 64-bit.
uint64_t checksum(const std::string &bytes);
uint64_t checksumOf(const char *data, size_t size);

} // namespace einloom::rt

#endif
