"""einloom.einsum as a PyTorch custom op: torch.compile graphs call it as one
opaque node, without a graph break.

    import einloom.torch
    y = torch.ops.einloom.einsum("mk,nk->mn", [x, w], None)
    # or einloom.torch.einsum("mk,nk->mn", x, w)

The fake (meta) implementation gives the result's shape and type from the
spec, so tracing never runs the kernel. The op is differentiable: the
gradient of each operand is itself an einsum (the result's gradient with
the other operands, onto that operand's labels), run by einloom; where that
einsum is not a plain one (a label repeated within the operand, a label
summed in that operand alone, a broadcast size-1 dimension) the gradient
comes from torch.einsum's own backward instead.
"""
from typing import List, Optional

import torch

from . import einsum as _einsum
from ._spec import default_out, dtype_name, gradient_specs, label_sizes  # noqa: F401


@torch.library.custom_op("einloom::einsum", mutates_args=())
def _einsum_op(spec: str, operands: List[torch.Tensor], out_dtype: Optional[torch.dtype]) -> torch.Tensor:
    return _einsum(spec, *operands, out_dtype=out_dtype)


def _result_dtype(operands, out_dtype):
    if out_dtype is not None:
        return out_dtype
    name = default_out(dtype_name(operands[0].dtype))
    return {"i32": torch.int32}.get(name, operands[0].dtype)


@_einsum_op.register_fake
def _(spec, operands, out_dtype):
    _, shape, _, _ = label_sizes(spec, [tuple(o.shape) for o in operands])
    return operands[0].new_empty(shape, dtype=_result_dtype(operands, out_dtype))


def einsum(spec, *operands, out_dtype=None):
    """einloom.einsum through the registered op (traceable by torch.compile)."""
    return torch.ops.einloom.einsum(spec, list(operands), out_dtype)


def _setup_context(ctx, inputs, output):
    spec, operands, out_dtype = inputs
    ctx.spec = spec
    ctx.save_for_backward(*operands)


def _backward(ctx, grad):
    operands = ctx.saved_tensors
    specs = gradient_specs(ctx.spec, [tuple(o.shape) for o in operands])
    if specs is None or not grad.is_cuda:
        with torch.enable_grad():
            xs = [o.detach().double().requires_grad_() for o in operands]
            y = torch.einsum(ctx.spec, *xs)
            gs = torch.autograd.grad(y, xs, grad.double())
        return None, [g.to(o.dtype) for g, o in zip(gs, operands)], None
    grads = []
    for i, (gspec, x) in enumerate(zip(specs, operands)):
        others = [o for j, o in enumerate(operands) if j != i]
        g = grad.to(x.dtype).contiguous()
        grads.append(einsum(gspec, g, *others))
    return None, grads, None


_einsum_op.register_autograd(_backward, setup_context=_setup_context)


def communicator(group=None):
    """An einloom.Communicator over the ranks of a torch.distributed group
    (the default group when None): rank 0 makes NCCL's unique id and
    broadcasts it, then every rank joins on its current CUDA device. Call it
    on every rank of the group."""
    import torch.distributed as dist
    from . import Communicator
    uid = [Communicator.unique_id() if dist.get_rank(group) == 0 else None]
    src = 0 if group is None else dist.get_global_rank(group, 0)
    dist.broadcast_object_list(uid, src=src, group=group)
    return Communicator(uid[0], dist.get_world_size(group), dist.get_rank(group))
