//===- Npy.cpp - NumPy .npy files -----------------------------------------===//
#include "einloom/Reference/Npy.h"

#include <cmath>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <sstream>

using namespace einloom::ref;

namespace {
struct NpyDescr {
  char kind; // 'f', 'i', 'u', 'b'
  int size;
};

bool parseDescr(const std::string &d, NpyDescr &out) {
  if (d.size() < 3 || (d[0] != '<' && d[0] != '|' && d[0] != '='))
    return false;
  out.kind = d[1];
  out.size = std::atoi(d.c_str() + 2);
  if (d[0] == '|' && out.size != 1)
    return false;
  switch (out.kind) {
  case 'f': return out.size == 2 || out.size == 4 || out.size == 8;
  case 'i': return out.size == 1 || out.size == 2 || out.size == 4 || out.size == 8;
  case 'u': return out.size == 1 || out.size == 2 || out.size == 4;
  case 'b': return out.size == 1;
  default: return false;
  }
}

/// Finds `'key': value` in the header dict and returns the value's text.
bool headerField(const std::string &h, const std::string &key, std::string &value) {
  size_t k = h.find("'" + key + "'");
  if (k == std::string::npos)
    return false;
  size_t colon = h.find(':', k);
  if (colon == std::string::npos)
    return false;
  size_t start = h.find_first_not_of(' ', colon + 1);
  if (start == std::string::npos)
    return false;
  char open = h[start];
  size_t end;
  if (open == '\'') {
    end = h.find('\'', start + 1);
    if (end == std::string::npos)
      return false;
    value = h.substr(start + 1, end - start - 1);
    return true;
  }
  if (open == '(') {
    end = h.find(')', start);
    if (end == std::string::npos)
      return false;
    value = h.substr(start + 1, end - start - 1);
    return true;
  }
  end = h.find_first_of(",}", start);
  if (end == std::string::npos)
    return false;
  value = h.substr(start, end - start);
  while (!value.empty() && value.back() == ' ')
    value.pop_back();
  return true;
}

double decodeValue(const unsigned char *p, const NpyDescr &d) {
  switch (d.kind) {
  case 'b':
    return p[0] ? 1.0 : 0.0;
  case 'u': {
    uint64_t v = 0;
    for (int i = 0; i < d.size; ++i)
      v |= uint64_t(p[i]) << (8 * i);
    return static_cast<double>(v);
  }
  case 'i': {
    uint64_t v = 0;
    for (int i = 0; i < d.size; ++i)
      v |= uint64_t(p[i]) << (8 * i);
    if (d.size < 8 && (v >> (8 * d.size - 1)) & 1)
      v |= ~uint64_t(0) << (8 * d.size);
    return static_cast<double>(static_cast<int64_t>(v));
  }
  default: { // 'f'
    if (d.size == 2)
      return floatFromBits(DType::F16, uint32_t(p[0]) | (uint32_t(p[1]) << 8));
    if (d.size == 4) {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    double v;
    std::memcpy(&v, p, 8);
    return v;
  }
  }
}
} // namespace

bool einloom::ref::readNpy(const std::string &path, DType want, Tensor &out,
                           std::string &err) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    err = path + ": cannot open file";
    return false;
  }
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // (A corrupt header's bytes are quoted in the messages: any that are not
  // printable ASCII are written \xNN.)
  auto fail = [&](const std::string &msg) {
    err = path + ": ";
    for (unsigned char c : msg) {
      if (c >= 0x20 && c < 0x7f) {
        err += static_cast<char>(c);
        continue;
      }
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      err += hex;
    }
    return false;
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return fail("not a .npy file (bad magic)");
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = static_cast<unsigned char>(bytes[8]) |
                (static_cast<unsigned char>(bytes[9]) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return fail("truncated header");
    headerLen = 0;
    for (int i = 0; i < 4; ++i)
      headerLen |= size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    headerStart = 12;
  } else {
    return fail("unsupported .npy version " + std::to_string(major));
  }
  if (bytes.size() < headerStart + headerLen)
    return fail("truncated header");
  std::string header = bytes.substr(headerStart, headerLen);
  std::string descrText, fortran, shapeText;
  if (!headerField(header, "descr", descrText) ||
      !headerField(header, "fortran_order", fortran) ||
      !headerField(header, "shape", shapeText))
    return fail("malformed header");
  NpyDescr descr;
  if (!parseDescr(descrText, descr))
    return fail("unsupported dtype '" + descrText + "'");
  if (fortran != "False")
    return fail("Fortran-order arrays are not supported; save with C order");
  std::vector<int64_t> shape;
  std::stringstream ss(shapeText);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t a = item.find_first_not_of(' ');
    if (a == std::string::npos)
      continue;
    char *end;
    long long v = std::strtoll(item.c_str() + a, &end, 10);
    if (v < 0 || (*end != '\0' && *end != ' ' && *end != 'L'))
      return fail("malformed shape '(" + shapeText + ")'");
    shape.push_back(v);
  }
  bool wantFloat = isFloat(want);
  if (!wantFloat && descr.kind == 'f')
    return fail("holds floating-point values ('" + descrText +
                "') but the argument is " + dtypeName(want));
  if (wantFloat && descr.kind != 'f')
    return fail("holds integers ('" + descrText + "') but the argument is " +
                dtypeName(want));
  // The data must be in the file before anything is allocated for it: a
  // corrupt header's shape could otherwise ask for any amount of memory.
  uint64_t count = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(d), &count) || count > (uint64_t(1) << 56))
      return fail("shape '(" + shapeText + ")' has too many elements");
  size_t need = static_cast<size_t>(count) * descr.size;
  size_t dataStart = headerStart + headerLen;
  if (bytes.size() - dataStart < need)
    return fail("truncated: expected " + std::to_string(need) +
                " bytes of data, found " + std::to_string(bytes.size() - dataStart));
  out = Tensor(want, shape);
  const unsigned char *p =
      reinterpret_cast<const unsigned char *>(bytes.data()) + dataStart;
  for (int64_t i = 0; i < out.numel(); ++i) {
    double v = decodeValue(p + i * descr.size, descr);
    if (wantFloat) {
      v = roundTo(want, v);
    } else if (roundTo(want, v) != v) {
      return fail("value " + std::to_string(static_cast<int64_t>(v)) +
                  " at element " + std::to_string(i) + " does not fit " +
                  dtypeName(want));
    }
    out.data[i] = v;
  }
  return true;
}

bool einloom::ref::writeNpy(const std::string &path, const Tensor &t,
                            std::string &err) {
  std::string descr;
  int size;
  switch (t.dtype) {
  case DType::F64: descr = "<f8"; size = 8; break;
  case DType::F16: descr = "<f2"; size = 2; break;
  case DType::F32: case DType::BF16: case DType::F8E4M3FN: case DType::F8E5M2:
    descr = "<f4"; size = 4; break;
  case DType::I64: descr = "<i8"; size = 8; break;
  case DType::I32: descr = "<i4"; size = 4; break;
  case DType::I16: descr = "<i2"; size = 2; break;
  default: descr = "|i1"; size = 1; break;
  }
  std::string shape;
  for (size_t i = 0; i < t.shape.size(); ++i)
    shape += (i ? ", " : "") + std::to_string(t.shape[i]);
  if (t.rank() == 1)
    shape += ",";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" +
                       shape + "), }";
  // Pad so the data starts on a 64-byte boundary, ending with '\n'.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string bytes = "\x93NUMPY";
  bytes.push_back('\x01');
  bytes.push_back('\x00');
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>(header.size() >> 8));
  bytes += header;
  for (double v : t.data) {
    unsigned char buf[8];
    if (descr[1] == 'f') {
      if (size == 2) {
        uint32_t b = floatBits(DType::F16, v);
        buf[0] = b & 0xff;
        buf[1] = b >> 8;
      } else if (size == 4) {
        float f = static_cast<float>(v);
        std::memcpy(buf, &f, 4);
      } else {
        std::memcpy(buf, &v, 8);
      }
    } else {
      uint64_t u = static_cast<uint64_t>(static_cast<int64_t>(v));
      for (int i = 0; i < size; ++i)
        buf[i] = (u >> (8 * i)) & 0xff;
    }
    bytes.append(reinterpret_cast<char *>(buf), size);
  }
  // Write beside the target, then rename: an existing file is never left
  // half-written.
  std::string tmp = path + ".tmp";
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    if (!o || !o.write(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
      err = path + ": cannot write file";
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    err = path + ": cannot write file";
    return false;
  }
  return true;
}
