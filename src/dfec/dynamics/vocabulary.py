"""The vocabulary of facial-dynamics captions: each event phrase as a FACS-like region x action x
direction cell.

FEC-Bench's references (and FDA captions) describe changes such as "her head tilts slightly to the
left", "looking straight ahead", "revealing some upper teeth". :func:`classify` maps one event
phrase (as cut out of a caption by :func:`dfec.metrics.events.extract_events`, TEM's step 1) to a
:class:`Cell` ``(region, action, direction)`` with ordered keyword rules, in the spirit of FACS
action units grouped by face region (brows: AU1/2/4; lids: AU5/7/43/45; cheeks: AU6; nose: AU9;
lips: AU10-28; jaw: AU26/27; head: AU51-58; eyes: AU61-64 for gaze). ``direction`` is only kept
where the caption says one (left / right for turns, tilts and gaze).

The same rules classify the clauses the landmark captioner can write
(:data:`dfec.dynamics.wording.CLAUSES`), so "which fraction of reference events can the captioner
express" is measured by one function on both sides (:func:`coverage`), not by a hand-made list.
Phrases that name no face event (extractor left-overs like "in the following footage") get the
region ``none`` and are left out of coverage.
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

#: the vocabulary table of FEC-Bench's 800 test references (counts per cell; written by
#: ``benchmarks/reference_vocabulary.py``)
TABLE = Path(__file__).with_name("fecbench_vocabulary.tsv")


@dataclass(frozen=True, order=True)
class Cell:
    """One cell of the vocabulary table."""

    region: str
    action: str
    direction: str = ""

    @property
    def key(self) -> str:
        return ".".join(p for p in (self.region, self.action, self.direction) if p)


NONE = Cell("none", "none")

_LR = re.compile(r"\b(left|right)\b")
_W = r"(?:\w+\s+){0,3}"  # up to three words in between


def _r(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.I)


# (region, action, pattern) in priority order; the first match wins. Written against the 800
# FEC-Bench test references and checked on the most frequent unmatched phrases.
_RULES: tuple[tuple[str, str, re.Pattern], ...] = tuple((a, b, _r(p)) for a, b, p in (
    # gaze first: "eyes looking down" is a gaze, not an eye opening
    ("gaze", "up", r"\b(look|looking|looks|gaz\w*|star(?:e|es|ed|ing)|glanc\w*|eyeballs?|gaze|eyes (look|move|turn|roll|shift|glanc)\w*)\b.*\b(up|upward|upwards|above|ceiling|sky)\b|\broll\w* (his |her |their )?eyes\b"),
    ("gaze", "down", r"\b(look|looking|looks|gaz\w*|star(?:e|es|ed|ing)|glanc\w*|eyeballs?|gaze|eyes (look|move|turn|cast|shift|glanc)\w*)\b.*\b(down|downward|downwards|below|floor|ground)\b"),
    ("gaze", "aside", r"\b(look|looking|looks|gaz\w*|star(?:e|es|ed|ing)|glanc\w*|eyeballs?|gaze|eyes (move|shift|turn|dart|glance))\b.*\b(left|right|aside|side|away|sideways)\b"),
    ("gaze", "ahead", r"\b(look|looking|looks|gaz\w*|star(?:e|es|ed|ing)|eyes? fixed|focus\w*)\b.*\b(ahead|forward|forwards|front|straight|camera|directly)\b"),
    ("gaze", "shift", r"\b(eyeballs?|gaze|eyes (move|shift|dart|wander)|glanc\w*|look\w* around)\b"),
    ("gaze", "ahead", r"\b(look|looking|looks|gaz\w*|star(?:e|es|ed|ing))\b"),
    # mouth interior and lips before generic mouth
    ("teeth", "show", r"\bteeth\b|\btooth\b"),
    ("lips", "tremble", r"\b(lips?|mouth|chin)\b.*\b(trembl\w*|quiver\w*|twitch\w*)\b|\b(trembl\w*|quiver\w*)\b"),
    ("lips", "pucker", r"\b(purs\w*|pucker\w*|pout\w*)\b|\blips\b.*\bround\w*\b"),
    ("lips", "press", r"\b(lips?|mouth)\b.*\b(press\w*|tight\w*|firmly|pursed tightly|clench\w*|compress\w*)\b|\bpress\w* (his |her |their )?lips\b"),
    ("lips", "upper_raise", r"\bupper lip\b.*\b(rais\w*|lift\w*|curl\w*)\b"),
    ("lips", "stretch", r"\b(lips?|mouth|corners?)\b.*\b(stretch\w*|pull\w* (sideways|back|outward)|sideways|spread\w*|flatten\w*|horizontal\w*)\b"),
    ("lips", "bite", r"\b(bit\w*|lick\w*|suck\w*)\b.*\blips?\b|\blips?\b.*\b(bit\w*|lick\w*)\b|\btongue\b"),
    # lip corners (smiles)
    ("corners", "relax", r"\bsmile\b.*\b(fad\w*|disappear\w*|vanish\w*|fall\w*|drop\w*)\b"),
    ("corners", "down", r"\bcorners?\b.*\b(down\w*|droop\w*|sag\w*|fall\w*|lower\w*|pull\w* down)\b|\bfrown\w*\b.*\bmouth\b"),
    ("corners", "up", r"\bcorners?\b.*\b(up\w*|lift\w*|rais\w*|rise\w*|rising|curl\w*|turn\w* up)\b|\bsmil\w*\b|\bgrin\w*\b|\blaugh\w*\b"),
    ("corners", "up", r"\b(upward|upturn\w*) (curve )?(at |of )?(the )?corners?\b|\b(rais\w*|lift\w*) (the )?corners\b"),
    ("corners", "relax", r"\bcorners?\b.*\b(relax\w*|return\w*|back|fall\w* back|flat)\b"),
    # speech
    ("speech", "stop", r"\b(stop\w*|paus\w*|ceas\w*|finish\w*|end\w*) (speaking|talking|to speak|to talk)\b|\b(speaking|talking|speech) (stops|ends|pauses|ceases)\b|\bpaus\w*\b|\bfalls? silent\b|\bsilent\b"),
    ("speech", "speak", r"\b(speak\w*|talk\w*|say\w*|said|spoke|spoken|utter\w*|chat\w*|sing\w*|speech|convers\w*|lips? (mov\w*|moving)|mouth (mov\w*|moving)|mov\w* (his |her |their )?(lips|mouth)|articulat\w*|repl\w*|answer\w*|ask\w*|explain\w*)\b"),
    # jaw and chin
    ("jaw", "drop", r"\bjaw\b.*\b(drop\w*|open\w*|slack\w*|fall\w*|lower\w*)\b|\bmouth (falls|drops) open\b|\bmouth (opens )?wide\b|\bwide[- ]open mouth\b|\bmouth\b.*\bwide open\b|\bgap\w*\b"),
    ("jaw", "clench", r"\bjaw\b.*\b(clench\w*|tight\w*|set)\b|\bclench\w*\b"),
    ("chin", "quiver", r"\bchin\b.*\b(quiver\w*|trembl\w*|wrinkl\w*|pucker\w*)\b"),
    ("chin", "raise", r"\bchin\b.*\b(lift\w*|rais\w*|up|jut\w*|push\w*)\b|\b(lift\w*|rais\w*) (his |her |their )?chin\b"),
    ("chin", "lower", r"\bchin\b.*\b(lower\w*|drop\w*|tuck\w*|down)\b"),
    # cheeks and nose
    ("cheeks", "raise", r"\bcheeks?\b.*\b(rais\w*|lift\w*|rise\w*|bulg\w*|push\w* up|tight\w*|round\w*)\b|\bcheekbones? (rise|lift)\w*\b"),
    ("cheeks", "puff", r"\bcheeks?\b.*\b(puff\w*|inflat\w*|suck\w*|hollow\w*)\b"),
    ("nose", "wrinkle", r"\bnose\b.*\b(wrinkl\w*|scrunch\w*|crinkl\w*)\b|\bnasolabial\b|\bwrinkl\w* (his |her |their )?nose\b"),
    ("nose", "flare", r"\bnostrils?\b"),
    # mouth opening
    ("mouth", "open", r"\b(mouth|lips?)\b.*\b(open\w*|part(?:s|ed|ing)?|ajar|apart|separat\w*|agape)\b|\bopen\w* (his |her |their )?(mouth|lips)\b|\bpart(?:s|ed|ing)? (his |her |their )?lips\b"),
    ("mouth", "close", r"\b(mouth|lips?)\b.*\b(clos\w*|shut\w*|sealed|together|meet)\b|\bclos\w* (his |her |their )?(mouth|lips)\b"),
    ("mouth", "close", r"\bopening of (his |her |their )?mouth (becomes|gets) smaller\b"),
    ("lips", "stretch", r"\b(corners of the mouth|mouth) widens?\b"),
    ("mouth", "move", r"\b(mouth|lips?)\b"),
    # eyelids and eyes
    ("eyes", "blink", r"\bblink\w*\b"),
    ("eyes", "widen", r"\b(rais\w*|lift\w*) (his |her |their )?(upper )?eyelids\b|\b(raised|lifted) (upper )?eyelids\b"),
    ("eyes", "half_open", r"\b(droop\w*|lowered|heavy|half-closed) (upper )?(eye)?lids\b"),
    ("lids", "tighten", r"\b(eyelids?|lids?)\b.*\b(tight\w*|tense\w*|squeez\w*)\b|\bsqueez\w*\b.*\beyes?\b|\beyes?\b.*\b(squeez\w*|tightly closed|screw\w*)\b"),
    ("eyes", "half_open", r"\b(eyelids?|lids?)\b.*\b(droop\w*|lower\w*|heavy|sag\w*|hal[fv]\w*|half-clos\w*|fall\w*|drop\w*|down\w*)\b|\bhalf[- ]?(open\w*|clos\w*|shut)\b|\bdroop\w*\b.*\beyes?\b|\beyes?\b.*\b(slightly (open|closed)|partially (open|closed)|barely open|droop\w*|heavy|hooded)\b"),
    ("eyes", "widen", r"\b(eyelids?|lids?)\b.*\b(lift\w*|rais\w*|ris\w*|up\w*|open\w* wide)\b|\bwiden\w*\b|\bwide\b|\b(eyes?)\b.*\b(enlarg\w*|bulg\w*|open\w* (up )?(more|wider|fully))\b"),
    ("eyes", "narrow", r"\bsquint\w*\b|\bnarrow\w*\b|\b(eyes?)\b.*\b(smaller|narrow\w*)\b"),
    ("eyes", "close", r"\beyes?\b.*\b(clos\w*|shut\w*)\b|\bclos\w* (his |her |their )?eyes\b"),
    # the eyes going back after widening or narrowing (rarely named: 2 of the 800 references)
    ("eyes", "relax", r"\beyes?\b.*\b(relax\w*|return\w* to normal)\b"),
    ("eyes", "open", r"\beyes?\b.*\bopen\w*\b|\bopen\w* (his |her |their )?eyes\b|\beyes\b"),
    # brows and forehead
    ("brows", "furrow", r"\bfurrow\w*\b|\bfrown\w*\b|\bknit\w*\b|\b(brows?|eyebrows?)\b.*\b(together|draw\w*|pinch\w*|tight\w*|wrinkl\w*)\b|\bbetween (his |her |their )?(eye)?brows\b"),
    ("brows", "raise", r"\b(brows?|eyebrows?)\b.*\b(rais\w*|lift\w*|ris\w*|rose|up\w*|arch\w*|high\w*)\b|\b(rais\w*|lift\w*) (his |her |their )?(eye)?brows\b"),
    ("brows", "lower", r"\b(brows?|eyebrows?)\b.*\b(lower\w*|fall\w*|drop\w*|down\w*|sink\w*|descend\w*)\b|\blower\w* (his |her |their )?(eye)?brows\b"),
    ("brows", "relax", r"\b(brows?|eyebrows?)\b.*\b(relax\w*|smooth\w*|return\w*|back|loosen\w*|ease\w*|neutral)\b"),
    ("forehead", "wrinkle", r"\bforehead\b|\bwrinkl\w*\b"),
    ("brows", "move", r"\b(brows?|eyebrows?)\b"),
    # head
    ("head", "nod", r"\bnod\w*\b"),
    ("head", "shake", r"\bshak\w*\b"),
    ("head", "sway", r"\b(sway\w*|wobbl\w*|rock\w*|bob\w*)\b|\bside to side\b|\bback and forth\b"),
    # back to facing the camera before "back" reads as a lift ("turns back to the center")
    ("head", "straighten", r"\bback to (the )?(cent\w*|front|original)\b|\breturn\w* to (the )?cent\w*\b"),
    ("head", "lower", r"\b(head|face)\b.*\b(down\w*|lower\w*|bow\w*|dip\w*|drop\w*|forward\w*|sink\w*|hang\w*|droop\w*)\b|\b(lower\w*|bow\w*|dip\w*|drop\w*) (his |her |their )?head\b|\blowers?\b|\blowered\b"),
    ("head", "lift", r"\b(head|face)\b.*\b(up\w*|lift\w*|rais\w*|back\w*|tilt\w* back)\b|\b(lift\w*|rais\w*) (his |her |their )?head\b|\blifts? (it )?up\b"),
    ("head", "tilt", r"\btilt\w*\b|\btilted\b|\blean\w*\b"),
    ("head", "turn", r"\b(turn\w*|rotat\w*|swivel\w*|twist\w*)\b|\bto the (left|right)\b"),
    ("head", "straighten", r"\bstraighten\w*\b|\bback to (the )?(cent\w*|front|original)\b|\breturn\w*\b"),
    ("head", "move", r"\b(head|face)\b.*\b(mov\w*|shift\w*)\b"),
    ("face", "other", r"\b(face|expression|head|cheeks?|nose|neck)\b"),
))

#: actions whose direction is kept when the phrase names one
_DIRECTED = {("head", "turn"), ("head", "tilt"), ("gaze", "aside")}


def classify(phrase: str) -> Cell:
    """The vocabulary cell of one event phrase ("her head tilts slightly to the left" ->
    ``Cell("head", "tilt", "left")``); :data:`NONE` when no rule matches."""
    text = " ".join(str(phrase).lower().split())
    for region, action, pat in _RULES:
        if pat.search(text):
            direction = ""
            if (region, action) in _DIRECTED:
                m = _LR.findall(text)
                direction = m[-1] if m else ""
            return Cell(region, action, direction)
    return NONE


def count_cells(phrases: Iterable[str]) -> Counter:
    """How often each :class:`Cell` occurs among ``phrases``."""
    return Counter(classify(p) for p in phrases)


def expressible(clauses: Iterable[str]) -> set[Cell]:
    """The cells a captioner can state, from the clause texts it can write (:class:`NONE` and
    the catch-all ``face.other`` are never counted as expressible)."""
    out = {classify(c) for c in clauses}
    return {c for c in out if c != NONE and c.action not in ("other", "move")}


def covered(cell: Cell, cells: set[Cell]) -> bool:
    """Whether ``cell`` is in ``cells``; a reference phrase without a direction ("turns her head")
    is covered by any direction of the same action."""
    if cell in cells:
        return True
    if not cell.direction:
        return any((c.region, c.action) == (cell.region, cell.action) for c in cells)
    return False


def coverage(counts: Counter, cells: set[Cell]) -> tuple[float, int, int]:
    """``(fraction, covered occurrences, all occurrences)`` of the event occurrences in ``counts``
    whose cell the captioner can express (phrases of cell :data:`NONE` are left out)."""
    total = sum(n for c, n in counts.items() if c != NONE)
    hit = sum(n for c, n in counts.items() if c != NONE and covered(c, cells))
    return (hit / total if total else 0.0), hit, total


@lru_cache(maxsize=1)
def reference_shares() -> dict[tuple[str, str], float]:
    """How often each (region, action) occurs among the event occurrences of FEC-Bench's
    references (:data:`TABLE`; directions pooled, :data:`NONE` left out); empty without the table."""
    if not TABLE.is_file():
        return {}
    with open(TABLE, newline="") as f:
        rows = list(csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t"))
    counts: Counter = Counter()
    for r in rows:
        if (r["region"], r["action"]) != (NONE.region, NONE.action):
            counts[(r["region"], r["action"])] += int(r["count"])
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()} if total else {}


def reference_share(phrase: str) -> float:
    """The share of FEC-Bench reference events in the cell of ``phrase`` (0 when unknown)."""
    c = classify(phrase)
    return reference_shares().get((c.region, c.action), 0.0)
