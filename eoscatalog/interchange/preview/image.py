"""PNG and JPEG: the width and height from the header bytes (PNG's IHDR chunk, JPEG's start
of frame, reached by skipping the segments before it with range reads)."""

from __future__ import annotations

import struct

from eoscatalog.interchange.preview.result import Preview
from eoscatalog.interchange.preview.source import Source

__all__ = ["JPEG_MAGIC", "PNG_MAGIC", "preview_image"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic): not C4, C8, CC
SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
MAX_SEGMENTS = 1000


def _png(source: Source) -> tuple[int, int]:
    head = source.head(24)
    if len(head) < 24 or head[12:16] != b"IHDR":
        raise ValueError("not a valid PNG: no IHDR chunk after the signature")
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def _jpeg(source: Source) -> tuple[int, int]:
    at = 2
    for _ in range(MAX_SEGMENTS):
        marker = source.read(at, at + 4)
        if len(marker) < 4 or marker[0] != 0xFF:
            break
        if marker[1] == 0xFF:  # fill bytes before a marker
            at += 1
            continue
        length = struct.unpack(">H", marker[2:4])[0]
        if marker[1] in SOF:
            frame = source.read(at + 4, at + 9)
            if len(frame) < 5:
                break
            height, width = struct.unpack(">HH", frame[1:5])
            return int(width), int(height)
        if marker[1] == 0xDA or length < 2:  # start of scan: no frame header before it
            break
        at += 2 + length
    raise ValueError("not a valid JPEG: no frame header (SOF) found")


def preview_image(source: Source, format: str) -> Preview:
    """A PNG's or JPEG's size and MIME type (``format`` is what the name says; the bytes
    decide)."""
    head = source.head(8)
    if head.startswith(PNG_MAGIC):
        (width, height), format, mime = _png(source), "png", "image/png"
    elif head.startswith(JPEG_MAGIC):
        (width, height), format, mime = _jpeg(source), "jpeg", "image/jpeg"
    else:
        return Preview("none", format, reason=f"not a {format.upper()} image: the file does "
                                              "not start with its signature")
    return Preview("image", format, details={"width": width, "height": height, "mime": mime})
