"""The ``Content-Disposition`` a presigned link asks S3 to answer with:
:func:`attachment`, so browsers, ``wget`` and ``curl -OJ`` save the download under its name."""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["attachment"]


def attachment(filename: str) -> str:
    """A ``Content-Disposition`` value saving the download as ``filename`` (RFC 6266): a
    quoted ASCII name, plus ``filename*`` in UTF-8 (RFC 5987) when the name needs more.

    >>> attachment("report.pdf")
    'attachment; filename="report.pdf"'
    >>> print(attachment('café "v2".csv'))
    attachment; filename="caf_ _v2_.csv"; filename*=UTF-8''caf%C3%A9%20%22v2%22.csv
    """
    # Quotes, backslashes and percent signs are kept out of the quoted form: clients
    # disagree on escapes in it, and some decode %XX there.
    plain = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in filename)
    if plain == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
