"""Names, namespaces, URIs and references: every rule of DESIGN.md's "Names, namespaces,
references" section, each with a test that fails if the rule breaks."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eoscatalog.core.errors import EosError, InvalidNameError
from eoscatalog.core.names import (
    MAX_NAME_BYTES,
    Location,
    Reference,
    is_uri,
    parse_location,
    parse_reference,
    split_reference,
    validate_name,
    validate_namespace,
    validate_tag,
    validate_user,
)
from eoscatalog.core.units import format_time, parse_duration, parse_time

UTC = timezone.utc
FORBIDDEN = "@#?*"


def rejects(
    func: Callable[..., object], *args: object, match: str | None = None, **kwargs: object
) -> str:
    """Call ``func`` expecting InvalidNameError; return the message (checked against ``match``)."""
    with pytest.raises(InvalidNameError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    if match is not None:
        assert match.lower() in message.lower(), message
    return message


# --------------------------------------------------------------------------------------------
# Strategies


def _segment_char() -> st.SearchStrategy[str]:
    # Anything but the separator, backslash, the forbidden four, controls and lone surrogates.
    return st.characters(
        exclude_categories=["Cc", "Cs"], exclude_characters="/\\" + FORBIDDEN
    )


segments = st.text(_segment_char(), min_size=1, max_size=12).filter(
    lambda s: unicodedata.normalize("NFC", s) not in (".", "..")
)
valid_names = st.lists(segments, min_size=1, max_size=6).map("/".join)
user_ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,20}\Z").filter(lambda u: u != "me")
tags = st.from_regex(r"\A[A-Za-z][A-Za-z0-9._-]{0,30}\Z").filter(lambda t: t != "latest")


# --------------------------------------------------------------------------------------------
# validate_name: one test per rule


def test_invalid_name_error_is_a_value_error_and_an_eos_error() -> None:
    with pytest.raises(ValueError):
        validate_name("a//b")
    with pytest.raises(EosError):
        validate_name("a//b")


@pytest.mark.parametrize(
    "name",
    ["x", "project-1/reads.fq.gz", "a/b/c/d.txt", "résumé/données.csv", "日本/データ.bin",
     "with space/and,comma;semi:colon", "a.b/..c/.d/e..", "~tilde/$dollar/%percent/+plus",
     "emoji/🧬.fa"],
)
def test_valid_names_are_returned_unchanged(name: str) -> None:
    assert validate_name(name) == name


def test_names_are_nfc_normalized() -> None:
    decomposed = "cafe\u0301/re\u0301sume\u0301.txt"
    composed = "caf\u00e9/r\u00e9sum\u00e9.txt"
    assert decomposed != composed
    assert validate_name(decomposed) == composed
    assert parse_location("eos://org/" + decomposed).name == composed
    assert parse_location(decomposed, user="ada").name == composed


def test_nfc_makes_two_spellings_the_same_name() -> None:
    assert validate_name("\u212b") == validate_name("A\u030a") == validate_name("\u00c5")


def test_name_of_exactly_1024_bytes_is_accepted() -> None:
    assert MAX_NAME_BYTES == 1024
    name = "a" * 1024
    assert validate_name(name) == name


def test_name_of_1025_bytes_is_rejected_and_the_message_gives_the_limit() -> None:
    message = rejects(validate_name, "a" * 1025, match="limit")
    assert "1025" in message and "1024" in message


@pytest.mark.parametrize(
    ("char", "width"),
    [("é", 2), ("€", 3), ("𝄞", 4)],
)
def test_name_limit_counts_utf8_bytes_not_characters(char: str, width: int) -> None:
    assert len(char.encode()) == width
    fits = char * (1024 // width)
    padded = fits + "a" * (1024 - len(fits.encode()))
    assert len(padded.encode()) == 1024
    assert validate_name(padded) == padded
    over = padded + "a"
    assert len(over) < 1024  # far fewer than 1,025 characters, yet too many bytes
    rejects(validate_name, over, match="bytes")
    rejects(validate_name, char * (1024 // width + 1) + "a" * 1024, match="limit")


def test_name_limit_applies_to_the_normalized_form() -> None:
    # 512 decomposed "é" are 1,536 bytes; NFC makes them 512 two-byte characters: 1,024 bytes.
    decomposed = "e\u0301" * 512
    assert len(decomposed.encode()) == 1536
    assert validate_name(decomposed) == "\u00e9" * 512


def test_empty_name_is_rejected() -> None:
    rejects(validate_name, "", match="empty")


@pytest.mark.parametrize("name", ["/a", "/a/b.txt", "/"])
def test_leading_slash_is_rejected(name: str) -> None:
    rejects(validate_name, name, match="start with '/'")


@pytest.mark.parametrize("name", ["a\\b", "\\a", "dir\\file.txt", "a/b\\"])
def test_backslash_is_rejected(name: str) -> None:
    rejects(validate_name, name, match="backslash")


@pytest.mark.parametrize("code", [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1B, 0x1F, 0x7F, 0x85, 0x9F])
def test_control_characters_are_rejected(code: int) -> None:
    message = rejects(validate_name, f"a{chr(code)}b", match="control character")
    assert f"U+{code:04X}" in message


@pytest.mark.parametrize("char", list(FORBIDDEN))
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_forbidden_characters_are_rejected(char: str, where: str) -> None:
    name = {"start": f"{char}a/b", "middle": f"a/b{char}c", "end": f"a/b{char}"}[where]
    message = rejects(validate_name, name, match="not allowed")
    assert repr(char) in message


def test_at_sign_message_explains_the_selector() -> None:
    rejects(validate_name, "me@example.org", match="selector")


@pytest.mark.parametrize("name", ["a//b", "a//b/c", "a///b"])
def test_empty_segment_is_rejected(name: str) -> None:
    rejects(validate_name, name, match="empty path segment")


@pytest.mark.parametrize("name", ["a/", "a/b/", "a//"])
def test_trailing_slash_is_rejected(name: str) -> None:
    rejects(validate_name, name, match="trailing")


@pytest.mark.parametrize("name", [".", "./a", "a/.", "a/./b"])
def test_dot_segment_is_rejected(name: str) -> None:
    rejects(validate_name, name, match="segment is '.'")


@pytest.mark.parametrize("name", ["..", "../a", "a/..", "a/../b", "a/b/../../../etc/passwd"])
def test_dot_dot_segment_is_rejected(name: str) -> None:
    rejects(validate_name, name, match="segment is '..'")


@pytest.mark.parametrize("value", [None, 3, b"bytes", ["a"]])
def test_non_string_name_is_rejected(value: object) -> None:
    rejects(validate_name, value, match="string")


@given(valid_names)
def test_any_valid_name_is_accepted_as_its_nfc_form(name: str) -> None:
    normalized = unicodedata.normalize("NFC", name)
    if len(normalized.encode()) > MAX_NAME_BYTES:
        return
    assert validate_name(name) == normalized
    assert validate_name(normalized) == normalized  # idempotent


@given(valid_names, st.sampled_from(["org", "public", "users/bob", "scratch/bob"]))
def test_any_valid_name_round_trips_through_its_uri(name: str, namespace: str) -> None:
    normalized = unicodedata.normalize("NFC", name)
    loc = parse_location(f"eos://{namespace}/{name}", user="ada")
    assert loc == Location(namespace, normalized)
    assert parse_location(loc.uri, user="ada") == loc
    assert parse_location(f"e://{namespace}/{name}", user="ada") == loc


@given(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
    st.sampled_from([*FORBIDDEN, "\\"]) | st.characters(categories=["Cc"]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
)
def test_any_string_with_a_forbidden_character_is_rejected(
    before: str, bad: str, after: str
) -> None:
    with pytest.raises(InvalidNameError):
        validate_name(before + bad + after)


@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=40))
def test_validate_name_either_accepts_or_raises_invalid_name_error(text: str) -> None:
    try:
        result = validate_name(text)
    except InvalidNameError:
        return
    # Whatever is accepted keeps every rule.
    assert result == unicodedata.normalize("NFC", result)
    assert not result.startswith("/")
    assert "\\" not in result
    assert not set(result) & set(FORBIDDEN)
    assert all(unicodedata.category(c) != "Cc" for c in result)
    assert all(seg not in ("", ".", "..") for seg in result.split("/"))


# --------------------------------------------------------------------------------------------
# Users, namespaces, URIs


@pytest.mark.parametrize("user", ["ada", "ada.lovelace", "a_b-c", "0x", "A", "a" * 64])
def test_valid_user_ids(user: str) -> None:
    assert validate_user(user) == user


@pytest.mark.parametrize(
    "user", ["", "-ada", ".ada", "_ada", "a" * 65, "a b", "a/b", "a@b", "ad\u00e9", "ada\n",
             "\nada"],
)
def test_invalid_user_ids(user: str) -> None:
    rejects(validate_user, user, match="invalid user id")


def test_me_is_not_a_user_id() -> None:
    rejects(validate_user, "me", match="alias")


@pytest.mark.parametrize(
    ("namespace", "expected"),
    [("users/me", "users/ada"), ("scratch/me", "scratch/ada"), ("users/bob", "users/bob"),
     ("scratch/bob", "scratch/bob"), ("org", "org"), ("public", "public")],
)
def test_valid_namespaces(namespace: str, expected: str) -> None:
    assert validate_namespace(namespace, user="ada") == expected


@pytest.mark.parametrize(
    "namespace",
    ["", "users", "scratch", "users/a/b", "org/x", "public/x", "teams/x", "Org", "ORG",
     "private", "users/-x", "users/..", "scratch/a b"],
)
def test_invalid_namespaces(namespace: str) -> None:
    rejects(validate_namespace, namespace, user="ada")


def test_users_me_without_a_current_user_says_how_to_set_one() -> None:
    rejects(validate_namespace, "users/me", match="EOS_USER")
    rejects(parse_location, "eos://users/me/x", match="EOS_USER")
    rejects(parse_location, "x", match="EOS_USER")  # the default namespace is users/me


@pytest.mark.parametrize("scheme", ["eos://", "e://"])
@pytest.mark.parametrize(
    ("path", "namespace", "name"),
    [("users/me/project-1/reads.fq.gz", "users/ada", "project-1/reads.fq.gz"),
     ("users/bob/x.txt", "users/bob", "x.txt"),
     ("org/shared/table.csv", "org", "shared/table.csv"),
     ("public/ref/genome.fa", "public", "ref/genome.fa"),
     ("scratch/ada/tmp.bin", "scratch/ada", "tmp.bin"),
     ("scratch/me/tmp.bin", "scratch/ada", "tmp.bin")],
)
def test_uris(scheme: str, path: str, namespace: str, name: str) -> None:
    assert is_uri(scheme + path)
    assert parse_location(scheme + path, user="ada") == Location(namespace, name)


def test_bare_names_live_in_the_default_namespace() -> None:
    assert not is_uri("project-1/file.txt")
    assert parse_location("project-1/file.txt", user="ada") == Location(
        "users/ada", "project-1/file.txt"
    )
    assert parse_location("f.txt", user="ada", default_namespace="org") == Location("org", "f.txt")


def test_location_uri() -> None:
    assert Location("users/ada", "a/b").uri == "eos://users/ada/a/b"


@pytest.mark.parametrize(
    "uri",
    ["s3://bucket/key.txt", "http://example.org/x", "https://example.org/x",
     "file:///tmp/x", "gs://bucket/x", "eoss://org/x"],
)
def test_unknown_schemes_are_rejected_with_a_clear_message(uri: str) -> None:
    message = rejects(parse_location, uri, user="ada", match="unknown scheme")
    assert uri.split("://")[0] + "://" in message
    assert "eos://" in message
    rejects(parse_reference, uri + "@3", user="ada", match="unknown scheme")


@pytest.mark.parametrize(
    "uri",
    ["eos://", "eos:///org/x", "eos://teams/x", "eos://Org/x", "eos://users",
     "eos://scratch", "eos://private/x"],
)
def test_uris_with_bad_namespaces_are_rejected(uri: str) -> None:
    rejects(parse_location, uri, user="ada", match="eos://org/")


@pytest.mark.parametrize(
    "uri",
    ["eos://users//x", "eos://users/-bad/x", "eos://users/a b/x", "eos://users/../x",
     "eos://scratch/../x"],
)
def test_uris_with_bad_user_ids_are_rejected(uri: str) -> None:
    rejects(parse_location, uri, user="ada")


@pytest.mark.parametrize(
    "uri", ["eos://org", "eos://org/", "eos://users/ada", "eos://users/ada/", "eos://scratch/x"]
)
def test_uri_without_a_name_is_rejected_unless_a_prefix_is_allowed(uri: str) -> None:
    rejects(parse_location, uri, user="ada", match="empty")


def test_uri_names_keep_every_naming_rule() -> None:
    rejects(parse_location, "eos://org//x", match="start with '/'")
    rejects(parse_location, "eos://org/a/../b", match="'..'")
    rejects(parse_location, "eos://org/a\\b", match="backslash")
    rejects(parse_location, "eos://org/a/", match="trailing")
    rejects(parse_location, "eos://org/" + "a" * 1025, match="limit")
    assert parse_location("eos://org/" + "a" * 1024).name == "a" * 1024


def test_prefixes_for_listings() -> None:
    assert parse_location("eos://org/", allow_prefix=True) == Location("org", "")
    assert parse_location("eos://org/dir/", allow_prefix=True) == Location("org", "dir/")
    assert parse_location("dir/", user="ada", allow_prefix=True) == Location("users/ada", "dir/")
    rejects(parse_location, "eos://org/a/../", allow_prefix=True, match="'..'")
    rejects(parse_location, "eos://org/a*/", allow_prefix=True, match="not allowed")


# --------------------------------------------------------------------------------------------
# References


def ref(text: str) -> Reference:
    return parse_reference(text, user="ada")


def test_split_reference_splits_at_the_first_at_sign() -> None:
    assert split_reference("a/b@3") == ("a/b", "3")
    assert split_reference("a/b") == ("a/b", None)
    assert split_reference("a@b@c") == ("a", "b@c")


@pytest.mark.parametrize("text", ["eos://org/a.csv", "eos://org/a.csv@latest"])
def test_latest(text: str) -> None:
    r = ref(text)
    assert (r.namespace, r.name, r.kind, r.value) == ("org", "a.csv", "latest", None)
    assert not r.is_pinned
    assert r.uri == "eos://org/a.csv"


def test_bare_reference_is_in_the_current_users_namespace() -> None:
    r = ref("project-1/x.txt@2")
    assert (r.namespace, r.name, r.kind, r.value) == ("users/ada", "project-1/x.txt", "version", 2)


@pytest.mark.parametrize(("selector", "version"), [("1", 1), ("3", 3), ("1234567", 1234567)])
def test_version_numbers(selector: str, version: int) -> None:
    r = ref(f"eos://org/a.csv@{selector}")
    assert (r.kind, r.value) == ("version", version)
    assert r.is_pinned
    assert r.uri == f"eos://org/a.csv@{version}"


@pytest.mark.parametrize("selector", ["0", "00"])
def test_version_zero_is_rejected(selector: str) -> None:
    rejects(ref, f"a.csv@{selector}", match="start at 1")


def test_nothing_after_the_at_sign_is_rejected() -> None:
    rejects(ref, "a.csv@", match="nothing after '@'")


@pytest.mark.parametrize("tag", ["prod", "paper-2026", "v1.2_rc-3", "Prod"])
def test_tags(tag: str) -> None:
    r = ref(f"eos://org/a.csv@{tag}")
    assert (r.kind, r.value) == ("tag", tag)
    assert not r.is_pinned
    assert r.uri == f"eos://org/a.csv@{tag}"


@pytest.mark.parametrize("selector", ["prod\n", "prod\r\n", "pr od", "pro/d", "-prod", "_x"])
def test_bad_tags_in_references_are_rejected(selector: str) -> None:
    rejects(ref, f"a.csv@{selector}", match="tag")


@pytest.mark.parametrize("digits", [8, 9, 32, 63, 64])
def test_hash_prefixes(digits: int) -> None:
    hexdigits = ("0123456789abcdef" * 4)[:digits]
    r = ref(f"eos://org/a.csv@blake3:{hexdigits}")
    assert (r.kind, r.value) == ("hash", f"blake3:{hexdigits}")
    assert r.is_pinned
    assert r.uri == f"eos://org/a.csv@blake3:{hexdigits}"


@pytest.mark.parametrize("digits", [0, 1, 7])
def test_hash_prefix_shorter_than_8_is_rejected(digits: int) -> None:
    rejects(ref, "a@blake3:" + "a" * digits, match="at least 8")


def test_hash_prefix_longer_than_64_is_rejected() -> None:
    rejects(ref, "a@blake3:" + "a" * 65, match="64 hex")


@pytest.mark.parametrize("prefix", ["abcdefg1", "0123456z", "abcd efg", "abcd-ef01", "abcdef01\n"])
def test_non_hex_hash_prefix_is_rejected(prefix: str) -> None:
    rejects(ref, f"a@blake3:{prefix}", match="hex")


def test_upper_case_hash_prefix_is_accepted_and_lowered() -> None:
    r = ref("a@blake3:ABCDEF0123")
    assert (r.kind, r.value) == ("hash", "blake3:abcdef0123")


@pytest.mark.parametrize(
    ("selector", "expected"),
    [("2026-06-01T00:00:00Z", datetime(2026, 6, 1, tzinfo=UTC)),
     ("2026-06-01T12:30:00+02:00", datetime(2026, 6, 1, 10, 30, tzinfo=UTC)),
     ("2026-06-01T12:30:00-05:30", datetime(2026, 6, 1, 18, 0, tzinfo=UTC)),
     ("2026-06-01T12:30:00+0200", datetime(2026, 6, 1, 10, 30, tzinfo=UTC)),
     ("2026-06-01T00:30:00+01:00", datetime(2026, 5, 31, 23, 30, tzinfo=UTC)),
     ("2026-06-01", datetime(2026, 6, 1, tzinfo=UTC)),
     ("2026-06-01T08:15", datetime(2026, 6, 1, 8, 15, tzinfo=UTC)),
     ("2026-06-01 08:15:07Z", datetime(2026, 6, 1, 8, 15, 7, tzinfo=UTC)),
     ("2026-06-01T08:15:07.5Z", datetime(2026, 6, 1, 8, 15, 7, 500000, tzinfo=UTC)),
     ("2026-06-01T08:15:07.123456Z", datetime(2026, 6, 1, 8, 15, 7, 123456, tzinfo=UTC)),
     ("2026-06-01T08:15:07.123456789Z", datetime(2026, 6, 1, 8, 15, 7, 123456, tzinfo=UTC)),
     ("2024-02-29T23:59:59Z", datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC))],
)
def test_times(selector: str, expected: datetime) -> None:
    r = ref(f"eos://org/a.csv@{selector}")
    assert r.kind == "time"
    assert r.value == expected
    assert isinstance(r.value, datetime) and r.value.utcoffset() == timedelta(0)
    assert r.is_pinned
    assert parse_reference(r.uri) == r


@pytest.mark.parametrize(
    "selector",
    ["2026-13-01", "2026-00-10", "2026-02-30", "2025-02-29", "2026-06-31", "0000-01-01",
     "2026-06-01T24:00:00Z", "2026-06-01T12:60:00Z", "2026-06-01T12:00:61Z",
     "2026-6-1", "2026-06-01T", "2026-06-01T12", "2026-06-01T12:00:00ZZ", "2026-06-01x",
     "2026-06-01T12:00:00+2", "2026-06-01T12:00:00.Z"],
)
def test_bad_dates_and_times_are_rejected(selector: str) -> None:
    rejects(ref, f"a.csv@{selector}", match="invalid time")


@pytest.mark.parametrize("offset", ["+24:00", "-25:00", "+02:60", "+99:99"])
def test_impossible_utc_offsets_are_rejected(offset: str) -> None:
    # ISO 8601 / RFC 3339 offsets are at most 23:59 with minutes below 60.
    rejects(parse_time, f"2026-06-01T12:00:00{offset}", match="invalid time")


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
)
def test_times_that_leave_the_calendar_after_the_offset_are_rejected(text: str) -> None:
    rejects(parse_time, text, match="invalid time")


def test_all_digit_selector_is_a_version_not_a_compact_date() -> None:
    assert ref("a.csv@20260601").kind == "version"


@given(st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC)))
def test_format_time_round_trips_through_parse_time(value: datetime) -> None:
    text = format_time(value)
    assert text.endswith("Z")
    assert parse_time(text) == value


@given(
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
)
def test_offsets_give_the_same_instant(local: datetime, offset_minutes: int) -> None:
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{hours:02d}:{minutes:02d}"
    expected = local.replace(microsecond=0) - timedelta(minutes=offset_minutes)
    assert parse_time(text) == expected.replace(tzinfo=UTC)


def test_format_time_is_fixed_width_for_early_years() -> None:
    # The log sorts times as text, and a reference's URI must parse back.
    assert format_time(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00.000000Z"


def test_format_time_treats_naive_times_as_utc_and_converts_others() -> None:
    assert format_time(datetime(2026, 6, 1)) == "2026-06-01T00:00:00.000000Z"
    plus2 = timezone(timedelta(hours=2))
    assert format_time(datetime(2026, 6, 1, 2, tzinfo=plus2)) == "2026-06-01T00:00:00.000000Z"


@given(
    st.sampled_from(["org", "public", "users/bob", "scratch/bob"]),
    valid_names,
    st.one_of(
        st.just(("latest", None)),
        st.integers(min_value=1, max_value=10**9).map(lambda n: ("version", n)),
        tags.map(lambda t: ("tag", t)),
        st.from_regex(r"\A[0-9a-f]{8,64}\Z").map(lambda h: ("hash", "blake3:" + h)),
        st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC)).map(
            lambda d: ("time", d)
        ),
    ),
)
def test_any_reference_round_trips_through_its_uri(
    namespace: str, name: str, selector: tuple[str, object]
) -> None:
    name = unicodedata.normalize("NFC", name)
    if len(name.encode()) > MAX_NAME_BYTES:
        return
    kind, value = selector
    original = Reference(namespace, name, kind, value)  # type: ignore[arg-type]
    assert parse_reference(original.uri) == original


def check_selector(selector: str) -> None:
    try:
        r = parse_reference(f"eos://org/a.csv@{selector}")
    except InvalidNameError:
        return
    assert r.kind in ("latest", "version", "tag", "hash", "time")
    # Whatever is accepted must survive being written back as a URI (no newline smuggled in).
    assert parse_reference(r.uri) == r
    assert all(unicodedata.category(c) != "Cc" for c in r.uri)


@pytest.mark.parametrize(
    "selector",
    ["²", "¹²", "٣", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"],
)
def test_tricky_selectors_parse_or_raise_invalid_name_error(selector: str) -> None:
    check_selector(selector)


@given(st.text(max_size=30))
def test_any_selector_parses_or_raises_invalid_name_error(selector: str) -> None:
    check_selector(selector)


# --------------------------------------------------------------------------------------------
# Tags


@pytest.mark.parametrize("tag", ["prod", "paper-2026", "v1.2_rc-3", "A", "x" * 128, "Latest"])
def test_valid_tags(tag: str) -> None:
    assert validate_tag(tag) == tag


@pytest.mark.parametrize(
    "tag",
    ["", "1abc", "2026-06-01", "-prod", ".prod", "_prod", "x" * 129, "has space", "a/b", "a@b",
     "blake3:abcdef01", "caf\u00e9", "prod\n", "prod\t", "\nprod"],
)
def test_invalid_tags(tag: str) -> None:
    rejects(validate_tag, tag, match="invalid tag")


def test_latest_is_not_a_tag() -> None:
    rejects(validate_tag, "latest", match="newest version")


@given(tags)
def test_any_valid_tag_is_a_tag_reference(tag: str) -> None:
    assert validate_tag(tag) == tag
    r = ref(f"a@{tag}")
    assert (r.kind, r.value) == ("tag", tag)


# --------------------------------------------------------------------------------------------
# Durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("90sec", 90.0), ("30m", 1800.0), ("30min", 1800.0),
     ("48h", 172800.0), ("7d", 604800.0), ("2w", 1209600.0), ("1.5h", 5400.0), (" 7d ", 604800.0),
     ("48H", 172800.0), ("7 d", 604800.0), (90, 90.0), (1.5, 1.5)],
)
def test_parse_duration(text: str | int | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "h", "7x", "-7d", "7d3h", "1e3", "seven days", "7dd", "1,5h", ".5h"]
)
def test_bad_durations_are_rejected(text: str) -> None:
    rejects(parse_duration, text, match="invalid duration")


@pytest.mark.parametrize("value", ["0", "0d", 0, -1, -0.5, "0.0h"])
def test_durations_must_be_positive(value: str | int | float) -> None:
    rejects(parse_duration, value, match="positive")


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), "9" * 400, "9" * 400 + "w"],
    ids=["nan", "inf", "huge", "huge-weeks"],
)
def test_durations_must_be_finite(value: str | float) -> None:
    # A NaN or infinite TTL passes as "positive" but later breaks timedelta(seconds=...).
    rejects(parse_duration, value)
