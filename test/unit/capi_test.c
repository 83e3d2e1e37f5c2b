/* The C API, from C: versions, compiling, bundles, caches, and every kind
 * of bad call (NULL handles, double destroys, bad indices, no driver).
 * Exits non-zero at the first failed check, naming it. */
#include "einloom-c/Einloom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "capi_test.c:%d: check failed: %s (last error: %s)\n",   \
              __LINE__, #cond, einloomLastError());                            \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

int main(void) {
  CHECK(einloomApiVersion() == 8);
  CHECK(strstr(einloomVersion(), "einloom") != NULL);

  char dir[] = "/tmp/einloom-capi.XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  EinloomSession s = NULL;
  CHECK(einloomSessionCreate("sm_90a", dir, &s) == EINLOOM_OK);
  CHECK(s != NULL);

  EinloomBundle b = NULL;
  CHECK(einloomCompileEinsum(s, "mk,nk->mn", "m=300,n=200,k=64", "f16", &b) == EINLOOM_OK);
  int cached = -1;
  CHECK(einloomSessionLastWasCached(s, &cached) == EINLOOM_OK && cached == 0);
  size_t n = 0;
  CHECK(einloomBundleNumBuffers(b, &n) == EINLOOM_OK && n == 3);
  uint64_t bytes = 0;
  CHECK(einloomBundleBufferBytes(b, 2, &bytes) == EINLOOM_OK && bytes == 300 * 200 * 2);
  const char *role = NULL;
  CHECK(einloomBundleBufferRole(b, 0, &role) == EINLOOM_OK && strcmp(role, "input") == 0);
  CHECK(einloomBundleBufferBytes(b, 3, &bytes) == EINLOOM_INVALID_ARGUMENT);
  CHECK(strstr(einloomLastError(), "out of range") != NULL);

  /* The same request again: from the cache. */
  EinloomBundle b2 = NULL;
  CHECK(einloomCompileEinsum(s, "mk,nk->mn", "m=300,n=200,k=64", "f16", &b2) == EINLOOM_OK);
  CHECK(einloomSessionLastWasCached(s, &cached) == EINLOOM_OK && cached == 1);

  /* Bundles round-trip through files. */
  char path[64];
  snprintf(path, sizeof path, "%s/x.bundle", dir);
  CHECK(einloomBundleWrite(b, path) == EINLOOM_OK);
  EinloomBundle b3 = NULL;
  CHECK(einloomBundleRead(path, &b3) == EINLOOM_OK);
  CHECK(einloomBundleNumBuffers(b3, &n) == EINLOOM_OK && n == 3);
  FILE *f = fopen(path, "r+b");
  CHECK(f != NULL);
  if (f) {
    fseek(f, -5, SEEK_END);
    fputc('#', f);
    fclose(f);
  }
  EinloomBundle bad = NULL;
  CHECK(einloomBundleRead(path, &bad) == EINLOOM_ERROR && bad == NULL);
  CHECK(strstr(einloomLastError(), "checksum") != NULL);

  /* Compiler errors come back as values with the diagnostic. */
  EinloomBundle e = NULL;
  CHECK(einloomCompileEinsum(s, "mk,nk->mq", "m=4,n=4,k=4", "f16", &e) == EINLOOM_ERROR);
  CHECK(e == NULL);
  CHECK(strstr(einloomLastError(), "invalid einsum") != NULL);
  CHECK(einloomCompileMLIR(s, "func.func @main( {", NULL, &e) == EINLOOM_ERROR);
  CHECK(strstr(einloomLastError(), "does not parse") != NULL);
  EinloomSession s2 = NULL;
  CHECK(einloomSessionCreate("sm_75", "", &s2) == EINLOOM_ERROR && s2 == NULL);
  CHECK(strstr(einloomLastError(), "unknown target") != NULL);

  /* NULL and dead handles. */
  CHECK(einloomCompileEinsum(NULL, "mk,nk->mn", "m=4,n=4,k=4", "f16", &e) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomCompileEinsum(s, NULL, "m=4", "f16", &e) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomBundleNumBuffers(NULL, &n) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomProgramLaunch(NULL, NULL, NULL, 0) == EINLOOM_INVALID_ARGUMENT);
  /* Shape polymorphism: one bundle for every token count up to the maximum. */
  EinloomBundle dyn = NULL;
  CHECK(einloomCompileEinsum(s, "mk,nk->mn", "m=?,n=64,k=32", "f16", &dyn) == EINLOOM_OK);
  const char *label = NULL;
  int64_t lo = 0, hi = 0;
  CHECK(einloomBundleDynamic(dyn, &label, &lo, &hi) == EINLOOM_OK);
  CHECK(label && strcmp(label, "m") == 0 && lo == 1 && hi == 16384);
  CHECK(einloomBundleBufferBytesAt(dyn, 0, 300, &bytes) == EINLOOM_OK && bytes == 300 * 32 * 2);
  CHECK(einloomBundleBufferBytesAt(dyn, 1, 300, &bytes) == EINLOOM_OK && bytes == 64 * 32 * 2);
  CHECK(einloomBundleBufferBytesAt(dyn, 2, 7, &bytes) == EINLOOM_OK && bytes == 7 * 64 * 2);
  CHECK(einloomBundleBufferBytesAt(dyn, 0, 20000, &bytes) == EINLOOM_INVALID_ARGUMENT);
  CHECK(strstr(einloomLastError(), "outside the bundle's range") != NULL);
  CHECK(einloomBundleBufferBytesAt(dyn, 0, -1, &bytes) == EINLOOM_INVALID_ARGUMENT);
  CHECK(strstr(einloomLastError(), "pass its size") != NULL);
  CHECK(einloomBundleDynamic(b, &label, &lo, &hi) == EINLOOM_OK && strcmp(label, "") == 0);
  CHECK(einloomBundleBufferBytesAt(b, 2, -1, &bytes) == EINLOOM_OK && bytes == 300 * 200 * 2);
  CHECK(einloomBundleBufferBytesAt(b, 2, 5, &bytes) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomProgramLaunchSized(NULL, NULL, NULL, 0, 7) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomProgramLaunchOnStream(NULL, NULL, NULL, 0, 7, NULL) == EINLOOM_INVALID_ARGUMENT);
  CHECK(strstr(einloomLastError(), "program") != NULL);
  CHECK(einloomBundleDynamic(NULL, &label, &lo, &hi) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomBundleDestroy(dyn) == EINLOOM_OK);

  /* A block mask (API version 8): the bundle's last input, one i8 a
   * 64 x 64 block of the 100 x 200 result; a bad description is an error
   * with no bundle; the mask is part of the request's cache key. */
  EinloomBundle masked = NULL;
  CHECK(einloomCompileEinsumMasked(s, "qd,kd->qk", "q=100,k=200,d=64", "f16", NULL, NULL, NULL,
                                   "64x64:fill=-inf", &masked) == EINLOOM_OK);
  CHECK(einloomSessionLastWasCached(s, &cached) == EINLOOM_OK && cached == 0);
  CHECK(einloomBundleNumBuffers(masked, &n) == EINLOOM_OK && n == 4);
  CHECK(einloomBundleBufferBytes(masked, 2, &bytes) == EINLOOM_OK && bytes == 2 * 4);
  const char *report = NULL;
  CHECK(einloomExplainEinsumMasked(s, "qd,kd->qk", "q=100,k=200,d=64", "f16", NULL, NULL, NULL,
                                   "64x64:fill=-inf", &report) == EINLOOM_OK);
  CHECK(report && strstr(report, "block mask: one byte a 64x64 tile") != NULL);
  EinloomBundle unmasked = NULL;
  CHECK(einloomCompileEinsumMasked(s, "qd,kd->qk", "q=100,k=200,d=64", "f16", NULL, NULL, NULL,
                                   "", &unmasked) == EINLOOM_OK);
  CHECK(einloomSessionLastWasCached(s, &cached) == EINLOOM_OK && cached == 0);
  CHECK(einloomBundleNumBuffers(unmasked, &n) == EINLOOM_OK && n == 3);
  EinloomBundle badMask = NULL;
  CHECK(einloomCompileEinsumMasked(s, "qd,kd->qk", "q=100,k=200,d=64", "f16", NULL, NULL, NULL,
                                   "64x", &badMask) == EINLOOM_ERROR && badMask == NULL);
  CHECK(strstr(einloomLastError(), "bad block mask '64x'") != NULL);
  CHECK(einloomBundleDestroy(masked) == EINLOOM_OK);
  CHECK(einloomBundleDestroy(unmasked) == EINLOOM_OK);

  /* A dequantized weight (API version 3): the codes' buffer is packed. */
  const char *w4 =
      "func.func @main(%x: tensor<16x256xf16>, %q: tensor<64x256xi4>, %s: tensor<64x2xf16>, "
      "%z: tensor<64x2xi8>) -> tensor<16x64xf16> {\n"
      "  %w = loom.dequantize %q, %s, %z {quant = #loom.quant<bits = 4, kind = unsigned, scheme = "
      "asymmetric, granularity = group, axis = 1, group_size = 128, scale_type = f16>} : "
      "(tensor<64x256xi4>, tensor<64x2xf16>, tensor<64x2xi8>) -> tensor<64x256xf16>\n"
      "  %y = loom.einsum \"mk,nk->mn\" (%x, %w) : (tensor<16x256xf16>, tensor<64x256xf16>) -> "
      "tensor<16x64xf16>\n  return %y : tensor<16x64xf16>\n}\n";
  EinloomBundle qb = NULL;
  CHECK(einloomCompileMLIR(s, w4, NULL, &qb) == EINLOOM_OK);
  const char *layout = NULL;
  CHECK(einloomBundleBufferLayout(qb, 1, &layout) == EINLOOM_OK &&
        strcmp(layout, "a_fragment 4 unsigned") == 0);
  CHECK(einloomBundleBufferLayout(qb, 0, &layout) == EINLOOM_OK && strcmp(layout, "") == 0);
  CHECK(einloomBundleBufferBytes(qb, 1, &bytes) == EINLOOM_OK && bytes == 64 * 256 / 2);
  CHECK(einloomBundleBufferLayout(qb, 99, &layout) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomBundleDestroy(qb) == EINLOOM_OK);
  /* Packing: word 0 holds lane 0's first k step, fields (row, k) (0,0)
   * (8,0) (0,8) (8,8) then (0,1) (8,1) (0,9) (8,9), docs/dialect.md. */
  uint8_t codes[16 * 64];
  uint32_t words[16 * 64 / 8];
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 64; ++c)
      codes[r * 64 + c] = (uint8_t)((r + c) % 16);
  CHECK(einloomPackWeight(codes, 16, 64, 4, 0, words) == EINLOOM_OK && words[0] == 0x19910880u);
  CHECK(einloomPackWeight(codes, 16, 64, 2, 0, words) == EINLOOM_INVALID_ARGUMENT);
  CHECK(strstr(einloomLastError(), "does not fit") != NULL);
  CHECK(einloomPackWeight(codes, 8, 64, 4, 0, words) == EINLOOM_INVALID_ARGUMENT);
  CHECK(strstr(einloomLastError(), "N % 16") != NULL);
  CHECK(einloomPackWeight(codes, 16, 64, 3, 0, words) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomPackWeight(NULL, 16, 64, 4, 0, words) == EINLOOM_INVALID_ARGUMENT);

  /* A sparse weight (API version 4): its words and offsets buffers. */
  const char *sp =
      "func.func @main(%x: tensor<8x104xf16>, %w: tensor<70x104xf16, #loom.sparse<format = "
      "tiled_csl, tile_rows = 64, tile_cols = 64>>) -> tensor<8x70xf16> {\n"
      "  %y = loom.einsum \"mk,nk->mn\" (%x, %w) : (tensor<8x104xf16>, tensor<70x104xf16, "
      "#loom.sparse<format = tiled_csl, tile_rows = 64, tile_cols = 64>>) -> tensor<8x70xf16>\n"
      "  return %y : tensor<8x70xf16>\n}\n";
  EinloomBundle sb = NULL;
  CHECK(einloomCompileMLIR(s, sp, NULL, &sb) == EINLOOM_OK);
  size_t nb = 0;
  CHECK(einloomBundleNumBuffers(sb, &nb) == EINLOOM_OK && nb == 4);
  CHECK(einloomBundleBufferLayout(sb, 1, &layout) == EINLOOM_OK &&
        strcmp(layout, "tiled_csl 64 64") == 0);
  CHECK(einloomBundleBufferLayout(sb, 3, &layout) == EINLOOM_OK &&
        strcmp(layout, "tiled_csl_offsets") == 0);
  CHECK(einloomBundleBufferBytes(sb, 3, &bytes) == EINLOOM_OK && bytes == 5 * 4);
  CHECK(einloomBundleDestroy(sb) == EINLOOM_OK);
  /* A bitmap weight (API version 6): its values, masks (a bit per element
   * of 2 x 2 tiles) and offsets buffers, in the order einloomPackBitmap
   * fills them. */
  char bsp[1024];
  snprintf(bsp, sizeof bsp, "%s", sp);
  for (char *at = strstr(bsp, "tiled_csl"); at; at = strstr(bsp, "tiled_csl"))
    memcpy(at, "bitmap   ", 9); /* same length: the attribute parses with the spaces */
  CHECK(einloomCompileMLIR(s, bsp, NULL, &sb) == EINLOOM_OK);
  CHECK(einloomBundleNumBuffers(sb, &nb) == EINLOOM_OK && nb == 5);
  CHECK(einloomBundleBufferLayout(sb, 1, &layout) == EINLOOM_OK &&
        strcmp(layout, "bitmap 64 64") == 0);
  CHECK(einloomBundleBufferLayout(sb, 3, &layout) == EINLOOM_OK &&
        strcmp(layout, "bitmap_masks") == 0);
  CHECK(einloomBundleBufferBytes(sb, 3, &bytes) == EINLOOM_OK && bytes == 4 * 64 * 64 / 8);
  CHECK(einloomBundleBufferLayout(sb, 4, &layout) == EINLOOM_OK &&
        strcmp(layout, "bitmap_offsets") == 0);
  CHECK(einloomBundleBufferBytes(sb, 4, &bytes) == EINLOOM_OK && bytes == 5 * 4);
  CHECK(einloomBundleDestroy(sb) == EINLOOM_OK);
  /* A sharded program (API version 7): its mesh and each buffer's split,
   * and the communicator calls' errors where no NCCL can be loaded
   * (EINLOOM_LIBNCCL names a library that does not exist). */
  const char *meshed =
      "func.func @main(%x: tensor<8x64xf16>, %w: tensor<128x64xf16>) -> tensor<8x128xf16> "
      "attributes {loom.mesh = #loom.mesh<[\"tp\" = 4]>} {\n"
      "  %y = loom.einsum \"mk,nk->mn\" (%x, %w) {loom.shard = {n = \"tp\"}} : "
      "(tensor<8x64xf16>, tensor<128x64xf16>) -> tensor<8x128xf16>\n"
      "  return %y : tensor<8x128xf16>\n}\n";
  CHECK(einloomCompileMLIR(s, meshed, NULL, &sb) == EINLOOM_OK);
  size_t axes = 0;
  const char *axisName = NULL, *sharding = NULL;
  int64_t axisSize = 0;
  CHECK(einloomBundleMeshAxes(sb, &axes) == EINLOOM_OK && axes == 1);
  CHECK(einloomBundleMeshAxis(sb, 0, &axisName, &axisSize) == EINLOOM_OK &&
        strcmp(axisName, "tp") == 0 && axisSize == 4);
  CHECK(einloomBundleMeshAxis(sb, 1, &axisName, &axisSize) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomBundleBufferSharding(sb, 0, &sharding) == EINLOOM_OK && strcmp(sharding, "") == 0);
  CHECK(einloomBundleBufferSharding(sb, 1, &sharding) == EINLOOM_OK &&
        strcmp(sharding, "tp,-") == 0);
  /* The result stays split by columns: one rank's 8 x 32. */
  CHECK(einloomBundleBufferSharding(sb, 2, &sharding) == EINLOOM_OK &&
        strcmp(sharding, "-,tp") == 0);
  CHECK(einloomBundleBufferBytes(sb, 2, &bytes) == EINLOOM_OK && bytes == 8 * 32 * 2);
  CHECK(einloomBundleBufferSharding(sb, 9, &sharding) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomBundleMeshAxes(b, &axes) == EINLOOM_OK && axes == 0);
  CHECK(einloomBundleDestroy(sb) == EINLOOM_OK);
  setenv("EINLOOM_LIBNCCL", "/nonexistent/libnccl.so.2", 1);
  unsigned char uid[128];
  EinloomCommunicator comm = NULL;
  CHECK(einloomNcclUniqueId(uid) == EINLOOM_ERROR);
  CHECK(strstr(einloomLastError(), "cannot load NCCL") != NULL);
  CHECK(einloomCommunicatorCreate(uid, 2, 0, &comm) == EINLOOM_ERROR && comm == NULL);
  CHECK(einloomCommunicatorWrap(NULL, &comm) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomCommunicatorDestroy(comm) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomProgramUseCommunicator(NULL, comm) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomProgramFinish(NULL, NULL, 1000) == EINLOOM_INVALID_ARGUMENT);
  /* Packing 70 x 104 (2 x 2 tiles) with three non-zeros: (0,0) 1.0, (0,9)
   * -2.0 and (69,103) 0.5 (f16 bits); -0.0 is left out. */
  static uint16_t dense[70 * 104];
  dense[0] = 0x3c00;
  dense[9] = 0xc000;
  dense[5] = 0x8000;
  dense[69 * 104 + 103] = 0x3800;
  int32_t offs[5];
  uint32_t sw[16];
  size_t count = 0;
  CHECK(einloomPackTiledCsl(dense, 70, 104, 64, 64, offs, NULL, 0, &count) == EINLOOM_OK &&
        count == 8); /* two tiles of one or two words, each padded to 4 */
  CHECK(offs[0] == 0 && offs[1] == 4 && offs[2] == 4 && offs[3] == 4 && offs[4] == 8);
  CHECK(einloomPackTiledCsl(dense, 70, 104, 64, 64, offs, sw, 7, &count) ==
        EINLOOM_INVALID_ARGUMENT);
  CHECK(strstr(einloomLastError(), "takes 8 words") != NULL);
  CHECK(einloomPackTiledCsl(dense, 70, 104, 64, 64, offs, sw, 16, &count) == EINLOOM_OK);
  /* Tile (1,1) holds it at (5,39): 128-byte swizzled slot
   * 5*64 + 8*((39/8) ^ 5) + 39%8 = 320 + 8 + 7. */
  CHECK(sw[4] == (335u << 16 | 0x3800u));
  CHECK(einloomCheckTiledCsl(offs, 5, sw, 8, 70, 104, 64, 64) == EINLOOM_OK);
  offs[2] = 2; /* not a multiple of 4 */
  CHECK(einloomCheckTiledCsl(offs, 5, sw, 8, 70, 104, 64, 64) == EINLOOM_INVALID_ARGUMENT);
  CHECK(strstr(einloomLastError(), "corrupt tiled_csl data") != NULL);
  offs[2] = 4;
  sw[4] = 63u * 64 << 16 | 0x3800u; /* row 63 of the bottom tile: outside the matrix */
  CHECK(einloomCheckTiledCsl(offs, 5, sw, 8, 70, 104, 64, 64) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomCheckTiledCsl(offs, 4, sw, 8, 70, 104, 64, 64) == EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomPackTiledCsl(dense, 70, 104, 64, 0, offs, sw, 16, &count) ==
        EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomPackTiledCsl(NULL, 70, 104, 64, 64, offs, sw, 16, &count) ==
        EINLOOM_INVALID_ARGUMENT);
  /* 2:4: one row of 16 (f16 bits). Group 0 holds 1.0 at 1 and -2.0 at 3;
   * group 1 three non-zeros (pruned: 0.5 and -3.0 stay, at 0 and 2); group
   * 2 none (positions 0, 1); group 3 one, 4.0 at 2 (positions 0, 2). */
  uint16_t row24[16] = {0, 0x3c00, 0, 0xc000, 0x3800, 0x3400, 0xc200, 0,
                        0, 0, 0, 0, 0, 0, 0x4400, 0};
  uint16_t packed24[8], meta24[1] = {0xdead};
  CHECK(einloomPackTwoFour(row24, 1, 16, 0, packed24, meta24) == EINLOOM_INVALID_ARGUMENT);
  CHECK(strstr(einloomLastError(), "columns 4..7 hold more than 2 nonzeros") != NULL);
  CHECK(meta24[0] == 0xdead); /* nothing written on an error */
  CHECK(einloomPackTwoFour(row24, 1, 16, 1, packed24, meta24) == EINLOOM_OK);
  CHECK(packed24[0] == 0x3c00 && packed24[1] == 0xc000 && packed24[2] == 0x3800 &&
        packed24[3] == 0xc200 && packed24[4] == 0 && packed24[5] == 0 &&
        packed24[6] == 0 && packed24[7] == 0x4400);
  /* fields i0 | i1 << 2: (1,3) = 0xd, (0,2) = 0x8, (0,1) = 0x4, (0,2) = 0x8 */
  CHECK(meta24[0] == (0xd | 0x8 << 4 | 0x4 << 8 | 0x8 << 12));
  CHECK(einloomPackTwoFour(row24, 1, 12, 1, packed24, meta24) == EINLOOM_INVALID_ARGUMENT);
  CHECK(strstr(einloomLastError(), "K % 16 == 0") != NULL);
  CHECK(einloomPackTwoFour(NULL, 1, 16, 1, packed24, meta24) == EINLOOM_INVALID_ARGUMENT);
  /* Bitmap, the same 70 x 104 matrix in 64 x 64 tiles: tile 0 marks (0,0)
   * and (0,9) (block 0 bit 0, block 1 bit 1), tile 3 (69,103) = (5,39) of
   * the tile: block 4 (rows 0-7, columns 32-39), half 1, bit 8 + 7. */
  int32_t boffs[5];
  static uint32_t bmasks[4 * 128];
  uint16_t bvals[32];
  CHECK(einloomPackBitmap(dense, 70, 104, 64, 64, boffs, bmasks, NULL, 0, &count) ==
            EINLOOM_OK &&
        count == 16); /* two tiles of values, each padded to 8 */
  CHECK(boffs[0] == 0 && boffs[1] == 8 && boffs[3] == 8 && boffs[4] == 16);
  CHECK(bmasks[0] == 1u && bmasks[2] == 2u && bmasks[3 * 128 + 2 * 4 + 1] == 1u << 15);
  CHECK(einloomPackBitmap(dense, 70, 104, 64, 64, boffs, bmasks, bvals, 15, &count) ==
        EINLOOM_INVALID_ARGUMENT);
  CHECK(einloomPackBitmap(dense, 70, 104, 64, 64, boffs, bmasks, bvals, 32, &count) ==
        EINLOOM_OK);
  CHECK(bvals[0] == 0x3c00 && bvals[1] == 0xc000 && bvals[8] == 0x3800);
  CHECK(einloomCheckBitmap(boffs, 5, bmasks, 4 * 128, 16, 70, 104, 64, 64) == EINLOOM_OK);
  bmasks[3 * 128 + 2 * 4 + 1] |= 1u << 31; /* (7, 39) of tile 3: row 71, outside */
  CHECK(einloomCheckBitmap(boffs, 5, bmasks, 4 * 128, 16, 70, 104, 64, 64) ==
        EINLOOM_INVALID_ARGUMENT);
  CHECK(strstr(einloomLastError(), "corrupt bitmap data") != NULL);
  CHECK(einloomPackBitmap(dense, 70, 104, 64, 12, boffs, bmasks, bvals, 32, &count) ==
        EINLOOM_INVALID_ARGUMENT);

  CHECK(einloomBundleDestroy(b) == EINLOOM_OK);
  CHECK(einloomBundleDestroy(b) == EINLOOM_INVALID_ARGUMENT); /* double destroy: caught */
  CHECK(einloomBundleNumBuffers(b, &n) == EINLOOM_INVALID_ARGUMENT); /* use after destroy */
  CHECK(einloomBundleDestroy(b2) == EINLOOM_OK);
  CHECK(einloomBundleDestroy(b3) == EINLOOM_OK);
  CHECK(einloomSessionDestroy(s) == EINLOOM_OK);
  CHECK(einloomSessionDestroy(s) == EINLOOM_INVALID_ARGUMENT);

  /* No driver: a clear error, not a crash. */
  setenv("EINLOOM_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
  EinloomDevice d = NULL;
  CHECK(einloomDeviceOpen(0, &d) == EINLOOM_ERROR && d == NULL);
  CHECK(strstr(einloomLastError(), "cannot load the CUDA driver") != NULL);
  CHECK(einloomDeviceDestroy(d) == EINLOOM_INVALID_ARGUMENT);

  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "note: could not remove %s\n", dir);
  if (failures)
    fprintf(stderr, "%d check(s) failed\n", failures);
  else
    printf("C API: all checks passed\n");
  return failures ? 1 : 0;
}
