#!/usr/bin/env python3
"""Writes a small .npy file without NumPy, for the lit tests.

npy.py OUT DESCR SHAPE VALUES [--truncate-data N]
  DESCR   '<f4', '<f8', '<f2', '|i1', '<i4', ...
  SHAPE   comma-separated dims ('' for a scalar)
  VALUES  comma-separated numbers, row-major
"""
import struct
import sys

out, descr, shape_s, values_s = sys.argv[1:5]
truncate = None
if len(sys.argv) > 6 and sys.argv[5] == "--truncate-data":
    truncate = int(sys.argv[6])
shape = tuple(int(d) for d in shape_s.split(",") if d)
fmt = {"<f2": "<e", "<f4": "<f", "<f8": "<d", "|i1": "<b", "<i2": "<h",
       "<i4": "<i", "<i8": "<q", "|u1": "<B"}[descr]
vals = [float(v) if "f" in descr else int(v) for v in values_s.split(",") if v]
data = b"".join(struct.pack(fmt, v) for v in vals)
if truncate is not None:
    data = data[:truncate]
shape_txt = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_txt)
pad = (64 - (10 + len(header) + 1) % 64) % 64
header = header + " " * pad + "\n"
with open(out, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)
