"""psycopg2's TLS: the production default verifies the server (verify-full against a CA bundle
that Redshift's ACM certificates chain to), and a real PostgreSQL serving TLS with a
certificate from a test CA is reached through that CA only.

The rig's PostgreSQL binaries are built without SSL, so the server tests put a TLS front
(the protocol's SSLRequest, then TLS with a test CA's certificate) before the session's
server, and connect through the production executor with the test CA, a foreign CA, a host
name the certificate does not name, and the production default trust store.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import ipaddress
import socket
import ssl
import struct
import sys
import tempfile
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ddb_cdc.loader.config import ConfigError, LoaderConfig
from ddb_cdc.loader.executors import (
    DEFAULT_SSLMODE,
    DbCredentials,
    LoadFailed,
    Psycopg2Executor,
    default_trust_store,
)

from .conftest import base_env

SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cdc/db-AbCdEf"


def _credentials(host: str = "redshift.example", port: int = 5439) -> DbCredentials:
    return DbCredentials(host, port, "dev", "loader", "not-logged")


class _FakePsycopg2(types.ModuleType):
    """Records psycopg2.connect's keyword arguments; the connection it returns is a stub."""

    def __init__(self) -> None:
        super().__init__("psycopg2")
        self.calls: list[dict[str, Any]] = []

    def connect(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return types.SimpleNamespace(closed=False, autocommit=True, close=lambda: None)


@pytest.fixture
def fake_psycopg2(monkeypatch: pytest.MonkeyPatch) -> _FakePsycopg2:
    module = _FakePsycopg2()
    monkeypatch.setitem(sys.modules, "psycopg2", module)
    return module


# -- the production default ----------------------------------------------------------------


def test_production_default_is_verify_full_against_the_default_trust_store(fake_psycopg2):
    executor = Psycopg2Executor(_credentials, connect_timeout_seconds=5, statement_timeout_ms=1000)
    executor._connect()
    (call,) = fake_psycopg2.calls
    assert DEFAULT_SSLMODE == "verify-full"
    assert call["sslmode"] == "verify-full"
    assert call["sslrootcert"] == default_trust_store()
    assert Path(call["sslrootcert"]).is_file()


# certifi's bundle holds an old root with a non-positive serial number, which cryptography warns about.
@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
def test_default_trust_store_holds_the_roots_redshift_certificates_chain_to():
    # Redshift's certificates are ACM's: Amazon Root CA 1-4, cross-signed by Starfield Services Root CA - G2
    # ("Configuring security options for connections", Amazon Redshift management guide).
    path = default_trust_store()
    assert path is not None
    subjects = {
        attribute.value
        for certificate in x509.load_pem_x509_certificates(Path(path).read_bytes())
        for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    }
    assert {"Amazon Root CA 1", "Amazon Root CA 2", "Amazon Root CA 3", "Amazon Root CA 4"} <= subjects
    assert "Starfield Services Root Certificate Authority - G2" in subjects


def test_a_verifying_mode_without_a_bundle_refuses_before_connecting(fake_psycopg2, tmp_path):
    executor = Psycopg2Executor(
        _credentials,
        connect_timeout_seconds=5,
        statement_timeout_ms=1000,
        sslrootcert=str(tmp_path / "missing.pem"),
    )
    with pytest.raises(
        LoadFailed, match=r"redshift\.db_sslrootcert \(the function.s CDC_DB_SSLROOTCERT\)"
    ) as raised:
        executor._connect()
    # Transient: the files are not to blame for a missing trust store.
    assert raised.value.state == "ABORTED"
    assert fake_psycopg2.calls == []


def test_an_explicit_weaker_mode_sends_no_trust_store(fake_psycopg2):
    executor = Psycopg2Executor(
        _credentials, connect_timeout_seconds=5, statement_timeout_ms=1000, sslmode="require"
    )
    executor._connect()
    assert fake_psycopg2.calls[0]["sslmode"] == "require"
    assert "sslrootcert" not in fake_psycopg2.calls[0]


def test_config_defaults_to_verify_full_and_refuses_plaintext():
    env = base_env(CDC_EXECUTOR="psycopg2", CDC_DB_SECRET_ARN=SECRET_ARN)
    config = LoaderConfig.from_env(env)
    assert (config.db_sslmode, config.db_sslrootcert) == ("verify-full", None)

    config = LoaderConfig.from_env(
        {**env, "CDC_DB_SSLMODE": "verify-ca", "CDC_DB_SSLROOTCERT": "/opt/ca.pem"}
    )
    assert (config.db_sslmode, config.db_sslrootcert) == ("verify-ca", "/opt/ca.pem")

    for plaintext in ("disable", "allow", "prefer"):
        with pytest.raises(
            ConfigError, match="CDC_DB_SSLMODE must be one of verify-full, verify-ca, require"
        ):
            LoaderConfig.from_env({**env, "CDC_DB_SSLMODE": plaintext})


# -- a real TLS server -----------------------------------------------------------------------


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def _server_certificate(
    ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("cdc-test-warehouse"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        # Names the address only: "localhost" reaches the same server but is not named, so verify-full refuses it.
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return certificate, key


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


class _TlsFrontend:
    """A TLS front for a plaintext PostgreSQL: the rig's server binaries are built without SSL.

    It answers the protocol's SSLRequest with 'S' (and a GSSENCRequest with 'N'), completes the
    TLS handshake with the test certificate, then relays the client's bytes, decrypted, to the
    server and back ("Message Flow: SSL Session Encryption", PostgreSQL protocol documentation).
    What the client verifies is exactly what it would verify against a TLS-enabled server.
    """

    _SSL_REQUEST = 80877103
    _GSSENC_REQUEST = 80877104

    def __init__(self, upstream: tuple[str, int], context: ssl.SSLContext) -> None:
        self._upstream = upstream
        self._context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(client)
            client.settimeout(10)
            while True:
                header = _read_exactly(client, 8)
                if header is None:
                    return
                length, code = struct.unpack("!II", header)
                if length == 8 and code == self._GSSENC_REQUEST:
                    client.sendall(b"N")
                    continue
                if length == 8 and code == self._SSL_REQUEST:
                    client.sendall(b"S")
                    break
                return  # a plaintext startup: refused, as a server with hostssl only would
            try:
                secure = stack.enter_context(self._context.wrap_socket(client, server_side=True))
            except (ssl.SSLError, OSError):
                return  # the client refused our certificate
            upstream = stack.enter_context(socket.create_connection(self._upstream, timeout=10))
            secure.settimeout(None)
            upstream.settimeout(None)
            threading.Thread(target=_pump, args=(upstream, secure), daemon=True).start()
            _pump(secure, upstream)


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _pump(source: socket.socket, destination: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            destination.sendall(chunk)
    with contextlib.suppress(OSError):
        destination.shutdown(socket.SHUT_WR)


@pytest.fixture(scope="module")
def tls_server(pg_server) -> Iterator[tuple[Any, Path, Path]]:
    """The rig's PostgreSQL behind a TLS front with a certificate of a test CA; yields (server, ca, other ca)."""
    with tempfile.TemporaryDirectory(prefix="cdc-tls-") as directory:
        workdir = Path(directory)
        ca, ca_key = _ca("cdc test CA")
        other_ca, _ = _ca("cdc other CA")
        certificate, key = _server_certificate(ca, ca_key)
        (workdir / "ca.pem").write_bytes(_pem(ca))
        (workdir / "other-ca.pem").write_bytes(_pem(other_ca))
        (workdir / "server.crt").write_bytes(_pem(certificate))
        (workdir / "server.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(workdir / "server.crt", workdir / "server.key")
        front = _TlsFrontend((pg_server.host, pg_server.port), context)
        try:
            yield (
                dataclasses.replace(pg_server, port=front.port),
                workdir / "ca.pem",
                workdir / "other-ca.pem",
            )
        finally:
            front.close()


def _executor(server: Any, host: str, **tls: str) -> Psycopg2Executor:
    return Psycopg2Executor(
        lambda: DbCredentials(host, server.port, server.dbname, server.user, "unused-trust-auth"),
        connect_timeout_seconds=5,
        statement_timeout_ms=5000,
        **tls,
    )


def test_verify_full_reaches_a_server_whose_certificate_chains_to_the_given_ca(tls_server):
    server, ca, _other = tls_server
    executor = _executor(server, "127.0.0.1", sslrootcert=str(ca))
    try:
        assert executor.query("SELECT 1") == [(1,)]
        assert executor._connection.info.ssl_in_use
        assert executor._connection.info.ssl_attribute("protocol") in ("TLSv1.2", "TLSv1.3")
    finally:
        executor.close()


def test_verify_full_refuses_a_certificate_of_another_ca(tls_server):
    import psycopg2

    server, _ca, other = tls_server
    executor = _executor(server, "127.0.0.1", sslrootcert=str(other))
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        executor.query("SELECT 1")


def test_verify_full_refuses_a_host_the_certificate_does_not_name(tls_server):
    import psycopg2

    server, ca, _other = tls_server
    # The chain is good (verify-ca accepts it); the name is not.
    executor = _executor(server, "localhost", sslrootcert=str(ca), sslmode="verify-ca")
    try:
        assert executor.query("SELECT 1") == [(1,)]
    finally:
        executor.close()
    with pytest.raises(psycopg2.OperationalError, match="does not match host name"):
        _executor(server, "localhost", sslrootcert=str(ca)).query("SELECT 1")


def test_the_production_default_refuses_a_test_ca_it_was_not_given(tls_server):
    import psycopg2

    server, _ca, _other = tls_server
    # No sslrootcert: the default trust store (public roots) does not hold the test CA.
    with pytest.raises(psycopg2.OperationalError, match="certificate verify failed"):
        _executor(server, "127.0.0.1").query("SELECT 1")
