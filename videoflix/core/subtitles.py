"""Subtitle files: reading an operator's WebVTT or SRT into the WebVTT Videoflix stores, and what HLS needs
to carry them (a subtitles group in the master playlist, one playlist per language).

Files are parsed strictly by maintained parsers (`webvtt-py` for WebVTT, `srt` for SubRip); a file they
refuse is a 400 that names the line to fix. What is stored is rebuilt from the parsed cues, not the upload:
timings, cue identifiers and the cue settings webvtt-py knows, and cue text with only WebVTT's own markup
(<b>, <i>, <u>, <c>, <v>, <lang>, <ruby>, <rt>, timestamps) left; any other tag (<script>, SRT's <font>) is
dropped and its text kept, STYLE blocks (CSS that could load URLs) and comments are not kept. Browsers
render cue text as text anyway; players that do not are safe too.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from urllib.parse import quote

import langcodes
import srt
import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from .playlist_text import quoted_string

#: the largest subtitle file accepted: a three-hour film's dense subtitles are ~300 KB (~3000 cues); the same
#: bounds hold for a track extracted from a source (parsing costs ~20x the file's size in memory)
MAX_BYTES = 2 * 1024 * 1024
MAX_CUES = 20_000
#: a language tag as it may appear in a URL (BCP 47 letters, digits and hyphens)
TAG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8}){0,5}")
MAX_TAG = 35

_STRICT_TIMING = re.compile(
    r"\s*(?:\d{2,}:)?[0-5]\d:[0-5]\d\.\d{3}[ \t]+-->[ \t]+(?:\d{2,}:)?[0-5]\d:[0-5]\d\.\d{3}(?:[ \t]|$)"
)
#: a line meant as a cue timing (in SRT cue text, where the srt package puts a broken cue)
_TIMING_LIKE = re.compile(r"\s*\d+:\d+:\d+[,.]\d+\s*-+>?")
#: WebVTT cue text markup (a start or end tag of a known name, with classes and an annotation; or a timestamp)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)((?:\.[A-Za-z0-9_-]+)*)([ \t][^<>]*)?>|<(\d[\d:.]*)>|<")
_KNOWN = {"b", "i", "u", "c", "v", "lang", "ruby", "rt"}
#: what each position may hold, and nothing else: a voice's name (letters, digits, spaces and a little
#: punctuation; no `=`, quotes or brackets a renderer could take for markup), a timestamp tag's time, a cue's
#: identifier, and the cue settings WebVTT defines (regions are not kept: no REGION blocks are)
_VOICE = re.compile(r"[^\W_](?:[\w .,'-]{0,62}[^\W_.,'-])?")
_TIMESTAMP = re.compile(r"(?:\d{2,}:)?[0-5]\d:[0-5]\d\.\d{3}")
_IDENTIFIER = re.compile(r"[\w.:-]{1,64}")
_SETTING = re.compile(
    r"vertical:(?:rl|lr)|line:-?\d+(?:\.\d+)?%?(?:,(?:start|center|end))?"
    r"|position:\d+(?:\.\d+)?%(?:,(?:line-left|center|line-right))?|size:\d+(?:\.\d+)?%"
    r"|align:(?:start|center|end|left|right)"
)


class SubtitleError(ValueError):
    """A subtitle file that cannot be read; `line` is the (1-based) line to fix, when one is to blame."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(f"Line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str
    identifier: str = ""
    settings: str = ""


def language_tag(value: str) -> str:
    """`value` as a standard BCP 47 tag ("EN_us" -> "en-US"), or ValueError."""
    if not value or len(value) > MAX_TAG:
        raise ValueError("Give a BCP 47 language tag such as en, de or pt-BR.")
    try:
        tag = langcodes.standardize_tag(value.strip())
    except (ValueError, LookupError):
        raise ValueError("Not a BCP 47 language tag (such as en, de or pt-BR).") from None
    if not TAG.fullmatch(tag) or not langcodes.tag_is_valid(tag):
        raise ValueError("Not a BCP 47 language tag (such as en, de or pt-BR).")
    return tag


def default_label(tag: str) -> str:
    """The language's name in itself ("Deutsch", "Português (Brasil)"), as streaming services list them."""
    name = langcodes.Language.get(tag).display_name(tag)
    return name[:1].upper() + name[1:]


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SubtitleError("The file is not valid UTF-16 text.") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SubtitleError("This line is not UTF-8 text: save the file as UTF-8.", line) from None
    if "\x00" in text:
        raise SubtitleError("The file holds a null character.", text[: text.index("\x00")].count("\n") + 1)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_cues(data: bytes) -> list[Cue]:
    """The cues of a WebVTT or SRT file (told apart by the WEBVTT header), in order of start; SubtitleError
    names the line that is wrong."""
    text = _decode(data)
    cues = _webvtt_cues(text) if text.startswith("WEBVTT") else _srt_cues(text)
    if not cues:
        raise SubtitleError("The file has no cues.")
    if len(cues) > MAX_CUES:
        raise SubtitleError(f"The file has {len(cues)} cues; at most {MAX_CUES} are accepted.")
    return sorted(cues, key=lambda cue: (cue.start_ms, cue.end_ms))


def _webvtt_cues(text: str) -> list[Cue]:
    lines = text.split("\n")
    if lines[0] != "WEBVTT" and not lines[0].startswith(("WEBVTT ", "WEBVTT\t")):
        raise SubtitleError("A WebVTT file starts with a line 'WEBVTT'.", 1)
    timings = [n for n, line in enumerate(lines, 1) if "-->" in line]
    for number in timings:
        if not _STRICT_TIMING.match(lines[number - 1]):
            raise SubtitleError("Not a cue timing: write 'hh:mm:ss.ttt --> hh:mm:ss.ttt'.", number)
    try:
        parsed = webvtt.from_string(text, strict=True)
    except (MalformedFileError, MalformedCaptionError) as exc:
        raise SubtitleError(f"Not valid WebVTT ({exc}).", timings[0] if timings else 1) from None
    cues = []
    for number, caption in zip(timings, parsed.captions, strict=False):
        start, end = caption.start_time.in_milliseconds(), caption.end_time.in_milliseconds()
        if end <= start:
            raise SubtitleError("The cue ends before it starts.", number)
        settings = " ".join(s for s in str(caption.settings).split() if _SETTING.fullmatch(s))
        identifier = (caption.identifier or "").strip()
        identifier = identifier if _IDENTIFIER.fullmatch(identifier) else ""
        cues.append(Cue(start, end, clean_text(caption.raw_text), identifier, settings))
    return cues


def _srt_cues(text: str) -> list[Cue]:
    try:
        subtitles = list(srt.parse(text, ignore_errors=False))
    except srt.SRTParseError as exc:
        at = exc.expected_start  # where the last good cue ended: the broken one starts at the next text
        at += len(text[at:]) - len(text[at:].lstrip())
        line = text[:at].count("\n") + 1
        raise SubtitleError("Neither WebVTT (no 'WEBVTT' first line) nor a valid SRT cue here.", line) from None
    cues = []
    for subtitle in subtitles:
        start = round(subtitle.start.total_seconds() * 1000)
        end = round(subtitle.end.total_seconds() * 1000)
        if end <= start:
            line = _srt_line(text, subtitle)
            raise SubtitleError("The cue ends before it starts.", line)
        for content_line in subtitle.content.split("\n"):
            if _TIMING_LIKE.match(content_line):  # srt reads a broken cue as the previous cue's text
                line = text[: text.index(content_line)].count("\n") + 1
                raise SubtitleError("Not a cue timing: write 'hh:mm:ss,ttt --> hh:mm:ss,ttt'.", line)
        cues.append(Cue(start, end, clean_text(subtitle.content)))
    return cues


def _srt_line(text: str, subtitle: srt.Subtitle) -> int | None:
    """The line of `subtitle`'s timing in `text` (for the error message)."""
    found = re.search(rf"(?m)^\s*{re.escape(str(subtitle.index))}\s*\n", text)
    return text[: found.end()].count("\n") + 1 if found else None


def clean_text(text: str) -> str:
    """Cue text with WebVTT's own markup only: other tags are dropped (their text is kept), a stray '<' is
    escaped, and no line can read as a cue timing or end the cue (blank lines)."""

    opened: list[str] = []  # the start tags kept, so that an end tag is kept only where one is open

    def tag(match: re.Match) -> str:
        if match.group(5) is not None:  # a timestamp tag: kept if it is one
            return match.group(0) if _TIMESTAMP.fullmatch(match.group(5)) else ""
        if match.group(2) is None:  # a '<' that opens no tag
            return "&lt;"
        name = match.group(2).lower()
        if name not in _KNOWN:
            return ""
        if match.group(1):
            if name not in opened:
                return ""
            del opened[len(opened) - 1 - opened[::-1].index(name)]
            return f"</{name}>"
        annotation = ""
        if name in ("v", "lang"):  # a voice's name, a language tag: else the tag goes (its text stays)
            annotation = (match.group(4) or "").strip()
            if not (_VOICE if name == "v" else TAG).fullmatch(annotation):
                return ""
            annotation = " " + annotation
        opened.append(name)
        return f"<{name}{match.group(3) or ''}{annotation}>"

    lines = [_TAG.sub(tag, line).replace("-->", "--&gt;").rstrip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line.strip())


def vtt_timestamp(ms: int) -> str:
    """Milliseconds as a WebVTT timestamp (hh:mm:ss.ttt)."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


#: the text of a cue with none (a blank line would end the cue): a zero-width space
EMPTY_CUE = "\u200b"


def webvtt_text(cues: list[Cue]) -> str:
    """The cues as a WebVTT file."""
    blocks = ["WEBVTT"]
    for cue in cues:
        timing = f"{vtt_timestamp(cue.start_ms)} --> {vtt_timestamp(cue.end_ms)}" + (
            f" {cue.settings}" if cue.settings else ""
        )
        blocks.append("\n".join(filter(None, [cue.identifier, timing, cue.text or EMPTY_CUE])))
    return "\n\n".join(blocks) + "\n"


def with_timestamp_map(vtt: str, mpegts: int) -> str:
    """The WebVTT file with the HLS header that ties its time 0 to the renditions' first timestamp (90 kHz),
    so an HLS player shows each cue at its time in the film (our TS renditions start at ~1.4 s, not 0)."""
    first, _, rest = vtt.partition("\n")
    return f"{first}\nX-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000\n{rest}"


@dataclass(frozen=True)
class Track:
    language: str
    label: str


#: the subtitles group's id in the master playlist
GROUP = "subs"


def master_with_subtitles(master: str, tracks: list[Track]) -> str:
    """The master playlist with a SUBTITLES group (one `#EXT-X-MEDIA` per track, its playlist at
    `subtitles/<language>.m3u8`) that every variant names: the H.264 and AV1 ladders start on one clock
    (`stream_workers.av1_ladder`), so one X-TIMESTAMP-MAP places a cue in either."""
    media = [
        f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{GROUP}",NAME="{quoted_string(track.label)}",LANGUAGE="{quoted_string(track.language)}",'
        f'DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="subtitles/{quote(track.language, safe="-")}.m3u8"'
        for track in tracks
    ]
    out: list[str] = []
    for line in master.splitlines():
        if line.startswith("#EXT-X-STREAM-INF:"):
            out += media
            media = []
            line += f',SUBTITLES="{GROUP}"'
        out.append(line)
    return "\n".join(out) + "\n"


def subtitle_playlist(language: str, duration: float) -> str:
    """One language's media playlist: the whole WebVTT file as one segment as long as the film."""
    length = max(duration, 0.001)
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n"
        f"#EXT-X-TARGETDURATION:{int(-(-length // 1))}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        f"#EXTINF:{length:.3f},\n{language}.vtt\n#EXT-X-ENDLIST\n"
    )
