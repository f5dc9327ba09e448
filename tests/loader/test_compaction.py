"""load_strategy = "emr_compaction" in the loader: the plan step, the compacted load and its
fallback to raw files, on the throwaway PostgreSQL through the strict COPY adapter.

s3-dist-cp itself is replaced here by :func:`_s3_dist_cp`, a few lines doing what the
plan's argv asks for the one case the loader produces (every input of the list, one
group, gzip out, inputs in shuffled order); the sandbox's EMR patch runs the documented
tool semantics end to end (tests/sandbox/test_emr_patch.py, the e2e demo).
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from ddb_cdc import layout
from ddb_cdc.handlers import loader as handler
from ddb_cdc.loader import compaction
from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.files import CdcFiles
from ddb_cdc.loader.service import Alerts, LoaderService, LoadsFailed, Metrics
from ddb_cdc.warehouse import sql

from tests.rig.cdc_files import ChangeFiles, stream_record

from .conftest import BUCKET, PREFIX, TABLE, Aws, FakeContext, base_env
from .test_integration_pg import RigExecutor

HOUR_MS = 3_600_000
H0_MS = 1_795_752_000_000  # 2026-11-27T04:00:00Z
H0_S = H0_MS // 1000


class WaitRecordingExecutor(RigExecutor):
    def __init__(self, connection: Any, s3: Any) -> None:
        super().__init__(connection, s3)
        self.runs: list[tuple[str | None, bool, list[str]]] = []
        self.queries: list[str] = []

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        self.queries.append(sql)
        return super().query(sql, params)

    def run(self, statements: Sequence[str], *, name: str | None = None, wait: bool = False):
        self.runs.append((name, wait, list(statements)))
        return super().run(statements, name=name)


@pytest.fixture
def emr_loader(aws: Aws, pg_server, pg_schema) -> Iterator[tuple[LoaderService, WaitRecordingExecutor, Any]]:
    spec = {"schema": pg_schema, "table": TABLE, "keys": [{"name": "id", "type": "S"}]}
    config = LoaderConfig.from_env(
        base_env(
            CDC_TARGET_SPEC=json.dumps(spec),
            CDC_ALERT_TOPIC_ARN=aws.topic_arn,
            CDC_LOAD_STRATEGY="emr_compaction",
            CDC_COMPACTION_TARGET_SIZE_MB="32",
            CDC_RECONCILE_GRACE_SECONDS="9000",
        )
    )
    connection = pg_server.connect()
    executor = WaitRecordingExecutor(connection, aws.s3)
    logger = logging.getLogger("tests.loader.compaction")
    service = LoaderService(
        config,
        executor=executor,
        files=CdcFiles(aws.s3, BUCKET, PREFIX, TABLE),
        alerts=Alerts(aws.sns, config.alert_topic_arn, logger),
        metrics=Metrics(aws.cloudwatch, config.metric_namespace, TABLE),
        logger=logger,
        dialect="postgresql",
        clock=lambda: (H0_MS + HOUR_MS + 15 * 60_000) / 1000,
        reconcile_grace_seconds=config.reconcile_grace_seconds,
    )
    service.init()
    executor.runs.clear()
    yield service, executor, connection
    connection.close()


def _batch(
    files: ChangeFiles, first_seq: int, changes: Sequence[tuple[str, str, int | None]], hour_s: int
) -> str:
    records = []
    for offset, (event_name, key, value) in enumerate(changes):
        image = None if value is None else {"id": {"S": key}, "qty": {"N": str(value)}}
        records.append(
            stream_record(
                event_name,
                {"id": {"S": key}},
                image,
                sequence_number=str(first_seq + offset),
                created_s=hour_s + 60 + offset,
                event_id=f"e{first_seq + offset}",
                table=TABLE,
            )
        )
    return files.write_stream_batch(records)


def _s3_dist_cp(s3: Any, args: Sequence[str], *, seed: int = 7) -> list[str]:
    """The plan's argv, run the way s3-dist-cp would for it: the listed inputs, one group per hour."""
    options = dict(arg[2:].split("=", 1) for arg in args[1:])
    inputs_bucket, inputs_key = options["srcPrefixesFile"][5:].split("/", 1)
    lines = s3.get_object(Bucket=inputs_bucket, Key=inputs_key)["Body"].read().decode().splitlines()
    groups: dict[str, list[bytes]] = {}
    for url in lines:
        match = re.fullmatch(options["groupBy"], url)
        if match is None:
            continue
        bucket, key = url[5:].split("/", 1)
        body = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        # s3-dist-cp concatenates bytes: a file whose last line had no newline would glue two envelopes.
        assert body.endswith(b"\n"), f"{key} does not end with a newline"
        groups.setdefault("".join(match.groups()), []).append(body)
    dest_bucket, dest_prefix = options["dest"][5:].split("/", 1)
    written = []
    for name, bodies in groups.items():
        random.Random(seed).shuffle(bodies)
        key = f"{dest_prefix}{name}.gz"
        s3.put_object(Bucket=dest_bucket, Key=key, Body=gzip.compress(b"".join(bodies)))
        written.append(key)
    s3.put_object(Bucket=dest_bucket, Key=f"{dest_prefix}_SUCCESS", Body=b"")
    return written


def _view(connection: Any, schema: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "id", "doc" FROM "{schema}"."{TABLE}_current" ORDER BY "id"')
        rows = {key: doc["qty"] for key, doc in cursor.fetchall()}
    connection.commit()
    return rows


def _ledger(connection: Any, schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "file_key" FROM "{schema}"."cdc_ledger"')
        keys = {row[0] for row in cursor.fetchall()}
    connection.commit()
    return keys


# -- the pure rules -----------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "hour"),
    [
        ({"hour": "2026-11-27T04"}, H0_MS),
        ({"scheduled_time": "2026-11-27T05:15:00Z"}, H0_MS),
        ({"scheduled_time": "2026-11-27T05:00:00+00:00"}, H0_MS),
        ({"scheduled_time": "2026-11-27T07:59:59+02:00"}, H0_MS),  # 05:59:59Z
        ({"scheduled_time": "2026-11-27T05:15:00"}, H0_MS),  # no zone: UTC, as Scheduler sends
        ({"hour": "2026-11-27T04", "scheduled_time": "2030-01-01T00:00:00Z"}, H0_MS),  # hour wins
    ],
)
def test_the_requested_hour(request_, hour):
    assert compaction.requested_hour(request_) == hour


@pytest.mark.parametrize(
    "request_",
    [
        None,
        [],
        {},
        {"hour": "2026-11-27 04"},
        {"hour": "2026-13-27T04"},
        {"hour": 4},
        {"scheduled_time": "soon"},
    ],
)
def test_a_bad_request_is_refused(request_):
    with pytest.raises(compaction.CompactionError):
        compaction.requested_hour(request_)


def test_the_argv_names_the_run_and_groups_only_this_tables_raw_files():
    run = "20261127T051500Za1b2c3"
    args = compaction.s3_dist_cp_args(BUCKET, PREFIX, "orders.v2", H0_MS, run, 64)
    assert args == [
        "s3-dist-cp",
        f"--src=s3://{BUCKET}/{PREFIX}/raw/orders.v2/2026/11/27/04/",
        f"--dest=s3://{BUCKET}/{PREFIX}/compacted/orders.v2/2026/11/27/04/{run}/",
        f"--srcPrefixesFile=s3://{BUCKET}/{PREFIX}/compaction/orders.v2/2026/11/27/04/{run}/inputs.txt",
        "--groupBy=" + compaction.group_by_pattern("orders.v2"),
        "--targetSize=64",
        "--outputCodec=gz",
    ]
    pattern = re.compile(compaction.group_by_pattern("orders.v2"))
    good = f"s3://{BUCKET}/{PREFIX}/raw/orders.v2/2026/11/27/04/label_{'1' * 40}_{'2' * 40}.json.gz"
    assert "".join(pattern.fullmatch(good).groups()) == "2026112704"
    for other in (
        good.replace("orders.v2", "ordersXv2"),  # the dot is escaped
        good.replace("/raw/", "/quarantine/"),
        good.replace(".json.gz", ".json"),
        good.replace("/04/", "/04/extra/"),
    ):
        assert pattern.fullmatch(other) is None
    with pytest.raises(compaction.CompactionError):
        compaction.s3_dist_cp_args(BUCKET, PREFIX, TABLE, H0_MS, run, 0)


def test_the_inputs_list_accepts_only_raw_files_of_its_hour():
    hour = layout.raw_hour_prefix(PREFIX, TABLE, H0_MS)
    good = [hour + "a.json.gz", hour + "b.json.gz"]
    assert compaction.parse_inputs(compaction.inputs_body(BUCKET, good), BUCKET, hour) == good
    for bad in (
        layout.raw_hour_prefix(PREFIX, TABLE, H0_MS + HOUR_MS) + "c.json.gz",
        hour + "c.json",
        hour + "sub/c.json.gz",
    ):
        with pytest.raises(compaction.CompactionError):
            compaction.parse_inputs(compaction.inputs_body(BUCKET, [bad]), BUCKET, hour)
    with pytest.raises(compaction.CompactionError):
        compaction.parse_inputs(f"s3://other-bucket/{good[0]}\n".encode(), BUCKET, hour)


def test_only_data_files_count_as_compacted_output():
    assert compaction.compacted_files(
        ["p/2026112704.gz", "p/_SUCCESS", "p/.tmp.gz", "p/x.json", "p/20261127041.gz"]
    ) == [
        "p/2026112704.gz",
        "p/20261127041.gz",
    ]


def test_the_ledger_list_of_a_big_hour_stays_within_the_data_apis_limits():
    many = [f"{PREFIX}/raw/{TABLE}/2026/11/27/04/{i:060d}.json.gz" for i in range(60_000)]
    body = compaction.ledger_list_body(many)
    assert [json.loads(line)["file_key"] for line in gzip.decompress(body).decode().splitlines()] == many
    spec = sql.TargetSpec.from_dict({"schema": "cdc", "table": TABLE, "keys": [{"name": "id", "type": "S"}]})
    statements = sql.render_load(
        spec,
        "redshift",
        manifest_url=f"s3://{BUCKET}/m.json",
        iam_role_arn="arn:aws:iam::123456789012:role/copy",
        files=[f"{PREFIX}/compacted/{TABLE}/2026/11/27/04/r/2026112704{i}.gz" for i in range(40)],
        load_id="abc",
        ledger_manifest_url=f"s3://{BUCKET}/ledger.manifest.json",
    )
    assert len(statements) <= sql.MAX_STATEMENTS
    assert all(len(statement.encode()) <= sql.MAX_STATEMENT_BYTES for statement in statements)
    copies = [statement for statement in statements if statement.startswith("COPY ")]
    assert copies == [
        sql.render_copy(f"s3://{BUCKET}/m.json", "arn:aws:iam::123456789012:role/copy"),
        sql.render_copy(
            f"s3://{BUCKET}/ledger.manifest.json",
            "arn:aws:iam::123456789012:role/copy",
            sql.LEDGER_FILES_TABLE,
        ),
    ]


# -- the plan step ------------------------------------------------------------


def test_the_plan_lists_the_hour_and_an_empty_hour_writes_nothing(aws, emr_loader):
    service, _executor, _connection = emr_loader
    files = ChangeFiles(aws.s3, BUCKET, PREFIX, TABLE)
    first = _batch(files, 100, [("INSERT", "a", 1)], H0_S)
    second = _batch(files, 200, [("INSERT", "b", 2)], H0_S)
    _batch(files, 300, [("INSERT", "c", 3)], H0_S + 3600)  # the next hour: not this run's
    odd = (
        layout.raw_hour_prefix(PREFIX, TABLE, H0_MS) + "sub/odd.json.gz"
    )  # not a layout key: loaded raw, not compacted
    aws.put_raw(odd)

    plan = service.plan_compaction({"scheduled_time": "2026-11-27T05:15:00Z"})

    assert plan["hour"] == "2026-11-27T04" and plan["inputs"] == 2
    assert layout.is_scan_id(plan["run"])
    assert plan["args"] == compaction.s3_dist_cp_args(BUCKET, PREFIX, TABLE, H0_MS, plan["run"], 32)
    inputs = aws.s3.get_object(
        Bucket=BUCKET, Key=layout.compaction_inputs_key(PREFIX, TABLE, H0_MS, plan["run"])
    )
    assert inputs["Body"].read().decode().splitlines() == [
        f"s3://{BUCKET}/{first}",
        f"s3://{BUCKET}/{second}",
    ]

    empty = service.plan_compaction({"hour": "2026-11-27T02"})
    assert empty["inputs"] == 0
    listed = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/compaction/{TABLE}/2026/11/27/02/")
    assert listed["KeyCount"] == 0


def test_the_plan_is_refused_outside_emr_compaction(aws, emr_loader):
    service, _executor, _connection = emr_loader
    other = LoaderService(
        LoaderConfig.from_env(base_env(CDC_LOAD_STRATEGY="schedule")),
        executor=service.executor,
        files=service.files,
        alerts=service.alerts,
        metrics=service.metrics,
        logger=service.logger,
    )
    with pytest.raises(compaction.CompactionError, match="emr_compaction"):
        other.plan_compaction({"hour": "2026-11-27T04"})


# -- the load step ------------------------------------------------------------


def test_one_transaction_loads_the_compacted_hour_and_ledgers_its_raw_files_and_late_files_follow(
    aws, emr_loader, pg_schema
):
    service, executor, connection = emr_loader
    files = ChangeFiles(aws.s3, BUCKET, PREFIX, TABLE)
    raw = [
        _batch(files, 100, [("INSERT", "a", 1), ("INSERT", "b", 2)], H0_S),
        _batch(files, 200, [("MODIFY", "a", 10), ("REMOVE", "b", None), ("INSERT", "c", 3)], H0_S),
        _batch(files, 300, [("MODIFY", "c", 30)], H0_S),
    ]
    plan = service.plan_compaction({"hour": "2026-11-27T04"})
    compacted = _s3_dist_cp(aws.s3, plan["args"])
    # After the listing: a late file of the same hour (a retried batch, a Firehose buffer).
    late = _batch(files, 400, [("INSERT", "d", 4), ("MODIFY", "a", 11)], H0_S)

    executor.queries.clear()
    result = handler.process(
        {"trigger": "compacted", "hour": plan["hour"], "run": plan["run"], "compacted": True},
        FakeContext(),
        service,
    )
    # The raw files the compacted load recorded are not looked up again; the late one is.
    looked_up = " ".join(query for query in executor.queries if '"file_key" IN' in query)
    assert late in looked_up and not any(key in looked_up for key in raw)

    assert _view(connection, pg_schema) == {"a": 11, "c": 30, "d": 4}
    assert _ledger(connection, pg_schema) == {*raw, *compacted, late}
    (name, waited, statements), (_late_name, _, late_statements) = executor.runs
    assert name.startswith("ddb_cdc-compacted:") and waited  # never taken for a raw load's completion
    assert sum(statement.startswith("COPY ") for statement in statements) == 2
    assert (
        f"s3://{BUCKET}/{late}"
        in aws.s3.get_object(
            Bucket=BUCKET, Key=f"{PREFIX}/manifests/{TABLE}/{_manifest_id(late_statements)}.json"
        )["Body"]
        .read()
        .decode()
    )
    assert result["loads"][0]["compacted_from"] == 3 and result["failed_loads"] == 0

    executor.runs.clear()
    service.run_compacted(H0_MS, plan["run"], compacted=True)  # the machine retried the step
    assert executor.runs == []


def _manifest_id(statements: Sequence[str]) -> str:
    copy = next(statement for statement in statements if statement.startswith("COPY "))
    return re.search(r"manifests/[^/]+/([^/']+)\.json", copy).group(1)


def test_a_failed_compaction_loads_the_hour_raw(aws, emr_loader, pg_schema):
    service, executor, connection = emr_loader
    files = ChangeFiles(aws.s3, BUCKET, PREFIX, TABLE)
    raw = [_batch(files, 100 * i, [("INSERT", f"k{i}", i)], H0_S) for i in range(1, 4)]
    plan = service.plan_compaction({"hour": "2026-11-27T04"})

    service.run_compacted(H0_MS, plan["run"], compacted=False)

    assert _view(connection, pg_schema) == {"k1": 1, "k2": 2, "k3": 3}
    assert _ledger(connection, pg_schema) == set(raw)
    assert all(not name.startswith("ddb_cdc-compacted") for name, _, _ in executor.runs)


def test_a_compacted_file_the_warehouse_refuses_falls_back_to_the_raw_files_and_fails_the_step(
    aws, emr_loader, pg_schema
):
    service, _executor, connection = emr_loader
    files = ChangeFiles(aws.s3, BUCKET, PREFIX, TABLE)
    raw = [_batch(files, 100, [("INSERT", "a", 1)], H0_S), _batch(files, 200, [("INSERT", "b", 2)], H0_S)]
    plan = service.plan_compaction({"hour": "2026-11-27T04"})
    (compacted,) = _s3_dist_cp(aws.s3, plan["args"])
    aws.s3.put_object(Bucket=BUCKET, Key=compacted, Body=gzip.compress(b'{"op": "INSERT", truncated\n'))

    with pytest.raises(LoadsFailed, match="compacted load of 2026-11-27T04 failed"):
        service.run_compacted(H0_MS, plan["run"], compacted=True)

    assert _view(connection, pg_schema) == {"a": 1, "b": 2}
    assert _ledger(connection, pg_schema) == set(raw)  # the compacted file is not recorded
    failures = service.files.failure_records()
    assert compacted not in failures


def test_a_run_without_output_is_a_failure_not_a_silent_success(aws, emr_loader):
    service, _executor, _connection = emr_loader
    files = ChangeFiles(aws.s3, BUCKET, PREFIX, TABLE)
    _batch(files, 100, [("INSERT", "a", 1)], H0_S)
    plan = service.plan_compaction({"hour": "2026-11-27T04"})
    with pytest.raises(LoadsFailed, match="left no compacted file"):
        service.run_compacted(H0_MS, plan["run"], compacted=True)


@pytest.mark.parametrize(
    "event",
    [
        {"trigger": "compacted", "hour": "2026-11-27", "run": "20261127T051500Za1b2c3", "compacted": True},
        {"trigger": "compacted", "hour": "2026-11-27T04", "run": "../x", "compacted": True},
        {
            "trigger": "compacted",
            "hour": "2026-11-27T04",
            "run": "20261127T051500Za1b2c3",
            "compacted": "yes",
        },
    ],
)
def test_a_malformed_compacted_event_is_refused(event, emr_loader):
    service, executor, _connection = emr_loader
    with pytest.raises(handler.UnknownTrigger):
        handler.process(event, FakeContext(), service)
    assert executor.runs == []


# -- configuration and the executor -------------------------------------------


def test_the_compaction_settings_are_read_and_checked():
    config = LoaderConfig.from_env(base_env())
    assert (config.load_strategy, config.compaction_target_size_mb, config.reconcile_grace_seconds) == (
        "s3_event",
        64,
        900,
    )
    for name, value in (
        ("CDC_LOAD_STRATEGY", "emr"),
        ("CDC_COMPACTION_TARGET_SIZE_MB", "0"),
        ("CDC_COMPACTION_TARGET_SIZE_MB", "2048"),
        ("CDC_RECONCILE_GRACE_SECONDS", "59"),
    ):
        with pytest.raises(ValueError, match=name):
            LoaderConfig.from_env(base_env(**{name: value}))


class _StatementsClient:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def batch_execute_statement(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"Id": "s-1"}

    def describe_statement(self, Id: str) -> dict[str, Any]:  # boto3's name
        return {"Id": Id, "Status": "FINISHED"}


def test_an_async_data_api_executor_waits_when_asked_and_sends_no_event():
    from ddb_cdc.loader.config import RedshiftTarget
    from ddb_cdc.loader.executors import DataApiExecutor

    client = _StatementsClient()
    executor = DataApiExecutor(
        client, RedshiftTarget("workgroup", "dev", workgroup="wg"), mode="async", poll_budget_seconds=5
    )
    assert executor.run(["SELECT 1"], name="a").state == "submitted"
    assert executor.run(["SELECT 1"], name="b", wait=True).state == "finished"
    assert [request.get("WithEvent") for request in client.requests] == [True, None]
