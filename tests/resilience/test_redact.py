"""Credentials never reach messages: what resilience._redact hides, and what it leaves."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resilience._redact import MASK, redact, redact_value


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://bob:hunter2@api.example.com/x", "https://***@api.example.com/x"),
        ("redis://:pw@cache:6379/0", "redis://***@cache:6379/0"),
        ("Authorization: Bearer abc.def", "Authorization: ***"),
        ("authorization=Basic dXNlcjpwdw==, next", "authorization=***, next"),
        ("Proxy-Authorization: Digest u=1", "Proxy-Authorization: ***"),
        ("X-Api-Key: k-123 and then more", "X-Api-Key: *** and then more"),
        ("x-amz-security-token=FQoGZXIvYXdz", "x-amz-security-token=***"),
        ("Cookie: sid=42; theme=dark", "Cookie: ***"),
        (
            "{'Authorization': 'Bearer x', 'Accept': 'json'}",
            "{'Authorization': '***', 'Accept': 'json'}",
        ),
        ('{"X-Api-Key": "k"}', '{"X-Api-Key": "***"}'),
        ("sent Bearer eyJ0eXAi.payload.sig to it", "sent Bearer *** to it"),
        ("key AKIAIOSFODNN7EXAMPLE in use", "key *** in use"),
        ("temporary ASIAY34FZKBOKMUTVV7A", "temporary ***"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "aws_secret_access_key = ***"),
    ],
)
def test_credentials_are_replaced(text: str, shown: str) -> None:
    """Each form of credential becomes ***; the text around it stays."""
    assert redact(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "HTTP 503 from https://api.example.com/x",
        "user@example.com wrote",
        "Basic usage, Bearer of news",
        "AKIA-short",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    """Messages without credentials come out unchanged (an e-mail address is not a URL)."""
    assert redact(text) == text


@given(
    secret=st.text(alphabet=st.characters(codec="ascii", categories=["L", "N"]), min_size=6),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_a_configured_secret_never_survives(secret: str, before: str, after: str) -> None:
    """Property: a secret given to redact() is absent from the result, wherever it was."""
    assert secret not in redact(f"{before}{secret}{after}", [secret])


def test_values_inside_decoded_json() -> None:
    """Credential keys are replaced whole; strings are redacted; other values kept."""
    payload = {
        "error": "echo: Authorization: Bearer tok123",
        "headers": {"Cookie": "a=1", "Accept": "json"},
        "items": [1, "AKIAIOSFODNN7EXAMPLE", None],
    }
    assert redact_value(payload) == {
        "error": f"echo: Authorization: {MASK}",
        "headers": {"Cookie": MASK, "Accept": "json"},
        "items": [1, MASK, None],
    }
    assert payload["headers"]["Cookie"] == "a=1"  # a copy: the original is untouched
