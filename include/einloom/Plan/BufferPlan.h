//===- BufferPlan.h - placing a bundle's intermediates ---------*- C++ -*-===//
//
// A chain of kernels (the path of an n-ary einsum, split-K partial sums)
// passes intermediates from one kernel to the next. Instead of one buffer
// each, they become views inside one workspace buffer; two intermediates
// that are never in use at the same launch position may share bytes. The
// caller then allocates one workspace instead of every temporary.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_PLAN_BUFFERPLAN_H
#define EINLOOM_PLAN_BUFFERPLAN_H

#include "einloom/runtime/Bundle.h"

#include <cstdint>
#include <string>

namespace einloom {

/// What planWorkspace did. Bytes are per unit of the dynamic size when
/// `dynamic` (static temporaries of a dynamic bundle stay buffers).
struct WorkspacePlan {
  int placed = 0;           ///< intermediates that became views
  bool dynamic = false;
  int64_t separateBytes = 0; ///< one buffer each (what the bundle needed before)
  int64_t workspaceBytes = 0; ///< the workspace now
  int64_t liveBound = 0;     ///< the most bytes in use at one launch position (a lower bound)
  /// Bytes the caller allocates in all: buffers, including the workspace
  /// (static bundles only).
  int64_t callerBytes = 0;
};

/// Moves `b`'s temporaries into one workspace buffer named "workspace" (see
/// Bundle::views), sharing bytes between intermediates whose lifetimes do
/// not overlap when `reuse`, each in a region of its own otherwise. Offsets
/// are 256-byte aligned (16 bytes per unit of a dynamic size). A bundle with
/// no temporaries is left alone.
WorkspacePlan planWorkspace(rt::Bundle &b, bool reuse = true);

/// One line for --explain.
std::string describeWorkspace(const WorkspacePlan &p);

} // namespace einloom

#endif
