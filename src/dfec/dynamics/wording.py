"""Caption wording: the clause of each event kind, and the four-phase FEC-Bench layout.

:data:`CLAUSES` holds every clause the landmark captioner can write (plain / weak / strong);
:func:`group_events` merges same-kind repeats per caption phase and keeps the strongest changes;
:func:`compose` lays the phases out as FEC-Bench captions do ("At the beginning of the video",
"As the video progresses", "In the middle of the video", "Towards the end of the video") and
returns, beside the text, the clauses with the events each came from (``clauses`` of
``events.json``, see :func:`dfec.dynamics.captioner.caption_video`).
"""
from __future__ import annotations

from ..schema import Event
from .config import DynamicsConfig
from .ranking import forehead_companions, phase_cap, select_changes, smile_companions, strength

INTRO = "The video shows the facial movements of the main person, measured from their facial landmarks."
NO_FACE = "No face was found in the video, so no facial movement was measured."
#: the main face was found but no frame of it could be measured (the face model rejected every
#: view: full profile, hidden, deep shadow)
NO_MEASURE = ("The main person's face was found but could not be measured on any frame (turned away, "
              "hidden or in shadow), so no facial movement is described.")
NO_CHANGE = "there is no obvious change in their face"
SEGMENT_PHRASES = (
    "At the beginning of the video",
    "As the video progresses",
    "In the middle of the video",
    "Towards the end of the video",
)

#: event kind -> (plain clause, weak clause, strong clause); weak below 1.5x the threshold,
#: strong from 3x. Clauses avoid commas and joining words so the TEM event extractor keeps each
#: one whole.
CLAUSES: dict[str, tuple[str, str, str]] = {
    "eyes_are_open": ("their eyes are open",) * 3,
    "eyes_are_closed": ("their eyes are closed",) * 3,
    "mouth_is_closed": ("their mouth is closed",) * 3,
    "mouth_is_slightly_open": ("their mouth is slightly open",) * 3,
    "mouth_is_open": ("their mouth is open",) * 3,
    "corners_are_lifted": ("the corners of their mouth are lifted",) * 3,
    "eyes_stay_wide": ("their eyes stay wide open",) * 3,
    "eyes_stay_closed": ("their eyes stay closed",) * 3,
    "eyes_stay_half_open": ("their eyes stay half-open",) * 3,
    "eyes_stay_narrow": ("their eyes stay narrowed",) * 3,
    "brows_are_raised": ("their eyebrows are raised",) * 3,
    "brows_are_furrowed": ("their eyebrows are furrowed",) * 3,
    "brows_stay_raised": ("their eyebrows stay raised",) * 3,
    "brows_stay_furrowed": ("their eyebrows stay furrowed",) * 3,
    "mouth_stays_open": ("their mouth stays open",) * 3,
    "smile_stays": ("the corners of their mouth stay lifted",) * 3,
    "head_stays_lowered": ("their head stays lowered",) * 3,
    "face_appears": ("their face comes into view",) * 3,
    "head_is_turned_left": ("their head is turned to the left",) * 3,
    "head_is_turned_right": ("their head is turned to the right",) * 3,
    "head_is_tilted_left": ("their head is tilted to the left",) * 3,
    "head_is_tilted_right": ("their head is tilted to the right",) * 3,
    "head_is_lowered": ("their head is lowered",) * 3,
    "head_is_raised": ("their head is raised",) * 3,
    "face_leaves": ("their face is no longer visible",) * 3,
    "blink": ("the person blinks",) * 3,
    "eyes_close": ("their eyes close",) * 3,
    "eyes_open": ("their eyes open again",) * 3,
    "eyes_close_briefly": ("their eyes close briefly",) * 3,
    "eyes_widen": ("their eyes widen", "their eyes widen slightly", "their eyes open wide"),
    "eyes_narrow": ("their eyes narrow", "their eyes narrow slightly", "their eyes squint"),
    "eyes_relax_open": ("their eyes open up again",) * 3,
    "eyes_relax_narrow": ("their eyes relax",) * 3,
    "mouth_open": ("their mouth opens", "their lips part slightly", "their mouth opens wide"),
    "mouth_close": ("their mouth closes", "their mouth partly closes", "their mouth closes"),
    "lips_meet": ("their mouth closes",) * 3,
    "lips_part": ("their mouth opens again",) * 3,
    "speaking": ("their mouth opens to speak",) * 3,
    "speaking_stop": ("the person stops speaking",) * 3,
    "speaking_at_start": ("the person is speaking",) * 3,
    "speaking_continues": ("the person keeps speaking",) * 3,
    "smile": ("the person smiles", "the corners of their mouth lift slightly", "the person smiles broadly"),
    "smile_fade": ("their smile fades",) * 3,
    "lips_round": ("their lips round", "their lips round slightly", "their lips round"),
    "lips_pucker": ("their lips pucker", "their lips pucker slightly", "their lips pucker"),
    "corners_relax": ("the corners of their mouth relax",) * 3,
    "corners_down": ("the corners of their mouth turn down", "the corners of their mouth turn down slightly",
                     "the corners of their mouth pull down"),
    "brows_raise": ("their eyebrows raise", "their eyebrows raise slightly", "their eyebrows raise high"),
    "brows_lower": ("their eyebrows lower", "their eyebrows lower slightly", "their eyebrows drop"),
    "brows_relax": ("their eyebrows relax",) * 3,
    "brows_furrow": ("their eyebrows furrow", "their eyebrows furrow slightly", "their eyebrows furrow tightly"),
    "brows_unfurrow": ("their brow relaxes",) * 3,
    "head_turn_left": ("their head turns to the left", "their head turns slightly to the left",
                       "their head turns to the left"),
    "head_turn_right": ("their head turns to the right", "their head turns slightly to the right",
                        "their head turns to the right"),
    "head_tilt_left": ("their head tilts to the left", "their head tilts slightly to the left",
                       "their head tilts to the left"),
    "head_tilt_right": ("their head tilts to the right", "their head tilts slightly to the right",
                        "their head tilts to the right"),
    "head_turn_center": ("their head turns back to the center",) * 3,
    "head_tilt_center": ("their head straightens",) * 3,
    "head_nod": ("the person nods", "the person nods slightly", "the person nods"),
    "head_lift": ("their head lifts", "their head lifts slightly", "their head tilts back"),
    "head_lower": ("their head lowers", "their head lowers slightly", "their head drops"),
    "head_shake": ("the person shakes their head", "the person shakes their head slightly",
                   "the person shakes their head"),
    "head_sway": ("their head sways from side to side", "their head sways slightly from side to side",
                  "their head sways from side to side"),
    "speaking_pause": ("the person pauses speaking",) * 3,
    "speaking_resume": ("their mouth opens to speak again",) * 3,
    # mesh, iris and pixel signals
    # eyes centred in the head at the end of a head turn (said with the turn, see arrange())
    "gaze_follows_left": ("looking to the left",) * 3,
    "gaze_follows_right": ("looking to the right",) * 3,
    "gaze_follows_ahead": ("looking straight ahead",) * 3,
    "gaze_is_ahead": ("their eyes look straight ahead",) * 3,
    "gaze_is_down": ("their eyes look down",) * 3,
    "gaze_is_up": ("their eyes look up",) * 3,
    "gaze_is_left": ("their eyes look to the left",) * 3,
    "gaze_is_right": ("their eyes look to the right",) * 3,
    "gaze_left": ("their eyes turn to the left", "their eyes move slightly to the left", "their eyes turn to the left"),
    "gaze_right": ("their eyes turn to the right", "their eyes move slightly to the right",
                   "their eyes turn to the right"),
    "gaze_up": ("they look up", "they look up slightly", "they look up"),
    "gaze_down": ("they look down", "they look down slightly", "they look down"),
    "gaze_ahead": ("they look straight ahead again",) * 3,
    "eyes_are_half_open": ("their eyes are half-open",) * 3,
    "eyes_are_narrowed": ("their eyes are narrowed",) * 3,
    "eyes_half_close": ("their upper eyelids droop", "their upper eyelids droop slightly", "their eyes half-close"),
    "eyes_reopen": ("their upper eyelids lift",) * 3,
    "lids_tighten": ("their eyes narrow", "their eyes narrow slightly", "their eyes squint"),
    "teeth_are_visible": ("their teeth are visible",) * 3,
    "teeth_show": ("the person shows their teeth", "the person shows some of their teeth", "the person shows their teeth"),
    "lips_press": ("their lips press together", "their lips press together slightly", "their lips press tightly"),
    # the mouth widens with the corners not lifting (AU20): said as the references do, by the corners
    "lips_stretch": ("the corners of their mouth pull sideways", "the corners of their mouth pull slightly sideways",
                     "the corners of their mouth pull sideways"),
    "chin_raise": ("their chin raises", "their chin raises slightly", "their chin raises"),
    "cheeks_raise": ("their cheeks raise", "their cheeks raise slightly", "their cheeks raise"),
    "nose_wrinkle": ("the person wrinkles their nose", "the person wrinkles their nose slightly",
                     "the person wrinkles their nose"),
    # FEC-Bench: "he wrinkles his forehead", "her forehead creases" (one canonical event: forehead, wrinkle)
    "forehead_wrinkle": ("their forehead wrinkles", "their forehead wrinkles slightly", "their forehead wrinkles deeply"),
}
_STATE_KINDS = {"head_is_turned_left", "head_is_turned_right", "head_is_tilted_left", "head_is_tilted_right",
                "head_is_lowered", "head_is_raised", "face_appears", "eyes_are_open", "eyes_are_closed",
                "mouth_is_closed", "mouth_is_slightly_open", "mouth_is_open", "corners_are_lifted", "eyes_are_half_open", "eyes_are_narrowed",
                "teeth_are_visible", "gaze_is_ahead", "gaze_is_down", "gaze_is_up", "gaze_is_left", "gaze_is_right",
                "brows_are_raised", "brows_are_furrowed", "speaking_at_start"}
_FINAL_KINDS = {"eyes_stay_wide", "eyes_stay_closed", "eyes_stay_half_open", "eyes_stay_narrow", "brows_stay_raised", "brows_stay_furrowed",
                "mouth_stays_open", "smile_stays", "head_stays_lowered"}


def clause(event: Event, config: DynamicsConfig, count: int = 1) -> str:
    """The caption clause for one (possibly merged) event."""
    plain, weak, strong = CLAUSES.get(event.kind, (event.kind.replace("_", " "),) * 3)
    if event.kind == "blink":
        return {1: "the person blinks", 2: "the person blinks twice"}.get(count, "the person blinks several times")
    r = strength(event, config)
    text = weak if r < 1.5 else strong if r >= 3.0 else plain
    if count > 1 and event.kind not in _STATE_KINDS:
        text += " repeatedly" if count > 2 else " twice"
    return text


def segment_of(t: float, duration: float, bounds: tuple[float, float, float]) -> int:
    """Which of the four caption phases time ``t`` falls in."""
    if duration <= 0:
        return 0
    f = t / duration
    return int(sum(f >= b for b in bounds))


def said_at(e: Event) -> float:
    """When a caption says ``e`` happened: a swing's half-amplitude crossing
    (``Event.change_at``), else its start. A swing's ``start`` is its 10 % onset, so a slow drift
    that ends in a quick change would be told where the drift begins (dev WolfgangLanger: the
    eyes "half-close" from 8.8 s, the lids come down at 18.3-18.6 s of 19.7)."""
    return e.start if e.change_at is None else e.change_at


def group_events(events: list[Event], duration: float, config: DynamicsConfig,
                 sources: dict[int, list[Event]] | None = None, trusted: set[int] | None = None) -> list[list[Event]]:
    """Events per caption phase (the phase of :func:`said_at`): same-kind repeats in one phase
    become one event (count in the clause), at most ``max_clauses_per_segment`` clauses per phase
    (the strongest, in time order). With ``sources`` given, ``sources[id(merged)]`` lists the
    events each merged one came from. ``trusted``: ids of mouth openings the jaw corroborates
    (:func:`dfec.dynamics.mesh_events.jaw_confirms`): they may pass the clause cap from
    ``jaw_pair_strength`` (:func:`dfec.dynamics.ranking.jaw_pairs`), and each is worded "their mouth
    opens", not "their lips part slightly", whatever that setting."""
    phases: list[list[Event]] = [[] for _ in SEGMENT_PHRASES]
    follows = [e for e in events if e.kind in _FOLLOWS]
    for e in (e for e in events if e.kind not in _FOLLOWS):
        phases[segment_of(said_at(e), duration, config.segments)].append(e)
    t0 = min((e.start for e in events), default=0.0)
    parts = []  # per phase: (states, changes, finals, groups)
    for k, evs in enumerate(phases):
        merged: dict[str, list[Event]] = {}
        groups: dict[int, list[Event]] = {}
        order: list[str] = []
        for e in sorted(evs, key=said_at):
            if e.kind not in merged:
                order.append(e.kind)
                merged[e.kind] = []
            merged[e.kind].append(e)
        items = []
        for kind in order:
            group = merged[kind]
            first = group[0]
            m = Event(kind, min(g.start for g in group), max(g.end for g in group), max(g.intensity for g in group),
                      first.region, change_at=first.change_at)
            m.text = clause(m, config, len(group))
            if trusted and kind == "mouth_open" and any(id(g) in trusted for g in group):
                # the jaw drops with it (AU26): the mouth opens, whatever the gap's strength, not
                # only "their lips part slightly" (AU25, the lips parting over a still jaw)
                m.text = m.text.replace(CLAUSES[kind][1], CLAUSES[kind][0])
            if sources is not None:
                sources[id(m)] = list(group)
            items.append(m)
            groups[id(m)] = group
        if k == 0:  # before the clause cap: speech under way at the start is a state, not a change
            items = _speech_at_start(items, t0, config, sources)
        states = [m for m in items if m.kind in _STATE_KINDS]
        finals = [m for m in items if m.kind in _FINAL_KINDS]
        # the face leaving is no state and is never dropped under the cap: it is said when it happens
        leaves = [m for m in items if m.kind == "face_leaves"]
        changes = [m for m in items if m.kind not in _STATE_KINDS and m.kind not in _FINAL_KINDS and m.kind != "face_leaves"]
        parts.append((states, changes, finals, groups, leaves))
    chosen = select_changes([p[1] for p in parts], [p[3] for p in parts], config, trusted)
    extra = smile_companions(chosen, [p[1] for p in parts], [p[3] for p in parts], config)
    forehead = forehead_companions(chosen, [p[1] for p in parts], [p[3] for p in parts], config)
    out = []
    for k, ((states, _, finals, groups, leaves), changes) in enumerate(zip(parts, chosen)):
        room = max(0, phase_cap(config, k) - len(changes))
        changes = _after_smile(changes, extra[k])
        for brow, m in forehead[k]:  # right after the brow change it comes with
            i = next((i for i, e in enumerate(changes) if e is brow), len(changes) - 1)
            changes.insert(i + 1, m)
        changes = _with_follows(changes, groups, follows, sources)
        for m in leaves:
            j = next((i for i, e in enumerate(changes) if said_at(e) >= m.start and not is_participle(e.text)),
                     len(changes))
            changes.insert(j, m)
        out.append(states + changes + finals[:room])
    return arrange(out, events, duration, config, sources)


def _after_smile(changes: list[Event], companions: list[Event]) -> list[Event]:
    """``changes`` with the smile's companions (:func:`~dfec.dynamics.ranking.smile_companions`)
    right after its first smile ("the person smiles, and their cheeks raise"); in a phase without
    the smile (they happen mostly after it), in time order among the changes."""
    if not companions:
        return changes
    i = next((i for i, m in enumerate(changes) if m.kind == "smile"), None)
    if i is None:
        return sorted(changes + companions, key=said_at)
    return changes[:i + 1] + companions + changes[i + 1:]


_FOLLOWS = {"gaze_follows_left", "gaze_follows_right", "gaze_follows_ahead"}
def _with_follows(changes: list[Event], groups: dict[int, list[Event]], follows: list[Event],
                  sources: dict[int, list[Event]] | None) -> list[Event]:
    """Each kept head turn followed by where the eyes then look, when that was measured
    ("their head turns to the right, looking to the right"); never said without its turn."""
    out = []
    for m in changes:
        out.append(m)
        spans = {(g.start, g.end) for g in groups.get(id(m), [])} if m.kind.startswith("head_turn_") else set()
        f = next((f for f in reversed(follows) if (f.start, f.end) in spans), None)
        if f is not None:
            g = Event(f.kind, f.start, f.end, f.intensity, f.region)
            g.text = CLAUSES[f.kind][0]
            if sources is not None:
                sources[id(g)] = [f]
            out.append(g)
    return out


# ------------------------------------------------------------------------ arranging the clauses
#: the order of the starting states within the first sentence, as FEC-Bench's references write
#: them (counted over the 800 test references: head before eyes 159:69, brows before eyes
#: 172:89, eyes before gaze 515:41, gaze before mouth 525:38, eyes before mouth 702:44)
_STATE_RANK = {"face_appears": 0, "head_is_turned_left": 1, "head_is_turned_right": 1, "head_is_tilted_left": 1,
               "head_is_tilted_right": 1, "head_is_lowered": 1, "head_is_raised": 1, "brows_are_raised": 2,
               "brows_are_furrowed": 2, "eyes_are_open": 3, "eyes_are_half_open": 3, "eyes_are_narrowed": 3, "eyes_are_closed": 3,
               "gaze_is_ahead": 4, "gaze_is_down": 4, "gaze_is_up": 4, "gaze_is_left": 4, "gaze_is_right": 4,
               "mouth_is_closed": 5, "mouth_is_slightly_open": 5, "mouth_is_open": 5, "speaking_at_start": 6,
               "corners_are_lifted": 7, "teeth_are_visible": 8}
#: where the eyes look, said right after the eyes' state ("their eyes are open, looking straight ahead")
_GAZE_PARTICIPLE = {"gaze_is_ahead": "looking straight ahead", "gaze_is_down": "looking down",
                    "gaze_is_up": "looking up", "gaze_is_left": "looking to the left",
                    "gaze_is_right": "looking to the right"}
#: teeth said right after the mouth clause they come with ("their mouth opens, revealing some
#: teeth": the references' form, 62 x "revealing some teeth", 21 x "revealing a few teeth")
_TEETH_PARTICIPLE = ("revealing their teeth", "revealing some teeth", "revealing their teeth")
#: teeth seen from the first frame, hung on the mouth's start state ("their mouth is slightly
#: open, showing their teeth")
_TEETH_STATE_PARTICIPLE = "showing their teeth"
#: clauses after which the teeth can be said as "revealing ... teeth"
_MOUTH_OPENING = {"mouth_is_open", "mouth_is_slightly_open", "speaking_at_start", "mouth_open", "lips_part", "smile",
                  "speaking", "speaking_resume", "speaking_continues", "lips_stretch", "corners_are_lifted"}
_PARTICIPLES = ("looking ", "revealing ", "showing ")  # (the "gaze_follows_*" clauses are all participles)


def is_participle(text: str) -> bool:
    """Whether a clause hangs on the one before it ("looking straight ahead", "revealing some teeth")."""
    return text.startswith(_PARTICIPLES)


def arrange(phases: list[list[Event]], events: list[Event], duration: float, config: DynamicsConfig,
            sources: dict[int, list[Event]] | None = None) -> list[list[Event]]:
    """The phases' clauses as an annotator would write them, from the same measured events:

    * speech already under way on the first frames (a speaking run starting within
      ``speaking_at_start_s`` of the first measured frame, the lips apart there) is a starting
      state, "the person is speaking";
    * the starting states are ordered as the references order them (head, brows, eyes, gaze,
      mouth), the gaze hanging on the eyes' state ("their eyes are open, looking straight ahead");
    * the mouth's measured state is carried through the clauses: an opening of a mouth said to
      be open is "their mouth opens wider"; a smile of corners said to be lifted is "their smile
      broadens" (:func:`_smile_context`);
    * teeth appearing with a mouth clause of the same phase (within ``teeth_with_s``) hang on it
      ("..., revealing some teeth");
    * a phase with nothing else to say that is mostly (``continue_share``) covered by a speaking
      run begun in an earlier phase says "the person keeps speaking", not "there is no obvious
      change" (the run is measured there; FEC-Bench's references restate ongoing speech in only
      ~20 % of later phases, so it is not said where other changes are)."""
    phases = [list(p) for p in phases]
    phases[0] = sorted(phases[0], key=lambda e: (_STATE_RANK.get(e.kind, 99) if e.kind in _STATE_KINDS else 50))
    phases[0] = _one_head_pose_clause(phases[0])
    _anchored_returns(phases)
    _continued_speech(phases, events, duration, config, sources)
    _mouth_context(phases)
    _smile_context(phases, events)
    for k, evs in enumerate(phases):
        phases[k] = _hang_teeth(_hang_gaze(evs), config)
    return phases


#: the starting head poses that can follow a lowered head in one clause
_SECOND_POSE = ("head_is_turned_left", "head_is_turned_right", "head_is_tilted_left", "head_is_tilted_right")


def _one_head_pose_clause(states: list[Event]) -> list[Event]:
    """A lowered starting head said with a turn or tilt (``head_lowered_with_pose``) as the
    references write it ("his head is lowered and turned slightly to the right"): the bow first,
    the turn / tilt right after it without its subject, "their head is lowered, turned to the
    right". Two clauses, one per event (the TEM extractor reads two events either way); the turn /
    tilt keeps its kind, so a later return is anchored on it."""
    low = [e for e in states if e.kind == "head_is_lowered"]
    other = [e for e in states if e.kind in _SECOND_POSE]
    prefix = "their head is "
    if not low or not other or not other[0].text.startswith(prefix):
        return states
    other[0].text = other[0].text[len(prefix):]
    rest = [e for e in states if e is not low[0] and e is not other[0]]
    at = states.index(low[0])
    return rest[:at] + [low[0], other[0]] + rest[at:]


#: a return ("turns back to the center", "straightens", "look straight ahead again") -> the
#: clauses that say the pose it returns from; a return is said only after one of them
_RETURN_FROM = {
    "head_turn_center": ("head_is_turned_left", "head_is_turned_right", "head_turn_left", "head_turn_right",
                         "head_shake"),
    "head_tilt_center": ("head_is_tilted_left", "head_is_tilted_right", "head_tilt_left", "head_tilt_right",
                         "head_sway"),
    "gaze_ahead": ("gaze_is_left", "gaze_is_right", "gaze_is_up", "gaze_is_down", "gaze_left", "gaze_right",
                   "gaze_up", "gaze_down", "gaze_follows_left", "gaze_follows_right"),
}


def _anchored_returns(phases: list[list[Event]]) -> None:
    """Drop each return to the middle whose outgoing pose the caption has not said before it: a
    caption that opens with "their head turns back to the center" tells a return from a turn
    nobody was told of (the starting pose was not measured past its threshold, or the turn was
    not chosen). The participle hung on a dropped turn ("looking straight ahead") goes with it."""
    said: set[str] = set()
    for k, evs in enumerate(phases):
        keep: list[Event] = []
        dropped = False
        for e in evs:
            if dropped and e.kind in _FOLLOWS:
                continue  # the gaze that came with the dropped turn
            dropped = e.kind in _RETURN_FROM and not said.intersection(_RETURN_FROM[e.kind])
            if not dropped:
                keep.append(e)
                said.add(e.kind)
        phases[k] = keep


def _copy(e: Event, kind: str, text: str, sources: dict[int, list[Event]] | None, src: Event) -> Event:
    new = Event(kind, e.start, e.end, e.intensity, e.region)
    new.text = text
    if sources is not None:
        sources[id(new)] = sources.get(id(src), [src])
    return new


def _speech_at_start(evs: list[Event], t0: float, config: DynamicsConfig,
                     sources: dict[int, list[Event]] | None) -> list[Event]:
    if not any(e.kind in ("mouth_is_open", "mouth_is_slightly_open") for e in evs):
        return evs  # lips closed on the first frames: the speech that follows is a change
    return [_copy(e, "speaking_at_start", CLAUSES["speaking_at_start"][0], sources, e)
            if e.kind == "speaking" and e.start - t0 <= config.speaking_at_start_s else e for e in evs]


def _continued_speech(phases: list[list[Event]], events: list[Event], duration: float, config: DynamicsConfig,
                      sources: dict[int, list[Event]] | None) -> None:
    if duration <= 0:
        return
    edges = [0.0, *(b * duration for b in config.segments), duration]
    runs = [e for e in events if e.kind in ("speaking", "speaking_resume")]
    for k in range(1, len(phases)):
        a, b = edges[k], edges[k + 1]
        if b <= a or phases[k]:
            continue  # said only where the phase would otherwise read "no obvious change"
        for r in runs:
            if segment_of(r.start, duration, config.segments) < k and \
                    (min(r.end, b) - max(r.start, a)) / (b - a) >= config.continue_share:
                new = Event("speaking_continues", a, a, r.intensity, "mouth")
                new.text = CLAUSES["speaking_continues"][0]
                if sources is not None:
                    sources[id(new)] = [r]
                phases[k].insert(0, new)
                break


def _mouth_context(phases: list[list[Event]]) -> None:
    """Speech and mouth-opening clauses worded from the mouth's state before them."""
    open_now: bool | None = None
    for evs in phases:
        for e in evs:
            k = e.kind
            if k in ("mouth_is_open", "mouth_is_slightly_open", "speaking_at_start", "lips_part"):
                open_now = True
            elif k in ("mouth_is_closed", "lips_meet") or (k == "mouth_close" and e.text == CLAUSES[k][0]):
                open_now = False
            elif k in ("speaking", "speaking_resume"):
                open_now = True  # a run starts with a measured opening of the lips: "opens to speak"
            elif k == "mouth_open":
                if open_now and not e.text.startswith("their lips part"):
                    e.text = "their mouth opens wider"
                open_now = True
            elif k in ("mouth_close", "speaking_stop", "speaking_pause"):
                open_now = None


#: a smile of corners already lifted (plain, weak, strong; as :data:`CLAUSES` ``"smile"``): the
#: offline judge reads each as the smile's own event ("corners up"), Same as "smiles" / "grins"
_SMILE_BROADENS = ("their smile broadens", "their smile broadens slightly", "their smile grows wide")
#: the lip corners coming down: what ends a smile the caption has told
_CORNERS_FALL = ("smile_fade", "corners_down")


def _smile_context(phases: list[list[Event]], events: list[Event]) -> None:
    """A smile said after the caption has told the corners are lifted (the start state "the
    corners of their mouth are lifted", or an earlier smile), with no fall of the corners measured
    in between (``smile_fade`` / ``corners_down`` in ``events``, said or not), is worded as that
    smile broadening: "their smile broadens", not "the person smiles" for a smile that is already
    there (dev s32: lifted corners from the first frame, the smile widens at 0.8-1.0 s). Its kind
    stays ``smile``, so the smile's companions still follow it. A repeated smile ("smiles twice")
    keeps its words: its corners came down in between."""
    falls = sorted(e.start for e in events if e.kind in _CORNERS_FALL)
    lifted_at: float | None = None
    for evs in phases:
        for e in evs:
            if e.kind == "corners_are_lifted":
                lifted_at = e.start
            elif e.kind == "smile":
                if lifted_at is not None and e.text in CLAUSES["smile"] and \
                        not any(lifted_at <= t < e.start for t in falls):
                    e.text = _SMILE_BROADENS[CLAUSES["smile"].index(e.text)]
                lifted_at = e.start
            elif e.kind in _CORNERS_FALL or e.kind == "corners_relax":
                lifted_at = None


def _hang_gaze(evs: list[Event]) -> list[Event]:
    for i in range(1, len(evs)):
        if evs[i].kind in _GAZE_PARTICIPLE and evs[i - 1].kind.startswith("eyes_are_") and \
                evs[i - 1].kind != "eyes_are_closed":
            evs[i].text = _GAZE_PARTICIPLE[evs[i].kind]
    return evs


def _hang_teeth(evs: list[Event], config: DynamicsConfig) -> list[Event]:
    out = [e for e in evs if e.kind not in ("teeth_show", "teeth_are_visible")]
    for e in (e for e in evs if e.kind in ("teeth_show", "teeth_are_visible")):
        anchors = [i for i, m in enumerate(out) if m.kind in _MOUTH_OPENING
                   and (m.kind in _STATE_KINDS) == (e.kind in _STATE_KINDS)
                   and m.start - config.teeth_with_s <= e.start <= max(m.end, m.start) + config.teeth_with_s
                   and not (i + 1 < len(out) and is_participle(out[i + 1].text))]
        if anchors:
            r = strength(e, config)
            e.text = _TEETH_STATE_PARTICIPLE if e.kind == "teeth_are_visible" else \
                _TEETH_PARTICIPLE[1 if r < 1.5 else 2 if r >= 3 else 0]
            out.insert(anchors[-1] + 1, e)
        else:  # said on its own, in time order among the changes (after the states)
            j = len(out)
            if e.kind not in _STATE_KINDS:
                j = next((i for i, m in enumerate(out) if m.kind not in _STATE_KINDS and said_at(m) > e.start
                          and not is_participle(m.text)), len(out))
            out.insert(j, e)
    return out


def compose(phases: list[list[Event]], visible: list[bool], seen_s: list[float] | None = None,
            min_still_s: float = 0.0) -> tuple[str, list[Event]]:
    """Caption text (intro + four phases in FEC-Bench layout) and the events in caption order
    (:func:`compose_clauses` without the clause list)."""
    text, used, _ = compose_clauses(phases, visible, seen_s, min_still_s)
    return text, used


def compose_clauses(phases: list[list[Event]], visible: list[bool], seen_s: list[float] | None = None,
                    min_still_s: float = 0.0) -> tuple[str, list[Event], list[tuple[str, Event | None]]]:
    """``(text, events, clauses)``: the caption, its events in caption order, and its pieces in
    order as ``(piece, event or None)``: the intro, each phase phrase ("At the beginning of the
    video,"), each event's clause with its punctuation ("their eyes widen,", "and the person
    blinks.") and "there is no obvious change in their face." The pieces joined with single
    spaces give ``text`` with its paragraph breaks (newlines) written as spaces.

    A phase without events says there is no obvious change only when the face was measured in it
    for at least ``min_still_s`` seconds (``seen_s``: measured seconds per phase); a glimpse of a
    few frames is no evidence that nothing changed."""
    used: list[Event] = []
    per_phase: list[list[tuple[str, Event | None]]] = []
    for k, evs in enumerate(phases):
        if evs:
            # the starting states make one sentence, the changes after them the next ("Then ...")
            states = [e for e in evs if e.kind in _STATE_KINDS] if k == 0 else []
            sentences = ([states] if states else []) + _chunks([e for e in evs if all(e is not m for m in states)])
            pieces: list[tuple[str, Event | None]] = [(f"{SEGMENT_PHRASES[k]},", None)]
            for n, sentence in enumerate(sentences):
                if n:
                    pieces.append(("Then", None))
                pieces += _sentence(sentence)
                used.extend(sentence)
        elif visible[k] and k > 0 and (seen_s is None or seen_s[k] >= min_still_s):
            pieces = [(f"{SEGMENT_PHRASES[k]},", None), (f"{NO_CHANGE}.", None)]
        else:
            pieces = []
        per_phase.append(pieces)
    # paragraphs: intro / beginning + progresses / middle / end
    paras = [[(INTRO, None)], per_phase[0] + per_phase[1], per_phase[2], per_phase[3]]
    text = "\n".join(" ".join(t for t, _ in p) for p in paras if p)
    return text, used, [c for p in paras for c in p]


#: at most this many clauses in one sentence (FEC-Bench's references: median 4 events per phase)
MAX_PER_SENTENCE = 4


def _chunks(evs: list[Event]) -> list[list[Event]]:
    """Sentences of at most :data:`MAX_PER_SENTENCE` clauses; a participle stays with its clause."""
    out: list[list[Event]] = []
    for e in evs:
        if out and (len(out[-1]) < MAX_PER_SENTENCE or is_participle(e.text)):
            out[-1].append(e)
        else:
            out.append([e])
    return out


def _sentence(evs: list[Event]) -> list[tuple[str, Event]]:
    """One sentence's pieces: clauses joined by commas, "and" before the last main clause (never
    before a participle: "their eyes are open, looking straight ahead, and their mouth is closed")."""
    mains = [i for i, e in enumerate(evs) if not is_participle(e.text)]
    last_main = mains[-1] if len(mains) > 1 else None
    out = []
    for i, e in enumerate(evs):
        text = f"and {e.text}" if i == last_main else e.text
        out.append((text + ("." if i == len(evs) - 1 else ","), e))
    return out
