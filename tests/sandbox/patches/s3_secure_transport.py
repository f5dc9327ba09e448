"""S3 bucket policies see ``aws:SecureTransport``: a TLS-only bucket denies plain HTTP and allows HTTPS.

moto 5.2.5 evaluates bucket policies on object requests, but (1) it passes no request context, (2) its
condition engine knows only ``StringEquals`` and treats any other operator as matching, and (3) a
statement whose condition does not match counts as an explicit DENY (trust-policy logic), whatever its
effect. A ``Deny`` with ``"Bool": {"aws:SecureTransport": "false"}`` (the module's TLS-only policy)
therefore denies *every* PutObject and GetObject, over HTTPS too: the writer got ``403 Forbidden``. In
AWS the key is true when the request was sent over TLS, and a statement whose condition does not match
simply does not apply, so the same policy denies only plain HTTP.

This patch evaluates the bucket policy's ``Bool`` and ``StringEquals`` conditions against the request's
context (``aws:SecureTransport`` from the request's scheme) and hands moto only the statements that
apply, without their conditions. Statements with other operators are left to moto as before. The
sandbox serves HTTPS, so the handlers pass the policy for the reason they pass it in AWS; a plain-HTTP
request is still denied.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

NAME = "s3-secure-transport"
FOLLOWS = (
    "IAM User Guide, 'AWS global condition context keys': aws:SecureTransport is true when the request "
    "was sent using TLS (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"
    "#condition-keys-securetransport); 'IAM JSON policy elements: Condition operators', Boolean condition "
    "operators (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"
    "#Conditions_Boolean); AWS Knowledge Center 's3-bucket-policy-for-config-rule' (deny when "
    '"aws:SecureTransport": "false").'
)

_request = threading.local()  # the S3 request this server thread is handling


def _bool(expected: Any, actual: str) -> bool:
    values = expected if isinstance(expected, list) else [expected]
    return any(str(value).lower() == actual.lower() for value in values)


def _string_equals(expected: Any, actual: str) -> bool:
    values = expected if isinstance(expected, list) else [expected]
    return any(str(value) == actual for value in values)


_OPERATORS = {"Bool": _bool, "StringEquals": _string_equals}


def applies(statement: dict[str, Any], context: dict[str, str]) -> bool | None:
    """Whether the statement's conditions hold for ``context``; None if it uses an operator we do not model.

    A key missing from the request context does not match (operators without ``IfExists``), per the IAM
    User Guide's condition-operator rules.
    """
    for operator, pairs in (statement.get("Condition") or {}).items():
        compare = _OPERATORS.get(operator)
        if compare is None:
            return None
        for key, expected in pairs.items():
            if key not in context or not compare(expected, context[key]):
                return False
    return True


def effective_policy(policy: dict[str, Any], context: dict[str, str]) -> dict[str, Any]:
    """The statements that apply to this request, with the conditions we evaluated removed."""
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    kept = []
    for statement in statements:
        verdict = applies(statement, context)
        if verdict is None:
            kept.append(statement)
        elif verdict:
            kept.append({key: value for key, value in statement.items() if key != "Condition"})
    return {**policy, "Statement": kept}


def _secure(request: Any, full_url: str | None) -> bool:
    url = str(getattr(request, "url", None) or full_url or "")
    return url.lower().startswith("https://")


@contextmanager
def installed() -> Iterator[None]:
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    original_setup = S3Response.__dict__["setup_class"]
    original_permission = FakeBucket.__dict__["get_permission"]

    def setup_class(self: Any, request: Any, full_url: str | None = None, headers: Any = None) -> None:
        _request.secure = _secure(request, full_url)
        original_setup(self, request, full_url, headers)

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        secure = getattr(_request, "secure", True)
        context = {"aws:SecureTransport": "true" if secure else "false"}
        policy = effective_policy(json.loads(self.policy), context)
        return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)

    S3Response.setup_class = setup_class  # type: ignore[method-assign]
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    try:
        yield
    finally:
        S3Response.setup_class = original_setup  # type: ignore[method-assign]
        FakeBucket.get_permission = original_permission  # type: ignore[method-assign]
