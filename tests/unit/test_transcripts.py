"""A transcript's paragraphs (videoflix/core/transcripts.py): made from the cues of the spoken language's
track, broken where a reader expects (a pause, a long paragraph's sentence end), timed to the cues, plain
text."""

from __future__ import annotations

from videoflix.core.subtitles import Cue
from videoflix.core.transcripts import HARD_MS, PAUSE_MS, SOFT_MS, full_text, line_text, paragraphs


def cue(start: float, end: float, text: str) -> Cue:
    return Cue(round(start * 1000), round(end * 1000), text)


def test_a_pause_starts_a_paragraph_and_times_are_the_cues():
    made = paragraphs([cue(0.5, 2.0, "Hello there."), cue(2.1, 4.0, "How are you"), cue(7.0, 9.5, "Fine.")])
    assert [p["start"] for p in made] == [0.5, 7.0]
    assert [p["end"] for p in made] == [4.0, 9.5]
    assert made[0]["lines"] == [[0.5, 2.0, "Hello there."], [2.1, 4.0, "How are you"]]
    assert PAUSE_MS <= (7.0 - 4.0) * 1000  # the gap that split them


def test_a_long_paragraph_ends_at_a_sentence_and_never_runs_on():
    said = [cue(t, t + 2.9, f"Words number {t:.0f}" + ("." if t % 12 == 9 else "")) for t in range(0, 150, 3)]
    made = paragraphs(said)
    assert len(made) > 1
    for paragraph in made[:-1]:
        span_ms = (paragraph["lines"][-1][1] - paragraph["start"]) * 1000
        assert span_ms <= HARD_MS + 3000  # never more than a cue past the hard length
        ended = paragraph["lines"][-1][2].endswith(".")
        assert ended or span_ms >= HARD_MS  # a break inside a sentence only when it would run on
        assert span_ms >= SOFT_MS - 3000 or ended  # not broken early: only at the soft length's sentence end
    assert full_text(made).split() == " ".join(c.text for c in said).split()  # no word lost or doubled


def test_speech_without_punctuation_is_cut_at_the_hard_length():
    made = paragraphs([cue(t, t + 1.9, "and then") for t in range(0, 200, 2)])
    assert len(made) == 4  # 200 s of talk, no pause, no sentence end: cut every ~60 s
    assert all(p["end"] - p["start"] <= HARD_MS / 1000 + 2 for p in made)


def test_markup_and_entities_go_lines_join_and_empty_cues_are_left_out():
    assert line_text("<v Anna>Ben &amp; <i>Jerry</i></v>\nare &lt;here&gt;") == "Ben & Jerry are <here>"
    made = paragraphs([cue(3, 4, "<b>late</b>"), cue(0, 1, "\u200b"), cue(1, 2, "early")])
    assert made[0]["lines"] == [[1.0, 2.0, "early"], [3.0, 4.0, "late"]]  # in time order, the blank one gone
