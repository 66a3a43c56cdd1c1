"""Peak memory and time of the voice activity detector (``dfec.video.audio.voice_on_grid``) on
synthetic sound of growing length, blockwise (the default, ``BLOCK_S`` s blocks) against one piece
(``block_s`` larger than the clip, as before the blocks).

The sound is a quiet hiss with a speech-like burst (the glottal-pulse-and-formant synthesiser of
``tests/test_audio.py``'s idea, rebuilt here in a few lines) every 3 s, 16 kHz mono float32. Each
case runs in a fresh process; the peak is ``tracemalloc``'s peak of Python and numpy allocations
during the call (the decoded audio itself, 3.8 MiB a minute, is allocated before and not counted).
Time is the process CPU time (meaningful on a shared machine), and the load average is printed.
Pin it to one core: ``taskset -c 1 python benchmarks/audio_memory.py [--minutes 0.5,2,5,10]``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

RATE = 16000

CHILD = r"""
import json, sys, time, tracemalloc
import numpy as np
from scipy.signal import lfilter
from dfec.video import audio as au
minutes, block_s = float(sys.argv[1]), float(sys.argv[2])
n = int(minutes * 60 * RATE)
rng = np.random.default_rng(0)
t = np.arange(n) / RATE
src = (np.diff(np.floor(np.cumsum((125 + 15 * np.sin(2 * np.pi * 0.7 * t)) / RATE)), prepend=0) > 0).astype(np.float32)
for f, bw in ((700, 90), (1200, 110), (2600, 160)):
    r = np.exp(-np.pi * bw / RATE)
    src = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / RATE), r * r], src).astype(np.float32)
env = ((t % 3.0) < 1.5) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2)  # 1.5 s of 4-Hz syllables every 3 s
x = (0.05 * src / (np.abs(src).max() + 1e-9) * env + rng.normal(0, 0.003, n)).astype(np.float32)
del t, src, env
grid = np.arange(int(round(minutes * 60 * 16))) / 16.0
tracemalloc.start()
c0 = time.process_time()
vt = au.voice_on_grid(x, RATE, grid, 16.0, block_s=block_s)
cpu = time.process_time() - c0
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"peak": peak, "cpu": cpu, "active": float(vt.active.mean())}))
""".replace("RATE", str(RATE))


def run(minutes: float, block_s: float) -> dict:
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", CHILD, str(minutes), str(block_s)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    from dfec.video.audio import BLOCK_S

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", default="0.5,2,5,10", help="sound lengths (minutes), comma-separated")
    ap.add_argument("--no-whole", action="store_true", help="skip the one-piece runs (slow and large)")
    args = ap.parse_args(argv)
    print(f"| minutes | blocks | peak alloc (MiB) | CPU (s) | active share | load (1 min) |")
    print("|---|---|---|---|---|---|")
    for m in (float(v) for v in args.minutes.split(",")):
        for label, block in ((f"{BLOCK_S:g} s", BLOCK_S), ("one piece", 1e9)):
            if block > BLOCK_S and args.no_whole:
                continue
            r = run(m, block)
            print(f"| {m:g} | {label} | {r['peak'] / 2**20:.0f} | {r['cpu']:.1f} | {r['active']:.3f} | "
                  f"{os.getloadavg()[0]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
