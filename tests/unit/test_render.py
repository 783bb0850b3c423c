from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

from wagate.delivery.render import (
    render_default_body,
    render_get,
    render_post,
    render_query,
    validate_template,
)
from wagate.delivery.signing import request_target, signed_payload
from wagate.domain.placeholders import (
    ALL_PLACEHOLDERS,
    MESSAGE_STATUS_PLACEHOLDERS,
    RESUMABLE_MEDIA_PLACEHOLDERS,
    placeholders_in,
)

SEED_QUERY = (
    '?status="<status>"&uploaded_file_handle="<uploaded_file_handle>"&file_name="<file_name>"'
    '&file_link="<file_link>"&resumable_media_id="<resumable_media_id>"&waba_id="<waba_id>"'
    '&company_id="<company_id>"&field="<field>"&time="<time>"'
    '&callback_profile_id="<callback_profile_id>"'
)
SEED_GET = "https://hooks.example.com/wa/media" + SEED_QUERY
SEED_POST = """{
    "status": "<status>",
    "uploaded_file_handle": "<uploaded_file_handle>",
    "file_name": "<file_name>",
    "file_link":"<file_link>",
    "resumable_media_id": "<resumable_media_id>",
    "waba_id": "<waba_id>",
    "company_id": "<company_id>",
    "field": "<field>",
    "time": "<time>",
    "callback_profile_id": "<callback_profile_id>"
}"""

UPLOADED = {
    "company_id": "Ze15c65XXXX",
    "field": "resumable_media_status_update",
    "file_name": "test.jpg",
    "file_link": "https://whatsapp.amxxxaws.com/Zexxxx22f/173xxx416_f1xxxxf7-3xxf-4xx5-axx2-b3xxxxxxxx7btest.jpg",
    "resumable_media_id": "85",
    "status": "UPLOADED",
    "uploaded_file_handle": (
        "4:cGF2xxxxxxBn:aWxxxxxxanBn:Axxxxxx93E5LsDBKsE_JixxxbQu-eyxxxxxxwOeKeTUf8kc-"
        "ZSEixxxxxx2OlAxfeYXow_aKKel"
    ),
    "waba_id": "3476339784XXXXX",
    "callback_profile_id": "stage_c46xxxx7-1ab6-4f35-9a7b-9xxxxxxxxb19",
    "time": "1738919890",
}
FAILED = {
    "company_id": "Ze15xxxxx22f",
    "field": "resumable_media_status_update",
    "file_name": "test",
    "resumable_media_id": "96",
    "status": "FAILED",
    "waba_id": "3476xxxxxx41199",
    "callback_profile_id": "stage_c466af67-1ab6-4f35-9a7b-9358952c9b19",
    "time": "1738919890",
}
EXPIRED = {
    "company_id": "Ze1xxxxx22f",
    "field": "resumable_media_status_update",
    "file_name": "test",
    "resumable_media_id": "96",
    "status": "EXPIRED",
    "uploaded_file_handle": (
        "4:cGFxxxxxxnBn:aW1xxxxxxnBn:ARYxxxxxxE5LsDBKsE:e:17xxxxx795:53xxxxxxxx48003:"
        "100xxxxxxxx5884:ARxxxxxxLCL595T9pFg"
    ),
    "waba_id": "347xxxxxxxx1199",
    "callback_profile_id": "stage_c4xxxx67-1xx6-4xx5-9xxb-93xxxxxxb19",
    "time": "1738919890",
}
SAMPLES = [UPLOADED, FAILED, EXPIRED]
SEED_ORDER = [
    "status",
    "uploaded_file_handle",
    "file_name",
    "file_link",
    "resumable_media_id",
    "waba_id",
    "company_id",
    "field",
    "time",
    "callback_profile_id",
]

NAMES = sorted(ALL_PLACEHOLDERS)
VALUES = st.text() | st.sampled_from(
    ["&=#%+\"'\\", "a\nb\r\n", "", "😀 ünï", "%22", "%", "<status>", "+ +", "a=b&c=d#e"]
)


def query_pairs(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def test_the_vocabularies_are_the_seed_fields() -> None:
    assert set(SEED_ORDER) == RESUMABLE_MEDIA_PLACEHOLDERS
    assert {"id", "ref", "ref1", "ref2", "price", "whatsapp_number"} <= MESSAGE_STATUS_PLACEHOLDERS
    assert placeholders_in(SEED_QUERY) == RESUMABLE_MEDIA_PLACEHOLDERS
    assert placeholders_in("<Status> <a-b> <ok_1>") == {"ok_1"}


@pytest.mark.parametrize("sample", SAMPLES, ids=["uploaded", "failed", "expired"])
def test_the_seed_get_template_gives_quoted_values_and_omits_missing_ones(
    sample: dict[str, str],
) -> None:
    rendered = render_get(SEED_GET, sample)
    assert rendered.method == "GET"
    assert rendered.body is None
    assert rendered.content_type is None
    assert rendered.url.startswith("https://hooks.example.com/wa/media?status=%22")
    assert query_pairs(rendered.url) == [(k, f'"{sample[k]}"') for k in SEED_ORDER if k in sample]
    assert request_target(rendered.url) == rendered.url.removeprefix("https://hooks.example.com")
    assert signed_payload(rendered.url, rendered.body) == request_target(rendered.url).encode()


def test_the_seed_get_template_as_uploaded_reads_exactly() -> None:
    values = {"status": "UPLOADED", "file_name": "test.jpg", "time": "1738919890"}
    rendered = render_get("https://h.example/cb" + SEED_QUERY, values)
    assert rendered.url == (
        "https://h.example/cb?status=%22UPLOADED%22&file_name=%22test.jpg%22&time=%221738919890%22"
    )


@pytest.mark.parametrize("sample", SAMPLES, ids=["uploaded", "failed", "expired"])
def test_the_seed_post_template_gives_the_seed_sample(sample: dict[str, str]) -> None:
    rendered = render_post("https://hooks.example.com/wa", SEED_POST, sample)
    assert rendered.method == "POST"
    assert rendered.content_type == "application/json"
    assert rendered.body is not None
    assert json.loads(rendered.body) == sample
    ordered = {k: sample[k] for k in SEED_ORDER if k in sample}
    assert rendered.body == json.dumps(ordered, separators=(",", ":")).encode()
    assert signed_payload(rendered.url, rendered.body) == rendered.body


def test_failed_has_neither_link_nor_handle() -> None:
    body = render_post("https://h.example/", SEED_POST, FAILED).body
    assert body is not None
    assert "file_link" not in json.loads(body)
    assert "uploaded_file_handle" not in json.loads(body)


def test_bare_and_encoded_quote_styles() -> None:
    rendered = render_get(
        'https://h.example/cb?a=<status>&b=%22<status>%22&c=%3Cstatus%3E&d="<status>"',
        {"status": "UP"},
    )
    assert query_pairs(rendered.url) == [("a", "UP"), ("b", '"UP"'), ("c", "UP"), ("d", '"UP"')]


def test_literals_and_the_path_are_kept() -> None:
    rendered = render_get(
        "https://h.example:8443/a/b%20c?key=abc&x=pre-<status>-post&flag&s=<ref>",
        {"status": "a b"},
    )
    assert rendered.url == "https://h.example:8443/a/b%20c?key=abc&x=pre-a%20b-post&flag"
    assert request_target(rendered.url) == "/a/b%20c?key=abc&x=pre-a%20b-post&flag"


def test_dot_segments_are_resolved_as_every_client_does() -> None:
    assert request_target(render_get("https://h.example/a/./b/../c/..", {}).url) == "/a/"
    assert request_target(render_get("https://h.example/../%2e%2E/x", {}).url) == "/x"


def test_no_query_left_means_no_question_mark_and_an_empty_path_is_slash() -> None:
    assert render_get("https://h.example?a=<ref>", {}).url == "https://h.example/"
    assert request_target(render_get("https://h.example?a=<ref>", {}).url) == "/"


def test_lone_surrogates_cannot_break_the_encoding() -> None:
    values = {"status": "a\ud800b"}
    assert query_pairs(render_get("https://h.example/?s=<status>", values).url) == [
        ("s", "a\ufffdb")
    ]
    body = render_post("https://h.example/", '{"s": "<status>"}', values).body
    assert body is not None
    assert json.loads(body) == {"s": "a\ufffdb"}


def test_nested_embedded_and_missing_placeholders_in_a_body() -> None:
    template = json.dumps(
        {
            "event": {"status": "<status>", "link": "<file_link>", "n": 1, "ok": True},
            "list": ["<status>", "<file_link>", "x-<status>-y", None, 2.5],
            "text": "status <status> at <time>",
            "gone": "status <status> at <file_link>",
            "<status>": "keys stay",
        }
    )
    rendered = render_post("https://h.example/", template, {"status": 'a"b\\c', "time": "7"})
    assert rendered.body is not None
    assert json.loads(rendered.body) == {
        "event": {"status": 'a"b\\c', "n": 1, "ok": True},
        "list": ['a"b\\c', 'x-a"b\\c-y', None, 2.5],
        "text": 'status a"b\\c at 7',
        "<status>": "keys stay",
    }


def test_a_post_url_gets_its_query_rendered_too() -> None:
    rendered = render_post("https://h.example/p?ref=<ref>", '{"a": 1}', {"ref": "r&1"})
    assert query_pairs(rendered.url) == [("ref", "r&1")]


def test_without_a_template_the_body_holds_all_values() -> None:
    values = {"status": "UPLOADED", "file_name": "ü.pdf"}
    assert render_default_body(values) == '{"status":"UPLOADED","file_name":"ü.pdf"}'.encode()
    assert render_post("https://h.example/", None, values).body == render_default_body(values)
    assert render_post("https://h.example/", "  ", values).body == render_default_body(values)


def test_a_template_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValueError, match="object"):
        render_post("https://h.example/", '["<status>"]', {})


GET_STYLES = {
    "bare": ("<{n}>", "{v}"),
    "quoted": ('"<{n}>"', '"{v}"'),
    "encoded": ("%22<{n}>%22", '"{v}"'),
    "embedded": ("pre-<{n}>-post", "pre-{v}-post"),
}


@given(
    specs=st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(sorted(GET_STYLES)))),
    values=st.dictionaries(st.sampled_from(NAMES), VALUES),
    literal_at=st.integers(min_value=0, max_value=20),
)
def test_get_values_never_add_or_break_a_parameter(
    specs: list[tuple[str, str]], values: dict[str, str], literal_at: int
) -> None:
    params: list[str] = []
    expected: list[tuple[str, str]] = []
    for index, (name, style) in enumerate(specs):
        written, meaning = GET_STYLES[style]
        params.append(f"p{index}=" + written.format(n=name))
        if name in values:
            expected.append((f"p{index}", meaning.format(v=values[name])))
    position = min(literal_at, len(params))
    params.insert(position, "lit=abc")
    expected.insert(sum(1 for p in params[:position] if _kept(p, values)), ("lit", "abc"))
    rendered = render_get("https://h.example/cb?" + "&".join(params), values)
    assert query_pairs(rendered.url) == expected
    assert rendered.url.isascii()
    assert not re.search(r"[\s\"<>#]", rendered.url)
    assert URL(rendered.url).raw_path_qs == request_target(rendered.url)


@given(
    path=st.lists(
        st.sampled_from([".", "..", "%2e", "%2E%2e", "a", "", "b c", "%7e", "é"])
        | st.text(alphabet=st.characters(exclude_characters="?#\\"))
    ).map("/".join),
    literal=st.text(alphabet=st.characters(exclude_characters="&#")),
    values=st.dictionaries(st.sampled_from(NAMES), VALUES),
)
def test_the_signed_target_is_what_aiohttp_sends_from_a_string_url(
    path: str, literal: str, values: dict[str, str]
) -> None:
    template = f'https://h.example/{path}?s=<status>&q="<ref>"&lit={literal}'
    rendered = render_get(template, values)
    assert URL(rendered.url).raw_path_qs == request_target(rendered.url)


def _kept(param: str, values: dict[str, str]) -> bool:
    return all(name in values for name in placeholders_in(param))


def _template_strings() -> st.SearchStrategy[str]:
    names = st.sampled_from(NAMES)
    return st.one_of(
        names.map(lambda n: f"<{n}>"),
        st.tuples(st.text(max_size=5), names, st.text(max_size=5)).map(
            lambda t: f"{t[0]}<{t[1]}>{t[2]}"
        ),
        st.text(max_size=10),
    )


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    _template_strings(),
)
JSON_TREES = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


_OMITTED = object()


def _expected(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, str):
        names = re.findall(r"<([a-z0-9_]+)>", node)
        if any(name not in values for name in names):
            return _OMITTED
        return re.sub(r"<([a-z0-9_]+)>", lambda m: values[m.group(1)], node)
    if isinstance(node, dict):
        pairs = ((k, _expected(v, values)) for k, v in node.items())
        return {k: v for k, v in pairs if v is not _OMITTED}
    if isinstance(node, list):
        items = (_expected(v, values) for v in node)
        return [v for v in items if v is not _OMITTED]
    return node


@given(
    template=st.dictionaries(st.text(), JSON_TREES),
    values=st.dictionaries(st.sampled_from(NAMES), VALUES),
    indent=st.sampled_from([None, 2]),
)
def test_post_values_are_json_strings_in_a_valid_document(
    template: dict[str, Any], values: dict[str, str], indent: int | None
) -> None:
    rendered = render_post("https://h.example/", json.dumps(template, indent=indent), values)
    assert rendered.body is not None
    expected = _expected(template, values)
    assert json.loads(rendered.body.decode("utf-8")) == expected
    assert rendered.body == json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def test_the_seed_templates_validate() -> None:
    assert validate_template("GET", SEED_GET, None) == []
    assert validate_template("POST", "https://hooks.example.com/wa", SEED_POST) == []
    assert validate_template("post", "http://10.1.2.3:8080/x", None) == []


@pytest.mark.parametrize(
    ("method", "url", "body", "problem"),
    [
        ("GET", "https://h.example/?s=<stauts>", None, "unknown placeholder <stauts> in url"),
        ("POST", "https://h.example/", '{"a": ["<prise>"]}', "unknown placeholder <prise> in body"),
        ("GET", "h.example/cb?s=<status>", None, "url must be absolute"),
        ("GET", "ftp://h.example/", None, "url must be absolute"),
        ("GET", "https:///path", None, "url has no host"),
        ("GET", "https://<your-callback-endpoint>?s=<status>", None, "is not a host name"),
        ("GET", "https://h.example:99999/", None, "url port"),
        ("GET", "https://h.example/?a=<status>#x", None, "fragment"),
        ("GET", "https://h.example/<status>", None, "url path"),
        ("GET", "https://h.example/a b", None, "space"),
        ("POST", "https://h.example/", "{", "the body is not valid JSON"),
        ("POST", "https://h.example/", "[1]", "the body must be a JSON object"),
        ("POST", "https://h.example/", '{"a": NaN}', "the body is not valid JSON"),
        ("GET", "https://h.example/", '{"a": 1}', "a GET profile sends no body"),
        ("PUT", "https://h.example/", None, "neither GET nor POST"),
    ],
)
def test_validation_names_the_problem(
    method: str, url: str, body: str | None, problem: str
) -> None:
    problems = validate_template(method, url, body)
    assert any(problem in p for p in problems), problems


@given(value=VALUES)
def test_a_profile_get_and_a_callback_url_get_encode_a_value_alike(value: str) -> None:
    profile = render_get("https://h.example/cb?v=<ref>", {"ref": value})
    callback_url = render_query("https://h.example/cb", {"v": value})
    assert profile.url == callback_url.url
    assert query_pairs(callback_url.url) == [("v", value)]


def test_urls_and_ids_in_get_values_keep_their_colons_and_slashes() -> None:
    rendered = render_query("https://h.example/cb", {"id": "ad97:0", "file": "https://x/a b&c"})
    assert rendered.url == "https://h.example/cb?id=ad97:0&file=https://x/a%20b%26c"
