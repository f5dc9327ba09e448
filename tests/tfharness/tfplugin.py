"""The smallest faithful server side of Terraform's provider plugin protocol (tfplugin6 over gRPC).

Terraform starts a provider as a child process (HashiCorp go-plugin). The child checks the magic cookie,
listens, prints one handshake line on stdout and then serves gRPC:

    CORE-PROTOCOL-VERSION | APP-PROTOCOL-VERSION | NETWORK-TYPE | NETWORK-ADDR | PROTOCOL
    1|6|unix|/tmp/…/plugin.sock|grpc

We listen on a Unix socket inside a private (0700) directory, so no TCP port is opened at all. Terraform
runs go-plugin with automatic mutual TLS: it passes its client certificate in PLUGIN_CLIENT_CERT and
expects the plugin's own self-signed certificate (DER, unpadded base64) as a sixth handshake field. We
generate one per process, so Terraform talks TLS to a server it has pinned. We do not demand Terraform's
client certificate: go-plugin signs it with ECDSA P-521, which the BoringSSL inside grpcio does not offer to
verify, so Go would send none and the handshake would fail. Access control is the socket's private
directory (only this user can connect), which is what go-plugin's Unix sockets rely on too.

Values cross the wire as cty values encoded with msgpack: an object is a map keyed by attribute name,
a null is nil, and an unknown value is msgpack extension type 0. `encode_value`/`decode_value` do that.

The generated message classes come from the `pyvider` wheel (`tfplugin6_pb2.py`). We load that one
file by path so that the framework's own package (and its many imports) is never executed.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import msgpack
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
CORE_PROTOCOL_VERSION = 1
APP_PROTOCOL_VERSION = 6


def load_bindings():
    """Import tfplugin6_pb2 from the installed pyvider distribution without importing pyvider."""
    spec = importlib.util.find_spec("pyvider")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'pyvider' wheel (which ships tfplugin6_pb2.py) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "protocols/tfprotov6/protobuf/tfplugin6_pb2.py"
    mod_spec = importlib.util.spec_from_file_location("_tfplugin6_pb2", path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module


pb = load_bindings()


class Unknown:
    """A value Terraform does not know yet (msgpack extension 0)."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


def _ext_hook(code: int, data: bytes) -> Any:
    if code == 0:
        return UNKNOWN
    # Extension 12 is an unknown value with refinements (e.g. "not null"); for reading config it is still unknown.
    if code == 12:
        return UNKNOWN
    return msgpack.ExtType(code, data)


def decode_value(dynamic_value) -> Any:
    """Decode a tfplugin6.DynamicValue into Python values (dict/list/str/int/float/bool/None/UNKNOWN)."""
    if dynamic_value.msgpack:
        return msgpack.unpackb(dynamic_value.msgpack, raw=False, ext_hook=_ext_hook, strict_map_key=False)
    if dynamic_value.json:
        import json

        return json.loads(dynamic_value.json)
    return None


def _default(obj: Any) -> Any:
    if obj is UNKNOWN:
        return msgpack.ExtType(0, b"\x00")
    raise TypeError(f"cannot encode {type(obj).__name__} as a cty value")


def encode_value(value: Any):
    """Encode Python values as a msgpack tfplugin6.DynamicValue."""
    return pb.DynamicValue(msgpack=msgpack.packb(value, use_bin_type=True, default=_default))


def error(summary: str, detail: str = "", attribute: str | None = None):
    """An error diagnostic, optionally pointing at a top-level attribute."""
    diag = pb.Diagnostic(severity=pb.Diagnostic.ERROR, summary=summary, detail=detail)
    if attribute:
        diag.attribute.steps.add(attribute_name=attribute)
    return diag


def self_signed_certificate(
    organization: str = "tfharness archive stand-in", ip_addresses: tuple[str, ...] = ()
) -> tuple[bytes, bytes, bytes]:
    """(key PEM, certificate PEM, certificate DER) for "localhost" (the name go-plugin's client verifies)
    and ``ip_addresses``, valid for a day. Also the sandbox's moto server certificate."""
    import datetime
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost")]
                + [x509.IPAddress(ipaddress.ip_address(address)) for address in ip_addresses]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                key_agreement=True,
                key_cert_sign=True,
                content_commitment=False,
                data_encipherment=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (
        key_pem,
        certificate.public_bytes(serialization.Encoding.PEM),
        certificate.public_bytes(serialization.Encoding.DER),
    )


Handler = Callable[[Any, grpc.ServicerContext], Any]


def _unary(method_name: str, handler: Handler) -> grpc.RpcMethodHandler:
    method = pb.DESCRIPTOR.services_by_name["Provider"].methods_by_name[method_name]
    request_cls = getattr(pb, method.input_type.full_name.removeprefix("tfplugin6.").split(".")[0])
    for part in method.input_type.full_name.removeprefix("tfplugin6.").split(".")[1:]:
        request_cls = getattr(request_cls, part)
    return grpc.unary_unary_rpc_method_handler(
        handler,
        request_deserializer=request_cls.FromString,
        response_serializer=lambda message: message.SerializeToString(),
    )


def serve(handlers: dict[str, Handler]) -> None:
    """Run a provider whose tfplugin6 methods are `handlers` (method name -> function) until Terraform stops it.

    Methods missing from `handlers` answer UNIMPLEMENTED, which Terraform treats as "not supported"
    for the optional ones (resource identities, functions, ephemeral resources, …).
    """
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.stderr.write(
            "This binary is a Terraform provider plugin. It is not meant to be run directly; "
            "Terraform starts it.\n"
        )
        raise SystemExit(1)
    versions = {v.strip() for v in os.environ.get("PLUGIN_PROTOCOL_VERSIONS", "6").split(",")}
    if str(APP_PROTOCOL_VERSION) not in versions:
        sys.stderr.write(
            f"Terraform asked for plugin protocol {sorted(versions)}; this provider speaks 6 only.\n"
        )
        raise SystemExit(1)

    # Ctrl-C reaches the whole process group; like go-plugin servers, let Terraform decide when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    socket_dir = tempfile.mkdtemp(prefix="tfplugin-")  # mkdtemp creates it 0700
    socket_path = os.path.join(socket_dir, "plugin.sock")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    provider_methods = {name: _unary(name, fn) for name, fn in handlers.items()}
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler("tfplugin6.Provider", provider_methods),
            # go-plugin's controller: Terraform calls Shutdown when it is done with us.
            grpc.method_handlers_generic_handler(
                "plugin.GRPCController",
                {
                    "Shutdown": grpc.unary_unary_rpc_method_handler(
                        lambda _req, _ctx: (server.stop(grace=0.5), b"")[1],
                        request_deserializer=lambda raw: raw,
                        response_serializer=lambda raw: raw,
                    )
                },
            ),
        )
    )
    client_cert = os.environ.get("PLUGIN_CLIENT_CERT")
    server_cert_field = ""
    if client_cert:
        key_pem, cert_pem, cert_der = self_signed_certificate()
        credentials = grpc.ssl_server_credentials([(key_pem, cert_pem)])
        server.add_secure_port(f"unix:{socket_path}", credentials)
        server_cert_field = base64.b64encode(cert_der).decode().rstrip("=")
    else:
        # Only when Terraform runs with automatic mTLS switched off; the socket's directory is still private.
        server.add_insecure_port(f"unix:{socket_path}")
    server.start()
    handshake = (
        f"{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|unix|{socket_path}|grpc|{server_cert_field}\n"
    )
    sys.stdout.write(handshake)
    sys.stdout.flush()
    try:
        server.wait_for_termination()
    finally:
        try:
            os.unlink(socket_path)
            os.rmdir(socket_dir)
        except OSError:
            pass
