/*===- einloom-c/Einloom.h - the C API --------------------------*- C -*-===*\
 *
 * Opaque handles with create/destroy pairs. Every call that can fail returns
 * an EinloomStatus; the message of the last failure on the calling thread is
 * einloomLastError(). NULL handles and bad arguments are reported, never
 * dereferenced. Destroying a handle twice, or one that was never created, is
 * a no-op that sets EINLOOM_INVALID_ARGUMENT's message (handles are checked
 * against a registry of live ones). Nothing is printed.
 *
\*===----------------------------------------------------------------------===*/
#ifndef EINLOOM_C_EINLOOM_H
#define EINLOOM_C_EINLOOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  EINLOOM_OK = 0,
  EINLOOM_ERROR = 1,            /* compiler, cache or driver failure */
  EINLOOM_INVALID_ARGUMENT = 2, /* NULL or unknown handle, bad index or count */
} EinloomStatus;

typedef struct EinloomSessionImpl *EinloomSession; /* compiler + kernel caches */
typedef struct EinloomBundleImpl *EinloomBundle;   /* compiled kernels + manifest */
typedef struct EinloomDeviceImpl *EinloomDevice;   /* a GPU, its context and stream */
typedef struct EinloomProgramImpl *EinloomProgram; /* a bundle loaded on a device */
typedef struct EinloomCommunicatorImpl *EinloomCommunicator; /* NCCL ranks (sharded bundles) */

/* "einloom 0.5 (MLIR 22)"; C API version 7 (earlier versions' calls unchanged). */
const char *einloomVersion(void);
int einloomApiVersion(void);
/* The last failure's message on this thread ("" when none). */
const char *einloomLastError(void);

/* target: "sm_80" ... "sm_90a" (NULL: "sm_90a"). cacheDir: NULL for the
 * default ($EINLOOM_CACHE_DIR, $XDG_CACHE_HOME/einloom, ~/.cache/einloom),
 * "" to disable the on-disk cache. */
EinloomStatus einloomSessionCreate(const char *target, const char *cacheDir,
                                   EinloomSession *out);
EinloomStatus einloomSessionDestroy(EinloomSession session);

/* spec "mk,nk->mn", sizes "m=4096,n=4096,k=4096", dtype "f16" (NULL: f16). */
EinloomStatus einloomCompileEinsum(EinloomSession session, const char *spec, const char *sizes,
                                   const char *dtype, EinloomBundle *out);
/* A module in MLIR text; entry names the function (NULL: the only one). */
EinloomStatus einloomCompileMLIR(EinloomSession session, const char *text, const char *entry,
                                 EinloomBundle *out);
/* The whole request: acc (accumulator type), out (result type) and plan
 * ("#loom.plan<...>") may be NULL for the defaults. API version 2. */
EinloomStatus einloomCompileEinsumEx(EinloomSession session, const char *spec, const char *sizes,
                                     const char *dtype, const char *acc, const char *out,
                                     const char *plan, EinloomBundle *bundle);
/* --explain's report for the request (or for MLIR text: spec NULL, mlir the
 * module): the plan, why, and the alternatives. *text stays valid until the
 * next call on this thread. API version 2. */
EinloomStatus einloomExplainEinsum(EinloomSession session, const char *spec, const char *sizes,
                                   const char *dtype, const char *acc, const char *out,
                                   const char *plan, const char **text);
EinloomStatus einloomExplainMLIR(EinloomSession session, const char *mlir, const char **text);
/* As einloomCompileEinsumEx / einloomExplainEinsum, with a block mask
 * (blockMask "BMxBN[:shared][:fill=V]", NULL or "" for none): the bundle's
 * last input, one i8 a BM x BN block of the result, 0 where the block is
 * not computed and holds V (default 0), per batch or, with "shared", one
 * for all. API version 8. */
EinloomStatus einloomCompileEinsumMasked(EinloomSession session, const char *spec,
                                         const char *sizes, const char *dtype, const char *acc,
                                         const char *out, const char *plan,
                                         const char *blockMask, EinloomBundle *bundle);
EinloomStatus einloomExplainEinsumMasked(EinloomSession session, const char *spec,
                                         const char *sizes, const char *dtype, const char *acc,
                                         const char *out, const char *plan,
                                         const char *blockMask, const char **text);
/* 1 when the last compile on this session was served from a cache. */
EinloomStatus einloomSessionLastWasCached(EinloomSession session, int *cached);

EinloomStatus einloomBundleNumBuffers(EinloomBundle bundle, size_t *count);
/* A buffer's bytes; for a buffer with a dynamic extent, per unit of the size
 * (see einloomBundleBufferBytesAt). */
EinloomStatus einloomBundleBufferBytes(EinloomBundle bundle, size_t index, uint64_t *bytes);
/* Shape polymorphism: the dynamic dimension's einsum label ("" for a bundle
 * with static shapes) and the sizes the bundle serves. */
EinloomStatus einloomBundleDynamic(EinloomBundle bundle, const char **label, int64_t *minSize,
                                   int64_t *maxSize);
/* Bytes buffer `index` needs at dynamic size `size` (-1 for static bundles). */
EinloomStatus einloomBundleBufferBytesAt(EinloomBundle bundle, size_t index, int64_t size,
                                         uint64_t *bytes);
/* "input", "output" or "temp"; valid while the bundle lives. */
EinloomStatus einloomBundleBufferRole(EinloomBundle bundle, size_t index, const char **role);
/* A buffer's name, element type ("f16", "i8", ...) and shape: *rank
 * extents at *shape, -1 for the dynamic dimension. Valid while the bundle
 * lives. API version 2. */
EinloomStatus einloomBundleBufferInfo(EinloomBundle bundle, size_t index, const char **name,
                                      const char **dtype, size_t *rank, const int64_t **shape);
/* Kernels in the launch order (of the static bundle, or of the variant for
 * the largest size), and what kernel `index` computes: its op ("einsum",
 * "reduce"), einsum spec and FLOPs (per unit of a dynamic size). Strings
 * valid while the bundle lives. API version 2. */
EinloomStatus einloomBundleNumKernels(EinloomBundle bundle, size_t *count);
EinloomStatus einloomBundleKernelInfo(EinloomBundle bundle, size_t index, const char **op,
                                      const char **spec, int64_t *flops);
/* How buffer `index` holds its data: "" for row-major elements of its dtype
 * and shape; "a_fragment BITS signed|unsigned" for the N x K codes of a
 * dequantized weight, packed by einloomPackWeight (N * K * BITS / 32 words,
 * whatever its shape says); "tiled_csl R C" for the words of a sparse N x K
 * weight and "tiled_csl_offsets" for its offsets (einloomPackTiledCsl; the
 * words take as many bytes as the data has, at least 16, however many the
 * bundle's capacity says); "bitmap R C", "bitmap_offsets" and
 * "bitmap_masks" for a bitmap weight's values, offsets and masks
 * (einloomPackBitmap; the values likewise as many as the data has, at
 * least 8); "two_four" and "two_four_meta" for a 2:4 weight's values and
 * metadata (einloomPackTwoFour). Valid while the bundle lives. API version
 * 3 (the sparse layouts: 4; 2:4: 5; bitmap: 6). */
EinloomStatus einloomBundleBufferLayout(EinloomBundle bundle, size_t index, const char **layout);
/* Packs the N x K codes of a quantized weight (row-major, one per byte: two's
 * complement when isSigned) into the a_fragment words the mixed-input
 * kernels read (docs/dialect.md): N * K * bits / 32 words at `words`. bits is
 * 2, 3, 4 or 8; N a multiple of 16, K of 64; a code outside the width is an
 * error. On the host. API version 3 (3 bits: 7). */
EinloomStatus einloomPackWeight(const uint8_t *codes, int64_t n, int64_t k, int bits,
                                int isSigned, uint32_t *words);
/* Packs a rows x cols matrix of 16-bit values (f16 or bf16 bit patterns,
 * row-major; zeros of either sign are left out) into the Tiled-CSL layout
 * of tileRows x tileCols tiles (docs/dialect.md) that a sparse kernel reads:
 * `offsets` receives tiles + 1 int32 (tiles = ceil(rows / tileRows) *
 * ceil(cols / tileCols)), `words` up to `capacity` words, and `*count` the
 * words the data takes. With `words` NULL only `*count` is set (and
 * `offsets`, when not NULL); a capacity short of the count is an error that
 * writes no words. On the host. API version 4. */
EinloomStatus einloomPackTiledCsl(const uint16_t *values, int64_t rows, int64_t cols,
                                  int64_t tileRows, int64_t tileCols, int32_t *offsets,
                                  uint32_t *words, size_t capacity, size_t *count);
/* Checks Tiled-CSL data (from a file, say) before it reaches a kernel: the
 * offset count, offsets in order, multiples of 4 and within the words, no
 * tile holding more words than its elements, every position inside its tile
 * and the matrix. EINLOOM_INVALID_ARGUMENT naming the first fault otherwise.
 * (A kernel given bad data stays within its buffers; its result is then
 * meaningless.) API version 4. */
EinloomStatus einloomCheckTiledCsl(const int32_t *offsets, size_t numOffsets,
                                   const uint32_t *words, size_t numWords, int64_t rows,
                                   int64_t cols, int64_t tileRows, int64_t tileCols);
/* Packs a rows x cols matrix of 16-bit values (f16 or bf16 bit patterns,
 * row-major, cols a multiple of 16) into the 2:4 layout (docs/dialect.md's
 * two_four): rows * cols / 2 values at `packed` and rows * cols / 16
 * metadata words at `meta`. With `prune` non-zero each group of 4 along a
 * row first keeps its 2 largest magnitudes (ties: the first); without, a
 * group of more than 2 non-zeros is an error naming it. Nothing is written
 * on an error. On the host. API version 5. */
EinloomStatus einloomPackTwoFour(const uint16_t *values, int64_t rows, int64_t cols, int prune,
                                 uint16_t *packed, uint16_t *meta);
/* Packs a rows x cols matrix of 16-bit values (f16 or bf16 bit patterns,
 * row-major; zeros of either sign are left out) into the bitmap layout of
 * tileRows x tileCols tiles (docs/dialect.md): `offsets` receives tiles + 1
 * int32, `masks` tiles * tileRows * tileCols / 32 words, `packed` up to
 * `capacity` values, and `*count` the values the data takes (each tile's
 * padded to 8). With `packed` NULL only `*count` (and the offsets and masks
 * where not NULL) is set; a capacity short of the count is an error that
 * writes no values. On the host. API version 5. */
EinloomStatus einloomPackBitmap(const uint16_t *values, int64_t rows, int64_t cols,
                                int64_t tileRows, int64_t tileCols, int32_t *offsets,
                                uint32_t *masks, uint16_t *packed, size_t capacity,
                                size_t *count);
/* Checks bitmap data (from a file, say): the offset and mask counts,
 * offsets in order, multiples of 8 and within the values, each tile's
 * values at least its marks, no mark outside the matrix.
 * EINLOOM_INVALID_ARGUMENT naming the first fault otherwise. API version 5. */
EinloomStatus einloomCheckBitmap(const int32_t *offsets, size_t numOffsets,
                                 const uint32_t *masks, size_t numMasks, size_t numValues,
                                 int64_t rows, int64_t cols, int64_t tileRows, int64_t tileCols);
/* Packs a rows x cols matrix of 16-bit values (f16 or bf16 bit patterns,
 * row-major; rows and cols multiples of 64) into the block_csr layout of
 * 64 x 64 blocks (docs/dialect.md) that the block-sparse kernel reads: a
 * block is stored when any of its elements is non-zero (zeros of either
 * sign are zeros). `rowPtr` receives rows / 64 + 1 int32, `colIdx` and
 * `blocks` (64 x 64 values each, row-major) up to `capacity` blocks, and
 * `*count` the blocks stored. With `blocks` NULL only `*count` (and the row
 * pointers where not NULL) is set; a capacity short of the count is an
 * error that writes no blocks. On the host. API version 6. */
EinloomStatus einloomPackBlockCsr(const uint16_t *values, int64_t rows, int64_t cols,
                                  int32_t *rowPtr, int32_t *colIdx, uint16_t *blocks,
                                  size_t capacity, size_t *count);
/* The kernels' PTX text (valid while the bundle lives). API version 2. */
EinloomStatus einloomBundlePtx(EinloomBundle bundle, const char **ptx);
EinloomStatus einloomBundleWrite(EinloomBundle bundle, const char *path);
EinloomStatus einloomBundleRead(const char *path, EinloomBundle *out);
EinloomStatus einloomBundleDestroy(EinloomBundle bundle);

EinloomStatus einloomDeviceOpen(int ordinal, EinloomDevice *out);
EinloomStatus einloomDeviceDestroy(EinloomDevice device);
EinloomStatus einloomDeviceAlloc(EinloomDevice device, uint64_t bytes, uint64_t *ptr);
EinloomStatus einloomDeviceFree(EinloomDevice device, uint64_t ptr);
EinloomStatus einloomDeviceCopyIn(EinloomDevice device, uint64_t dst, const void *src, uint64_t bytes);
EinloomStatus einloomDeviceCopyOut(EinloomDevice device, void *dst, uint64_t src, uint64_t bytes);
EinloomStatus einloomDeviceSynchronize(EinloomDevice device);

EinloomStatus einloomProgramLoad(EinloomDevice device, EinloomBundle bundle, EinloomProgram *out);
/* One device pointer and its size per manifest buffer, in order. */
EinloomStatus einloomProgramLaunch(EinloomProgram program, const uint64_t *buffers,
                                   const uint64_t *sizes, size_t count);
/* The same at dynamic size `size` (-1 for static bundles): the variant for
 * that size runs; nothing is recompiled. */
EinloomStatus einloomProgramLaunchSized(EinloomProgram program, const uint64_t *buffers,
                                        const uint64_t *sizes, size_t count, int64_t size);
/* The same on the caller's stream (a CUstream of the device's primary
 * context, as frameworks hold; NULL: the device's own stream). */
EinloomStatus einloomProgramLaunchOnStream(EinloomProgram program, const uint64_t *buffers,
                                           const uint64_t *sizes, size_t count, int64_t size,
                                           void *stream);
EinloomStatus einloomProgramDestroy(EinloomProgram program);

/* Sharded bundles (einloom-compile --mesh; docs/bundle.md). API version 7.
 * A bundle's mesh: *count axes (0: not sharded); axis i's name and size. */
EinloomStatus einloomBundleMeshAxes(EinloomBundle bundle, size_t *count);
EinloomStatus einloomBundleMeshAxis(EinloomBundle bundle, size_t axis, const char **name,
                                    int64_t *size);
/* Buffer `index`'s split: the mesh axis of each dimension joined by ','
 * ("-" for a whole dimension), "" when the buffer is whole on every rank.
 * The buffer's shape is one rank's slice. */
EinloomStatus einloomBundleBufferSharding(EinloomBundle bundle, size_t index,
                                          const char **sharding);
/* NCCL through dlopen("libnccl.so.2") (EINLOOM_LIBNCCL names another):
 * one rank makes a unique id (128 bytes) and sends it to the others, then
 * every rank creates its communicator from it (collectively). */
EinloomStatus einloomNcclUniqueId(unsigned char id[128]);
EinloomStatus einloomCommunicatorCreate(const unsigned char id[128], int ranks, int rank,
                                        EinloomCommunicator *out);
/* The caller's ncclComm_t (a framework's; Einloom never destroys it). */
EinloomStatus einloomCommunicatorWrap(void *ncclComm, EinloomCommunicator *out);
EinloomStatus einloomCommunicatorInfo(EinloomCommunicator comm, int *ranks, int *rank);
EinloomStatus einloomCommunicatorDestroy(EinloomCommunicator comm);
/* Gives a sharded program the world communicator of its mesh (its size the
 * mesh's ranks; one communicator per axis is split from it for meshes of
 * several axes). It must outlive the program's launches. Launching a
 * sharded program without one is an error. */
EinloomStatus einloomProgramUseCommunicator(EinloomProgram program, EinloomCommunicator world);
/* Waits for the program's launches on `stream` (NULL: the device's). A
 * sharded program waits through its communicators: a rank that failed or
 * stopped gives an error within timeoutMs (the communicators are aborted)
 * instead of a hang. */
EinloomStatus einloomProgramFinish(EinloomProgram program, void *stream, int timeoutMs);

/* The CPU reference (the oracle the GPU results are checked against), on
 * host data held as doubles: `count` operands, operand i of element type
 * dtypes[i] ("f16", "i8", ...; its values are rounded to that type) with
 * ranks[i] extents at shapes[i] and row-major data[i]. The result, of
 * element type outDtype (NULL: the einsum's default: i32 for integer
 * operands, else the operands' type), must have outRank extents at outShape
 * and is written row-major to out (sums in f64, then rounded to outDtype;
 * tf32 != 0 rounds f32 operands to tf32 first). API version 2. */
EinloomStatus einloomReferenceEinsum(const char *spec, size_t count, const char *const *dtypes,
                                     const size_t *ranks, const int64_t *const *shapes,
                                     const double *const *data, const char *outDtype,
                                     size_t outRank, const int64_t *outShape, int tf32,
                                     double *out);

#ifdef __cplusplus
}
#endif

#endif
