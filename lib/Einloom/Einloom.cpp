//===- Einloom.cpp - libEinloom.so ------------------------------------------===//
//
// The shared library is the whole archives of the C API, the Session and
// the runtime (see CMakeLists.txt); this file only anchors it.
//
//===----------------------------------------------------------------------===//
#include "einloom-c/Einloom.h"

extern "C" int einloomLibraryAnchor() { return einloomApiVersion(); }
