//===- BlockScales.h - where block scales meet wgmma's accumulators -*- C++ -*-===//
//
// The index arithmetic of block-scale promotion (loom.einsum scale_block)
// in the TMA wgmma kernel, shared by the kernel builder and the host model
// that checks it (test/unit/BlockScalesTest.cpp). Plain C++.
//
// A thread's f32 accumulator i of wgmma m64nN (lane l: g = l / 4, tq =
// l % 4) holds row accRow(i, g) of its warp's 16 and column accCol(i, tq)
// of the tile.
//
// The scales a thread keeps for a block: not transposed, {row g, row g + 8
// (of the activations' row scales), the tile's column block (the weight's
// block scale)}, and accumulator i uses row slot rowSlot(i); transposed
// (order = ba: the kernel's rows are the weight's, its columns the
// tokens), {the tile's weight block, then the token scales of columns
// tokenColumn(j, tq) for j < N / 4}, and accumulator i uses token slot
// tokenSlot(i).
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_CODEGEN_BLOCKSCALES_H
#define EINLOOM_CODEGEN_BLOCKSCALES_H
#include <cstdint>

namespace einloom::codegen::blockscales {

inline int64_t accRow(int64_t i, int64_t g) { return g + 8 * ((i % 4) / 2); }
inline int64_t accCol(int64_t i, int64_t tq) { return 8 * (i / 4) + 2 * tq + i % 2; }
inline int64_t rowSlot(int64_t i) { return (i % 4) / 2; }
/// The column (within the tile) of token slot j, minus 2 tq.
inline int64_t tokenColumnOffset(int64_t j) { return 8 * (j / 2) + j % 2; }
inline int64_t tokenColumn(int64_t j, int64_t tq) { return 2 * tq + tokenColumnOffset(j); }
inline int64_t tokenSlot(int64_t i) { return (i / 4) * 2 + i % 2; }

} // namespace einloom::codegen::blockscales

#endif
