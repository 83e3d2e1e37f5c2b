"""einloom.einsum as a PyTorch custom op: torch.compile graphs call it as one
opaque node, without a graph break.

    import einloom.torch
    y = torch.ops.einloom.einsum("mk,nk->mn", [x, w], None)
    # or einloom.torch.einsum("mk,nk->mn", x, w)

The fake (meta) implementation gives the result's shape and type from the
spec, so tracing never runs the kernel.
"""
from typing import List, Optional

import torch

from . import einsum as _einsum
from ._spec import default_out, dtype_name, label_sizes


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
