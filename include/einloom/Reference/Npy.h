//===- Npy.h - NumPy .npy files ---------------------------------*- C++ -*-===//
#ifndef EINLOOM_REFERENCE_NPY_H
#define EINLOOM_REFERENCE_NPY_H

#include "einloom/Reference/Tensor.h"

#include <string>

namespace einloom::ref {

/// Reads a version 1/2/3 .npy file (C order; little-endian or byte-sized
/// float16/32/64, int8/16/32/64, uint8/16/32, bool). Values are rounded to
/// `want`'s type when it is a float type; integer files must hold values
/// that fit `want` exactly. Fails with a message naming the file.
bool readNpy(const std::string &path, DType want, Tensor &out, std::string &err);

/// Writes `t` as .npy. f64/f32/f16 keep their type; bf16 and fp8 (which
/// NumPy lacks) are written as float32; integers as int8/16/32/64.
bool writeNpy(const std::string &path, const Tensor &t, std::string &err);

} // namespace einloom::ref

#endif
