//===- Cache.cpp - the on-disk kernel cache --------------------------------===//
#include "einloom/runtime/Cache.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace einloom::rt;

namespace {
constexpr const char *kSuffix = ".bundle";
constexpr const char *kTempPrefix = ".tmp.";

Status sysError(const std::string &what, const std::string &path) {
  return Status::error(what + " " + path + ": " + std::strerror(errno));
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Why a file or directory at `path` (already lstat'ed into `st`) is not
/// safe to trust: owned by someone else, or writable by group or others.
std::string unsafe(const struct stat &st, const std::string &path) {
  if (st.st_uid != geteuid())
    return path + " is owned by uid " + std::to_string(st.st_uid) + ", not by this user";
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return path + " is group- or world-writable";
  return "";
}

/// Creates `dir` and its parents; new directories get mode 0700.
Status makeDirs(const std::string &dir) {
  if (dir.empty())
    return Status::error("empty cache directory");
  std::string path;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    path = dir.substr(0, pos);
    if (path.empty())
      continue;
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
      return sysError("cannot create the cache directory", path);
  }
  return Status::ok();
}

struct Entry {
  std::string path;
  uint64_t bytes;
  int64_t mtimeNs;
};

std::vector<Entry> listEntries(const std::string &dir, bool temps) {
  std::vector<Entry> out;
  DIR *d = opendir(dir.c_str());
  if (!d)
    return out;
  while (struct dirent *e = readdir(d)) {
    std::string name = e->d_name;
    bool isTemp = name.compare(0, std::strlen(kTempPrefix), kTempPrefix) == 0;
    if (isTemp != temps || (!temps && !endsWith(name, kSuffix)))
      continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    out.push_back({path, static_cast<uint64_t>(st.st_size),
                   int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
  }
  closedir(d);
  return out;
}
} // namespace

std::string DiskCache::defaultDir() {
  if (const char *d = std::getenv("EINLOOM_CACHE_DIR"); d && *d)
    return d;
  if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/einloom";
  if (const char *h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.cache/einloom";
  return "";
}

bool DiskCache::validKey(const std::string &key) {
  if (key.size() < 16 || key.size() > 128)
    return false;
  return std::all_of(key.begin(), key.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status DiskCache::open(const std::string &dirIn, uint64_t capBytes, std::unique_ptr<DiskCache> &out) {
  std::string dir = dirIn.empty() ? defaultDir() : dirIn;
  if (dir.empty())
    return Status::error("no cache directory: set EINLOOM_CACHE_DIR, XDG_CACHE_HOME or HOME");
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  if (Status s = makeDirs(dir); !s)
    return s;
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0)
    return sysError("cannot stat the cache directory", dir);
  if (!S_ISDIR(st.st_mode))
    return Status::error("the cache directory " + dir + " is not a directory");
  if (std::string why = unsafe(st, dir); !why.empty())
    return Status::error("refusing the cache directory: " + why);
  std::unique_ptr<DiskCache> c(new DiskCache());
  c->dir_ = dir;
  c->cap_ = capBytes;
  out = std::move(c);
  return Status::ok();
}

std::string DiskCache::entryPath(const std::string &key) const { return dir_ + "/" + key + kSuffix; }

bool DiskCache::lookup(const std::string &key, Bundle &bundle, std::string *note) {
  auto miss = [&](const std::string &why) {
    if (note)
      *note = why;
    return false;
  };
  if (!validKey(key))
    return miss("invalid cache key");
  std::string path = entryPath(key);
  // O_NOFOLLOW: a symlink planted in the cache is not followed.
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return miss(errno == ENOENT ? "not cached" : "cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return miss(path + " is not a regular file");
  }
  if (std::string why = unsafe(st, path); !why.empty()) {
    ::close(fd);
    return miss("refused: " + why);
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd, &bytes[got], bytes.size() - got);
    if (n <= 0)
      break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(got);
  std::string err;
  if (!readBundle(bytes, bundle, err)) {
    ::unlink(path.c_str()); // rebuilt by the caller, never loaded
    return miss("discarded a corrupt entry (" + err + ")");
  }
  // Least recently used: a hit refreshes the time.
  utimensat(AT_FDCWD, path.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
  if (note)
    *note = "hit";
  return true;
}

Status DiskCache::store(const std::string &key, const Bundle &bundle) {
  if (!validKey(key))
    return Status::error("invalid cache key '" + key + "'");
  std::string bytes = writeBundle(bundle);
  // A unique temporary name in the same directory, then an atomic rename.
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  std::string tmp = dir_ + "/" + kTempPrefix + key + "." + std::to_string(getpid()) + "." +
                    std::to_string(static_cast<long long>(now));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return sysError("cannot create", tmp);
  size_t put = 0;
  while (put < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + put, bytes.size() - put);
    if (n <= 0) {
      Status s = sysError("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    put += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    Status s = sysError("cannot write", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), entryPath(key).c_str()) != 0) {
    Status s = sysError("cannot rename into", entryPath(key));
    ::unlink(tmp.c_str());
    return s;
  }
  return evict();
}

Status DiskCache::evict() {
  std::vector<Entry> all = listEntries(dir_, false);
  uint64_t total = 0;
  for (const Entry &e : all)
    total += e.bytes;
  if (total <= cap_)
    return Status::ok();
  std::sort(all.begin(), all.end(), [](const Entry &a, const Entry &b) { return a.mtimeNs < b.mtimeNs; });
  for (const Entry &e : all) {
    if (total <= cap_)
      break;
    // Another process may have removed it already; that is fine.
    if (::unlink(e.path.c_str()) == 0 || errno == ENOENT)
      total -= e.bytes;
  }
  return Status::ok();
}

Status DiskCache::stats(CacheStats &out) const {
  out = CacheStats();
  out.dir = dir_;
  out.capBytes = cap_;
  for (const Entry &e : listEntries(dir_, false)) {
    ++out.entries;
    out.bytes += e.bytes;
  }
  return Status::ok();
}

Status DiskCache::clear() {
  for (bool temps : {false, true})
    for (const Entry &e : listEntries(dir_, temps))
      if (::unlink(e.path.c_str()) != 0 && errno != ENOENT)
        return sysError("cannot remove", e.path);
  return Status::ok();
}
