"""Faust stream workers: consume pipeline events from Kafka and do the blocking work (FFmpeg) off the web tier.

Run with `faust -A stream_workers.app worker`. The App is in `app.py`; its agents in `agents/` (transcode: an
upload to HLS or to a plan of parts; chunks: one part of a film; results: progress and results into PostgreSQL),
the outbox relay and the watchdog in `relay.py`.
"""
