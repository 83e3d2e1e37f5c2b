"""Einsum specs as NumPy reads them: labels, `...`, implicit output."""
import string

from ._capi import Error

# MLIR's element type names, and the names users type.
DTYPES = ("f64", "f32", "f16", "bf16", "f8E4M3FN", "f8E5M2", "i8", "i32")
ALIASES = {"double": "f64", "float64": "f64", "fp64": "f64", "float": "f32", "float32": "f32",
           "fp32": "f32", "half": "f16", "float16": "f16", "fp16": "f16", "bfloat16": "bf16",
           "e4m3": "f8E4M3FN", "e4m3fn": "f8E4M3FN", "fp8": "f8E4M3FN",
           "float8_e4m3fn": "f8E4M3FN", "e5m2": "f8E5M2", "float8_e5m2": "f8E5M2",
           "int8": "i8", "int32": "i32", "int": "i32"}


def dtype_name(x):
    """MLIR's name of an element type given as a string, a NumPy dtype or a
    torch.dtype."""
    if x is None:
        return None
    name = getattr(x, "name", None) if not isinstance(x, str) else x
    if name is None:  # torch.dtype prints as torch.float16
        name = str(x).replace("torch.", "")
    name = str(name)
    if name in DTYPES:
        return name
    if name.lower() in ALIASES:
        return ALIASES[name.lower()]
    raise Error(f"einloom: unknown element type {x!r}; expected one of {', '.join(DTYPES)} "
                f"(or {', '.join(sorted(ALIASES))})")


def default_out(dtype):
    """The result type an einsum of `dtype` operands gets by default."""
    return "i32" if dtype == "i8" else dtype


def parse(spec, ranks):
    """(operand labels, output labels) with each `...` written out as fresh
    upper-case labels, right-aligned across the operands (NumPy's rule)."""
    if not isinstance(spec, str) or not spec:
        raise Error(f"einloom: an einsum spec is a non-empty string, not {spec!r}")
    s = spec.replace(" ", "")
    lhs, arrow, rhs = s.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(ranks):
        raise Error(f"einloom: einsum {spec!r} names {len(subs)} operand(s), got {len(ranks)}")
    used = set(c for c in s if c.isalpha())
    fresh = [c for c in string.ascii_uppercase + string.ascii_lowercase if c not in used]
    ell_rank = 0
    for sub, rank in zip(subs, ranks):
        named = sum(1 for c in sub if c.isalpha())
        if sub.replace("...", "").isalpha() or sub.replace("...", "") == "":
            pass
        else:
            raise Error(f"einloom: einsum {spec!r}: subscripts are letters and '...', not {sub!r}")
        if "..." in sub:
            if sub.count("...") > 1:
                raise Error(f"einloom: einsum {spec!r}: '...' more than once in {sub!r}")
            if rank < named:
                raise Error(f"einloom: einsum {spec!r}: operand {sub!r} has rank {rank}")
            ell_rank = max(ell_rank, rank - named)
        elif named != rank:
            raise Error(f"einloom: einsum {spec!r}: operand {sub!r} names {named} dimension(s) "
                        f"but has {rank}")
    ell = "".join(fresh[:ell_rank])
    ins = []
    for sub, rank in zip(subs, ranks):
        named = sum(1 for c in sub if c.isalpha())
        mine = ell[ell_rank - (rank - named):] if "..." in sub else ""
        ins.append(sub.replace("...", mine))
    if arrow:
        if rhs.count("...") > 1 or not rhs.replace("...", "").isalpha() and rhs.replace("...", ""):
            raise Error(f"einloom: einsum {spec!r}: bad output {rhs!r}")
        out = rhs.replace("...", ell)
    else:  # implicit: the `...` labels, then the labels used once, sorted
        counts = {}
        for sub in ins:
            for c in sub:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c in counts if counts[c] == 1 and c not in ell))
    if len(set(out)) != len(out):
        raise Error(f"einloom: einsum {spec!r}: a label repeats in the output")
    for c in out:
        if not any(c in sub for sub in ins):
            raise Error(f"einloom: einsum {spec!r}: output label {c!r} is in no operand")
    return ins, out


def label_sizes(spec, shapes):
    """{label: size} from the operands' shapes (a size-1 dimension
    broadcasts), and the output's shape; Error on a mismatch."""
    ins, out = parse(spec, [len(s) for s in shapes])
    sizes = {}
    for sub, shape in zip(ins, shapes):
        for c, d in zip(sub, shape):
            d = int(d)
            if d < 0:
                raise Error(f"einloom: negative dimension in shape {tuple(shape)}")
            if c in sizes and sizes[c] != d and 1 not in (sizes[c], d):
                raise Error(f"einloom: einsum {spec!r}: label {c!r} has size {sizes[c]} in one "
                            f"operand and {d} in another")
            sizes[c] = max(sizes.get(c, d), d) if 1 in (sizes.get(c, d), d) else d
    return sizes, [sizes[c] for c in out], ins, out


def gradient_specs(spec, shapes):
    """The einsum giving each operand's gradient from the result's gradient
    and the other operands (`OUT,others->operand`), or None where the
    gradient is not such an einsum (see the module's note)."""
    sizes, _, ins, out = label_sizes(spec, shapes)
    specs = []
    for i, sub in enumerate(ins):
        others = [x for j, x in enumerate(ins) if j != i]
        elsewhere = set(out).union(*others) if others else set(out)
        if len(set(sub)) != len(sub) or any(c not in elsewhere for c in sub) \
                or len(set(out)) != len(out):
            return None
        specs.append(",".join([out] + others) + "->" + sub)
    for sub, shape in zip(ins, shapes):
        if any(int(d) != sizes[c] for c, d in zip(sub, shape)):
            return None  # a broadcast dimension: its gradient is a sum
    return specs
