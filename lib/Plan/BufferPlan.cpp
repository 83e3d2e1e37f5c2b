//===- BufferPlan.cpp - placing a bundle's intermediates ------------------===//
#include "einloom/Plan/BufferPlan.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <utility>
#include <vector>

using namespace einloom;

static int64_t alignUp(int64_t x, int64_t a) { return (x + a - 1) / a * a; }

WorkspacePlan einloom::planWorkspace(rt::Bundle &b, bool reuse) {
  WorkspacePlan p;
  p.dynamic = rt::isDynamic(b);
  // The intermediates; in a dynamic bundle those measured per unit of the
  // size (so that one layout, scaled by the size, serves every size).
  std::vector<int> cand;
  if (b.views.empty())
    for (size_t i = 0; i < b.buffers.size(); ++i)
      if (b.buffers[i].role == "temp" && b.buffers[i].dynamic() == p.dynamic)
        cand.push_back(static_cast<int>(i));
  auto callerBytes = [&] {
    if (!p.dynamic)
      for (const rt::BundleBuffer &x : b.buffers)
        p.callerBytes += x.bytes;
  };
  if (cand.empty()) {
    callerBytes();
    return p;
  }
  const int64_t align = p.dynamic ? 16 : 256;
  auto ranges = rt::liveRanges(b);
  std::vector<int64_t> size(b.buffers.size()), offset(b.buffers.size(), -1);
  for (int c : cand) {
    size[c] = alignUp(b.buffers[c].bytes, align);
    p.separateBytes += size[c];
  }

  // Largest first, each at the lowest offset clear of every placed
  // intermediate it is in use together with.
  std::vector<int> order = cand;
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return size[x] > size[y]; });
  std::vector<int> placed;
  for (int c : order) {
    std::vector<std::pair<int64_t, int64_t>> taken;
    for (int q : placed)
      if (!reuse || rt::liveTogether(ranges, c, q))
        taken.push_back({offset[q], offset[q] + size[q]});
    std::sort(taken.begin(), taken.end());
    int64_t at = 0;
    for (auto [lo, hi] : taken) {
      if (at + size[c] <= lo)
        break;
      at = std::max(at, hi);
    }
    offset[c] = at;
    p.workspaceBytes = std::max(p.workspaceBytes, at + size[c]);
    placed.push_back(c);
  }
  // No layout can need less than the bytes in use at one launch position.
  for (const auto &r : ranges) {
    int positions = 0;
    for (int c : cand)
      positions = std::max(positions, r[c].second + 1);
    for (int at = 0; at < positions; ++at) {
      int64_t live = 0;
      for (int c : cand)
        if (r[c].first >= 0 && r[c].first <= at && at <= r[c].second)
          live += size[c];
      p.liveBound = std::max(p.liveBound, live);
    }
  }

  // The buffers that stay, then the workspace; the intermediates become views.
  std::vector<rt::BundleBuffer> buffers, views;
  std::vector<int> remap(b.buffers.size());
  for (size_t i = 0; i < b.buffers.size(); ++i)
    if (offset[i] < 0) {
      remap[i] = static_cast<int>(buffers.size());
      buffers.push_back(b.buffers[i]);
    }
  rt::BundleBuffer ws;
  ws.name = "workspace";
  ws.role = "temp";
  ws.dtype = "i8";
  ws.bytes = p.workspaceBytes;
  ws.shape = {p.dynamic ? -1 : p.workspaceBytes};
  int wsIndex = static_cast<int>(buffers.size());
  buffers.push_back(ws);
  for (int c : cand) {
    rt::BundleBuffer v = b.buffers[c];
    v.in = wsIndex;
    v.offset = offset[c];
    remap[c] = static_cast<int>(buffers.size() + views.size());
    views.push_back(v);
  }
  for (rt::BundleKernel &k : b.kernels) {
    for (std::vector<int> *list : {&k.args, &k.operands})
      for (int &a : *list)
        a = remap[a];
    for (int *x : k.bufferRefs())
      *x = remap[*x];
  }
  b.buffers = std::move(buffers);
  b.views = std::move(views);
  p.placed = static_cast<int>(cand.size());
  callerBytes();
  return p;
}

/// "12.6 MB", "512 B".
static std::string bytesText(int64_t n) {
  char s[32];
  if (n < 1000)
    std::snprintf(s, sizeof s, "%lld B", static_cast<long long>(n));
  else if (n < 1000 * 1000)
    std::snprintf(s, sizeof s, "%.3g kB", double(n) / 1e3);
  else if (n < int64_t(1000) * 1000 * 1000)
    std::snprintf(s, sizeof s, "%.3g MB", double(n) / 1e6);
  else
    std::snprintf(s, sizeof s, "%.3g GB", double(n) / 1e9);
  return s;
}

std::string einloom::describeWorkspace(const WorkspacePlan &p) {
  std::string unit = p.dynamic ? " per unit of the dynamic size" : "";
  if (!p.placed)
    return "buffers: no intermediates; the caller allocates " + bytesText(p.callerBytes) +
           " (inputs and outputs)";
  std::string s = "buffers: " + std::to_string(p.placed) + " intermediate" +
                  (p.placed == 1 ? "" : "s") + " in one workspace of " +
                  bytesText(p.workspaceBytes) + unit + " (" + bytesText(p.separateBytes) +
                  " as separate buffers; at most " + bytesText(p.liveBound) +
                  " in use at once)";
  if (!p.dynamic)
    s += "; peak memory " + bytesText(p.callerBytes) + " with inputs and outputs";
  return s;
}
