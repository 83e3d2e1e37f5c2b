// The runtime's copy of the driver's CUDA_MEMCPY2D (einloom/runtime/
// Runtime.h) against cuda.h: the same size, and every field at the same
// offset with the same size. Compiled by test/Target/driver-abi.test.
#include "einloom/runtime/Runtime.h"

#include <cuda.h>

#include <cstddef>

using einloom::rt::DriverMemcpy2D;

static_assert(sizeof(DriverMemcpy2D) == sizeof(CUDA_MEMCPY2D), "size");
static_assert(CU_MEMORYTYPE_DEVICE == 2, "device memory type");
#define SAME(f)                                                                                    \
  static_assert(offsetof(DriverMemcpy2D, f) == offsetof(CUDA_MEMCPY2D, f) &&                       \
                    sizeof(DriverMemcpy2D::f) == sizeof(CUDA_MEMCPY2D::f),                         \
                #f)
SAME(srcXInBytes);
SAME(srcY);
SAME(srcMemoryType);
SAME(srcHost);
SAME(srcDevice);
SAME(srcArray);
SAME(srcPitch);
SAME(dstXInBytes);
SAME(dstY);
SAME(dstMemoryType);
SAME(dstHost);
SAME(dstDevice);
SAME(dstArray);
SAME(dstPitch);
SAME(WidthInBytes);
SAME(Height);

int main() { return 0; }
