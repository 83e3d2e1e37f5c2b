"""The torch.library custom op: its fake (meta) implementation (CPU, CI when
PyTorch is installed) and torch.compile without a graph break (GPU)."""
import pytest

from conftest import gpu_available

torch = pytest.importorskip("torch", reason="PyTorch is not installed (the op needs it)")
import einloom  # noqa: E402
import einloom.torch as et  # noqa: E402


def test_fake_implementation_gives_shape_and_type():
    from torch._subclasses.fake_tensor import FakeTensorMode
    with FakeTensorMode():
        a = torch.empty(8, 16, dtype=torch.float16, device="meta")
        b = torch.empty(32, 16, dtype=torch.float16, device="meta")
        r = torch.ops.einloom.einsum("mk,nk->mn", [a, b], None)
        assert tuple(r.shape) == (8, 32) and r.dtype == torch.float16
        i = torch.empty(8, 16, dtype=torch.int8, device="meta")
        assert torch.ops.einloom.einsum("mk,nk->mn", [i, i], None).dtype == torch.int32
        f = torch.ops.einloom.einsum("mk,nk->mn", [a, b], torch.float32)
        assert f.dtype == torch.float32


@pytest.mark.skipif(not gpu_available()[0], reason=gpu_available()[1])
def test_torch_compile_calls_it_without_a_graph_break():
    class Linear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(256, 128, device="cuda", dtype=torch.float16))

        def forward(self, x):
            return torch.relu(et.einsum("mk,nk->mn", x, self.w))

    m = Linear()
    x = torch.randn(16, 128, device="cuda", dtype=torch.float16)
    explanation = torch._dynamo.explain(m)(x)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    compiled = torch.compile(m, fullgraph=True)
    y = compiled(x)
    ref = torch.relu(x.float() @ m.w.float().t())
    assert ((y.float() - ref).norm() / ref.norm()).item() < 4e-3


@pytest.mark.skipif(not gpu_available()[0], reason=gpu_available()[1])
@pytest.mark.parametrize("spec,shapes", [
    ("mk,nk->mn", [(48, 64), (40, 64)]),
    ("bij,bjk->bik", [(3, 32, 16), (3, 16, 24)]),
    ("ii,ij->j", [(16, 16), (16, 8)]),                  # torch.einsum's backward
])
def test_gradients_match_torch(spec, shapes):
    xs = [torch.randn(*s, device="cuda", dtype=torch.float32).requires_grad_() for s in shapes]
    y = et.einsum(spec, *xs)
    g = torch.randn_like(y)
    got = torch.autograd.grad(y, xs, g)
    ref = torch.autograd.grad(torch.einsum(spec, *[x.double() for x in xs]), xs, g.double())
    for a, r in zip(got, ref):
        assert a.dtype == torch.float32
        assert ((a.double() - r).norm() / r.norm()).item() < 1e-5
