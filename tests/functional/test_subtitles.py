"""Subtitle tracks (issue 19) through the API, the real database and the store: operators add WebVTT or SRT
(checked, stored as clean WebVTT), replace and remove them; viewers list and read them; the master playlist
carries them as an HLS subtitles group tied to the renditions' timestamps. Bad files are 400 naming the
line, and change nothing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import videoflix
from stream_workers import hls
from videoflix.core.models import Subtitle, VideoStatus

from ..support.frontend import Frontend
from ..support.media import BEST_OUTPUT

SRT = (
    '1\n00:00:00,500 --> 00:00:01,500\nHallo <font color="red">Welt</font>\n\n2\n00:00:01,600 --> 00:00:01,900\nZwei\n'
)
VTT = "WEBVTT\n\n00:00:00.200 --> 00:00:01.000 line:0\nHello <i>world</i>\n"


@pytest.fixture
def watcher(other_viewer) -> Frontend:
    """A viewer in a browser of their own, beside the operator."""
    return other_viewer


def add(operator: Frontend, video: int, language: str, text: str | bytes, status=201, name="subs.srt", **fields):
    body = text.encode() if isinstance(text, str) else text
    return operator.upload(
        f"/api/video/{video}/subtitles/", {"language": language, **fields}, [("file", name, body)], status=status
    )


def test_operators_add_srt_and_webvtt_and_viewers_list_and_read_them(operator, watcher, add_video):
    film = add_video()
    track = add(operator, film, "de", SRT).json
    assert (track["language"], track["label"], track["cues"]) == ("de", "Deutsch", 2)  # label: its own name
    assert track["url"].endswith(f"/api/video/{film}/subtitles/de.vtt")
    add(operator, film, "EN_us", VTT, name="en.vtt", label="English (CC)")

    listed = watcher.get(f"/api/video/{film}/subtitles/", status=200).json
    assert [(t["language"], t["label"]) for t in listed] == [("de", "Deutsch"), ("en-US", "English (CC)")]
    german = watcher.get(f"/api/video/{film}/subtitles/de.vtt", status=200)
    assert german.content_type == "text/vtt"
    assert "00:00:00.500 --> 00:00:01.500\nHallo Welt" in german.text  # SRT times and tags made WebVTT
    assert "<font" not in german.text
    english = watcher.get(f"/api/video/{film}/subtitles/en-US.vtt", status=200).text
    assert "00:00:00.200 --> 00:00:01.000 line:0\nHello <i>world</i>" in english


@pytest.mark.parametrize("output", ["fast", "best"])
def test_a_track_is_tied_to_the_renditions_first_timestamp(
    operator, watcher, add_video, hls_output, best_output, output
):
    """Also where the best H.264 ladder (fMP4) took the fast one's place in the master: the clock is read from the
    fast MPEG-TS renditions, which the fast master kept beside it still names."""
    film = add_video(hls_path=BEST_OUTPUT) if output == "best" else add_video()
    add(operator, film, "de", SRT)
    text = watcher.get(f"/api/video/{film}/subtitles/de.vtt", status=200).text
    header = text.split("\n\n")[0].split("\n")
    assert header[0] == "WEBVTT"
    mpegts = int(re.fullmatch(r"X-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:00:00:00\.000", header[1]).group(1))
    # the renditions' MPEG-TS clock starts at TS_OFFSET and FFmpeg's ~1.4 s muxing delay, not at 0
    assert (hls.TS_OFFSET + 0.5) * 90000 < mpegts < (hls.TS_OFFSET + 3) * 90000


def test_the_master_playlist_lists_the_tracks_as_an_hls_subtitles_group(operator, watcher, add_video):
    film = add_video()
    plain = watcher.get(f"/api/video/{film}/master.m3u8", status=200).text
    assert "SUBTITLES" not in plain and 'CODECS="av01' in plain
    add(operator, film, "de", SRT)
    add(operator, film, "fr", VTT, label='Fran"çais')

    master = watcher.get(f"/api/video/{film}/master.m3u8", status=200).text
    media = [line for line in master.splitlines() if line.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES")]
    assert len(media) == 2
    assert 'LANGUAGE="de"' in media[0] and 'NAME="Deutsch"' in media[0] and 'URI="subtitles/de.m3u8"' in media[0]
    assert 'NAME="Fran\'çais"' in media[1]  # a quote cannot end the attribute early
    variants = [line for line in master.splitlines() if line.startswith("#EXT-X-STREAM-INF:")]
    assert variants and all(line.endswith(',SUBTITLES="subs"') for line in variants)
    assert [line for line in master.splitlines() if not line.startswith("#")] == [
        line for line in plain.splitlines() if not line.startswith("#")
    ]  # the same renditions, the AV1 ones included (both ladders on one clock: one map places the cues)
    assert sum('CODECS="av01' in line for line in variants) == plain.count('CODECS="av01') > 0

    playlist = watcher.get(f"/api/video/{film}/subtitles/de.m3u8", status=200)
    assert playlist.content_type == "application/vnd.apple.mpegurl"
    assert "#EXTINF:2.000,\nde.vtt\n#EXT-X-ENDLIST" in playlist.text  # one segment as long as the film


def test_replacing_and_removing_a_track(operator, watcher, add_video, media_root):
    film = add_video()
    add(operator, film, "de", SRT)
    add(operator, film, "de", VTT, label="Neu")
    assert [t["label"] for t in watcher.get(f"/api/video/{film}/subtitles/", status=200).json] == ["Neu"]
    assert "Hello" in watcher.get(f"/api/video/{film}/subtitles/de.vtt", status=200).text
    assert len(list((media_root / f"videos/{film}/subtitles").iterdir())) == 1  # the replaced object is gone

    watcher.delete(f"/api/video/{film}/subtitles/de/", status=403)  # viewers cannot
    operator.delete(f"/api/video/{film}/subtitles/de/", status=204)
    operator.delete(f"/api/video/{film}/subtitles/de/", status=404)
    assert watcher.get(f"/api/video/{film}/subtitles/", status=200).json == []
    watcher.get(f"/api/video/{film}/subtitles/de.vtt", status=404)
    assert list((media_root / f"videos/{film}/subtitles").iterdir()) == []
    assert "SUBTITLES" not in watcher.get(f"/api/video/{film}/master.m3u8", status=200).text


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("WEBVTT\n\n00:00:01.000 --> 00:00:0x.000\nhi\n", 3, "cue timing"),
        ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\n00:00:03.000 --> 00:00:02.000\nback\n", 6, "ends before"),
        ("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 -> 00:00:04,000\nbad\n", 5, "SRT"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nlatin-1 \xe9\n", 4, "UTF-8"),
        ("WEBVTT\n", None, "no cues"),
    ],
)
def test_a_bad_file_is_400_naming_the_line_and_changes_nothing(operator, add_video, text, line, words):
    film = add_video()
    errors = add(operator, film, "de", text, status=400).json["errors"]["file"][0]
    assert words in errors
    if line:
        assert errors.startswith(f"Line {line}:")
    assert operator.get(f"/api/video/{film}/subtitles/", status=200).json == []


def test_script_in_a_cue_is_stored_as_text_only(operator, watcher, add_video):
    film = add_video()
    hostile = (
        "WEBVTT\n\nSTYLE\n::cue { background: url(https://evil.example/t.png) }\n\n"
        "00:00:00.000 --> 00:00:01.000\n<script>alert(1)</script><img src=x onerror=alert(2)> <b>ok</b> 1 < 2\n"
    )
    add(operator, film, "en", hostile, name="x.vtt")
    stored = watcher.get(f"/api/video/{film}/subtitles/en.vtt", status=200).text
    assert "<script" not in stored and "<img" not in stored and "evil.example" not in stored
    assert "alert(1) <b>ok</b> 1 &lt; 2" in stored


def test_bad_fields_size_and_access(operator, watcher, add_video, testapp):
    film = add_video()
    assert "language" in add(operator, film, "klingon!", SRT, status=400).json["errors"]
    assert "language" in add(operator, film, "zz", SRT, status=400).json["errors"]
    assert "label" in add(operator, film, "de", SRT, label="two\nlines", status=400).json["errors"]
    assert "file" in operator.upload(f"/api/video/{film}/subtitles/", {"language": "de"}, [], status=400).json["errors"]
    add(operator, film, "de", b"1\n" + b"x" * (50 * 1024 * 1024), status=413)  # a 50 MB "subtitle"
    add(operator, 999999, "de", SRT, status=404)
    operator.upload(f"/api/video/{film}/subtitles/", {"language": "de"}, [("file", "a.srt", SRT.encode())],
                    csrf=False, status=403)  # fmt: skip
    add(watcher, film, "de", SRT, status=403)  # viewers cannot add
    assert operator.get(f"/api/video/{film}/subtitles/", status=200).json == []
    testapp.reset()
    testapp.get(f"/api/video/{film}/subtitles/", status=401)


def test_viewers_see_tracks_of_watchable_videos_only_and_staff_of_any(operator, watcher, add_video):
    waiting = add_video(status=VideoStatus.PROCESSING)
    add(operator, waiting, "de", SRT)  # operators prepare subtitles before the encode is done
    assert [t["language"] for t in operator.get(f"/api/video/{waiting}/subtitles/", status=200).json] == ["de"]
    assert "X-TIMESTAMP-MAP" not in operator.get(f"/api/video/{waiting}/subtitles/de.vtt", status=200).text
    watcher.get(f"/api/video/{waiting}/subtitles/", status=404)
    watcher.get(f"/api/video/{waiting}/subtitles/de.vtt", status=404)
    watcher.get(f"/api/video/{waiting}/subtitles/de.m3u8", status=404)


#: Unicode line ends JavaScript's parsers honour, and characters that hide text (bidi override, zero width)
LINE_BREAKERS = ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\u202e", "\u200b"]


@pytest.mark.parametrize("char", LINE_BREAKERS)
def test_a_label_with_a_line_separator_or_control_character_is_refused(operator, add_video, char):
    film = add_video()
    errors = add(operator, film, "de", SRT, label=f"Deutsch{char}x", status=400).json["errors"]
    assert "label" in errors
    assert operator.get(f"/api/video/{film}/subtitles/", status=200).json == []


def hls_js_reads(master: str) -> dict:
    """The master as hls.js's own parser reads it (tests/support/hls_parse.js, under node)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: hls.js's parser cannot be run")
    hlsjs = Path(videoflix.__file__).parent / "static" / "vendor" / "hlsjs" / "hls.min.js"
    script = Path(__file__).parents[1] / "support" / "hls_parse.js"
    done = subprocess.run([node, str(script), str(hlsjs)], input=master.encode(), capture_output=True, timeout=60)
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def test_hls_js_reads_exactly_the_stored_tracks_whatever_their_labels_hold(watcher, add_video, dbsession):
    """Labels reach the database from more than the API (tracks extracted from a source carry its titles): the
    master lists each stored track once, under its own name, whatever its label holds. Before, a label with
    U+2028 made hls.js read a second track of the label's making, with a URI elsewhere."""
    film = add_video()
    evil = '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="e",URI="https://evil.example/x"'
    labels = {"de": f"Deutsch\u2028{evil}", "en": f"English\u2029{evil}", "fr": f'Fr"ançais\u0085{evil}'}
    for language, label in labels.items():
        dbsession.add(Subtitle(video_id=film, language=language, label=label, key=f"x/{language}.vtt", cues=1))
    dbsession.flush()
    parsed = hls_js_reads(watcher.get(f"/api/video/{film}/master.m3u8", status=200).text)
    assert "error" not in parsed, parsed
    assert [(t["lang"], t["url"]) for t in parsed["subtitles"]] == [
        (language, f"https://app.example/api/video/1/subtitles/{language}.m3u8") for language in sorted(labels)
    ]
    assert all("evil.example" not in (t["url"] or "") and t["name"].startswith(("Deutsch", "English", "Fr"))
               for t in parsed["subtitles"])  # fmt: skip


def test_each_position_of_a_cue_keeps_only_what_webvtt_allows_there(operator, watcher, add_video):
    """A voice's name is a name (no `=`, quotes or brackets), a lang tag's a language tag, a timestamp tag a
    time, an identifier a plain word and the settings WebVTT's own; an end tag stays only where its start did."""
    film = add_video()
    hostile = (
        "WEBVTT\n\n<img src=x onerror=alert(1)>\n00:00:00.000 --> 00:00:01.000 align:center position:10%\n"
        '<v onmouseover="alert(2)">Bob</v> <v Mary Jane>hi</v> <lang en-US>x</lang> <lang x"y>z</lang>'
        " <00:00:00.500>a<99>b</b>\n\ncue-2\n00:00:01.000 --> 00:00:02.000\nok\n"
    )
    add(operator, film, "en", hostile, name="x.vtt")
    stored = watcher.get(f"/api/video/{film}/subtitles/en.vtt", status=200).text
    for gone in ("onmouseover", "alert", "<img", 'x"y', "<99>", "</b>"):
        assert gone not in stored, (gone, stored)
    assert "Bob <v Mary Jane>hi</v> <lang en-US>x</lang> z <00:00:00.500>ab" in stored
    assert "align:center position:10%" in stored and "\ncue-2\n" in stored
