#!/usr/bin/env python3
"""Draws the benchmarks' JSON results (--json FILE of bench_gemm.py,
bench_einsum.py, bench_decode.py, bench_sparse.py) as PNG plots with
matplotlib.

usage: plot.py RESULT.json... [--out DIR]

- every family: Einloom's speed-up over the peer timed in the same run, one
  bar per case (1.0 = parity, drawn as a line);
- decode and memory-bound einsums also: the bandwidth each case reached
  against the device copy's (the roofline for a kernel that reads its bytes
  once);
- sparse weights: the speed-up over dense cuBLAS against sparsity, one line
  per shape, with the ideal that the bytes allow (Tiled-CSL moves 4 bytes
  per non-zero against 2 per element: 1 / (2 x density)).

Run it with the distribution's Python (/usr/bin/python3, which has
python3-matplotlib). One PNG per input and plot, named after the input.
Exit status 1 on a file that is not such a result (the message says why).
"""
import json
import os
import sys


def speedups(doc):
    """(case, einloom over peer) per row, for each family's columns."""
    out = []
    for r in doc["rows"]:
        if "peer_ms" in r and r.get("einloom_ms"):
            out.append((r["case"], r["peer_ms"] / r["einloom_ms"]))
        elif "einloom_over_torch" in r:
            out.append((r["case"], r["einloom_over_torch"]))
    return out


def bandwidth(doc):
    """(case, fraction of the copy's bandwidth) where the rows carry it."""
    out = []
    for r in doc["rows"]:
        if "einloom_bps" in r and r.get("copy_bps"):
            out.append((r["case"], r["einloom_bps"] / r["copy_bps"]))
        elif "einloom_over_copy" in r:
            out.append((r["case"], r["einloom_over_copy"]))
    return out


def by_density(doc):
    """{case: [(sparsity %, einloom over dense)]} for the sparse family."""
    out = {}
    for r in doc["rows"]:
        if "density" in r and r.get("einloom_ms") and r.get("peer_ms"):
            out.setdefault(r["case"], []).append((100 * (1 - r["density"]),
                                                  r["peer_ms"] / r["einloom_ms"]))
    return {c: sorted(v) for c, v in out.items()}


def density_plot(plt, curves, title, path):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for case, pts in curves.items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=case)
    xs = [s for s in range(30, 100, 1)]
    ideal = [min(6.0, 1 / (2 * (1 - s / 100))) for s in xs]
    ax.plot(xs, ideal, color="gray", linestyle="--", label="bytes' ideal (Tiled-CSL)")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("sparsity (%)")
    ax.set_ylabel("einloom / dense cuBLAS (same run)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def bars(plt, pairs, ylabel, title, path, line):
    fig, ax = plt.subplots(figsize=(max(6, 0.28 * len(pairs) + 2), 4.5))
    names = [p[0] for p in pairs]
    ax.bar(range(len(pairs)), [p[1] for p in pairs], color="#4472c4")
    ax.axhline(line, color="black", linewidth=0.8)
    ax.set_xticks(range(len(pairs)))
    ax.set_xticklabels(names, rotation=75, ha="right", fontsize=7)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv):
    out_dir = "."
    if "--out" in argv:
        i = argv.index("--out")
        out_dir = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 1
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(out_dir, exist_ok=True)
    for path in argv:
        try:
            with open(path) as f:
                doc = json.load(f)
            rows, family = doc["rows"], doc["family"]
            if not isinstance(rows, list):
                raise TypeError("'rows' is not a list")
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"plot.py: {path}: not a benchmark result ({e})", file=sys.stderr)
            return 1
        stem = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0])
        where = f"{doc.get('device', '?')}, {doc.get('date', '?')}"
        if family == "sparse":
            curves = by_density(doc)
            if not curves:
                print(f"plot.py: {path}: no row has a timing to plot", file=sys.stderr)
                return 1
            print(density_plot(plt, curves, f"sparse weights: speed-up ({where})",
                               stem + "-density.png"))
            continue
        s = speedups(doc)
        if s:
            print(bars(plt, s, "einloom / peer (same run)", f"{family}: speed-up ({where})",
                       stem + "-speedup.png", 1.0))
        b = bandwidth(doc)
        if b:
            print(bars(plt, b, "fraction of copy bandwidth", f"{family}: bandwidth ({where})",
                       stem + "-bandwidth.png", 1.0))
        if not s and not b:
            print(f"plot.py: {path}: no row has a timing to plot", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
