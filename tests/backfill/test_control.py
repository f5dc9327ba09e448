"""The backfill CLI: start, status, resume and cancel for each mode, and one-line errors that name the fix."""

from __future__ import annotations

import argparse
import io
import json
from typing import Any

import boto3
import pytest
from ddb_cdc import cli, layout
from ddb_cdc.backfill import checkpoint, control, scan
from ddb_cdc.backfill.cli import main as backfill_main
from ddb_cdc.backfill.config import BackfillConfig

from .conftest import BUCKET, CURSORS, PREFIX, REGION, TABLE, create_table, cursor_table, env

ROLE = "arn:aws:iam::123456789012:role/backfill-states"
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


class MappingLambda:
    """get_event_source_mapping only (moto builds a mapping only for a function it can run)."""

    def __init__(
        self, stream_arn: str, state: str = "Enabled", exists: bool = True, filtered: bool = False
    ) -> None:
        self.stream_arn, self.state, self.exists, self.filtered = stream_arn, state, exists, filtered
        self.deployed: dict[str, str] = {}

    def get_event_source_mapping(self, UUID: str) -> dict[str, Any]:
        if not self.exists:
            raise boto3.client("lambda", region_name=REGION).exceptions.ResourceNotFoundException(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "not found"}},
                "GetEventSourceMapping",
            )
        mapping = {"UUID": UUID, "State": self.state, "EventSourceArn": self.stream_arn}
        if self.filtered:
            mapping["FilterCriteria"] = {"Filters": [{"Pattern": '{"eventName": ["INSERT", "MODIFY"]}'}]}
        return mapping

    def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:
        return {"Environment": {"Variables": self.deployed}} if FunctionName == "orders-backfill" else {}


def _table_with_stream() -> str:
    client = create_table()
    description = client.update_table(
        TableName=TABLE, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )["TableDescription"]
    return description["LatestStreamArn"]


def _rig(mode: str, **lambda_options: Any) -> tuple[BackfillConfig, control.Clients]:
    stream_arn = _table_with_stream()
    overrides = {"CDC_BACKFILL_MODE": mode}
    if mode == "checkpoint_table":
        cursor_table()
    else:
        machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name="orders-backfill", definition=DEFINITION, roleArn=ROLE
        )
        overrides["CDC_BACKFILL_STATE_MACHINE_ARN"] = machine["stateMachineArn"]
    clients = control.Clients(
        dynamodb=boto3.client("dynamodb", region_name=REGION),
        s3=boto3.client("s3", region_name=REGION),
        lambda_=MappingLambda(stream_arn, **lambda_options),
        stepfunctions=boto3.client("stepfunctions", region_name=REGION),
    )
    return BackfillConfig.from_env(env(**overrides)), clients


def _write_progress(clients: control.Clients, scan_id: str, segment: int, *, page: int, done: bool) -> None:
    state = {
        **scan.fresh_state(scan_id, segment, 4, 0),
        "page": page,
        "cursor": None if done else {"pk": {"S": f"k{segment}"}},
        "items": 10 * page,
        "bytes": 1000 * page,
        "started_ms": 0,
        "updated_ms": 0,
        "done": done,
    }
    clients.s3.put_object(
        Bucket=BUCKET,
        Key=layout.progress_key(PREFIX, TABLE, scan_id, segment),
        Body=scan.progress_body(state),
    )


def test_start_runs_one_execution_over_every_segment_and_records_the_scan(aws: None) -> None:
    config, clients = _rig("step_functions")
    started = control.start(config, clients, segments=3)
    described = clients.stepfunctions.describe_execution(executionArn=started["execution_arn"])
    document = json.loads(described["input"])
    assert described["name"] == started["scan_id"] and layout.is_scan_id(started["scan_id"])
    assert document["segments"] == [0, 1, 2] and document["total_segments"] == 3
    status = control.status(config, clients)
    assert status["scan_id"] == started["scan_id"]
    assert (status["segments_done"], status["segments_total"], status["items_written"]) == (0, 3, 0)


def test_resume_restarts_only_unfinished_segments_from_their_progress_records(aws: None) -> None:
    config, clients = _rig("step_functions")
    started = control.start(config, clients, segments=4)
    with pytest.raises(control.ControlError, match="still running"):
        control.resume(config, clients)
    clients.stepfunctions.stop_execution(executionArn=started["execution_arn"])
    _write_progress(clients, started["scan_id"], 0, page=5, done=True)
    _write_progress(clients, started["scan_id"], 2, page=3, done=False)

    status = control.status(config, clients)
    assert status["state"] == "CANCELLED" and status["segment_pages"] == {"0": 5, "1": 0, "2": 3, "3": 0}
    assert (status["segments_done"], status["items_written"]) == (1, 80)

    resumed = control.resume(config, clients)
    assert resumed["resumed_segments"] == [1, 2, 3]
    execution = clients.stepfunctions.describe_execution(executionArn=resumed["execution_arn"])
    assert execution["name"] == f"{started['scan_id']}-r1"
    # The segments go on from their records: the handler reads segment 2's cursor, page 3.
    assert json.loads(execution["input"])["segments"] == [1, 2, 3]


def test_cancel_stops_the_running_execution(aws: None) -> None:
    config, clients = _rig("step_functions")
    started = control.start(config, clients, segments=2)
    assert control.cancel(config, clients)["stopped_executions"] == [started["scan_id"]]
    assert control.status(config, clients)["state"] == "CANCELLED"


def test_checkpoint_start_cancel_and_resume_move_the_cursor_items(aws: None) -> None:
    config, clients = _rig("checkpoint_table")
    started = control.start(config, clients, segments=3)
    items = clients.dynamodb.scan(TableName=CURSORS)["Items"]
    assert sorted(int(i["segment"]["N"]) for i in items) == [0, 1, 2]
    assert {checkpoint.item_to_state(i)[1] for i in items} == {"RUNNING"}

    clients.dynamodb.update_item(  # segment 1 finished meanwhile
        TableName=CURSORS,
        Key=checkpoint.item_key(started["scan_id"], 1),
        UpdateExpression="SET #s = :done, done = :t, page = :p",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":done": {"S": "DONE"}, ":t": {"BOOL": True}, ":p": {"N": "4"}},
    )
    assert control.cancel(config, clients)["cancelled_segments"] == [0, 2]
    assert control.status(config, clients)["state"] == "CANCELLED"
    assert control.resume(config, clients)["resumed_segments"] == [0, 2]
    status = control.status(config, clients)
    assert status["state"] == "RUNNING" and status["segments_done"] == 1


@pytest.mark.parametrize(
    ("lambda_options", "message"),
    [
        ({"state": "Disabled"}, "is Disabled, not Enabled"),
        ({"exists": False}, "does not exist"),
    ],
)
def test_start_refuses_when_the_stream_mapping_is_not_capturing(
    aws: None, lambda_options: dict[str, Any], message: str
) -> None:
    config, clients = _rig("step_functions", **lambda_options)
    with pytest.raises(control.ControlError, match=message):
        control.start(config, clients)
    assert clients.stepfunctions.list_executions(stateMachineArn=config.state_machine_arn)["executions"] == []


def test_start_refuses_a_table_without_a_stream(aws: None) -> None:
    create_table()
    config = BackfillConfig.from_env(env())
    clients = control.Clients(
        boto3.client("dynamodb", region_name=REGION), boto3.client("s3", region_name=REGION), None, None
    )
    with pytest.raises(control.ControlError, match=r"has no stream.*update-table"):
        control.start(config, clients)


def _args(*argv: str) -> argparse.Namespace:
    return cli.parser().parse_args(["backfill", *argv])


def test_cli_errors_are_one_line_naming_the_fix(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    _, clients = _rig("step_functions")
    cases = {
        ("start", "--segments", "0"): "--segments 0 is out of range: use 1 to 1000",
        ("status", "--segments", "3"): "--segments applies to start only",
        ("status", "--scan-id", "yesterday"): "is not a scan id",
    }
    for argv, message in cases.items():
        environment = env(
            CDC_BACKFILL_STATE_MACHINE_ARN="arn:aws:states:us-east-1:123456789012:stateMachine:x"
        )
        assert backfill_main(_args(*argv), environment, clients=clients, out=io.StringIO()) == 2
        error = capsys.readouterr().err
        assert message in error and error.count("\n") == 1, error
    assert (
        backfill_main(_args("status"), env(CDC_BACKFILL_MODE="glue"), clients=clients, out=io.StringIO()) == 2
    )
    assert (
        "CDC_BACKFILL_MODE must be one of step_functions, checkpoint_table, export" in capsys.readouterr().err
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_progress_lines_and_a_script_gets_json(aws: None) -> None:
    config, clients = _rig("step_functions")
    environment = env(CDC_BACKFILL_STATE_MACHINE_ARN=config.state_machine_arn)
    started = control.start(config, clients, segments=2)
    _write_progress(clients, started["scan_id"], 0, page=2, done=True)
    terminal, script = _Terminal(), io.StringIO()
    assert backfill_main(_args("status"), environment, clients=clients, out=terminal) == 0
    text = terminal.getvalue()
    assert "segments  1/2 done" in text and "written   20 items" in text and "eta" in text and "rate" in text
    assert backfill_main(_args("status"), environment, clients=clients, out=script) == 0
    assert json.loads(script.getvalue())["segments_done"] == 1


def test_function_reads_the_deployed_backfill_functions_environment(aws: None) -> None:
    config, clients = _rig("step_functions")
    clients.lambda_.deployed = env(CDC_BACKFILL_STATE_MACHINE_ARN=config.state_machine_arn)
    out = io.StringIO()
    assert backfill_main(_args("start", "--function", "orders-backfill"), {}, clients=clients, out=out) == 0
    assert json.loads(out.getvalue())["total_segments"] == 4  # CDC_BACKFILL_SEGMENTS of the function


def test_start_refuses_a_filtered_stream_mapping_unless_told_it_is_safe(aws: None) -> None:
    config, clients = _rig("step_functions", filtered=True)
    with pytest.raises(control.ControlError, match="filters the stream"):
        control.start(config, clients)
    assert control.start(config, clients, allow_filtered=True)["execution_arn"]


def test_resume_rewrites_a_running_segment_that_has_not_moved_for_longer_than_any_invocation(
    aws: None,
) -> None:
    config, clients = _rig("checkpoint_table")
    started = control.start(config, clients, segments=2)
    # Segment 0's record went to the DLQ after the mapping's retries: RUNNING, but nobody works on it.
    clients.dynamodb.update_item(
        TableName=CURSORS,
        Key=checkpoint.item_key(started["scan_id"], 0),
        UpdateExpression="SET updated_ms = :old",
        ExpressionAttributeValues={":old": {"N": str(control._now_ms() - control.STUCK_MS - 1000)}},
    )
    assert control.resume(config, clients)["resumed_segments"] == [0]  # segment 1 is fresh: left alone
    assert control.resume(config, clients)["resumed_segments"] == []  # and now segment 0 moved too
