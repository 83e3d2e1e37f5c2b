"""The Megatron MLP block, tensor-parallel over the GPUs of one host, with
Einloom and NCCL:

    torchrun --nproc-per-node 4 examples/sharded/mlp_torchrun.py \
        [--tokens 4096 --hidden 8192 --ffn 28672 --dtype bf16] [--sp] [--iters 20]

Every rank compiles the same sharded program (the block with `loom.shard` on
its einsums and the mesh tp = the world size), joins an einloom.Communicator
made over the torch.distributed group, runs its slice of the weights, and
checks its result against torch's single-GPU block on the same inputs.
`--sp` is sequence parallelism (the tokens split, all-gathered before the
block and reduce-scattered after it). `--stall-rank R` makes rank R stop
before the launch (it sleeps, then leaves): the others must stop with a
clear error within `--timeout-ms`, not hang. Needs the package's library (`make python`) and
NCCL (PyTorch's, or EINLOOM_LIBNCCL).
"""
import argparse
import os
import sys
import time

import torch
import torch.distributed as dist

import einloom
import einloom.torch


def program(tokens, hidden, ffn, dtype, ranks, sp):
    t = f"tensor<{tokens}x{hidden}x{dtype}>"
    w1 = f"tensor<{ffn}x{hidden}x{dtype}>"
    w2 = f"tensor<{hidden}x{ffn}x{dtype}>"
    h = f"tensor<{tokens}x{ffn}x{dtype}>"
    x_split = ' {loom.sharding = ["tp", ""]}' if sp else ""
    out_split = ', loom.out_shard = {t = "tp"}' if sp else ""
    return f"""
func.func @mlp(%x: {t}{x_split}, %w1: {w1}, %w2: {w2}) -> {t}
    attributes {{loom.mesh = #loom.mesh<["tp" = {ranks}]>}} {{
  %h = loom.einsum "th,fh->tf" (%x, %w1) {{loom.shard = {{f = "tp"}}}} : ({t}, {w1}) -> {h}
  %a = loom.activation gelu %h : {h}
  %y = loom.einsum "tf,hf->th" (%a, %w2) {{loom.shard = {{f = "tp"}}{out_split}}} : ({h}, {w2}) -> {t}
  return %y : {t}
}}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--ffn", type=int, default=4096)
    ap.add_argument("--dtype", choices=["f16", "bf16"], default="bf16")
    ap.add_argument("--sp", action="store_true", help="sequence parallelism")
    ap.add_argument("--iters", type=int, default=0, help="time this many blocks (0: none)")
    ap.add_argument("--timeout-ms", type=int, default=30000)
    ap.add_argument("--stall-rank", type=int, default=-1,
                    help="this rank stops before the launch (the others must time out)")
    a = ap.parse_args()

    dist.init_process_group("nccl")
    rank, ranks = dist.get_rank(), dist.get_world_size()
    local = int(os.environ.get("LOCAL_RANK", rank))
    torch.cuda.set_device(local)
    tdtype = {"f16": torch.float16, "bf16": torch.bfloat16}[a.dtype]
    say = (lambda *m: print(*m, flush=True)) if rank == 0 else (lambda *m: None)

    start = time.time()
    k = einloom.compile_mlir(program(a.tokens, a.hidden, a.ffn, a.dtype, ranks, a.sp))
    say(f"compiled the tp={ranks} block in {time.time() - start:.1f} s: "
        + ", ".join(kk["op"] for kk in k.kernels))
    comm = einloom.torch.communicator()
    k.use_communicator(comm)

    # The same whole inputs on every rank; each passes its slices.
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(a.tokens, a.hidden, device="cuda", generator=g).to(tdtype)
    w1 = (torch.randn(a.ffn, a.hidden, device="cuda", generator=g) / a.hidden ** 0.5).to(tdtype)
    w2 = (torch.randn(a.hidden, a.ffn, device="cuda", generator=g) / a.ffn ** 0.5).to(tdtype)
    mine = [k.local_slice(i, t, rank).contiguous() for i, t in enumerate((x, w1, w2))]

    if rank == a.stall_rank:
        print(f"rank {rank}: stopping before the launch (--stall-rank)", flush=True)
        time.sleep(2 * a.timeout_ms / 1000 + 10)
        os._exit(3)
    stream = torch.cuda.current_stream().cuda_stream
    try:
        y = k(*mine)
        k.finish(device=local, stream=stream, timeout_ms=a.timeout_ms)
    except einloom.Error as e:
        print(f"rank {rank}: stopped with an error: {e}", flush=True)
        sys.exit(2)

    # torch's single-GPU block on the whole inputs, f32 sums.
    h = torch.nn.functional.gelu(x.float() @ w1.float().T, approximate="tanh").to(tdtype)
    want = k.output_slice(0, (h.float() @ w2.float().T).to(tdtype), rank)
    err = ((y.float() - want.float()).abs().max() / want.float().abs().max()).item()
    tol = 2e-2 if a.dtype == "bf16" else 4e-3
    ok = err <= tol
    print(f"rank {rank}: max error {err:.2e} of the largest value (tolerance {tol:g}): "
          f"{'PASS' if ok else 'FAIL'}", flush=True)

    if a.iters:
        ev = [torch.cuda.Event(enable_timing=True) for _ in range(2)]
        for _ in range(3):
            k(*mine)
        dist.barrier()
        ev[0].record()
        for _ in range(a.iters):
            k(*mine)
        ev[1].record()
        k.finish(device=local, stream=stream, timeout_ms=a.timeout_ms)
        us = ev[0].elapsed_time(ev[1]) * 1000 / a.iters
        # The peer: torch's block on one GPU, whole inputs, same process.
        def torch_block():
            hh = torch.nn.functional.gelu(x @ w1.T, approximate="tanh")
            return hh @ w2.T
        for _ in range(3):
            torch_block()
        torch.cuda.synchronize()
        ev[0].record()
        for _ in range(a.iters):
            torch_block()
        ev[1].record()
        torch.cuda.synchronize()
        peer = ev[0].elapsed_time(ev[1]) * 1000 / a.iters
        say(f"tp={ranks}{' sp' if a.sp else ''} {a.tokens}x{a.hidden}x{a.ffn} {a.dtype}: "
            f"{us:.1f} us a block (rank 0); torch on one GPU {peer:.1f} us: "
            f"{peer / us:.2f}x ({peer / us / ranks:.2f} of linear scaling)")
    dist.destroy_process_group()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
