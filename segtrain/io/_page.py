"""A results page a person opens in a browser: one self-contained HTML file beside its figures."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from shapelib.io import atomic_write

__all__ = ["write_page"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
img { max-width: 100%; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child { text-align: left; }
.note { color: #555; font-size: 0.9em; }
"""


def _table(rows: Sequence[dict]) -> str:
    if not rows:
        return ""
    keys = list(rows[0])
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(k, '')))}</td>" for k in keys) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write_page(path: str | Path, title: str, sections: Sequence[dict]) -> Path:
    """Write an HTML page: a title, then sections of ``{"title", "text", "images", "table"}``
    (images are paths relative to the page; a table is a list of dicts of one set of keys).

    Returns the page's path (written atomically)."""
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec['title'])}</h2>")
        if sec.get("text"):
            parts.append(f"<p>{html.escape(sec['text'])}</p>")
        for img in sec.get("images", ()):
            src = html.escape(str(img))
            parts.append(f'<p><a href="{src}"><img src="{src}" alt="{src}"></a></p>')
        if sec.get("table"):
            parts.append(_table(sec["table"]))
        if sec.get("note"):
            parts.append(f'<p class="note">{html.escape(sec["note"])}</p>')
    doc = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>"
        f"{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )
    return atomic_write(path, doc)
