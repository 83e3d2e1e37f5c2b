//===- Tune.h - measured plan choice (einloom-tune) -------------*- C++ -*-===//
//
// For each contraction, compiles the planner's best few candidate plans,
// times each on the GPU (back-to-back launches between CUDA events, the
// median of several rounds), checks that every candidate computes what the
// first one does, and writes the fastest to a tuning database that the
// planner consults before its cost model (Plan/TuningDatabase.h).
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_TUNE_H
#define EINLOOM_TUNE_H

#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace einloom {

/// One contraction to tune: as einloom-compile --einsum takes it.
struct TuneShape {
  std::string spec, sizes, dtype = "f16", out;
  /// A weight-only quantized second operand (einloom-compile's
  /// --weight-quant description, e.g. "int4:g128:asym"); empty: dense.
  std::string quant;
  /// A sparse second operand (einloom-compile's --sparse description, e.g.
  /// "tiled_csl" or "tiled_csl:128"); empty: dense.
  std::string sparse;
  std::string str() const;
};

struct TuneOptions {
  std::vector<TuneShape> shapes;
  std::string target = "sm_90a";
  /// Candidates per contraction: the planner's choice, then the others it
  /// accepts, fastest estimate first.
  int top = 8;
  /// The database to update ("": report only).
  std::string database;
  /// List the candidates without a GPU.
  bool dryRun = false;
  /// With dryRun: also compile every candidate (no GPU), so that a plan the
  /// tuner would time is known to build, lower and pass ptxas.
  bool compileOnly = false;
  int rounds = 15; ///< timed rounds per candidate (the median is kept)
  int reps = 10;   ///< back-to-back launches per round
  int device = 0;
  uint64_t seed = 1;
  /// Candidates compiled at once, each in its own context (0: one per
  /// hardware thread). Timing stays one candidate at a time.
  int jobs = 0;
  /// The fraction of non-zeros in a sparse weight's random data (a timing
  /// depends on it).
  double density = 0.25;
};

/// Reads shapes, one per line: "SPEC SIZES DTYPE [OUT] [quant=DESC |
/// sparse=DESC]" ('#' starts a comment). False with `error` naming the line on a malformed one.
bool parseTuneShapes(const std::string &text, std::vector<TuneShape> &shapes,
                     std::string &error);

/// Runs the tuner, printing progress to `os` (candidate i of n, its time,
/// the best so far). Returns the process exit status: 0 when every shape
/// was tuned (or, with dryRun, listed), 1 otherwise.
int runTune(const TuneOptions &options, llvm::raw_ostream &os);

} // namespace einloom

#endif
