"""The package on a GPU (gpu-check runs these; skipped without one): einsum on
torch and CuPy arrays and through the array interfaces, against torch.einsum
in f64; out=, strided operands, dynamic sizes, streams; bad input leaves the
caller's arrays untouched."""
import pytest

from conftest import gpu_available

HAVE_GPU, WHY = gpu_available()
pytestmark = pytest.mark.skipif(not HAVE_GPU, reason=WHY)

if HAVE_GPU:
    import torch

import einloom  # noqa: E402


def rel(x, ref):
    return ((x.double() - ref).norm() / ref.norm().clamp_min(1e-30)).item()


def rand(*shape, dtype=None):
    dtype = dtype or torch.float16
    if dtype == torch.int8:
        return torch.randint(-8, 8, shape, dtype=dtype, device="cuda")
    return torch.randn(*shape, device="cuda").to(dtype)


@pytest.mark.parametrize("spec,shapes,dtype,tol", [
    ("mk,nk->mn", [(300, 520), (200, 520)], "float16", 4e-3),
    ("mk,nk->mn", [(16, 4096), (4100, 4096)], "float16", 4e-3),   # skinny, odd N
    ("mk,nk->mn", [(1, 4096), (1000, 4096)], "bfloat16", 2e-2),   # matrix-vector
    ("bik,bjk->bij", [(48, 1023, 80), (48, 511, 80)], "float16", 4e-3),
    ("k,nk->n", [(1000,), (333, 1000)], "float16", 4e-3),
    ("ii,ij->j", [(257, 257), (257, 100)], "float32", 1e-5),
    ("mk,nk->mn", [(100, 70), (90, 70)], "float64", 1e-12),
    ("mk,kn->mn", [(33, 77), (77, 65)], "float32", 1e-5),
    ("abc,cd,de->ae", [(8, 9, 10), (10, 11), (11, 12)], "float16", 4e-3),
    ("mk,nk->mn", [(64, 128), (96, 128)], "int8", 0),
])
def test_einsum_against_torch(spec, shapes, dtype, tol):
    dt = getattr(torch, dtype)
    ops = [rand(*s, dtype=dt) for s in shapes]
    got = einloom.einsum(spec, *ops)
    ref = torch.einsum(spec, *[o.double() for o in ops])
    assert got.shape == ref.shape
    assert got.is_cuda
    assert rel(got, ref) <= max(tol, 1e-12), (spec, rel(got, ref))


def test_out_and_out_dtype():
    a, b = rand(64, 128), rand(96, 128)
    out = torch.full((64, 96), float("nan"), device="cuda", dtype=torch.float32)
    r = einloom.einsum("mk,nk->mn", a, b, out=out, out_dtype="f32")
    assert r is out
    ref = a.double() @ b.double().t()
    assert rel(out, ref) < 1e-5


def test_strided_operands_are_copied_and_explained():
    a = rand(128, 64).t()  # 64 x 128, not contiguous
    b = rand(32, 128)
    assert "operand 0 is not contiguous" in einloom.explain("mk,nk->mn", a, b)
    r = einloom.einsum("mk,nk->mn", a, b)
    assert rel(r, a.double() @ b.double().t()) < 4e-3


def test_runs_on_the_current_stream():
    a, b = rand(512, 512), rand(512, 512)
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        r = einloom.einsum("mk,nk->mn", a, b)
    s.synchronize()
    assert rel(r, a.double() @ b.double().t()) < 4e-3


def test_dynamic_kernel_serves_every_size():
    k = einloom.compile("mk,nk->mn", {"m": 4096, "n": 256, "k": 64}, "f16", dynamic="m")
    w = rand(256, 64)
    for m in (1, 7, 300, 4096):
        x = rand(m, 64)
        assert rel(k(x, w), x.double() @ w.double().t()) < 4e-3


def test_cupy_and_array_interfaces():
    cp = pytest.importorskip("cupy", reason="CuPy is not installed")
    a = cp.random.standard_normal((64, 128)).astype(cp.float16)
    b = cp.random.standard_normal((32, 128)).astype(cp.float16)
    r = einloom.einsum("mk,nk->mn", a, b)
    assert isinstance(r, cp.ndarray)
    ref = a.astype(cp.float64) @ b.astype(cp.float64).T
    assert float(cp.linalg.norm(r.astype(cp.float64) - ref) / cp.linalg.norm(ref)) < 4e-3

    class Interface:  # only __cuda_array_interface__
        def __init__(self, x):
            self.__cuda_array_interface__ = x.__cuda_array_interface__
    r2 = einloom.einsum("mk,nk->mn", Interface(a), Interface(b))
    assert r2.shape == (64, 32)
    t = torch.from_dlpack(einloom.einsum("mk,nk->mn", torch.from_dlpack(a), torch.from_dlpack(b)))
    assert tuple(t.shape) == (64, 32)


def test_bad_input_writes_nothing():
    k = einloom.compile("mk,nk->mn", {"m": 64, "n": 32, "k": 128}, "f16")
    a, b = rand(64, 128), rand(32, 128)
    out = torch.full((64, 32), 7.0, device="cuda", dtype=torch.float16)
    for bad in ([rand(64, 127), b], [a.float(), b], [a, b.cpu()], [a.t().contiguous().t(), b]):
        with pytest.raises(einloom.Error):
            k(*bad, out=out)
    with pytest.raises(einloom.Error):
        k(a, b, out=torch.empty(64, 33, device="cuda", dtype=torch.float16))
    torch.cuda.synchronize()
    assert bool((out == 7.0).all())


def test_cache_hit_reuses_the_kernel():
    a, b = rand(128, 64), rand(96, 64)
    einloom.einsum("mk,nk->mn", a, b)
    n = len(einloom._cache)
    einloom.einsum("mk,nk->mn", rand(128, 64), rand(96, 64))
    assert len(einloom._cache) == n


def test_prepared_launch_on_a_cache_hit():
    """The second call with the same shapes takes the prepared launch
    (einloom._fast); its results match torch on fresh inputs, and an input
    that no longer fits it (strided, another shape, another dtype) goes the
    checked way."""
    spec = "mk,nk->mn"
    a, b = rand(100, 72), rand(40, 72)
    einloom.einsum(spec, a, b)
    assert any(k[0] == spec and k[2][0] == (100, 72) for k in einloom._fast)
    for _ in range(3):
        a, b = rand(100, 72), rand(40, 72)
        y = einloom.einsum(spec, a, b)
        assert y.shape == (100, 40) and y.dtype == torch.float16
        assert rel(y, a.double() @ b.double().t()) < 4e-3
    s = rand(72, 100).t()  # strided: copied first, same values
    assert rel(einloom.einsum(spec, s, b), s.double() @ b.double().t()) < 4e-3
    c = rand(101, 72)
    assert einloom.einsum(spec, c, b).shape == (101, 40)
    with pytest.raises(einloom.Error):
        einloom.einsum(spec, a.float(), b)
    # Another stream: the prepared launch runs on the caller's current stream.
    st = torch.cuda.Stream()
    st.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(st):
        y = einloom.einsum(spec, a, b)
    st.synchronize()
    assert rel(y, a.double() @ b.double().t()) < 4e-3


def test_quantized_linear_against_torch():
    # W4A16 with groups of 128 and zero points: einloom's mixed-input kernel
    # on packed codes against torch on the dequantized weight.
    import numpy as np
    from test_cpu import W4_MLIR
    k = einloom.compile_mlir(W4_MLIR)
    g = np.random.default_rng(7)
    codes = g.integers(0, 16, (64, 256))
    zeros = g.integers(0, 16, (64, 2))
    scales = (0.01 + 0.09 * g.random((64, 2))).astype(np.float16)
    x = torch.randn(16, 256, device="cuda").half()
    words = torch.from_numpy(einloom.pack_weight(codes, bits=4)).cuda()
    y = k(x, words, torch.from_numpy(scales).cuda(), torch.from_numpy(zeros.astype(np.int8)).cuda())
    w = ((torch.from_numpy(codes) - torch.from_numpy(zeros).repeat_interleave(128, 1)).double()
         * torch.from_numpy(scales.astype(np.float64)).repeat_interleave(128, 1)).half()
    ref = x.double() @ w.double().cuda().t()
    assert ((y.double() - ref).norm() / ref.norm()).item() < 4e-3
    with pytest.raises(einloom.Error, match="packed codes"):
        k(x, words[:-1], torch.from_numpy(scales).cuda(), torch.from_numpy(zeros.astype(np.int8)).cuda())


@pytest.mark.parametrize("dtype,rows,m,n,k,density",
                         [("f16", 64, 16, 1000, 4096, 0.2), ("bf16", 128, 3, 300, 200, 0.5),
                          ("f16", 64, 33, 256, 512, 0.0), ("f16", 64, 1, 512, 1024, 1.0)])
def test_sparse_linear_against_torch(dtype, rows, m, n, k, density):
    # A Tiled-CSL weight: einloom's sparse kernel on the packed words
    # against torch on the dense weight, the words given at their packed
    # size (not the bundle's capacity).
    t = torch.float16 if dtype == "f16" else torch.bfloat16
    kern = einloom.compile("mk,nk->mn", {"m": m, "n": n, "k": k}, dtype=dtype,
                           sparse="tiled_csl" if rows == 64 else f"tiled_csl:{rows}")
    g = torch.Generator().manual_seed(11)
    w = torch.randn(n, k, generator=g).to(t)
    w *= torch.rand(n, k, generator=g) < density
    words, offsets = einloom.pack_sparse(w, tile_rows=rows)
    x = torch.randn(m, k, device="cuda").to(t)
    y = kern(x, torch.from_numpy(words).cuda(), torch.from_numpy(offsets).cuda())
    ref = x.double() @ w.double().cuda().t()
    err = (y.double() - ref).norm() / max(ref.norm().item(), 1e-30)
    assert (y == 0).all().item() if density == 0 else err.item() < 8e-3
    with pytest.raises(einloom.Error, match="offsets"):
        kern(x, torch.from_numpy(words).cuda(), torch.from_numpy(offsets[:-1]).cuda())


@pytest.mark.parametrize("dtype,rows,m,n,k,density",
                         [("f16", 64, 16, 1000, 4096, 0.5), ("bf16", 128, 3, 300, 200, 0.3),
                          ("f16", 64, 33, 256, 512, 0.0), ("f16", 64, 1, 512, 1024, 1.0)])
def test_bitmap_linear_against_torch(dtype, rows, m, n, k, density):
    # A bitmap weight: its values (at their packed count), masks and
    # offsets, against torch on the dense weight.
    import numpy as np
    t = torch.float16 if dtype == "f16" else torch.bfloat16
    kern = einloom.compile("mk,nk->mn", {"m": m, "n": n, "k": k}, dtype=dtype,
                           sparse="bitmap" if rows == 64 else f"bitmap:{rows}")
    g = torch.Generator().manual_seed(12)
    w = torch.randn(n, k, generator=g).to(t)
    w *= torch.rand(n, k, generator=g) < density
    values, masks, offsets = einloom.pack_bitmap(w, tile_rows=rows)
    x = torch.randn(m, k, device="cuda").to(t)
    cuda = lambda a: torch.from_numpy(a.view(np.int16) if a.dtype == np.uint16 else a).cuda()
    y = kern(x, cuda(values), cuda(masks), cuda(offsets))
    ref = x.double() @ w.double().cuda().t()
    err = (y.double() - ref).norm() / max(ref.norm().item(), 1e-30)
    assert (y == 0).all().item() if density == 0 else err.item() < 8e-3
    with pytest.raises(einloom.Error, match="masks"):
        kern(x, cuda(values), cuda(masks[:-1]), cuda(offsets))


@pytest.mark.parametrize("dtype,m,n,k,density",
                         [("f16", 16, 512, 1024, 0.3), ("bf16", 3, 192, 256, 0.6),
                          ("f16", 70, 128, 128, 0.0), ("f16", 8, 256, 512, 1.0)])
def test_block_csr_linear_against_torch(dtype, m, n, k, density):
    # A block-sparse weight: its stored blocks, column indices and row
    # pointers, against torch on the dense weight (whole 64 x 64 blocks
    # kept with probability `density`).
    import numpy as np
    t = torch.float16 if dtype == "f16" else torch.bfloat16
    kern = einloom.compile("mk,nk->mn", {"m": m, "n": n, "k": k}, dtype=dtype, sparse="block_csr")
    g = torch.Generator().manual_seed(13)
    keep = (torch.rand(n // 64, k // 64, generator=g) < density).repeat_interleave(64, 0)
    w = torch.randn(n, k, generator=g).to(t) * keep.repeat_interleave(64, 1)
    blocks, col_idx, row_ptr = einloom.pack_block_csr(w)
    x = torch.randn(m, k, device="cuda").to(t)
    y = kern(x, torch.from_numpy(blocks.view(np.int16)).cuda(), torch.from_numpy(col_idx).cuda(),
             torch.from_numpy(row_ptr).cuda())
    ref = x.double() @ w.double().cuda().t()
    err = (y.double() - ref).norm() / max(ref.norm().item(), 1e-30)
    assert (y == 0).all().item() if density == 0 else err.item() < 8e-3
    with pytest.raises(einloom.Error, match="row pointers"):
        kern(x, torch.from_numpy(blocks.view(np.int16)).cuda(), torch.from_numpy(col_idx).cuda(),
             torch.from_numpy(row_ptr[:-1]).cuda())
