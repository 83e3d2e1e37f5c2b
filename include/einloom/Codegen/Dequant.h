//===- Dequant.h - register dequantization of packed weights -----*- C++ -*-===//
//
// How a lane of a quantized kernel turns its words of an `a_fragment`
// packed weight (docs/dialect.md) into the f16 or bf16 register pairs of
// m16n8k16 A fragments, and a host model that computes exactly what those
// instructions compute. The kernel generator emits the instructions from a
// DequantRecipe; the model interprets the same recipe bit by bit, so the
// unit tests that compare the model with the reference dequantization check
// the kernel's layout, constants and rounding without a GPU.
//
// Per register (two values of one row, adjacent k):
//   lop3 path (2 and 4 bits): x = lop3(word >> bits·i, mask, magic, 0x6a),
//     that is (field & mask) ^ magic: the field under an exponent whose
//     value is `bias` (1024 for f16, 128 for bf16), with the sign bit of a
//     signed field flipped so that x = bias + q + offset;
//   prmt path (8 bits, f16): the word's sign bits flipped (signed), then
//     x = prmt(word, 0x64646464, selector): a byte under 0x64 per half;
//   then d = x - (bias + z + offset), exact, and y = d · s, rounded once;
//   prmt path (8 bits, bf16): 128 + 255 does not fit bf16's 8 bits, so
//     each byte goes under the f32 exponent of 2^23, d = x - (2^23 + z +
//     offset) and d · s are exact in f32, and one cvt.rn.bf16x2.f32 rounds.
// Every path therefore rounds once, as `loom.dequantize` does.
//
// This header has no MLIR dependency.
//
//===----------------------------------------------------------------------===//
#ifndef EINLOOM_CODEGEN_DEQUANT_H
#define EINLOOM_CODEGEN_DEQUANT_H

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace einloom::codegen {

/// Lop3Split: 3-bit codes, their low two bits a 2-bit field (as Lop3) and
/// their high bit from a third word, ored in by a second lop3.
enum class DequantPath { Lop3, Lop3Split, PrmtHalf, PrmtFloat };

struct DequantRecipe {
  unsigned bits = 4;
  bool isSigned = false;
  bool bf16 = false;
  DequantPath path = DequantPath::Lop3;
  /// Registers (value pairs) per 32-bit word: 16 / bits, or 2 for 8 bits.
  unsigned regsPerWord = 4;
  /// XORed into every word first (8-bit signed codes: each byte's sign bit).
  uint32_t wordXor = 0;
  /// lop3 path: the field mask in both halves.
  uint32_t mask = 0;
  /// lop3 path: the third lop3 source (exponent bits, sign bits of a signed
  /// field); prmt paths: prmt's second source.
  uint32_t magic = 0;
  /// lop3's truth table: (a & b) ^ c.
  static constexpr uint32_t lut = 0x6a;
  /// The value the magic exponent adds to a field: 1024, 128 or 2^23.
  double bias = 1024;
  /// What the sign-bit flip adds to a signed code: 2^(bits-1), else 0.
  int64_t offset = 0;

  /// 4-bit codes to f16: registers 2m and 2m + 1 of a word share one shift
  /// (by 8m). The odd one's field stays 4 bits up, under the exponent as
  /// 16·(q + offset), so x = bias + 16·(q + offset), and one fma takes
  /// x / 16 - (bias / 16 + z + offset) = q - z exactly (1/16 is a power of
  /// two; every value is a small integer). One shift a word instead of
  /// three; the odd registers need a second constant, -(bias / 16 + z +
  /// offset), per group and row half. (bf16's 7-bit mantissa has no room
  /// for the field 4 bits up.)
  bool pairedNibbles = false;
  /// lop3 paths: the right shift that exposes register `i` of a word (the
  /// low two bits of a 3-bit code are a 2-bit field).
  unsigned shift(unsigned i) const {
    return pairedNibbles ? 8 * (i / 2) : (bits == 3 ? 2 : bits) * i;
  }
  /// Whether register `i`'s field sits 4 bits up (pairedNibbles, odd i).
  bool raisedField(unsigned i) const { return pairedNibbles && i % 2 == 1; }
  /// lop3 paths: register `i`'s mask (and the magic's sign bits) after
  /// its shift.
  uint32_t maskFor(unsigned i) const { return raisedField(i) ? mask << 4 : mask; }
  uint32_t magicFor(unsigned i) const {
    return raisedField(i) ? (magic & 0xfc00fc00u) | (magic & 0x03ff03ffu) << 4 : magic;
  }
  /// Scale and zero registers per group and row half: the scale and bias +
  /// z + offset, and with pairedNibbles -(bias / 16 + z + offset).
  unsigned paramsPerHalf() const { return pairedNibbles ? 3 : 2; }
  /// Lop3Split: the high bits' mask (bit 2 of each half), and how far
  /// right register `j`'s high bits (bits j and j + 16 of the third word)
  /// move to reach it (negative: left).
  uint32_t highMask = 0;
  int highShift(unsigned j) const { return int(j) - 2; }
  /// prmt paths: the selector for register `i` of a word (PrmtHalf: both
  /// halves at once; PrmtFloat: half `h`, one f32).
  uint32_t selector(unsigned i, unsigned h = 0) const;
  /// Words of one lane per 16-row x 64-k tile.
  unsigned wordsPerTile() const { return bits; }
};

/// The recipe for `bits`-bit codes (signed or unsigned) dequantized to f16
/// or bf16; nullopt with `why` set where no kernel handles the width.
std::optional<DequantRecipe> dequantRecipe(unsigned bits, bool isSigned, bool bf16,
                                           std::string &why);

/// The index of lane `lane`'s first word of tile (kt, nb) in an N x K
/// a_fragment weight: each lane's `bits` words are consecutive (one 16-byte
/// load for 4 bits; for 3 bits two words of low bit pairs, then one of high
/// bits).
inline int64_t aFragmentWord(int64_t N, int64_t kt, int64_t nb, int64_t lane, unsigned bits) {
  return ((kt * (N / 16) + nb) * 32 + lane) * bits;
}

/// The (row, k) of half `h` of register `j` (= 4·kstep + fragment register)
/// of lane `lane` within a 16 x 64 tile.
inline std::pair<int64_t, int64_t> aFragmentElement(int64_t lane, int64_t j, int64_t h) {
  int64_t ks = j / 4, r = j % 4;
  return {lane / 4 + 8 * (r % 2), 16 * ks + 2 * (lane % 4) + 8 * (r / 2) + h};
}

/// The group scales (and zero points) of a weight: per row (`groupSize` 0)
/// or per `groupSize` consecutive k of a row, row-major [N][K / groupSize].
struct GroupParams {
  int64_t groupSize = 0;
  std::vector<uint16_t> scaleBits; ///< f16 or bf16 bit patterns
  std::vector<int64_t> zeros;      ///< empty: no zero point
};

/// The host model: the N x K weight's values as the kernel's registers hold
/// them (bit patterns of f16 or bf16, row-major), computed lane by lane and
/// tile by tile from the packed words exactly as the kernel loads, shifts,
/// masks, permutes, subtracts and multiplies them.
std::vector<uint16_t> modelDequantize(const DequantRecipe &r, const std::vector<uint32_t> &words,
                                      int64_t N, int64_t K, const GroupParams &g);

// W4A8 (QServe-style progressive weights): an unsigned 4-bit code q with
// an integer group scale s and zero point z widens to the int8 value
// (q - z)·s for the int8 MMA. A 32-bit word holds 8 codes, interleaved so
// that nibble 2j holds code j and nibble 2j + 1 code j + 4: its low
// nibbles are register 0 (codes 0-3, a byte each, k order, as an m16n8k32
// A register holds them) and its high nibbles register 1 (codes 4-7). Per
// register: x = (w >> 4·r) & 0x0F0F0F0F (one lop3, after a shift for r =
// 1), p = x·s (one 32-bit multiply: every byte's q·s <= 255, so no byte
// carries into the next), then the bytes of z·s subtracted byte by byte
// (sub4: no borrow crosses a byte), z·s replicated in each byte once per
// group: four instructions. The result's bytes are (q - z)·s mod
// 256, the int8 value wherever it lies in [-128, 127] (QServe's int8 range
// of ±119 guarantees it).

/// An int8 register's bytes minus another's, byte by byte (mod 256).
inline uint32_t sub4(uint32_t a, uint32_t b) {
  const uint32_t high = 0x80808080u;
  return ((a | high) - (b & ~high)) ^ ((a ^ ~b) & high);
}

/// The 8 unsigned 4-bit codes of one word, interleaved as above.
uint32_t packU4ForWidening(const std::array<uint8_t, 8> &codes);

/// Register `r` (0 or 1) of word `w` widened to int8 with group scale `s`
/// and zero point `z` (q·s and z·s at most 255), as the kernel computes it.
uint32_t widenU4Register(uint32_t w, unsigned r, uint32_t s, uint32_t z);

// W6A8 (FlexQ-style): signed 6-bit codes q in [-32, 31] stored as q + 32,
// 16 to three words: word 0 the low nibbles of codes 0-7 and word 1 those
// of codes 8-15, interleaved as for W4 (nibble 2j code j, 2j + 1 code
// j + 4 of the eight); word 2 the high two bits, code c's at bits
// 2·(c / 4) + 8·(c % 4) (so that (word2 >> 2·r) & 0x03030303 leaves
// register r's four in the low bits of its bytes). Register r (codes 4r to
// 4r + 3, a byte each in k order): low = (word[r / 2] >> 4·(r % 2)) &
// 0x0F0F0F0F, high = ((word2 >> 2·r) & 0x03030303) << 4, then
// sub4(low | high, 0x20202020): the int8 code; the scale goes in the
// epilogue.

/// The 16 signed 6-bit codes (each in [-32, 31]) packed as above.
std::array<uint32_t, 3> packS6ForWidening(const std::array<int8_t, 16> &codes);

/// Register `r` (0 to 3) of the three words `w` widened to int8, as the
/// kernel computes it.
uint32_t widenS6Register(const std::array<uint32_t, 3> &w, unsigned r);

} // namespace einloom::codegen

#endif
