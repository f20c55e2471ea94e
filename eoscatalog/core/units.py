"""Times, durations and sizes as users type them: parsing and formatting, pure functions only.

>>> format_time(parse_time("2026-06-01T12:30:00+02:00"))
'2026-06-01T10:30:00.000000Z'
>>> parse_duration("48h"), parse_size("1KiB")
(172800.0, 1024)
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

from eoscatalog.core.errors import InvalidNameError

__all__ = ["format_time", "parse_duration", "parse_size", "parse_time"]

_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 date or time into an aware UTC datetime (no zone means UTC).

    >>> parse_time("2026-06-01T12:30:00+02:00")
    datetime.datetime(2026, 6, 1, 10, 30, tzinfo=datetime.timezone.utc)
    """
    m = _TIME_RE.fullmatch(text.strip())
    if not m:
        raise InvalidNameError(
            f"invalid time {text!r}: use ISO 8601, e.g. 2026-06-01 or 2026-06-01T00:00:00Z"
        )
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6])
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            micro, tzinfo=timezone.utc,
        )
    except ValueError as e:
        raise InvalidNameError(f"invalid time {text!r}: {e}") from None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise InvalidNameError(f"invalid time {text!r}: the UTC offset {zone} is impossible")
        try:
            value -= sign * timedelta(hours=hours, minutes=minutes)
        except OverflowError:
            raise InvalidNameError(
                f"invalid time {text!r}: it falls outside the calendar"
            ) from None
    return value


def format_time(value: datetime) -> str:
    """Format a datetime as the fixed-width UTC form used in the log (sortable as text).

    >>> format_time(datetime(2026, 6, 1, tzinfo=timezone.utc))
    '2026-06-01T00:00:00.000000Z'
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    v = value.astimezone(timezone.utc)
    # Not strftime: its %Y does not pad years before 1000 on every platform.
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
        f".{v.microsecond:06d}Z"
    )


_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?$")
_DURATION_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400,
                   "w": 604800}


def parse_duration(text: str | int | float) -> float:
    """Parse ``90``, ``90s``, ``30m``, ``48h``, ``7d`` or ``2w`` into seconds.

    >>> parse_duration("48h")
    172800.0
    """
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        m = _DURATION_RE.fullmatch(text.strip().lower())
        if not m:
            raise InvalidNameError(
                f"invalid duration {text!r}: use a number with s, m, h, d or w, e.g. 48h or 7d"
            )
        seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidNameError(f"invalid duration {text!r}: it must be a positive number")
    return seconds


_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?i?b?)?$")
_SIZE_UNITS = {"": 1, "b": 1}
for _i, _p in enumerate("kmgtp", start=1):
    _SIZE_UNITS.update({_p: 1024**_i, f"{_p}b": 1000**_i, f"{_p}ib": 1024**_i, f"{_p}i": 1024**_i})


def parse_size(text: str | int) -> int:
    """Parse ``1048576``, ``500MB`` (decimal), ``20GiB`` or ``20G`` (binary) into bytes.

    >>> parse_size("20GiB") == 20 * 1024**3, parse_size("500MB"), parse_size(4096)
    (True, 500000000, 4096)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = float(text)
    else:
        m = _SIZE_RE.fullmatch(str(text).strip().lower())
        if not m:
            raise InvalidNameError(
                f"invalid size {text!r}: use a number of bytes or one with a unit, e.g. "
                "500MB, 20GiB or 2T"
            )
        value = float(m.group(1)) * _SIZE_UNITS[m.group(2) or ""]
    if not math.isfinite(value) or value < 0:
        raise InvalidNameError(f"invalid size {text!r}: it must be zero or more bytes")
    return int(value)
