"""Wall time of the shared batch runner (:mod:`dfec.batch`) for ``dfec caption --list``.

Captions the same clips with the landmark captioner in this process (``--workers 1``) and over a
process pool (``--workers N`` for each N given), checks that every path writes the same records,
and prints one Markdown table with the load average beside each figure. ``--ray`` adds a local Ray
run when Ray is installed.

    python benchmarks/batch_speed.py [--media DIR] [--clips 6] [--workers 2 4] [--ray]

Workers are spawned processes that each load the captioner once, so the pool pays a start-up cost
per worker; the figure that matters is the time per clip once many clips are queued.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MEDIA = REPO.parent / "shared" / "data"


def _run(lst: Path, out: Path, extra: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "dfec.cli", "caption", "--list", str(lst), "--out", str(out), "--quiet",
                          *extra], env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"dfec caption --list {' '.join(extra)} failed: {res.stderr.strip()[-500:]}")
    return dt


def _records(path: Path) -> dict:
    return {r["id"]: r["caption"] for r in (json.loads(x) for x in path.read_text().splitlines() if x.strip())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--media", default=str(DEFAULT_MEDIA))
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--workers", type=int, nargs="*", default=[2])
    ap.add_argument("--ray", action="store_true")
    args = ap.parse_args()
    clips = sorted((Path(args.media) / "wild").glob("*.mp4"))[: args.clips]
    if not clips:
        sys.exit(f"no clips under {args.media}/wild")
    with tempfile.TemporaryDirectory() as tmp:
        lst = Path(tmp) / "videos.txt"
        lst.write_text("".join(f"{c.stem}\t{c}\n" for c in clips))
        variants = [("in-process", ["--workers", "1"])] + [(f"pool x{n}", ["--workers", str(n)]) for n in args.workers]
        if args.ray:
            variants.append((f"ray x{max(args.workers)}", ["--ray", "--workers", str(max(args.workers))]))
        rows, ref = [], None
        for name, extra in variants:
            out = Path(tmp) / f"{name.replace(' ', '_')}.jsonl"
            dt = _run(lst, out, extra)
            load = os.getloadavg()[0]
            recs = _records(out)
            ref = ref if ref is not None else recs
            rows.append((name, dt, dt / len(clips), load, recs == ref))
    print(f"{len(clips)} clips, landmark captioner, {os.cpu_count()} CPUs\n")
    print("| path | wall s | s / clip | load avg (1 min) | same records as in-process |")
    print("|---|---:|---:|---:|---|")
    for name, dt, per, load, same in rows:
        print(f"| {name} | {dt:.1f} | {per:.2f} | {load:.2f} | {'yes' if same else 'NO'} |")
    return 0 if all(r[4] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
