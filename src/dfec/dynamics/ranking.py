"""Which measured changes a caption says: each change's strength against its threshold, how often
FEC-Bench's references name its kind (:mod:`dfec.dynamics.vocabulary`), the rank a phase keeps
them in under its clause cap, and the one-phase-per-kind rule of the references
(:func:`select_changes`). :mod:`dfec.dynamics.wording` then says the chosen ones."""
from __future__ import annotations

from ..schema import Event
from .config import DynamicsConfig
from .vocabulary import classify, reference_share

#: the threshold each kind's intensity is compared with (attribute of DynamicsConfig)
THRESHOLD_OF = {
    "blink": "blink_depth", "eyes_close": "blink_depth", "eyes_open": "blink_depth",
    "eyes_close_briefly": "blink_depth",
    "eyes_widen": "eye_deg", "eyes_narrow": "eye_deg", "eyes_relax_open": "eye_deg", "eyes_relax_narrow": "eye_deg",
    "mouth_open": "mouth_open", "mouth_close": "mouth_open", "speaking": "speak_prominence",
    "speaking_stop": "speak_prominence", "smile": "smile_lift", "smile_fade": "smile_lift",
    "corners_relax": "smile_lift", "lips_round": "lips_round", "lips_pucker": "lips_round", "corners_down": "smile_lift", "brows_raise": "brow_raise",
    "brows_lower": "brow_raise", "brows_relax": "brow_raise", "brows_furrow": "brow_furrow",
    "brows_unfurrow": "brow_furrow", "head_turn_left": "yaw_deg", "head_turn_right": "yaw_deg",
    "head_tilt_left": "roll_deg", "head_tilt_right": "roll_deg",
    "head_turn_center": "yaw_deg", "head_tilt_center": "roll_deg", "head_nod": "nod_deg",
    "head_lift": "pitch_deg", "head_lower": "pitch_deg",
    "head_shake": "yaw_deg", "head_sway": "roll_deg", "speaking_pause": "speak_prominence",
    "speaking_resume": "speak_prominence", "gaze_left": "gaze_deg", "gaze_right": "gaze_deg",
    "gaze_up": "gaze_v_deg", "gaze_down": "gaze_v_deg", "gaze_ahead": "gaze_deg", "eyes_half_close": "lid_droop",
    "eyes_reopen": "lid_droop", "lids_tighten": "lid_tighten", "teeth_show": "teeth_show",
    "lips_press": "lip_press", "lips_stretch": "lips_stretch", "chin_raise": "chin_raise",
    "cheeks_raise": "cheek_raise", "nose_wrinkle": "nose_wrinkle", "forehead_wrinkle": "forehead_wrinkle",
}

#: always kept under the clause cap: FEC-Bench captions nearly always say when speech starts / stops
ALWAYS_KEEP = {"speaking", "speaking_stop"}

#: kinds whose share of reference events is that of another clause: annotators mostly write a
#: head's way back as a turn or tilt ("turns back to the right", "turns her head to the front"),
#: which the vocabulary files under head turns / tilts, not under the rare "straightens". A shake /
#: sway is said instead of the turns / tilts it is made of (they leave the timeline,
#: :func:`dfec.dynamics.events.detect_events`), so it ranks as one of them would: under its own,
#: rarer cell (sways 1.2 % of the reference events, tilts 3.9 %) the head's rocking was dropped
#: under the clause cap where its tilts would have been said (dev clip nggyup, 3.7-9.1 s)
SHARE_AS = {"head_turn_center": "their head turns to the left", "head_tilt_center": "their head tilts to the left",
            "head_shake": "their head turns to the left", "head_sway": "their head tilts to the left"}


def share(event: Event) -> float:
    """How often FEC-Bench's references name this kind of change (:func:`reference_share`)."""
    return reference_share(SHARE_AS.get(event.kind, event.text))


def strength(event: Event, config: DynamicsConfig) -> float:
    """Intensity as a multiple of its detection threshold (1.0 = just detected)."""
    attr = THRESHOLD_OF.get(event.kind)
    th = getattr(config, attr, 0.0) if attr else 0.0
    return float(event.intensity / th) if th else 1.0


#: the speech narrative (starts, pauses, resumes, stops) is told in full
SPEECH_KINDS = {"speaking", "speaking_resume", "speaking_pause", "speaking_stop", "speaking_continues"}


def weight(m: Event, config: DynamicsConfig) -> float:
    """A change's rank weight: its kind's share of reference events (plus 0.001, so an unnamed kind
    still ranks by strength) to the power ``share_power``, times its strength counted up to
    ``rank_strength_cap``, times its kind's factor in ``kind_weights`` (default 1)."""
    prior = float(config.kind_weights.get(m.kind, 1.0)) if config.kind_weights else 1.0
    return (share(m) + 1e-3) ** config.share_power * min(strength(m, config), config.rank_strength_cap) * prior


def rank(m: Event, config: DynamicsConfig) -> tuple:
    """Which changes a phase keeps first under its clause cap: speaking (FEC-Bench captions nearly
    always say when it starts / stops), the ``first_kept_kinds`` (blinks), then by :func:`weight`:
    the changes FEC-Bench's annotators name most often (their share of reference events,
    dfec.dynamics.vocabulary), weighed by strength relative to the threshold."""
    return (m.kind not in ALWAYS_KEEP, m.kind not in config.first_kept_kinds, -weight(m, config))


def strong_enough(m: Event, config: DynamicsConfig) -> bool:
    """Whether a change is at least ``min_strength`` times its threshold; the speech narrative, the
    ``first_kept_kinds`` (blinks) and kinds without a threshold (``lips_meet`` / ``lips_part``:
    their strength is not measured) always are."""
    if (config.min_strength <= 0 or m.kind in SPEECH_KINDS or m.kind in config.first_kept_kinds
            or m.kind not in THRESHOLD_OF):
        return True
    floor = config.pitch_min_strength if m.kind in PITCH_KINDS else config.min_strength
    return strength(m, config) >= floor


#: the two brow changes of FACS AU1+AU4 (the inner brows raised and drawn together): the brows'
#: height rises while the inner-brow gap narrows, two measurements of one movement
BROW_PAIR = ("brows_raise", "brows_furrow")


def brow_pairs(changes: list[list[Event]], groups: list[dict[int, list[Event]]], config: DynamicsConfig) -> set[int]:
    """The ids of the phase changes (``changes``, merged per kind: their events in ``groups``) that
    are a brow raise overlapping in time a brow furrow, or that furrow, each at least
    ``brow_pair_strength`` times its threshold: they corroborate each other (the corrugator pulls
    the inner brows together while the frontalis' inner part lifts them, AU1+AU4; a head turn, the
    usual cause of a false narrowing of the inner-brow gap, is masked at detection), so each is
    said from that floor instead of ``min_strength``, as a smile's companions are. Dev clip 167
    (checked by eye): the inner brows rise and draw together at 0.6-1.6 s; the furrow (1.21 of its
    threshold) and the raise (1.22) were both measured and neither was said."""
    if config.brow_pair_strength >= config.min_strength or config.min_strength <= 0:
        return set()
    found = {kind: [(m, g) for k, ch in enumerate(changes) for m in ch if m.kind == kind
                    for g in groups[k].get(id(m), [m]) if strength(g, config) >= config.brow_pair_strength]
             for kind in BROW_PAIR}
    out = set()
    for m, g in found[BROW_PAIR[0]]:
        for n, h in found[BROW_PAIR[1]]:
            if g.start < h.end and h.start < g.end:
                out.update((id(m), id(n)))
    out.update(forehead_raises(changes, groups, config))
    return out


def forehead_raises(changes: list[list[Event]], groups: list[dict[int, list[Event]]],
                    config: DynamicsConfig) -> dict[int, float]:
    """The ids of the phase changes that are a brow raise at least ``brow_pair_strength`` times its
    threshold overlapping in time (0.3 s slack, as :func:`forehead_companions`) a forehead wrinkle
    of at least ``companion_min_strength``, each with the largest :func:`weight` of those wrinkles
    (``brow_forehead_pair``). The forehead's lines are read on the frame's pixels
    (:func:`dfec.dynamics.mesh_signals.forehead_lines`), not from FaceMesh's brow points, so they
    corroborate a raise whose points jitter (the frontalis lifts the brows and folds the skin
    above them, AU1+2): the raise is said from ``brow_pair_strength`` and ranks as the wrinkle
    would, which is then said right after it as its companion. Codec-guessed brows get no such
    support: the forehead is not read on blocky frames or patches under 12 px, and a wrinkle the
    cheeks' skin shares is dropped (``forehead_skin_share``)."""
    if not config.brow_forehead_pair or config.brow_pair_strength >= config.min_strength or config.min_strength <= 0:
        return {}
    wrinkles = [(x, weight(m, config)) for k, ch in enumerate(changes) for m in ch if m.kind == "forehead_wrinkle"
                for x in groups[k].get(id(m), [m]) if strength(x, config) >= config.companion_min_strength]
    out: dict[int, float] = {}
    for k, ch in enumerate(changes):
        for m in ch:
            if m.kind != "brows_raise":
                continue
            for g in groups[k].get(id(m), [m]):
                if strength(g, config) < config.brow_pair_strength:
                    continue
                w = [wt for x, wt in wrinkles if g.start - 0.3 <= x.end and x.start <= g.end + 0.3]
                if w:
                    out[id(m)] = max(out.get(id(m), 0.0), *w)
    return out


#: head lifts and lowers: double-checked at detection (:func:`dfec.dynamics.headpose.pitch_change_ok`),
#: so their floor is ``pitch_min_strength``
PITCH_KINDS = {"head_lift", "head_lower"}


def not_rare(m: Event, config: DynamicsConfig) -> bool:
    """A change FEC-Bench's annotators rarely name is said only when it is clearly measured."""
    return m.kind in ALWAYS_KEEP or share(m) >= config.rare_share or strength(m, config) >= config.rare_strength


def phase_cap(config: DynamicsConfig, k: int) -> int:
    """How many clauses phase ``k`` may say: ``phase_caps[k]``, or ``max_clauses_per_segment``."""
    caps = config.phase_caps
    return int(caps[k]) if caps and k < len(caps) else config.max_clauses_per_segment


def cell_of(m: Event) -> tuple[str, str]:
    c = classify(m.text)
    return c.region, c.action


def jaw_pairs(changes: list[list[Event]], groups: list[dict[int, list[Event]]], config: DynamicsConfig,
              trusted: set[int] | None) -> set[int]:
    """The ids of the phase changes that are a mouth opening the jaw's own drop
    corroborates (one of their events is in ``trusted``, the ids
    :func:`dfec.dynamics.mesh_events.jaw_confirms` returns) and at least ``jaw_pair_strength``
    times their threshold: said from that floor instead of ``min_strength``, as brow pairs are."""
    if not trusted or config.jaw_pair_strength >= config.min_strength or config.min_strength <= 0:
        return set()
    return {id(m) for k, ch in enumerate(changes) for m in ch if m.kind == "mouth_open"
            and any(id(g) in trusted for g in groups[k].get(id(m), [m])) and strength(m, config) >= config.jaw_pair_strength}


def select_changes(changes: list[list[Event]], groups: list[dict[int, list[Event]]], config: DynamicsConfig,
                   trusted: set[int] | None = None) -> list[list[Event]]:
    """The changes each phase says, in time order: at most ``max_clauses_per_segment`` by
    :func:`rank`, and one kind of change (a vocabulary cell: "head tilts", "blinks") in at most
    ``max_phases_per_kind`` phases, those where it is said and happened most often and most
    clearly; a phase that gives a kind up says its next-ranked changes instead. Over FEC-Bench's
    800 references a cell is named in one phase of a caption 65-80 % of the time, in two 15-30 %,
    in three or more under 10 % (blinks 9.7 %, head turns 5.2 %, tilts 2.5 %), however often it
    happened; the speech narrative is exempt. Default 1, the references' mode (13 dev clips, mean
    TEM: no limit 0.587, 2: 0.586, 1: 0.597). The cap is :func:`phase_cap`; a change that is not
    :func:`strong_enough`, or is rare and weak (:func:`not_rare`), is not said; brow pairs
    (:func:`brow_pairs`) and mouth openings the jaw corroborates (:func:`jaw_pairs`, ``trusted``:
    ids of the events it confirms) have their own floor."""
    most = config.max_phases_per_kind
    paired = brow_pairs(changes, groups, config) | jaw_pairs(changes, groups, config, trusted)
    lifted = forehead_raises(changes, groups, config)

    def key(m: Event) -> tuple:
        r = rank(m, config)
        # just ahead of its wrinkle, which is then said with it, not in its place
        return (r[0], r[1], min(r[2], -lifted[id(m)] * (1 + 1e-6))) if id(m) in lifted else r

    ranked = [sorted((m for m in ch if (strong_enough(m, config) or id(m) in paired) and not_rare(m, config)),
                     key=key)
              for ch in changes]
    banned: list[set] = [set() for _ in changes]
    while True:
        said = [[m for m in r if cell_of(m) not in banned[k]][:phase_cap(config, k)] for k, r in enumerate(ranked)]
        if most <= 0:
            break
        where: dict = {}
        for k, evs in enumerate(said):
            for m in evs:
                if m.kind not in SPEECH_KINDS:
                    n, r = where.setdefault(cell_of(m), {}).get(k, (0, 0.0))
                    where[cell_of(m)][k] = (n + len(groups[k].get(id(m), [m])), max(r, strength(m, config)))
        extra = [(cell, k) for cell, w in where.items() if len(w) > most
                 for k in sorted(w, key=lambda k: (-w[k][0], -w[k][1], k))[most:]]
        if not extra:
            break
        for cell, k in extra:
            banned[k].add(cell)
    return [[m for m in ch if any(m is x for x in said[k])] for k, ch in enumerate(changes)]


#: the brow movements whose action wrinkles the forehead (the frontalis raising the brows, AU1+2;
#: the corrugator's frown, AU4, folds the skin above the brows' inner ends)
FOREHEAD_ANCHORS = ("brows_raise", "brows_furrow")


def forehead_companions(chosen: list[list[Event]], changes: list[list[Event]], groups: list[dict[int, list[Event]]],
                        config: DynamicsConfig) -> list[list[tuple[Event, Event]]]:
    """Per phase, ``(brow change, forehead wrinkle)`` pairs: a forehead wrinkle not already chosen
    that overlaps in time (0.3 s slack) a chosen brow raise or furrow (:data:`FOREHEAD_ANCHORS`) is
    said right after it, in the brow's phase, beyond the clause cap ("their eyebrows raise high,
    and their forehead wrinkles"), as FEC-Bench's references pair them ("he raises his eyebrows
    and wrinkles his forehead"); the wrinkling is the brows' own action seen on the skin, not a
    separate change competing for the phase's clauses. At least ``companion_min_strength`` times
    its threshold (the brows corroborate it, as a smile its companions). Off with ``forehead_with_brows`` False; a
    wrinkle without a chosen brow change competes under the cap like any change."""
    out: list[list[tuple[Event, Event]]] = [[] for _ in chosen]
    if not config.forehead_with_brows:
        return out
    said = {cell_of(m) for ch in chosen for m in ch}
    anchors = [(j, p, g) for j, picked in enumerate(chosen) for p in picked if p.kind in FOREHEAD_ANCHORS
               for g in groups[j].get(id(p), [p])]
    for k, cands in enumerate(changes):
        for m in cands:
            if m.kind != "forehead_wrinkle" or any(m is p for ch in chosen for p in ch) or cell_of(m) in said:
                continue
            if strength(m, config) < config.companion_min_strength:
                continue
            mine = groups[k].get(id(m), [m])
            hit = next(((j, p) for j, p, g in anchors for x in mine if g.start - 0.3 <= x.end and x.start <= g.end + 0.3),
                       None)
            if hit is not None:
                said.add(cell_of(m))
                out[hit[0]].append((hit[1], m))
    return out


#: changes that make a smile a full one (FACS AU6 with AU12: the cheeks raise and push the lower
#: lids up, the eyes narrow); said with a smile they overlap (:func:`smile_companions`)
SMILE_COMPANIONS = ("cheeks_raise", "lids_tighten", "eyes_narrow")


def _starts_during(a: list[Event], smiles: list[Event], slack: float = 0.2) -> bool:
    """Whether one of ``a`` begins while one of ``smiles`` is under way (from ``slack`` s before its
    onset to its offset): what the smile raises starts with it, not before it."""
    return any(s.start - slack <= x.start <= s.end for x in a for s in smiles)


def smile_companions(chosen: list[list[Event]], changes: list[list[Event]], groups: list[dict[int, list[Event]]],
                     config: DynamicsConfig) -> list[list[Event]]:
    """Per phase, the changes a chosen smile brings with it (:data:`SMILE_COMPANIONS`, at most
    ``config.smile_companions`` per phase, by :func:`rank`, said cheeks first: they push the lower
    lids up), beyond the phase's clause cap, as the teeth a smile shows; said right after the
    smile when it is said in the same phase, else in their own phase (the one their change
    happens in, :func:`dfec.dynamics.wording.said_at`: a lid tightening that follows the smile's
    onset but happens mostly later is said later). A companion is at least
    ``companion_min_strength`` times its threshold (the smile corroborates a change weaker than
    ``min_strength``: two signals of one facial action agree); begins while a chosen smile is
    under way (from 0.2 s before its onset to its offset: a narrowing already under way when the
    smile starts is not the smile's); and is of a vocabulary cell said nowhere else in the
    caption (the one-phase-per-kind rule).

    Dev clips facellava 1 and face_noface (checked on the traces): the cheeks rise 5-13 % and the
    lower lids 20-50 % with the smile, and their references say so ("the cheeks raise", "the eyes
    narrow slightly", "his cheeks rise"). 13 dev clips (offline judge): mean TEM 0.673 -> 0.677,
    P 0.788 -> 0.788, R 0.696 -> 0.724."""
    out: list[list[Event]] = [[] for _ in chosen]
    if config.smile_companions <= 0:
        return out
    said = {cell_of(m) for ch in chosen for m in ch}
    smiles = [g for k, picked in enumerate(chosen) for m in picked if m.kind == "smile" for g in groups[k].get(id(m), [m])]
    if not smiles:
        return out
    for k, (picked, cands) in enumerate(zip(chosen, changes)):
        pool = sorted((m for m in cands if m.kind in SMILE_COMPANIONS and not any(m is p for p in picked)
                       and strength(m, config) >= config.companion_min_strength
                       and _starts_during(groups[k].get(id(m), [m]), smiles)), key=lambda m: rank(m, config))
        for m in pool:
            if len(out[k]) >= config.smile_companions:
                break
            if cell_of(m) not in said:
                said.add(cell_of(m))
                out[k].append(m)
    # never before its smile: a companion whose own phase comes before the phase its smile is said in
    # (it may begin up to 0.2 s before the smile) is said with the smile (review 5)
    for k in range(len(out)):
        for m in list(out[k]):
            later = [j for j, picked in enumerate(chosen) for p in picked if p.kind == "smile"
                     and _starts_during(groups[k].get(id(m), [m]), groups[j].get(id(p), [p]))]
            if later and min(later) > k:
                out[k].remove(m)
                out[min(later)].append(m)
    for ev in out:
        ev.sort(key=lambda m: SMILE_COMPANIONS.index(m.kind))  # the cheeks push the lower lids up
    return out
