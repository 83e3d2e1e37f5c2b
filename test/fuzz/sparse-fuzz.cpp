//===- sparse-fuzz.cpp - corrupt sparse data, under AddressSanitizer -----===//
//
// Random sparse weights in each packed format (tiled_csl, two_four,
// block_csr) are packed, unpacked (which must give them back), then
// corrupted at random: values set to wild numbers (negative, huge, NaN,
// off by one), tensors truncated or extended, two entries swapped. Each
// corrupt set must be either rejected with a message that says the data is
// corrupt, or unpacked to a matrix of the right shape; for tiled_csl and
// two_four, the host model of the GPU producer must also stay inside its
// buffers and stage whatever the check says. Built with -fsanitize=address,undefined (test/CMakeLists),
// so an out-of-bounds access or a bad conversion stops the run.
//
// usage: einloom-sparse-fuzz [TRIALS] [SEED]; exit 0 when every trial held.
//
//===----------------------------------------------------------------------===//
#include "../unit/SparseModel.h"
#include "../unit/TwoFourModel.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

using namespace einloom::ref;
using einloom::test::modelStage;
using einloom::test::Packed;

namespace {
int failures = 0;
#define EXPECT(cond, ...)                                                                          \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "sparse-fuzz: " __VA_ARGS__);                                           \
      std::fprintf(stderr, "\n");                                                                  \
      ++failures;                                                                                  \
    }                                                                                              \
  } while (0)

struct Format {
  const char *name;
  PackParams params;
  int64_t rows, cols; // a multiple of what the format needs
};

/// Random sparse f16 data; two_four keeps at most 2 of every 4 along K.
Tensor randomDense(std::mt19937 &rng, const Format &f, double density) {
  Tensor t(DType::F16, {f.rows, f.cols});
  std::uniform_real_distribution<double> u(0, 1);
  for (int64_t r = 0; r < f.rows; ++r)
    for (int64_t c = 0; c < f.cols; ++c) {
      bool keep = u(rng) < density;
      if (f.params.format == PackFormat::TwoFour && c % 4 >= 2)
        keep = false; // positions 0 and 1 of each group at most
      if (keep)
        t.data[r * f.cols + c] = roundTo(DType::F16, (u(rng) - 0.5) * 8);
    }
  return t;
}

double wild(std::mt19937 &rng, double v) {
  const double choices[] = {-1,
                            -2147483649.0,
                            2147483648.0,
                            4294967296.0,
                            1e300,
                            std::numeric_limits<double>::quiet_NaN(),
                            std::numeric_limits<double>::infinity(),
                            v + 1,
                            v - 1,
                            v + 4096,
                            0.5,
                            static_cast<double>(rng() % 65536) * 65536 + rng() % 65536};
  return choices[rng() % (sizeof choices / sizeof choices[0])];
}

void corrupt(std::mt19937 &rng, std::vector<Tensor> &packed) {
  Tensor &t = packed[rng() % packed.size()];
  int64_t n = t.numel();
  switch (rng() % 4) {
  case 0:
  case 1:
    if (n)
      t.data[rng() % n] = wild(rng, t.data[rng() % n]);
    break;
  case 2: // truncated or extended
    if (rng() % 2 && n) {
      t.data.resize(rng() % n);
    } else {
      t.data.resize(n + 1 + rng() % 8, wild(rng, 0));
    }
    t.data.shrink_to_fit(); // no capacity left to hide a read past the end
    t.shape = {static_cast<int64_t>(t.data.size())};
    if (t.shape[0] == 0)
      t.shape = {0};
    break;
  default:
    if (n > 1)
      std::swap(t.data[rng() % n], t.data[rng() % n]);
    break;
  }
}

/// The GPU producer's model on (possibly corrupt) tiled_csl tensors.
bool producerStaysInside(const std::vector<Tensor> &packed, const Format &f) {
  Packed p;
  for (double v : packed[0].data)
    p.offsets.push_back(v >= INT32_MIN && v <= INT32_MAX ? static_cast<int32_t>(v) : -1);
  for (double v : packed[1].data)
    p.words.push_back(v >= -2147483648.0 && v <= 4294967295.0
                          ? static_cast<uint32_t>(static_cast<int64_t>(v))
                          : 0);
  if (p.words.size() < 4)
    p.words.resize(4, 0);
  int64_t tr = f.params.tileRows, tilesM = (f.rows + tr - 1) / tr, tilesK = (f.cols + 63) / 64;
  p.capacity = tilesM * tilesK * tr * 64;
  // The kernel reads offsets[t] and [t + 1] for its own tiles only (the
  // offsets buffer has the compiled size); a truncated one is refused by
  // the runtime's size check, so the model runs only on whole offsets.
  if (static_cast<int64_t>(p.offsets.size()) != tilesM * tilesK + 1)
    return true;
  std::vector<uint16_t> stage;
  for (int64_t tm = 0; tm < tilesM; ++tm)
    for (int64_t tk = 0; tk < tilesK; ++tk)
      if (!modelStage(p, tilesK, tm, tk, tr, 2, stage))
        return false;
  return true;
}

/// The bitmap producer's model on (possibly corrupt) bitmap tensors: the
/// offsets and masks as the runtime gives them (their compiled sizes, or
/// refused), the values as many as the data has.
bool bitmapProducerStaysInside(const std::vector<Tensor> &packed, const Format &f) {
  int64_t tr = f.params.tileRows, tilesM = (f.rows + tr - 1) / tr, tilesK = (f.cols + 63) / 64;
  if (packed.size() != 3 ||
      static_cast<int64_t>(packed[0].data.size()) != tilesM * tilesK + 1 ||
      static_cast<int64_t>(packed[1].data.size()) != tilesM * tilesK * tr * 2)
    return true;
  einloom::test::PackedBitmap p;
  for (double v : packed[0].data)
    p.offsets.push_back(v >= INT32_MIN && v <= INT32_MAX ? static_cast<int32_t>(v) : -1);
  for (double v : packed[1].data)
    p.masks.push_back(v >= -2147483648.0 && v <= 4294967295.0
                          ? static_cast<uint32_t>(static_cast<int64_t>(v))
                          : 0);
  p.values.assign(packed[2].data.size(), 0x3c00);
  p.values.shrink_to_fit();
  if (p.values.size() < 8)
    p.values.resize(8, 0);
  std::vector<uint16_t> stage;
  for (int64_t tm = 0; tm < tilesM; ++tm)
    for (int64_t tk = 0; tk < tilesK; ++tk)
      if (!einloom::test::modelBitmapStage(p, tilesK, tm, tk, tr, stage))
        return false;
  return true;
}

/// The 2:4 producer's model on (possibly corrupt) two_four tensors of the
/// compiled sizes (the runtime refuses others): every store inside the
/// stage, each element once, whatever the metadata says.
bool twoFourProducerStaysInside(const std::vector<Tensor> &packed, const Format &f) {
  int64_t N = f.rows, K = f.cols;
  if (packed.size() != 2 || static_cast<int64_t>(packed[0].data.size()) != N * K / 2 ||
      static_cast<int64_t>(packed[1].data.size()) != N * K / 16)
    return true;
  std::vector<uint16_t> values(static_cast<size_t>(N * K / 2), 0), meta;
  for (double v : packed[1].data)
    meta.push_back(std::isfinite(v) ? static_cast<uint16_t>(static_cast<int64_t>(v) & 0xffff) : 0);
  std::vector<uint16_t> stage;
  for (int64_t bm : {64, 128})
    for (int64_t r0 = 0; r0 < N; r0 += bm)
      for (int64_t kt = 0; kt * 64 < K; ++kt)
        if (!einloom::test::twoFourStage(values, meta, N, K, r0, kt, bm, 128, stage))
          return false;
  return true;
}
} // namespace

int main(int argc, char **argv) {
  int trials = argc > 1 ? std::atoi(argv[1]) : 3000;
  uint32_t seed = argc > 2 ? static_cast<uint32_t>(std::atoi(argv[2])) : 1;
  std::mt19937 rng(seed);
  std::vector<Format> formats;
  {
    auto tiled = [&](const char *name, PackFormat f, int64_t tileRows, int64_t rows,
                     int64_t cols) {
      PackParams t;
      t.format = f;
      t.tileRows = tileRows;
      t.tileCols = 64;
      formats.push_back({name, t, rows, cols});
    };
    tiled("tiled_csl 64x64", PackFormat::TiledCsl, 64, 130, 200);
    tiled("tiled_csl 128x64", PackFormat::TiledCsl, 128, 128, 64);
    tiled("bitmap 64x64", PackFormat::Bitmap, 64, 100, 150);
    tiled("bitmap 128x64", PackFormat::Bitmap, 128, 130, 64);
    PackParams two;
    two.format = PackFormat::TwoFour;
    formats.push_back({"two_four", two, 24, 48});
    PackParams b;
    b.format = PackFormat::BlockCsr;
    b.tileRows = 16;
    b.tileCols = 8;
    formats.push_back({"block_csr 16x8", b, 64, 48});
  }
  int rejected = 0, accepted = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const Format &f = formats[trial % formats.size()];
    double density = (trial / formats.size()) % 5 == 0 ? 0.0 : 0.05 + 0.9 * (rng() % 100) / 100.0;
    Tensor dense = randomDense(rng, f, density);
    std::vector<Tensor> packed;
    std::string err;
    if (!pack(dense, f.params, packed, err)) {
      EXPECT(false, "trial %d (%s): packing failed: %s", trial, f.name, err.c_str());
      continue;
    }
    std::vector<const Tensor *> ptrs;
    for (const Tensor &t : packed)
      ptrs.push_back(&t);
    Tensor back;
    EXPECT(unpack(ptrs, f.params, dense.shape, DType::F16, back, err) && back.data == dense.data,
           "trial %d (%s): unpack(pack(x)) != x (%s)", trial, f.name, err.c_str());
    // One to three corruptions.
    int n = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < n; ++i)
      corrupt(rng, packed);
    ptrs.clear();
    for (const Tensor &t : packed)
      ptrs.push_back(&t);
    err.clear();
    if (unpack(ptrs, f.params, dense.shape, DType::F16, back, err)) {
      ++accepted;
      EXPECT(back.shape == dense.shape, "trial %d (%s): accepted data unpacked to a wrong shape",
             trial, f.name);
    } else {
      ++rejected;
      EXPECT(err.find("corrupt") != std::string::npos || err.find("expected") != std::string::npos,
             "trial %d (%s): rejected without saying why: '%s'", trial, f.name, err.c_str());
    }
    if (f.params.format == PackFormat::TwoFour)
      EXPECT(twoFourProducerStaysInside(packed, f),
             "trial %d (%s): the 2:4 producer model wrote outside its stage", trial, f.name);
    if (f.params.format == PackFormat::Bitmap)
      EXPECT(bitmapProducerStaysInside(packed, f),
             "trial %d (%s): the bitmap producer model read or wrote outside its buffers",
             trial, f.name);
    if (f.params.format == PackFormat::TiledCsl)
      EXPECT(producerStaysInside(packed, f),
             "trial %d (%s): the producer model read or wrote outside its buffers", trial,
             f.name);
  }
  std::printf("sparse-fuzz: %d trials (seed %u): %d corrupt sets rejected with a message, %d "
              "harmless (unpacked to the right shape), %d failures\n",
              trials, seed, rejected, accepted, failures);
  // A fuzzer whose corruptions never trip the checks is not testing them.
  if (rejected < trials / 4) {
    std::fprintf(stderr, "sparse-fuzz: only %d of %d corruptions were rejected\n", rejected,
                 trials);
    return 1;
  }
  return failures ? 1 : 0;
}
