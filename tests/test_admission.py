"""wallboard/web/admission.py: whose connection it is, and the counting against the limits (no I/O)."""

from __future__ import annotations

import pytest

from wallboard.web.admission import Admission, address_key, client_address


def test_the_client_address_is_the_resolved_one_when_the_middleware_gave_it() -> None:
    assert client_address({"client": ("10.0.0.9", 5123)}) == "10.0.0.9"
    assert client_address({"client": ("10.0.0.9", 5123), "wallboard.client": "198.51.100.4"}) == "198.51.100.4"
    assert client_address({"client": None}) == ""  # a Unix socket
    assert client_address({}) == ""


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::7", "2001:db8:1:2::/64"),  # the same /64: the same client
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("", ""),
        ("proxy.example", "proxy.example"),
    ],
)
def test_what_is_counted_as_one_client(address: str, key: str) -> None:
    assert address_key(address) == key


def test_the_limit_per_client_then_the_total() -> None:
    admission = Admission(total=3, per_client=2)
    assert admission.admit("10.0.0.1") is None
    assert admission.admit("10.0.0.1") is None
    refused = admission.admit("10.0.0.1")
    assert refused is not None and refused.reason == "client_full" and refused.first
    again = admission.admit("10.0.0.1")
    assert again is not None and not again.first  # logged once, not once per socket
    assert admission.admit("10.0.0.2") is None
    full = admission.admit("10.0.0.3")
    assert full is not None and full.reason == "server_full" and full.first
    assert full.text == "server full: 3 connections; try again later" and len(full.text.encode()) <= 123
    assert (admission.held, admission.count("10.0.0.1"), admission.count("10.0.0.3")) == (3, 2, 0)
    admission.release("10.0.0.1")
    assert admission.admit("10.0.0.3") is None
    assert admission.admit("10.0.0.1") is not None and admission.admit("10.0.0.4") is not None
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        admission.release(address)
    refused = admission.admit("10.0.0.1")
    assert refused is None and admission.held == 1


def test_a_refusal_is_first_again_once_the_limit_was_left() -> None:
    admission = Admission(total=10, per_client=1)
    assert admission.admit("10.0.0.1") is None
    first = admission.admit("10.0.0.1")
    admission.release("10.0.0.1")
    assert admission.admit("10.0.0.1") is None
    later = admission.admit("10.0.0.1")
    assert first is not None and first.first and later is not None and later.first


def test_no_limit_per_client_with_zero() -> None:
    admission = Admission(total=1000, per_client=0)
    assert all(admission.admit("10.0.0.1") is None for _ in range(1000))
    refused = admission.admit("10.0.0.1")
    assert refused is not None and refused.reason == "server_full"


def test_an_ipv6_host_cannot_escape_the_limit_by_changing_address_in_its_64() -> None:
    admission = Admission(total=100, per_client=2)
    assert admission.admit("2001:db8::1") is None
    assert admission.admit("2001:db8::2") is None
    assert admission.admit("2001:db8::3") is not None
    assert admission.admit("2001:db8:0:1::1") is None  # another /64
