"""ctypes bindings of Einloom's C API (include/einloom-c/Einloom.h).

The library is found, in order: $EINLOOM_LIBRARY; libeinloom.so or
libEinloom.so next to this package (a wheel carries it there); the build
trees of a source checkout (build/lib, build-static/lib).
"""
import ctypes
import os
import pathlib

_NAMES = ("libeinloom.so", "libEinloom.so")


class Error(ValueError):
    """An Einloom failure: bad input (a ValueError), or a compiler, cache or
    driver failure, with the library's message."""


def _candidates():
    env = os.environ.get("EINLOOM_LIBRARY")
    if env:
        yield pathlib.Path(env)
        return
    here = pathlib.Path(__file__).resolve().parent
    for name in _NAMES:
        yield here / name
    repo = here.parent.parent
    for tree in ("build", "build-static"):
        yield repo / tree / "lib" / "libEinloom.so"


def _load():
    tried = []
    for path in _candidates():
        tried.append(str(path))
        if path.is_file():
            try:
                return ctypes.CDLL(str(path)), str(path)
            except OSError as ex:  # say which library, and why
                raise ImportError(f"einloom: cannot load {path}: {ex}") from None
    raise ImportError("einloom: the Einloom library was not found (looked for "
                      + ", ".join(tried) + "); set EINLOOM_LIBRARY to libEinloom.so")


lib, path = _load()

c_char_p, c_size_t, c_int, c_int64, c_uint64 = (ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int,
                                               ctypes.c_int64, ctypes.c_uint64)
c_void_p = ctypes.c_void_p
P = ctypes.POINTER
Handle = c_void_p


def _fn(name, args, res=c_int):
    f = getattr(lib, name)
    f.argtypes = args
    f.restype = res
    return f


einloomVersion = _fn("einloomVersion", [], c_char_p)
einloomApiVersion = _fn("einloomApiVersion", [], c_int)
# (Checked before the other functions are looked up: an older library lacks
# some, and would fail with a bare missing-symbol error.)
if einloomApiVersion() < 8:
    raise ImportError(f"einloom: {path} has C API version {einloomApiVersion()}; this package "
                      "needs version 8 or newer")
einloomLastError = _fn("einloomLastError", [], c_char_p)
einloomSessionCreate = _fn("einloomSessionCreate", [c_char_p, c_char_p, P(Handle)])
einloomSessionDestroy = _fn("einloomSessionDestroy", [Handle])
einloomCompileEinsumEx = _fn("einloomCompileEinsumEx",
                             [Handle, c_char_p, c_char_p, c_char_p, c_char_p, c_char_p, c_char_p,
                              P(Handle)])
einloomCompileMLIR = _fn("einloomCompileMLIR", [Handle, c_char_p, c_char_p, P(Handle)])
einloomExplainEinsum = _fn("einloomExplainEinsum",
                           [Handle, c_char_p, c_char_p, c_char_p, c_char_p, c_char_p, c_char_p,
                            P(c_char_p)])
einloomExplainMLIR = _fn("einloomExplainMLIR", [Handle, c_char_p, P(c_char_p)])
einloomCompileEinsumMasked = _fn("einloomCompileEinsumMasked",
                                 [Handle, c_char_p, c_char_p, c_char_p, c_char_p, c_char_p,
                                  c_char_p, c_char_p, P(Handle)])
einloomExplainEinsumMasked = _fn("einloomExplainEinsumMasked",
                                 [Handle, c_char_p, c_char_p, c_char_p, c_char_p, c_char_p,
                                  c_char_p, c_char_p, P(c_char_p)])
einloomBundleNumBuffers = _fn("einloomBundleNumBuffers", [Handle, P(c_size_t)])
einloomBundleBufferBytesAt = _fn("einloomBundleBufferBytesAt",
                                 [Handle, c_size_t, c_int64, P(c_uint64)])
einloomBundleBufferRole = _fn("einloomBundleBufferRole", [Handle, c_size_t, P(c_char_p)])
einloomBundleBufferInfo = _fn("einloomBundleBufferInfo",
                              [Handle, c_size_t, P(c_char_p), P(c_char_p), P(c_size_t),
                               P(P(c_int64))])
einloomBundleBufferLayout = _fn("einloomBundleBufferLayout", [Handle, c_size_t, P(c_char_p)])
einloomPackWeight = _fn("einloomPackWeight",
                        [c_void_p, c_int64, c_int64, c_int, c_int, c_void_p])
einloomPackTiledCsl = _fn("einloomPackTiledCsl",
                          [c_void_p, c_int64, c_int64, c_int64, c_int64, c_void_p, c_void_p,
                           c_size_t, P(c_size_t)])
einloomPackBitmap = _fn("einloomPackBitmap",
                        [c_void_p, c_int64, c_int64, c_int64, c_int64, c_void_p, c_void_p,
                         c_void_p, c_size_t, P(c_size_t)])
einloomCheckBitmap = _fn("einloomCheckBitmap",
                         [c_void_p, c_size_t, c_void_p, c_size_t, c_size_t, c_int64, c_int64,
                          c_int64, c_int64])
einloomPackBlockCsr = _fn("einloomPackBlockCsr",
                          [c_void_p, c_int64, c_int64, c_void_p, c_void_p, c_void_p, c_size_t,
                           P(c_size_t)])
einloomPackTwoFour = _fn("einloomPackTwoFour",
                         [c_void_p, c_int64, c_int64, c_int, c_void_p, c_void_p])
einloomCheckTiledCsl = _fn("einloomCheckTiledCsl",
                           [c_void_p, c_size_t, c_void_p, c_size_t, c_int64, c_int64, c_int64,
                            c_int64])
einloomBundleDynamic = _fn("einloomBundleDynamic", [Handle, P(c_char_p), P(c_int64), P(c_int64)])
einloomBundlePtx = _fn("einloomBundlePtx", [Handle, P(c_char_p)])
einloomBundleNumKernels = _fn("einloomBundleNumKernels", [Handle, P(c_size_t)])
einloomBundleKernelInfo = _fn("einloomBundleKernelInfo",
                              [Handle, c_size_t, P(c_char_p), P(c_char_p), P(c_int64)])
einloomBundleRead = _fn("einloomBundleRead", [c_char_p, P(Handle)])
einloomBundleWrite = _fn("einloomBundleWrite", [Handle, c_char_p])
einloomBundleDestroy = _fn("einloomBundleDestroy", [Handle])
einloomDeviceOpen = _fn("einloomDeviceOpen", [c_int, P(Handle)])
einloomDeviceDestroy = _fn("einloomDeviceDestroy", [Handle])
einloomProgramLoad = _fn("einloomProgramLoad", [Handle, Handle, P(Handle)])
einloomProgramLaunchOnStream = _fn("einloomProgramLaunchOnStream",
                                   [Handle, P(c_uint64), P(c_uint64), c_size_t, c_int64, c_void_p])
einloomProgramDestroy = _fn("einloomProgramDestroy", [Handle])
# Sharded bundles and NCCL communicators (API version 7).
einloomBundleMeshAxes = _fn("einloomBundleMeshAxes", [Handle, P(c_size_t)])
einloomBundleMeshAxis = _fn("einloomBundleMeshAxis", [Handle, c_size_t, P(c_char_p), P(c_int64)])
einloomBundleBufferSharding = _fn("einloomBundleBufferSharding", [Handle, c_size_t, P(c_char_p)])
einloomNcclUniqueId = _fn("einloomNcclUniqueId", [ctypes.c_char_p])
einloomCommunicatorCreate = _fn("einloomCommunicatorCreate", [ctypes.c_char_p, c_int, c_int,
                                                              P(Handle)])
einloomCommunicatorWrap = _fn("einloomCommunicatorWrap", [c_void_p, P(Handle)])
einloomCommunicatorInfo = _fn("einloomCommunicatorInfo", [Handle, P(c_int), P(c_int)])
einloomCommunicatorDestroy = _fn("einloomCommunicatorDestroy", [Handle])
einloomProgramUseCommunicator = _fn("einloomProgramUseCommunicator", [Handle, Handle])
einloomProgramFinish = _fn("einloomProgramFinish", [Handle, c_void_p, c_int])
einloomReferenceEinsum = _fn("einloomReferenceEinsum",
                             [c_char_p, c_size_t, P(c_char_p), P(c_size_t), P(P(c_int64)),
                              P(P(ctypes.c_double)), c_char_p, c_size_t, P(c_int64), c_int,
                              P(ctypes.c_double)])



def check(status):
    """Raises Error with the library's message when `status` is not OK."""
    if status != 0:
        raise Error(einloomLastError().decode(errors="replace") or "einloom: call failed")


def enc(s):
    return None if s is None else s.encode()
