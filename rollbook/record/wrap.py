"""How text in the HTML record may wrap, so that no word is ever split across lines: at spaces;
in a long identifier or path, after its own separators (`/`, `_`, `.`, `:` ...); a long run with
no separator (a sha256, say) is never broken: it scrolls sideways in a box of its own, which
shrinks with its cell, so the table still fits a narrow window."""
from __future__ import annotations

import re
from html import escape

SEPARATED = 12      # a token this long or longer gets a break opportunity after each separator
UNBROKEN = 24       # a run this long with no separator scrolls in its own box
TOKEN = re.compile(r"(\s+)")
AFTER_SEPARATOR = re.compile(r"(?<=[/_.:=,;&?@)\]}-])(?=.)")  # between a separator and more


def html(text: str) -> str:
    """`text` escaped for HTML, with where it may wrap (see the module's doc)."""
    return "".join(piece if piece.isspace() or not piece else _token(piece)
                   for piece in TOKEN.split(str(text)))


def _token(token: str) -> str:
    if len(token) < SEPARATED:
        return escape(token)
    return "<wbr>".join(_run(run) for run in AFTER_SEPARATOR.split(token))


def _run(run: str) -> str:
    if len(run) < UNBROKEN:
        return escape(run)
    return f"<span class=unbroken><span>{escape(run)}</span></span>"


STYLE = """
.unbroken{display:inline-grid;grid-template-columns:minmax(0,max-content);vertical-align:bottom}
.unbroken>span{min-width:0;overflow-x:auto;white-space:nowrap;font:.85em monospace}
"""
