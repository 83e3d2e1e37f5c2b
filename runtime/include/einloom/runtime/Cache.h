//===- Cache.h - the on-disk kernel cache ------------------------*- C++ -*-===//
//
// Compiled bundles keyed by a hash the compiler computes (canonical IR,
// target, options, compiler version). Plain C++ and POSIX, no LLVM: host
// programs that only run kernels can read it too.
//
// * One file per entry, `<dir>/<key>.bundle`, written to a temporary file in
//   the same directory and renamed into place, so readers see a whole entry
//   or none, and concurrent writers of one key leave one whole entry.
// * An entry is verified on load (the bundle's size and checksum); a
//   corrupt or truncated one is deleted and reported as a miss.
// * The directory is created 0700. A directory or entry that is not owned by
//   the user, or that is group- or world-writable, is refused.
// * Total size is capped; storing evicts the least recently used entries
//   (a hit refreshes an entry's modification time).
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_RUNTIME_CACHE_H
#define EINLOOM_RUNTIME_CACHE_H

#include "einloom/runtime/Bundle.h"
#include "einloom/runtime/Runtime.h"

#include <cstdint>
#include <memory>
#include <string>

namespace einloom::rt {

struct CacheStats {
  std::string dir;
  size_t entries = 0;
  uint64_t bytes = 0;
  uint64_t capBytes = 0;
};

class DiskCache {
public:
  /// The default directory: $EINLOOM_CACHE_DIR, else $XDG_CACHE_HOME/einloom,
  /// else $HOME/.cache/einloom; "" when none can be formed.
  static std::string defaultDir();
  /// Opens (creating, 0700) the cache at `dir` ("" for the default), with a
  /// size cap of `capBytes`.
  static Status open(const std::string &dir, uint64_t capBytes, std::unique_ptr<DiskCache> &out);

  /// True and `bundle` filled on a verified hit. A corrupt entry is deleted;
  /// an entry with unsafe ownership or permissions is left alone. Either way
  /// the lookup misses, and `note` (if given) says why.
  bool lookup(const std::string &key, Bundle &bundle, std::string *note = nullptr);
  /// Stores `bundle` under `key` atomically, then evicts down to the cap.
  Status store(const std::string &key, const Bundle &bundle);
  Status stats(CacheStats &out) const;
  /// Removes every entry (and stray temporary files); keeps the directory.
  Status clear();
  const std::string &dir() const { return dir_; }

  /// Keys are 16 to 128 lowercase hex digits.
  static bool validKey(const std::string &key);

private:
  DiskCache() = default;
  std::string entryPath(const std::string &key) const;
  Status evict();
  std::string dir_;
  uint64_t cap_ = 0;
};

} // namespace einloom::rt

#endif
