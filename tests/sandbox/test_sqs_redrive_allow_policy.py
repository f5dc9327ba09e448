"""The sqs-redrive-allow-policy patch: GetQueueAttributes returns RedriveAllowPolicy, as AWS does."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from tests.sandbox.patches import sqs_redrive_allow_policy

DENY_ALL = json.dumps({"redrivePermission": "denyAll"})
BY_QUEUE = json.dumps(
    {"redrivePermission": "byQueue", "sourceQueueArns": ["arn:aws:sqs:us-east-1:123456789012:q"]}
)


def _attributes(client, url: str) -> dict[str, str]:
    return client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def test_the_policy_set_at_creation_or_later_is_returned_and_absent_otherwise():
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        with sqs_redrive_allow_policy.installed():
            dlq = client.create_queue(QueueName="dlq", Attributes={"RedriveAllowPolicy": DENY_ALL})[
                "QueueUrl"
            ]
            other = client.create_queue(QueueName="other")["QueueUrl"]
            assert _attributes(client, dlq)["RedriveAllowPolicy"] == DENY_ALL
            assert "RedriveAllowPolicy" not in _attributes(client, other)
            client.set_queue_attributes(QueueUrl=other, Attributes={"RedriveAllowPolicy": BY_QUEUE})
            assert _attributes(client, other)["RedriveAllowPolicy"] == BY_QUEUE
        # Reverted on exit: moto's own behaviour again.
        assert "RedriveAllowPolicy" not in _attributes(client, dlq)
