"""Writes corrupt and mismatched .safetensors files into DIR for
test/Tools/import.test (each one error of einloom-import)."""
import json
import os
import struct
import sys

d = sys.argv[1]
os.makedirs(d, exist_ok=True)


def write(name, header, data, length=None, cut=None):
    h = json.dumps(header).encode() if isinstance(header, dict) else header
    raw = struct.pack("<Q", len(h) if length is None else length) + h + data
    with open(os.path.join(d, name), "wb") as f:
        f.write(raw if cut is None else raw[:cut])


def t(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


# K = 128, N = 32, one group: qweight [K, N/8], qzeros [1, N/8], scales [1, N].
good = {"l.qweight": t("I32", [128, 4], 0, 2048), "l.qzeros": t("I32", [1, 4], 2048, 2064),
        "l.scales": t("F16", [1, 32], 2064, 2128)}
write("good-awq.safetensors", good, bytes(2128))
write("short.safetensors", b"", b"", cut=5)
write("length.safetensors", good, bytes(2128), length=1 << 40)
write("json.safetensors", b"{not json", bytes(16))
write("outside.safetensors", good, bytes(2000))
write("size.safetensors", dict(good, **{"l.scales": t("F16", [1, 32], 2064, 2122)}), bytes(2128))
write("overlap.safetensors", dict(good, **{"l.qzeros": t("I32", [1, 4], 2000, 2016)}), bytes(2128))
write("nozeros.safetensors", {k: v for k, v in good.items() if k != "l.qzeros"}, bytes(2128))
# AutoAWQ's "gemv" version packs [N, K/8]: qweight 32 x 16 against scales 1 x 32.
write("gemv.safetensors", dict(good, **{"l.qweight": t("I32", [32, 16], 0, 2048)}), bytes(2128))
write("dtype.safetensors", dict(good, **{"l.qweight": t("F32", [128, 4], 0, 2048)}), bytes(2128))
