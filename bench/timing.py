"""Timing helpers shared by the benchmarks (torch only, no einloom import):
CUDA-graph capture, rounds of back-to-back calls between CUDA events, and
the --json file that bench/plot.py draws."""
import json
import sys

import torch


def save_json(family, rows, keys):
    """With --json FILE on the command line: the rows as [{key: value}],
    tagged with the family, the device and the date, for bench/plot.py."""
    if "--json" not in sys.argv:
        return
    import datetime
    path = sys.argv[sys.argv.index("--json") + 1]
    doc = {"family": family, "device": torch.cuda.get_device_name(),
           "date": datetime.date.today().isoformat(), "torch": torch.__version__,
           "rows": [dict(zip(keys, r)) for r in rows]}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)


def graphed(fn, reps):
    """`reps` calls of `fn` captured in one CUDA graph (as a serving engine
    runs a decode step), so that the host's launch cost, Python's included,
    stays out of the GPU's time; None where capture fails."""
    try:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            fn()
        torch.cuda.current_stream().wait_stream(side)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            for _ in range(reps):
                fn()
        torch.cuda.synchronize()
        return g
    except Exception as ex:  # report, and time the launches instead
        print(f"CUDA graph capture failed ({str(ex).strip().splitlines()[-1]}); "
              "timing plain launches", flush=True)
        return None


def batched_ms(fns, rounds, reps=20, warmup=3, graphs=False):
    """Median over `rounds` of the milliseconds per call of each of `fns`,
    each round timing `reps` back-to-back calls between two CUDA events,
    the functions taking turns round by round. Back-to-back launches keep
    the host's launch cost (CuPy's and PyTorch's Python) out of the GPU's
    time, as in a model's consecutive layers."""
    import statistics
    per = reps
    if graphs:
        gs = [graphed(fn, reps) for fn in fns]
        if all(g is not None for g in gs):
            fns, reps = [g.replay for g in gs], 1
    for _ in range(warmup):
        for fn in fns:
            fn()
    torch.cuda.synchronize()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, out in zip(fns, times):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            for _ in range(reps):
                fn()
            e.record()
            e.synchronize()
            out.append(s.elapsed_time(e) / per)
    return [statistics.median(t) for t in times]


def runner_ms(runner, bundle, iters, *extra):
    """The median milliseconds of a whole bundle as einloom-run-rt --bench
    measures it (batches of 20 back-to-back launches, seed 1; `extra` goes
    to the runner too)."""
    import re
    import subprocess
    out = subprocess.run([runner, bundle, "--no-check", "--bench", "--iters", str(iters),
                          "--batch", "20", "--seed", "1", *extra], capture_output=True,
                         text=True, timeout=600)
    m = re.search(r"bench: median ([0-9.]+) ms", out.stdout)
    if not m:
        raise RuntimeError(f"{bundle}: no time\n{out.stdout}{out.stderr}")
    return float(m.group(1))


def runner_args(doc):
    """RUNNER FOLDER [--iters N] from the command line (the usage `doc` when
    they are missing)."""
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(doc)
    iters = int(args[args.index("--iters") + 1]) if "--iters" in args else 20
    return args[0], args[1], iters
