"""The Data API emulator's COPY reads S3 as the COPY's IAM_ROLE, as Redshift does.

Redshift Management Guide, "Authorizing COPY, UNLOAD, CREATE EXTERNAL FUNCTION, and CREATE EXTERNAL SCHEMA
operations using IAM roles": the cluster (or workgroup) assumes the role named in ``IAM_ROLE`` and reads the
manifest and every file with it. A role that does not trust Redshift, or whose policies do not allow
``s3:GetObject`` on an object, fails the COPY (``S3ServiceException:Access Denied,Status 403``). Without this
rule the sandbox loaded through a COPY role that could not read the files it was given (the emr_compaction
ledger list under ``compaction/`` was the case that showed it).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.rig.postgres import PostgresServer
from tests.sandbox import client_credentials
from tests.sandbox.data_api import FAILED, FINISHED, DataApiEngine
from tests.sandbox.moto_server import running_moto
from tests.sandbox.patches.redshift_data import role_s3_factory

REGION = "us-east-1"
BUCKET = "copy-role-bucket"
ACCOUNT = "123456789012"


def _trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


@pytest.fixture(scope="module")
def copy_sandbox(pg_server: PostgresServer) -> Iterator[tuple[DataApiEngine, dict[str, str]]]:
    with running_moto() as endpoint:

        def admin(service: str) -> Any:
            return boto3.client(
                service,
                region_name=REGION,
                endpoint_url=endpoint,
                config=Config(retries={"max_attempts": 1}),
                **client_credentials(),
            )

        s3, iam = admin("s3"), admin("iam")
        s3.create_bucket(Bucket=BUCKET)
        for prefix in ("allowed", "denied"):
            s3.put_object(
                Bucket=BUCKET,
                Key=f"{prefix}/rows.json.gz",
                Body=gzip.compress(b'{"file_key": "k1"}\n{"file_key": "k2"}\n'),
            )
            manifest = {"entries": [{"url": f"s3://{BUCKET}/{prefix}/rows.json.gz", "mandatory": True}]}
            s3.put_object(Bucket=BUCKET, Key=f"{prefix}/manifest.json", Body=json.dumps(manifest).encode())
        # The manifest under allowed/ naming a file under denied/: the file itself must be readable too.
        mixed = {"entries": [{"url": f"s3://{BUCKET}/denied/rows.json.gz", "mandatory": True}]}
        s3.put_object(Bucket=BUCKET, Key="allowed/mixed.json", Body=json.dumps(mixed).encode())
        roles = {}
        for name, service in (("copy", "redshift.amazonaws.com"), ("lambda-only", "lambda.amazonaws.com")):
            roles[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(service))["Role"][
                "Arn"
            ]
            iam.put_role_policy(
                RoleName=name,
                PolicyName="read-allowed",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "s3:GetObject",
                                "Resource": f"arn:aws:s3:::{BUCKET}/allowed/*",
                            }
                        ],
                    }
                ),
            )
        roles["missing"] = f"arn:aws:iam::{ACCOUNT}:role/not-there"
        engine = DataApiEngine(
            pg_server.dsn(), admin("s3"), max_workers=1, s3_for_role=role_s3_factory(REGION, endpoint)
        )
        try:
            yield engine, roles
        finally:
            engine.close()


def _copy(engine: DataApiEngine, role: str, manifest: str) -> Any:
    statement = engine.submit(
        [
            'CREATE TEMP TABLE "listed" ("file_key" VARCHAR(1024) NOT NULL)',
            f"COPY \"listed\" FROM 's3://{BUCKET}/{manifest}' IAM_ROLE '{role}' "
            "FORMAT AS JSON 'auto' GZIP MANIFEST TIMEFORMAT 'auto'",
        ],
        batch=True,
        database="dev",
        account_id=ACCOUNT,
        region=REGION,
        cluster_identifier="c",
        db_user="u",
    )
    assert statement.done.wait(30)
    return statement


def test_a_copy_reads_what_its_role_may_read(copy_sandbox):
    engine, roles = copy_sandbox
    statement = _copy(engine, roles["copy"], "allowed/manifest.json")
    assert statement.status == FINISHED, statement.error


@pytest.mark.parametrize(
    ("role", "manifest", "message"),
    [
        ("copy", "denied/manifest.json", "S3ServiceException"),  # the manifest itself
        ("copy", "allowed/mixed.json", "S3ServiceException"),  # a file the manifest names
        ("lambda-only", "allowed/manifest.json", "not authorized to assume IAM Role"),
        ("missing", "allowed/manifest.json", "not authorized to assume IAM Role"),
    ],
)
def test_a_copy_fails_as_redshift_does_when_its_role_may_not_read(copy_sandbox, role, manifest, message):
    engine, roles = copy_sandbox
    statement = _copy(engine, roles[role], manifest)
    assert statement.status == FAILED
    assert message in (statement.error or "")
