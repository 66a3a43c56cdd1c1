"""Upper-face and lower-face states and events (issue 11, part "upper"): what comes with a smile
(cheeks, lower lids), ..."""
from __future__ import annotations

from dfec.dynamics.config import DynamicsConfig
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
