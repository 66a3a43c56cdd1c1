"""Upper-face and lower-face states and events (issue 11, part "upper"): what comes with a smile
(cheeks, lower lids) and eyes narrowed from the first frame."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from dfec.dynamics.captioner import describe
from dfec.dynamics.config import DynamicsConfig
from dfec.dynamics.mesh_events import squinting
from dfec.dynamics.signals import track_signals
from dfec.dynamics.states import initial_state
from dfec.dynamics.synthetic_mesh import mesh_sequence
from dfec.dynamics.wording import group_events
from dfec.schema import Event


def ev(kind, start, intensity, region="x", end=None):
    return Event(kind, start, start + 0.3 if end is None else end, intensity, region)


def said(events, cfg, phase=1):
    """The kinds phase ``phase`` says (an 8-s video: phase 1 is 2-4 s)."""
    return [e.kind for e in group_events(events, 8.0, cfg)[phase]]


# ------------------------------------------------------------------ what a smile brings with it
SMILE = ev("smile", 2.2, 0.08, "mouth", end=3.2)            # corner lift 0.08 against 0.04: strength 2


def test_cheeks_and_lids_rising_with_a_smile_are_said_with_it_even_when_slight():
    cheeks = ev("cheeks_raise", 2.3, 0.06, "cheeks")        # 0.06 against 0.05: strength 1.2 < min_strength
    lids = ev("lids_tighten", 2.4, 0.18, "eyes")            # 0.18 against 0.15: strength 1.2
    full = [ev("blink", 2.1, 0.5, "eyes"), SMILE, cheeks, lids, ev("mouth_open", 3.5, 0.2, "mouth"),
            ev("head_turn_left", 3.6, 30.0, "head")]
    # the phase's three clauses are full (blink, smile and the strongest others); the companions
    # come after the smile, cheeks first, beyond the cap
    out = said(full, DynamicsConfig())
    i = out.index("smile")
    assert out[i + 1: i + 3] == ["cheeks_raise", "lids_tighten"]
    assert len(out) == 5
    # one companion per phase (the higher-ranked one), or none
    one = said(full, DynamicsConfig(smile_companions=1))
    assert [k for k in one if k in ("cheeks_raise", "lids_tighten")] == ["lids_tighten"]
    assert not {"cheeks_raise", "lids_tighten"} & set(said(full, DynamicsConfig(smile_companions=0)))


def test_no_companion_without_a_smile_said_or_when_it_started_before_the_smile():
    cheeks = ev("cheeks_raise", 2.3, 0.06, "cheeks")
    assert said([cheeks], DynamicsConfig()) == []                       # slight, and no smile
    early = ev("lids_tighten", 1.7, 0.18, "eyes", end=2.6)              # 0.5 s before the smile's onset
    assert "lids_tighten" not in said([SMILE, early], DynamicsConfig())
    # a smile that is not said (another phase) brings nothing
    assert said([ev("smile", 0.5, 0.08, "mouth"), ev("cheeks_raise", 2.3, 0.06, "cheeks")], DynamicsConfig()) == []
    # below the companion floor: not measured past its own threshold
    weak = ev("cheeks_raise", 2.3, 0.045, "cheeks")
    assert "cheeks_raise" not in said([SMILE, weak], DynamicsConfig())


def test_a_companion_said_in_another_phase_is_not_said_again():
    narrow_later = ev("lids_tighten", 6.5, 0.6, "eyes")                # strength 4 in the last phase
    out = group_events([SMILE, ev("lids_tighten", 2.4, 0.18, "eyes"), narrow_later], 8.0, DynamicsConfig())
    assert [e.kind for e in out[1]] == ["smile"]
    assert [e.kind for e in out[3]] == ["lids_tighten"]


# ------------------------------------------------------------------ eyes narrowed from the start
def _squint(tr, lift: float):
    """``tr`` with the lower lids of every frame raised by ``lift`` of their depth below the
    eye-corner midpoint (image plane): a squint (AU7), the upper lids unchanged."""
    from dfec.dynamics.mesh_signals import LEFT_EYE, LEFT_LIDS, RIGHT_EYE, RIGHT_LIDS

    m = tr.main_track.mesh.astype(np.float64)
    for corners, lids in ((RIGHT_EYE, RIGHT_LIDS), (LEFT_EYE, LEFT_LIDS)):
        mid = m[:, list(corners), :2].mean(axis=1)
        for _, lo in lids:
            m[:, lo, 1] -= lift * (m[:, lo, 1] - mid[:, 1])
    tr.main_track.mesh = m.astype(np.float32)
    return tr


def test_eyes_narrowed_from_the_start_need_raised_lower_lids_and_a_smaller_aperture():
    cfg = DynamicsConfig()
    open_eyes = track_signals(mesh_sequence(2.0, noise_px=0.3, eyes=lambda t: 1.0 + 0 * t))
    squint = track_signals(_squint(mesh_sequence(2.0, noise_px=0.3, eyes=lambda t: 1.0 + 0 * t), 0.6))
    first = np.arange(5)
    # the measured cues: aperture between half-open and squint_aperture, lower lids near the corner line
    assert cfg.half_open_below <= np.nanmedian(squint["aperture"][first]) < cfg.squint_aperture
    assert np.nanmedian(squint["lower_lid"][first]) < cfg.squint_lower_lid < np.nanmedian(open_eyes["lower_lid"][first])
    assert squinting(squint, cfg, first) and not squinting(open_eyes, cfg, first)
    states = [e.kind for e in initial_state(squint, cfg)]
    assert "eyes_are_narrowed" in states and "eyes_are_open" not in states
    assert "eyes_are_open" in [e.kind for e in initial_state(open_eyes, cfg)]
    assert "eyes_are_narrowed" not in [e.kind for e in initial_state(squint, replace(cfg, squint_lower_lid=0))]
    # a wide-open eye with low lower lids (aperture at or above squint_aperture) is not narrowed
    ap = float(np.nanmedian(squint["aperture"][first]))
    assert "eyes_are_narrowed" not in [e.kind for e in initial_state(squint, replace(cfg, squint_aperture=ap - 0.02))]
    # said with the starting states, the gaze hanging on it
    text = describe(squint, 2.0, cfg)[0]
    assert "their eyes are narrowed, looking straight ahead" in text


def test_squint_reads_the_lower_lids_over_cos_pitch():
    cfg = DynamicsConfig()
    sig = track_signals(_squint(mesh_sequence(2.0, noise_px=0.3, eyes=lambda t: 1.0 + 0 * t), 0.6))
    first = np.arange(5)
    depth = float(np.nanmedian(sig["lower_lid"][first]))
    # a head pitched so far that depth / cos(pitch) passes the threshold is not read as squinting
    pitch = np.degrees(np.arccos(depth / (1.05 * cfg.squint_lower_lid)))
    sig.values["pitch"] = np.full(len(sig), -pitch)
    assert not squinting(sig, cfg, first)


# ------------------------------------------------------------------ benchmarks/absolute_states.py
def _bench():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "absolute_states.py"
    spec = importlib.util.spec_from_file_location("absolute_states", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_absolute_states_benchmark_reads_only_dev_clips_and_quotes_the_reference(tmp_path, capsys):
    bench = _bench()
    cap = ("This video shows a man. At the beginning of the video, his eyes are narrowed and his eyebrows "
           "are furrowed. Then he speaks, keeping his eyebrows furrowed.")
    assert bench.start_sentence(cap) == "At the beginning of the video, his eyes are narrowed and his eyebrows are furrowed."
    assert bench.said(cap, r"eyes are narrowed") == "eyes are narrowed"
    assert bench.said(cap, r"closed") == "-"
    # a dev clip and a held-out clip, both with tracks: only the dev clip is measured
    refs = {"captions": [{"id": "a", "split": "dev", "caption": cap}, {"id": "b", "split": "test", "caption": cap}]}
    (tmp_path / "refs.json").write_text(__import__("json").dumps(refs))
    for cid in ("a", "b"):
        (tmp_path / "new" / cid).mkdir(parents=True)
        mesh_sequence(1.0, noise_px=0.3).save(tmp_path / "new" / cid / "tracks.json")
    assert bench.main(["--work", str(tmp_path), "--refs", str(tmp_path / "refs.json")]) == 0
    out = capsys.readouterr().out
    assert "dev clips (1)" in out and "| a |" in out and "| b |" not in out
    assert "eyes are narrowed" in out
