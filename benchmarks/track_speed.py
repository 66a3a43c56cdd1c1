"""Speed and memory of the face tracking module (``dfec track``) on one CPU core at 16 fps.

For each clip (default: the RAVDESS crop, FEC-Bench clip 61 and the two-face Hamilton clip) and
each backend (default: the MediaPipe stack and dlib HOG, the old default) prints the median run's
wall time, CPU time and the stage split (decode / detect / mesh / iris / landmarks / embed /
track / post). Stage times are measured in CPU seconds of the process (``time.process_time``),
so they stay meaningful on a shared machine; "x real time (cpu)" is video duration / CPU time,
the speed on an unshared core. The load average is printed beside the figures. For the MediaPipe
stack a second table gives the floor: each TFLite model's calls in the median run times its bare
``invoke`` (no pre/post-processing), plus one decoding pass at 16 fps, and the x real time that
floor allows (the ceiling if everything else cost nothing).

``--long MINUTES`` adds the long-video case: the shared clips concatenated with PyAV into one
720p clip of that length, tracked in a fresh process whose peak RSS (VmHWM) is reported (target:
under 1.5 GB for 10 minutes, whatever the length). Several lengths (``--long 3,10``) also print
the peak's growth per extra minute of video.

    python benchmarks/track_speed.py [--clips a.mp4,b.mp4] [--detectors mediapipe,hog] [--repeat 3]
    python benchmarks/track_speed.py --detectors mediapipe,mediapipe-oneread   # cost of the flip average
    python benchmarks/track_speed.py --long 3,10 [--long-only]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DEFAULT_CLIPS = [SHARED / "01-01-08-02-01-01-19.mp4", SHARED / "wild" / "emollama__sample_00001073.mp4",
                 SHARED / "short_hamilton_clip.mp4"]
STAGES = ("decode", "detect", "mesh", "iris", "landmarks", "embed", "track", "post", "write")


def _pin(cores: int) -> str:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(cores)
    try:
        avail = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(avail[:cores]))
        return f"pinned to CPU {avail[:cores]}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity)"


def _load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def _tflite_models(models) -> dict:
    """name -> TfliteModel of the MediaPipe stack (empty for dlib backends)."""
    stack = models.mesh_stack
    if stack is None:
        return {}
    out = {"full_range": stack.detector.full.model, "mesh": stack.mesh.model}
    if stack.detector.short is not None:
        out["short_range"] = stack.detector.short.model
    if stack._iris is not None:
        out["iris"] = stack._iris.model
    return out


def speed(clips: list[Path], detectors: list[str], repeat: int, out: str | None) -> None:
    from dfec.tracking import pipeline
    from dfec.tracking.config import TrackConfig
    from dfec.video import iter_frames, probe

    pipeline._clock = time.process_time  # stage split in CPU seconds
    head = ("| clip | backend | frames | wall s | cpu s | x real time (wall) | x real time (cpu) | "
            + " | ".join(f"{s}" for s in STAGES) + " | detections | embeddings | load |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    floors = []
    for clip in clips:
        info = probe(clip)
        for det in detectors:
            one_read = det.endswith("-oneread")  # FaceMesh without the flip average
            cfg = TrackConfig(detector=det.removesuffix("-oneread"), mesh_flip_average=not one_read)
            models = pipeline.FaceModels(config=cfg)
            tfl = _tflite_models(models)
            runs = []
            for _ in range(max(1, repeat)):
                with tempfile.TemporaryDirectory() as tmp:
                    before = {k: m.n_calls for k, m in tfl.items()}
                    t, c = time.perf_counter(), time.process_time()
                    res = pipeline.track(clip, cfg, out_dir=out or tmp, models=models)
                    runs.append((time.perf_counter() - t, time.process_time() - c, res,
                                 {k: m.n_calls - before[k] for k, m in tfl.items()}))
            wall, cpu, res, calls = sorted(runs, key=lambda r: r[1])[len(runs) // 2]
            if tfl:
                cost = {k: m.invoke_cost() for k, m in tfl.items()}
                dec = []
                for _ in range(max(1, repeat)):
                    c0 = time.process_time()
                    for _ in iter_frames(clip, cfg.fps, fill=True):
                        pass
                    dec.append(time.process_time() - c0)
                floors.append((clip.name, res, calls, cost, sorted(dec)[len(dec) // 2], cpu))
            tm = res.timings
            cells = " | ".join(f"{tm.get(s, 0.0):.3f}" for s in STAGES)
            print(f"| {clip.name} | {models.name}{' (one mesh read)' if one_read else ''} | {res.n_frames} | {wall:.2f} | {cpu:.2f} | "
                  f"{res.duration / wall:.1f} | {res.duration / cpu:.1f} | {cells} | "
                  f"{int(tm.get('n_detect', res.n_frames))} | {int(tm.get('n_embedded', 0))} | {_load()} |",
                  flush=True)
        print(f"  ({clip.name}: {info.width}x{info.height}, {info.duration:.2f} s at {info.fps:.2f} fps)")
    if floors:
        _print_floor(floors)


def _print_floor(floors) -> None:
    """What the models and decoding alone cost: each model's calls in the median run times its
    bare ``invoke`` (no pre/post-processing), plus one decoding pass at the analysis rate; the
    "ceiling" is the x real time the job could reach if everything else cost nothing."""
    names = ("full_range", "short_range", "mesh", "iris")
    print()
    print("| clip | calls (" + " / ".join(names) + ") | ms per invoke (" + " / ".join(names)
          + ") | models s | decode s | floor s | ceiling x real time (cpu) | measured x real time (cpu) | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, res, calls, cost, dec, cpu in floors:
        models_s = sum(calls.get(k, 0) * cost.get(k, 0.0) for k in names)
        floor = models_s + dec
        print(f"| {name} | {' / '.join(str(calls.get(k, 0)) for k in names)} | "
              f"{' / '.join(f'{cost[k] * 1e3:.2f}' if k in cost else '-' for k in names)} | {models_s:.3f} | "
              f"{dec:.3f} | {floor:.3f} | {res.duration / floor:.1f} | {res.duration / cpu:.1f} | {_load()} |", flush=True)


def make_long_clip(path: Path, minutes: float, size=(1280, 720), fps: int = 16, segment_s: float = 60.0) -> Path:
    """A ``minutes``-long 720p clip from the shared clips: one ``segment_s`` segment is encoded
    with PyAV (each clip letterboxed into 1280x720, H.264 ultrafast, at the 16 fps analysis rate)
    and then repeated by stream copy with shifted timestamps (no second encode)."""
    import av
    import cv2
    import numpy as np

    from dfec.video.reader import iter_frames

    sources = [SHARED / "short_hamilton_clip.mp4", SHARED / "01-01-08-02-01-01-19.mp4"] + sorted(
        (SHARED / "wild").glob("*.mp4"))
    seg = path.with_name(path.stem + "_segment.mp4")
    w, h = size
    need = int(segment_s * fps)
    out = av.open(str(seg), "w")
    st = out.add_stream("libx264", rate=fps)
    st.width, st.height, st.pix_fmt = w, h, "yuv420p"
    st.options = {"preset": "ultrafast", "crf": "28", "g": str(4 * fps)}
    n = 0
    for src in sources:
        for _, _, rgb in iter_frames(src, fps):
            s = min(w / rgb.shape[1], h / rgb.shape[0])
            small = cv2.resize(rgb, (int(rgb.shape[1] * s) // 2 * 2, int(rgb.shape[0] * s) // 2 * 2))
            canvas = np.zeros((h, w, 3), np.uint8)
            y0, x0 = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
            canvas[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
            for pkt in st.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")):
                out.mux(pkt)
            n += 1
            if n >= need:
                break
        if n >= need:
            break
    for pkt in st.encode():
        out.mux(pkt)
    out.close()
    # repeat the segment by stream copy
    src = av.open(str(seg))
    ist = src.streams.video[0]
    packets = [p for p in src.demux(ist) if p.size]
    span = max(int(p.pts) + int(p.duration or 0) for p in packets) - min(int(p.pts) for p in packets)
    dst = av.open(str(path), "w")
    ost = dst.add_stream_from_template(ist)
    for k in range(int(np.ceil(minutes * 60 / segment_s))):
        for p in packets:
            q = av.Packet(bytes(p))
            q.pts, q.dts = int(p.pts) + k * span, int(p.dts) + k * span
            q.duration, q.time_base, q.stream = p.duration, p.time_base, ost
            q.is_keyframe = p.is_keyframe
            dst.mux(q)
    dst.close()
    src.close()
    seg.unlink()
    return path


_CHILD = """
import json, resource, sys, time
from pathlib import Path
from dfec.tracking.pipeline import track
t, c = time.perf_counter(), time.process_time()
det = sys.argv[3]
res = track(sys.argv[1], out_dir=sys.argv[2], detector=det.removesuffix("-oneread"),
            mesh_flip_average=not det.endswith("-oneread"))
wall, cpu = time.perf_counter() - t, time.process_time() - c
side = Path(sys.argv[2]) / "tracks_mesh.npz"
print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "wall": wall, "cpu": cpu,
                  "frames": res.n_frames, "duration": res.duration, "tracks": len(res.tracks),
                  "rows": sum(len(t) for t in res.tracks),
                  "json_mb": (Path(sys.argv[2]) / "tracks.json").stat().st_size / 2**20,
                  "mesh_mb": side.stat().st_size / 2**20 if side.exists() else 0.0}))
"""


def long_video(lengths: list[float], detectors: list[str], keep: str | None) -> None:
    """Track a 720p clip of each length in ``lengths`` (minutes) in a fresh process; print its
    peak RSS and, with several lengths, the peak's growth per extra minute."""
    import json

    folder = Path(keep or tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    print("| clip | backend | frames | face rows | wall s | cpu s | x real time (cpu) | peak RSS MB | "
          "tracks.json MB | tracks_mesh.npz MB | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    peaks: dict[str, list[tuple[float, float]]] = {}
    for minutes in lengths:
        clip = folder / f"long_{minutes:g}min_720p.mp4"
        if not clip.is_file():
            t = time.perf_counter()
            make_long_clip(clip, minutes)
            print(f"  (built {clip} ({clip.stat().st_size / 2**20:.0f} MB) in {time.perf_counter() - t:.0f} s)")
        for det in detectors:
            out = folder / f"out_{minutes:g}min_{det}"
            r = subprocess.run([sys.executable, "-c", _CHILD, str(clip), str(out), det], env=env,
                               capture_output=True, text=True)
            if r.returncode:
                print(f"| {clip.name} | {det} | failed: {r.stderr.strip().splitlines()[-1:]} |")
                continue
            d = json.loads(r.stdout.strip().splitlines()[-1])
            peaks.setdefault(det, []).append((d["duration"] / 60, d["rss_mb"]))
            print(f"| {clip.name} | {det} | {d['frames']} | {d['rows']} | {d['wall']:.0f} | {d['cpu']:.0f} | "
                  f"{d['duration'] / d['cpu']:.1f} | **{d['rss_mb']:.0f}** | {d['json_mb']:.1f} | {d['mesh_mb']:.1f} | "
                  f"{_load()} |", flush=True)
    for det, pts in peaks.items():
        if len(pts) > 1:
            (m0, r0), (m1, r1) = min(pts), max(pts)
            print(f"{det}: peak RSS grows {(r1 - r0) / (m1 - m0):+.1f} MB per extra minute ({m0:.0f} -> {m1:.0f} min)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", help="comma-separated video paths (default: RAVDESS, clip 61, Hamilton)")
    ap.add_argument("--detectors", default="mediapipe,hog")
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration; the median (by CPU) is shown")
    ap.add_argument("--cores", type=int, default=1, help="CPU cores to pin to (0 = do not pin)")
    ap.add_argument("--out", help="write the outputs (crops, contact sheet) here; default: a temp folder")
    ap.add_argument("--long", default="", metavar="MIN[,MIN]",
                    help="also the long-video memory case, at these lengths in minutes")
    ap.add_argument("--long-only", action="store_true")
    ap.add_argument("--keep", help="folder for the long clip and its outputs (reused when present)")
    args = ap.parse_args(argv)
    pinned = _pin(args.cores) if args.cores > 0 else "not pinned"
    import cv2

    cv2.setNumThreads(max(1, args.cores))
    print(f"{pinned}; {_load()}; 16 fps analysis; model load excluded")
    detectors = args.detectors.split(",")
    if not args.long_only:
        clips = [Path(p) for p in args.clips.split(",")] if args.clips else DEFAULT_CLIPS
        missing = [str(p) for p in clips if not p.is_file()]
        if missing:
            print(f"track_speed: no such file: {', '.join(missing)}", file=sys.stderr)
            return 2
        speed(clips, detectors, args.repeat, args.out)
    if args.long:
        long_video([float(m) for m in args.long.split(",")], detectors, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
