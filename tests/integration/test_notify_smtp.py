"""Email over SMTP to a real aiosmtpd server on loopback: plain, STARTTLS with AUTH, and the
failures a relay can answer."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.net import free_port

from steward.notify import CHANNEL_TYPES, DeliveryStatus, Notification, Notifier, RetryPolicy, configure_channel
from steward.runtime import Runtime
from steward.testing.notify import SmtpReceiver, serve_smtp

pytest.importorskip("aiosmtpd")

USER, PASSWORD = "steward", "smtp-pass-0123"


def _email(host: str, port: int, **extra: Any) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "security": "none",
        "sender": "steward@example.org",
        "recipients": ["ml-oncall@example.org", "risk@example.org"],
        "timeout_s": 5,
        **extra,
    }


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture(scope="module")
def plain_server() -> Iterator[tuple[SmtpReceiver, int]]:
    receiver = SmtpReceiver()
    with serve_smtp(receiver) as (_, port):
        yield receiver, port


@pytest.fixture(scope="module")
def tls_server(cert: tuple[Path, Path]) -> Iterator[tuple[SmtpReceiver, int]]:
    from aiosmtpd.smtp import AuthResult

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = data.login == USER.encode() and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    receiver = SmtpReceiver()
    with serve_smtp(receiver, tls_context=context, require_starttls=True, authenticator=authenticate) as (_, port):
        yield receiver, port


@pytest.fixture
def plain(plain_server: tuple[SmtpReceiver, int]) -> tuple[SmtpReceiver, int]:
    plain_server[0].reset()
    return plain_server


@pytest.fixture
def tls(tls_server: tuple[SmtpReceiver, int]) -> tuple[SmtpReceiver, int]:
    tls_server[0].reset()
    return tls_server


def test_email_reaches_every_recipient_with_subject_body_and_headers(plain: tuple[SmtpReceiver, int]) -> None:
    receiver, port = plain
    channel = CHANNEL_TYPES.build("email", "mail", _email("127.0.0.1", port))
    n = Notification("Drift on churn", "PSI 0.31 on tenure, café ✓", severity="critical", payload={"psi": 0.31})
    result = channel.send(n)
    assert result.ok and result.status_code == 250
    [mail] = receiver.messages
    assert mail.mail_from == "steward@example.org"
    assert mail.rcpt_tos == ["ml-oncall@example.org", "risk@example.org"]
    assert mail.message["Subject"] == "[Steward] [CRITICAL] Drift on churn"
    assert mail.message["X-Steward-Dedup-Key"] == n.dedup_key
    body = mail.message.get_content()
    assert "PSI 0.31 on tenure, café ✓" in body and '"psi": 0.31' in body


def test_starttls_with_auth_and_a_private_ca(tls: tuple[SmtpReceiver, int], cert: tuple[Path, Path]) -> None:
    receiver, port = tls
    config = _email("127.0.0.1", port, security="starttls", username=USER, password=PASSWORD, ca_file=str(cert[0]))
    result = CHANNEL_TYPES.build("email", "mail", config).send(Notification("Drift on churn"))
    assert result.ok, result
    [mail] = receiver.messages
    assert mail.authenticated


def test_a_wrong_password_is_a_permanent_failure(tls: tuple[SmtpReceiver, int], cert: tuple[Path, Path]) -> None:
    receiver, port = tls
    config = _email("127.0.0.1", port, security="starttls", username=USER, password="wrong", ca_file=str(cert[0]))
    result = CHANNEL_TYPES.build("email", "mail", config).send(Notification("x"))
    assert not result.ok and result.status_code == 535 and not result.retryable
    assert "wrong" not in (result.error or "")
    assert receiver.messages == []


def test_an_untrusted_certificate_is_refused(tls: tuple[SmtpReceiver, int]) -> None:
    receiver, port = tls
    config = _email("127.0.0.1", port, security="starttls", username=USER, password=PASSWORD)
    result = CHANNEL_TYPES.build("email", "mail", config).send(Notification("x"))
    assert not result.ok and not result.retryable and "CERTIFICATE_VERIFY_FAILED" in (result.error or "")
    assert receiver.messages == []


def test_starttls_never_falls_back_to_plain_text(plain: tuple[SmtpReceiver, int]) -> None:
    receiver, port = plain
    result = CHANNEL_TYPES.build("email", "mail", _email("127.0.0.1", port, security="starttls")).send(
        Notification("x")
    )
    assert not result.ok and not result.retryable and "STARTTLS" in (result.error or "")
    assert receiver.messages == []


def test_relay_replies_decide_retryability(plain: tuple[SmtpReceiver, int]) -> None:
    receiver, port = plain
    channel = CHANNEL_TYPES.build("email", "mail", _email("127.0.0.1", port))
    receiver.fail_next(1)
    busy = channel.send(Notification("x"))
    assert not busy.ok and busy.retryable and busy.status_code == 451
    receiver.fail_next(1, permanent=True)
    rejected = channel.send(Notification("x"))
    assert not rejected.ok and not rejected.retryable and rejected.status_code == 550
    down = CHANNEL_TYPES.build("email", "mail", _email("127.0.0.1", free_port())).send(Notification("x"))
    assert not down.ok and down.retryable and "ConnectionRefused" in (down.error or "")


def test_notifier_retries_email_and_logs_the_attempts(runtime: Runtime, plain: tuple[SmtpReceiver, int]) -> None:
    receiver, port = plain
    with runtime.uow() as uow:
        configure_channel(uow, "mail", "email", _email("127.0.0.1", port))
        uow.commit()
    receiver.fail_next(1)
    notifier = Notifier(runtime.uow, policy=RetryPolicy(base_delay_s=0.01, jitter=0))
    [delivery] = notifier.send(Notification("Drift on churn", severity="warning"))
    assert delivery.status is DeliveryStatus.DELIVERED
    assert [(a.ok, a.status_code) for a in delivery.attempts] == [(False, 451), (True, 250)]
    assert len(receiver.messages) == 1


def test_some_recipients_refused_is_delivered_with_a_note(runtime: Runtime) -> None:
    receiver = SmtpReceiver(refuse=["risk@example.org"])
    with serve_smtp(receiver) as (host, port):
        with runtime.uow() as uow:
            configure_channel(uow, "mail", "email", _email(host, port))
            uow.commit()
        [delivery] = Notifier(runtime.uow, policy=RetryPolicy(base_delay_s=0.01)).send(Notification("x"))
    # Delivered, not retried: a retry would send the accepted recipient a duplicate.
    assert delivery.status is DeliveryStatus.DELIVERED and len(delivery.attempts) == 1
    assert delivery.attempts[0].error == "some recipients refused: ['risk@example.org']"
    [mail] = receiver.messages
    assert mail.rcpt_tos == ["ml-oncall@example.org"]
