"""Sessions of IAM roles as an AWS service assumes them for its compute, made by the emulator's STS in-process.

Used by the local Lambda runtime (a function's execution role, trusted by ``lambda.amazonaws.com``), the
EventBridge Scheduler (``scheduler.amazonaws.com``), the EC2 host (an instance profile's role) and the Redshift
Data API patch. The trust policy decides: a role whose trust policy does not name the service is refused.
"""

from __future__ import annotations

import json
from typing import Any


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def service_role_session(role_arn: str, service: str, session_name: str, region: str) -> dict[str, str]:
    """A session of ``role_arn`` as an AWS service assumes it for its compute (Lambda for a function, EC2 for an
    instance profile), as the standard variables ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and
    ``AWS_SESSION_TOKEN``. Raises PermissionError when the role's trust policy does not let ``service`` assume it.

    The emulator's STS creates the session directly: an AssumeRole over HTTP would be signed by the admin user,
    whom the trust policy rightly refuses.
    """
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    account = role_arn.split(":")[4]
    role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    trust = json.loads(role.assume_role_policy_document)
    if not any(
        statement.get("Effect") == "Allow"
        and "sts:AssumeRole" in _as_list(statement.get("Action"))
        and service in _as_list((statement.get("Principal") or {}).get("Service"))
        for statement in _as_list(trust.get("Statement"))
    ):
        raise PermissionError(f"the role {role_arn} cannot be assumed by {service}")
    session = sts_backends[account]["aws"].assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,
        duration=43200,
        external_id=None,
    )
    return {
        "AWS_ACCESS_KEY_ID": session.access_key_id,
        "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
        "AWS_SESSION_TOKEN": session.session_token,
    }
