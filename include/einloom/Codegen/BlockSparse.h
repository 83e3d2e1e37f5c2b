//===- BlockSparse.h - persistent schedules for block-sparse weights -*- C++ -*-===//
//
// How a block-sparse (BSR, docs/dialect.md's block_csr) weight is to be
// walked by a persistent kernel: rows of blocks have uneven lengths (some
// empty, some full), so CTAs do not take whole rows. The stored blocks, in
// row-major order, are cut into `ctas` equal ranges (stream-K style); each
// CTA walks its range row by row, one work item per row piece. A row whose
// blocks fall in one CTA's range is finished by that CTA; a row cut between
// CTAs is `partial`: each piece's sum goes to a fixup buffer and the row's
// last piece adds them. An empty row still gets an item (its output is
// written, as zeros or the epilogue of zero). Empty blocks are never
// visited. A host model (executeBsr) runs a schedule on the CPU so that the
// tests can compare it with the dense product.
//
// This header has no MLIR dependency.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_CODEGEN_BLOCKSPARSE_H
#define EINLOOM_CODEGEN_BLOCKSPARSE_H

#include <cstdint>
#include <string>
#include <vector>

namespace einloom::codegen {

/// One piece of a block row: blocks [begin, end) of row `row` (indices into
/// col_idx and the blocks array).
struct BsrWork {
  int64_t row = 0, begin = 0, end = 0;
  /// The row is cut between CTAs: this piece's sum goes through the fixup.
  bool partial = false;
  /// This piece is the row's last: it adds the fixups and writes the row.
  bool writes = true;
};

/// Each CTA's items, in the order it walks them. `rowPtr` has rows + 1
/// entries, non-decreasing from 0. False with `err` for a bad row_ptr or a
/// CTA count below 1.
bool scheduleBsr(const std::vector<int64_t> &rowPtr, int64_t ctas,
                 std::vector<std::vector<BsrWork>> &schedule, std::string &err);

/// y = W x for a BSR weight W (block rows x block cols of br x bc blocks;
/// blocks row-major, br * bc each) and x (cols * bc values), by `schedule`
/// as the kernel would run it: per CTA and item, the item's blocks summed;
/// partial pieces through a fixup buffer, added by the row's writing piece
/// in CTA order. Returns y (rows * br values).
std::vector<double> executeBsr(const std::vector<int64_t> &rowPtr,
                               const std::vector<int64_t> &colIdx,
                               const std::vector<double> &blocks, int64_t br, int64_t bc,
                               const std::vector<double> &x,
                               const std::vector<std::vector<BsrWork>> &schedule);

} // namespace einloom::codegen

#endif
