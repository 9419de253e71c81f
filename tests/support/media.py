"""Where the functional tests' one real HLS output lives, relative to MEDIA_ROOT (the `hls_output` fixture
makes it once per session with the real FFmpeg)."""

OUTPUT = "videos/fixture/hls-session"
