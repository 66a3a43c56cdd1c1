"""Speed of the face tracking module (``dfec track``) on the bundled test clip.

Prints frames per second at the 16 fps analysis rate and where the time goes
(decode / detect / landmarks / embed / track / post), for the default configuration and, with
``--compare``, for the variants without the two speed-ups (whole-frame detection on every frame;
a fresh embedding for every face on every frame). Pinned to one CPU core by default (the issue's
target: faster than real time on one core).

    python benchmarks/track_speed.py [VIDEO] [--repeat 3] [--cores 1] [--compare] [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = REPO.parent / "shared" / "data" / "01-01-08-02-01-01-19.mp4"
STAGES = ("decode", "detect", "landmarks", "embed", "track", "post", "write")


def _pin(cores: int) -> str:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(cores)
    try:
        avail = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(avail[:cores]))
        return f"pinned to CPU {avail[:cores]}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", nargs="?", default=str(DEFAULT_CLIP))
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration; the median run is shown")
    ap.add_argument("--cores", type=int, default=1, help="CPU cores to pin to (0 = do not pin)")
    ap.add_argument("--compare", action="store_true", help="also time the variants without the speed-ups")
    ap.add_argument("--out", help="also write the outputs (crops, contact sheet) here; default: a temp folder")
    args = ap.parse_args(argv)
    pinned = _pin(args.cores) if args.cores > 0 else "not pinned"

    import cv2

    cv2.setNumThreads(max(1, args.cores))
    from dfec.errors import DfecError
    from dfec.tracking.config import TrackConfig
    from dfec.tracking.pipeline import FaceModels, track
    from dfec.video import probe

    try:
        info = probe(args.video)
    except DfecError as exc:
        print(f"track_speed: {exc.message}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    models = FaceModels(config=TrackConfig())
    load_s = time.perf_counter() - t0

    variants = [("default", TrackConfig())]
    if args.compare:
        variants += [("detect whole frame every frame", TrackConfig(detect_full_every=1)),
                     ("embed every face every frame", TrackConfig(embed_every=1)),
                     ("neither speed-up", TrackConfig(detect_full_every=1, embed_every=1))]

    rows = []
    for name, cfg in variants:
        runs = []
        for _ in range(max(1, args.repeat)):
            with tempfile.TemporaryDirectory() as tmp:
                out = args.out or tmp
                t, c = time.perf_counter(), time.process_time()
                res = track(args.video, cfg, out_dir=out, models=models)
                wall, cpu = time.perf_counter() - t, time.process_time() - c
            runs.append((wall, cpu, res))
        wall, cpu, res = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
        rows.append((name, wall, cpu, res))

    print(f"clip: {Path(args.video).name}  {info.width}x{info.height}, {info.duration:.2f} s at {info.fps:.2f} fps; "
          f"analysed at 16 fps; {pinned}; model load {load_s:.2f} s (once, not in the table)")
    head = "| configuration | frames | wall s | cpu s | fps | fps (cpu) | x real time | " + " | ".join(f"{s} s" for s in STAGES) + " | embeddings computed/borrowed |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name, wall, cpu, res in rows:
        tm = res.timings
        n = res.n_frames
        cells = " | ".join(f"{tm.get(s, 0.0):.3f}" for s in STAGES)
        print(f"| {name} | {n} | {wall:.2f} | {cpu:.2f} | {n / wall:.1f} | {n / cpu:.1f} | {res.duration / wall:.2f} | {cells} | "
              f"{int(tm.get('n_embedded', 0))}/{int(tm.get('n_borrowed', 0))} |")
    name, wall, cpu, res = rows[0]
    verdict = "faster" if wall < res.duration else "slower"
    if cpu < 0.8 * wall:
        print(f"note: the process got {100 * cpu / wall:.0f}% of its core (other load on the machine); "
              "'fps (cpu)' is the rate on an unshared core")
    print(f"default: {res.n_frames} frames in {wall:.2f} s wall ({cpu:.2f} s CPU) = {res.n_frames / wall:.1f} fps; "
          f"{verdict} than real time ({res.duration:.2f} s of video); per frame "
          + ", ".join(f"{s} {1000 * res.timings.get(s, 0.0) / max(1, res.n_frames):.1f} ms" for s in STAGES[:5]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
