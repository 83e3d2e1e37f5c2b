//===- Collectives.h - the collectives of a sharded program on NCCL -*- C++ -*-===//
//
// A sharded bundle's collectives (loom.all_reduce, all_gather,
// reduce_scatter, all_to_all) run on NCCL, which this layer loads with
// dlopen("libnccl.so.2") when a program first needs it (EINLOOM_LIBNCCL
// names another library): single-GPU users need no NCCL. The entry points
// are declared here with NCCL's ABI (test/Target/nccl-abi.test compiles
// them against the toolkit's nccl.h), so the runtime builds without it.
//
// A Communicator wraps an ncclComm_t: the caller's own (a framework's), or
// one made from a unique id. Every call checks the communicator's size
// against the mesh, returns NCCL's error text on failure, and waits with a
// timeout: a rank that died shows as an error on the others (the
// communicator is aborted), never as a hang without end.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_RUNTIME_COLLECTIVES_H
#define EINLOOM_RUNTIME_COLLECTIVES_H

#include "einloom/runtime/Runtime.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace einloom::rt {

/// NCCL's types and constants as its ABI has them (nccl.h).
namespace nccl {
using Result = int;
constexpr Result kSuccess = 0, kInProgress = 7;
using Comm = void *;
struct UniqueId {
  char internal[128];
};
enum DataType : int { Int8 = 0, Int32 = 2, Float16 = 6, Float32 = 7, Float64 = 8, Bfloat16 = 9 };
enum RedOp : int { Sum = 0 };
} // namespace nccl

/// The NCCL entry points Einloom calls.
struct NcclTable {
  nccl::Result (*getUniqueId)(nccl::UniqueId *) = nullptr;
  nccl::Result (*commInitRank)(nccl::Comm *, int, nccl::UniqueId, int) = nullptr;
  nccl::Result (*commDestroy)(nccl::Comm) = nullptr;
  nccl::Result (*commAbort)(nccl::Comm) = nullptr;
  nccl::Result (*commCount)(nccl::Comm, int *) = nullptr;
  nccl::Result (*commUserRank)(nccl::Comm, int *) = nullptr;
  nccl::Result (*commGetAsyncError)(nccl::Comm, nccl::Result *) = nullptr;
  const char *(*getErrorString)(nccl::Result) = nullptr;
  nccl::Result (*allReduce)(const void *, void *, size_t, int, int, nccl::Comm, void *) = nullptr;
  nccl::Result (*allGather)(const void *, void *, size_t, int, nccl::Comm, void *) = nullptr;
  nccl::Result (*reduceScatter)(const void *, void *, size_t, int, int, nccl::Comm,
                                void *) = nullptr;
  nccl::Result (*send)(const void *, size_t, int, int, nccl::Comm, void *) = nullptr;
  nccl::Result (*recv)(void *, size_t, int, int, nccl::Comm, void *) = nullptr;
  nccl::Result (*groupStart)() = nullptr;
  nccl::Result (*groupEnd)() = nullptr;
  /// ncclCommSplit (NCCL 2.18 and newer; null before): one communicator per
  /// axis of a mesh of several axes, from the world's.
  nccl::Result (*commSplit)(nccl::Comm, int, int, nccl::Comm *, void *) = nullptr;
};

/// The process's NCCL (loaded once), or an error saying why there is none.
Status loadNccl(const NcclTable *&table);

/// A new unique id from the process's NCCL (one rank makes it and sends it
/// to the others, who create their communicators from it), or NCCL's error.
Status newUniqueId(nccl::UniqueId &out);

/// NCCL's data type for an element type name of the bundle ("f16", "bf16",
/// "f32", "f64", "i32", "i8"), or -1.
int ncclTypeOf(const std::string &dtype);

/// One communicator of `size()` ranks. Not copyable.
class Communicator {
public:
  /// The caller's communicator (not destroyed here), checked against the
  /// mesh's `ranks` (0: any size).
  static Status wrap(const NcclTable &table, nccl::Comm comm, int ranks, Communicator &out);
  /// A new one from a unique id that rank 0 made (uniqueId) and every rank
  /// was given.
  static Status create(const NcclTable &table, const nccl::UniqueId &id, int ranks, int rank,
                       Communicator &out);
  Communicator() = default;
  Communicator(const Communicator &) = delete;
  Communicator &operator=(const Communicator &) = delete;
  ~Communicator();

  int size() const { return size_; }
  int rank() const { return rank_; }
  /// The collectives on `stream` (a CUstream; 0 the default), `count`
  /// elements of `dtype` (ncclTypeOf) a rank's input. Gathers and scatters
  /// are along the leading dimension (the buffer's order).
  Status allReduce(const void *in, void *out, size_t count, int dtype, void *stream);
  Status allGather(const void *in, void *out, size_t count, int dtype, void *stream);
  Status reduceScatter(const void *in, void *out, size_t outCount, int dtype, void *stream);
  /// Slice j (count / size() elements) of `in` to rank j; out[i] from rank i.
  Status allToAll(const void *in, void *out, size_t count, int dtype, size_t elementBytes,
                  void *stream);
  /// Waits until `done()` says the work is finished, or NCCL reports an
  /// asynchronous error (a peer gone), or `timeoutMs` passes: then the
  /// communicator is aborted and the error says so.
  Status wait(bool (*done)(void *), void *context, int timeoutMs) {
    Communicator *self = this;
    return waitAll(&self, 1, done, context, timeoutMs);
  }
  /// The same over several communicators (a mesh's axes): an error on any
  /// aborts them all.
  static Status waitAll(Communicator *const *comms, size_t count, bool (*done)(void *),
                        void *context, int timeoutMs);
  /// The communicator of this one's ranks that share `color`, ordered by
  /// `key` (ncclCommSplit; every rank of this one must call it).
  Status split(int color, int key, Communicator &out);

private:
  Status check(nccl::Result r, const char *what);
  /// NCCL's asynchronous error, if any (a peer gone).
  Status asyncError();
  void abort();
  const NcclTable *table_ = nullptr;
  nccl::Comm comm_ = nullptr;
  int size_ = 0, rank_ = 0;
  bool owned_ = false, aborted_ = false;
};

/// Rank `rank`'s communicator for each axis of `mesh` (in its order), split
/// from `world` (mesh ranks in row-major order, the last axis fastest):
/// axis a's group is the ranks that agree on every other axis. A one-axis
/// mesh uses `world` itself (`out` then holds no communicator of its own).
/// `perAxis` gets the pointers to pass to Program::useCommunicators.
Status meshCommunicators(Communicator &world, const std::vector<BundleMeshAxis> &mesh,
                         std::vector<std::unique_ptr<Communicator>> &owned,
                         std::vector<Communicator *> &perAxis);

} // namespace einloom::rt

#endif
