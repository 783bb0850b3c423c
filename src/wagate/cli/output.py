"""How listing commands print: one JSON document, or a table that never cuts an id.

A table whose ids (and other unbreakable values) cannot fit the terminal at
full length is printed as records instead, one ``field  value`` line each, so
an id can always be copied whole into the next command.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_ISO_MOMENT = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d+Z")
#: The narrowest a wrapping column is allowed to get in a table.
_MIN_WRAPPING_WIDTH = 4


@dataclass(frozen=True)
class Column:
    """A table column: the row key it shows, its header, and whether it may wrap.

    Ids must never wrap: a value that wraps cannot be copied whole.
    """

    key: str
    header: str
    wraps: bool = True


def cell(value: Any) -> str:
    """A value as a table shows it: nothing for None, JSON for containers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
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
) -> None:
    """A page of rows: ``{"items", "total", "limit", "offset"}`` as JSON, or a table."""
    if as_json:
        print_json({"items": list(rows), "total": total, "limit": limit, "offset": offset})
        return
    print_table(rows, columns)
    if offset + len(rows) < total:
        end = offset + len(rows)
        sys.stderr.write(f"{offset + 1}-{end} of {total}: --offset {end} for more\n")


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> None:
    """A table as wide as the terminal allows, or records when the ids would not fit."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    texts = [[cell(row.get(column.key)) for column in columns] for row in rows]
    if not _fits(texts, columns, console.width):
        _print_records(texts, columns)
        return
    table = Table(*(column.header for column in columns))
    for index, column in enumerate(columns):
        rich_column = table.columns[index]
        if column.wraps:
            rich_column.overflow = "fold"
        else:
            rich_column.no_wrap = True
            rich_column.min_width = max([len(column.header), *(len(t[index]) for t in texts)])
    for values in texts:
        table.add_row(*(Text(value) for value in values))
    console.print(table)


def _fits(texts: Sequence[Sequence[str]], columns: Sequence[Column], width: int) -> bool:
    needed = len(columns) + 1  # the vertical rules
    for index, column in enumerate(columns):
        longest = max([len(column.header), *(len(t[index]) for t in texts)])
        needed += 2 + (min(longest, _MIN_WRAPPING_WIDTH) if column.wraps else longest)
    return needed <= width


def _print_records(texts: Sequence[Sequence[str]], columns: Sequence[Column]) -> None:
    label_width = max(len(column.header) for column in columns)
    blocks = [
        "\n".join(
            f"{column.header.ljust(label_width)}  {value}".rstrip()
            for column, value in zip(columns, values, strict=True)
        )
        for values in texts
    ]
    if blocks:
        sys.stdout.write("\n\n".join(blocks) + "\n")
