"""The s3-secure-transport patch: the module's TLS-only bucket policy denies HTTP and allows HTTPS, as in AWS."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.sandbox.moto_server import CA_BUNDLE_NAME, running_moto
from tests.sandbox.patches import s3_secure_transport

BUCKET = "tls-only-bucket"
# The statement modules/s3_sink attaches (data.aws_iam_policy_document.tls_only).
TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": ["false"]}},
        }
    ],
}


def _s3(endpoint: str, verify: str | None = None):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        verify=verify,
    )


def _tls_only_bucket(s3) -> None:
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(TLS_ONLY))


def test_tls_only_policy_allows_https_object_writes_and_reads(tmp_path: Path):
    with running_moto(tls_dir=tmp_path) as endpoint, s3_secure_transport.installed():
        assert endpoint.startswith("https://127.0.0.1:")
        s3 = _s3(endpoint, verify=str(tmp_path / CA_BUNDLE_NAME))
        _tls_only_bucket(s3)
        s3.put_object(Bucket=BUCKET, Key="raw/a.json.gz", Body=b"x")
        assert s3.get_object(Bucket=BUCKET, Key="raw/a.json.gz")["Body"].read() == b"x"


def test_tls_only_policy_still_denies_plain_http():
    with running_moto() as endpoint, s3_secure_transport.installed():
        s3 = _s3(endpoint)
        _tls_only_bucket(s3)
        with pytest.raises(ClientError) as denied:
            s3.put_object(Bucket=BUCKET, Key="raw/a.json.gz", Body=b"x")
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_statements_apply_only_when_their_conditions_hold():
    deny = TLS_ONLY["Statement"][0]
    assert s3_secure_transport.applies(deny, {"aws:SecureTransport": "false"}) is True
    assert s3_secure_transport.applies(deny, {"aws:SecureTransport": "true"}) is False
    assert s3_secure_transport.applies(deny, {}) is False  # a missing key does not match
    assert (
        s3_secure_transport.applies({"Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}, {}) is None
    )
    effective = s3_secure_transport.effective_policy(TLS_ONLY, {"aws:SecureTransport": "true"})
    assert effective["Statement"] == []


def test_patch_is_reverted_on_exit():
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    before = (S3Response.__dict__["setup_class"], FakeBucket.__dict__["get_permission"])
    with s3_secure_transport.installed():
        assert FakeBucket.__dict__["get_permission"] is not before[1]
    assert (S3Response.__dict__["setup_class"], FakeBucket.__dict__["get_permission"]) == before
