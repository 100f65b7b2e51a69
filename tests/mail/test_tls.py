"""THREADLOG_SMTP_URL's two kinds of TLS against a real aiosmtpd: `smtp://` upgrades with
STARTTLS and logs in over it; `smtps://` speaks TLS from the first byte. The server's
certificate is trusted the way an operator trusts a private CA: SSL_CERT_FILE."""

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from service.subscriptions.mail.smtp import Outcome, Server, deliver
from tests.clusters import free_port
from tests.mail.inbox import Inbox

USER, PASSWORD = "threadlog", "s3cret/with:odd@chars"


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A self-signed certificate for 127.0.0.1, trusted through SSL_CERT_FILE; the server's
    TLS context."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "threadlog test SMTP")])
    now = datetime.now(UTC)
    made = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_file.write_bytes(made.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def authenticator(
    server: object, session: object, envelope: object, mechanism: str, data: object
) -> AuthResult:
    good = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=good, handled=False)


def running(controller: Controller) -> Iterator[int]:
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def message(to: str) -> EmailMessage:
    made = EmailMessage()
    made["From"], made["To"], made["Subject"] = "threadlog@blog.example", to, "TLS"
    made.set_content("over TLS")
    return made


async def test_smtp_upgrades_with_starttls_and_logs_in(
    certificate: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=certificate,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    for port in running(controller):
        quoted = PASSWORD.replace("/", "%2F").replace(":", "%3A").replace("@", "%40")
        server = Server.parse(f"smtp://{USER}:{quoted}@127.0.0.1:{port}")
        sent = await deliver(server, message("starttls@reader.example"))
        assert sent.outcome is Outcome.SENT, sent
        assert [m["Subject"] for m in inbox.to("starttls@reader.example")] == ["TLS"]
        # A wrong password is the server's refusal, reported without the URL.
        wrong = await deliver(
            Server.parse(f"smtp://{USER}:nope@127.0.0.1:{port}"), message("x@y.example")
        )
        assert wrong.outcome is Outcome.FAILED and "nope" not in str(wrong.error)
        # A certificate nobody trusts is not talked to: the password never leaves.
        monkeypatch.delenv("SSL_CERT_FILE")
        untrusted = await deliver(server, message("untrusted@reader.example"))
        assert untrusted.outcome is Outcome.FAILED and not inbox.to("untrusted@reader.example")


async def test_smtps_speaks_tls_from_the_start(certificate: ssl.SSLContext) -> None:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ssl_context=certificate)
    for port in running(controller):
        sent = await deliver(
            Server.parse(f"smtps://127.0.0.1:{port}"), message("tls@reader.example")
        )
        assert sent.outcome is Outcome.SENT, sent
        assert len(inbox.to("tls@reader.example")) == 1
