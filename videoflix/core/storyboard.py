"""Seek-bar previews (trick play): small frames of the film every few seconds, tiled into JPEG sprite sheets,
and a WebVTT thumbnails track whose cues point into them (`storyboard/0.jpg#xywh=0,0,160,90`), the form
video.js, Shaka, Vidstack and JW Player read.

The workers make the previews in the same FFmpeg run as the renditions (one more branch of the decoded
picture: `fps`, `scale`), and tile them into sheets as they come (stream_workers/sheets.py), beside
`storyboard/plan.json`, which says how they are laid out. A in parts
film's parts each make their own sheets, numbered from `part * PART_STRIDE`, so no part needs another's.
The app writes the WebVTT track from the layout and the sheets that exist (a `playable` film's track grows as
its sheets appear); nothing else of it is stored. Both sides share this module.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass

from .subtitles import vtt_timestamp

#: width of a preview frame (height by the picture's aspect)
WIDTH = 160
COLUMNS = 5
ROWS = 5
#: about this many previews at most, whatever the length (the interval grows with it)
MAX_FRAMES = 400
MIN_INTERVAL = 2
#: sheet numbers of a long film's part p start at p * PART_STRIDE
PART_STRIDE = 1000
FOLDER = "storyboard"
LAYOUT = f"{FOLDER}/plan.json"
#: a sheet's file name
SHEET = re.compile(r"\d{1,7}\.jpg")


@dataclass(frozen=True)
class Layout:
    interval: int  # seconds between previews
    width: int
    height: int
    columns: int = COLUMNS
    rows: int = ROWS
    #: a long film's part length (each part's previews start at its start); None for the single pass
    part_seconds: int | None = None

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Layout:
        return cls(**json.loads(data))

    def graph(self, label_in: str, label_out: str) -> str:
        """The filter branch that turns the decoded picture `label_in` into preview frames `label_out`.
        (Tiling them here, with FFmpeg's `tile`, would hold the sheet's output back until 25 previews are
        made, and FFmpeg reports no progress until every output has begun: the job would look stalled.
        `eof_action=pass`: a film shorter than half an interval (a single frame) still gets its preview; without
        it the output got no frame and FFmpeg failed the whole job.)"""
        every = f"fps=1/{self.interval}:round=near:eof_action=pass"
        return f"[{label_in}]{every},scale={self.width}:{self.height}:flags=bicubic[{label_out}]"

    def first_frame(self, part: int) -> int:
        """The number of a part's first preview frame (so that frame n is on sheet n // per_sheet)."""
        return part * PART_STRIDE * self.per_sheet

    def outputs(self, label: str, output: str, part: int = 0) -> list[str]:
        """FFmpeg's output options for the preview frames of `part`: `<output>/<frames folder>/<n>.jpg`, each
        renamed into place once whole (`stream_workers/sheets.py` tiles them into sheets)."""
        return [
            "-map", f"[{label}]", "-c:v", "mjpeg", "-q:v", "4", "-f", "image2", "-atomic_writing", "1",
            "-start_number", str(self.first_frame(part)), f"{output}/{frames_folder(part)}/%d.jpg",
        ]  # fmt: skip


def frames_folder(part: int) -> str:
    """Where a part's preview frames wait to be tiled (one folder a part: parts may share an output)."""
    return f"{FOLDER}/frames-{part}"


def layout_for(
    width: int | None, height: int | None, duration: float | None, part_seconds: int | None = None
) -> Layout:
    """The layout for a film: an interval of whole seconds, at least MIN_INTERVAL, long enough that the film
    has at most about MAX_FRAMES previews, and for a film made in parts a divisor of the part length (so every
    part's previews fall on the film's grid)."""
    wanted = max(MIN_INTERVAL, math.ceil((duration or 0.0) / MAX_FRAMES))
    interval = wanted
    if part_seconds:
        interval = next((d for d in range(wanted, part_seconds + 1) if part_seconds % d == 0), part_seconds)
    frame_height = round(WIDTH * height / width / 2) * 2 if width and height else WIDTH * 9 // 16
    return Layout(interval, WIDTH, max(2, frame_height), part_seconds=part_seconds)


def sheet_start(layout: Layout, sheet: int) -> tuple[float, float]:
    """(time of the first preview in `sheet`, end of the part it belongs to) in seconds of the film."""
    part, index = divmod(sheet, PART_STRIDE)
    if layout.part_seconds:
        start = part * layout.part_seconds
        return start + index * layout.per_sheet * layout.interval, start + layout.part_seconds
    return index * layout.per_sheet * layout.interval, math.inf


def webvtt(layout: Layout, sheets: list[int], duration: float | None, url=lambda n: f"{FOLDER}/{n}.jpg") -> str:
    """The thumbnails track: one cue per preview of each sheet in `sheets`, pointing at its tile."""
    end_of_film = duration if duration else math.inf
    cues = []
    for sheet in sorted(sheets):
        first, part_end = sheet_start(layout, sheet)
        for tile in range(layout.per_sheet):
            start = first + tile * layout.interval
            end = min(start + layout.interval, part_end, end_of_film)
            if start >= end:
                break
            x, y = (tile % layout.columns) * layout.width, (tile // layout.columns) * layout.height
            cues.append((start, end, f"{url(sheet)}#xywh={x},{y},{layout.width},{layout.height}"))
    cues.sort()
    return "WEBVTT\n\n" + "".join(f"{_time(s)} --> {_time(e)}\n{target}\n\n" for s, e, target in cues)


def _time(seconds: float) -> str:
    return vtt_timestamp(round(seconds * 1000))


#: the image playlist's name beside the master (Roku's and Jellyfin's "image media playlist")
IMAGE_PLAYLIST = "storyboard.m3u8"


def image_stream_inf(layout: Layout) -> str:
    """The master playlist's line naming the image playlist (`#EXT-X-IMAGE-STREAM-INF`, Roku's HLS image
    extension, as Jellyfin writes it): players that know it show the sheets on their seek bar; hls.js and
    FFmpeg's HLS client skip the tag (its URI is an attribute, so no line of it reads as a variant)."""
    sheet = f"{layout.width * layout.columns}x{layout.height * layout.rows}"
    bandwidth = round(layout.width * layout.height * 8 / 10 / layout.interval)  # ~1 bit a pixel of a JPEG preview
    return f'#EXT-X-IMAGE-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={sheet},CODECS="jpeg",URI="{IMAGE_PLAYLIST}"'


def image_playlist(layout: Layout, sheets: list[int], duration: float | None, url=lambda n: f"{FOLDER}/{n}.jpg") -> str:
    """The image media playlist: each sheet a segment as long as its previews last, with its tile layout."""
    end_of_film = duration if duration else math.inf
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{layout.per_sheet * layout.interval}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-IMAGES-ONLY"]  # fmt: skip
    for sheet in sorted(sheets):
        first, part_end = sheet_start(layout, sheet)
        last = min(first + layout.per_sheet * layout.interval, part_end, end_of_film)
        if last <= first:
            continue
        lines += [
            f"#EXTINF:{last - first:.3f},",
            f"#EXT-X-TILES:RESOLUTION={layout.width}x{layout.height},LAYOUT={layout.columns}x{layout.rows},"
            f"DURATION={layout.interval:.3f}",
            url(sheet),
        ]
    return "\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n"
