"""The further ladders' names (the best H.264 ladder, AV1, HEVC: stream_workers/ladder_registry.py makes them),
which are their folders in a film's output (`<name>/<rung>/`, fMP4): the web tier serves those folders and no
other."""

FURTHER = ("avc", "av1", "hevc")

#: the master as the fast stage listed it, kept beside the film's once a replacing ladder (the best H.264
#: ladder, `avc`) took the H.264 variants' place there: the MPEG-TS renditions (`<rung>/index.m3u8`) stay,
#: named here (the workers judge every ladder against them, and put them back if a dead pass is run again;
#: the web tier reads the film's clock from them). No route serves it.
FAST_MASTER = "master-fast.m3u8"

#: that replacing ladder: once listed, its rendition is also what a rendition's own playlist (`<rung>/index.m3u8`,
#: where the existing frontend plays) names, so every viewer gets its bytes (views/streaming.py)
BEST = "avc"


def fast_variant(uri: str) -> bool:
    """Whether a master's variant URI is a fast H.264 rendition's (`<rung>/index.m3u8`, MPEG-TS), not a further
    ladder's (`<ladder>/<rung>/index.m3u8`)."""
    return uri.count("/") == 1
