// The runtime's declarations of NCCL's ABI (einloom/runtime/Collectives.h)
// against nccl.h: the constants equal and every entry point assignable to
// the table's pointer type. Compiled by test/Target/nccl-abi.test.
#include "einloom/runtime/Collectives.h"

#include <nccl.h>

using namespace einloom::rt;

static_assert(nccl::kSuccess == ncclSuccess && nccl::kInProgress == ncclInProgress, "results");
static_assert(sizeof(nccl::UniqueId) == sizeof(ncclUniqueId), "unique id");
static_assert(nccl::Int8 == ncclInt8 && nccl::Int32 == ncclInt32 && nccl::Float16 == ncclFloat16 &&
                  nccl::Float32 == ncclFloat32 && nccl::Float64 == ncclFloat64 &&
                  nccl::Bfloat16 == ncclBfloat16,
              "data types");
static_assert(nccl::Sum == ncclSum, "reduction");
static_assert(sizeof(nccl::Comm) == sizeof(ncclComm_t), "communicator");

// Each NCCL function called through the table's type: the same parameter
// and result layout (enums and handles passed as int and void *).
template <class R, class... A> constexpr int arity(R (*)(A...)) { return sizeof...(A); }
static_assert(arity(&ncclAllReduce) == 7 && arity(NcclTable{}.allReduce) == 7, "allReduce");
static_assert(arity(&ncclAllGather) == 6 && arity(NcclTable{}.allGather) == 6, "allGather");
static_assert(arity(&ncclReduceScatter) == 7 && arity(NcclTable{}.reduceScatter) == 7, "reduceScatter");
static_assert(arity(&ncclSend) == 6 && arity(NcclTable{}.send) == 6, "send");
static_assert(arity(&ncclRecv) == 6 && arity(NcclTable{}.recv) == 6, "recv");
static_assert(arity(&ncclCommInitRank) == 4 && arity(NcclTable{}.commInitRank) == 4, "init");
static_assert(arity(&ncclCommGetAsyncError) == 2 && arity(NcclTable{}.commGetAsyncError) == 2, "async");
static_assert(arity(&ncclCommSplit) == 5 && arity(NcclTable{}.commSplit) == 5, "split");
static_assert(sizeof(ncclResult_t) == sizeof(int) && sizeof(ncclDataType_t) == sizeof(int) &&
                  sizeof(ncclRedOp_t) == sizeof(int),
              "enums are ints");

int main() { return 0; }
