"""How listing commands print: one JSON document, or a table that never cuts an id.

A table is plain text, columns two spaces apart, as wide as the terminal.
Only free text (titles, file names, URLs, errors) wraps, onto the row's next
lines; ids, statuses, numbers and moments are always printed whole. When the
whole values leave a wrapping column too narrow to read, each row is printed
as a record instead, one ``field  value`` line each. Piped into another
program (no terminal, no ``COLUMNS``), or with ``--wide``, every row is one
line at full width, for ``grep`` and ``cut``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import typer

_ISO_MOMENT = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d+Z")
_GAP = "  "
#: The narrowest a wrapping column may get before rows are printed as records.
MIN_WRAPPING_WIDTH = 16

WIDE_OPTION = typer.Option(
    False, "--wide", help="One line per row at full width, whatever the terminal's width."
)


@dataclass(frozen=True)
class Column:
    """A table column: the row key it shows, its header, and whether it may wrap.

    Only free text wraps: a wrapped id could not be copied whole. A
    ``table_only`` column shows a summary the rows' JSON does not carry: its
    key is left out of the JSON document.
    """

    key: str
    header: str
    wraps: bool = False
    table_only: bool = False


def cell(value: Any) -> str:
    """A value as a table shows it: nothing for None, JSON for containers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    text = " ".join(str(value).split())
    moment = _ISO_MOMENT.fullmatch(text)
    return moment.group(1) + "Z" if moment else text


def print_json(document: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def print_listing(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    as_json: bool,
    total: int,
    limit: int,
    offset: int,
    wide: bool = False,
) -> None:
    """A page of rows: ``{"items", "total", "limit", "offset"}`` as JSON, or a table."""
    if as_json:
        summaries = {column.key for column in columns if column.table_only}
        items = [{k: v for k, v in row.items() if k not in summaries} for row in rows]
        print_json({"items": items, "total": total, "limit": limit, "offset": offset})
        return
    print_table(rows, columns, width=None if wide else output_width())
    if offset + len(rows) < total:
        end = offset + len(rows)
        sys.stderr.write(f"{offset + 1}-{end} of {total}: --offset {end} for more\n")


def output_width() -> int | None:
    """The terminal's width; ``COLUMNS`` when output is piped; None: no limit."""
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    given = os.environ.get("COLUMNS", "")
    return int(given) if given.isdigit() and int(given) > 0 else None


def print_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *, width: int | None
) -> None:
    """A table within ``width`` characters (None: no limit), or records when it cannot be."""
    sys.stdout.write("".join(line + "\n" for line in table_lines(rows, columns, width)))


def table_lines(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], width: int | None
) -> list[str]:
    """The lines :func:`print_table` prints."""
    headers = [column.header for column in columns]
    texts = [[cell(row.get(column.key)) for column in columns] for row in rows]
    natural = [max([len(h), *(len(t[i]) for t in texts)]) for i, h in enumerate(headers)]
    widths = _fitted(natural, columns, width)
    if widths is None:
        return _record_lines(texts, columns, width)
    lines = [_joined(headers, widths)]
    for values in texts:
        parts = [
            _wrapped(value, size) if column.wraps else [value]
            for value, size, column in zip(values, widths, columns, strict=True)
        ]
        for index in range(max(len(part) for part in parts)):
            lines.append(
                _joined([part[index] if index < len(part) else "" for part in parts], widths)
            )
    return lines


def _fitted(natural: list[int], columns: Sequence[Column], width: int | None) -> list[int] | None:
    """Column widths within ``width``; None when a wrapping column would be unreadable."""
    needed = sum(natural) + len(_GAP) * (len(natural) - 1)
    if width is None or needed <= width:
        return natural
    wrapping = [i for i, column in enumerate(columns) if column.wraps]
    fixed = needed - sum(natural[i] for i in wrapping)
    room = width - fixed
    widths = list(natural)
    # Share the room: a column needing less than an equal share gives up the rest.
    pending = sorted(wrapping, key=lambda i: natural[i])
    while pending:
        share = room // len(pending)
        index = pending.pop(0)
        widths[index] = min(natural[index], share)
        room -= widths[index]
    if room < 0 or any(widths[i] < min(natural[i], MIN_WRAPPING_WIDTH) for i in wrapping):
        return None
    return widths


def _wrapped(value: str, width: int) -> list[str]:
    """``value`` in lines of ``width``: between words, and within a URL after ``/?&=``."""
    if len(value) <= width:
        return [value]
    lines: list[str] = []
    for line in textwrap.wrap(value, width, break_long_words=False, break_on_hyphens=False):
        while len(line) > width:
            cut = max(line.rfind(mark, 0, width) for mark in "/?&=") + 1
            if cut <= width // 2:
                cut = width
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return lines or [""]


def _joined(values: Sequence[str], widths: Sequence[int]) -> str:
    return _GAP.join(value.ljust(size) for value, size in zip(values, widths, strict=True)).rstrip()


def _record_lines(
    texts: Sequence[Sequence[str]], columns: Sequence[Column], width: int | None
) -> list[str]:
    label_width = max(len(column.header) for column in columns)
    room = None if width is None else max(width - label_width - len(_GAP), MIN_WRAPPING_WIDTH)
    lines: list[str] = []
    for values in texts:
        if lines:
            lines.append("")
        for column, value in zip(columns, values, strict=True):
            parts = _wrapped(value, room) if column.wraps and room is not None else [value]
            label = column.header.ljust(label_width)
            for number, part in enumerate(parts):
                lines.append(f"{label if number == 0 else ' ' * label_width}{_GAP}{part}".rstrip())
    return lines
