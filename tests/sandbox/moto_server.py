"""An in-process moto server on 127.0.0.1, on a free port, with fresh state, over HTTPS if asked.

moto keeps every backend in module globals, so the server thread and this process share one state: the
sandbox's patches (plain monkeypatches of moto's backends) act on what Terraform and the handlers see.
That state is reset when the server starts and again when it stops, so one run never leaks into the next.

The demo serves TLS (``tls_dir``) because the module's bucket policy denies every request that does not
use it (``aws:SecureTransport``), exactly as in AWS; the certificate is made per run for 127.0.0.1 and
written to ``tls_dir/moto-ca.pem``, which clients trust through the standard ``AWS_CA_BUNDLE`` setting.

IAM is enforced (``enforce_iam``, on by default): every request must be signed by a known identity and be allowed by
its policies, as in AWS. moto's documented dummy keys (``testing``/``testing``, :data:`tests.sandbox.DUMMY_CREDENTIALS`)
belong to the IAM user ``sandbox-admin`` with ``Allow * on *``: Terraform, the demo driver, the patches, the
generator and ``cli init`` sign with them. The Lambda runtime signs each handler's calls with its role's session.
The resources and condition keys moto does not see are supplied by the ``iam-request-context`` patch.

A retried SDK call whose first attempt the server completed gets that attempt's answer (:class:`RetriedRequests`).
"""

from __future__ import annotations

import contextlib
import logging
import re
import ssl
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moto import settings
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam.models import iam_backends
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from tests.sandbox import DUMMY_CREDENTIALS
from tests.tfharness.tfplugin import self_signed_certificate

HOST = "127.0.0.1"
CA_BUNDLE_NAME = "moto-ca.pem"
ADMIN_USER = "sandbox-admin"
ADMIN_POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'


_ATTEMPT = re.compile(r"attempt=(\d+)")


class RetriedRequests:
    """WSGI middleware: a later attempt of an SDK call whose first attempt this server completed gets that answer.

    The AWS SDKs send one ``amz-sdk-invocation-id`` header for every attempt of an operation, and
    ``amz-sdk-request: attempt=N``. Under load the in-process server sometimes completes a request but the connection
    fails before the client reads the answer (seen with CreateRole and CreateAlias from the AWS provider, several
    demos on two cores); the SDK then retries a create that already happened, the service rightly answers
    EntityAlreadyExists/AlreadyExists, and the apply fails. That lost answer is the sandbox's own transport defect, not
    AWS behaviour, so the answer of the completed attempt is replayed. Only successful (2xx) answers to requests that
    change something (not GET or HEAD) are kept, up to 64 KiB each (the answers of creates are small): an error
    answer (throttling, an injected 503) is retried for real, as a real endpoint would be.
    """

    def __init__(
        self, app: Callable[..., Iterable[bytes]], capacity: int = 4096, max_body: int = 64 * 1024
    ) -> None:
        self.app = app
        self.capacity = capacity
        self.max_body = max_body
        self.replayed = 0
        self._done: OrderedDict[str, tuple[str, list[tuple[str, str]], bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
        if not invocation or environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self.app(environ, start_response)
        attempt = _ATTEMPT.search(environ.get("HTTP_AMZ_SDK_REQUEST", ""))
        if attempt is not None and int(attempt.group(1)) > 1:
            with self._lock:
                done = self._done.get(invocation)
                if done is not None:
                    self.replayed += 1
            if done is not None:
                status, headers, body = done
                start_response(status, headers)
                return [body]
        answer: dict[str, Any] = {}

        def record(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = status, list(headers)
            return start_response(status, headers, exc_info)

        chunks = self.app(environ, record)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if str(answer.get("status", "")).startswith("2") and len(body) <= self.max_body:
            with self._lock:
                self._done[invocation] = (answer["status"], answer["headers"], body)
                while len(self._done) > self.capacity:
                    self._done.popitem(last=False)
        return [body]


def reset_moto() -> None:
    """Drop every resource of every moto backend (moto's own reset API, as POST /moto-api/reset does)."""
    moto_api_backend.reset()


def create_admin(account_id: str = DEFAULT_ACCOUNT_ID) -> str:
    """The IAM user that owns the sandbox's dummy keys, allowed everything; returns its ARN."""
    backend = iam_backends[account_id]["aws"]
    user = backend.create_user("us-east-1", ADMIN_USER)
    backend.put_user_policy(ADMIN_USER, "administrator", ADMIN_POLICY)
    key = backend.create_access_key(ADMIN_USER)
    backend.access_keys.pop(key.physical_resource_id, None)
    key.access_key_id = DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"]
    key.secret_access_key = DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
    backend.access_keys[key.physical_resource_id] = key
    return user.arn


@contextmanager
def iam_enforced() -> Iterator[None]:
    """moto's IAM authorization on from the next request (its ``INITIAL_NO_AUTH_ACTION_COUNT`` set to 0)."""
    previous = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0
    try:
        yield
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = previous


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
def running_moto(quiet: bool = True, tls_dir: Path | None = None, enforce_iam: bool = True) -> Iterator[str]:
    """Start moto in a thread of this process and yield its endpoint URL, e.g. ``http://127.0.0.1:40123``.

    Port 0 lets the kernel pick a free port, so there is no race between choosing and binding it.
    ``quiet`` silences werkzeug's line per request (thousands per demo run) while the server runs.
    With ``tls_dir`` the server speaks HTTPS (``https://127.0.0.1:<port>``) with a certificate made for
    this run; trust ``tls_dir / CA_BUNDLE_NAME``. With ``enforce_iam`` requests are authorized (module doc).
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
    iam = contextlib.ExitStack()
    if enforce_iam:
        from tests.sandbox.patches import iam_request_context

        create_admin()
        iam.enter_context(iam_request_context.installed())
        iam.enter_context(iam_enforced())
    # What moto's ThreadedMotoServer does, plus the TLS context it does not take.
    server = make_server(
        HOST,
        0,
        RetriedRequests(DomainDispatcherApplication(create_backend_app)),
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
        iam.close()
        reset_moto()
        werkzeug_log.setLevel(previous_level)
