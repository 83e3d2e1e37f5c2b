"""Mutates a bundle's manifest (not its images) and rewrites the header's
size and checksum, so the runtime's reader gets past the checksum and must
judge the manifest itself.

usage: mutate-bundle.py BUNDLE OUT LINE-REGEX REPLACEMENT
       mutate-bundle.py --fuzz BUNDLE OUT-DIR N RUNNER
The first form replaces the first manifest line matching LINE-REGEX. The
second writes N random mutations (numbers set to extremes, lines deleted,
duplicated or swapped, words dropped) and runs RUNNER on each with no CUDA
driver: each must exit with status 1 (a refused manifest, or the driver's
error once it is read), never a signal or another status. Prints a summary;
exits 1 on any other outcome."""
import os
import random
import re
import subprocess
import sys


def fnv1a(data):
    h = 1469598103934665603
    for c in data:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def split(path):
    data = open(path, "rb").read()
    payload = data[data.index(b"\n") + 1:]
    at = payload.find(b"image ")
    return payload[:at], payload[at:]


def write(out, manifest, images):
    payload = manifest + images
    with open(out, "wb") as f:
        f.write(b"EINLOOM-BUNDLE 1 %d %016x\n" % (len(payload), fnv1a(payload)) + payload)


EXTREMES = [b"0", b"-1", b"-2", b"2147483648", b"4294967296", b"9223372036854775807",
            b"-9223372036854775808", b"99999999999999999999", b"?", b"nan", b"1e308", b"x", b""]


def mutate(manifest, r):
    lines = manifest.split(b"\n")
    k = r.randrange(max(1, len(lines) - 1))
    op = r.randrange(5)
    if op == 0:
        words = lines[k].split(b" ")
        j = r.randrange(len(words))
        for sep in (b",", b"x"):
            if sep in words[j] and r.random() < 0.5:
                parts = words[j].split(sep)
                parts[r.randrange(len(parts))] = r.choice(EXTREMES)
                words[j] = sep.join(parts)
                break
        else:
            words[j] = r.choice(EXTREMES)
        lines[k] = b" ".join(words)
    elif op == 1:
        del lines[k]
    elif op == 2:
        lines.insert(k, lines[r.randrange(len(lines))])
    elif op == 3:
        words = lines[k].split(b" ")
        if len(words) > 1:
            del words[r.randrange(1, len(words))]
        lines[k] = b" ".join(words)
    else:
        a, b = r.randrange(len(lines)), r.randrange(len(lines))
        lines[a], lines[b] = lines[b], lines[a]
    return b"\n".join(lines)


def main():
    if sys.argv[1] != "--fuzz":
        manifest, images = split(sys.argv[1])
        lines = manifest.split(b"\n")
        pattern = re.compile(sys.argv[3].encode())
        for i, line in enumerate(lines):
            if pattern.search(line):
                lines[i] = sys.argv[4].encode()
                break
        else:
            sys.exit(f"no manifest line matches {sys.argv[3]!r}")
        write(sys.argv[2], b"\n".join(lines), images)
        return
    path, outdir, n, runner = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    manifest, images = split(path)
    env = dict(os.environ, EINLOOM_LIBCUDA=os.path.join(outdir, "no-driver.so"))
    refused = read = 0
    for seed in range(n):
        r = random.Random(seed)
        m = manifest
        for _ in range(r.randint(1, 3)):
            m = mutate(m, r)
        out = os.path.join(outdir, "mutated.bundle")
        write(out, m, images)
        p = subprocess.run([runner, out], capture_output=True, text=True, timeout=60, env=env)
        said = p.stdout + p.stderr
        if p.returncode != 1:
            print(f"mutation {seed}: status {p.returncode}: {said.strip()[-300:]}")
            sys.exit(1)
        if "cannot load the CUDA driver" in said:
            read += 1
        else:
            refused += 1
    print(f"{n} mutations: {refused} refused, {read} read as far as the driver, 0 other")


if __name__ == "__main__":
    main()
