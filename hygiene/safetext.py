"""Vendor text made inert for a plain-text output (terminal, CSV cell, Markdown line, JSON line).

Everything a tenant contains is hostile text: a user, device, group or policy name can carry terminal escape
sequences (``ESC [2J`` clears the reader's screen), bidirectional overrides that make a name read backwards
(Trojan Source), line and paragraph separators that split a JSON-lines record for line-based readers, and lone
surrogates that no UTF-8 encoder accepts. :func:`inert` replaces every such code point, so that what the reader
sees is what the tenant holds, never an instruction to the reader's terminal or viewer.
"""

from __future__ import annotations

import re

#: C0 controls but tab/newline, DEL, C1 controls, the Unicode line/paragraph separators, the bidirectional
#: formatting characters (ALM, LRM, RLM, LRE..RLO, LRI..PDI) and the byte-order mark / zero-width no-break space
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_WHITESPACE_CONTROLS = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")

#: what an unsafe code point is shown as
REPLACEMENT = "\ufffd"


def inert(value: object, *, one_line: bool = True) -> str:
    """The text with every control, bidi override and lone surrogate replaced by U+FFFD.

    With ``one_line`` (the default) tabs, newlines and the other line breaks become a space, so a value fills one
    table cell or one line; otherwise tab and newline are kept.
    """
    text = "" if value is None else str(value)
    if one_line:
        text = _WHITESPACE_CONTROLS.sub(" ", text)
    text = _SURROGATE.sub(REPLACEMENT, text)
    return _UNSAFE.sub(REPLACEMENT, text)


#: documented caps (docs/report-format.md) on what one field of a result may carry into any output; the snapshot
#: (snapshot.json.gz) and raw/ keep the full value
RESOURCE_ID_CAP = 1_024
RESOURCE_NAME_CAP = 512
TEXT_CAP = 4_096
#: a table cell of a PDF page (a row taller than a page cannot be laid out)
PDF_CELL_CAP = 600


def clip(text: str, limit: int, where: str = "snapshot.json.gz") -> str:
    """The text cut to ``limit`` characters, saying how much more there is and where the whole of it is."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters in {where})"
