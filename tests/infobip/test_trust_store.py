"""The client verifies an https endpoint against a trust store, and loads none for plain
http (the emulator), where no TLS is spoken: loading one costs every run about 30 ms."""

from __future__ import annotations

import ssl

import pytest

from infobip_iac.infobip.client import InfobipClient

from .conftest import ADMIN


def _trust_stores_loaded(monkeypatch: pytest.MonkeyPatch, base_url: str) -> int:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    loads: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loads.append(args or kwargs)
        real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    InfobipClient(base_url=base_url, credentials=ADMIN).close()
    return len(loads)


def test_an_https_endpoint_is_verified_against_a_trust_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _trust_stores_loaded(monkeypatch, "https://xxxxx.api.infobip.com") >= 1


def test_a_plain_http_endpoint_loads_no_trust_store(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _trust_stores_loaded(monkeypatch, "http://127.0.0.1:9") == 0
