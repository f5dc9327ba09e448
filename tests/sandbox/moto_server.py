"""An in-process moto server on 127.0.0.1, on a free port, with fresh state, over HTTPS if asked.

moto keeps every backend in module globals, so the server thread and this process share one state: the
sandbox's patches (plain monkeypatches of moto's backends) act on what Terraform and the handlers see.
That state is reset when the server starts and again when it stops, so one run never leaks into the next.

The demo serves TLS (``tls_dir``) because the module's bucket policy denies every request that does not
use it (``aws:SecureTransport``), exactly as in AWS; the certificate is made per run for 127.0.0.1 and
written to ``tls_dir/moto-ca.pem``, which clients trust through the standard ``AWS_CA_BUNDLE`` setting.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from tests.tfharness.tfplugin import self_signed_certificate

HOST = "127.0.0.1"
CA_BUNDLE_NAME = "moto-ca.pem"


def reset_moto() -> None:
    """Drop every resource of every moto backend (moto's own reset API, as POST /moto-api/reset does)."""
    moto_api_backend.reset()


def write_certificate(tls_dir: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, valid for a day: (certificate, key)."""
    key_pem, certificate_pem, _ = self_signed_certificate("ddb-cdc sandbox moto", ip_addresses=(HOST,))
    tls_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = tls_dir / CA_BUNDLE_NAME, tls_dir / "moto-key.pem"
    cert_path.write_bytes(certificate_pem)
    key_path.touch(mode=0o600)
    key_path.write_bytes(key_pem)
    return cert_path, key_path


@contextmanager
def running_moto(quiet: bool = True, tls_dir: Path | None = None) -> Iterator[str]:
    """Start moto in a thread of this process and yield its endpoint URL, e.g. ``http://127.0.0.1:40123``.

    Port 0 lets the kernel pick a free port, so there is no race between choosing and binding it.
    ``quiet`` silences werkzeug's line per request (thousands per demo run) while the server runs.
    With ``tls_dir`` the server speaks HTTPS (``https://127.0.0.1:<port>``) with a certificate made for
    this run; trust ``tls_dir / CA_BUNDLE_NAME``.
    """
    werkzeug_log = logging.getLogger("werkzeug")
    previous_level = werkzeug_log.level
    if quiet:
        werkzeug_log.setLevel(logging.WARNING)
    context = None
    if tls_dir is not None:
        cert_path, key_path = write_certificate(tls_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
    reset_moto()
    # What moto's ThreadedMotoServer does, plus the TLS context it does not take.
    server = make_server(
        HOST,
        0,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler,
        ssl_context=context,
    )
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"{'https' if context else 'http'}://{host}:{port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        reset_moto()
        werkzeug_log.setLevel(previous_level)
