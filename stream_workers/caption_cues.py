"""Cues made for reading, from a transcript's timed words: what turns speech recognition into captions a viewer
can follow (issue 36), as streaming style guides ask (Netflix's timed-text style guide, the BBC's subtitle
guidelines):

- at most two lines of at most LINE characters (42), broken where the phrase breaks (after a clause's
  punctuation, never leaving a lone short word at a line's end), the two lines as even as that allows;
- a cue is a sentence where a sentence fits; a long sentence is cut at a clause (a comma, a colon), else where
  the lines are full; short sentences said in one breath share a cue;
- on screen at least MIN_SECONDS (a short "Yes." held long enough to read, never into the next cue) and at most
  MAX_SECONDS; timed to the words (start of the first, end of the last), so no cue spans a pause (PAUSE) or the
  music between two lines;
- what speech recognition is known to invent is left out: a phrase looped (Whisper repeats its last words
  over music and silence: "thank you. thank you. thank you."), and words said with almost no confidence.

Pure: words in, `Cue`s out; the transcription itself (`transcription`) and the track's storage are elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from videoflix.core.subtitles import Cue

#: characters of a line, lines of a cue, and a cue's time on screen (seconds): the streaming style guides'
LINE = 42
LINES = 2
MIN_SECONDS = 1.0
MAX_SECONDS = 7.0
#: a silence between two words (seconds) that ends a cue: the next words are a new line of dialogue
PAUSE = 1.2
#: a silence after a sentence (seconds) that ends its cue however short: the next sentence is said anew
BREATH = 0.5
#: the least time (seconds) between one cue's end and the next one's start when a cue is held longer: players
#: blink a caption that is replaced without a gap (two frames at 25 fps)
GAP = 0.08
#: a word recognised with less confidence than this is left out (Whisper's word probabilities: invented words
#: over music score well under it, spoken ones above)
LEAST_PROBABILITY = 0.05
#: the longest phrase (words) whose loops are looked for, and how many times a phrase may be said in a row
#: before the rest counts as a loop
LONGEST_LOOP = 8
REPEATS = 2

_SENTENCE_END = re.compile(r"[.!?…]['\")\]]*$")
_CLAUSE_END = re.compile(r"[,;:\u2014\u2013-]['\")\]]*$")
_NORMAL = re.compile(r"[^\w']+")
#: words a line should not end on (a line break after an article or a preposition splits its phrase)
_CLINGING = {"a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "and", "or", "but", "with", "from",
             "de", "la", "le", "les", "un", "une", "et", "der", "die", "das", "und", "el", "los", "y", "e"}  # fmt: skip


@dataclass(frozen=True)
class Word:
    """One recognised word: its time in the film (seconds), its text as recognised (its punctuation and the
    space before it included, as Whisper gives it: none where it goes on the word before) and how sure the
    recogniser was of it."""

    start: float
    end: float
    text: str
    probability: float = 1.0

    @property
    def bare(self) -> str:
        return self.text.strip()


def cues(words: Iterable[Word]) -> list[Cue]:
    """The captions for `words` (in the film's order)."""
    kept = without_loops([w for w in words if w.bare and w.probability >= LEAST_PROBABILITY and w.end >= w.start])
    groups = _group(kept)
    made: list[Cue] = []
    for i, group in enumerate(groups):
        start, end = group[0].start, group[-1].end
        following = groups[i + 1][0].start - GAP if i + 1 < len(groups) else float("inf")
        end = max(end, min(start + MIN_SECONDS, following))
        made.append(Cue(round(start * 1000), round(end * 1000), "\n".join(lines(_text(group)))))
    return made


def without_loops(words: Sequence[Word]) -> list[Word]:
    """`words` less the phrases (up to LONGEST_LOOP words) said more than REPEATS times in a row: the loops
    speech recognition falls into over music or silence. Compared without case or punctuation."""
    normal = [_NORMAL.sub("", w.bare.lower()) for w in words]
    kept: list[int] = []
    i = 0
    while i < len(words):
        loop = 0
        for size in range(1, LONGEST_LOOP + 1):
            phrase = normal[i : i + size]
            if len(phrase) < size:
                break
            times = 1
            while normal[i + times * size : i + (times + 1) * size] == phrase:
                times += 1
            if times > REPEATS:
                loop = size * times
                kept.extend(range(i, i + size * REPEATS))
                break
        if loop:
            i += loop
        else:
            kept.append(i)
            i += 1
    return [words[k] for k in kept]


def lines(text: str) -> list[str]:
    """`text` as at most LINES lines of LINE characters, broken at the best place (`_break_cost`); a text too
    long for that is returned in as many lines as it takes (`_group` never makes one)."""
    words = text.split(" ")
    if len(text) <= LINE or len(words) == 1:
        return [text]
    best = min(range(1, len(words)), key=lambda i: _break_cost(words, i))
    first, rest = " ".join(words[:best]), " ".join(words[best:])
    return [first, *lines(rest)] if len(rest) > LINE else [first, rest]


def fits(text: str) -> bool:
    """Whether `text` can be shown as one cue (LINES lines of LINE characters)."""
    shown = lines(text)
    return len(shown) <= LINES and all(len(line) <= LINE for line in shown)


def _break_cost(words: list[str], at: int) -> float:
    """How bad a line break before `words[at]` is: lines over LINE are out; then the longer line's length,
    less a clause's or a sentence's end before the break, more a clinging word left at the first line's end."""
    first, second = len(" ".join(words[:at])), len(" ".join(words[at:]))
    cost = float(max(first, second))
    if first > LINE:
        cost += 1000 + first
    if second > LINE:
        cost += 100
    before = words[at - 1]
    if _SENTENCE_END.search(before):
        cost -= 12
    elif _CLAUSE_END.search(before):
        cost -= 8
    if _NORMAL.sub("", before.lower()) in _CLINGING:
        cost += 10
    return cost


def _text(group: Sequence[Word]) -> str:
    """The words as said: Whisper's words carry the space before them, and a word's second token none
    ("d" + "'un", "hang" + "-up")."""
    return " ".join("".join(w.text for w in group).split())


def _group(words: Sequence[Word]) -> list[list[Word]]:
    """The words of each cue: a new cue at a pause, where the words would not fit or be on screen too long
    (cut back to its last clause's end, `_carry`), and after a sentence that is long enough to stand alone
    or is followed by a breath (BREATH)."""
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if current:
            silence = word.start - current[-1].end
            paused = silence > PAUSE or (silence > BREATH and bool(_SENTENCE_END.search(current[-1].bare)))
            too_long = word.end - current[0].start > MAX_SECONDS
            if paused or too_long or not fits(_text([*current, word])):
                carried = [] if paused else _carry(current)
                groups.append(current[: len(current) - len(carried)])
                current = carried
        current.append(word)
        if _SENTENCE_END.search(word.bare) and (
            word.end - current[0].start >= MIN_SECONDS or len(_text(current)) >= LINE
        ):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return [g for g in groups if g]


def _carry(current: list[Word]) -> list[Word]:
    """The words after the last clause's end in `current` that leaves the cue at least half a line, moved to
    the next cue (none if there is no such end: the cue ends where it is full)."""
    for i in range(len(current) - 2, 0, -1):
        ends = _CLAUSE_END.search(current[i].bare) or _SENTENCE_END.search(current[i].bare)
        if ends and len(_text(current[: i + 1])) >= LINE // 2:
            return current[i + 1 :]
    return []
