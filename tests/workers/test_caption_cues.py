"""Cues made for reading from timed words (stream_workers.caption_cues): the style guides' limits hold, cues
follow sentences and pauses, and speech recognition's loops are left out."""

from __future__ import annotations

from stream_workers.caption_cues import LINE, MAX_SECONDS, MIN_SECONDS, Word, cues, lines, without_loops


def spoken(text: str, start: float = 0.0, pace: float = 0.3, pauses: dict[int, float] | None = None) -> list[Word]:
    """`text` said one word every `pace` seconds from `start` (each word lasting 0.8 of that), with a silence
    of `pauses[i]` seconds before the i-th word."""
    words, at = [], start
    for i, word in enumerate(text.split()):
        at += (pauses or {}).get(i, 0.0)
        words.append(Word(at, at + pace * 0.8, " " + word))
        at += pace
    return words


def test_a_short_sentence_is_one_cue_timed_to_its_words():
    made = cues(spoken("Hello there, how are you today?", start=2.0))
    assert len(made) == 1
    assert made[0].text == "Hello there, how are you today?"
    assert made[0].start_ms == 2000 and made[0].end_ms == round((2.0 + 5 * 0.3 + 0.24) * 1000)


def test_every_cue_keeps_to_two_lines_of_42_characters_and_seven_seconds():
    text = " ".join(["The committee considered the proposal for several hours without reaching a decision"] * 6)
    made = cues(spoken(text + ".", pace=0.35))
    assert len(made) > 3
    for cue in made:
        shown = cue.text.split("\n")
        assert len(shown) <= 2 and all(len(line) <= LINE for line in shown), cue
        assert (cue.end_ms - cue.start_ms) / 1000 <= MAX_SECONDS, cue
    assert " ".join(c.text.replace("\n", " ") for c in made) == text + "."  # every word once, in order


def test_sentences_start_new_cues_and_a_long_one_is_cut_at_a_clause():
    text = ("I went down to the harbour this morning. The boats were out already, and the fishermen were "
            "mending the nets that the storm had torn during the night.")  # fmt: skip
    made = [c.text.replace("\n", " ") for c in cues(spoken(text))]
    assert made[0] == "I went down to the harbour this morning."
    assert made[1] == "The boats were out already,"  # cut after the comma, not mid-phrase
    assert made[2].startswith("and the fishermen")


def test_lines_break_at_the_phrase_and_not_after_a_clinging_word():
    assert lines("We walked all the way to the station, and then we took the night train home.") == [
        "We walked all the way to the station,",
        "and then we took the night train home.",
    ]
    broken = lines("She gave the book to the man who was standing by the old door of the house")
    assert all(len(line) <= LINE for line in broken) and len(broken) == 2
    assert broken[0].split()[-1] not in {"the", "of", "to", "by"}, broken


def test_a_pause_ends_a_cue_and_no_cue_spans_it():
    words = spoken("Where were you last night I was at home all evening", pauses={5: 3.0})
    made = cues(words)
    assert [c.text for c in made] == ["Where were you last night", "I was at home all evening"]
    assert made[0].end_ms <= words[4].end * 1000 + 1 and made[1].start_ms == round(words[5].start * 1000)


def test_a_short_cue_is_held_for_a_second_but_never_into_the_next():
    alone = cues([Word(5.0, 5.2, " Yes.")])
    assert alone[0].end_ms - alone[0].start_ms == MIN_SECONDS * 1000
    close = cues([Word(5.0, 5.2, " Yes."), Word(5.8, 6.5, " Absolutely.")])  # a breath between: two cues
    assert close[0].end_ms <= close[1].start_ms and close[0].end_ms > 5200
    said_at_once = cues([Word(5.0, 5.2, " Yes."), Word(5.3, 6.0, " Absolutely.")])
    assert [c.text for c in said_at_once] == ["Yes. Absolutely."]


def test_loops_over_music_are_left_out_but_a_repeat_said_twice_is_kept():
    looped = spoken("Thank you. Thank you. Thank you. Thank you. Thank you. Goodbye.")
    assert [w.bare for w in without_loops(looped)] == ["Thank", "you.", "Thank", "you.", "Goodbye."]
    said = spoken("No, no. I said no.")
    assert without_loops(said) == said
    assert [w.bare for w in without_loops(spoken("la la la la la la la la"))] == ["la", "la"]


def test_unsure_and_empty_words_are_dropped():
    words = [Word(0.0, 0.4, " Right"), Word(0.5, 0.9, " ", 0.9), Word(1.0, 1.2, " ugh", 0.01),
             Word(1.3, 1.8, " then.")]  # fmt: skip
    assert [c.text for c in cues(words)] == ["Right then."]
    assert cues([]) == []


def test_a_word_too_long_for_a_line_stands_alone():
    long = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 2
    made = cues([Word(0.0, 1.0, " Say"), Word(1.1, 2.0, " " + long), Word(2.1, 2.4, " again")])
    assert long in [c.text for c in made]


def test_a_word_said_in_two_pieces_is_written_as_one():
    words = [Word(0.0, 0.3, " Vous"), Word(0.3, 0.5, " parlez"), Word(0.5, 0.6, " d"), Word(0.6, 0.9, "'un"),
             Word(0.9, 1.3, " hang"), Word(1.3, 1.5, "-up.")]  # fmt: skip
    assert [c.text for c in cues(words)] == ["Vous parlez d'un hang-up."]
