"""The lexicon of :mod:`dfec.metrics.canonical`: the words of the 800 FEC-Bench references by face region,
movement and direction, negation and intensity words, and the phrase rewrites applied before parsing.

``MOVES`` maps a movement word to (default region, axis, sign); region None means "the part named in
the phrase". The FACS action units in ``AU`` are for display only.
"""
from __future__ import annotations

import re

AU = {
    ("brows", "vertical", 1): "AU1+2", ("brows", "vertical", -1): "AU4", ("brows", "tension", 1): "AU4",
    ("eyes", "aperture", 1): "AU5", ("eyes", "aperture", -1): "AU43/AU7", ("eyes", "blink", 1): "AU45",
    ("corners", "vertical", 1): "AU12", ("corners", "vertical", -1): "AU15", ("upper_lip", "vertical", 1): "AU10",
    ("mouth", "aperture", 1): "AU25/26", ("mouth", "aperture", -1): "AU23/24", ("cheeks", "vertical", 1): "AU6",
    ("nose", "wrinkle", 1): "AU9", ("forehead", "wrinkle", 1): "AU1+2", ("mouth", "pout", 1): "AU18/22",
    ("head", "yaw", 1): "AU51", ("head", "yaw", -1): "AU52", ("head", "pitch", 1): "AU53", ("head", "pitch", -1): "AU54",
    ("head", "roll", 1): "AU55", ("head", "roll", -1): "AU56", ("gaze", "lateral", 1): "AU61", ("gaze", "lateral", -1): "AU62",
    ("gaze", "vertical", 1): "AU63", ("gaze", "vertical", -1): "AU64",
}


def verb_forms(*stems: str) -> set[str]:
    """Inflections of verbs: "raise" -> raise, raises, raised, raising."""
    out = set()
    for s in stems:
        out |= {s, s + "s", s + "es", s + "ed", s + "d", s + "ing"}
        if s.endswith("e"):
            out |= {s[:-1] + "ing", s + "d"}
        if re.search(r"[^aeiou][aeiou][pgtb]$", s):
            out |= {s + s[-1] + "ed", s + s[-1] + "ing"}
    return out


# nouns naming a region; "eye"/"eyes" default to the eyelids, turned into gaze by a gaze verb
REGION_NOUNS = {
    "brows": {"eyebrow", "eyebrows", "brow", "brows", "glabella"},
    "forehead": {"forehead"},
    "eyes": {"eye", "eyes", "eyelid", "eyelids", "lid", "lids"},
    "gaze": {"gaze", "eyeball", "eyeballs", "sight", "pupils", "pupil", "balls"},
    "head": {"head", "chin", "neck"},
    "mouth": {"mouth", "lips", "lip", "jaw", "teeth", "tooth", "tongue"},
    "corners": {"corners", "corner"},
    "cheeks": {"cheek", "cheeks"},
    "nose": {"nose", "nostrils", "nostril"},
    "face": {"face", "expression", "muscles", "features"},
    # not a face region: what the body does ("her body shifts", "her back facing the camera") is no head event
    "body": {"body", "shoulders", "shoulder", "torso"},
}
NOUN_REGION = {w: r for r, ws in REGION_NOUNS.items() for w in ws}

UP = {"up", "upward", "upwards", "upper", "above", "top", "higher", "skyward"}
DOWN = {"down", "downward", "downwards", "below", "bottom", "lower", "low", "floor"}
LEFT = {"left", "leftward", "leftwards"}
RIGHT = {"right", "rightward", "rightwards"}
CENTER = {"ahead", "forward", "forwards", "straight", "front", "center", "centre", "camera"}

# verbs/adjectives -> (default region, axis, sign); region None = the part named in the phrase
MOVES: dict[str, tuple[str | None, str, int]] = {}


def _add(words, region, axis, sign):
    for w in words:
        MOVES[w] = (region, axis, sign)


_add(verb_forms("raise", "lift", "arch", "rise", "elevate") | {"rose", "risen", "upturned", "upturn", "upturns"},
     None, "vertical", 1)
_add(verb_forms("lower", "drop", "droop", "sag", "dip", "bow", "descend", "fall", "sink") | {"fell", "downturned", "downturn",
                                                                          "downturns", "droopy", "fallen"},
     None, "vertical", -1)
_add(verb_forms("open", "widen", "part", "enlarge", "separate") | {"ajar", "apart", "agape", "wide", "wider", "widely",
                                                    "gaping", "gap", "larger"}, None, "aperture", 1)
_add(verb_forms("squint"), "eyes", "aperture", -1)
_add(verb_forms("close", "shut", "narrow", "compress", "seal") | {"shut", "slit", "half-closed", "half-shut",
     "half-close", "half-closes", "half-open", "half-opened", "half-opens", "narrower", "smaller"},
     None, "aperture", -1)
_add(verb_forms("tighten", "tense", "clench", "stiffen", "contract") | {"tight", "tighter", "tense", "gritted", "grit"},
     None, "tension", 1)
_add(verb_forms("relax", "loosen", "soften", "ease", "smooth", "unfurrow", "straighten") | {"relaxed", "calm", "flat",
                                                                                      "neutral", "smooth"},
     None, "tension", -1)
_add(verb_forms("furrow", "frown", "knit", "scowl", "crease") | {"knitted", "furrows", "frowns"}, "brows", "furrow", 1)
_add(verb_forms("purse", "press", "pucker") | {"pressed", "pursed", "puckered"}, "mouth", "press", 1)
_add(verb_forms("pout", "protrude", "jut", "stick") | {"stuck"}, "mouth", "pout", 1)
_add(verb_forms("smile", "grin", "beam", "laugh") | {"smile", "smiles", "smiling", "grin", "grins", "grinning", "grinned", "laughter"},
     "corners", "vertical", 1)
_add(verb_forms("blink", "wink", "flutter") | {"blinks", "blinking"}, "eyes", "blink", 1)
_add(verb_forms("speak", "talk", "say", "sing", "chat", "chatter", "converse", "utter", "mutter", "shout", "call", "scream",
            "yell", "whisper", "murmur")
     | {"spoke", "spoken", "said", "sang", "speech", "words", "word", "conversation"}, "mouth", "speak", 1)
_add(verb_forms("nod") | {"nods", "nodding", "nodded"}, "head", "nod", 1)
_add(verb_forms("shake", "sway", "wobble", "swing", "rock") | {"shook", "shaking", "swaying"}, "head", "shake", 1)
_add(verb_forms("tremble", "quiver", "twitch", "flicker", "shiver") | {"trembles", "twitches"}, None, "tremble", 1)
_add(verb_forms("wrinkle") | {"wrinkles", "wrinkled", "lines", "line", "creases", "folds", "fold"}, "forehead", "wrinkle", 1)
_add(verb_forms("pull", "tug", "stretch", "spread", "draw") | {"drawn", "sideways", "sides"}, None, "stretch", 1)
_add(verb_forms("dilate", "expand") | {"outward", "outwards"}, None, "expand", 1)
_add(verb_forms("deepen") | {"deeper", "deep", "prominent", "pronounced", "visible", "noticeable", "obvious",
                         "evident", "clear", "appear", "appears", "appeared", "appearing", "form", "forms",
                         "forming", "emerge", "emerges"}, None, "more", 1)
_add({"together", "closer"}, None, "together", 1)
_add(verb_forms("puff", "bulge", "swell", "inflate") | {"puffed", "bulging"}, None, "puff", 1)
_add(verb_forms("flare"), "nose", "flare", 1)
_add(verb_forms("hollow", "suck") | {"sunken"}, None, "puff", -1)
_add(verb_forms("reveal", "show", "expose", "display", "bare") | {"showing", "revealing", "shows", "visible"},
     None, "reveal", 1)
# the face in or out of view ("their face is no longer visible", "his face leaves the frame"): its own axis on
# the face; on any other part "visible" is the part shown, as "reveal" ("teeth visible")
_add({"visible"}, None, "visible", 1)
# a hand over a part ("her hand still over her mouth", "she covers her mouth"): the part covered
_add(verb_forms("cover") | {"covered"}, None, "cover", 1)
_add(verb_forms("uncover") | {"uncovered"}, None, "cover", -1)
_add(verb_forms("retract", "withdraw"), None, "retract", 1)
# gaze verbs: they make "eyes" mean the gaze
GAZE_VERBS = verb_forms("look", "gaze", "stare", "glance", "peer", "focus", "watch", "fix", "roll", "follow") | {
    "looked", "stares", "staring", "focused", "fixed", "focuses"}
# head motion verbs: which head axis a left/right goes to
# ("movements", "motion": the generic movement, as "moves"; "dart", "flit": a quick eye movement, as "shift")
MOVE_NOUNS = {"movement", "movements", "motion", "motions"}  # a movement of the part named, never a default part
YAW = verb_forms("turn", "rotate", "shift", "move", "swivel", "face", "dart", "flit") | {"moved", "turned"} | MOVE_NOUNS
ROLL = verb_forms("tilt", "lean", "incline", "tip", "cock") | {"leaned", "leant", "tilted"}
# head verbs that name a movement kind without its direction ("she tilts her head", "he turns his head"):
# the kind is kept with its direction left open (the other YAW words, "moves", "shifts", stay generic)
TURN = verb_forms("turn", "rotate", "swivel") | {"turned"}
#: the axes a movement kind's direction may fill: "tilts" -> left/right (roll) or forward/back (pitch);
#: "turns" -> left/right (yaw); an eyeball movement ("her eyeballs move") -> left/right or up/down
KIND_AXES = {"tilt": {"roll", "pitch"}, "turn": {"yaw"}, "move": {"lateral", "vertical"}}
#: the placeholder axis of a kind whose direction the phrase leaves open (its sign is 0)
OPEN_AXIS = {"tilt": "roll", "turn": "yaw", "move": "shift"}
PITCH_UP = {"back", "backward", "backwards"}
#: "back to the normal position": a return to the centre (the state word, then its noun)
RETURN_STATES = {"normal", "original", "neutral", "initial", "starting", "usual", "resting"}
RETURN_NOUNS = {"position", "positions", "posture", "place", "pose"}
#: "towards the left side of the video": the side is the picture's, a direction (not one of a pair of parts)
VIEW_NOUNS = {"video", "screen", "frame", "camera", "picture", "image", "shot", "viewer"}
PITCH_DOWN = {"forward", "forwards"}
NEG_BEFORE = {"not", "no", "never", "without", "stop", "stops", "stopped", "stopping", "cease", "ceases", "ceased", "ceasing",
               "pause", "pauses", "paused", "pausing", "hardly", "barely", "neither", "nor", "longer"}
NEG_BEFORE_ING = {"end", "ends", "ended", "finish", "finishes", "finished", "quit", "quits"}
NEG_AFTER = {"disappear", "disappears", "disappeared", "disappearing", "vanish", "vanishes", "vanished", "fade",
              "fades", "faded", "fading", "lighten", "lightens", "lessen", "lessens", "reduce", "reduces", "reduced", "decrease", "decreases", "decreased", "shrink", "shrinks", "diminish", "diminishes",
              "subside", "subsides", "recede", "recedes", "gone", "less"}
STILL = {"still", "steady", "stable", "motionless", "stationary", "static", "unchanged", "unmoving"}
STATE_VERBS = {"is", "are", "was", "were", "remain", "remains", "remained", "stay", "stays", "stayed", "keep",
                "keeps", "kept", "hold", "holds", "maintain", "maintains", "maintaining", "with", "still"}
SLIGHT = {"slightly", "slight", "a bit", "bit", "little", "lightly", "gently", "gentle", "subtle", "subtly",
           "faint", "faintly", "somewhat", "partially", "partly", "mild", "mildly", "hint", "glimpse", "small"}
STRONG = {"wide", "widely", "tightly", "fully", "completely", "noticeably", "deeply", "deep", "firmly",
           "forcefully", "significantly", "very", "greatly", "strongly", "prominent", "pronounced", "obvious",
           "large", "larger", "big", "intense", "further", "even", "most"}
COUNTS = {"once": 1, "twice": 2, "two": 2, "three": 3, "four": 4, "five": 5, "several": 3, "few": 3,
           "repeatedly": 3, "multiple": 3, "continuously": 3, "again": None}
SIDED = {"eye", "eyes", "eyebrow", "eyebrows", "brow", "brows", "eyelid", "eyelids", "corner", "corners", "cheek",
          "cheeks", "lid", "lids", "side", "nostril"}
TOKEN_RE = re.compile(r"[a-z]+(?:-[a-z]+)*")
PHRASES = [
    (re.compile(r"\b(?:from )?side[- ]to[- ]side\b|\bleft and right\b|\bright and left\b"), " shake "),
    (re.compile(r"\b(?:rais|lift|ris)(?:e|es|ed|ing|s)? and (?:lower|drop|fall)(?:s|ed|ing)?\b"), " move "),
    (re.compile(r"\bup and down\b|\bdown and up\b|\bback[- ]and[- ]forth\b"), " nod "),
    (re.compile(r"\bcrow'?s feet\b"), " eye wrinkles "),
    (re.compile(r"\bnasolabial folds?\b"), " cheeks folds "),
    (re.compile(r"\b(?:smile|laugh|laughter) lines\b"), " cheeks folds "),
    (re.compile(r"\b(?:lines|wrinkles?|creases?|furrows?|folds?) (?:[a-z]+ ){0,2}?(?:in )?between "
                r"(?:his |her |their |the )?(?:eye)?brows\b|\bfrown lines\b|\bbetween (?:his |her |the )?(?:eye)?brows\b"),
     " brows wrinkles "),
    (re.compile(r"\b(?:lines|wrinkles?|creases?|furrows?|folds?) (?:[a-z]+ ){0,2}?(?:in )?between them\b"),
     " brows wrinkles "),
    (re.compile(r"\bbetween them\b|\bin between\b"), " furrow "),
    (re.compile(r"\bline of sight\b"), " gaze "),
    (re.compile(r"\bfrom (?:the )?(?:left|right|upper|lower|top|bottom|front)(?: side)?\b"), " "),
    (re.compile(r"\bwide[- ]open\b"), " wide open "),
    (re.compile(r"\bwide[- ]eyed\b"), " eyes wide "),
    (re.compile(r"\b(?:open(?:s|ed|ing)?|part(?:s|ed|ing)?) and (?:clos(?:e|es|ed|ing)|shut(?:s|ting)?)\b"
                r"|\b(?:clos(?:e|es|ed|ing)|shut(?:s|ting)?) and (?:open(?:s|ed|ing)?|part(?:s|ed|ing)?)\b"), " move "),
    (re.compile(r"\bhalf[- ](open(?:ed|s)?|clos(?:ed|es|e))\b"), r" half-\1 "),
    (re.compile(r"\bn't\b"), " not"),
    (re.compile(r"\b(?:stands?|stood|standing|sits?|sat|sitting|gets?) (?:up|down)\b"), " body "),
    (re.compile(r"\b(?:returns?|returning|back) to (?:the )?(?:center|centre|middle)(?: position)?\b"), " returns center "),
    (re.compile(r"\bstraighten(?:s|ed|ing)? (?:his |her |their |the )?(head|neck)\b|\b(head|neck) straightens\b"),
     " head returns center "),
    (re.compile(r"\breturns? to (?:the )?(?:normal|neutral|original|front)(?: position)?\b"), " returns "),
    (re.compile(r"\bdowncast\b"), " looking down "),
    (re.compile(r"\b(?:a|the|small|some|large|most|upper|lower) part of\b"), " some of "),
    (re.compile(r"\b(?:the|its|her|his) (?:opening|movement|movements|extent)\b"), " the "),
    # a hand over a part is that part covered; a hand taken from it, uncovered
    (re.compile(r"\b(?:lower|remove|take|move|pull|drop)(?:s|d|ed|ing)? (?:his |her |their |the )?hands? (?:away )?"
                r"from (?:his |her |their |the )?(mouth|lips|nose|face|eyes|chin)\b|\btook (?:his |her |their |the )?"
                r"hands? (?:away )?from (?:his |her |their |the )?(mouth|lips|nose|face|eyes|chin)\b"), r" \1\2 uncovered "),
    (re.compile(r"\b(?:hands?|fingers?|palms?)(?: [a-z]+){0,2}? (?:over|on|covering|covers|against|in front of) "
                r"(?:his |her |their |the )?(mouth|lips|nose|face|eyes|chin)\b"), r" \1 covered "),
    # the face in or out of the picture
    (re.compile(r"\b(?:leaves?|left|leaving|exits?|exited|exiting|goes out of|went out of|out of) (?:the )?"
                r"(?:view|frame|shot|picture|screen)\b"), " not visible "),
    (re.compile(r"\b(face|head) (?:disappears?|disappeared|disappearing|vanish(?:es|ed|ing)?)\b"), r" \1 not visible "),
    (re.compile(r"\b(?:in|into|back into|within) (?:the )?(?:view|frame|shot|picture)\b"), " visible "),
    (re.compile(r"\bno longer\b"), " stops "),
]


# movements bound to one part whatever part was named before ("looking down with a smile")
BOUND = {"corners": {"corners", "mouth", "upper_lip", "lower_lip", "cheeks"}, "eyes": {"eyes", "gaze", "lower_lid"}}
# words between a movement word and the part it belongs to ("raising his eyebrows", "lines on her forehead")
AHEAD_FILLERS = {"his", "her", "their", "the", "its", "a", "an", "both", "upper", "lower", "left", "right", "inner",
                 "outer", "on", "in", "across", "at", "around", "above", "of", "to", "corners", "corner"}
# nouns of a shape that a direction word can qualify ("an upward curve at the corners")
SHAPE_NOUNS = {"curve", "curl", "curvature", "arc", "tilt", "slant", "angle", "turn", "lift", "pull", "movement"}
SIDED_REGIONS = {"brows", "eyes", "corners", "cheeks"}
PLURAL_NOUNS = {"wrinkles", "lines", "creases", "folds"}
NOUNISH = {"furrow", "furrows", "crease", "wrinkle", "frown", "smile", "opening", "line", "fold", "grin"}
DETERMINERS = {"the", "a", "an", "her", "his", "their", "its", "slight", "deep", "clear", "faint", "small", "big",
                "gentle", "subtle", "noticeable", "visible", "prominent", "obvious", "light", "this", "that", "fine"}
ADJ_NEXT = {"front", "lip", "lips", "eyelid", "eyelids", "lid", "lids", "teeth", "jaw", "part", "half", "and", "row", "rows",
             "side", "face", "body", "corner", "corners", "eye", "eyes", "eyebrow", "eyebrows", "cheek"}


def normalise(text: str) -> str:
    t = " " + str(text).lower().replace("\u2019", "'") + " "
    t = re.sub(r"(\w)n't\b", r"\1 not", t)
    for rx, rep in PHRASES:
        t = rx.sub(rep, t)
    return t
