//===- Collectives.cpp - NCCL through dlopen ------------------------------===//
#include "einloom/runtime/Collectives.h"

#include <chrono>
#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <thread>

using namespace einloom::rt;

Status einloom::rt::loadNccl(const NcclTable *&out) {
  static NcclTable table;
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    const char *env = std::getenv("EINLOOM_LIBNCCL");
    const char *lib = env ? env : "libnccl.so.2";
    void *handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *e = dlerror();
      error = std::string("cannot load NCCL (") + lib + "): " + (e ? e : "unknown error") +
              "; a sharded program needs NCCL 2 (pip install nvidia-nccl-cu12, or the "
              "distribution's libnccl2), or EINLOOM_LIBNCCL naming it";
      return;
    }
    auto sym = [&](auto &fn, const char *name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(handle, name));
      if (!fn && error.empty())
        error = std::string("NCCL (") + lib + ") lacks " + name;
    };
    sym(table.getUniqueId, "ncclGetUniqueId");
    sym(table.commInitRank, "ncclCommInitRank");
    sym(table.commDestroy, "ncclCommDestroy");
    sym(table.commAbort, "ncclCommAbort");
    sym(table.commCount, "ncclCommCount");
    sym(table.commUserRank, "ncclCommUserRank");
    sym(table.commGetAsyncError, "ncclCommGetAsyncError");
    sym(table.getErrorString, "ncclGetErrorString");
    sym(table.allReduce, "ncclAllReduce");
    sym(table.allGather, "ncclAllGather");
    sym(table.reduceScatter, "ncclReduceScatter");
    sym(table.send, "ncclSend");
    sym(table.recv, "ncclRecv");
    sym(table.groupStart, "ncclGroupStart");
    sym(table.groupEnd, "ncclGroupEnd");
    // Optional (NCCL 2.18+): only meshes of several axes need it.
    table.commSplit =
        reinterpret_cast<decltype(table.commSplit)>(dlsym(handle, "ncclCommSplit"));
  });
  if (!error.empty())
    return Status::error(error);
  out = &table;
  return Status::ok();
}

Status einloom::rt::newUniqueId(nccl::UniqueId &out) {
  const NcclTable *t = nullptr;
  if (Status s = loadNccl(t); !s)
    return s;
  if (nccl::Result r = t->getUniqueId(&out); r != nccl::kSuccess)
    return Status::error(std::string("ncclGetUniqueId failed: ") +
                         (t->getErrorString ? t->getErrorString(r) : "NCCL error"));
  return Status::ok();
}

Status Communicator::check(nccl::Result r, const char *what) {
  if (r == nccl::kSuccess || r == nccl::kInProgress)
    return Status::ok();
  const char *text = table_->getErrorString ? table_->getErrorString(r) : nullptr;
  return Status::error(std::string(what) + " failed on rank " + std::to_string(rank_) + " of " +
                       std::to_string(size_) + ": " + (text ? text : "NCCL error") + " (" +
                       std::to_string(r) + ")");
}

Status Communicator::wrap(const NcclTable &table, nccl::Comm comm, int ranks, Communicator &out) {
  out.table_ = &table;
  out.comm_ = comm;
  out.owned_ = false;
  if (!comm)
    return Status::error("no NCCL communicator was given");
  if (Status s = out.check(table.commCount(comm, &out.size_), "ncclCommCount"); !s)
    return s;
  if (Status s = out.check(table.commUserRank(comm, &out.rank_), "ncclCommUserRank"); !s)
    return s;
  if (ranks > 0 && out.size_ != ranks)
    return Status::error("the program's mesh has " + std::to_string(ranks) +
                         " ranks but the communicator has " + std::to_string(out.size_));
  return Status::ok();
}

Status Communicator::create(const NcclTable &table, const nccl::UniqueId &id, int ranks, int rank,
                            Communicator &out) {
  out.table_ = &table;
  out.size_ = ranks;
  out.rank_ = rank;
  if (rank < 0 || rank >= ranks)
    return Status::error("rank " + std::to_string(rank) + " is not in a mesh of " +
                         std::to_string(ranks));
  if (Status s = out.check(table.commInitRank(&out.comm_, ranks, id, rank), "ncclCommInitRank"); !s)
    return s;
  out.owned_ = true;
  return Status::ok();
}

Communicator::~Communicator() {
  if (owned_ && comm_ && !aborted_)
    table_->commDestroy(comm_);
}

Status Communicator::allReduce(const void *in, void *out, size_t count, int dtype, void *stream) {
  return check(table_->allReduce(in, out, count, dtype, nccl::Sum, comm_, stream), "ncclAllReduce");
}
Status Communicator::allGather(const void *in, void *out, size_t count, int dtype, void *stream) {
  return check(table_->allGather(in, out, count, dtype, comm_, stream), "ncclAllGather");
}
Status Communicator::reduceScatter(const void *in, void *out, size_t outCount, int dtype,
                                   void *stream) {
  return check(table_->reduceScatter(in, out, outCount, dtype, nccl::Sum, comm_, stream),
               "ncclReduceScatter");
}
Status Communicator::allToAll(const void *in, void *out, size_t count, int dtype,
                              size_t elementBytes, void *stream) {
  if (count % size_t(size_) != 0)
    return Status::error("an all-to-all of " + std::to_string(count) +
                         " elements does not split over " + std::to_string(size_) + " ranks");
  size_t part = count / size_t(size_);
  if (Status s = check(table_->groupStart(), "ncclGroupStart"); !s)
    return s;
  Status first = Status::ok();
  for (int peer = 0; peer < size_ && first; ++peer) {
    first = check(table_->send(static_cast<const char *>(in) + peer * part * elementBytes, part,
                               dtype, peer, comm_, stream),
                  "ncclSend");
    if (first)
      first = check(table_->recv(static_cast<char *>(out) + peer * part * elementBytes, part,
                                 dtype, peer, comm_, stream),
                    "ncclRecv");
  }
  Status end = check(table_->groupEnd(), "ncclGroupEnd"); // (always closes the group)
  return first ? end : first;
}

Status Communicator::asyncError() {
  nccl::Result async = nccl::kSuccess;
  if (Status s = check(table_->commGetAsyncError(comm_, &async), "ncclCommGetAsyncError"); !s)
    return s;
  if (async != nccl::kSuccess && async != nccl::kInProgress)
    return check(async, "a collective");
  return Status::ok();
}

void Communicator::abort() {
  if (comm_ && !aborted_)
    table_->commAbort(comm_);
  aborted_ = true;
}

Status Communicator::waitAll(Communicator *const *comms, size_t count, bool (*done)(void *),
                             void *context, int timeoutMs) {
  auto start = std::chrono::steady_clock::now();
  auto abortAll = [&] {
    for (size_t i = 0; i < count; ++i)
      comms[i]->abort();
  };
  for (;;) {
    if (done(context))
      return Status::ok();
    for (size_t i = 0; i < count; ++i)
      if (Status s = comms[i]->asyncError(); !s) {
        abortAll();
        return s;
      }
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
    if (waited >= timeoutMs) {
      abortAll();
      const Communicator &c = *comms[0];
      return Status::error("a collective did not finish within " + std::to_string(timeoutMs) +
                           " ms on rank " + std::to_string(c.rank_) + " of " +
                           std::to_string(c.size_) +
                           " (a peer stopped?); the communicator was aborted");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

Status Communicator::split(int color, int key, Communicator &out) {
  if (!table_->commSplit)
    return Status::error("this NCCL has no ncclCommSplit (NCCL 2.18 or newer is needed for a "
                         "mesh of several axes)");
  out.table_ = table_;
  if (Status s = check(table_->commSplit(comm_, color, key, &out.comm_, nullptr), "ncclCommSplit");
      !s)
    return s;
  out.owned_ = true;
  if (Status s = out.check(table_->commCount(out.comm_, &out.size_), "ncclCommCount"); !s)
    return s;
  return out.check(table_->commUserRank(out.comm_, &out.rank_), "ncclCommUserRank");
}

Status einloom::rt::meshCommunicators(Communicator &world, const std::vector<BundleMeshAxis> &mesh,
                                      std::vector<std::unique_ptr<Communicator>> &owned,
                                      std::vector<Communicator *> &perAxis) {
  owned.clear();
  perAxis.clear();
  int64_t ranks = 1;
  for (const BundleMeshAxis &a : mesh)
    ranks *= a.size;
  if (ranks != world.size())
    return Status::error("the program's mesh has " + std::to_string(ranks) +
                         " ranks but the communicator has " + std::to_string(world.size()));
  if (mesh.size() == 1) {
    perAxis.push_back(&world);
    return Status::ok();
  }
  // Coordinates of this rank, the last axis fastest.
  std::vector<int64_t> at(mesh.size());
  for (int64_t r = world.rank(), i = static_cast<int64_t>(mesh.size()) - 1; i >= 0; --i) {
    at[i] = r % mesh[i].size;
    r /= mesh[i].size;
  }
  for (size_t a = 0; a < mesh.size(); ++a) {
    // The color: this rank's coordinates on the other axes, as one number.
    int64_t color = 0;
    for (size_t i = 0; i < mesh.size(); ++i)
      if (i != a)
        color = color * mesh[i].size + at[i];
    auto c = std::make_unique<Communicator>();
    if (Status s = world.split(static_cast<int>(color), static_cast<int>(at[a]), *c); !s)
      return s;
    if (c->size() != mesh[a].size)
      return Status::error("the communicator split for mesh axis '" + mesh[a].name + "' has " +
                           std::to_string(c->size()) + " ranks, not " +
                           std::to_string(mesh[a].size));
    perAxis.push_back(c.get());
    owned.push_back(std::move(c));
  }
  return Status::ok();
}
