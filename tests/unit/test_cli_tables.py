"""The command line's tables: ids whole, free text wrapped, records when nothing fits."""

from __future__ import annotations

import json

import pytest

from wagate.cli.output import MIN_WRAPPING_WIDTH, Column, print_listing, table_lines

PROFILE = "stage_8e888b71-10fe-4453-9f26-3fbc37b849a4"
URL = "http://127.0.0.1:9/callbacks/message-status?id=<id>&status=<status>&ref=<ref>"
COLUMNS = [
    Column("id", "id"),
    Column("status", "status"),
    Column("url", "url", wraps=True),
]
ROWS = [
    {"id": PROFILE, "status": "UPLOADED", "url": URL},
    {"id": "short", "status": "FAILED", "url": None},
]


def test_without_a_width_every_row_is_one_line_at_full_length() -> None:
    lines = table_lines(ROWS, COLUMNS, None)
    assert len(lines) == 3
    assert lines[0].split() == ["id", "status", "url"]
    assert lines[1].split() == [PROFILE, "UPLOADED", URL]


def test_a_narrower_terminal_wraps_urls_after_their_separators_and_nothing_else() -> None:
    lines = table_lines(ROWS, COLUMNS, 80)
    assert all(len(line) <= 80 for line in lines)
    assert lines[1].startswith(f"{PROFILE}  UPLOADED  http://")
    url_start = lines[0].index("url")
    pieces = [line[url_start:] for line in lines[1:-1]]
    assert "".join(pieces) == URL
    assert all(piece[-1] in "/?&=" for piece in pieces[:-1])
    assert lines[-1].split() == ["short", "FAILED"]


def test_rows_become_records_when_a_wrapping_column_would_be_too_narrow() -> None:
    lines = table_lines(ROWS, COLUMNS, 60)
    assert lines[:2] == [f"id      {PROFILE}", "status  UPLOADED"]
    url_lines = lines[2 : lines.index("")]
    assert url_lines[0].startswith("url     http://")
    assert "".join(line[8:] for line in url_lines) == URL
    assert all(len(line) <= 60 for line in lines)
    assert lines[lines.index("") + 1 :] == ["id      short", "status  FAILED", "url"]


def test_an_id_longer_than_the_terminal_is_still_printed_whole() -> None:
    lines = table_lines(ROWS, COLUMNS, 30)
    assert f"id      {PROFILE}" in lines
    assert all(len(line) <= 30 for line in lines if not line.startswith("id"))
    assert MIN_WRAPPING_WIDTH <= 30


def test_a_table_of_ids_alone_that_cannot_fit_becomes_records() -> None:
    columns = [Column("id", "id"), Column("other", "other id")]
    lines = table_lines([{"id": PROFILE, "other": PROFILE}], columns, 60)
    assert lines == [f"id        {PROFILE}", f"other id  {PROFILE}"]


def test_a_table_only_column_is_left_out_of_the_json_but_shown_in_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [{"id": "d1", "last_error": "timeout", "last": "timeout"}]
    columns = [Column("id", "id"), Column("last", "last", wraps=True, table_only=True)]
    print_listing(rows, columns, as_json=True, total=1, limit=50, offset=0)
    document = json.loads(capsys.readouterr().out)
    assert document["items"] == [{"id": "d1", "last_error": "timeout"}]
    assert rows[0]["last"] == "timeout"
    print_listing(rows, columns, as_json=False, total=1, limit=50, offset=0, wide=True)
    assert "timeout" in capsys.readouterr().out.splitlines()[-1]
