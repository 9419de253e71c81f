"""Media facts for tests: where the functional tests' one real HLS output lives, relative to MEDIA_ROOT (the
`hls_output` fixture makes it once per session with the real FFmpeg), and a film's facts as the probe gives them."""

from __future__ import annotations

from videoflix.core.media import AudioStream, MediaInfo

OUTPUT = "videos/fixture/hls-session"
#: the session's output again, with its best H.264 ladder listed in the fast one's place (functional `best_output`)
BEST_OUTPUT = "videos/fixture/hls-best"


def film(*streams: AudioStream) -> MediaInfo:
    return MediaInfo(60.0, 1280, 720, 25.0, "h264", bool(streams), container="mp4", audio_streams=streams)
