"""Compressed topics: a producer may compress with any codec Kafka has, and the consumer must read them all.

aiokafka decodes the record batches itself, with cramjam for snappy, lz4 and zstd (aiokafka 0.11 and
later; a declared dependency): without it those topics fail to decode.  scripts/test-floors runs this
with aiokafka and cramjam at their floors; the real-broker tests with kcat are in tests/test_kafka_codecs.py.
"""

from __future__ import annotations

import pytest
from aiokafka import codec


@pytest.mark.parametrize("name", ["gzip", "snappy", "lz4", "zstd"])
def test_every_kafka_codec_round_trips(name: str) -> None:
    assert getattr(codec, f"has_{name}")(), f"aiokafka cannot use {name} here"
    payload = b'{"type": "call.offered", "queue": "\xe4\xbf\xa1\xe7\x94\xa8\xe5\x8d\xa1"}' * 200
    encoded = getattr(codec, f"{name}_encode")(payload)
    assert len(encoded) < len(payload) // 4  # really compressed
    assert getattr(codec, f"{name}_decode")(encoded) == payload
