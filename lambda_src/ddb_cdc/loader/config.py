"""The loader's environment, parsed once into a frozen :class:`LoaderConfig`.

Both Lambdas (loader and load completion) and the CLI read the same variables, so a
wiring mistake fails the same way everywhere: :class:`ddb_cdc.config.ConfigError` with
the variable's name, on the first invocation. Secret values are never read here, only
the ARNs or parameter names that point at them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from ddb_cdc.config import ConfigError, _log_level, _prefix, _required, _table
from ddb_cdc.loader.reconcile import GRACE_SECONDS
from ddb_cdc.warehouse import TargetSpec
from ddb_cdc.warehouse.identifiers import ConfigError as WarehouseConfigError

ExecutorKind = Literal["data_api", "psycopg2"]
LoadStrategy = Literal["s3_event", "schedule", "ec2_cron", "emr_compaction"]
LOAD_STRATEGIES: Final = ("s3_event", "schedule", "ec2_cron", "emr_compaction")
DataApiMode = Literal["async", "poll"]
TargetKind = Literal["workgroup", "cluster_db_user", "cluster_secret"]

_ARN: Final = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+")
_ROLE_ARN: Final = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")
_NAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_NAMESPACE: Final = re.compile(r"[A-Za-z0-9_./#:-]{1,255}")
# The same default as modules/redshift_loader's schedule_lookback_hours: a DynamoDB stream
# keeps records for 24 hours, so no writer retry lands a file in an older hour.
DEFAULT_LOOKBACK_HOURS: Final = 24


@dataclass(frozen=True, slots=True)
class RedshiftTarget:
    """Where the Data API sends statements: exactly one of three ways to authenticate."""

    kind: TargetKind
    database: str
    workgroup: str | None = None
    cluster_id: str | None = None
    db_user: str | None = None
    secret_arn: str | None = None


@dataclass(frozen=True, slots=True)
class LoaderConfig:
    bucket: str
    prefix: str
    table_name: str
    target: TargetSpec
    copy_role_arn: str
    executor: ExecutorKind
    redshift: RedshiftTarget | None  # None with the psycopg2 executor
    data_api_mode: DataApiMode
    poll_budget_seconds: float
    db_secret_arn: str | None
    db_ssm_parameter: str | None
    connect_timeout_seconds: int
    statement_timeout_ms: int
    alert_topic_arn: str | None
    max_file_failures: int
    schedule_lookback_hours: int
    metric_namespace: str
    log_level: str
    # modules/redshift_loader's load_strategy; only emr_compaction changes what the loader does
    # (it answers the compaction machine's plan requests).
    load_strategy: LoadStrategy = "s3_event"
    # s3-dist-cp --targetSize (MiB) of the compaction runs.
    compaction_target_size_mb: int = 64
    # A raw file younger than this is left to its trigger by the reconciliation sweep. With
    # emr_compaction the module sets it past the hour, the grace and the machine's longest
    # run, so the sweep never loads a file before its compaction could take it.
    reconcile_grace_seconds: int = GRACE_SECONDS
    # psycopg2's TLS: libpq sslmode (verify-full: the certificate chains to sslrootcert and names the host) and the CA
    # bundle; None takes ddb_cdc.loader.executors.default_trust_store(). Plaintext is not a choice.
    db_sslmode: str = "verify-full"
    db_sslrootcert: str | None = None
    # The lag alarm's threshold (modules/redshift_loader): `status` exits non-zero above it.
    lag_alarm_seconds: int | None = None

    @property
    def waits_for_result(self) -> bool:
        """True when a load's outcome is known before the invocation returns."""
        return self.executor == "psycopg2" or self.data_api_mode == "poll"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LoaderConfig:
        executor = _choice(env, "CDC_EXECUTOR", ("data_api", "psycopg2"), "data_api")
        redshift = _redshift_target(env) if executor == "data_api" else None
        secret_arn = _optional(env, "CDC_DB_SECRET_ARN")
        ssm_parameter = _optional(env, "CDC_DB_SSM_PARAMETER")
        if executor == "psycopg2":
            if bool(secret_arn) == bool(ssm_parameter):
                raise ConfigError(
                    "the psycopg2 executor needs exactly one of CDC_DB_SECRET_ARN or CDC_DB_SSM_PARAMETER"
                )
            if secret_arn and not _ARN.fullmatch(secret_arn):
                raise ConfigError("CDC_DB_SECRET_ARN is not an ARN")
        alert_topic = _optional(env, "CDC_ALERT_TOPIC_ARN")
        if alert_topic and not _ARN.fullmatch(alert_topic):
            raise ConfigError("CDC_ALERT_TOPIC_ARN is not an ARN")
        role = _required(env, "CDC_COPY_ROLE_ARN")
        if not all(_ROLE_ARN.fullmatch(part) for part in role.split(",")):
            raise ConfigError("CDC_COPY_ROLE_ARN is not an IAM role ARN (or a comma-separated chain of them)")
        namespace = env.get("CDC_METRIC_NAMESPACE", "").strip() or "DdbCdc"
        if not _NAMESPACE.fullmatch(namespace) or namespace.startswith("AWS/"):
            raise ConfigError("CDC_METRIC_NAMESPACE is not a valid custom CloudWatch namespace")
        return cls(
            bucket=_required(env, "CDC_BUCKET"),
            prefix=_prefix(env),
            table_name=_table(env),
            target=_target_spec(env),
            copy_role_arn=role,
            executor=executor,  # type: ignore[arg-type]  # checked by _choice
            redshift=redshift,
            data_api_mode=_choice(env, "CDC_DATA_API_MODE", ("async", "poll"), "async"),  # type: ignore[arg-type]
            poll_budget_seconds=float(_int(env, "CDC_POLL_BUDGET_SECONDS", 600, low=1, high=900)),
            db_secret_arn=secret_arn,
            db_ssm_parameter=ssm_parameter,
            connect_timeout_seconds=_int(env, "CDC_CONNECT_TIMEOUT_SECONDS", 10, low=1, high=300),
            statement_timeout_ms=_int(env, "CDC_STATEMENT_TIMEOUT_MS", 900_000, low=1_000, high=86_400_000),
            alert_topic_arn=alert_topic,
            max_file_failures=_int(env, "CDC_MAX_FILE_FAILURES", 3, low=1, high=100),
            schedule_lookback_hours=_int(
                env, "CDC_SCHEDULE_LOOKBACK_HOURS", DEFAULT_LOOKBACK_HOURS, low=0, high=24 * 31
            ),
            metric_namespace=namespace,
            log_level=_log_level(env),
            load_strategy=_choice(env, "CDC_LOAD_STRATEGY", LOAD_STRATEGIES, "s3_event"),  # type: ignore[arg-type]
            compaction_target_size_mb=_int(env, "CDC_COMPACTION_TARGET_SIZE_MB", 64, low=1, high=1024),
            reconcile_grace_seconds=_int(
                env, "CDC_RECONCILE_GRACE_SECONDS", GRACE_SECONDS, low=60, high=604_800
            ),
            db_sslmode=_choice(env, "CDC_DB_SSLMODE", ("verify-full", "verify-ca", "require"), "verify-full"),
            db_sslrootcert=_optional(env, "CDC_DB_SSLROOTCERT"),
            lag_alarm_seconds=(
                _int(env, "CDC_LAG_ALARM_SECONDS", 0, low=1, high=31_536_000)
                if _optional(env, "CDC_LAG_ALARM_SECONDS")
                else None
            ),
        )


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip() or default
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _target_spec(env: Mapping[str, str]) -> TargetSpec:
    raw = _required(env, "CDC_TARGET_SPEC")
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"CDC_TARGET_SPEC is not valid JSON: {exc.msg}") from None
    try:
        return TargetSpec.from_dict(document)
    except WarehouseConfigError as exc:
        raise ConfigError(f"CDC_TARGET_SPEC: {exc}") from None


def _redshift_target(env: Mapping[str, str]) -> RedshiftTarget:
    database = _required(env, "CDC_REDSHIFT_DATABASE")
    workgroup = _optional(env, "CDC_REDSHIFT_WORKGROUP")
    cluster = _optional(env, "CDC_REDSHIFT_CLUSTER_ID")
    db_user = _optional(env, "CDC_REDSHIFT_DB_USER")
    secret = _optional(env, "CDC_REDSHIFT_SECRET_ARN")
    for name, value in (
        ("CDC_REDSHIFT_DATABASE", database),
        ("CDC_REDSHIFT_WORKGROUP", workgroup),
        ("CDC_REDSHIFT_CLUSTER_ID", cluster),
        ("CDC_REDSHIFT_DB_USER", db_user),
    ):
        if value is not None and not _NAME.fullmatch(value):
            raise ConfigError(f"{name} has characters a Redshift name cannot have")
    if secret is not None and not _ARN.fullmatch(secret):
        raise ConfigError("CDC_REDSHIFT_SECRET_ARN is not an ARN")
    if workgroup and not (cluster or db_user or secret):
        return RedshiftTarget("workgroup", database, workgroup=workgroup)
    if cluster and not workgroup and bool(db_user) != bool(secret):
        if db_user:
            return RedshiftTarget("cluster_db_user", database, cluster_id=cluster, db_user=db_user)
        return RedshiftTarget("cluster_secret", database, cluster_id=cluster, secret_arn=secret)
    raise ConfigError(
        "the Data API needs exactly one target: CDC_REDSHIFT_WORKGROUP (Serverless), or "
        "CDC_REDSHIFT_CLUSTER_ID with exactly one of CDC_REDSHIFT_DB_USER or CDC_REDSHIFT_SECRET_ARN"
    )
