"""Speed of the identity linking step (:func:`dfec.tracking.link.link_groups`, centroid linkage of
tracklets by their mean embeddings) against the number of tracklets, on one CPU core.

A crowd video cut into many shots gives many short tracklets: each person's face comes back as a
new tracklet after every cut or occlusion. The synthetic crowd here has ``n / 8`` people, each
seen in 8 tracklets of 1-4 noisy 128-d views (dlib's size; within-person cosine distance about
0.03, like the real linking embeddings), tracklets of one person never sharing a frame. Prints
the median of ``--repeat`` runs per size, the groups found, and the load average beside them.

    python benchmarks/link_speed.py [--sizes 100,400,1600] [--repeat 3]
    PYTHONPATH=<other checkout>/src python benchmarks/link_speed.py   # another version, same run
"""
from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import time  # noqa: E402

import numpy as np  # noqa: E402


def crowd(n: int, seed: int = 0):
    """``n`` tracklets of ``n // 8`` people: (frames, embeddings)."""
    rng = np.random.default_rng(seed)
    people = max(1, n // 8)
    centre = rng.normal(size=(people, 128))
    centre /= np.linalg.norm(centre, axis=1, keepdims=True)
    frames, embs = [], []
    for k in range(n):
        p, slot = k % people, k // people
        frames.append(set(range(slot * 40 + 5 * (p % 7), slot * 40 + 5 * (p % 7) + 30)))
        embs.append([centre[p] + rng.normal(scale=0.02, size=128) for _ in range(int(rng.integers(1, 5)))])
    return frames, embs


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,400,1600")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from dfec.tracking import link

    print(f"link_groups from {link.__file__}")
    print("| tracklets | people | groups found | median s | runs | load avg (1 min) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in (int(x) for x in args.sizes.split(",")):
        frames, embs = crowd(n)
        times, groups = [], None
        for _ in range(args.repeat):
            t = time.perf_counter()
            groups = link.link_groups(frames, embs, max_distance=0.05)
            times.append(time.perf_counter() - t)
        print(f"| {n} | {max(1, n // 8)} | {len(groups)} | {np.median(times):.3f} | {args.repeat} | {os.getloadavg()[0]:.2f} |")


if __name__ == "__main__":
    main()
