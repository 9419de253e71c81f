"""Faust stream workers: consume pipeline events from Kafka and do the blocking work (FFmpeg) off the web tier.

Run with `faust -A stream_workers.app worker`. The App (and the settings it reads when configured) is in
`app.py`; the agents in `agents/`, which never import one another (transcode: an upload, in a single pass or
started as a plan of parts; encode_parts: one part of a film; results: progress and results into
PostgreSQL); what they share in plain modules (`jobs`, `reports`, `part_jobs`, `db`, `plans`), FFmpeg's side in
`hls` (single pass) and `film_parts` (a film in parts); the outbox relay in `relay.py`, the
watchdog in `watchdog.py`.
"""
