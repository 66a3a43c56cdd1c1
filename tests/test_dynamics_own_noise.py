"""Face-shape thresholds floored at the signal's own unsmoothed noise (``noise_k_own``).

On a blurred or blocky face (CRF 40, small web clips) FaceMesh guesses the brows: their points
jitter far more than the rigid eye-corner and nose points the simulated noise floor propagates,
and the guesses made brow raises / furrows out of a still face (dev clips at CRF 40: 17 of 24
brow events there were not in the untouched clip's timeline)."""
import numpy as np

from dfec.dynamics.config import DynamicsConfig, effective_thresholds
from dfec.dynamics.events import detect_events
from dfec.dynamics.signals import track_signals
from dfec.dynamics.synthetic_mesh import mesh_sequence


def _guessed_brows(amount_mm: float, seed: int, px: float = 1.2):
    """A mesh track (0.3 px jitter everywhere) whose 68-point brows (17-26) jitter ``px`` more,
    as on a codec-smeared face, with a real brow raise of ``amount_mm`` at 1.5-1.9 s."""
    tr = mesh_sequence(4.0, noise_px=0.3, seed=seed, brows=lambda t: amount_mm * np.clip((t - 1.5) / 0.4, 0, 1))
    lm = tr.tracks[0].landmarks.copy()
    lm[:, 17:27] += np.random.default_rng(100 + seed).normal(0.0, px, (len(lm), 10, 2))
    tr.tracks[0].landmarks = lm
    return tr


def _brow_kinds(tr, cfg):
    return [e.kind for e in detect_events(track_signals(tr, cfg.signals), cfg) if e.kind.startswith("brows_")]


def test_guessed_brows_make_no_brow_events_and_a_real_raise_survives():
    cfg = DynamicsConfig()
    false, found = 0, 0
    for seed in range(8):
        false += len(_brow_kinds(_guessed_brows(0.0, seed), cfg))   # still brows: every event is false
        kinds = _brow_kinds(_guessed_brows(4.0, seed), cfg)
        found += "brows_raise" in kinds
        false += len([k for k in kinds if k != "brows_raise"])
    # old code (simulated floor only): 20 false brow events on these 16 sequences
    assert false == 0
    assert found == 8


def test_own_noise_floor_follows_the_brows_jitter_and_only_on_mesh_tracks():
    cfg = DynamicsConfig()
    sig = track_signals(_guessed_brows(0.0, 0), cfg.signals)
    own = sig.own_noise("brow_height")
    assert own > 3 * sig.noise_level("brow_height")              # the rigid points do not see it
    eff = effective_thresholds(sig, cfg)
    assert eff.brow_raise >= cfg.noise_k_own * own - 1e-12 and eff.brow_raise > cfg.brow_raise
    assert effective_thresholds(sig, DynamicsConfig(noise_k_own=0)).brow_raise == cfg.brow_raise
    sig.face_px = None                                            # a 68-point track: the simulated floor only
    assert effective_thresholds(sig, cfg).brow_raise == cfg.brow_raise
