"""Text, Markdown and JSON: the head of the content as text (at most 64 KiB of it), Markdown
also rendered to HTML with raw HTML off (safe to insert into a page), JSON pretty-printed when
the whole document was read."""

from __future__ import annotations

import importlib
import json

from eoscatalog.interchange.preview.result import MAX_TEXT, Preview
from eoscatalog.interchange.preview.source import Source, decode

__all__ = ["MAX_JSON", "preview_json", "preview_markdown", "preview_text", "render_markdown"]

MAX_JSON = 4 * 1024 * 1024  # a JSON document up to this size is parsed and pretty-printed


def _head(source: Source) -> tuple[str, bool]:
    """The first :data:`MAX_TEXT` characters of the content, and whether more follows."""
    data, whole = source.content(MAX_TEXT)
    text = decode(data, whole)
    return text[:MAX_TEXT], not whole or len(text) > MAX_TEXT


def preview_text(source: Source, format: str) -> Preview:
    """The head of a text file."""
    text, more = _head(source)
    if "\x00" in text:
        return Preview("none", format, reason="not text: the file holds NUL bytes (binary data)")
    return Preview("text", format, text=text, truncated=more)


def render_markdown(text: str) -> str | None:
    """Markdown rendered to HTML with raw HTML disabled (``<script>`` stays text) and links
    only to safe URLs (markdown-it drops ``javascript:``, ``vbscript:``, ``file:`` and
    ``data:`` links); None when markdown-it-py is not installed.

    >>> render_markdown("<script>alert(1)</script> [x](javascript:alert(1))")
    '<p>&lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(1))</p>\\n'
    """
    try:
        module = importlib.import_module("markdown_it")
    except ImportError:
        return None
    renderer = module.MarkdownIt("commonmark", {"html": False}).enable(["table",
                                                                        "strikethrough"])
    return str(renderer.render(text))


def preview_markdown(source: Source, format: str) -> Preview:
    """The head of a Markdown file, with its HTML; plain text without markdown-it-py."""
    text, more = _head(source)
    html = render_markdown(text)
    if html is None:
        return Preview("text", format, text=text, truncated=more,
                       details={"note": "install eoscatalog[ui] to render Markdown"})
    return Preview("markdown", format, text=text, html=html, truncated=more)


def preview_json(source: Source, format: str) -> Preview:
    """A JSON document pretty-printed (when it is at most :data:`MAX_JSON` bytes), else its
    head as text; a document that does not parse is kind "none" with the parser's reason."""
    known_large = source.gzip is None and source.size > MAX_JSON
    data, whole = source.content(MAX_TEXT if known_large else MAX_JSON)
    if not whole:
        text, _ = _head(source)
        return Preview("json", format, text=text, truncated=True,
                       details={"note": f"larger than {MAX_JSON // 1024 // 1024} MiB: the head "
                                        "as text, not parsed"})
    try:
        document = json.loads(decode(data, whole=True))
        pretty = json.dumps(document, indent=2, ensure_ascii=False)
    except json.JSONDecodeError as error:
        return Preview("none", format, reason=f"not valid JSON: {error}")
    except RecursionError:
        return Preview("none", format, reason="JSON nested too deeply to show")
    return Preview("json", format, text=pretty[:MAX_TEXT], truncated=len(pretty) > MAX_TEXT)
