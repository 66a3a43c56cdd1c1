"""Offline, rule-based event extraction from facial-dynamics captions (TEM, Algorithm 1, step 1).

The paper's TEM metric first turns the generated caption G and the reference R into time-ordered
event lists E_G and E_R. With an API judge an LLM does this (see :mod:`dfec.metrics.prompts`); the
offline judge uses the rules here, written for captions in the FEC-Bench / FDA style::

    This video shows ... He has short brown hair ...            <- appearance: not events
    At the beginning of the video, he opens his eyes, looks forward, and closes his mouth.
    As the video progresses, he blinks. ... Towards the end of the video, his mouth opens ...

Steps: (1) split into sentences; (2) drop the leading description of the person (everything before
the first sentence carrying a time marker, or sentences that only describe appearance); (3) strip
the time phrase that opens a sentence ("At the beginning of the video,"); (4) split the rest into
clauses at commas, semicolons and clause-joining words ("and", "then", "while", "as", ...), keeping
"up and to the right"-style phrases whole; (5) give subject-less clauses the face part of the
clause before ("his eyes close and open" -> "his eyes close", "his eyes open"), and a clause after a
comma that moves a part it does not name the last part named before it in the sentence ("her eyebrows draw
together, raised at the inner ends" -> "her eyebrows raised at the inner ends"; not a look or a return,
which keep their own reading); (6) drop clauses
that state that nothing happens ("there is no obvious change"). The order of the caption is the
time order of the events.
"""
from __future__ import annotations

import re

__all__ = ["extract_events", "split_sentences", "FACE_PARTS", "is_time_phrase", "is_appearance"]

#: nouns that name a face part (used to find a clause's subject)
FACE_PARTS = (
    "eyebrows", "eyebrow", "brows", "brow", "eyelids", "eyelid", "eyes", "eye", "eyeballs", "eyeball",
    "gaze", "mouth", "lips", "lip", "corners", "teeth", "jaw", "chin", "head", "face", "forehead",
    "cheeks", "cheek", "nose", "nostrils", "expression", "smile", "wrinkles", "neck", "tongue",
)
_FACE_RE = re.compile(r"\b(" + "|".join(FACE_PARTS) + r")\b", re.I)

# Sentences that introduce the person rather than describe a change.
_INTRO_RE = re.compile(
    r"^(this|the)\s+(video|clip)\s+(shows|showcases|depicts|demonstrates|features|presents|captures|displays)"
    r"|^in this (video|clip)\b"
    r"|^(he|she|they|the (man|woman|person|character|boy|girl))\s+(has|have|wears|wear|is wearing|appears to be|looks about)\b"
    r"|^(his|her|their)\s+(hair|skin|complexion|eyebrows are|eyes are (big|large|small|round))",
    re.I,
)

# A time marker anywhere in a sentence means the narrative of changes has started.
_TIME_RE = re.compile(
    r"\b(beginning|at first|initially|at the start|start of the video|progress(es|ing)?|middle|"
    r"towards? the end|at the end|end of the video|later part|latter part|latter half|second half|"
    r"final part|finally|then|subsequently|afterwards?|following part|eventually|first half|first part|"
    r"initial stage|initial part|first|next|midway|halfway|near the end|by the end|in the end|later on|lastly|at last|"
    r"to begin with|following (?:footage|clips?|scenes?|segments?|shots?|videos?)|at this (?:point|moment))\b",
    re.I,
)

# The time phrase opening a sentence: "At the beginning of the video,", "As the video progresses,",
# "In the middle and later parts of the video", "Then,", "Finally,", ...
_LEAD_RE = re.compile(
    r"^\s*(?:"
    r"(?:at|in|towards?|by|during|from|near|throughout|until|for)\s+(?:the\s+)?[^,]{0,60}?\b(?:video|clip)\b\s*,?"
    r"|as\s+(?:the\s+)?(?:video|clip|time)\s+(?:progresses|goes on|continues|passes|proceeds|unfolds)\s*,?"
    r"|as\s+time\s+(?:progresses|goes on|passes)\s*,?"
    r"|(?:at|in|by|near|towards?|around|during)\s+(?:the\s+)?(?:very\s+)?(?:beginning|start|end|middle|close|"
    r"final moments?|last moments?|following (?:footage|clips?|scenes?|segments?|shots?|videos?|part))"
    r"(?:\s+of\s+(?:the\s+|this\s+)?(?:video|clip|footage|sequence))?\s*,?"
    r"|(?:midway|halfway)(?:\s+through(?:\s+(?:the\s+)?(?:video|clip))?)?\s*,?"
    r"|(?:first(?:ly)?|next|later on|lastly|at last|to begin with|at this (?:point|moment)|after a (?:moment|while)|"
    r"soon after|shortly after(?:wards?)?|right after that)\s*,"
    r"|(?:then|next|subsequently|afterwards?|finally|eventually|initially|at first|later|after that|"
    r"following this|following that|meanwhile|at the same time|simultaneously|immediately)\s*,"
    r"|(?:then|next|subsequently|afterwards?|finally|eventually|initially|later|at first|first|at the start|"
    r"to begin with)\b"
    r")\s*",
    re.I,
)

# Words that start a new clause.
_JOINERS = (
    r"(?:and then|and later|and finally|then|while|whereas|before|after which|after|followed by|but|"
    r"as(?!\s+(?:if|though|well|much|far|wide|a\b|possible|before|usual|the video)))"
)
_SPLIT_RE = re.compile(r"\s*[,;:]\s*|\s+(?=" + _JOINERS + r"\b)", re.I)
_LEADING_JUNK = re.compile(
    r"^(?:and then|and later|and finally|and|then|also|but|while|whereas|as|before|after which|after|"
    r"followed by|with|which|meanwhile|simultaneously|at the same time|finally|subsequently)\b\s*",
    re.I,
)
# "and" is split only when the next word does not continue a phrase ("up and to the right").
_NO_SPLIT_AFTER_AND = {
    "to", "up", "down", "left", "right", "forward", "forwards", "backward", "backwards", "downward",
    "downwards", "upward", "upwards", "outward", "outwards", "inward", "inwards", "back", "forth",
    "sideways", "slightly", "slight", "the", "a", "an", "tidy", "thick", "thin", "white", "black",
    "brown", "full", "round", "big", "large", "small", "wide", "fair", "light", "dark", "then",
    "lower", "upper", "towards", "toward", "side", "out", "in", "more", "less", "neat", "long", "short",
}
_NOTHING_RE = re.compile(
    r"\bno\s+(?:obvious|significant|noticeable|apparent|major|clear|evident|visible|distinct|particular)?\s*"
    r"(?:change|changes|movement|movements|variation)\b|\bremains?\s+(?:largely\s+)?unchanged\b"
    r"|\bnothing\s+(?:much\s+)?changes\b",
    re.I,
)
_SUBJECT_RE = re.compile(
    r"^((?:his|her|their|the person's|the man's|the woman's|the)\s+(?:\w+\s+){0,2}?(?:" + "|".join(FACE_PARTS) + r"))\b",
    re.I,
)
_PRONOUN_START = re.compile(r"^(he|she|they|it|there|the person|the man|the woman|his|her|their)\b", re.I)
_ONLY_SUBJECT_RE = re.compile(
    r"^(?:(?:his|her|their|the person's|the man's|the woman's|the)\s+(?:\w+\s+){0,2}?(?:" + "|".join(FACE_PARTS)
    + r")|he|she|they|it)$",
    re.I,
)
_ACTION_RE = re.compile(
    r"\b(?:he|she|they|it|the (?:man|woman|person|boy|girl|character)|(?:his|her|their) \w+(?: \w+)?)\s+"
    r"(?:slightly |gently |then |suddenly |quickly |slowly |also )?"
    r"(?:raises|lifts|opens|closes|blinks|smiles|turns|tilts|looks|frowns|furrows|widens|widen|narrows|narrow|nods|"
    r"shakes|speaks|purses|tightens|relaxes|moves|lowers|squints|glances|rise|rises|droop|droops|open|close|lift|"
    r"drop|drops|shifts|shift|purse|tighten|relax|move|turn|tilt|curve|curves|part|parts|twitch|twitches)\b",
    re.I,
)
# Appearance-only sentences in captions without time markers ("He is around 30 years old, ...").
_STATIC_RE = re.compile(
    r"^(?:he|she|they|the (?:man|woman|person))\s+(?:is|appears|seems)\s+(?:to be\s+)?(?:around|about|approximately|in (?:his|her))"
    r"|\b(?:years old|hair|skin|wears|wearing|glasses|beard|earrings)\b",
    re.I,
)
_SENT_RE = re.compile(r"(?<=[.!?])\s+|\n+")
# A clause that is only a time phrase ("midway through", "in the following footage", "near the end").
_TIME_ONLY_RE = re.compile(
    r"^(?:(?:at|in|by|near|towards?|around|during|throughout|from|until|after|before|midway|halfway|for)\b"
    r"(?:\s+[\w']+){0,6}?\s*(?:video|clip|footage|scenes?|segments?|shots?|part|parts|process|moment|point|"
    r"beginning|start|end|middle|time|sequence|through)"
    r"|(?:first(?:ly)?|next|then|later(?: on)?|lastly|at last|finally|eventually|afterwards?|subsequently|meanwhile|"
    r"midway(?: through)?|halfway(?: through)?|(?:the )?(?:video|clip) (?:progresses|progressed|continues|plays|goes on)))$",
    re.I,
)
# A clause that only describes how the person looks ("big eyes", "a high nose bridge", "her eyebrows are thick").
_LOOK_ADJ = (r"(?:big|large|small|thick|thin|long|short|high|low|round|almond[- ]shaped|bushy|sparse|dense|dark|light|"
             r"fair|pale|double|single|deep[- ]set|neat|tidy|white|black|brown|blonde?|grey|gray|red|full|plump|"
             r"pointed|sharp|straight|broad|delicate|slender|fine|well[- ]defined|defined|beautiful|"
             r"bright|clear|slim|prominent|monolid|hooded|oval|square|v[- ]shaped|"
             r"tall|strong|soft|gentle|natural|distinct|attractive|lovely|pretty|handsome|bearded|rosy|heavy|"
             r"slightly|very|relatively|quite|rather|fairly|somewhat|and|,)")
_LOOK_PART = (r"(?:eyes|eye|eyebrows|eyebrow|brows|nose|nose bridge|bridge|lips|lip|mouth|face|eyelids|eyelashes|lashes|"
              r"cheeks|cheekbones|chin|forehead|ears|teeth|jaw|jawline|features|skin|hair|complexion|facial features)")
_APPEARANCE_RE = re.compile(
    r"^(?:(?:a|an|the|his|her|their|with)\s+)?(?:" + _LOOK_ADJ + r"\s+)+" + _LOOK_PART + r"(?:\s+" + _LOOK_PART + r")?$"
    r"|^(?:his|her|their|the)\s+(?:\w+\s+)?" + _LOOK_PART + r"\s+(?:is|are|look|looks|appear|appears|seem|seems)\s+"
    r"(?:" + _LOOK_ADJ + r"\s+)*" + _LOOK_ADJ.replace("|and|,", "") + r"$"
    r"|\b(?:hair|beard|mustache|moustache|glasses|sunglasses|earrings?|necklace|makeup|lipstick|freckles|mole|"
    r"hairstyle|bangs|ponytail|complexion|skin tone|years old|middle-aged|wearing|dressed)\b",
    re.I,
)


# a clause that starts with a movement of a part it does not name ("raised at the inner ends", "lowers
# slightly", "then open again"); not a look ("looking to the right" is the gaze, whatever moved before)
_VERB_FRAGMENT_RE = re.compile(
    r"^(?:slightly |gently |then |also |quickly |slowly |again |a bit |a little )*"
    r"(?:rais|lift|lower|open|clos|widen|narrow|drop|droop|relax|tighten|part|purs|press|curv|curl|"
    r"arch|rise|rises|rising|fall|falls|falling|sag|sink|dip|descend|elevat)\w*\b(?!.*\b(?:look|gaz|glanc|star|return)\w*)",
    re.I)
#: a clause that is only a direction ("..., then to the right"): it goes on with the movement before
_DIRECTION = (r"(?:to (?:the |her |his |their )?(?:left|right|front|center|centre|side)|up(?:wards?)?|"
              r"down(?:wards?)?|forwards?|ahead|back)")
_BARE_DIRECTION_RE = re.compile(r"^(?:then |and |back |again |slightly |a little )*" + _DIRECTION + r"(?: again)?$")
_TRAILING_DIRECTION_RE = re.compile(r"(?:\s+(?:back|again|slightly|a little))*\s+" + _DIRECTION
                                    + r"(?:\s+(?:again|slightly|a little))*$")
#: the last part a clause names that such a fragment may go on with ("her upper eyelids", "eyebrows")
_MOVER_RE = re.compile(
    r"(?:\b(?:his|her|their|the)\s+(?:(?:left|right|upper|lower|inner|outer)\s+)?)?\b(?:eyebrows|eyebrow|brows|brow|"
    r"eyelids|eyelid|lids|lid|eyes|eye|mouth|lips|lip|corners|jaw|chin|head|cheeks|cheek|nose|nostrils|forehead)\b",
    re.I)


def is_time_phrase(clause: str) -> bool:
    """True for a clause that only says when ("midway through", "in the following footage")."""
    return bool(_TIME_ONLY_RE.match(clause.strip(" .,;").lower()))


def is_appearance(clause: str) -> bool:
    """True for a clause that only describes the person's looks, not a facial action."""
    c = clause.strip(" .,;").lower()
    if not _APPEARANCE_RE.search(c):
        return False
    if re.search(r"\b(?:hair|beard|glasses|sunglasses|earrings?|wearing|hairstyle|bangs)\b", c):
        return not _MOVING_RE.search(c)
    return True


_MOVING_RE = re.compile(r"\b(?:blink|smil|frown|rais|lift|lower|open|clos|turn|tilt|nod|shak|look|gaz|speak|talk|"
                        r"furrow|squint|purs|widen|narrow|droop|drop|twitch|trembl)\w*", re.I)


def split_sentences(text: str) -> list[str]:
    """Split a caption into sentences (on ., !, ? and line breaks)."""
    parts = _SENT_RE.split(str(text or "").strip())
    return [p.strip() for p in parts if p and p.strip(" .!?")]


def _narrative(sentences: list[str]) -> list[str]:
    """Drop the opening description of the person (step 2).

    Sentences before the first time marker are kept only when they describe a movement (a face
    part or a person followed by an action verb); appearance sentences are dropped everywhere.
    """
    first_time = next((i for i, s in enumerate(sentences) if _TIME_RE.search(s) and not _INTRO_RE.search(s)), None)
    if first_time is None:
        first_time = next((i for i, s in enumerate(sentences) if _TIME_RE.search(s)), len(sentences))
    before = [s for s in sentences[:first_time] if not _INTRO_RE.search(s) and _ACTION_RE.search(s)]
    if first_time == len(sentences):  # no time marker at all: keep every non-appearance sentence
        before = [s for s in sentences if not _INTRO_RE.search(s) and not _STATIC_RE.search(s)]
    kept = before + [s for s in sentences[first_time:] if not _INTRO_RE.search(s)]
    # a caption that only introduces / describes the person has no events (never its appearance
    # sentences as events: they would be matched against the reference's facial actions)
    return kept or [s for s in sentences if not _INTRO_RE.search(s)]


_MOUTH_RE = re.compile(r"\b(?:lips?|mouth)\b", re.I)
_PAIRED = re.compile(r"^(?:open\w*|part\w*) (?:clos\w*|shut\w*)$|^(?:clos\w*|shut\w*) (?:open\w*|part\w*)$")


def _split_and(clause: str) -> list[str]:
    """Split on " and " where the word after it starts a new clause."""
    words = clause.split()
    out: list[list[str]] = [[]]
    for i, w in enumerate(words):
        if w.lower() == "and" and i + 1 < len(words) and out[-1]:
            nxt = words[i + 1].lower().strip(".,;")
            if _PAIRED.match(f"{words[i - 1].lower()} {nxt}") and _MOUTH_RE.search(clause):
                out[-1].append(w)  # "her lips open and close": talking, one movement
                continue
            if nxt not in _NO_SPLIT_AFTER_AND and len(out[-1]) >= 2:
                out.append([])
                continue
        out[-1].append(w)
    return [" ".join(p) for p in out if p]


def _clean(clause: str) -> str:
    c = clause.strip().strip(" .!?\"'()")
    prev = None
    while prev != c:
        prev = c
        c = _LEADING_JUNK.sub("", c).strip(" ,.")
    c = re.sub(r"\s+", " ", c)
    return c.lower()


def extract_events(caption: str) -> list[str]:
    """Time-ordered facial events (clauses) of a caption, offline (TEM Algorithm 1, step 1).

    >>> extract_events("A man. At the beginning of the video, he blinks and his mouth opens slightly.")
    ['he blinks', 'his mouth opens slightly']
    """
    events: list[str] = []
    for sentence in _narrative(split_sentences(caption)):
        body = sentence.strip()
        # Strip the opening time phrase (repeatedly: "Then, finally, ...").
        for _ in range(3):
            new = _LEAD_RE.sub("", body, count=1)
            if new == body:
                break
            body = new
        pieces = [p for p in _SPLIT_RE.split(body) if p and p.strip()]
        # A piece that is only a subject ("Her eyes" from "Her eyes then widen") joins the next.
        merged: list[str] = []
        carry = ""
        for piece in pieces:
            piece = (carry + " " + piece).strip() if carry else piece
            carry = ""
            c = _clean(piece)
            if _ONLY_SUBJECT_RE.match(c):
                carry = piece
                continue
            merged.append(piece)
        if carry:
            merged.append(carry)
        sentence_subject = None  # the face part of the sentence's last clause that named one
        sentence_start = len(events)
        for piece in merged:
            last_subject = None
            for k, part in enumerate(_split_and(piece)):
                c = _clean(part)
                if not re.search(r"[a-z]", c):
                    continue
                m = _SUBJECT_RE.match(c)
                movers = [mv.group(0) for mv in _MOVER_RE.finditer(c)]
                if movers:
                    sentence_subject = movers[-1]  # "lower eyelids sinking and then rising": the lids
                if m:
                    last_subject = m.group(1)
                elif (
                    last_subject
                    and not _FACE_RE.search(c)
                    and not _PRONOUN_START.match(c)
                    and len(c.split()) <= 3
                ):
                    # "his eyes close and open" -> "his eyes open"
                    c = f"{last_subject} {c}"
                elif k == 0 and sentence_subject and _VERB_FRAGMENT_RE.match(c) and not movers and not _FACE_RE.search(c):
                    # a clause after a comma that goes on with the part of the clause before: "her eyebrows
                    # draw together, raised at the inner ends" -> "her eyebrows raised at the inner ends"
                    c = f"{sentence_subject} {c}"
                    last_subject = sentence_subject
                if _BARE_DIRECTION_RE.match(c) and len(events) > sentence_start \
                        and not events[-1].endswith("side to side"):
                    # "her eyeballs move to the left, then to the right": the eyeballs move to the
                    # right (read alone, a bare direction defaulted to a head turn)
                    stem = _TRAILING_DIRECTION_RE.sub("", events[-1])
                    if stem != events[-1]:
                        way = re.sub(r'^(?:then|and) ', '', c)
                        # a bare "back" is the way back to the middle ("tilts to the left and then
                        # back"), not the head tilting back (review 4)
                        way = re.sub(r'\bback$', 'back to the center', way)
                        c = f"{stem} {way}"
                if len(c.split()) == 1 and not re.search(r"(s|ing|ed)$", c):
                    continue  # a stray adverb ("soon"), not an event
                if is_time_phrase(c) or is_appearance(c):
                    continue  # "midway through", "a high nose bridge": not facial actions
                events.append(c)
    meaningful = [e for e in events if not _NOTHING_RE.search(e)]
    return meaningful if meaningful else events
