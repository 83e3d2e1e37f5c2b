//===- TuningDatabase.cpp - measured plans, consulted before the model ----===//
#include "einloom/Plan/TuningDatabase.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace einloom;

static constexpr llvm::StringLiteral kHeader = "einloom-tuning 1";
static constexpr llvm::StringLiteral kSeparator = " | ";

static std::string typeName(mlir::Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

TuningKey einloom::tuningKeyFor(const Contraction &c, const TargetInfo &t) {
  TuningKey k;
  k.target = t.chip;
  k.spec = c.spec;
  // A dequantized weight: its codes, grouping and zero point ("u4g128z").
  std::string b = typeName(c.elemB);
  if (c.quant)
    b = std::string(c.quant->isSigned ? "s" : "u") + std::to_string(c.quant->bits) +
        (c.quant->groupSize ? "g" + std::to_string(c.quant->groupSize) : "c") +
        (c.quant->zeroType ? "z" : "");
  // A sparse weight: its format and tile ("tcsl64x64", "bmap64x64"), or "2:4".
  if (c.sparse)
    b = c.sparse->twoFour() ? "2:4"
                            : std::string(c.sparse->bitmap() ? "bmap" : "tcsl") +
                                  std::to_string(c.sparse->tileRows) + "x" +
                                  std::to_string(c.sparse->tileCols);
  k.types = typeName(c.elemA) + " " + b + " -> " + typeName(c.elemC) + " acc " +
            typeName(c.acc) + (c.tf32 ? " tf32" : "");
  k.sizes = {c.batch.size(), c.m.size(), c.n.size(), c.k.size()};
  return k;
}

int64_t einloom::tuningBucket(int64_t size) {
  if (size <= 64)
    return size;
  int64_t b = 128;
  while (b < size)
    b *= 2;
  return b;
}

std::string TuningEntry::str() const {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << key.target << kSeparator << gpu << kSeparator << key.spec << kSeparator << key.types
     << kSeparator << key.sizes[0] << "x" << key.sizes[1] << "x" << key.sizes[2] << "x"
     << key.sizes[3] << kSeparator << llvm::format("%.2f", micros) << " us" << kSeparator << date
     << kSeparator << plan;
  return s;
}

/// "what is wrong" at line `line` of `path`, as an llvm::Error.
static llvm::Error bad(llvm::StringRef path, int line, const llvm::Twine &what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ":" + llvm::Twine(line) + ": " + what);
}

llvm::Expected<TuningDatabase> TuningDatabase::parse(llvm::StringRef text, llvm::StringRef path) {
  TuningDatabase db;
  db.path_ = path.str();
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n');
  bool header = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    int lineNo = static_cast<int>(i + 1);
    llvm::StringRef line = lines[i].trim();
    if (line.empty() || line.starts_with("#"))
      continue;
    if (!header) {
      if (line != kHeader)
        return bad(path, lineNo, "expected the header '" + kHeader + "', got '" + line + "'");
      header = true;
      continue;
    }
    llvm::SmallVector<llvm::StringRef> f;
    line.split(f, kSeparator);
    if (f.size() != 8)
      return bad(path, lineNo, "expected 8 fields separated by ' | ' (target, GPU, einsum, "
                               "types, sizes, time, date, plan), got " +
                                   llvm::Twine(f.size()));
    TuningEntry e;
    e.line = lineNo;
    e.key.target = f[0].trim().str();
    e.gpu = f[1].trim().str();
    e.key.spec = f[2].trim().str();
    e.key.types = f[3].trim().str();
    llvm::SmallVector<llvm::StringRef> dims;
    f[4].trim().split(dims, 'x');
    if (dims.size() != 4)
      return bad(path, lineNo, "sizes must be batch x M x N x K, got '" + f[4].trim() + "'");
    for (size_t d = 0; d < 4; ++d)
      if (dims[d].getAsInteger(10, e.key.sizes[d]) || e.key.sizes[d] <= 0)
        return bad(path, lineNo, "size '" + dims[d] + "' is not a positive integer");
    llvm::StringRef us = f[5].trim();
    if (!us.consume_back(" us") || us.trim().getAsDouble(e.micros) || !(e.micros > 0) ||
        !std::isfinite(e.micros))
      return bad(path, lineNo, "time must be a positive number of microseconds ('12.5 us'), got '" +
                                   f[5].trim() + "'");
    e.date = f[6].trim().str();
    e.plan = f[7].trim().str();
    if (e.key.target.empty() || e.key.spec.find("->") == std::string::npos ||
        e.key.types.find("->") == std::string::npos)
      return bad(path, lineNo, "an entry needs a target, an einsum 'ab,bc->ac' and types "
                               "'A B -> C acc ACC'");
    if (!llvm::StringRef(e.plan).starts_with("#loom.plan<") || !llvm::StringRef(e.plan).ends_with(">"))
      return bad(path, lineNo, "the plan must be a #loom.plan<...> attribute, got '" + e.plan + "'");
    db.entries_.push_back(std::move(e));
  }
  if (!header)
    return bad(path, 1, "empty file: no '" + kHeader + "' header");
  return db;
}

llvm::Expected<TuningDatabase> TuningDatabase::load(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    return llvm::createStringError(buf.getError(), path + ": " + buf.getError().message());
  return parse((*buf)->getBuffer(), path);
}

const TuningEntry *TuningDatabase::lookup(const TuningKey &key, llvm::StringRef gpu) const {
  const TuningEntry *best = nullptr;
  // Rank: exact sizes first, then the GPU, then the distance between sizes.
  auto rank = [&](const TuningEntry &e) {
    double distance = 0;
    for (size_t d = 0; d < 4; ++d)
      distance += std::fabs(std::log(double(e.key.sizes[d]) / double(key.sizes[d])));
    bool exact = e.key.sizes == key.sizes;
    bool ourGpu = gpu.empty() || e.gpu == gpu;
    return std::make_tuple(!exact, !ourGpu, distance);
  };
  for (const TuningEntry &e : entries_) {
    if (!e.key.sameClass(key))
      continue;
    bool sameBuckets = true;
    for (size_t d = 0; d < 4; ++d)
      sameBuckets = sameBuckets && tuningBucket(e.key.sizes[d]) == tuningBucket(key.sizes[d]);
    if (!sameBuckets)
      continue;
    if (!best || rank(e) < rank(*best))
      best = &e;
  }
  return best;
}

void TuningDatabase::upsert(TuningEntry e) {
  for (TuningEntry &old : entries_)
    if (old.key.sameClass(e.key) && old.key.sizes == e.key.sizes && old.gpu == e.gpu) {
      e.line = old.line;
      old = std::move(e);
      return;
    }
  entries_.push_back(std::move(e));
}

std::string TuningDatabase::serialize() const {
  std::string s = kHeader.str() + "\n";
  s += "# target | GPU | einsum | types | batch x M x N x K | median time | date | plan\n";
  s += "# Written by einloom-tune; the planner uses an entry before its cost model.\n";
  for (const TuningEntry &e : entries_)
    s += e.str() + "\n";
  return s;
}

llvm::Error TuningDatabase::save(llvm::StringRef path) const {
  std::string tmp = (path + ".tmp").str();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp, ec);
    if (ec)
      return llvm::createStringError(ec, tmp + ": " + ec.message());
    os << serialize();
    os.close();
    if (os.has_error())
      return llvm::createStringError(os.error(), tmp + ": " + os.error().message());
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path))
    return llvm::createStringError(ec, "cannot rename " + tmp + " to " + path + ": " + ec.message());
  return llvm::Error::success();
}
