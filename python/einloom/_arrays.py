"""Arrays from the caller's framework: PyTorch tensors, CuPy arrays, anything
with __cuda_array_interface__ or DLPack on the GPU, NumPy arrays on the CPU.

An adapter gives a device array's pointer, shape and element type, makes it
contiguous, allocates results and workspaces through the same framework (for
PyTorch, its caching allocator) and names the caller's current stream."""
import sys

from ._capi import Error
from ._spec import dtype_name

_TYPESTR = {"<f2": "f16", "<f4": "f32", "<f8": "f64", "|i1": "i8", "<i4": "i32"}


def _torch():
    return sys.modules.get("torch")


class TorchArrays:
    name = "torch"

    def __init__(self, torch):
        self.torch = torch
        t = torch
        self.to_torch = {"f16": t.float16, "bf16": t.bfloat16, "f32": t.float32,
                         "f64": t.float64, "i8": t.int8, "i32": t.int32}
        for mlir, attr in (("f8E4M3FN", "float8_e4m3fn"), ("f8E5M2", "float8_e5m2")):
            if hasattr(t, attr):
                self.to_torch[mlir] = getattr(t, attr)
        self.from_torch = {v: k for k, v in self.to_torch.items()}

    def owns(self, x):
        return isinstance(x, self.torch.Tensor)

    def on_gpu(self, x):
        return x.is_cuda

    def dtype(self, x):
        try:
            return self.from_torch[x.dtype]
        except KeyError:
            raise Error(f"einloom: torch tensors of {x.dtype} are not supported") from None

    def shape(self, x):
        return tuple(x.shape)

    def contiguous(self, x):
        return x.is_contiguous()

    def make_contiguous(self, x):
        return x.contiguous()

    def ptr(self, x):
        return x.data_ptr()

    def nbytes(self, x):
        return x.numel() * x.element_size()

    def device(self, x):
        return x.device.index if x.device.index is not None else self.torch.cuda.current_device()

    def empty(self, shape, dtype, like):
        return self.torch.empty(shape, dtype=self.to_torch[dtype], device=like.device)

    def scratch(self, nbytes, like):
        return self.torch.empty(max(int(nbytes), 16), dtype=self.torch.uint8, device=like.device)

    def stream(self, like):
        return self.torch.cuda.current_stream(like.device).cuda_stream


class CupyArrays:
    name = "cupy"

    def __init__(self, cp):
        self.cp = cp

    def owns(self, x):
        return isinstance(x, self.cp.ndarray)

    def on_gpu(self, x):
        return True

    def dtype(self, x):
        return dtype_name(x.dtype)

    def shape(self, x):
        return tuple(x.shape)

    def contiguous(self, x):
        return x.flags.c_contiguous

    def make_contiguous(self, x):
        return self.cp.ascontiguousarray(x)

    def ptr(self, x):
        return x.data.ptr

    def nbytes(self, x):
        return x.nbytes

    def device(self, x):
        return x.device.id

    def empty(self, shape, dtype, like):
        if dtype not in ("f16", "f32", "f64", "i8", "i32"):
            raise Error(f"einloom: CuPy has no {dtype} arrays; pass out_dtype")
        with self.cp.cuda.Device(like.device.id):
            return self.cp.empty(shape, dtype={"f16": "float16", "f32": "float32", "f64": "float64",
                                               "i8": "int8", "i32": "int32"}[dtype])

    def scratch(self, nbytes, like):
        with self.cp.cuda.Device(like.device.id):
            return self.cp.empty(max(int(nbytes), 16), dtype="uint8")

    def stream(self, like):
        return self.cp.cuda.get_current_stream().ptr


_adapters = {}


def torch_arrays(torch):
    """The one TorchArrays of this torch module (its dtype tables built once)."""
    a = _adapters.get(id(torch))
    if a is None:
        a = _adapters[id(torch)] = TorchArrays(torch)
    return a


def adapter_for(x):
    """The adapter for a GPU array `x` (DLPack and __cuda_array_interface__
    objects are first viewed as torch or CuPy arrays), and the array."""
    if is_host_array(x):
        raise Error(f"einloom: a {type(x).__module__}.{type(x).__name__} in host memory is not "
                    "a GPU array; einloom.einsum(..., device='cpu') runs the reference on it")
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        return torch_arrays(torch), x
    cp = sys.modules.get("cupy")
    if cp is not None and isinstance(x, cp.ndarray):
        return CupyArrays(cp), x
    if hasattr(x, "__cuda_array_interface__") or hasattr(x, "__dlpack__"):
        try:
            import torch as t  # noqa: F811
            view = t.as_tensor(x, device="cuda") if hasattr(x, "__cuda_array_interface__") \
                else t.from_dlpack(x)
            return TorchArrays(t), view
        except ImportError:
            pass
        try:
            import cupy
            return CupyArrays(cupy), cupy.asarray(x) if hasattr(x, "__cuda_array_interface__") \
                else cupy.from_dlpack(x)
        except ImportError:
            pass
        raise Error("einloom: a GPU array that is neither a torch tensor nor a CuPy array needs "
                    "PyTorch or CuPy to allocate the result")
    raise Error(f"einloom: {type(x).__name__} is not a GPU array (torch, CuPy, "
                "__cuda_array_interface__ or DLPack); for NumPy arrays use device='cpu'")


def is_host_array(x):
    """True for NumPy arrays (and CPU torch tensors): the reference runs them."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(x, np.ndarray):
        return True
    torch = _torch()
    return torch is not None and isinstance(x, torch.Tensor) and not x.is_cuda
