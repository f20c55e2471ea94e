"""Catalog.search: the latest versions whose name, tags or metadata keys or values hold a text."""

from __future__ import annotations

from eoscatalog import Catalog


def _catalog() -> Catalog:
    cat = Catalog.at("memory://", user="ada")
    cat.put_bytes(b"x", "eos://org/runs/a_1.csv",
                  meta={"sample": "Liver-3", "nested": {"deep": [1, "foo50%"]}})
    cat.put_bytes(b"y", "eos://org/runs/b.csv")
    cat.put_bytes(b"y2", "eos://org/runs/b.csv")
    cat.tag("eos://org/runs/b.csv@1", "paper-2026")
    cat.put_bytes(b"z", "eos://org/other/liver.txt")
    cat.rm("eos://org/other/liver.txt")
    cat.put_bytes(b"w", "mine/liver-notes.md")
    return cat


def _found(cat: Catalog, text: str, prefix: str = "") -> list[tuple[str, int, str, str]]:
    return [(h.record.name, h.record.version, h.matched, h.detail)
            for h in cat.search(text, prefix)]


def test_names_tags_and_metadata_values_and_keys_are_found_case_insensitively() -> None:
    cat = _catalog()
    assert _found(cat, "LIVER", "eos://org/") == [("runs/a_1.csv", 1, "meta", "sample: Liver-3")]
    assert _found(cat, "paper") == [("runs/b.csv", 1, "tag", "paper-2026")]  # the tagged one
    assert _found(cat, "deep") == [("runs/a_1.csv", 1, "meta", "nested.deep")]
    assert _found(cat, "foo50") == [("runs/a_1.csv", 1, "meta", "nested.deep[1]: foo50%")]


def test_every_namespace_is_searched_without_a_prefix_and_deleted_names_are_not() -> None:
    cat = _catalog()
    assert [(h.record.namespace, h.record.name) for h in cat.search("liver")] == [
        ("org", "runs/a_1.csv"), ("users/ada", "mine/liver-notes.md")]


def test_wildcards_are_plain_characters() -> None:
    cat = _catalog()
    assert _found(cat, "a_") == [("runs/a_1.csv", 1, "name", "runs/a_1.csv")]
    assert _found(cat, "50%") == [("runs/a_1.csv", 1, "meta", "nested.deep[1]: foo50%")]
    assert _found(cat, "%") == [("runs/a_1.csv", 1, "meta", "nested.deep[1]: foo50%")]


def test_a_prefix_and_a_limit_bound_the_results() -> None:
    cat = _catalog()
    assert [h.record.name for h in cat.search("csv", "eos://org/runs/b")] == ["runs/b.csv"]
    assert [h.record.version for h in cat.search("b.csv")] == [2]  # the latest version
    assert len(cat.search("csv", limit=1)) == 1
    assert cat.search("nothing-like-this") == []
