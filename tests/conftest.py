"""Shared test setup: nothing here may reach a real AWS account."""

import os

# Any boto3 client built by a test talks to moto, never to AWS, even if the developer has credentials.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# Current botocore derives account-scoped endpoints from credentials; moto's in-process streams need it off.
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")

# One throwaway PostgreSQL (the Redshift stand-in) for the whole session, shared by every folder.
pytest_plugins = ["tests.rig.pytest_plugin"]
