"""The in-process moto server replays the answer of a completed attempt to a retry of the same SDK call."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.sandbox import client_credentials
from tests.sandbox.moto_server import running_moto

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def _iam(endpoint: str, invocation: str, attempt: int):
    client = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=endpoint,
        config=Config(retries={"max_attempts": 1}),
        **client_credentials(),
    )

    def headers(request, **_kwargs):
        # What an SDK sends on every attempt of one call: the same invocation id, the attempt number.
        request.headers["amz-sdk-invocation-id"] = invocation
        request.headers["amz-sdk-request"] = f"attempt={attempt}; max=3"

    client.meta.events.register("before-send.iam.*", headers)
    return client


def test_a_retry_of_a_completed_create_gets_the_first_answer_and_a_new_call_does_not():
    with running_moto() as endpoint:
        first = _iam(endpoint, "11111111-aaaa", 1).create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)
        # The answer was lost on the way back; the SDK retries the same call.
        retried = _iam(endpoint, "11111111-aaaa", 2).create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)
        assert retried["Role"]["RoleId"] == first["Role"]["RoleId"]
        # A new call (another invocation id) is a new request, and the role exists.
        with pytest.raises(ClientError, match="EntityAlreadyExists"):
            _iam(endpoint, "22222222-bbbb", 1).create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)
        # An error answer is never replayed: a retry of the failed call is processed again.
        with pytest.raises(ClientError, match="EntityAlreadyExists"):
            _iam(endpoint, "22222222-bbbb", 2).create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)
