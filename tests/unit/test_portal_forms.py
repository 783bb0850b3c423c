"""The portal's profile form and page helpers, without a browser."""

from __future__ import annotations

from datetime import UTC, datetime

from wagate.domain.callbacks import CallbackProfile, ProfileStatus
from wagate.portal.pages import epoch, pager, query, size, when
from wagate.portal.profile_form import ProfileForm

NOW = datetime(2026, 5, 1, 12, 30, 5, tzinfo=UTC)


def test_a_submitted_form_is_read_as_typed_with_its_headers() -> None:
    form = ProfileForm.read(
        {
            "title": " shop hook ",
            "http_method": "post",
            "url": "https://shop.example/hook ",
            "body": '{"s": "<status>"}\r\n',
            "headers": "X-Shop: 1\r\n\r\nX-Other:  two words ",
        }
    )
    assert (form.title, form.http_method, form.url) == (
        "shop hook",
        "POST",
        "https://shop.example/hook",
    )
    assert form.body == '{"s": "<status>"}'
    assert form.headers() == ({"X-Shop": "1", "X-Other": "two words"}, None)
    assert form.checked().problems == {}


def test_what_is_wrong_is_said_per_field() -> None:
    form = ProfileForm.read(
        {
            "title": "x",
            "http_method": "GET",
            "url": "https://shop.example/hook?s=<nope>",
            "body": '{"a": 1}',
            "headers": "no colon here",
        }
    ).checked()
    assert set(form.problems) == {"title", "url", "body", "headers"}
    assert "unknown placeholder <nope>" in form.problems["url"]
    assert "GET profile sends no body" in form.problems["body"]
    assert form.problems["headers"] == "line 1 of the headers is not 'Name: value'"
    assert form.title == "x"  # kept as typed


def test_headers_the_gateway_sets_are_refused() -> None:
    form = ProfileForm.read(
        {"title": "hook", "http_method": "POST", "url": "https://a.example/", "headers": "Host: x"}
    ).checked()
    assert form.problems == {"headers": "header 'Host' is set by the gateway"}


def test_an_existing_profile_fills_the_form() -> None:
    profile = CallbackProfile(
        id="stage_1", sid="S", title="hook", http_method="POST", url="https://a.example/",
        body=None, headers={"X-A": "1", "X-B": "2"}, secret="whsec_x", previous_secret=None,
        previous_secret_expires_at=None, status=ProfileStatus.ACTIVE, failing_since=None,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    form = ProfileForm.of(profile)
    assert form.body == ""
    assert form.body_or_none is None
    assert form.headers_text == "X-A: 1\nX-B: 2"
    assert form.headers() == ({"X-A": "1", "X-B": "2"}, None)


def test_page_helpers() -> None:
    assert when(NOW) == "2026-05-01 12:30:05 UTC"
    assert when(NOW.replace(tzinfo=None)) == "2026-05-01 12:30:05 UTC"
    assert when(None) == "—"
    assert epoch(str(int(NOW.timestamp()))) == "2026-05-01 12:30:05 UTC"
    assert epoch(None) == "—"
    assert [size(n) for n in (0, 1023, 1024, 3008, 5 * 1024 * 1024)] == [
        "0 bytes",
        "1023 bytes",
        "1.0 KB",
        "2.9 KB",
        "5.0 MB",
    ]
    assert query(q="a b&c", page=2, status="", profile=None) == "?q=a+b%26c&page=2"
    assert query() == ""


def test_a_pager_knows_what_comes_next() -> None:
    assert pager(1, total=0).has_next is False
    assert pager(1, total=26).has_next is True
    assert pager(2, total=26).has_next is False
    assert pager(2, total=26).pages == 2
    assert pager(3, has_next=True).offset == 50
    assert pager(3, has_next=True).pages is None
