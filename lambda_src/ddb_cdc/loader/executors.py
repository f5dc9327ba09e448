"""Executors: the only code that sends SQL to the warehouse.

``run(statements)`` runs a statement list as ONE transaction; ``query(sql)`` runs one
read on its own (ledger look-ups, load errors). Two implementations:

* :class:`DataApiExecutor` (default): the Redshift Data API. ``BatchExecuteStatement``
  runs its statements in one transaction. In ``async`` mode it is submitted with
  ``WithEvent=True`` and the call returns at once; Redshift reports the outcome to
  EventBridge ("Redshift Data Statement Status Change"), which the completion handler
  receives, so no Lambda waits for a COPY. In ``poll`` mode it waits, within a time
  budget, and raises :class:`LoadFailed` on FAILED, ABORTED or timeout.
* :class:`Psycopg2Executor`: a direct connection (a VPC Lambda or the EC2 CLI), with
  credentials read from Secrets Manager or an SSM SecureString at connect time. It verifies
  the server: ``sslmode=verify-full`` (certificate chain and host name) against a trust store
  that Redshift's ACM certificates chain to (see :func:`default_trust_store`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from ddb_cdc.loader.config import RedshiftTarget

SubmissionState = Literal["submitted", "finished"]

# Data API statement states that end a statement (DescribeStatement's Status).
_DONE: Final = frozenset({"FINISHED", "FAILED", "ABORTED"})
# StatementName prefix: the completion handler ignores events of statements it did not name.
STATEMENT_NAME_PREFIX: Final = "ddb_cdc"


class LoadFailed(RuntimeError):
    """A transaction or query did not commit (FAILED, ABORTED, timed out or raised)."""

    def __init__(self, message: str, *, statement_id: str | None = None, state: str = "FAILED"):
        super().__init__(message)
        self.statement_id = statement_id
        self.state = state


# Exceptions of a lost connection, by class name: psycopg2 is imported lazily and may
# be absent, so its classes cannot be named here.
_CONNECTION_ERRORS: Final = frozenset({"OperationalError", "InterfaceError"})


def is_transient(exc: BaseException) -> bool:
    """True when the warehouse did not judge the load: the outcome says nothing about
    the files. A poll timeout (the statement may still commit), an aborted statement
    (cancelled by a person, WLM or a timeout), a lost connection, and every error of
    the call itself (throttling, an unreachable endpoint, a paused cluster: botocore's
    ClientError and BotoCoreError). Only a FAILED statement or a statement error on a
    live connection is the warehouse's verdict.
    """
    if not isinstance(exc, LoadFailed):
        return True
    if exc.state in ("TIMEOUT", "ABORTED"):
        return True
    cause = exc.__cause__
    return cause is not None and type(cause).__name__ in _CONNECTION_ERRORS


@dataclass(frozen=True, slots=True)
class Submission:
    """What ``run`` returns: ``finished`` when committed, ``submitted`` when the
    outcome arrives later as an EventBridge event (Data API async mode)."""

    state: SubmissionState
    statement_id: str | None = None


Row = tuple[Any, ...]


class Executor(Protocol):
    # ``wait=True`` waits for the outcome even where the executor would not (Data API
    # async mode): a compacted load's caller, the state machine, must know it.
    def run(
        self, statements: Sequence[str], *, name: str | None = None, wait: bool = False
    ) -> Submission: ...

    def query(self, sql: str, params: Mapping[str, str] | None = None) -> list[Row]: ...


def statement_name(table: str, load_id: str) -> str:
    """``ddb_cdc:<table>:<load_id>``: how the completion handler finds a load's manifest."""
    return f"{STATEMENT_NAME_PREFIX}:{table}:{load_id}"


def parse_statement_name(name: object) -> tuple[str, str] | None:
    """``(table, load_id)`` from :func:`statement_name`, or None for anyone else's statement."""
    if not isinstance(name, str):
        return None
    match = re.fullmatch(rf"{STATEMENT_NAME_PREFIX}:([A-Za-z0-9_.-]{{3,255}}):([A-Za-z0-9_.-]{{1,64}})", name)
    return (match.group(1), match.group(2)) if match else None


# ---------------------------------------------------------------------------
# Redshift Data API
# ---------------------------------------------------------------------------


def _field_value(field: Mapping[str, Any]) -> Any:
    # GetStatementResult returns each field as a one-key union (stringValue,
    # longValue, doubleValue, booleanValue, blobValue) or {"isNull": true}.
    if field.get("isNull"):
        return None
    for name in ("stringValue", "longValue", "doubleValue", "booleanValue", "blobValue"):
        if name in field:
            return field[name]
    return None


class DataApiExecutor:
    def __init__(
        self,
        client: Any,
        target: RedshiftTarget,
        *,
        mode: Literal["async", "poll"],
        poll_budget_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._target = target
        self.mode = mode
        self._budget = poll_budget_seconds
        self._sleep = sleep
        self._clock = clock

    def connection_parameters(self) -> dict[str, str]:
        """Database plus exactly one authentication shape (see RedshiftTarget)."""
        target = self._target
        parameters = {"Database": target.database}
        if target.kind == "workgroup":
            parameters["WorkgroupName"] = str(target.workgroup)
        elif target.kind == "cluster_db_user":
            parameters.update(ClusterIdentifier=str(target.cluster_id), DbUser=str(target.db_user))
        else:
            parameters.update(ClusterIdentifier=str(target.cluster_id), SecretArn=str(target.secret_arn))
        return parameters

    def run(self, statements: Sequence[str], *, name: str | None = None, wait: bool = False) -> Submission:
        request: dict[str, Any] = {**self.connection_parameters(), "Sqls": list(statements)}
        if name:
            request["StatementName"] = name
        waits = wait or self.mode == "poll"
        if not waits:
            request["WithEvent"] = True
        statement_id = self._client.batch_execute_statement(**request)["Id"]
        if not waits:
            return Submission("submitted", statement_id)
        self._wait(statement_id)
        return Submission("finished", statement_id)

    def query(self, sql: str, params: Mapping[str, str] | None = None) -> list[Row]:
        request: dict[str, Any] = {**self.connection_parameters(), "Sql": sql}
        if params:
            request["Parameters"] = [{"name": key, "value": value} for key, value in params.items()]
        statement_id = self._client.execute_statement(**request)["Id"]
        description = self._wait(statement_id)
        if not description.get("HasResultSet"):
            return []
        rows: list[Row] = []
        token: str | None = None
        while True:
            page = self._client.get_statement_result(
                Id=statement_id, **({"NextToken": token} if token else {})
            )
            rows.extend(tuple(_field_value(field) for field in record) for record in page.get("Records", []))
            token = page.get("NextToken")
            if not token:
                return rows

    def describe(self, statement_id: str) -> Mapping[str, Any]:
        return self._client.describe_statement(Id=statement_id)

    def _wait(self, statement_id: str) -> Mapping[str, Any]:
        deadline = self._clock() + self._budget
        delay = 0.25
        while True:
            description = self._client.describe_statement(Id=statement_id)
            status = description.get("Status")
            if status == "FINISHED":
                return description
            if status in _DONE:
                raise LoadFailed(
                    f"statement {status}: {description.get('Error', 'no error text')}",
                    statement_id=statement_id,
                    state=str(status),
                )
            if self._clock() + delay > deadline:
                # The statement may still commit later; the ledger makes a rerun harmless.
                raise LoadFailed(
                    f"statement still {status} after {self._budget:.0f} s",
                    statement_id=statement_id,
                    state="TIMEOUT",
                )
            self._sleep(delay)
            delay = min(delay * 2, 5.0)


# ---------------------------------------------------------------------------
# psycopg2
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DbCredentials:
    host: str
    port: int
    dbname: str
    user: str
    password: str

    def __repr__(self) -> str:  # never print the password, even in a traceback
        return (
            f"DbCredentials(host={self.host!r}, port={self.port}, dbname={self.dbname!r}, user={self.user!r})"
        )

    @classmethod
    def from_json(cls, raw: str, source: str) -> DbCredentials:
        try:
            document = json.loads(raw)
        except json.JSONDecodeError:
            raise LoadFailed(f"{source} is not JSON") from None
        if not isinstance(document, dict):
            raise LoadFailed(f"{source} must hold a JSON object")
        dbname = document.get("dbname") or document.get("database")
        user = document.get("username") or document.get("user")
        missing = [
            name
            for name, value in (
                ("host", document.get("host")),
                ("dbname|database", dbname),
                ("username|user", user),
                ("password", document.get("password")),
            )
            if not value
        ]
        if missing:
            raise LoadFailed(f"{source} lacks {', '.join(missing)}")
        try:
            port = int(document.get("port", 5439))
        except (TypeError, ValueError):
            raise LoadFailed(f"{source} has a port that is not a number") from None
        return cls(str(document["host"]), port, str(dbname), str(user), str(document["password"]))


def credentials_from_secret(secrets_client: Any, secret_arn: str) -> DbCredentials:
    value = secrets_client.get_secret_value(SecretId=secret_arn)["SecretString"]
    return DbCredentials.from_json(value, "the database secret")


def credentials_from_ssm(ssm_client: Any, name: str) -> DbCredentials:
    value = ssm_client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    return DbCredentials.from_json(value, "the database SSM parameter")


# libpq's sslmode values that check the server's certificate against sslrootcert.
VERIFYING_SSLMODES: Final = frozenset({"verify-ca", "verify-full"})
DEFAULT_SSLMODE: Final = "verify-full"

# Redshift installs an ACM-issued certificate on every cluster and workgroup; ACM certificates chain to the Amazon
# Root CAs (cross-signed by Starfield Services Root CA - G2), which Redshift's own amazon-trust-ca-bundle.crt holds
# ("Configuring security options for connections", Amazon Redshift management guide,
# https://docs.aws.amazon.com/redshift/latest/mgmt/connecting-ssl-support.html). The Mozilla root store holds the same
# roots; it ships as certifi's cacert.pem, as botocore's own copy (botocore is in every Lambda Python runtime, and on
# the ec2_cron host with boto3), and as the system bundle of Amazon Linux.
_SYSTEM_TRUST_STORES: Final = ("/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt")


def default_trust_store() -> str | None:
    """The first CA bundle present: certifi's, botocore's, then the system's; None if none is."""
    candidates: list[str] = []
    with contextlib.suppress(ImportError):
        import certifi  # optional: present wherever requests or a recent botocore is

        candidates.append(certifi.where())
    with contextlib.suppress(ImportError):
        import botocore

        candidates.append(str(Path(botocore.__file__).parent / "cacert.pem"))
    candidates.extend(_SYSTEM_TRUST_STORES)
    return next((path for path in candidates if os.path.isfile(path)), None)


class Psycopg2Executor:
    """One connection per executor, opened on first use.

    psycopg2 is imported lazily: it lives in a Lambda layer that only the VPC variant
    carries, and the Data API deployment must import this module without it.

    TLS: ``verify-full`` by default, against ``sslrootcert`` (default: :func:`default_trust_store`).
    A weaker ``sslmode`` is a deliberate configuration (CDC_DB_SSLMODE), never a fallback.
    """

    def __init__(
        self,
        credentials: Callable[[], DbCredentials],
        *,
        connect_timeout_seconds: int,
        statement_timeout_ms: int,
        sslmode: str = DEFAULT_SSLMODE,
        sslrootcert: str | None = None,
    ) -> None:
        self._credentials = credentials
        self._connect_timeout = connect_timeout_seconds
        self._statement_timeout = statement_timeout_ms
        self._sslmode = sslmode
        self._sslrootcert = sslrootcert
        self._connection: Any = None

    def _tls_parameters(self) -> dict[str, str]:
        if self._sslmode not in VERIFYING_SSLMODES:
            return {"sslmode": self._sslmode}
        root = self._sslrootcert or default_trust_store()
        if root is None or not os.path.isfile(root):
            # Without a trust store libpq would refuse anyway; say why, and never fall back to "require".
            found = f"{root} is not a file" if root else "none was found"
            raise LoadFailed(
                f"sslmode={self._sslmode} needs a CA bundle and {found}: "
                "set the module input redshift.db_sslrootcert (the function's CDC_DB_SSLROOTCERT) to a bundle "
                "Redshift's certificates chain to, shipped in a layer "
                "(https://s3.amazonaws.com/redshift-downloads/amazon-trust-ca-bundle.crt)",
                state="ABORTED",
            )
        return {"sslmode": self._sslmode, "sslrootcert": root}

    def _connect(self) -> Any:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        import psycopg2  # deferred: see the class docstring

        creds = self._credentials()
        self._connection = psycopg2.connect(
            host=creds.host,
            port=creds.port,
            dbname=creds.dbname,
            user=creds.user,
            password=creds.password,
            connect_timeout=self._connect_timeout,
            **self._tls_parameters(),
            # Bounds every statement server-side, so a stuck COPY cannot outlive the Lambda.
            options=f"-c statement_timeout={self._statement_timeout}",
        )
        self._connection.autocommit = False
        return self._connection

    def run(self, statements: Sequence[str], *, name: str | None = None, wait: bool = False) -> Submission:
        # A direct connection always waits for the outcome, whatever `wait` says.
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
            connection.commit()
        except Exception as exc:
            _rollback(connection)
            raise LoadFailed(f"transaction rolled back: {type(exc).__name__}: {exc}".strip()) from exc
        return Submission("finished")

    def query(self, sql: str, params: Mapping[str, str] | None = None) -> list[Row]:
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                if params:
                    # Data API style :name placeholders become psycopg2's %(name)s.
                    converted = re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", sql.replace("%", "%%"))
                    cursor.execute(converted, dict(params))
                else:
                    cursor.execute(sql)
                rows = [tuple(row) for row in cursor.fetchall()] if cursor.description else []
            connection.commit()
        except Exception as exc:
            _rollback(connection)
            raise LoadFailed(f"query failed: {type(exc).__name__}: {exc}".strip()) from exc
        return rows

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _rollback(connection: Any) -> None:
    # A dead connection cannot roll back, and needs not: the server already has.
    with contextlib.suppress(Exception):
        connection.rollback()
