"""One webhook call: connects only to addresses it checked, and TLS still checks the name."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterable
from pathlib import Path

import httpcore
import pytest

from app.services.webhook_targets import TargetRules
from tests.support.receivers import receiving
from tests.support.resolvers import PUBLIC, FakeResolver
from workers.notifier.webhook_call import CallLimits, post_webhook

LIMITS = CallLimits(deadline_seconds=5, max_response_bytes=65_536)
STRICT = TargetRules(https_only=False, allow_loopback=False)
LOOPBACK_OK = TargetRules(https_only=False, allow_loopback=True)


class RecordingConnector(httpcore.NetworkBackend):
    """Notes where it is asked to connect and connects nowhere (no packet leaves)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        self.asked.append(host)
        raise httpcore.ConnectError("the test connects nowhere")


def _post(url: str, rules: TargetRules, resolver: FakeResolver, **kwargs: object) -> str | None:
    return post_webhook(
        url,
        b"{}",
        {"Content-Type": "application/json"},
        rules=rules,
        resolver=resolver,
        limits=LIMITS,
        ssl_context=kwargs.pop("ssl_context", ssl.create_default_context()),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_host_resolving_to_a_private_address_at_delivery_is_refused_before_connecting() -> None:
    with receiving() as receiver:
        for address in ("127.0.0.1", "10.0.0.7", "::ffff:127.0.0.1"):
            resolver = FakeResolver({"hooks.example.com": [address]})
            error = _post(receiver.url("/hook", host="hooks.example.com"), STRICT, resolver)
            assert "not public" in (error or ""), f"{address}: {error}"
        assert receiver.received == [], "a call reached a loopback receiver"


def test_dns_rebinding_cannot_swap_the_checked_address_for_loopback() -> None:
    # The first answer (as at save time) is public; every later one is loopback.
    resolver = FakeResolver({"rebind.example.com": [[PUBLIC], ["127.0.0.1"]]})
    connector = RecordingConnector()
    with receiving() as receiver:
        url = receiver.url("/hook", host="rebind.example.com")
        first = _post(url, STRICT, resolver, connector=connector)
        assert connector.asked == [PUBLIC], f"connected elsewhere than checked: {connector.asked}"
        assert "ConnectError" in (first or ""), first
        assert resolver.asked == ["rebind.example.com"], "the host was looked up twice"
        second = _post(url, STRICT, resolver, connector=connector)
        assert "not public" in (second or ""), second
        assert connector.asked == [PUBLIC], "a rebound loopback address was connected to"
        assert receiver.received == []


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed; it makes the test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_is_verified_for_the_host_name_while_connecting_to_the_checked_address(
    tmp_path: Path,
) -> None:
    cert, key = _self_signed(tmp_path, "hooks.test")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))
    resolver = FakeResolver({"hooks.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    with receiving(tls=server_tls) as receiver:
        good = receiver.url("/hook", host="hooks.test", scheme="https")
        assert _post(good, LOOPBACK_OK, resolver, ssl_context=client_tls) is None
        assert receiver.received[0].headers["Host"] == f"hooks.test:{receiver.port}"
        wrong = receiver.url("/hook", host="other.test", scheme="https")
        error = _post(wrong, LOOPBACK_OK, resolver, ssl_context=client_tls)
        assert "certificate" in (error or "").lower(), error
        assert len(receiver.received) == 1, "a call went through on another name's certificate"
