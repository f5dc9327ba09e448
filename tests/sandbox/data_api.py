"""The sandbox's Redshift Data API: statements run on PostgreSQL, asynchronously.

:class:`DataApiEngine` is what ``patches/redshift_data.py`` routes moto's ``redshift-data``
calls to. It follows the Amazon Redshift Data API Reference
(https://docs.aws.amazon.com/redshift-data/latest/APIReference/Welcome.html):

* A statement is SUBMITTED when accepted, STARTED when a worker thread picks it up and
  then FINISHED, FAILED or ABORTED (``cancel``). Each statement runs on its own
  PostgreSQL connection, in a pool of ``max_workers`` threads (Redshift's concurrency).
* ``BatchExecuteStatement`` runs its SQL list as ONE transaction: all of it commits or
  none of it. ``DescribeStatement`` lists the SubStatements (``<id>:1``, ``<id>:2`` ...)
  with their own status, duration, rows and error. ExecuteStatement commits on its own.
* The Redshift SQL is translated by :mod:`tests.sandbox.redshift_sql`; a COPY is run by
  the rig's strict COPY adapter (``tests.rig.pg_copy``), which reads the manifest and its
  objects from (moto's) S3. A failed COPY leaves rows in ``stl_load_errors`` and
  ``sys_load_error_detail`` that survive the rollback, as Redshift's do.
* Parameters (``:name``) are strings that the database types from their context.
* Results: ``GetStatementResult`` pages (``NextToken``) of typed field unions
  (``stringValue``, ``longValue``, ``doubleValue``, ``booleanValue``, ``isNull``) with
  ``ColumnMetadata``; DECIMAL, dates, timestamps and SUPER come back as strings.
* ``WithEvent=True``: when the statement ends, the "Redshift Data Statement Status
  Change" event ("Monitoring events for the Amazon Redshift Data API in Amazon
  EventBridge", https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-monitoring-events.html)
  goes to the ``publish`` callback (the patch puts it on moto's default event bus).

Errors of a FAILED statement read like Redshift's (``ERROR: ...``).

Fault injection (``make demo --faults outage``): :meth:`DataApiEngine.begin_outage` makes
the warehouse unreachable for a while, as a paused workgroup or a failed-over cluster is.
New statements are refused (:class:`WarehouseUnavailable`; the patch answers
``DatabaseConnectionException``, HTTP 500, "Connection to a database failed" in the API
reference), running ones FAIL with a lost connection, and then it recovers by itself.
Statements already known stay describable: the Data API, not the warehouse, keeps them.

Where it differs from the service: one PostgreSQL database serves every ``Database``
name; ``DbUser`` and ``SecretArn`` are recorded but never authenticate (the secret is not
read); sessions (``SessionId``, ``SessionKeepAliveSeconds``) and CSV results are refused;
``ClientToken`` is not used for idempotency; result pages are cut by row count, not by
size; statements and results never expire (``expireAt`` is only reported); the event's
``principal`` is the account root and its ``redshiftQueryId`` is -1; load-error rows carry
no raw line and one error code (1200) for every COPY failure.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import itertools
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

import psycopg2
import psycopg2.errors
import psycopg2.extras
from botocore.exceptions import ClientError

from tests.rig.pg_copy import CopyError, StrictCopyExecutor, parse_copy
from tests.sandbox import redshift_rules as rules
from tests.sandbox.redshift_sql import (
    SYSTEM_DDL,
    SYSTEM_SCHEMA,
    CatalogSuperColumns,
    Translator,
    UnsupportedSql,
    changes_catalog,
)

SUBMITTED: Final = "SUBMITTED"
STARTED: Final = "STARTED"
FINISHED: Final = "FINISHED"
FAILED: Final = "FAILED"
ABORTED: Final = "ABORTED"
TERMINAL: Final = frozenset({FINISHED, FAILED, ABORTED})
DETAIL_TYPE: Final = "Redshift Data Statement Status Change"
RESULT_RETENTION_S: Final = 24 * 3600  # results and events expire after 24 hours

# PostgreSQL type OID -> (Redshift type name, field kind, signed)
_TYPES: Final[dict[int, tuple[str, str, bool]]] = {
    16: ("bool", "booleanValue", False),
    20: ("int8", "longValue", True),
    21: ("int2", "longValue", True),
    23: ("int4", "longValue", True),
    26: ("oid", "longValue", False),
    700: ("float4", "doubleValue", True),
    701: ("float8", "doubleValue", True),
    1700: ("numeric", "stringValue", True),
    25: ("varchar", "stringValue", False),
    1043: ("varchar", "stringValue", False),
    1042: ("bpchar", "stringValue", False),
    19: ("name", "stringValue", False),
    1082: ("date", "stringValue", False),
    1114: ("timestamp", "stringValue", False),
    1184: ("timestamptz", "stringValue", False),
    3802: ("super", "stringValue", False),
    114: ("super", "stringValue", False),
}


class StatementNotFound(KeyError):
    """No statement with that Id (the API's ResourceNotFoundException)."""


class InvalidRequest(ValueError):
    """A request the API refuses (ValidationException); the message is AWS's wording."""


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be reached (an injected outage): no statement can start."""


class _Aborted(Exception):
    pass


class _ConnectionLost(Exception):
    pass


# What a statement that was running when the outage began reports. Worded as PostgreSQL (and
# Redshift, on which it is built) words a connection the server closed; the Data API passes it on.
CONNECTION_LOST: Final = (
    "ERROR: terminating connection due to administrator command (sandbox fault injection: warehouse outage)"
)


@dataclass
class SubStatement:
    id: str
    sql: str
    status: str = SUBMITTED
    created_at: float = 0.0
    updated_at: float = 0.0
    duration_ns: int = -1
    error: str | None = None
    query_id: int = 0
    rowcount: int = -1
    columns: list[dict[str, Any]] | None = None
    rows: list[list[dict[str, Any]]] | None = None
    result_size: int = -1

    @property
    def has_result_set(self) -> bool:
        return self.columns is not None

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "Id": self.id,
            "Status": self.status,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "Duration": self.duration_ns,
            "QueryString": self.sql,
            "HasResultSet": self.has_result_set,
            "ResultRows": len(self.rows) if self.rows is not None else self.rowcount,
            "ResultSize": self.result_size,
            "RedshiftQueryId": self.query_id,
        }
        if self.error:
            described["Error"] = self.error
        return described


@dataclass
class Statement:
    id: str
    batch: bool
    subs: list[SubStatement]
    database: str
    cluster_identifier: str | None
    workgroup_name: str | None
    db_user: str | None
    secret_arn: str | None
    statement_name: str | None
    with_event: bool
    parameters: list[dict[str, str]] | None
    account_id: str
    region: str
    created_at: float
    status: str = SUBMITTED
    updated_at: float = 0.0
    started: float | None = None
    error: str | None = None
    pid: int = 0
    cancel_requested: bool = False
    connection_lost: bool = False  # an outage began while it ran
    connection: Any = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def result_rows(self) -> int:
        return (
            self.subs[-1].describe()["ResultRows"]
            if not self.batch
            else sum(max(sub.describe()["ResultRows"], 0) for sub in self.subs)
        )

    def describe(self) -> dict[str, Any]:
        duration = (
            self.subs[0].duration_ns
            if not self.batch
            else (sum(max(sub.duration_ns, 0) for sub in self.subs) if self.status in TERMINAL else -1)
        )
        described: dict[str, Any] = {
            "Id": self.id,
            "Database": self.database,
            "Status": self.status,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "Duration": duration,
            "RedshiftPid": self.pid,
            "HasResultSet": any(sub.has_result_set for sub in self.subs),
            "ResultRows": self.result_rows,
            "ResultSize": -1 if self.batch else self.subs[0].result_size,
            "RedshiftQueryId": 0 if self.batch else self.subs[0].query_id,
        }
        for key, value in (
            ("ClusterIdentifier", self.cluster_identifier),
            ("WorkgroupName", self.workgroup_name),
            ("DbUser", self.db_user),
            ("SecretArn", self.secret_arn),
            ("Error", self.error),
        ):
            if value:
                described[key] = value
        if self.parameters:
            described["QueryParameters"] = self.parameters
        if self.batch:
            described["SubStatements"] = [sub.describe() for sub in self.subs]
        else:
            described["QueryString"] = self.subs[0].sql
        return described

    def listed(self) -> dict[str, Any]:
        listed: dict[str, Any] = {
            "Id": self.id,
            "Status": self.status,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "IsBatchStatement": self.batch,
        }
        if self.batch:
            listed["QueryStrings"] = [sub.sql for sub in self.subs]
        else:
            listed["QueryString"] = self.subs[0].sql
        if self.statement_name:
            listed["StatementName"] = self.statement_name
        if self.secret_arn:
            listed["SecretArn"] = self.secret_arn
        if self.parameters:
            listed["QueryParameters"] = self.parameters
        return listed

    def event(self) -> dict[str, Any]:
        """The EventBridge entry (PutEvents shape) of this statement's terminal state."""
        if self.cluster_identifier:
            resource = f"arn:aws:redshift:{self.region}:{self.account_id}:cluster:{self.cluster_identifier}"
        else:
            resource = (
                f"arn:aws:redshift-serverless:{self.region}:{self.account_id}:workgroup/{self.workgroup_name}"
            )
        detail: dict[str, Any] = {
            "principal": f"arn:aws:iam::{self.account_id}:root",
            "statementId": self.id,
            "redshiftQueryId": -1,
            "state": self.status,
            "rows": self.result_rows,
            "expireAt": int(self.created_at) + RESULT_RETENTION_S,
        }
        if self.statement_name:
            detail["statementName"] = self.statement_name
        return {
            "Source": "aws.redshift-data",
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(detail),
            "Resources": [resource],
            # PutEvents' Time is a timestamp (epoch seconds on the wire, as moto expects it).
            "Time": self.updated_at,
        }


Publisher = Callable[[Statement], None]
# (IAM_ROLE of a COPY, Serverless or not) -> an S3 client acting as that role, as Redshift does; raises
# PermissionError when Redshift could not assume the role. See DataApiEngine.
RoleS3 = Callable[[str, bool], Any]


class DataApiEngine:
    """Runs Data API statements on PostgreSQL; see the module docstring.

    ``s3_client`` serves COPY (manifest and objects), unless ``s3_for_role`` is given: then every COPY reads
    S3 as its own ``IAM_ROLE``, as Redshift does ("Authorizing COPY, UNLOAD, CREATE EXTERNAL FUNCTION, and
    CREATE EXTERNAL SCHEMA operations using IAM roles", Redshift Management Guide): a role Redshift cannot
    assume, or one whose policies do not allow ``s3:GetObject`` on the manifest or a file, fails the COPY with
    the error Redshift reports (``S3ServiceException:Access Denied,Status 403``), not a load error of a file.
    A chain of roles (``role1,role2``) is not emulated and fails the COPY. ``publish`` receives each
    ``WithEvent`` statement once it is terminal. ``page_rows`` bounds a result page
    (Redshift bounds pages by size, 100 MB; a small page here exercises NextToken).
    """

    def __init__(
        self,
        pg_dsn: str,
        s3_client: Any,
        *,
        publish: Publisher | None = None,
        max_workers: int = 4,
        page_rows: int = 1000,
        s3_for_role: RoleS3 | None = None,
    ) -> None:
        self._dsn = pg_dsn
        self._s3 = s3_client
        self._s3_for_role = s3_for_role
        self._publish = publish
        self._page_rows = page_rows
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="redshift-data")
        self._lock = threading.Lock()
        self._statements: dict[str, Statement] = {}
        self._query_ids = itertools.count(1000)
        self._counts: Counter[str] = Counter()
        self._translation_s = 0.0
        self._translated = 0
        self.publish_errors: list[str] = []
        # (start, earliest end, latest end) on time.monotonic(), and the refusals counted before it.
        self._outage: tuple[float, float, float] | None = None
        self._refused_before = 0
        self._armed_outage: tuple[float, float | None] | None = None  # begun by the next batch
        connection = psycopg2.connect(self._dsn)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                for ddl in SYSTEM_DDL:
                    cursor.execute(ddl)
        finally:
            connection.close()

    # -- API ------------------------------------------------------------------

    def submit(
        self,
        sqls: Sequence[str],
        *,
        batch: bool,
        database: str,
        account_id: str,
        region: str,
        cluster_identifier: str | None = None,
        workgroup_name: str | None = None,
        db_user: str | None = None,
        secret_arn: str | None = None,
        statement_name: str | None = None,
        with_event: bool = False,
        parameters: Sequence[Mapping[str, str]] | None = None,
    ) -> Statement:
        """Accept a statement (validation is the caller's) and queue it; returns at once."""
        now = time.time()
        statement_id = str(uuid.uuid4())
        subs = [
            SubStatement(
                f"{statement_id}:{index}" if batch else statement_id, sql, created_at=now, updated_at=now
            )
            for index, sql in enumerate(sqls, start=1)
        ]
        statement = Statement(
            id=statement_id,
            batch=batch,
            subs=subs,
            database=database,
            cluster_identifier=cluster_identifier,
            workgroup_name=workgroup_name,
            db_user=db_user,
            secret_arn=secret_arn,
            statement_name=statement_name,
            with_event=with_event,
            parameters=[dict(p) for p in parameters] if parameters else None,
            account_id=account_id,
            region=region,
            created_at=now,
            updated_at=now,
        )
        with self._lock:
            self._statements[statement_id] = statement
            self._counts["submitted"] += 1
            armed = self._armed_outage if batch else None
            if armed is not None:
                self._armed_outage = None
        if armed is not None:
            self.begin_outage(armed[0], at_most=armed[1])
        self._pool.submit(self._run, statement)
        return statement

    def get(self, statement_id: str) -> tuple[Statement, SubStatement | None]:
        """The statement (and the sub-statement, for a ``<id>:<n>`` Id)."""
        base, _, suffix = statement_id.partition(":")
        statement = self._statements.get(base)
        if statement is None:
            raise StatementNotFound(statement_id)
        if not suffix:
            return statement, None
        if not statement.batch or not suffix.isdigit() or not 1 <= int(suffix) <= len(statement.subs):
            raise StatementNotFound(statement_id)
        return statement, statement.subs[int(suffix) - 1]

    def describe(self, statement_id: str) -> dict[str, Any]:
        statement, sub = self.get(statement_id)
        with self._lock:
            if sub is None:
                return statement.describe()
            described = sub.describe()
            described.update(
                {
                    key: value
                    for key, value in statement.describe().items()
                    if key
                    in (
                        "Database",
                        "ClusterIdentifier",
                        "WorkgroupName",
                        "DbUser",
                        "SecretArn",
                        "RedshiftPid",
                    )
                }
            )
            return described

    def result(self, statement_id: str, next_token: str | None = None) -> dict[str, Any]:
        statement, sub = self.get(statement_id)
        if sub is None:
            if statement.batch:
                raise InvalidRequest(
                    "Query does not have result. Please check query status with DescribeStatement."
                )
            sub = statement.subs[0]
        if sub.status != FINISHED or sub.rows is None or sub.columns is None:
            raise InvalidRequest(
                "Query does not have result. Please check query status with DescribeStatement."
            )
        start = 0
        if next_token:
            try:
                token_id, offset = base64.urlsafe_b64decode(next_token.encode()).decode().rsplit("|", 1)
                start = int(offset)
            except (ValueError, UnicodeDecodeError):
                raise InvalidRequest("Invalid NextToken.") from None
            if token_id != sub.id or not 0 <= start <= len(sub.rows):
                raise InvalidRequest("Invalid NextToken.")
        end = min(start + self._page_rows, len(sub.rows))
        page: dict[str, Any] = {
            "Records": sub.rows[start:end],
            "ColumnMetadata": sub.columns,
            "TotalNumRows": len(sub.rows),
        }
        if end < len(sub.rows):
            page["NextToken"] = base64.urlsafe_b64encode(f"{sub.id}|{end}".encode()).decode()
        return page

    def cancel(self, statement_id: str) -> bool:
        statement, sub = self.get(statement_id)
        if sub is not None:
            raise InvalidRequest("Cancel is not supported for a sub-statement; cancel the batch Id.")
        with self._lock:
            if statement.status in TERMINAL:
                raise InvalidRequest(
                    f"Could not cancel a query that is already in {statement.status} state with ID: {statement.id}"
                )
            statement.cancel_requested = True
            connection = statement.connection
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.cancel()  # interrupts the running SQL; the worker rolls back
        return True

    def list(self, *, status: str | None = None, statement_name: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            statements = sorted(self._statements.values(), key=lambda s: s.created_at, reverse=True)
            return [
                s.listed()
                for s in statements
                if (status in (None, "ALL") or s.status == status)
                and (statement_name is None or (s.statement_name or "").startswith(statement_name))
            ]

    # -- fault injection ------------------------------------------------------

    def begin_outage(self, seconds: float, *, at_most: float | None = None) -> None:
        """The warehouse is unreachable from now, then recovers by itself: for ``seconds``, and
        on until it refused a call (so the outage is met, however slow the machine), but never
        past ``at_most`` seconds. :meth:`check_available` refuses new statements, and every
        statement running now (or started before the end) FAILS with :data:`CONNECTION_LOST`."""
        with self._lock:
            now = time.monotonic()
            self._outage = (now, now + seconds, now + max(seconds, at_most or seconds))
            self._refused_before = self._counts["outage_refused"]
            self._counts["outages"] += 1
            running = [s for s in self._statements.values() if s.status not in TERMINAL]
            for statement in running:
                statement.connection_lost = True
            connections = [s.connection for s in running if s.connection is not None]
        for connection in connections:
            with contextlib.suppress(Exception):
                connection.cancel()  # the worker sees QueryCanceled and reports the lost connection

    def arm_outage(self, seconds: float, *, at_most: float | None = None) -> None:
        """:meth:`begin_outage` at the next BatchExecuteStatement (a load): that statement is
        accepted and then loses its connection, so the outage meets a load in flight."""
        with self._lock:
            self._armed_outage = (seconds, at_most)

    def _down(self) -> bool:
        """Whether an outage is on now (call with ``self._lock`` held)."""
        if self._outage is None:
            return False
        start, end, latest = self._outage
        now = time.monotonic()
        unmet = self._counts["outage_refused"] == self._refused_before
        return start <= now < end or (unmet and now < latest)

    def check_available(self) -> None:
        """Raise :class:`WarehouseUnavailable` while an outage is on (counted in ``stats``)."""
        with self._lock:
            if self._down():
                self._counts["outage_refused"] += 1
                raise WarehouseUnavailable(
                    "Connection to a database failed (sandbox fault injection: outage)"
                )

    # -- the lead's view ------------------------------------------------------

    def idle(self) -> bool:
        """Nothing SUBMITTED or STARTED (events of finished statements already published)."""
        with self._lock:
            return all(s.status in TERMINAL and s.done.is_set() for s in self._statements.values())

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.01)
        return self.idle()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self._counts)
            by_status = Counter(s.status for s in self._statements.values())
        return {
            "statements": {
                state: by_status.get(state, 0) for state in (SUBMITTED, STARTED, *sorted(TERMINAL))
            },
            "submitted": counts.get("submitted", 0),
            "batches_committed": counts.get("batches_committed", 0),
            "batches_failed": counts.get("batches_failed", 0),
            "batches_aborted": counts.get("batches_aborted", 0),
            "copy_statements_committed": counts.get("copy_committed", 0),
            "rows_copied": counts.get("rows_copied", 0),
            "rows_merged": counts.get("rows_merged", 0),
            "events_published": counts.get("events_published", 0),
            "translation_seconds": round(self._translation_s, 4),
            "statements_translated": self._translated,
            "outages": counts.get("outages", 0),
            # Outage effects: calls refused at submit, statements failed with a lost connection.
            "outage_refused_calls": counts.get("outage_refused", 0),
            "outage_failed_statements": counts.get("outage_failed", 0),
        }

    def close(self) -> None:
        with self._lock:
            running = [s for s in self._statements.values() if s.status not in TERMINAL]
        for statement in running:
            with contextlib.suppress(InvalidRequest):
                self.cancel(statement.id)
        self._pool.shutdown(wait=True, cancel_futures=False)

    # -- execution ------------------------------------------------------------

    def _set_status(self, statement: Statement, status: str, error: str | None = None) -> None:
        with self._lock:
            statement.status = status
            statement.updated_at = time.time()
            if error:
                statement.error = error

    def _run(self, statement: Statement) -> None:
        try:
            self._execute(statement)
        except Exception as exc:  # an emulator bug must still end the statement
            self._set_status(statement, FAILED, f"ERROR: internal sandbox error: {type(exc).__name__}: {exc}")
        finally:
            self._finish(statement)

    def _execute(self, statement: Statement) -> None:
        if statement.cancel_requested:
            self._abort_rest(statement, 0)
            self._set_status(statement, ABORTED)
            return
        with self._lock:
            if self._down():
                statement.connection_lost = True
        if statement.connection_lost:
            self._lose_connection(statement, 0)
            return
        connection = psycopg2.connect(self._dsn)
        try:
            connection.autocommit = False
            # SUPER values come back as their JSON text, like the Data API's stringValue.
            psycopg2.extras.register_default_jsonb(connection, loads=lambda text: text)
            psycopg2.extras.register_default_json(connection, loads=lambda text: text)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = int(cursor.fetchone()[0])
            with self._lock:
                statement.connection = connection
                statement.pid = pid
                statement.status = STARTED
                statement.started = statement.updated_at = time.time()
            if statement.cancel_requested:
                raise _Aborted
            self._transaction(statement, connection)
        finally:
            with self._lock:
                statement.connection = None
            connection.close()

    def _transaction(self, statement: Statement, connection: Any) -> None:
        parameters = {p["name"]: p["value"] for p in statement.parameters or []}
        copier = StrictCopyExecutor(connection, self._s3)
        merged = copied = copies = 0
        index = 0
        try:
            with connection.cursor() as cursor:
                catalog = CatalogSuperColumns(cursor)
                translator = Translator(catalog)
                for position, sub in enumerate(statement.subs):
                    index = position  # the failing sub-statement, for the handlers below
                    if statement.cancel_requested:
                        raise _Aborted
                    if statement.connection_lost:
                        raise _ConnectionLost
                    started = time.perf_counter()
                    with self._lock:
                        sub.status = STARTED
                        sub.query_id = next(self._query_ids)
                        sub.updated_at = time.time()
                    translated = translator.translate(sub.sql, parameters)
                    with self._lock:
                        self._translation_s += time.perf_counter() - started
                        self._translated += 1
                    if translated.kind == "copy":
                        count = self._copy(copier, cursor, statement, sub, translated.copy_table or "")
                        sub.rowcount = count
                        copied += count
                        copies += 1
                    elif translated.kind == "sql":
                        cursor.execute(translated.sql)
                        if changes_catalog(translated.sql):
                            catalog.forget()  # column types may have changed
                        sub.rowcount = cursor.rowcount
                        if cursor.description is not None:
                            sub.columns, sub.rows, sub.result_size = _result(cursor)
                        elif translated.sql.lstrip().upper().startswith("MERGE"):
                            merged += max(cursor.rowcount, 0)
                    with self._lock:
                        sub.status = FINISHED
                        sub.updated_at = time.time()
                        sub.duration_ns = int((time.perf_counter() - started) * 1e9)
            if statement.cancel_requested:
                raise _Aborted
            if statement.connection_lost:
                raise _ConnectionLost
            connection.commit()
        except _ConnectionLost:
            _rollback(connection)
            self._lose_connection(statement, index)
            return
        except (_Aborted, psycopg2.errors.QueryCanceled):
            _rollback(connection)
            if statement.connection_lost and not statement.cancel_requested:
                self._lose_connection(statement, index)  # cancelled by begin_outage, not by a caller
                return
            self._fail_sub(statement, index, ABORTED, None)
            self._set_status(statement, ABORTED)
            return
        except _LoadFailed as exc:
            _rollback(connection)
            self._fail_sub(statement, index, FAILED, exc.message)
            self._set_status(statement, FAILED, exc.message)
            return
        except rules.RedshiftRefuses as exc:
            _rollback(connection)
            message = f"ERROR: {exc}"
            self._fail_sub(statement, index, FAILED, message)
            self._set_status(statement, FAILED, message)
            return
        except UnsupportedSql as exc:
            _rollback(connection)
            message = f"ERROR: {exc} [sandbox: unsupported SQL]"
            self._fail_sub(statement, index, FAILED, message)
            self._set_status(statement, FAILED, message)
            return
        except psycopg2.Error as exc:
            _rollback(connection)
            message = _pg_error(exc)
            self._fail_sub(statement, index, FAILED, message)
            self._set_status(statement, FAILED, message)
            return
        with self._lock:
            self._counts["copy_committed"] += copies
            self._counts["rows_copied"] += copied
            self._counts["rows_merged"] += merged
            if statement.batch:
                self._counts["batches_committed"] += 1
        self._set_status(statement, FINISHED)

    def _copy(
        self, copier: StrictCopyExecutor, cursor: Any, statement: Statement, sub: SubStatement, table: str
    ) -> int:
        command = parse_copy(sub.sql)
        if self._s3_for_role is not None:
            if "," in command.iam_role:
                raise _LoadFailed("ERROR: IAM role chaining is not emulated by the sandbox")
            try:
                role_s3 = self._s3_for_role(command.iam_role, bool(statement.workgroup_name))
            except PermissionError as exc:
                raise _LoadFailed(
                    f"ERROR: User arn:aws:redshift is not authorized to assume IAM Role {command.iam_role} ({exc})"
                ) from exc
            copier = StrictCopyExecutor(copier.connection, role_s3)
        try:
            # The adapter's COPY step, run inside this transaction (see tests.rig.pg_copy).
            return copier.copy(cursor, command)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise _LoadFailed(
                f"ERROR: S3ServiceException:{error.get('Message', 'Access Denied')},Status "
                f"{exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode', 403)},Error {error.get('Code', 'AccessDenied')}"
            ) from exc
        except CopyError as exc:
            self._record_load_error(statement, sub, exc)
            view = "sys_load_error_detail" if statement.workgroup_name else "stl_load_errors"
            raise _LoadFailed(
                f"ERROR: Load into table '{table}' failed. Check '{view}' system table for details."
            ) from exc

    def _record_load_error(self, statement: Statement, sub: SubStatement, error: CopyError) -> None:
        # Redshift writes load errors outside the failing transaction: they outlive its rollback.
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        reason = error.reason
        connection = psycopg2.connect(self._dsn)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(
                    f'INSERT INTO "{SYSTEM_SCHEMA}"."stl_load_errors" ("userid", "slice", "starttime", '
                    '"session", "query", "filename", "line_number", "colname", "raw_line", "err_code", '
                    '"err_reason") VALUES (100, 0, %s, %s, %s, %s, %s, %s, %s, %s, %s)',
                    (
                        now,
                        statement.pid,
                        sub.query_id,
                        error.url or "",
                        error.line or -1,
                        error.column or "",
                        "",
                        1200,
                        reason[:100],
                    ),
                )
                cursor.execute(
                    f'INSERT INTO "{SYSTEM_SCHEMA}"."sys_load_error_detail" ("user_id", "query_id", '
                    '"session_id", "database_name", "start_time", "file_name", "line_number", "column_name", '
                    '"error_code", "error_message") VALUES (100, %s, %s, %s, %s, %s, %s, %s, %s, %s)',
                    (
                        sub.query_id,
                        statement.pid,
                        statement.database[:64],
                        now,
                        error.url or "",
                        error.line or -1,
                        error.column or "",
                        1200,
                        reason[:512],
                    ),
                )
        finally:
            connection.close()

    def _lose_connection(self, statement: Statement, index: int) -> None:
        self._fail_sub(statement, index, FAILED, CONNECTION_LOST)
        self._set_status(statement, FAILED, CONNECTION_LOST)
        with self._lock:
            self._counts["outage_failed"] += 1

    def _fail_sub(self, statement: Statement, index: int, status: str, error: str | None) -> None:
        with self._lock:
            now = time.time()
            if index < len(statement.subs):
                sub = statement.subs[index]
                if sub.status not in TERMINAL or status == ABORTED:
                    sub.status = status
                    sub.error = error
                    sub.updated_at = now
        self._abort_rest(statement, index + 1)

    def _abort_rest(self, statement: Statement, start: int) -> None:
        with self._lock:
            for sub in statement.subs[start:]:
                sub.status = ABORTED
                sub.updated_at = time.time()

    def _finish(self, statement: Statement) -> None:
        with self._lock:
            if statement.batch and statement.status == FAILED:
                self._counts["batches_failed"] += 1
            if statement.batch and statement.status == ABORTED:
                self._counts["batches_aborted"] += 1
        try:
            if statement.with_event and self._publish is not None:
                self._publish(statement)
                with self._lock:
                    self._counts["events_published"] += 1
        except Exception as exc:  # a lost event is a sandbox bug: keep it visible
            self.publish_errors.append(f"{statement.id}: {type(exc).__name__}: {exc}")
        finally:
            statement.done.set()


class _LoadFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _rollback(connection: Any) -> None:
    with contextlib.suppress(Exception):
        connection.rollback()


def _pg_error(exc: psycopg2.Error) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or str(exc).strip().splitlines()[0]
    return f"ERROR: {rules.merge_error(text) or text}"


def _field(value: Any, kind: str) -> dict[str, Any]:
    if value is None:
        return {"isNull": True}
    if kind == "booleanValue":
        return {"booleanValue": bool(value)}
    if kind == "longValue":
        return {"longValue": int(value)}
    if kind == "doubleValue":
        return {"doubleValue": float(value)}
    if isinstance(value, dt.datetime):
        return {"stringValue": value.isoformat(sep=" ")}
    if isinstance(value, dt.date | Decimal):
        return {"stringValue": str(value)}
    if isinstance(value, dict | list | bool | int | float):
        return {"stringValue": json.dumps(value, separators=(",", ":"))}
    return {"stringValue": str(value)}


def _result(cursor: Any) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]], int]:
    kinds = []
    columns = []
    for column in cursor.description:
        type_name, kind, signed = _TYPES.get(column.type_code, ("varchar", "stringValue", False))
        kinds.append(kind)
        columns.append(
            {
                "name": column.name,
                "label": column.name,
                "typeName": type_name,
                "isSigned": signed,
                "isCaseSensitive": kind == "stringValue" and type_name in ("varchar", "bpchar", "name"),
                "isCurrency": False,
                "nullable": 1,
                "precision": column.precision or column.internal_size or 0,
                "scale": column.scale or 0,
                "length": 0,
                "schemaName": "",
                "tableName": "",
            }
        )
    rows = [
        [_field(value, kind) for value, kind in zip(row, kinds, strict=True)] for row in cursor.fetchall()
    ]
    size = len(json.dumps(rows)) if rows else 0
    return columns, rows, size
