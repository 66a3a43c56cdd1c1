"""A canonical form for a facial event, and a parser from caption text to it (TEM, Algorithm 1, step 2).

The offline judge decides Same / Opposite / No relation between two events by comparing what each
says about the face, not their words. ``parse_event("she smiles")`` and ``parse_event("the corners of
her mouth turn upwards")`` both give ``corners: lift`` (FACS AU12), so they are Same although they
share no word; ``"he raises his eyebrows"`` (brows ``vertical +1``, AU1+2) and ``"his brows furrow"``
(brows ``vertical -1, tension +1``, AU4) are Opposite.

One event is a list of :class:`Action` s (the first one is the main action; "eyes half-closed looking
downwards" holds an eyelid action and a gaze action). An action holds

* ``region``: the face part (``brows``, ``forehead``, ``eyes``, ``gaze``, ``head``, ``mouth``,
  ``corners`` of the mouth, ``upper_lip``, ``cheeks``, ``nose``, ``face``) and its FACS action unit(s);
* ``axes``: the movement as signed directions along the region's axes (``aperture`` +1 open / -1
  close, ``vertical`` +1 up / -1 down, ``lateral`` +1 the subject's left / -1 right, ``yaw`` /
  ``roll`` / ``pitch`` of the head, ``tension``, ``wrinkle``) or a named movement with sign +1
  (``blink``, ``speak``, ``nod``, ``shake``, ``pout``, ...); ``center`` for "looks straight ahead";
* ``side``: left / right (the subject's), for one of a pair of parts;
* ``intensity`` (1 slight, 2 plain, 3 strong) and ``count`` (how often: "twice" -> 2);
* ``state``: True for a state ("eyes are open", "mouth slightly open"), False for a change ("opens");
* ``negated``: "does not blink", "stops speaking", "head remains still", "wrinkles disappear" (a
  negated action's axes are flipped, so a negated state is the opposite of the state);
* ``kind``: the movement a head or eyeball verb names ("tilt", "turn", eyeball "move"); when the
  phrase gives no direction ("she tilts her head") the kind's axis is kept with sign 0: an open slot.

Relation rule (:func:`relate`, in :mod:`dfec.metrics.canonical_form`), on every pair of actions of
the two events:

* a shared axis in the reverse direction, or a negated action against the action, in any pair of
  actions: **Opposite**;
* otherwise the same region and movement, all shared axes in the same direction, in some pair of
  actions: **Same** ("she speaks with her mouth slightly open" / "he keeps talking");
* a different region or movement (no shared axis): **No relation**;
* intensity, count and state vs change are ignored (a slight smile is a smile; "eyes are open" is
  Same as "opens his eyes"); an action on one side is Same as the unsided one, but the left and the
  right part are different regions (No relation);
* an open direction agrees with any stated one of its kind: "she tilts her head" is Same as "her head
  tilts to the right" and as "tilts forward" (Opposite needs two stated directions that differ, or a
  negated movement whose own direction is open or equal: "she does not tilt her head" / "tilts to the
  left"); an open eyeball movement is filled by any stated gaze direction, a look included; a tilt is
  not a turn; a plain "her head moves" ("slight head movements") leaves the kind open too, so it is Same as
  any turn, tilt, nod or sway of the head (Opposite to the head held still), and "his eyes dart" is an
  eyeball movement with its direction open;
* "forward" / "front" is a turn's target (head ahead) only when the turn governs it ("turns back to
  the front"); beside a lean or tilt it is the head going down ("she turns and leans forward");
  "back to the normal position" and "towards the middle" are a return to the centre, "towards the
  left side of the video" is "left";
* the face in or out of view is its own axis ("their face is no longer visible" / "his face leaves the
  frame": Same; / "her face is visible again": Opposite); a hand over a part covers it ("her hand over
  her mouth" / "his mouth is covered": Same; a hand lowered from it: Opposite; no mouth movement); the
  body ("her body shifts", "her back facing the camera") is no face region;
* AutoDQ's entailment (:func:`entails`) is one-way on an open direction or kind: "tilts to the right"
  entails "tilts her head" and "her head moves", not the reverse (the choice and its source: :func:`entails`);
* a phrase the parser cannot read (no action) returns ``None``: the caller falls back to sentence
  embeddings (:mod:`dfec.metrics.relations`).

The word lists live in :mod:`dfec.metrics.canonical_lexicon`; the form, the relation rule and
the entailment in :mod:`dfec.metrics.canonical_form`.
"""
from __future__ import annotations

from collections import namedtuple

from .canonical_form import Action, describe_action, entails, generalises, relate
from .canonical_lexicon import (ADJ_NEXT, AHEAD_FILLERS, AU, BOUND, CENTER, COUNTS, DETERMINERS, DOWN, GAZE_VERBS,
                                LEFT, MOVE_NOUNS, MOVES, NEG_AFTER, NEG_BEFORE, NEG_BEFORE_ING, NOUNISH, NOUN_REGION, OPEN_AXIS,
                                PITCH_DOWN, PITCH_UP, PLURAL_NOUNS, RETURN_NOUNS, RETURN_STATES, RIGHT, ROLL,
                                SHAPE_NOUNS, SIDED, SIDED_REGIONS, SLIGHT, STATE_VERBS, STILL, STRONG, TOKEN_RE,
                                TURN, UP, VIEW_NOUNS, YAW, normalise)

#: words that may stand between a turn verb and the "forward" / "front" it governs
_TURN_FILLERS = {"back", "to", "toward", "towards", "the", "a", "an", "little", "slightly", "bit", "again", "its", "his",
                 "her", "their", "head", "slowly", "gradually", "more", "somewhat", "once"}

__all__ = ["Action", "parse_event", "relate", "entails", "describe", "AU"]

# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------
def parse_event(text: str) -> list[Action]:
    """The canonical actions of one event phrase (main action first); [] when nothing is readable."""
    toks = TOKEN_RE.findall(normalise(text))
    p = _Parse(toks)
    for i, tok in enumerate(toks):
        p.step(i, tok)
    p.flush(None, default=True)
    return p.finish()


#: a word seen before its part (:meth:`_Parse.flush`): ``dflt`` "dir" (the direction word ``axis``, at
#: ``index`` in the phrase), "kind" (a head / gaze verb ``axis``) or a movement's default region;
#: ``noun``: an adjective before its part ("the upturned corners")
_Pending = namedtuple("_Pending", "dflt axis sign index noun", defaults=(0, -1, False))


class _Parse:
    """Left-to-right reading of one phrase: parts set the region, movement words add signed axes."""

    def __init__(self, toks: list[str]):
        self.toks = toks
        self.actions: list[Action] = []
        self.region: str | None = None
        self.side: str | None = None
        self.pending: list[_Pending] = []  # movement / direction words seen before any part
        self.negate_next = False
        self.neg_first = False  # a negation word before any action ("not ... blinking")
        self.still = False
        self.noun_axes: dict[int, set[str]] = {}  # axes set by a noun ("the furrow", "wrinkles")
        eye_noun = any(t in {"eye", "eyes"} for t in toks)
        self.gaze_phrase = any(t in GAZE_VERBS for t in toks) or (
            eye_noun and any(t in YAW for t in toks) and not _has_lid_move(toks))
        self.head_kind: str | None = None
        self.intensity, self.count = 2, None
        self.mouth_moves = False
        self.noun = False
        self.skip: set[int] = set()  # "side of the video" after a left/right: read with the direction

    # -- building actions -------------------------------------------------------------------
    def action(self, reg: str) -> Action:
        side = self.side if reg in SIDED_REGIONS else None
        for a in reversed(self.actions):
            if a.region == reg and (side is None or a.side in (None, side)):
                return a
        a = Action(reg, side=side)
        self.actions.append(a)
        return a

    def put(self, reg: str | None, axis: str, sign: int) -> None:
        for reg2, axis2, sign2 in _route(reg, axis, sign, self.toks):
            if reg2 is None:
                continue
            a = self.action(reg2)
            if self.negate_next and not a.axes:
                a.negated = True
                self.negate_next = False
            if a.axes.get(axis2) == 0 and sign2 != 0:
                a.axes[axis2] = sign2  # a direction fills the slot an undirected verb left open
            elif sign2 == 0 and axis2 in a.axes:
                pass
            elif a.axes.get(axis2, sign2) != sign2:
                if axis2 in self.noun_axes.get(id(a), ()):
                    _reverse(a, axis2)  # "the furrow relaxes", "wrinkles fade": the reverse change
                    self.noun_axes.pop(id(a), None)
            else:
                a.axes.setdefault(axis2, sign2)
                if self.noun:
                    self.noun_axes.setdefault(id(a), set()).add(axis2)

    def undirected(self, reg: str, tok: str) -> None:
        """A movement verb of the head or the eyeballs, before (or without) its direction.

        "tilts" / "turns" (head) and "move" / "shift" / "turn" (eyeballs) open a slot (the kind's
        axis with sign 0) that a later direction word fills; "her head moves" stays a generic movement.
        """
        kind = "move" if reg == "gaze" else "tilt" if tok in ROLL else "turn" if tok in TURN else None
        if kind is None:
            self.put(reg, "move", 1)
            return
        self.put(reg, OPEN_AXIS[kind], 0)
        a = self.action(reg)
        a.kind = a.kind or kind

    def turn_governs(self, i: int) -> bool:
        """Whether a turn / face verb governs the word at ``i`` ("turns back to the front", "facing forward").

        Only filler words may stand between them: in "she turns and leans forward" or "the head turns,
        tilting forward" the forward belongs to the lean / tilt (the head goes down), not to the turn.
        """
        for j in range(i - 1, -1, -1):
            t = self.toks[j]
            if t in TURN or (t.startswith("fac") and not (t == "face" and j and self.toks[j - 1] in DETERMINERS)):
                return True
            if t not in _TURN_FILLERS:
                return False
        return False

    def kind_at(self, i: int) -> str | None:
        """The head kind of the nearest movement verb before word ``i`` ("leans forward and turns": roll)."""
        for t in reversed(self.toks[:i] if i >= 0 else []):
            if t in ROLL:
                return "roll"
            if t in YAW:
                return "yaw"
        return self.head_kind

    def direction(self, tok: str, i: int = -1) -> None:
        """left/right/up/down/ahead: the direction of the gaze, the head, or the part's movement."""
        reg = self.region if self.region is not None else ("gaze" if self.gaze_phrase else "head")
        if reg == "eyes" and self.gaze_phrase:
            reg = "gaze"
        if reg == "gaze":
            if tok in LEFT | RIGHT:
                self.put("gaze", "lateral", 1 if tok in LEFT else -1)
            elif tok in UP | DOWN:
                self.put("gaze", "vertical", 1 if tok in UP else -1)
            elif tok in CENTER:
                self.put("gaze", "center", 1)
        elif reg == "head":
            if tok in {"center", "centre", "middle", "camera", "ahead"} or (
                    tok in {"forward", "front", "straight"} and self.turn_governs(i)):
                # "her head returns to the center", "facing forward", "turns back to the front" (a target
                # the turn names, not a turn with its direction left open)
                self.put("head", "center", 1)
            elif tok in LEFT | RIGHT:
                self.put("head", self.head_kind or "yaw", 1 if tok in LEFT else -1)
            elif tok in UP or tok in PITCH_UP:
                self.put("head", "pitch", 1)
            elif tok in DOWN or (tok in PITCH_DOWN and self.kind_at(i) == "roll"):
                self.put("head", "pitch", -1)
        elif tok in UP | DOWN:
            self.put(reg, "vertical", 1 if tok in UP else -1)

    def flush(self, region: str | None, default: bool = False) -> None:
        """Give the movement words seen before any part to the part found now (at the end: defaults)."""
        pending, self.pending = self.pending, []
        for entry in pending:
            dflt, axis, sign = entry[:3]
            if dflt == "dir":
                self.direction(axis, entry.index)
                continue
            if dflt == "kind":  # "tilts her head", "tilts slightly": a head (or gaze) verb seen before its part
                if region is None and axis in MOVE_NOUNS:
                    continue  # "no pronounced facial muscle movements": no part named, not the head
                reg = region if region is not None else ("gaze" if self.gaze_phrase else "head")
                self.undirected(reg, axis) if reg in {"head", "gaze"} else self.put(reg, "move", 1)
                continue
            reg = region if region is not None else dflt
            if dflt in BOUND and reg not in BOUND[dflt]:
                reg = dflt  # "a smile on her face": the mouth's corners
            if reg is None and default and axis == "vertical":
                reg = "head"  # "rise again", "lowers it": the head
            if reg is not None:
                noun, self.noun = self.noun, self.noun or entry.noun
                self.put(reg, axis, sign)
                self.noun = noun

    def set_region(self, reg: str) -> None:
        if reg == "face" and any(t in YAW | ROLL | LEFT | RIGHT and t != "face" for t in self.toks):
            reg = "head"  # "her face turns to the right" (the noun "face" itself is no turn verb)
        self.region = reg
        self.flush(reg)

    # -- one token ----------------------------------------------------------------------------
    def step(self, i: int, tok: str) -> None:
        toks = self.toks
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        nxt2 = toks[i + 2] if i + 2 < len(toks) else ""
        prev = toks[i - 1] if i else ""
        if tok in NEG_BEFORE or (tok in NEG_BEFORE_ING and nxt.endswith("ing")):
            if self.pending and tok in {"without", "no", "nor"}:
                self.flush(None, default=True)  # "speaks without ...": the negation is about what follows
            self.negate_next = True
            self.neg_first = self.neg_first or not self.actions
            return
        self.noun = tok in PLURAL_NOUNS or (tok in NOUNISH and prev in DETERMINERS)
        if tok in STILL and tok != "still" or (
                tok == "still" and prev in STATE_VERBS | {"head", "it"} and (not nxt or nxt in {"and", "with", "for"})):
            self.still = True
            return
        if tok in SLIGHT:
            self.intensity = 1
        elif tok in STRONG and self.intensity == 2:
            self.intensity = 3
        if COUNTS.get(tok):
            self.count = COUNTS[tok]
        if i in self.skip:
            return
        towards = prev in {"to", "toward", "towards"} or (prev == "the" and i > 1 and toks[i - 2] in {"to", "toward", "towards"})
        if tok == "middle" and towards and nxt != "of" or (
                tok in RETURN_STATES and nxt in RETURN_NOUNS and not {"they", "them"} & set(toks)):
            # "her eyes shift towards the middle", "tilts back to the normal position" (not "the woman in the
            # middle", nor "they return to their original position": the brows, the lips, ...)
            tok = "center"
        # the subject's left/right part ("her left eyebrow", "the left side of his mouth"); "the left side
        # of the video" is a direction (taken as stated: the references do not say whose left)
        view = [k for k in (i + 3, i + 4) if nxt == "side" and nxt2 == "of" and k < len(toks) and toks[k] in VIEW_NOUNS]
        if view:
            self.skip.update(range(i + 1, view[0] + 1))
        if tok in LEFT | RIGHT and not view and (nxt in SIDED - {"side"} or (nxt == "side" and nxt2 == "of")
                                      or (nxt == "one" and prev != "to")):
            self.side = "left" if tok in LEFT else "right"
            return
        if tok in {"upper", "lower", "bottom", "top"} and nxt in ADJ_NEXT:
            if nxt in {"lip", "lips"}:
                both = prev == "and" and i > 1 and toks[i - 2] in {"upper", "lower", "top", "bottom"}
                self.set_region("mouth" if both else "upper_lip" if tok in {"upper", "top"} else "lower_lip")
            elif nxt in {"eyelid", "eyelids", "lid", "lids"}:
                self.set_region("eyes" if tok == "upper" else "lower_lid")
            return
        if tok in NEG_AFTER:
            if self.actions:
                _reverse(self.actions[-1], None)
            else:
                self.negate_next = True
            return
        reg = NOUN_REGION.get(tok)
        if reg is not None:
            if prev in {"upper", "lower", "bottom", "top"} and tok in {"lip", "lips", "eyelid", "eyelids", "lid", "lids"}:
                return
            if reg == "eyes" and tok in {"eye", "eyes"} and self.gaze_phrase:
                reg = "gaze"
            if reg == "body" and self.region is not None and prev in {"and", "with"}:
                return  # "his head and shoulders shake": still the head's movement
            if tok == "face" and prev not in {"his", "her", "their", "the", "facial", "whole", "entire"}:
                return  # "faces forward": a verb
            if tok in {"corner", "corners"} and any(t in {"eye", "eyes"} for t in toks[i + 1:i + 4]):
                reg = "eyes"  # "the corners of her eyes"
            if reg == "mouth" and self.region == "corners" and prev in {"of", "his", "her", "their", "the"} and \
                    any(t in {"corner", "corners"} for t in toks[max(0, i - 3):i]) and \
                    any(MOVES.get(t, (0, ""))[1] in {"stretch", "retract", "expand"} for t in toks[i + 1:]):
                return  # "the corners of her mouth pull to the sides": still the corners
            self.set_region(reg)
            return
        if tok == "back" and (nxt in {"to", "toward", "towards", "into", "again"} or prev in DETERMINERS | {"s"}):
            if nxt not in {"to", "toward", "towards", "into", "again"} and prev in {"her", "his", "their", "s"}:
                self.set_region("body")  # "her back facing the camera": the body, not the head
            return  # "turns back to the left": a return; "the other's back": a noun
        if tok in YAW:
            self.head_kind = "yaw"
        elif tok in ROLL:
            self.head_kind = "roll"
        if tok in GAZE_VERBS and self.region in {None, "eyes", "gaze"}:
            self.set_region("gaze")
            return
        if tok in LEFT | RIGHT | UP | DOWN | CENTER | PITCH_UP | PITCH_DOWN:
            if tok == "front" and nxt in LEFT | RIGHT:
                return
            if self.region is None and not self.gaze_phrase:
                self.pending.append(_Pending("dir", tok, index=i))
            elif tok in UP | DOWN and nxt in SHAPE_NOUNS and self.target_ahead(i + 1):
                self.pending.append(_Pending("dir", tok, index=i))  # "an upward curve at the corners of her mouth"
            elif self.region in {"gaze", "head", "eyes"} or tok in UP | DOWN:
                self.direction(tok, i)
            return
        if tok in YAW | ROLL:
            if self.region is None and not self.gaze_phrase:
                self.pending.append(_Pending("kind", tok))
            elif self.region in {"head", "gaze"}:
                self.undirected(self.region, tok)
            elif self.region in {"mouth", "lower_lip", "upper_lip"} and tok.startswith("mov"):
                self.mouth_moves = True  # "her lips move": she talks (unless the phrase says how)
            return
        mv = MOVES.get(tok)
        if tok.startswith("half-open") and any(NOUN_REGION.get(t) == "mouth" for t in toks) and \
                not any(NOUN_REGION.get(t) == "eyes" for t in toks):
            mv = (None, "aperture", 1)  # a half-open mouth is open (half-open eyes are narrowed)
        if mv is None or (tok in {"part", "parts"} and (nxt == "of" or prev in {"a", "the", "small", "some"})):
            return
        dflt, axis, sign = mv
        if self.region is not None and dflt in BOUND and self.region not in BOUND[dflt]:
            self.put(dflt, axis, sign)  # "looking down with a smile": the smile is the mouth's
        elif self.region is None or self.target_ahead(i):
            # an adjective before its part ("the upturned corners ... fall back") is a state a later
            # verb may reverse, like a noun's
            self.pending.append(_Pending(dflt, axis, sign, noun=tok.endswith("ed") and nxt in NOUN_REGION))
        else:
            self.put(self.region, axis, sign)

    def target_ahead(self, i: int) -> bool:
        """Whether the part a movement word belongs to comes just after it, not before.

        "... and slightly raising his eyebrows", "with slightly pursed lips", "wrinkles appear on his
        forehead", "a slight upward curve at the corners of her mouth": the word goes to that part
        instead of the part named earlier in the phrase.
        """
        for t in self.toks[i + 1:i + 7]:
            reg = NOUN_REGION.get(t)
            if reg is not None:
                return reg not in (self.region, "face")
            if not (t in AHEAD_FILLERS or t in SLIGHT or t in STRONG or MOVES.get(t, (0, ""))[1] == "more"):
                return False
        return False

    def finish(self) -> list[Action]:
        if self.mouth_moves and not any(a.region in {"mouth", "corners", "speech"} and a.axes for a in self.actions):
            self.put("mouth", "speak", 1)
        if any(a.region == "speech" for a in self.actions) and not any(NOUN_REGION.get(t) == "head" for t in self.toks):
            # "opening and closing to speak": the open-and-close is the talking, not a head movement
            self.actions = [a for a in self.actions if not (a.region == "head" and a.axes == {"move": 1})]
        if self.still:
            if not self.actions:
                self.actions.append(Action(self.region or "head"))
            for a in self.actions:
                if a.region in {"head", "gaze", self.region}:
                    a.axes.setdefault("move", 1)
                    a.negated = True
        if self.negate_next and self.neg_first and self.actions and not any(a.negated for a in self.actions):
            self.actions[0].negated = True
        state = _is_state(self.toks)
        out = []
        for a in self.actions:
            if (a.negated and a.axes.get("move") == 1) or any(a.axes.values()):
                # a direction given ("tilts forward": pitch) or the head held still: no slot stays open
                a.axes = {k: v for k, v in a.axes.items() if v}
            if len(a.axes) > 1:
                a.axes.pop("move", None)
            if not a.axes:
                continue
            a.intensity, a.count, a.state = self.intensity, self.count, state
            out.append(a)
        return out


def _reverse(a: Action, axis: str | None) -> None:
    """The reverse change of an action ("wrinkles disappear", "the furrow relaxes")."""
    keep = ["tension"] if "tension" in a.axes and a.region == "brows" else [axis] if axis is not None else a.axes
    a.axes = {k: -a.axes[k] for k in keep}


def _has_lid_move(toks: list[str]) -> bool:
    return any(t in MOVES and MOVES[t][1] in {"aperture", "blink"} for t in toks)


def _is_state(toks: list[str]) -> bool:
    """A state ("eyes are open", "mouth slightly open", "brows furrowed") rather than a change."""
    if any(t in {"is", "are", "remain", "remains", "stays", "still", "keeps", "with"} for t in toks):
        return True
    verbs = [(i, t) for i, t in enumerate(toks) if t in MOVES or t in GAZE_VERBS]
    plural = {"eyes", "lips", "eyelids", "lids", "brows", "eyebrows", "corners", "cheeks", "nostrils"}

    def adjective(i: int, t: str) -> bool:
        if t in {"open", "shut"}:  # "her eyes open" is a verb, "her mouth (slightly) open" a state
            return not (i and toks[i - 1] in plural)
        return t.endswith("ed") or t in {"closed", "ajar", "apart", "wide", "half-open", "half-closed"}

    return bool(verbs) and all(adjective(i, t) for i, t in verbs)


def _route(reg: str | None, axis: str, sign: int, toks: list[str]) -> list[tuple[str | None, str, int]]:
    """Map (part, movement word) onto canonical (region, axis, sign) entries."""
    if axis == "speak":
        return [("speech", "speak", sign)]
    if axis == "cover" and "teeth" in toks:
        return []  # "the upper lip covering the lower teeth": no hand over the mouth
    if axis == "visible":
        if reg == "face":
            return [("face", "visible", sign)]  # "their face is no longer visible": the face out of view
        axis = "reveal"
    if axis == "expand":
        if reg == "nose":
            return [("nose", "flare", 1)]
        axis = "stretch"
    if axis == "stretch":
        return [("corners", "stretch", 1)] if reg in {"corners", "cheeks"} else []
    if axis == "together":
        if reg == "brows":
            axis = "furrow"
        elif reg in {"mouth", "upper_lip", "lower_lip"}:
            axis = "press"
        else:
            return []
    if axis == "furrow":
        if reg in {"forehead", "face", "head", None, "eyes", "gaze", "brows"}:
            return [("brows", "vertical", -1), ("brows", "tension", 1)]
        return [(reg, "tension", 1)]
    if reg is None or reg == "body":
        return []  # no part, or the body: no facial event
    if axis == "press":
        if reg in {"mouth", "upper_lip", "lower_lip", "corners"}:
            return [("mouth", "aperture", -1), ("mouth", "tension", 1)]
        return [(reg, "tension", 1)]
    if axis == "wrinkle":
        return [(reg, "wrinkle", sign)] if reg != "brows" else [("brows", "vertical", -1), ("brows", "tension", 1)]
    if axis == "more":
        return [(reg, "wrinkle", sign)] if reg in {"forehead", "nose"} else []
    if reg == "forehead" and axis in {"vertical", "tension"}:
        return [("forehead", "wrinkle", sign)]
    if reg == "brows" and axis == "tension" and sign > 0:
        return [("brows", "vertical", -1), ("brows", "tension", 1)]
    if reg in {"eyes", "gaze"} and axis in {"aperture", "blink"}:
        return [("eyes", axis, sign)]
    if reg == "eyes":
        if axis == "vertical":
            return [("eyes", "aperture", sign)]  # "her eyelids lift" opens the eye
        if axis == "tension":
            if sign > 0 and "upper" in toks and any(t in UP for t in toks if t != "upper"):
                return [("eyes", "aperture", 1)]  # "the upper eyelids tighten upwards": the lids rise
            return [("eyes", "aperture", -1)] if sign > 0 else [("eyes", "tension", -1)]
        if axis == "reveal":
            return []
    if reg == "lower_lid":
        if axis in {"vertical", "tension"}:
            return [("eyes", "aperture", -1 if axis == "tension" else -sign)]
        return [("eyes", axis, sign)]
    if reg == "lower_lip":
        return [("mouth", "aperture", -sign)] if axis == "vertical" else _route("mouth", axis, sign, toks)
    if reg == "upper_lip":
        if axis in {"vertical", "aperture"} and sign > 0:
            return [("upper_lip", "vertical", 1)]
        return _route("mouth", axis, sign, toks)
    if reg == "mouth":
        if axis == "reveal":
            return [("mouth", "aperture", 1)]
        if axis == "vertical" and "jaw" in toks:
            return [("mouth", "aperture", -sign)]  # the jaw drops: the mouth opens
        if axis == "tension" and sign > 0 and ("lips" in toks or "lip" in toks):
            return [("mouth", "aperture", -1), ("mouth", "tension", 1)]
        if axis == "vertical":
            return [("corners", "vertical", sign)]  # "mouth curves up", "mouth turns down"
        if axis == "retract":
            return [("corners", "retract", 1)]
    if reg == "corners" and axis in {"aperture", "tension"}:
        return [("corners", "tension" if axis == "tension" else "stretch", sign)]
    if reg == "gaze" and axis in {"puff", "pout", "tension", "stretch", "wrinkle", "more", "reveal", "retract"}:
        return []  # "slightly bulging eyeballs": no gaze direction
    if reg in {"head", "gaze"} and axis == "vertical":
        return [(reg, "pitch" if reg == "head" else "vertical", sign)]
    if axis == "reveal" or (reg == "head" and axis in {"aperture", "tension", "wrinkle"}):
        return []
    return [(reg, axis, sign)]


def describe(text: str) -> str:
    """One line showing how an event was read: "brows up [change, AU1+2]; gaze down [...]" or "?"."""
    acts = parse_event(text)
    return "; ".join(describe_action(a) for a in acts) if acts else "? (embedding fallback)"
