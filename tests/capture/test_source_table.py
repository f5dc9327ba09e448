"""Issue 10, item 4: a record from another table's stream is never written as this table's change.

Lambda puts ``eventSourceARN`` (``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>``)
on every record of a DynamoDB stream event, so both writers compare its table name to
the configured one; a record without it cannot be attributed and is set aside too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ddb_cdc import capture

from .support import STREAM_ARN, read_envelopes, stream_record

OTHER_ARN = STREAM_ARN.replace("table/sensors/", "table/sensors-eu/")
SECRET = "sensor-secret-0001"


def three_records(middle_arn: str | None) -> dict[str, Any]:
    records = [
        stream_record(
            "INSERT",
            {"id": {"S": f"{SECRET}-{n}"}},
            new_image={"id": {"S": f"{SECRET}-{n}"}, "v": {"N": "1"}},
            sequence_number=f"10000000000000000000{n}",
            event_id=f"e{n}",
        )
        for n in range(3)
    ]
    if middle_arn is None:
        del records[1]["eventSourceARN"]
    else:
        records[1]["eventSourceARN"] = middle_arn
    return {"Records": records}


def written_ids_and_reasons(writer: str, event: dict[str, Any]) -> tuple[list[str], list[str]]:
    if writer == "s3":
        plan = capture.plan_s3_batch(event, table="sensors", prefix="cdc")
        assert plan.object is not None
        ids = [envelope["keys"]["id"] for envelope in read_envelopes(plan.object.body)]
        return ids, [q.reason for q in plan.quarantined]
    firehose = capture.plan_firehose_batch(event, table="sensors")
    ids = [json.loads(record.data)["keys"]["id"] for record in firehose.records]
    return ids, [q.reason for q in firehose.quarantined]


@pytest.mark.parametrize("writer", ["s3", "firehose"])
def test_a_record_from_another_tables_stream_is_quarantined_alone(writer: str) -> None:
    ids, reasons = written_ids_and_reasons(writer, three_records(OTHER_ARN))
    assert ids == [f"{SECRET}-0", f"{SECRET}-2"]
    assert reasons == [capture.OTHER_TABLE]
    assert SECRET not in reasons[0] and "sensors-eu" not in reasons[0]


@pytest.mark.parametrize("writer", ["s3", "firehose"])
def test_a_record_without_an_event_source_arn_is_quarantined_alone(writer: str) -> None:
    ids, reasons = written_ids_and_reasons(writer, three_records(None))
    assert ids == [f"{SECRET}-0", f"{SECRET}-2"]
    assert reasons == ["eventSourceARN is not a DynamoDB stream ARN"]


def test_a_table_whose_name_only_starts_like_ours_is_another_table() -> None:
    event = three_records(STREAM_ARN.replace("table/sensors/", "table/sensorsX/"))
    for record in event["Records"]:
        record["eventSourceARN"] = STREAM_ARN.replace("table/sensors/", "table/sensorsX/")
    plan = capture.plan_s3_batch(event, table="sensors", prefix="cdc")
    assert plan.object is None and [q.reason for q in plan.quarantined] == [capture.OTHER_TABLE] * 3
    firehose = capture.plan_firehose_batch(event, table="sensors")
    assert firehose.records == [] and [q.reason for q in firehose.quarantined] == [capture.OTHER_TABLE] * 3
