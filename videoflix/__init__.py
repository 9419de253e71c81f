"""Videoflix: the web tier (Pyramid; its application factory is `videoflix.application.main`, which `pserve`
reaches through the `egg:videoflix` entry point) and, in `videoflix.core`, what it shares with the stream workers.

Nothing is imported here: the workers import `videoflix.core` without loading Pyramid.
"""
