"""Route moto's Redshift Data API to the sandbox engine that runs it on PostgreSQL.

moto 5.2.5 answers ``ExecuteStatement`` with canned results, keeps every statement
STARTED forever and has no ``BatchExecuteStatement``. While :func:`installed` is active,
moto's ``redshift-data`` handlers (the same class serves ``mock_aws`` and an in-process
``ThreadedMotoServer``) hand every call to :class:`tests.sandbox.data_api.DataApiEngine`.

While the engine has an outage on (fault injection, ``DataApiEngine.begin_outage``),
ExecuteStatement and BatchExecuteStatement answer ``DatabaseConnectionException``
(HTTP 500, "Connection to a database failed"), an error both operations document.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Collection, Iterator
from typing import Any, Final

import boto3
from moto.core.exceptions import JsonRESTError
from moto.events.models import events_backends
from moto.redshift.models import redshift_backends
from moto.redshiftdata.exceptions import ResourceNotFoundException, ValidationException
from moto.redshiftdata.responses import RedshiftDataAPIServiceResponse

from tests.sandbox import client_credentials
from tests.sandbox import redshift_rules as rules
from tests.sandbox.data_api import (
    DataApiEngine,
    InvalidRequest,
    Statement,
    StatementNotFound,
    WarehouseUnavailable,
)

NAME: Final = "redshift-data"
FOLLOWS: Final = (
    "Amazon Redshift Data API Reference (https://docs.aws.amazon.com/redshift-data/latest/APIReference/): "
    "BatchExecuteStatement runs its SQL list as one transaction; ExecuteStatement with :name Parameters; "
    "DescribeStatement walks SUBMITTED -> STARTED -> FINISHED | FAILED | ABORTED with SubStatements; "
    "GetStatementResult pages typed Records with NextToken; CancelStatement aborts; ListStatements. "
    "WithEvent=True puts 'Redshift Data Statement Status Change' on the default event bus "
    "(https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-monitoring-events.html). The SQL runs on "
    "PostgreSQL through tests/sandbox/redshift_sql.py; COPY reads the manifest's objects from S3 as its IAM_ROLE "
    "(Redshift Management Guide, 'Authorizing COPY ... using IAM roles': the role must trust Redshift and allow "
    "s3:GetObject; otherwise the COPY fails with S3ServiceException Access Denied). "
    "An injected outage answers ExecuteStatement/BatchExecuteStatement with DatabaseConnectionException "
    "(HTTP 500, 'Connection to a database failed', in both operations' Errors)."
)

_ACTIONS: Final = (
    "batch_execute_statement",
    "execute_statement",
    "describe_statement",
    "get_statement_result",
    "cancel_statement",
    "list_statements",
)
_MAX_SQLS: Final = 40  # the API model's limit on Sqls

_engine: DataApiEngine | None = None
# Serverless workgroups the Data API accepts; None accepts any name. The redshift-serverless patch adds and
# removes names as workgroups are created and deleted (register_workgroup / deregister_workgroup).
_workgroups: set[str] | None = None


def register_workgroup(name: str) -> None:
    """Accept ``WorkgroupName=name`` from now on (a workgroup was created). No-op while nothing is installed."""
    if _workgroups is not None:
        _workgroups.add(name)


def deregister_workgroup(name: str) -> None:
    """Refuse ``WorkgroupName=name`` again (its workgroup was deleted)."""
    if _workgroups is not None:
        _workgroups.discard(name)


class DatabaseConnectionException(JsonRESTError):
    """The API reference's "Connection to a database failed" (HTTP 500)."""

    code = 500

    def __init__(self, message: str) -> None:
        super().__init__("DatabaseConnectionException", message)


def _current() -> DataApiEngine:
    if _engine is None:  # only reachable if a handler outlives installed()
        raise ValidationException("the sandbox Data API engine is not running")
    return _engine


def _connection(response: Any) -> dict[str, Any]:
    """Validate the target and authentication the way the Data API does."""
    cluster = response._get_param("ClusterIdentifier")
    workgroup = response._get_param("WorkgroupName")
    db_user = response._get_param("DbUser")
    secret_arn = response._get_param("SecretArn")
    database = response._get_param("Database")
    if not cluster and not workgroup:
        raise ValidationException("Either ClusterIdentifier or WorkgroupName needs to be specified.")
    if cluster and workgroup:
        raise ValidationException("Only one of ClusterIdentifier or WorkgroupName can be specified.")
    if not database:
        raise ValidationException("Database needs to be specified.")
    if cluster:
        clusters = redshift_backends[response.current_account][response.region].clusters
        if cluster not in clusters:
            raise ValidationException("Redshift endpoint doesn't exist in this region.")
        if not db_user and not secret_arn:
            raise ValidationException(
                "Either DbUser or SecretArn needs to be specified for a provisioned cluster."
            )
    elif _workgroups is not None and workgroup not in _workgroups:
        raise ValidationException(f"Workgroup {workgroup} not found.")
    return {
        "database": database,
        "cluster_identifier": cluster,
        "workgroup_name": workgroup,
        "db_user": db_user,
        "secret_arn": secret_arn,
        "account_id": response.current_account,
        "region": response.region,
    }


def _submitted(statement: Statement) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Id": statement.id,
        "CreatedAt": statement.created_at,
        "Database": statement.database,
    }
    for key, value in (
        ("ClusterIdentifier", statement.cluster_identifier),
        ("WorkgroupName", statement.workgroup_name),
        ("DbUser", statement.db_user),
        ("SecretArn", statement.secret_arn),
    ):
        if value:
            body[key] = value
    return body


def _submit(response: Any, sqls: list[str], *, batch: bool) -> str:
    # Sessions and CSV results are real API features the sandbox does not emulate: refuse
    # them loudly rather than run the statement differently.
    for unsupported in ("SessionId", "SessionKeepAliveSeconds"):
        if response._get_param(unsupported) is not None:
            raise ValidationException(f"{unsupported} is not supported by the sandbox Data API.")
    if response._get_param("ResultFormat") not in (None, "JSON"):
        raise ValidationException("ResultFormat CSV is not supported by the sandbox Data API.")
    connection = _connection(response)
    try:
        _current().check_available()
    except WarehouseUnavailable as exc:
        raise DatabaseConnectionException(str(exc)) from None
    statement = _current().submit(
        sqls,
        batch=batch,
        statement_name=response._get_param("StatementName"),
        with_event=bool(response._get_param("WithEvent")),
        parameters=response._get_param("Parameters"),
        **connection,
    )
    return _json(_submitted(statement))


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body)


def batch_execute_statement(self: Any) -> str:
    sqls = self._get_param("Sqls")
    if not isinstance(sqls, list) or not 1 <= len(sqls) <= _MAX_SQLS:
        raise ValidationException(f"Sqls must hold 1 to {_MAX_SQLS} SQL statements.")
    sqls = [str(sql) for sql in sqls]
    try:
        rules.check_batch(sqls)
    except rules.RedshiftRefuses as exc:
        raise ValidationException(str(exc)) from None
    return _submit(self, sqls, batch=True)


def execute_statement(self: Any) -> str:
    sql = self._get_param("Sql")
    if not sql:
        raise ValidationException("Sql needs to be specified.")
    try:
        rules.check_statement_size(str(sql))
    except rules.RedshiftRefuses as exc:
        raise ValidationException(str(exc)) from None
    return _submit(self, [str(sql)], batch=False)


@contextlib.contextmanager
def _api_errors() -> Iterator[None]:
    try:
        yield
    except StatementNotFound:
        raise ResourceNotFoundException() from None
    except InvalidRequest as exc:
        raise ValidationException(str(exc)) from None


def describe_statement(self: Any) -> str:
    with _api_errors():
        return _json(_current().describe(str(self._get_param("Id"))))


def get_statement_result(self: Any) -> str:
    with _api_errors():
        return _json(_current().result(str(self._get_param("Id")), self._get_param("NextToken")))


def cancel_statement(self: Any) -> str:
    with _api_errors():
        return _json({"Status": _current().cancel(str(self._get_param("Id")))})


def list_statements(self: Any) -> str:
    statements = _current().list(
        status=self._get_param("Status"), statement_name=self._get_param("StatementName")
    )
    limit = int(self._get_param("MaxResults") or 100)
    return _json({"Statements": statements[:limit]})


def _eventbridge_publisher(statement: Statement) -> None:
    """Put the status event on moto's default bus in-process, so its rules route it."""
    entries = events_backends[statement.account_id][statement.region].put_events([statement.event()])
    failed = [entry for entry in entries if "ErrorCode" in entry]
    if failed:
        raise RuntimeError(f"EventBridge refused the event: {failed}")


# Redshift assumes a COPY's IAM_ROLE as this service; a Serverless workgroup may use either principal.
COPY_PRINCIPALS: Final = {
    False: ("redshift.amazonaws.com",),
    True: ("redshift-serverless.amazonaws.com", "redshift.amazonaws.com"),
}


def role_s3_factory(region: str, endpoint_url: str) -> Any:
    """``s3_for_role`` for :class:`DataApiEngine`: an S3 client signed with a session of the COPY's role, so the
    ``iam-request-context`` patch decides every GetObject as IAM would for that role. PermissionError when the
    role does not exist or does not trust Redshift."""
    from moto.iam.exceptions import NotFoundException

    from tests.sandbox.service_roles import service_role_session

    clients: dict[str, Any] = {}
    lock = threading.Lock()

    def s3_for_role(role_arn: str, serverless: bool) -> Any:
        with lock:
            if role_arn in clients:
                return clients[role_arn]
        refusals = []
        for principal in COPY_PRINCIPALS[serverless]:
            try:
                session = service_role_session(role_arn, principal, "redshift-copy", region)
                break
            except PermissionError as exc:
                refusals.append(str(exc))
            except (NotFoundException, KeyError, IndexError):
                raise PermissionError(f"the role {role_arn} does not exist") from None
        else:
            raise PermissionError("; ".join(refusals))
        client = boto3.client(
            "s3",
            region_name=region,
            endpoint_url=endpoint_url,
            aws_access_key_id=session["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=session["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=session["AWS_SESSION_TOKEN"],
        )
        with lock:
            clients[role_arn] = client
        return client

    return s3_for_role


@contextlib.contextmanager
def installed(
    pg_dsn: str,
    s3_endpoint_url: str | None,
    *,
    region: str = "us-east-1",
    max_workers: int = 4,
    page_rows: int = 1000,
    workgroups: Collection[str] | None = None,
    publish_events: bool = True,
    copy_as_role: bool = False,
) -> Iterator[DataApiEngine]:
    """Route moto's Data API to a new engine on ``pg_dsn``; yields the engine.

    ``s3_endpoint_url`` is where COPY reads manifests and objects (the moto server's
    URL; None under ``mock_aws``). ``workgroups``: Serverless workgroup names to accept
    (None accepts any name); the ``redshift-serverless`` patch registers the workgroups it
    creates into this list. Clusters must exist in moto's redshift backend (``create_cluster``).
    ``copy_as_role`` (needs ``s3_endpoint_url``): every COPY reads S3 as its IAM_ROLE (:func:`role_s3_factory`).
    """
    global _engine, _workgroups
    if _engine is not None:
        raise RuntimeError("the redshift-data patch is already installed")
    s3 = boto3.client(
        "s3",
        region_name=region,
        endpoint_url=s3_endpoint_url,
        **client_credentials(),
    )
    engine = DataApiEngine(
        pg_dsn,
        s3,
        publish=_eventbridge_publisher if publish_events else None,
        max_workers=max_workers,
        page_rows=page_rows,
        s3_for_role=role_s3_factory(region, s3_endpoint_url) if copy_as_role and s3_endpoint_url else None,
    )
    originals = {name: RedshiftDataAPIServiceResponse.__dict__.get(name) for name in _ACTIONS}
    handlers = {
        "batch_execute_statement": batch_execute_statement,
        "execute_statement": execute_statement,
        "describe_statement": describe_statement,
        "get_statement_result": get_statement_result,
        "cancel_statement": cancel_statement,
        "list_statements": list_statements,
    }
    _engine, _workgroups = engine, set(workgroups) if workgroups is not None else None
    for name, handler in handlers.items():
        setattr(RedshiftDataAPIServiceResponse, name, handler)
    try:
        yield engine
    finally:
        for name, original in originals.items():
            if original is None:
                delattr(RedshiftDataAPIServiceResponse, name)
            else:
                setattr(RedshiftDataAPIServiceResponse, name, original)
        _engine, _workgroups = None, None
        engine.close()
