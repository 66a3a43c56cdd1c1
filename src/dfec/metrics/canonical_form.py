"""The canonical form of a facial event (:class:`Action`) and the relation rule on two forms.

:mod:`dfec.metrics.canonical` parses caption text into these forms and documents both (fields,
relation rule); this module holds the form, :func:`relate` (TEM's Same / Opposite / No relation),
:func:`entails` (AutoDQ's one-way entailment) and the one-line display.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .canonical_lexicon import AU, KIND_AXES

__all__ = ["Action", "relate", "entails", "generalises", "describe_action"]


@dataclass
class Action:
    """One facial action of an event in canonical form (fields: see :mod:`dfec.metrics.canonical`)."""

    region: str
    axes: dict[str, int] = field(default_factory=dict)
    side: str | None = None
    intensity: int = 2
    count: int | None = None
    state: bool = False
    negated: bool = False
    kind: str | None = None  # the movement kind named by the verb: "tilt", "turn" (head), "move" (eyeballs)

    def signed(self) -> dict[str, int]:
        """The axes with negation applied (a negated action points the other way)."""
        return {k: -v for k, v in self.axes.items()} if self.negated else dict(self.axes)

    def __str__(self) -> str:
        return describe_action(self)


# --------------------------------------------------------------------------------------------
# Relation on canonical forms
# --------------------------------------------------------------------------------------------
_NEUTRAL = {"center"}
#: the head movements a plain "his head moves" is a less specific wording of (turns, tilts, nods, sways;
#: not the head held at the centre, a position)
_HEAD_MOVES = {"yaw", "roll", "pitch", "nod", "shake"}


def _generic(a: Action) -> bool:
    """A plain head movement with no kind and no direction ("his head moves", "slight head movements")."""
    return a.region == "head" and a.axes == {"move": 1} and not a.negated


def _open(a: Action) -> bool:
    """An action whose direction the phrase leaves open ("she tilts her head": roll 0)."""
    return bool(a.axes) and not any(a.axes.values())


def _kind_match(x: Action, y: Action, open_side: Action | None = None) -> bool:
    """One action names a movement kind with its direction open, the other fills it ("tilts" / "tilts forward").

    An open eyeball movement ("his eyes move") is filled by any stated gaze direction, a look included
    ("he looks down"): a look is a gaze event, as "turns his head" is filled by "moves to the right".
    With ``open_side`` only that action may be the open one.
    """
    for u, v in ((x, y), (y, x)):
        if open_side is not None and u is not open_side:
            continue
        if _open(u) and u.kind is not None and (v.kind == u.kind or (u.kind == "move" and u.region == "gaze")) \
                and set(v.axes) & KIND_AXES[u.kind]:
            return True
    return False


def _compare(x: Action, y: Action) -> str | None:
    """"same" / "opposite" / None (not comparable) for two actions.

    A direction slot left open (sign 0) agrees with either direction: only two stated directions
    that differ are Opposite ("tilts to the left" / "tilts to the right"), while "tilts her head" is
    Same as "tilts to the right" and as "tilts forward" (the same kind, :func:`_kind_match`).
    """
    if x.region != y.region:
        return None
    if x.side and y.side and x.side != y.side:
        return None
    ax, ay = x.axes, y.axes
    shared = set(ax) & set(ay)
    if x.negated != y.negated:
        # a negated action is the opposite of the action; "head remains still" of any head movement
        moved = (y if x.negated else x).axes
        if "move" in (x if x.negated else y).axes and moved:
            return "opposite"
        # only the negated side may leave the direction open: "she does not tilt her head" is the opposite
        # of "tilts to the left", while "does not tilt ... to the left" says nothing against "she tilts
        # her head" (nor against a tilt to the right)
        neg, pos = (x, y) if x.negated else (y, x)
        agree = shared and all(neg.axes[k] == pos.axes[k] or not neg.axes[k] for k in shared)
        return "opposite" if agree or (not shared and _kind_match(x, y, open_side=neg)) else None
    if not shared:
        # an open direction filled by the other (a plain "his head moves" is no Same of a turn or a
        # tilt: :func:`generalises`)
        return "same" if _kind_match(x, y) else None
    if any(ax[k] and ay[k] and ax[k] != ay[k] for k in shared):
        return "opposite"
    if shared <= _NEUTRAL and (set(ax) - _NEUTRAL or set(ay) - _NEUTRAL):
        return None
    return "same"


def relate(a: list[Action], b: list[Action]) -> str | None:
    """Same / opposite / none from two parsed events; None when either has no action (see module doc).

    An event of several actions ("she speaks with her mouth slightly open") is compared action by
    action: Opposite when some action of one is reversed in the other, else Same when some action of
    one is the same as one of the other, else No relation.
    """
    if not a or not b:
        return None
    rels = {_compare(x, y) for x in a for y in b}
    if "opposite" in rels:
        return "opposite"
    return "same" if "same" in rels else "none"


def _covers(p: Action, h: Action) -> bool:
    """Whether action ``p`` states every direction that ``h`` states (so ``p`` entails ``h``)."""
    if _generic(h):
        return True  # any head movement entails "his head moves"
    if _open(p) and not _open(h) or _generic(p):
        return False
    return not any(h.axes[k] and not p.axes.get(k) for k in h.axes if k in p.axes)


def _moves_head(a: Action) -> bool:
    """A head movement of a stated kind (turn, tilt, nod, lift, sway), not a held pose, not negated."""
    return a.region == "head" and not a.state and not a.negated and bool(set(a.axes) & _HEAD_MOVES)


def generalises(premise: list[Action], hypothesis: list[Action]) -> bool:
    """Whether ``hypothesis`` is a plain "his head moves" and ``premise`` a head movement of some
    kind: the movement entails it (AutoDQ), though the two are no Same (TEM).

    A kind left open is far wider than a direction left open ("tilts her head" / "tilts to the
    right" stay Same): Same to every turn, tilt, nod and sway, one vague clause matched 2.4 events
    of the average FEC-Bench reference, and a one-clause caption "Their head moves." scored TEM
    0.424 on the 800 references (0.034 before that rule; review 4). So the vague phrase earns
    precision when a movement happened and no recall, and takes no place in TEM's common
    subsequence."""
    return any(_generic(h) for h in hypothesis) and any(_moves_head(p) for p in premise)


def entails(premise: list[Action], hypothesis: list[Action]) -> bool:
    """AutoDQ entailment on canonical forms: does the premise event entail the hypothesis event?

    Tarsier's AutoDQ (DREAM-1K evaluation, ``evaluation/metrics/evaluate_dream_gpt.py`` of
    github.com/bytedance/tarsier) asks a judge whether a *description* entails each event, with three
    answers -- entailment, neutral, contradiction -- and counts only "entailment", for recall (the
    reference's events against the prediction) and for precision (the prediction's events against the
    reference) alike. A direction is part of what an event claims, so it is one-way here: "her head
    tilts to the right" entails "she tilts her head" (the recall of that reference event is earned),
    while "she tilts her head" leaves the direction open and does not entail "tilts to the right"
    (neutral: no precision credit for a direction the reference does not state). A plain "his head
    moves" leaves the kind open as well: "turns to the left" entails it, it entails no turn. TEM's relation stays
    symmetric (Same both ways), as the paper's Same / Opposite / No-relation judge is.

    Side and degree are not one-way: the hand labels (tests/data/relation_pairs.md) make "his left
    eyebrow raises" Same as "eyebrows raise" and ignore intensity ("slightly", "wide"), and the parser
    reads a degree word per phrase, not per action, so it cannot carry a one-way claim.
    """
    if relate(premise, hypothesis) != "same":
        return False
    return any(_compare(p, h) == "same" and _covers(p, h) for p in premise for h in hypothesis)


# --------------------------------------------------------------------------------------------
# Display
# --------------------------------------------------------------------------------------------
_AXIS_WORDS = {
    "vertical": ("up", "down"), "aperture": ("open", "close"), "lateral": ("left", "right"),
    "yaw": ("turn left", "turn right"), "roll": ("tilt left", "tilt right"), "pitch": ("up", "down"),
    "tension": ("tense", "relax"), "wrinkle": ("wrinkle", "smooth"), "puff": ("puff", "hollow"), "center": ("ahead", "away"), "visible": ("in view", "out of view"),
    "cover": ("covered", "uncovered"),
}


def describe_action(a: Action) -> str:
    """One action as "region(side) movement [state/change, intensity, count, AU]"."""
    parts = []
    for axis, sign in a.axes.items():
        words = _AXIS_WORDS.get(axis)
        if not sign:
            parts.append(f"{a.kind or axis} (direction open)")
            continue
        parts.append(words[0] if words and sign > 0 else words[1] if words else axis)
    aus = sorted({AU[k] for k in ((a.region, ax, s) for ax, s in a.axes.items()) if k in AU})
    bits = [a.region + (f"({a.side})" if a.side else ""), "+".join(parts)]
    if a.negated:
        bits.insert(0, "NOT")
    tags = (["state"] if a.state else ["change"]) + ([{1: "slight", 3: "strong"}[a.intensity]] if a.intensity != 2 else [])
    if a.count:
        tags.append(f"x{a.count}")
    if aus:
        tags.append("/".join(aus))
    return " ".join(bits) + f" [{', '.join(tags)}]"
