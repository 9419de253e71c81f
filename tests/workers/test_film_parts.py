"""Transcoding in parts (stream_workers/film_parts.py) on a real clip: parts encoded separately, in any order,
join into one output that FFmpeg's HLS client decodes end to end with every source frame once, no timestamp
jump at a part boundary, 4 s segments, and the whole audio once with no gap, through the master playlist and
through a rendition's own playlist (which the existing frontend plays)."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from pathlib import Path

import pytest

from stream_workers import audio_tracks, ffmpeg_run, film_parts, hls, hls_output, part_playlists
from stream_workers.film_parts import Part
from stream_workers.film_steps import FilmSteps
from stream_workers.ladders import H264
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaInfo, ladder_for, probe

from ..support.clips import audio_gaps, audio_samples, make_clip, sound_onset, stream_starts, video_timestamps


def test_plan_cuts_at_fixed_times():
    assert film_parts.cut_film(130) == [
        Part(0, 0.0, 60),
        Part(1, 60.0, 60),
        Part(2, 120.0, 10),
    ]
    assert [c.length for c in film_parts.cut_film(120)] == [60, 60]
    assert [c.first_segment for c in film_parts.cut_film(130)] == [0, 15, 30]
    assert film_parts.cut_film(3.5) == [Part(0, 0.0, 3.5)]
    with pytest.raises(ValueError, match="whole number"):
        film_parts.cut_film(100, part_seconds=30)


def test_a_tail_too_short_for_a_segment_joins_the_last_part():
    """An MKV of a 72 s film says 72.02 s (its last audio frame): a part of 0.02 s would hold no frame and
    the film could not be joined (found with a real MKV through the pipeline in parts)."""
    parts = film_parts.cut_film(72.02, part_seconds=8)
    assert len(parts) == 9 and parts[-1] == Part(8, 64.0, pytest.approx(8.02))
    assert [c.length for c in film_parts.cut_film(74.5, part_seconds=8)][-2:] == [8, 2.5]  # a real segment


@dataclasses.dataclass
class Film:
    """A generated clip, its renditions and its plan in 8 s parts, and where its output goes."""

    source: Path
    out: Path
    info: MediaInfo
    rungs: list
    plan: list[Part]
    ffmpeg: str = dataclasses.field(default_factory=ffmpeg_exe)

    @classmethod
    def make(cls, folder: Path, seconds: float, audio_delay: float = 0.0, languages: tuple[str, ...] = ()) -> Film:
        source = make_clip(folder / "film.mp4", seconds=seconds, size="640x360", rate=30, audio_delay=audio_delay,
                           languages=languages)  # fmt: skip
        info = probe(source)
        return cls(
            source,
            folder / "out",
            info,
            ladder_for(info.short_side),
            film_parts.cut_film(info.duration, part_seconds=8),
        )

    def encode(self, parts: list[Part], audio: bool) -> None:
        commands = [
            FilmSteps(self.info, self.rungs, H264.at("veryfast")).picture_part(self.ffmpeg, self.source, self.out, c)
            for c in parts
        ]
        audio_tracks.make_folders(self.out, self.info)
        commands += [FilmSteps(self.info, []).sound_job(self.ffmpeg, self.source, self.out)] * audio
        for argv in commands:
            asyncio.run(ffmpeg_run.run_ffmpeg(argv))

    def serve(self, part: Part, served=None) -> tuple[dict, bool]:
        """Serve what can be of `part`, as its worker would, with the audio job's playlist as it is now."""
        sound = part_playlists.read_playlist(self.out / part_playlists.AUDIO_PLAYLIST)
        last = part == self.plan[-1]
        return film_parts.serve_part(
            self.ffmpeg, self.out, self.rungs, part, last, sound, self.out.joinpath, lambda name: None, served or {}
        )

    def write(self, playlists: dict[str, str]) -> None:
        for name, text in playlists.items():
            hls_output.write_atomically(self.out / name, text)


def test_parts_encoded_apart_join_without_a_seam(tmp_path):
    film = Film.make(tmp_path, seconds=22)
    source, out, info, rungs, plan = film.source, film.out, film.info, film.rungs, film.plan
    assert [c.length for c in plan] == [8, 8, pytest.approx(6, abs=0.05)]

    film.encode(list(reversed(plan)), audio=False)  # independent of each other: any order, any worker
    # the picture alone is not served: a segment waits for its sound
    assert film.serve(plan[0]) == ({"480p": []}, False)
    assert not (out / "480p").exists()
    assert part_playlists.progress_playlists(info, rungs, [(False, {"480p": []})]) == {}  # nothing to play

    film.encode([], audio=True)
    served = [film.serve(part) for part in plan]
    assert all(whole for _, whole in served)
    assert [len(s["480p"]) for s, _ in served] == [2, 2, 2]
    sizes = [entry[2] for s, _ in served for entry in s["480p"]]
    assert sizes == [(out / "480p" / f"{n:03d}.ts").stat().st_size for n in range(6)]
    # growing: the finished parts from the first on, then what the next one has so far; a later one waits
    growing = part_playlists.progress_playlists(info, rungs, [(True, served[0][0]), (False, {}), (True, served[2][0])])
    assert (
        set(growing) == {"480p/index.m3u8", "master.m3u8"} and hls_output.START_AT_BEGINNING in growing["master.m3u8"]
    )
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in growing["480p/index.m3u8"] and "ENDLIST" not in growing["480p/index.m3u8"]
    assert growing["480p/index.m3u8"].count(".ts") == 2

    playlists, renditions = part_playlists.final_playlists(info, rungs, [s for s, _ in served])
    assert not part_playlists.assembled(lambda name: part_playlists._read(out / name), rungs)
    film.write(playlists)
    assert part_playlists.assembled(lambda name: part_playlists._read(out / name), rungs)
    hls_output.check_output(out, rungs)  # the same check as a single pass: playlists ended, segments there, thumbnail
    assert [r["name"] for r in renditions] == ["480p"] and renditions[0]["bandwidth"] > 0
    assert hls_output.renditions_in(playlists["master.m3u8"], rungs) == renditions  # what a redelivered job reads back
    assert not list(out.glob("**/*.new"))
    master = (out / "master.m3u8").read_text()
    assert "TYPE=AUDIO" not in master and 'CODECS="avc1.640028,mp4a.40.2"' in master  # sound in every rendition
    playlist = (out / "480p" / "index.m3u8").read_text()
    durations = [float(line.split(":")[1].rstrip(",")) for line in playlist.splitlines() if line.startswith("#EXTINF")]
    assert durations == pytest.approx([4, 4, 4, 4, 4, 2], abs=0.01)  # every segment the target, the last shorter
    assert [line for line in playlist.splitlines() if line.endswith(".ts")] == [f"{n:03d}.ts" for n in range(6)]

    for entry in (out / "master.m3u8", out / "480p" / "index.m3u8"):
        frames = video_timestamps(entry)
        assert len(frames) == len(video_timestamps(source)) == 660  # every frame once
        assert all(b - a == 1 for a, b in itertools.pairwise(frames))  # no jump or overlap at the part boundaries
        # the whole audio once: the same samples as the source, give or take the AAC encoder's priming/padding
        assert abs(audio_samples(entry) - audio_samples(source)) <= 2048
        assert audio_gaps(entry) == []  # no gap, no overlap


def test_an_alternate_audio_track_is_on_the_muxed_segments_clock(tmp_path):
    """The audio job writes a second track as it is served (not muxed): its timestamps must match the muxed
    sound's, which joining the segments delays (hls.MPEGTS_DELAY), or a switch of track would shift the sound."""
    film = Film.make(tmp_path, seconds=10, languages=("eng", "ger"))
    film.encode(film.plan, audio=True)
    assert all(whole for _, whole in (film.serve(part) for part in film.plan))
    muxed = stream_starts(film.out / "480p" / "000.ts")["audio"]
    alternate = stream_starts(film.out / "audio" / "1" / "000.ts")["audio"]
    assert alternate == pytest.approx(muxed, abs=1e-6)
    assert muxed - stream_starts(film.out / "parts" / "audio" / "000.ts")["audio"] == pytest.approx(
        hls.MPEGTS_DELAY, abs=1e-6
    )
    master = part_playlists.master_playlist(film.info, part_playlists.nominal_renditions(film.info, film.rungs), False)
    assert 'URI="audio/1/index.m3u8"' in master and master.count('AUDIO="audio"') == 1


def test_a_part_taken_over_keeps_what_was_served_and_serves_the_rest(tmp_path):
    """A part run again (its worker died) starts from the segments recorded as served: those are not muxed
    again (a player may be reading them), the rest are."""
    film = Film.make(tmp_path, seconds=10)
    film.encode(film.plan, audio=True)
    first, _ = film.serve(film.plan[0])
    earlier = {"480p": first["480p"][:1]}  # what the dead worker had served
    (film.out / "480p" / "001.ts").unlink()
    before = (film.out / "480p" / "000.ts").stat().st_mtime_ns
    served, whole = film.serve(film.plan[0], earlier)
    assert whole and served == first
    assert (film.out / "480p" / "000.ts").stat().st_mtime_ns == before and (film.out / "480p" / "001.ts").is_file()


def test_a_segment_served_without_its_sound_would_be_heard(tmp_path):
    """The check above can fail: a segment muxed without its audio leaves a gap that audio_gaps shows."""
    film = Film.make(tmp_path, seconds=10)
    film.encode(film.plan, audio=True)
    served = [film.serve(part)[0] for part in film.plan]
    film_parts.mux_segment(film.ffmpeg, film.out, film.rungs, "001.ts", [])
    film.write(part_playlists.final_playlists(film.info, film.rungs, served)[0])
    assert audio_gaps(film.out / "480p" / "index.m3u8") == [pytest.approx(4.0, abs=0.05)]


def test_sound_that_starts_after_the_picture_is_cut_with_it(tmp_path):
    """A film whose sound starts 1.5 s after its picture (cut from a longer recording): each segment carries
    the sound of its own 4 s (the audio job pads the start with silence; without it, each segment's sound
    would run 1.5 s into the next one's time, and a player that seeks to a segment would have no sound for its
    first 1.5 s), and the sound is still heard 1.5 s after the first picture."""
    film = Film.make(tmp_path, seconds=14, audio_delay=1.5)
    film.encode(film.plan, audio=True)
    film_parts.assemble_folder(film.ffmpeg, film.out, film.info, film.rungs, film.plan)
    playlist = film.out / "480p" / "index.m3u8"
    for segment in sorted((film.out / "480p").glob("*.ts")):
        starts = stream_starts(segment)
        assert starts["audio"] == pytest.approx(starts["video"], abs=0.025), segment.name  # within an AAC frame
    assert sound_onset(playlist) == pytest.approx(sound_onset(film.source), abs=0.03)
    assert audio_gaps(playlist) == []


def test_a_part_read_back_is_read_as_mpeg_ts_and_nothing_else(tmp_path):
    """The joins read the parts a worker wrote back, each as MPEG-TS by name (no format guessed from its bytes,
    no `concat:` protocol): a part that is anything else (here an MP4, as a part replaced on a shared volume
    could be; it could as well be a playlist naming other files) fails the join instead of being read as what
    its bytes claim (before: the MP4 was joined)."""
    rungs = ladder_for(240)
    folder = tmp_path / "out"
    for name in (f"{part_playlists.PARTS}/{rungs[0].name}", f"{part_playlists.PARTS}/{part_playlists.AUDIO}"):
        (folder / name).mkdir(parents=True)
    make_clip(folder / part_playlists.PARTS / rungs[0].name / "000.ts", seconds=1, size="320x240", audio=False,
              extra=["-f", "mp4"])  # fmt: skip
    audio = folder / part_playlists.PARTS / part_playlists.AUDIO / "000.ts"
    make_clip(audio, seconds=1, size="320x240", extra=["-f", "mp4"])
    with pytest.raises(ffmpeg_run.TranscodeError, match=r"parts at segment 000\.ts could not be joined"):
        film_parts.mux_segment(ffmpeg_exe(), folder, rungs, "000.ts", [audio])
    assert not (folder / rungs[0].name / "000.ts").exists()
    assert not list(folder.rglob("*.new")) and not list(folder.rglob("*.audio"))  # nothing half made is left
