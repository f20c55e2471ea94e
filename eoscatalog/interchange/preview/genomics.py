"""Heads of the text formats of genomics, read as lines (gzip and BGZF decompressed on the
way): VCF (header lines, samples, the first records as a table), FASTQ, FASTA and BED."""

from __future__ import annotations

from collections.abc import Callable

from eoscatalog.interchange.preview.result import MAX_ROWS, Preview
from eoscatalog.interchange.preview.source import Source
from eoscatalog.interchange.preview.tables import MAX_CELL, table

__all__ = ["preview_bed", "preview_fasta", "preview_fastq", "preview_vcf"]

CAP = 16 * 1024 * 1024  # content read at most (a VCF header of many contigs, long reads)
FASTA_LINES = 1000  # lines of FASTA enough, even when they are all of one record
BED_COLUMNS = ["chrom", "chromStart", "chromEnd", "name", "score", "strand", "thickStart",
               "thickEnd", "itemRgb", "blockCount", "blockSizes", "blockStarts"]


def _lines_until(source: Source, enough: Callable[[list[str]], bool]) -> tuple[list[str], bool]:
    """Lines of the content, more of them until ``enough(lines)``, the end or :data:`CAP`."""
    want = MAX_ROWS + 1
    while True:
        lines, more = source.lines(want, CAP)
        if not more or enough(lines) or len(lines) < want:
            return lines, more
        want *= 4


def preview_vcf(source: Source, format: str) -> Preview:
    """A VCF's header (its lines counted, its samples) and its first records."""
    def enough(lines: list[str]) -> bool:
        return sum(1 for line in lines if not line.startswith("#")) > MAX_ROWS

    lines, more = _lines_until(source, enough)
    if not lines or not lines[0].startswith(("##fileformat=VCF", "#CHROM")):
        return Preview("none", format, reason="not VCF: the first line is not "
                                              "##fileformat=VCFv4.x")
    meta = [line for line in lines if line.startswith("##")]
    header = next((line for line in lines if line.startswith("#CHROM")), None)
    records = [line.split("\t") for line in lines if line and not line.startswith("#")]
    if header is None:
        return Preview("sequence", format, truncated=True, text="\n".join(meta[:MAX_ROWS]),
                       details={"samples": [], "header_lines": len(meta),
                                "note": f"the header is longer than {CAP // 1024 // 1024} MiB"})
    names = header[1:].split("\t")
    details = {"samples": names[9:], "header_lines": len(meta),
               "fileformat": meta[0].partition("=")[2] if meta else ""}
    return table("sequence", format, names, records,
                 truncated=more or len(records) > MAX_ROWS, details=details)


def preview_fastq(source: Source, format: str) -> Preview:
    """The first reads of a FASTQ file: id, length, sequence, quality."""
    lines, more = _lines_until(source, lambda lines: len(lines) > 4 * MAX_ROWS)
    rows = []
    for i in range(0, len(lines) - 3, 4):
        head, sequence, plus, quality = lines[i:i + 4]
        if not head.startswith("@") or not plus.startswith("+"):
            return Preview("none", format, reason=f"not FASTQ: record {i // 4 + 1} (line "
                                                  f"{i + 1}) is not @id, sequence, +, quality")
        rows.append([head[1:].split(" ", 1)[0], str(len(sequence)), sequence, quality])
    if not rows and lines:
        return Preview("none", format, reason="not FASTQ: no complete record of 4 lines")
    return table("sequence", format, ["id", "length", "sequence", "quality"], rows,
                 truncated=more or len(lines) > 4 * len(rows) or len(rows) > MAX_ROWS,
                 types=["string", "int", "string", "string"])


def preview_fasta(source: Source, format: str) -> Preview:
    """The first records of a FASTA file: id, description, length (empty when the record goes
    on past what was read), and the start of the sequence."""
    def enough(lines: list[str]) -> bool:  # or enough lines: a chromosome's first record
        return len(lines) > FASTA_LINES or sum(line[:1] == ">" for line in lines) > MAX_ROWS

    lines, more = _lines_until(source, enough)
    if lines and not lines[0].startswith((">", ";")):
        return Preview("none", format, reason="not FASTA: the first line does not start with >")
    records: list[list[str]] = []
    length, shown = 0, ""
    for line in [*lines, None]:
        if line is None or line.startswith(">"):
            if records:
                records[-1][2:] = [str(length), shown]
            if line is not None:
                identifier, _, description = line[1:].partition(" ")
                records.append([identifier, description, "", ""])
                length, shown = 0, ""
        elif not line.startswith(";"):
            residues = line.strip()
            length += len(residues)
            if len(shown) <= MAX_CELL:  # a cell shows no more
                shown += residues
    if records and more:
        records[-1][2] = ""  # the last record goes on past the head: its length is unknown
    return table("sequence", format, ["id", "description", "length", "sequence"], records,
                 truncated=more or len(records) > MAX_ROWS,
                 types=["string", "string", "int", "string"])


def preview_bed(source: Source, format: str) -> Preview:
    """The first intervals of a BED file (track, browser and # lines skipped)."""
    lines, more = _lines_until(source, lambda lines: len(lines) > 2 * MAX_ROWS)
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith(("track", "browser", "#")):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 3 or not (fields[1].isdigit() and fields[2].isdigit()):
            return Preview("none", format, reason=f"not BED: line {number} is not chrom, "
                                                  "start, end (tab-separated)")
        rows.append(fields)
    width = max((len(row) for row in rows), default=3)
    names = BED_COLUMNS[:width] + [f"column_{i + 1}" for i in range(len(BED_COLUMNS), width)]
    return table("sequence", format, names, rows, truncated=more or len(rows) > MAX_ROWS)
