"""JSON text from the shared encoders: byte for byte what ``json.dumps`` writes."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from wagate.domain import json_text

documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(documents)
def test_compact_writes_what_json_dumps_writes(document: object) -> None:
    assert json_text.compact(document) == json.dumps(document, separators=(",", ":"))


@given(documents)
def test_compact_unicode_keeps_non_ascii(document: object) -> None:
    expected = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    assert json_text.compact_unicode(document) == expected


@given(documents)
def test_sorted_keys_writes_what_json_dumps_writes(document: object) -> None:
    assert json_text.sorted_keys(document) == json.dumps(document, sort_keys=True)


def test_non_ascii_is_escaped_only_by_compact() -> None:
    assert json_text.compact({"name": "Zoë"}) == '{"name":"Zo\\u00eb"}'
    assert json_text.compact_unicode({"name": "Zoë"}) == '{"name":"Zoë"}'
