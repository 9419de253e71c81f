"""Text that goes into an HLS playlist's quoted strings (track names, languages, labels).

A playlist is a list of lines, and players split lines on more than LF: hls.js's parser treats U+2028, U+2029
and U+0085 as line ends too, so a label holding one put a second `#EXT-X-MEDIA` entry of the label's own making
into the master (with a URI of its choice). Every text a playlist carries passes through `quoted_string`, and
every such text an operator types is refused when it holds one (`problem`).
"""

from __future__ import annotations

import unicodedata

#: categories that never belong in a one-line label: controls, format characters (bidi overrides, zero-width),
#: line and paragraph separators, surrogates, private use, unassigned
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def problem(value: str) -> str | None:
    """Why `value` cannot be a label in a playlist (a line break, a control or format character), or None."""
    if any(unsafe(char) for char in value):
        return "One line of text, without control characters or line separators."
    return None


def quoted_string(value: str) -> str:
    """`value` fit for an HLS quoted string: every unsafe character (`unsafe`) becomes a space, every kind of
    space one plain space, the ends trimmed, and a double quote (which would end the string) a single one."""
    cleaned = "".join(" " if unsafe(char) or char.isspace() else char for char in value)
    return " ".join(cleaned.split()).replace('"', "'")
