"""Where each missed reference event was lost: the landmark captioner's recall, cause by cause.

For every dev clip, every reference event the caption does not match (offline judge, AutoDQ's
``entailed_ref``) is put in one bucket, tried in this order:

* **(a) dropped**: a change was detected, but a caption rule kept it out. Found by counterfactual:
  the clip is captioned again from the same signals and timeline with one selection rule relaxed
  (:data:`RELAXATIONS`: the clause cap, one phase per kind, the ``min_strength`` floor, the rare-kind
  floor, the forehead switch); the rule whose relaxation alone lets the judge match the event is
  named ("several" when only all of them together do). A timeline event whose own clause the judge
  matches, that no relaxation brings into the caption, is "arrangement" (an unanchored return, a
  merge, a state rewording).
* **(d) worded**: the caption says a change (or a state, for a state) of the event's vocabulary
  cell (:func:`dfec.dynamics.vocabulary.classify`, the captioner's own reading of reference
  phrases; no two stated directions that differ) and the judge does not match them: said, but in
  words the judge does not take for it. A starting state ("their head is turned to the right") is
  no rewording of a change of its cell ("turns a little towards the front").
* **(b) under threshold**: the captioner's kinds that can say the event (a clause of theirs the
  judge matches with it) are detected again with every threshold and noise multiple scaled by
  ``--scale`` (default 0.3); the strongest such event in the reference event's phase, as a multiple
  of the threshold in force (:func:`dfec.dynamics.captioner.ranking_config`), is the ratio printed
  (below 1: the signal moved but stayed under its threshold).
* **(c) nothing measurable**: a hand ("hand" in the phrase), no kind of the captioner can say it
  ("unmeasured"), a held state the start / end states did not read ("held state"), a mouth or
  speech change in a phase a detected speaking run covers ("inside a speaking run": the speech
  detector's run edges own it), or a change whose signal did not move even to ``--scale`` of its
  threshold ("no signal").

Dev only (held-out references must stay unread while tuning):

    python benchmarks/recall_causes.py --splits dev --work DIR [--out causes.json]

``--work`` as ``caption_quality.py --work`` (``DIR/new/<clip>/tracks.json`` reused). With
``--versions crf40,half,...`` the dev clips' robustness copies written by
``caption_robustness.py --work DIR`` (``DIR/robust/<version>/video`` and ``.../new``; mirror
against the reference with left and right swapped) are attributed too, and the table pools them:
a rule that drops matched events on one clip only shows as such.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from caption_quality import DEFAULT_MEDIA, DEFAULT_REFS, SPLITS  # noqa: E402

#: one selection rule relaxed at a time (name -> DynamicsConfig fields)
RELAXATIONS: dict[str, dict] = {
    "clause cap": {"max_clauses_per_segment": 99, "phase_caps": ()},
    "one phase per kind": {"max_phases_per_kind": 0},
    "strength floor": {"min_strength": 0.0},
    "rare kind": {"rare_strength": 0.0},
    "forehead off": {"describe_forehead": True},
}

_PHASE_RE = (
    re.compile(r"\bat the (beginning|start)\b", re.I),
    re.compile(r"\bas the video (progresses|continues|goes on)\b", re.I),
    re.compile(r"\b(in|around) the middle\b", re.I),
    re.compile(r"\b(towards?|at|near) the end\b|\bfinally\b", re.I),
)
_HAND_RE = re.compile(r"\b(hands?|fingers?|palm)\b", re.I)


def reference_phases(reference: str, events: list[str]) -> list[int | None]:
    """The caption phase (0-3) each reference event is written in: the phase phrase of its line,
    matched in order (None where an event cannot be placed)."""
    from dfec.metrics.events import extract_events

    lines, phase = [], None
    for line in reference.splitlines():
        for s in re.split(r"(?<=[.!?])\s+", line):
            for k, rx in enumerate(_PHASE_RE):
                if rx.search(s):
                    phase = k
                    break
            lines.append((phase, extract_events(s) if s.strip() else []))
    out: list[int | None] = []
    i = 0
    for e in events:
        j = i
        while j < len(lines) and e not in lines[j][1]:
            j += 1
        if j < len(lines):
            out.append(lines[j][0])
            i = j
        else:
            out.append(None)
    return out


@dataclass
class Miss:
    event: str
    parsed: str
    phase: int | None
    cause: str  # "a" / "b" / "c" / "d"
    detail: str
    ratio: float | None = None
    region: str = "?"


@dataclass
class ClipInputs:
    """What the captioner's selection starts from, for one clip."""

    sig: object
    duration: float
    presence: tuple | None
    timeline: list
    config: object
    extra: dict = field(default_factory=dict)


def caption_from(inp: ClipInputs, **changes) -> tuple[str, list, list]:
    """Caption ``inp`` again with ``changes`` to the selection settings (the timeline is reused)."""
    from dfec.dynamics.captioner import describe_clauses

    cfg = replace(inp.config, **changes) if changes else inp.config
    text, used, timeline, clauses = describe_clauses(inp.sig, inp.duration, cfg, inp.presence,
                                                     timeline=copy.deepcopy(inp.timeline))
    return text, used, timeline


def _matched(judge, caption: str, reference: str, ref_ev: list[str]) -> list[bool]:
    return list(judge.judge(caption, reference, ref_ev).entailed_ref or [])


def _entails(judge, premise: str, hypothesis: str) -> bool:
    from dfec.metrics.relations import SAME

    cl = judge.classifier
    return cl.rule(premise, hypothesis) == SAME and cl.entails(premise, hypothesis)


def kinds_saying(judge, event: str) -> list[str]:
    """The captioner's event kinds one of whose clauses (plain, weak, strong) the judge takes for
    ``event`` (an entailing Same)."""
    from dfec.dynamics.wording import CLAUSES

    return [k for k, texts in CLAUSES.items() if any(_entails(judge, t, event) for t in set(texts))]


def scaled(cfg, f: float):
    """``cfg`` with every noise-floored threshold and noise multiple times ``f`` (so each
    threshold in force is ``f`` times what it was)."""
    from dfec.dynamics.config import NOISE_OF

    kw = {a: getattr(cfg, a) * f for a in NOISE_OF}
    kw.update(smile_lift_mesh=cfg.smile_lift_mesh * f, noise_k=cfg.noise_k * f, noise_k_speech=cfg.noise_k_speech * f,
              noise_k_mesh=cfg.noise_k_mesh * f, noise_k_own=cfg.noise_k_own * f)
    return replace(cfg, **kw)


def under_threshold(inp: ClipInputs, kinds: list[str], phase: int | None, f: float) -> tuple[float, str] | None:
    """The strongest event of ``kinds`` (in ``phase`` when known) detected at ``f`` times every
    threshold: ``(its strength as a multiple of the threshold in force, its kind)``; None when
    there is none."""
    from dfec.dynamics.captioner import ranking_config
    from dfec.dynamics.events import detect_events
    from dfec.dynamics.ranking import strength
    from dfec.dynamics.wording import said_at, segment_of

    low = inp.extra.get(f)
    if low is None:
        low = inp.extra[f] = detect_events(inp.sig, scaled(inp.config, f))
    rated = inp.extra.get("rated")
    if rated is None:
        rated = inp.extra["rated"] = ranking_config(inp.sig, inp.config)
    best = None
    for e in low:
        if e.kind not in kinds:
            continue
        if phase is not None and segment_of(said_at(e), inp.duration, inp.config.segments) != phase:
            continue
        r = (strength(e, rated), e.kind)
        best = r if best is None else max(best, r)
    return best


def in_speech(inp: ClipInputs, timeline: list, phase: int | None) -> bool:
    """Whether a detected speaking run covers part of caption phase ``phase`` (any phase when
    None): the speech detector then owns the mouth there (openings and closings inside a run, or
    within ``speak_merge_s`` of its edges, restate the talk and are dropped), so a mouth change
    the reference names there is lost to the run's edges, not to a silent signal."""
    edges = [0.0, *(b * inp.duration for b in inp.config.segments), inp.duration]
    a, b = (edges[phase], edges[phase + 1]) if phase is not None else (0.0, inp.duration)
    return any(e.kind in ("speaking", "speaking_resume") and e.start < b and e.end > a for e in timeline)


def is_state(judge, text: str) -> bool:
    """Whether the judge's parser reads ``text`` as a state ("is turned to the right"), not a change."""
    return "[state" in judge.explain_events([text])[0]


def same_cell(a, b) -> bool:
    """Whether two vocabulary cells name one change: the same region and action, and no two stated
    directions that differ ("turns to the left" is no rewording of "is turned to the right")."""
    return (a.region, a.action) == (b.region, b.action) and (a.direction == b.direction or not a.direction
                                                             or not b.direction)


def attribute(judge, inp: ClipInputs, reference: str, scale: float = 0.3) -> tuple[str, list[Miss], int, int]:
    """``(caption, misses, n_ref, n_pred)`` for one clip: each missed reference event with its cause."""
    from dfec.dynamics.vocabulary import classify
    from dfec.dynamics.wording import clause

    ref_ev = judge.reference_events(reference)
    caption, used, timeline = caption_from(inp)
    j = judge.judge(caption, reference, ref_ev)
    ok = list(j.entailed_ref or [])
    phases = reference_phases(reference, ref_ev)
    relaxed = {name: _matched(judge, caption_from(inp, **kw)[0], reference, ref_ev) for name, kw in RELAXATIONS.items()}
    every = {k: v for kw in RELAXATIONS.values() for k, v in kw.items()}
    relaxed_all = _matched(judge, caption_from(inp, **every)[0], reference, ref_ev)
    said_texts = [e.text for e in used]
    misses = []
    for c, hit in enumerate(ok):
        if hit:
            continue
        ev, ph = ref_ev[c], phases[c]
        parsed = judge.explain_events([ev])[0]
        region = next((w for w in parsed.split() if w != "NOT"), "?")
        m = Miss(ev, parsed, ph, "", "", region=region if region.isalpha() else "?")
        fixed_by = [name for name, res in relaxed.items() if res[c]]
        cell = classify(ev)
        if fixed_by:
            m.cause, m.detail = "a", fixed_by[0]
        elif relaxed_all[c]:
            m.cause, m.detail = "a", "several rules"
        elif any(_entails(judge, clause(e, inp.config), ev) for e in timeline if e.text not in said_texts):
            m.cause, m.detail = "a", "arrangement"
        elif cell.region != "none" and (alike := [t for t in said_texts if same_cell(cell, classify(t))
                                                  and is_state(judge, t) == is_state(judge, ev)]):
            m.cause, m.detail = "d", "said as: " + "; ".join(alike)
        else:
            kinds = kinds_saying(judge, ev)
            if _HAND_RE.search(ev):
                m.cause, m.detail = "c", "hand"
            elif not kinds:
                m.cause, m.detail = "c", "unmeasured"
            else:
                low = under_threshold(inp, kinds, ph, scale)
                r = None if low is None else low[0]
                if r is not None and r < 1.0:
                    m.cause, m.detail, m.ratio = "b", f"{low[1]} at {r:.2f} of its threshold", r
                elif r is not None:
                    m.cause, m.detail, m.ratio = "a", f"detection rule ({low[1]} at {r:.2f}, found only at lower floors)", r
                elif "[state" in parsed:
                    m.cause, m.detail = "c", "held state"
                elif m.region in ("mouth", "speech") and in_speech(inp, timeline, ph):
                    m.cause, m.detail = "c", "inside a speaking run"
                else:
                    m.cause, m.detail = "c", "no signal"
        misses.append(m)
    return caption, misses, len(ref_ev), len(j.events_pred)


def clip_inputs(video: Path, out_dir: Path, config=None) -> ClipInputs:
    """Signals, duration, presence and timeline of one clip (its cached ``tracks.json`` reused)."""
    from dfec.dynamics.captioner import load_or_track, measure
    from dfec.dynamics.events import DynamicsConfig, detect_events

    cfg = config or DynamicsConfig()
    tracking = load_or_track(video, out_dir)
    sig, duration, presence = measure(video, tracking, cfg)
    return ClipInputs(sig, duration, presence, detect_events(sig, cfg), cfg)


CAUSE_NAMES = {"a": "(a) detected, dropped", "b": "(b) under threshold", "c": "(c) nothing measurable",
               "d": "(d) said, worded apart"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--refs", default=str(DEFAULT_REFS))
    ap.add_argument("--media", default=str(DEFAULT_MEDIA))
    ap.add_argument("--work", required=True)
    ap.add_argument("--splits", default="dev")
    ap.add_argument("--scale", type=float, default=0.3, help="threshold scale for the under-threshold search")
    ap.add_argument("--versions", default="", help="also the robustness copies (comma-separated), pooled")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    want = {s.strip() for s in args.splits.split(",") if s.strip()}
    if want - set(SPLITS):
        ap.error(f"--splits: unknown {sorted(want - set(SPLITS))}")
    if want != {"dev"}:
        ap.error("--splits: dev only (the held-out references must stay unread)")

    from dfec.metrics.judge import OfflineJudge

    media = Path(args.media)
    doc = json.loads(Path(args.refs).read_text())
    clips = [c for c in doc["captions"] if c.get("split") == "dev" and (media / c["video"]).is_file()]
    judge = OfflineJudge()
    table: dict[tuple[str, str], int] = Counter()
    detail = defaultdict(Counter)
    out, n_ref, n_pred, n_miss = {}, 0, 0, 0
    from caption_robustness import reference_for

    runs = [("", c, media / c["video"], Path(args.work) / "new" / c["id"], c["caption"]) for c in clips]
    for v in (v.strip() for v in args.versions.split(",") if v.strip()):
        base = Path(args.work) / "robust" / v
        runs += [(v, c, base / "video" / Path(c["video"]).name, base / "new" / c["id"], reference_for(v, c["caption"]))
                 for c in clips if (base / "video" / Path(c["video"]).name).is_file()]
    for v, c, video, work, reference in runs:
        inp = clip_inputs(video, work)
        caption, misses, nr, npred = attribute(judge, inp, reference, args.scale)
        n_ref, n_pred, n_miss = n_ref + nr, n_pred + npred, n_miss + len(misses)
        print(f"\n## {c['id']}{' [' + v + ']' if v else ''}: {nr - len(misses)}/{nr} reference events matched, "
              f"{npred} caption events")
        print(caption)
        for m in misses:
            table[(m.region, m.cause)] += 1
            detail[m.cause][m.detail.split(":")[0].split(" (")[0] if m.cause != "b" else "under threshold"] += 1
            ph = "?" if m.phase is None else m.phase
            print(f"  ({m.cause}) phase {ph}  {m.event}   <{m.parsed}>   {m.detail}")
        out[c["id"] + (f"@{v}" if v else "")] = {"caption": caption, "n_ref": nr, "n_pred": npred,
                        "missed": [m.__dict__ for m in misses]}
    print(f"\n## missed reference events by region and cause ({len(runs)} captions, {n_ref} reference events, "
          f"{n_miss} missed, {n_pred} caption events)\n")
    causes = sorted(CAUSE_NAMES)
    print("| region | " + " | ".join(CAUSE_NAMES[k] for k in causes) + " | all |")
    print("|---|" + "---:|" * (len(causes) + 1))
    regions = sorted({r for r, _ in table}, key=lambda r: -sum(table[(r, k)] for k in causes))
    for r in regions:
        print(f"| {r} | " + " | ".join(str(table[(r, k)]) for k in causes) + f" | {sum(table[(r, k)] for k in causes)} |")
    print("| all | " + " | ".join(str(sum(table[(r, k)] for r in regions)) for k in causes) + f" | {n_miss} |")
    print()
    for k in causes:
        print(f"{CAUSE_NAMES[k]}: " + ", ".join(f"{d} {n}" for d, n in detail[k].most_common()))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
