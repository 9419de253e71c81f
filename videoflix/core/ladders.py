"""The further ladders' names (AV1, HEVC: stream_workers/ladder_registry.py makes them), which are their folders in
a film's output (`<name>/<rung>/`, fMP4): the web tier serves those folders and no other."""

FURTHER = ("av1", "hevc")
