"""T6's hostile inputs, as hypothesis strategies.

* ``hostile_strings()``: header injection (``\\r\\nBcc: ...``), template syntax
  (``{{7*7}}``, ``{% raw %}``), HTML (``<script>``), NUL, RTL overrides, lone surrogates,
  arbitrary unicode and huge strings (up to 100,000 characters).
* ``mutated(doc)``: a valid JSON document with hostile values put into its string fields
  (one, some, or every one), wrong types, missing or unknown fields.
* ``raw_bytes(doc)``: the document's bytes, now and then corrupted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

# --- hostile values -------------------------------------------------------------------------

HEADER_INJECTIONS = (
    "\r\nBcc: attacker@evil.example",
    "\nBcc: attacker@evil.example",
    "\rCc: attacker@evil.example",
    "x@partnerlink.example\r\nBcc: attacker@evil.example",
    "\r\n\r\n<html>injected body</html>",
    "=?utf-8?q?=0D=0ABcc=3A_attacker=40evil=2Eexample?=",
)
TEMPLATE_SYNTAX = (
    "{{7*7}}",
    "{{ 7*7 }}",
    "{% raw %}",
    "{% endraw %}{{7*7}}",
    "{% for x in 'ab' %}PL{{x}}{% endfor %}",
    "{{ config }}{{ self.__init__.__globals__ }}",
    "{# comment #}",
    "${7*7}",
    "#{7*7}",
)
HTML = (
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "&lt;script&gt;",
    "</td></tr></table><b>",
)
ODD_TEXT = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202eevil\u202c",
    "\ufeff",
    "\ud800",
    "a\udfffb",
    "\U0001f600",
    "Ω≈ç√∫˜µ≤≥÷",
    "\u2028\u2029\x85\x0b\x0c",
    "'; DROP TABLE partners; --",
    "%s%n%x",
    "../../etc/passwd",
    "Evil <attacker@evil.example>",
    "attacker@evil.example, victim@fabrikam.example",
    "jörg@exämple.example",
    '"x"@evil.example',
    "=?utf-8?q?victim?=@fabrikam.example",
    "=?utf-8?q?=0D=0ABcc=3A_x=40evil=2Eexample?=@fabrikam.example",
    "=?utf-8?b?DQpCY2M6IHhAZXZpbC5leGFtcGxl?=",
)
FIXED_HOSTILE: tuple[str, ...] = HEADER_INJECTIONS + TEMPLATE_SYNTAX + HTML + ODD_TEXT

JINJA_MARKERS = ("{{", "{%", "{#", "}}", "%}", "#}")
EVALUATED = ("49", "PLaPLb")
"""What ``{{7*7}}`` and ``{% for x in 'ab' %}PL{{x}}{% endfor %}`` render to when evaluated."""

HUGE_CHARS = 100_000


def any_text() -> st.SearchStrategy[str]:
    """Arbitrary unicode, surrogates and control characters included."""
    return st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


def huge_strings() -> st.SearchStrategy[str]:
    """Up to ``HUGE_CHARS`` characters: a short piece repeated (cheap to generate)."""
    return st.builds(
        lambda piece, size: (piece * (size // max(len(piece), 1) + 1))[:size],
        st.sampled_from(["A", "{{7*7}}", "<script>", "\r\nBcc: x@evil.example", "é", "\u202e", "\x00"]),
        st.sampled_from([257, 2_001, 10_000, HUGE_CHARS]),
    )


def hostile_strings() -> st.SearchStrategy[str]:
    fixed = st.sampled_from(FIXED_HOSTILE)
    return st.one_of(
        fixed,
        huge_strings(),
        any_text(),
        st.builds(lambda a, b, c: a + b + c, fixed, any_text(), fixed),
    )


def wrong_types() -> st.SearchStrategy[object]:
    return st.one_of(
        st.sampled_from([None, True, False, 0, -1, 10**30, 1.5, float("nan"), float("inf"), [], {}]),
        st.lists(st.sampled_from(FIXED_HOSTILE), max_size=3),
        st.dictionaries(
            st.sampled_from(["$ref", "__proto__", "x"]), st.sampled_from(FIXED_HOSTILE), max_size=2
        ),
        st.integers(),
    )


# --- mutating a valid document --------------------------------------------------------------

Path = tuple[str | int, ...]


def leaves(doc: object, path: Path = ()) -> list[tuple[Path, object]]:
    """Every scalar (non-container) value of a JSON document with its path."""
    if isinstance(doc, dict):
        return [leaf for key, value in doc.items() for leaf in leaves(value, (*path, key))]
    if isinstance(doc, list):
        return [leaf for index, value in enumerate(doc) for leaf in leaves(value, (*path, index))]
    return [(path, doc)]


def strings_in(doc: object) -> list[str]:
    return [value for _, value in leaves(doc) if isinstance(value, str)]


def _set(doc: Any, path: Path, value: object) -> None:
    for step in path[:-1]:
        doc = doc[step]
    doc[path[-1]] = value


def _delete(doc: Any, path: Path) -> None:
    for step in path[:-1]:
        doc = doc[step]
    if isinstance(doc, dict):
        doc.pop(path[-1], None)


@st.composite
def mutated(draw: st.DrawFn, doc: Mapping[str, Any], keep: Sequence[Path] = ()) -> dict[str, Any]:
    """``doc`` (a deep copy) with hostile values: ``valid`` (unchanged), ``some`` fields,
    or ``every`` string field. ``keep``: paths left alone (e.g. the actor's tenant)."""
    out: dict[str, Any] = json.loads(json.dumps(doc))
    mode = draw(st.sampled_from(["valid", "some", "some", "some", "every"]))
    if mode == "valid":
        return out
    for path, value in leaves(doc):
        if path in keep:
            continue
        if mode == "every":
            if isinstance(value, str):
                hostile = draw(hostile_strings())
                _set(out, path, draw(st.sampled_from([value + hostile, hostile + value, hostile])))
            continue
        action = draw(st.integers(0, 11))
        if action == 8:
            _set(out, path, draw(hostile_strings()))
        elif action == 9 and isinstance(value, str):
            cut = draw(st.integers(0, len(value)))
            _set(out, path, value[:cut] + draw(hostile_strings()) + value[cut:])
        elif action == 10:
            _set(out, path, draw(wrong_types()))
        elif action == 11:
            _delete(out, path)
    if draw(st.integers(0, 7)) == 0:
        out[draw(st.sampled_from(["extra", "__class__", "actor_override"]))] = draw(hostile_strings())
    return out


@st.composite
def raw_bytes(draw: st.DrawFn, document: object) -> bytes:
    """``document`` as JSON bytes, now and then corrupted at the byte level."""
    raw = json.dumps(document).encode()
    action = draw(st.integers(0, 24))
    if action == 0:
        return raw[: draw(st.integers(0, len(raw)))]
    if action == 1:
        cut = draw(st.integers(0, len(raw)))
        return raw[:cut] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80"])) + raw[cut:]
    if action == 2:
        return draw(
            st.sampled_from([b"", b"null", b"[]", b"42", b'"x"', b"{", b"\xef\xbb\xbf{}", b"[" * 100_000])
        )
    if action == 3:
        return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return raw
