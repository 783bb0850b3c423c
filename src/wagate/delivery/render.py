"""Turn a callback profile's template and an event's values into an HTTP request.

Pure: no I/O. Values can never change the shape of the request: in a URL query
they are percent-encoded (``&``, ``=``, ``#``, ``+``, ``%``, spaces and
non-ASCII included), in a JSON body they become JSON strings. A profile's GET
and a message's ``callback_url`` GET encode values by the same rule.

A placeholder with no value (a key missing from ``values``) removes what uses
it: the whole query parameter, the JSON member, or the array element. So the
seed's FAILED callback carries neither ``file_link`` nor ``uploaded_file_handle``.

Characters that mean nothing in a query value (``! $ ' ( ) * , / : ? @ ~``)
are written plain and every other escape in upper case, the form aiohttp's
URL parser (yarl) also produces, so the request target that is signed is the
one sent even when the URL is handed to aiohttp as a string; path and query
are otherwise kept as written, except that characters a URL cannot hold
(spaces, ``"``, ``<``, non-ASCII…) are percent-encoded and ``.`` and ``..``
path segments are resolved.

The seed's quoted GET style, ``status="<status>"``, works as written: the
literal double quotes are sent percent-encoded as ``%22`` and the value
between them, so a receiver that parses the query gets ``"UPLOADED"``; the bare
style ``status=<status>`` gives ``UPLOADED``. Nothing inside the quotes is
escaped: a receiver strips the first and last character.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from wagate.domain.placeholders import ALL_PLACEHOLDERS, PLACEHOLDER_RE

__all__ = [
    "JSON_CONTENT_TYPE",
    "RenderedRequest",
    "render_default_body",
    "render_get",
    "render_post",
    "render_query",
    "template_placeholders",
    "validate_template",
]

JSON_CONTENT_TYPE: Final = "application/json"

_URL_PLACEHOLDER_RE: Final = re.compile(r"(?:<|%3[cC])([a-z0-9_]+)(?:>|%3[eE])")
_STRAY_PERCENT_RE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL_RE: Final = re.compile(r"[\x00-\x20\x7f]")
_ESCAPE_RE: Final = re.compile(r"%([0-9A-Fa-f]{2})")
_QUERY_SAFE: Final = "!$'()*+,;=:@/?%~"
_PATH_SAFE: Final = "!$&'()*+,;=:@/%~"
_VALUE_SAFE: Final = "!$'()*,/:?@~"
_UNRESERVED: Final = string.ascii_letters + string.digits + "-._~"
_PLAIN_IN_QUERY: Final = frozenset(_UNRESERVED + _VALUE_SAFE)
_PLAIN_IN_PATH: Final = frozenset(_UNRESERVED + "!$&'()*,:;=@")


@dataclass(frozen=True)
class RenderedRequest:
    """An HTTP request ready to send; ``url`` is already percent-encoded and must be sent as is."""

    method: str
    url: str
    body: bytes | None
    content_type: str | None


class _Omit(Enum):
    OMIT = 0


_OMIT: Final = _Omit.OMIT


def render_get(url_template: str, values: Mapping[str, str]) -> RenderedRequest:
    """The GET request of a query-string template, each ``<placeholder>`` replaced by its value."""
    return RenderedRequest("GET", _render_url(url_template, values), None, None)


def render_post(url: str, body_template: str | None, values: Mapping[str, str]) -> RenderedRequest:
    """The POST request of a JSON body template, each ``"<placeholder>"`` replaced by its value.

    Placeholders are replaced in string values at any depth, whole or inside
    other text; object keys are kept as written. With no template (None or
    blank) the body is :func:`render_default_body`. Placeholders in the URL's
    query are replaced as by :func:`render_get`. Raises ValueError when the
    template is not a JSON object.
    """
    if body_template is None or not body_template.strip():
        body = render_default_body(values)
    else:
        document = _load_object(body_template)
        body = _dump(_substitute(document, values))
    return RenderedRequest("POST", _render_url(url, values), body, JSON_CONTENT_TYPE)


def render_query(url: str, values: Mapping[str, str]) -> RenderedRequest:
    """A GET of ``url`` with ``values`` added to its query string, percent-encoded as a
    profile's GET values are (a message's own ``callback_url``, which is no template)."""
    parts = urlsplit(url)
    extra = urlencode(values, quote_via=quote, safe=_VALUE_SAFE)
    query = f"{parts.query}&{extra}" if parts.query else extra
    target = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))
    return RenderedRequest("GET", target, None, None)


def render_default_body(values: Mapping[str, str]) -> bytes:
    """The body of a POST profile without a template: a JSON object of all the values."""
    return _dump({name: _clean(value) for name, value in values.items()})


def validate_template(http_method: str, url: str, body: str | None) -> list[str]:
    """What is wrong with a profile's template, one sentence each; empty when it is fine.

    The URL must be absolute http(s) with a host; a POST body, when given, must
    be a JSON object; every placeholder must be one of
    :data:`~wagate.domain.placeholders.ALL_PLACEHOLDERS`.
    """
    problems: list[str] = []
    method = http_method.upper()
    if method not in ("GET", "POST"):
        problems.append(f"http method {http_method!r} is neither GET nor POST")
    problems += _url_problems(url)
    if body is not None and body.strip():
        if method == "GET":
            problems.append("a GET profile sends no body; leave the body empty")
        elif method == "POST":
            problems += _body_problems(body)
    return problems


def template_placeholders(url: str, body: str | None) -> set[str]:
    """Every placeholder a template uses, in its URL's query and its JSON body."""
    names = set(_URL_PLACEHOLDER_RE.findall(urlsplit(url).query))
    if body is not None and body.strip():
        try:
            document = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return names
        _collect(document, names)
    return names


def _clean(text: str) -> str:
    """``text`` with lone surrogates (which UTF-8 cannot carry) replaced by U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _literal(text: str, safe: str, plain: frozenset[str]) -> str:
    quoted = quote(_STRAY_PERCENT_RE.sub("%25", _clean(text)), safe=safe)
    return _ESCAPE_RE.sub(lambda m: _canonical_escape(m.group(1), plain), quoted)


def _canonical_escape(hex_digits: str, plain: frozenset[str]) -> str:
    char = chr(int(hex_digits, 16))
    return char if char in plain else f"%{hex_digits.upper()}"


def _render_segment(segment: str, values: Mapping[str, str]) -> str | None:
    pieces: list[str] = []
    position = 0
    for match in _URL_PLACEHOLDER_RE.finditer(segment):
        value = values.get(match.group(1))
        if value is None:
            return None
        pieces.append(_literal(segment[position : match.start()], _QUERY_SAFE, _PLAIN_IN_QUERY))
        pieces.append(quote(_clean(value), safe=_VALUE_SAFE))
        position = match.end()
    pieces.append(_literal(segment[position:], _QUERY_SAFE, _PLAIN_IN_QUERY))
    return "".join(pieces)


def _render_url(url_template: str, values: Mapping[str, str]) -> str:
    parts = urlsplit(url_template)
    path = _remove_dot_segments(_literal(parts.path, _PATH_SAFE, _PLAIN_IN_PATH)) or "/"
    rendered = (_render_segment(s, values) for s in parts.query.split("&") if s)
    query = "&".join(s for s in rendered if s is not None)
    return f"{parts.scheme}://{parts.netloc}{path}" + (f"?{query}" if query else "")


def _remove_dot_segments(path: str) -> str:
    segments = path.split("/")[1:]
    kept: list[str] = []
    for index, segment in enumerate(segments):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
            continue
        if index == len(segments) - 1:
            kept.append("")
    return "/" + "/".join(kept) if path.startswith("/") else path


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _load_object(text: str) -> dict[str, object]:
    document = json.loads(text, parse_constant=_reject_constant)
    if not isinstance(document, dict):
        raise ValueError("the body must be a JSON object")
    return document


#: Built once: ``json.dumps`` with options builds an encoder for every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _dump(document: object) -> bytes:
    return _clean(_ENCODER.encode(document)).encode()


def _substitute_text(text: str, values: Mapping[str, str]) -> str | _Omit:
    pieces: list[str] = []
    position = 0
    for match in PLACEHOLDER_RE.finditer(text):
        value = values.get(match.group(1))
        if value is None:
            return _OMIT
        pieces += (text[position : match.start()], value)
        position = match.end()
    pieces.append(text[position:])
    return "".join(pieces)


def _substitute(node: object, values: Mapping[str, str]) -> object:
    if isinstance(node, str):
        return _substitute_text(node, values)
    if isinstance(node, dict):
        members = ((key, _substitute(child, values)) for key, child in node.items())
        return {key: child for key, child in members if child is not _OMIT}
    if isinstance(node, list):
        elements = (_substitute(child, values) for child in node)
        return [child for child in elements if child is not _OMIT]
    return node


def _collect(node: object, names: set[str]) -> None:
    if isinstance(node, str):
        names.update(PLACEHOLDER_RE.findall(node))
    elif isinstance(node, dict):
        for child in node.values():
            _collect(child, names)
    elif isinstance(node, list):
        for child in node:
            _collect(child, names)


def _url_problems(url: str) -> list[str]:
    if _CONTROL_RE.search(url):
        return ["url contains a space or a control character; percent-encode it"]
    try:
        parts = urlsplit(url)
    except ValueError:
        return [f"url {url!r} is not a valid URL"]
    problems: list[str] = []
    if parts.scheme not in ("http", "https"):
        problems.append("url must be absolute and start with http:// or https://")
    host = parts.hostname
    if not host:
        problems.append("url has no host")
    elif any(c in host for c in '<>"\\{}|^`'):
        problems.append(f"url host {host} is not a host name")
    try:
        parts.port  # noqa: B018
    except ValueError:
        problems.append("url port is not a number between 0 and 65535")
    if "#" in url:
        problems.append("url has a fragment (#...), which is never sent; write # in a value as %23")
    for name in sorted(set(_URL_PLACEHOLDER_RE.findall(parts.path))):
        problems.append(f"placeholder <{name}> in the url path is not replaced; use the query")
    for name in sorted(set(_URL_PLACEHOLDER_RE.findall(parts.query)) - ALL_PLACEHOLDERS):
        problems.append(f"unknown placeholder <{name}> in url")
    return problems


def _body_problems(body: str) -> list[str]:
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        return ["the body is nested too deeply"]
    except ValueError as exc:
        return [f"the body is not valid JSON: {exc}"]
    if not isinstance(document, dict):
        return ["the body must be a JSON object"]
    try:
        _dump(document)
    except (ValueError, RecursionError):
        return ["the body has a number too large for JSON or is nested too deeply"]
    names: set[str] = set()
    _collect(document, names)
    return [f"unknown placeholder <{name}> in body" for name in sorted(names - ALL_PLACEHOLDERS)]
