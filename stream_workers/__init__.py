"""Faust stream workers: consume pipeline events from Kafka and do the blocking work (FFmpeg) off the web tier.

Run with `faust -A stream_workers.app worker`. Agents arrive with the processing pipeline.
"""
