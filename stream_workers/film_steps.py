"""A film's steps, described once, and the FFmpeg runs that make them over the whole film or a part of it.

What one decode of the picture makes: every rendition of a ladder (`ladders.Ladder`: scaled per rung by one
graph, `hls.ladder_graph`, keyframes on one grid), the thumbnail (from the stretch that holds its instant,
`hls.thumbnail_time`), the storyboard's frames. What the film's streams, read whole, make: the default sound
(its loudness normalized), the other audio tracks, the text subtitles. A film made in one pass runs all of
them in one FFmpeg process (`single_pass`); a film made in parts runs the picture's steps over each part
(`picture_part`, on every worker) and the streams' steps once, in its sound job (`sound_job`); a further
ladder (AV1) runs its renditions over each part of the film, however its H.264 ladder was made
(`picture_part` of that ladder, then `fmp4_parts`, on the H.264 renditions' clock). `ladder_pass`, a further
ladder over the whole film in one run with the sound muxed in, is the tests' and the benchmarks' way to make
one at once. A step added here reaches films of every length: each run takes its steps from the same pieces.

Where each run writes: the single pass and a further ladder's pass the served layout (`<rung>/index.m3u8`,
`<ladder>/<rung>/`, the master); a part, `parts/` (never served), for `film_parts` and `fmp4_parts` to
join.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from videoflix.core import storyboard as storyboards
from videoflix.core.containers import input_options
from videoflix.core.media import MediaInfo, Rung

from . import hls, scenes
from .ffmpeg_run import ffmpeg_head
from .film_parts import FILL_GAPS, Part, last_part, reads_to
from .hls import AUDIO_OPTIONS, MPEGTS_DELAY, ONE_PASS_CLOCK, PARTS_CLOCK, SHEETS, THUMBNAIL_OUTPUT, TS_OFFSET
from .ladders import H264, SEGMENT_SECONDS, Ladder
from .part_playlists import AUDIO, PARTS


def picture_file(ladder: Ladder, rung: Rung, part: Part) -> str:
    """A further ladder's part in one rendition, relative to the job's folder (never served): NUT, FFmpeg's own
    container, which keeps the timestamps exactly for the join with the sound (`fmp4_parts`)."""
    return f"{PARTS}/{ladder.folder}/{rung.name}/part-{part.index:04d}.nut"


@dataclass(frozen=True)
class FilmSteps:
    """What is made of one film: its `rungs` in `ladder` (`crf`, `cap`: the film's rate control, decided
    once; None: the ladder's own; `rates`: a rung's own (CRF, cap) where its rate is aimed, `rate_aim`), the
    `storyboard`'s frames (None: none), the `audio_filters` of its audio streams (by index: their loudness
    normalization, measured over the whole film) and, into `subtitles` (None: not extracted), its text
    subtitle streams as WebVTT. `threads`: FFmpeg's, 0 for its choice."""

    info: MediaInfo
    rungs: list[Rung]
    ladder: Ladder = H264
    crf: float | None = None
    cap: float | None = None
    rates: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    #: a rung's scenes at rates of their own (x264's zones: first and last frame of the run, CRF), where its
    #: rate is aimed scene by scene (`rate_aim`, `scenes`)
    zones: Mapping[str, tuple[tuple[int, int, float], ...]] = field(default_factory=dict)
    storyboard: storyboards.Layout | None = None
    audio_filters: Mapping[int, str | None] = field(default_factory=dict)
    subtitles: Path | None = None
    threads: int = 0
    #: where a further ladder's parts put their timestamps: those of the film's H.264 renditions (PARTS_CLOCK
    #: for a film made in parts, ONE_PASS_CLOCK for one made in one pass), so every variant keeps one clock
    clock: float = PARTS_CLOCK

    # -- the runs ----------------------------------------------------------------------------------------
    def single_pass(self, ffmpeg: str, source: Path, output: Path) -> list[str]:
        """Every step over the whole film, from one read and one decode: the renditions with the default
        sound muxed in (`<rung>/index.m3u8`, the master), the thumbnail, the storyboard's frames, the other
        audio tracks and the subtitles."""
        argv = self._renditions(ffmpeg, source, output, thumbnail=True, storyboard=True)
        offset = ["-output_ts_offset", f"{TS_OFFSET:.3f}"]
        return [*argv, *self._picture_outputs(output, None), *self._stream_outputs(output, self.audio_filters, offset)]

    def ladder_pass(self, ffmpeg: str, source: Path, output: Path) -> list[str]:
        """A further ladder's renditions over the whole film in one run (`<ladder>/<rung>/`, its own master),
        the default sound muxed in, on the one-pass TS renditions' clock: the tests' and the benchmarks' way
        (the workers make a further ladder in parts, `ladder_parts`). Not an output of the single pass: FFmpeg
        feeds a graph's outputs in step, so there SVT-AV1 held the H.264 ladder to its pace."""
        return self._renditions(ffmpeg, source, output, thumbnail=False, storyboard=False)

    def picture_part(self, ffmpeg: str, source: Path, output: Path, part: Part) -> list[str]:
        """The picture's steps over one part, picture only: the renditions (H.264: `parts/<rung>/<part
        playlist>` and its segments, numbered on from the film's start; a further ladder: one NUT file per
        rung, `fmp4_parts.picture_file`), on the film's clock; with the first ladder, the storyboard's
        frames of the part, and the thumbnail from the first part."""
        first = self.ladder.container == "ts"
        thumbnail, storyboard = first and part.index == 0, first and self.storyboard is not None
        start = part.start if self.info.seeks else None  # (a film read from its start is one part: `ladder_parts.cut`)
        argv = [*ffmpeg_head(ffmpeg), *input_options(source, self.info.container, start=start,
                                                      length=reads_to(part, self.info))]  # fmt: skip
        end = None if last_part(part, self.info) else part.start + part.length
        constant = hls.constant_rate(self.info, part.start, end, clock=part.start)  # (the film's grid)
        argv += ["-filter_complex", self._graph(thumbnail, storyboard, constant)]
        if not first:
            return argv + self._part_files(output, part)
        for i, rung in enumerate(self.rungs):
            argv += ["-map", f"[v{i}]", *self._rate(i, rung)]
        argv += [*self.ladder.video_options(), "-an", "-output_ts_offset", f"{part.start + TS_OFFSET:.3f}"]
        argv += [
            "-f", "hls", "-hls_time", str(SEGMENT_SECONDS),
            "-hls_playlist_type", "event",  # grows while the part is encoded (progressive playback), then ends
            "-hls_flags", "independent_segments+temp_file",
            "-start_number", str(part.first_segment),
            "-hls_segment_filename", str(output / PARTS / "%v" / "%03d.ts"),
            "-var_stream_map", " ".join(f"v:{i},name:{r.name}" for i, r in enumerate(self.rungs)),
            str(output / PARTS / "%v" / part.playlist),
        ]  # fmt: skip
        return argv + self._picture_outputs(output, part.index, thumbnail)

    def sound_job(self, ffmpeg: str, source: Path, output: Path) -> list[str]:
        """The streams' steps of a film made in parts, once, over the whole film: the default sound
        (`parts/audio/index.m3u8`, cut every segment length from the film's start, a late start padded with
        silence and gaps filled, then normalized), the other audio tracks as they are served (`audio/<n>/`)
        and the subtitles; every output on the clock of the renditions it joins."""
        padded = {stream.index: ",".join(filter(None, [FILL_GAPS, self.audio_filters.get(stream.index)]))
                  for stream in self.info.alternate_audio}  # fmt: skip
        default = self.info.default_audio
        sound = ",".join(filter(None, [FILL_GAPS, self.audio_filters.get(default)]))
        argv = [
            *ffmpeg_head(ffmpeg), *input_options(source, self.info.container, length=self.info.decode_seconds),
            "-map", f"0:a:{default}", "-vn", "-af", sound,
            *AUDIO_OPTIONS, "-output_ts_offset", f"{TS_OFFSET:.3f}",
            "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "event",
            "-hls_flags", "independent_segments+temp_file",
            "-hls_segment_filename", str(output / PARTS / "%v" / "%03d.ts"),
            "-var_stream_map", f"a:0,name:{AUDIO}",  # (with %v in the paths the muxer makes the folder)
            str(output / PARTS / "%v" / "index.m3u8"),
        ]  # fmt: skip
        return argv + self._stream_outputs(output, padded, ["-output_ts_offset", f"{TS_OFFSET + MPEGTS_DELAY:.3f}"])

    # -- the pieces ---------------------------------------------------------------------------------------
    def _graph(self, thumbnail: bool, storyboard: bool, constant: str | None = None) -> str:
        storyboard_layout = self.storyboard if storyboard else None
        return hls.ladder_graph(self.info, self.rungs, thumbnail, storyboard_layout, constant)

    def _rate(self, index: int, rung: Rung) -> list[str]:
        crf, cap = self.rates.get(rung.name, (self.crf, self.cap))
        return [
            *self.ladder.rate_options(index, rung, crf, cap),
            *scenes.zones_option(index, self.zones.get(rung.name, ())),
        ]

    def _renditions(self, ffmpeg: str, source: Path, output: Path, thumbnail: bool, storyboard: bool) -> list[str]:
        """The whole film's renditions in the ladder, the default sound (normalized once, `hls.sound_copies`)
        muxed into each, as the served HLS output of the ladder's container."""
        info, filters, n = self.info, self.audio_filters, len(self.rungs)
        graph = self._graph(thumbnail, storyboard) + hls.sound_copies(info, filters, n, "a")
        argv = [*ffmpeg_head(ffmpeg), *input_options(source, info.container, length=info.decode_seconds),
                "-filter_complex", graph]  # fmt: skip
        stream_map = []
        for i, rung in enumerate(self.rungs):
            argv += ["-map", f"[v{i}]", *(["-map", hls.sound(info, filters, f"a{i}")] if info.has_audio else [])]
            argv += self._rate(i, rung)
            stream_map.append(f"v:{i},a:{i},name:{rung.name}" if info.has_audio else f"v:{i},name:{rung.name}")
        argv += self.ladder.video_options()
        argv += ["-threads", str(self.threads)] if self.threads else []
        argv += AUDIO_OPTIONS if info.has_audio else []
        folder = output / self.ladder.folder if self.ladder.folder else output
        if self.ladder.container == "ts":
            argv += ["-output_ts_offset", f"{TS_OFFSET:.3f}", "-f", "hls", "-hls_time", str(SEGMENT_SECONDS)]
            segments = folder / "%v" / "%03d.ts"
        else:
            # on the TS renditions' clock, so one subtitle map (X-TIMESTAMP-MAP) places cues in every ladder; in
            # the fragments' own decode times (`frag_discont`): without it the MP4 muxer starts them at 0 and
            # puts the offset in an edit list, which FFmpeg's reader applies and hls.js does not (it showed
            # every cue 11.4 s late)
            argv += ["-tag:v", self.ladder.tag] if self.ladder.tag else []
            argv += [
                "-output_ts_offset", f"{ONE_PASS_CLOCK:.3f}", "-f", "hls", "-hls_time", str(SEGMENT_SECONDS),
                "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
                "-hls_segment_options", "movflags=+frag_discont",
            ]  # fmt: skip
            segments = folder / "%v" / "%03d.m4s"
        return [
            *argv,
            # EVENT: the playlists grow as segments are done (the video is watchable while it transcodes);
            # temp_file: a segment or playlist appears under its name only once it is written whole
            "-hls_playlist_type", "event", "-hls_flags", "independent_segments+temp_file",
            "-hls_segment_filename", str(segments), "-master_pl_name", "master.m3u8",
            "-var_stream_map", " ".join(stream_map), str(folder / "%v" / "index.m3u8"),
        ]  # fmt: skip

    def _part_files(self, output: Path, part: Part) -> list[str]:
        """A further ladder's part: each rung's picture into its NUT file, on the film's clock (`clock`)."""
        argv: list[str] = []
        for i, rung in enumerate(self.rungs):
            argv += ["-map", f"[v{i}]", *self._rate(0, rung), *self.ladder.video_options(), "-an"]
            argv += ["-output_ts_offset", f"{part.start + self.clock:.3f}", "-f", "nut"]
            argv.append(str(output / picture_file(self.ladder, rung, part)))
        return argv

    def _picture_outputs(self, output: Path, part: int | None, thumbnail: bool = True) -> list[str]:
        """The thumbnail (from the stretch that holds its instant) and the storyboard's frames (of `part`)."""
        argv = [*THUMBNAIL_OUTPUT, str(output / "thumbnail.jpg")] if thumbnail else []
        if self.storyboard is not None:
            argv += self.storyboard.outputs(SHEETS, str(output), **({"part": part} if part is not None else {}))
        return argv

    def _stream_outputs(self, output: Path, filters: Mapping[int, str | None], offset: list[str]) -> list[str]:
        """The other audio tracks (each through its filter) and the text subtitles, read whole."""
        return hls.alternate_audio_outputs(self.info, output, filters, offset) + hls.subtitle_outputs(
            self.info, self.subtitles
        )
