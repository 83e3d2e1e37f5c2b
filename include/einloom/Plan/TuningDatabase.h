//===- TuningDatabase.h - measured plans, consulted before the model -*- C++ -*-===//
//
// A plain text file of plans that einloom-tune measured fastest on a GPU,
// one line per contraction:
//
//   einloom-tuning 1
//   sm_90a | NVIDIA H200 | mk,nk->mn | f16 f16 -> f16 acc f32 | 1x16x28672x8192 | 112.3 us | 2026-12-05 | #loom.plan<...>
//
// The fields: the target, the GPU the plan was timed on, the einsum, the
// element types (A, B, result, accumulator), batch x M x N x K, the
// measured time, the date and the plan. Lines starting with `#` and blank
// lines are comments. An entry serves its exact sizes first; failing that,
// any entry of the same target, einsum and types whose sizes fall in the
// same buckets (each size rounded up to a power of two, sizes up to 64
// exactly), the nearest first. The planner verifies an entry's plan before
// using it: one that no longer verifies is ignored with a warning, and so
// is a whole file that does not parse.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_PLAN_TUNINGDATABASE_H
#define EINLOOM_PLAN_TUNINGDATABASE_H

#include "einloom/Plan/Contraction.h"
#include "einloom/Target.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <array>
#include <string>
#include <vector>

namespace einloom {

/// What a tuning entry is for.
struct TuningKey {
  std::string target; ///< "sm_90a"
  std::string spec;   ///< "mk,nk->mn"
  std::string types;  ///< "f16 f16 -> f16 acc f32"
  std::array<int64_t, 4> sizes{1, 1, 1, 1}; ///< batch, M, N, K
  bool sameClass(const TuningKey &o) const {
    return target == o.target && spec == o.spec && types == o.types;
  }
};

/// The key of a contraction on a target.
TuningKey tuningKeyFor(const Contraction &c, const TargetInfo &t);

/// A size's bucket: itself up to 64, else the next power of two.
int64_t tuningBucket(int64_t size);

struct TuningEntry {
  TuningKey key;
  std::string gpu;    ///< "NVIDIA H200"
  double micros = 0;  ///< measured median time
  std::string date;   ///< "2026-12-05"
  std::string plan;   ///< "#loom.plan<...>"
  int line = 0;       ///< where it was read (0: not from a file)
  /// The line as written in the file (without the newline).
  std::string str() const;
};

class TuningDatabase {
public:
  /// Reads `path`. A file that does not parse is an error naming the line
  /// and what is wrong with it (the caller warns and uses none of it).
  static llvm::Expected<TuningDatabase> load(llvm::StringRef path);
  /// Parses the text of a database (`path` only names it in errors).
  static llvm::Expected<TuningDatabase> parse(llvm::StringRef text, llvm::StringRef path);

  /// The entry for `key`: one with the exact sizes, else the nearest in
  /// the same buckets; entries timed on `gpu` are preferred when it is not
  /// empty. Null when there is none.
  const TuningEntry *lookup(const TuningKey &key, llvm::StringRef gpu = "") const;
  /// Adds `e`, replacing an entry with the same key and GPU.
  void upsert(TuningEntry e);
  const std::vector<TuningEntry> &entries() const { return entries_; }
  const std::string &path() const { return path_; }

  /// The file's text: the header, a comment, then one line per entry.
  std::string serialize() const;
  /// Writes the file atomically (a temporary beside it, then a rename).
  llvm::Error save(llvm::StringRef path) const;

private:
  std::vector<TuningEntry> entries_;
  std::string path_;
};

} // namespace einloom

#endif
