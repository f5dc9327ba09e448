"""IAM authorization sees each request's real resource, its real action and the condition keys our policies use.

With IAM authorization on (``INITIAL_NO_AUTH_ACTION_COUNT``, see :mod:`tests.sandbox.moto_server`), moto 5.2.5 checks
every signed request against the caller's identity policies, but:

1. it knows the request's **resource** only for S3, SQS, IAM and STS; every other service is checked against ``*``, so
   an Allow scoped to a delivery stream, topic or cluster never matches and the call is denied;
2. for S3 it checks the *API operation* (``s3:ListObjectsV2``, ``s3:HeadBucket``) where IAM names the *action*
   (``s3:ListBucket``), checks DeleteObjects against the bucket instead of each key and CopyObject only against its target;
3. its conditions know only ``StringEquals`` against request parameters, ignore every other operator, and a statement
   whose condition fails counts as an explicit **Deny**, whatever its effect;
4. it answers a refusal with a query-protocol XML body, which SDKs cannot read for JSON and CBOR services (their
   error comes back as a bare "403"); AWS answers in the service's protocol (``AccessDeniedException``, or
   ``AccessDenied`` for the query-compatible JSON of SQS and CloudWatch);
5. it verifies the signature of a bodiless REST request (Lambda's GetFunction, DeleteFunction) over the request's
   *headers*, which moto's server keeps as the request data, so every such call fails with SignatureDoesNotMatch.

This patch keeps moto's authentication (access key lookup, SigV4 signature check) and replaces the decision: for the
services the handlers call it supplies the resource ARNs and the request's condition context, then evaluates the
caller's identity policies as the IAM policy evaluation logic does for one account (an explicit Deny wins, otherwise an
Allow whose Action, Resource and Condition all match is needed). What it evaluates and what it does not is listed in
:data:`LIMITS` (and in the README, "What is emulated").
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

NAME = "iam-request-context"
FOLLOWS = (
    "Service Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/): "
    "'Actions, resources, and condition keys for' Amazon S3 (list_amazons3.html), Amazon Data Firehose "
    "(list_amazonkinesisfirehose.html), Amazon SNS (list_amazonsns.html), Amazon SQS (list_amazonsqs.html), "
    "Amazon CloudWatch (list_amazoncloudwatch.html: PutMetricData has no resource type, cloudwatch:namespace), "
    "Amazon Redshift Data API (list_amazonredshiftdataapi.html: Execute/BatchExecuteStatement on cluster or "
    "workgroup, Describe/GetStatementResult/CancelStatement on * with redshift-data:statement-owner-iam-userid), "
    "Amazon DynamoDB (list_amazondynamodb.html: table and stream ARNs; ExportTableToPointInTime on the table, plus "
    "s3:PutObject on the destination as 'Requesting a table export' requires; DescribeExport on the export ARN), "
    "AWS KMS (list_awskeymanagementservice.html: kms:ViaService), AWS Lambda (function and "
    "event-source-mapping ARNs), AWS Step Functions (list_awsstepfunctions.html: StartExecution on the state "
    "machine, DescribeExecution/StopExecution on the execution), AWS Secrets Manager, AWS Systems Manager; IAM "
    "User Guide 'Policy evaluation logic' "
    "(reference_policies_evaluation-logic.html) and 'IAM JSON policy elements: Condition operators' "
    "(reference_policies_elements_condition_operators.html); Amazon SNS Developer Guide 'Encryption at rest' "
    "(the publisher needs kms:GenerateDataKey* and kms:Decrypt on the topic's key)."
)

LIMITS = (
    "Evaluated: the caller's identity policies (inline and attached, of an IAM user or an assumed role); Action, "
    "NotAction, Resource, NotResource with * and ? wildcards; explicit Deny over Allow; the condition operators "
    "String(Not)Equals(IgnoreCase), String(Not)Like, Arn(Not)Equals, Arn(Not)Like, Bool, Null, each with IfExists, "
    "and ForAnyValue:/ForAllValues: over multi-valued keys.",
    "Not evaluated: resource-based policies except S3 bucket policies on object requests (moto's own check, see "
    "s3-secure-transport), KMS key policies and grants, permission boundaries, session policies, SCPs, policy "
    "variables (${aws:username}), Numeric*/Date*/IpAddress operators (a statement using one fails closed: an Allow "
    "does not apply, a Deny does).",
    "Condition keys supplied: aws:SecureTransport, aws:PrincipalArn, aws:PrincipalAccount, aws:userid, "
    "aws:RequestedRegion, s3:prefix, cloudwatch:namespace, kms:ViaService (SNS publishing to a topic with a "
    "customer key), redshift-data:statement-owner-iam-userid; any other key is absent from the request context.",
    "Calls that services make on their own behalf inside the emulator (S3 notifications, Firehose delivery, "
    "COPY reading S3, Scheduler invoking Lambda) are not authorized; the Lambda runtime's pollers and destinations "
    "use the admin identity.",
)

# moto's service name -> IAM's service prefix, where the SigV4 signing name differs (CloudWatch signs as "monitoring").
_IAM_PREFIX = {
    "cloudwatch": "cloudwatch",
    "dynamodbstreams": "dynamodb",
    "awslambda": "lambda",
    "stepfunctions": "states",
}
log = logging.getLogger(__name__)
_local = threading.local()  # the moto response object whose request is being authorized, per server thread


@dataclass(frozen=True, slots=True)
class Check:
    """One authorization the request needs: an IAM action on every listed resource, in a condition context."""

    action: str
    resources: tuple[str, ...] = ("*",)
    context: dict[str, list[str]] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------
# Policy evaluation
# ---------------------------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _arn_like(pattern: str, value: str) -> bool:
    # ARN operators compare the six colon-separated parts one by one; the resource part may hold colons.
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return False
    return all(_glob(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


_COMPARE: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringEqualsIgnoreCase": lambda expected, actual: expected.lower() == actual.lower(),
    "StringLike": _glob,
    "ArnEquals": _arn_like,  # IAM treats ArnEquals and ArnLike alike (both take wildcards)
    "ArnLike": _arn_like,
    "Bool": lambda expected, actual: expected.lower() == actual.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, list[str]]) -> bool | None:
    """Whether one operator/key pair holds; None when the operator is not modelled."""
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    expected_values = [str(v) for v in _as_list(expected)]
    actual_values = context.get(key)
    if operator == "Null":
        absent = not actual_values
        return any(value.lower() == str(absent).lower() for value in expected_values)
    if not actual_values:
        # A missing key matches only with IfExists (and a negated operator's ...IfExists), per the User Guide.
        return if_exists or qualifier == "ForAllValues"
    negated = operator in _NEGATED
    compare = _COMPARE.get(_NEGATED.get(operator, operator))
    if compare is None:
        return None

    def one(actual: str) -> bool:
        matched = any(compare(e, actual) for e in expected_values)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(actual) for actual in actual_values)
    return any(one(actual) for actual in actual_values)


def _statement_applies(statement: dict[str, Any], check: Check, resource: str) -> bool | None:
    if "NotAction" in statement:
        if any(_glob(a, check.action, ignore_case=True) for a in _as_list(statement["NotAction"])):
            return False
    elif not any(_glob(a, check.action, ignore_case=True) for a in _as_list(statement.get("Action", []))):
        return False
    if "NotResource" in statement:
        if any(_glob(r, resource) for r in _as_list(statement["NotResource"])):
            return False
    elif not any(_glob(r, resource) for r in _as_list(statement.get("Resource", []))):
        return False
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, expected in pairs.items():
            verdict = _condition_holds(operator, key, expected, check.context)
            if verdict is None:
                return None
            if not verdict:
                return False
    return True


def decide(documents: list[dict[str, Any]], check: Check) -> bool:
    """True when the identity policies allow ``check`` on every one of its resources."""
    for resource in check.resources:
        allowed = False
        for document in documents:
            for statement in _as_list(document.get("Statement", [])):
                verdict = _statement_applies(statement, check, resource)
                deny = statement.get("Effect") == "Deny"
                if verdict is None:  # an operator we do not model fails closed
                    verdict = deny
                if verdict and deny:
                    return False
                allowed = allowed or (verdict and not deny)
        if not allowed:
            return False
    return True


# ---------------------------------------------------------------------------------------------------------
# What each request needs
# ---------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Request:
    """What a resolver may read from moto's response object."""

    response: Any
    service: str
    operation: str
    region: str
    account: str

    def param(self, name: str) -> Any:
        try:
            value = self.response._get_param(name)
        except Exception:  # a protocol moto parses differently: treat as absent
            value = None
        if value is None and isinstance(getattr(self.response, "body", None), str | bytes):
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                value = json.loads(self.response.body or "{}").get(name)
        return value

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"
        )


# Maps (account, region, Serverless workgroup name) to the workgroup's ARN (it holds an ID, not the name); set by
# workgroups_from() while the redshift-serverless patch serves workgroups.
_workgroup_arn: Callable[[str, str, str], str | None] | None = None


@contextlib.contextmanager
def workgroups_from(lookup: Callable[[str, str, str], str | None]) -> Iterator[None]:
    global _workgroup_arn
    previous, _workgroup_arn = _workgroup_arn, lookup
    try:
        yield
    finally:
        _workgroup_arn = previous


class Resolver:
    """Builds the checks for one request."""

    def __init__(self) -> None:
        self.statement_owners: dict[str, str] = {}  # Data API statement id -> aws:userid of who ran it
        self.denied: list[str] = []  # "<principal> <action> <resources>" of every refused request
        self._lock = threading.Lock()

    def checks(self, request: _Request, moto_action: str, moto_resource: str) -> list[Check]:
        method = getattr(self, "_" + request.service.replace("-", "_"), None)
        if method is None:
            return [Check(moto_action, (moto_resource,))]
        return method(request, moto_action, moto_resource)

    # -- services ---------------------------------------------------------------------------------------------

    def _s3(self, request: _Request, moto_action: str, moto_resource: str) -> list[Check]:
        operation = moto_action.split(":", 1)[1]
        bucket_arn = moto_resource.split("/", 1)[0]
        action = {
            "ListObjects": "s3:ListBucket",
            "ListObjectsV2": "s3:ListBucket",
            "HeadBucket": "s3:ListBucket",
            "ListObjectVersions": "s3:ListBucketVersions",
            "ListMultipartUploads": "s3:ListBucketMultipartUploads",
        }.get(operation, moto_action)
        context: dict[str, list[str]] = {}
        if action == "s3:ListBucket":
            query = getattr(request.response, "querystring", {}) or {}
            context["s3:prefix"] = [str(v) for v in query.get("prefix", [])]
        if operation == "DeleteObject" and "delete" in (getattr(request.response, "querystring", {}) or {}):
            keys = _delete_keys(request.response.body)
            return [Check("s3:DeleteObject", tuple(f"{bucket_arn}/{key}" for key in keys) or (bucket_arn,))]
        checks = [Check(action, (moto_resource,), context)]
        headers = getattr(request.response, "headers", {}) or {}
        source = headers.get("x-amz-copy-source")
        if operation == "PutObject" and source:
            source = (
                unquote(source.decode() if isinstance(source, bytes) else source).lstrip("/").split("?")[0]
            )
            checks.append(Check("s3:GetObject", (f"arn:aws:s3:::{source}",)))
        return checks

    def _firehose(self, request: _Request, action: str, _: str) -> list[Check]:
        name = request.param("DeliveryStreamName")
        return [Check(action, (request.arn("firehose", f"deliverystream/{name}") if name else "*",))]

    def _sns(self, request: _Request, action: str, _: str) -> list[Check]:
        topic = request.param("TopicArn") or request.param("TargetArn")
        checks = [Check(action, (topic or "*",))]
        if request.operation == "Publish" and topic:
            key = _topic_key_arn(topic, request.region, request.account)
            if key:
                via = {"kms:ViaService": [f"sns.{request.region}.amazonaws.com"]}
                checks += [Check("kms:GenerateDataKey", (key,), via), Check("kms:Decrypt", (key,), via)]
        return checks

    def _cloudwatch(self, request: _Request, action: str, _: str) -> list[Check]:
        namespace = request.param("Namespace")
        return [Check(action, ("*",), {"cloudwatch:namespace": [namespace]} if namespace else {})]

    def _redshift_data(self, request: _Request, action: str, _: str) -> list[Check]:
        if request.operation in ("ExecuteStatement", "BatchExecuteStatement"):
            cluster, workgroup = request.param("ClusterIdentifier"), request.param("WorkgroupName")
            if cluster:
                resource = request.arn("redshift", f"cluster:{cluster}")
            elif workgroup and str(workgroup).startswith("arn:"):
                resource = str(workgroup)
            elif workgroup and _workgroup_arn:
                resource = _workgroup_arn(request.account, request.region, str(workgroup)) or "*"
            else:
                resource = "*"
            return [Check(action, (resource,))]
        statement_id = str(request.param("Id") or "").split(":")[0]
        with self._lock:
            owner = self.statement_owners.get(statement_id)
        context = {"redshift-data:statement-owner-iam-userid": [owner]} if owner else {}
        return [Check(action, ("*",), context)]

    def _dynamodb(self, request: _Request, action: str, _: str) -> list[Check]:
        if request.operation == "DescribeExport":
            return [Check(action, (str(request.param("ExportArn") or "*"),))]
        if request.operation == "ExportTableToPointInTime":
            # The export writes with the caller's permissions: s3:PutObject under the prefix is needed too.
            bucket, prefix = request.param("S3Bucket"), str(request.param("S3Prefix") or "").rstrip("/")
            objects = f"arn:aws:s3:::{bucket}/{prefix + '/' if prefix else ''}AWSDynamoDB/*"
            return [
                Check(action, (str(request.param("TableArn") or "*"),)),
                Check("s3:PutObject", (objects,) if bucket else ("*",)),
            ]
        table = request.param("TableName")
        if table and str(table).startswith("arn:"):
            return [Check(action, (str(table),))]
        return [Check(action, (request.arn("dynamodb", f"table/{table}") if table else "*",))]

    def _dynamodbstreams(self, request: _Request, action: str, _: str) -> list[Check]:
        stream = request.param("StreamArn")
        if not stream and request.param("ShardIterator"):
            stream = _iterator_stream_arn(str(request.param("ShardIterator")))
        return [Check(action, (stream or "*",))]

    def _awslambda(self, request: _Request, action: str, _: str) -> list[Check]:
        path = unquote(urlparse(request.response.uri).path)
        mapping = re.search(r"/event-source-mappings/([0-9a-fA-F-]{36})", path)
        if mapping:
            return [Check(action, (request.arn("lambda", f"event-source-mapping:{mapping.group(1)}"),))]
        match = re.search(r"/functions/([^/]+)", path)
        if not match:
            return [Check(action)]
        name = match.group(1)
        arn = name if name.startswith("arn:") else request.arn("lambda", f"function:{name}")
        return [Check(action, (arn.split(":$")[0],))]

    def _stepfunctions(self, request: _Request, action: str, _: str) -> list[Check]:
        # StartExecution is on the stateMachine, Describe/StopExecution on the execution (Service Authorization
        # Reference, AWS Step Functions).
        arn = request.param("stateMachineArn") or request.param("executionArn") or request.param("arn")
        return [Check(action, (str(arn) if arn else "*",))]

    def _kms(self, request: _Request, action: str, _: str) -> list[Check]:
        key = request.param("KeyId")
        arn = _key_arn(str(key), request.region, request.account) if key else None
        return [Check(action, (arn or "*",))]

    def _secretsmanager(self, request: _Request, action: str, _: str) -> list[Check]:
        secret = request.param("SecretId")
        if secret and not str(secret).startswith("arn:"):
            with contextlib.suppress(Exception):
                from moto.secretsmanager.models import secretsmanager_backends

                secret = secretsmanager_backends[request.account][request.region].describe_secret(secret).arn
        return [Check(action, (str(secret) if secret else "*",))]

    def _ssm(self, request: _Request, action: str, _: str) -> list[Check]:
        name = request.param("Name")
        if name and not str(name).startswith("arn:"):
            name = request.arn("ssm", "parameter/" + str(name).lstrip("/"))
        return [Check(action, (str(name) if name else "*",))]

    # -- bookkeeping ------------------------------------------------------------------------------------------

    def record_owner(self, statement_id: str, userid: str) -> None:
        with self._lock:
            self.statement_owners[statement_id] = userid


def _delete_keys(body: Any) -> list[str]:
    import xmltodict  # what moto parses the same body with

    try:
        objects = (xmltodict.parse(body or b"").get("Delete") or {}).get("Object") or []
    except Exception:  # malformed: moto answers MalformedXML itself
        return []
    return [str(item.get("Key", "")) for item in _as_list(objects)]


def _key_arn(key: str, region: str, account: str) -> str | None:
    from moto.kms.models import kms_backends

    try:
        backend = kms_backends[account][region]
        if key.startswith("alias/aws/"):
            return (
                None  # an AWS managed key: its key policy grants the account's principals through the service
            )
        return backend.describe_key(backend.get_key_id(key) if "alias/" in key else key).arn
    except Exception:
        return None


def _topic_key_arn(topic_arn: str, region: str, account: str) -> str | None:
    from moto.sns.models import sns_backends

    try:
        topic = sns_backends[account][region].get_topic(topic_arn)
    except Exception:
        return None
    key = getattr(topic, "kms_master_key_id", None)
    return _key_arn(key, region, account) if key else None


def _iterator_stream_arn(iterator: str) -> str | None:
    # moto's iterator is "<stream ARN>|1|<id>", as AWS's opaque iterator also embeds the stream.
    stream, separator, _ = iterator.partition("|")
    return stream if separator and stream.startswith("arn:") else None


def _cbor_text(text: str) -> bytes:
    data = text.encode()
    size = len(data)
    head = (
        bytes([0x60 | size])
        if size < 24
        else bytes([0x78, size])
        if size < 256
        else bytes([0x79]) + size.to_bytes(2)
    )
    return head + data


def _in_protocol(response: Any, result: Any) -> Any:
    """moto's XML AccessDenied, re-encoded in the protocol the request used (JSON or Smithy RPC v2 CBOR)."""
    status, headers, body = result
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
    if int(status) != 403 or "<Code>AccessDenied</Code>" not in text:
        return result
    content_type = str((getattr(response, "headers", None) or {}).get("Content-Type", ""))
    message = re.search(r"<Message>(.*?)</Message>", text, re.DOTALL)
    message_text = message.group(1) if message else "Access denied"
    # Services whose JSON protocol is awsQueryCompatible keep their query-era error codes.
    query_compatible = getattr(response, "service_name", "") in ("sqs", "cloudwatch")
    code = "AccessDenied" if query_compatible else "AccessDeniedException"
    if content_type.startswith("application/x-amz-json"):
        headers = {**headers, "Content-Type": content_type}
        if query_compatible:
            # SQS and CloudWatch send their query-era code in this header; other JSON services
            # (DynamoDB, Firehose, Step Functions, the Data API) send none, and SDKs read their
            # __type: AccessDeniedException.
            headers["x-amzn-query-error"] = "AccessDenied;Sender"
        return status, headers, json.dumps({"__type": code, "message": message_text})
    if content_type.startswith("application/cbor"):
        headers = {**headers, "Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
        cbor = bytes([0xA2]) + _cbor_text("__type") + _cbor_text(code)
        return status, headers, cbor + _cbor_text("message") + _cbor_text(message_text)
    return result


# ---------------------------------------------------------------------------------------------------------
# Identity
# ---------------------------------------------------------------------------------------------------------


def _caller(access_key: Any) -> dict[str, list[str]]:
    """The global condition keys that describe who signed the request."""
    arn = access_key.arn
    try:
        if hasattr(access_key, "_owner_role_name"):
            role = access_key.backend.get_role(access_key._owner_role_name)
            userid = f"{role.id}:{access_key._session_name}"
            principal = role.arn
        else:
            userid = access_key.backend.get_user(access_key._owner_user_name).id
            principal = arn
    except Exception:
        userid, principal = arn, arn
    return {
        "aws:PrincipalArn": [principal],
        "aws:userid": [userid],
        "aws:PrincipalAccount": [access_key.account_id],
    }


@contextlib.contextmanager
def installed() -> Iterator[Resolver]:
    """Installed by :func:`tests.sandbox.moto_server.running_moto` whenever it enforces IAM."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.responses import BaseResponse
    from moto.iam.access_control import IAMPolicy, IAMRequestBase

    resolver = Resolver()
    original_authorize = ActionAuthenticatorMixin.__dict__["_authenticate_and_authorize_action"]
    original_check = IAMRequestBase.__dict__["check_action_permitted"]
    original_call = BaseResponse.__dict__["call_action"]
    original_aws_request = IAMRequestBase.__dict__["_create_aws_request"]

    def create_aws_request(self: Any) -> Any:
        request = original_aws_request(self)
        if not self._body and self._method in ("GET", "HEAD", "DELETE"):
            request.data = b""  # SigV4 hashes the payload that was sent: none
        return request

    def authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        _local.response = self
        try:
            original_authorize(self, iam_request_cls, resource)
        finally:
            _local.response = None

    def check_action_permitted(self: Any, resource: str) -> None:
        response = getattr(_local, "response", None)
        if self._action == "sts:GetCallerIdentity" or response is None:
            return original_check(self, resource)
        signing_name, _, operation = self._action.partition(":")
        service = getattr(response, "service_name", None) or signing_name
        self._action = f"{_IAM_PREFIX.get(service, signing_name)}:{operation}"
        region = getattr(response, "region", None) or self._region
        request = _Request(response, service, operation, region, self.account_id)
        caller = _caller(self._access_key)
        _local.userid = caller["aws:userid"][0]
        url = str(getattr(response, "uri", "") or "")
        secure = getattr(getattr(response, "request", None), "scheme", None) == "https" or url.startswith(
            "https"
        )
        base = {
            **caller,
            "aws:RequestedRegion": [region],
            "aws:SecureTransport": ["true" if secure else "false"],
        }
        documents = [IAMPolicy(policy)._policy_json for policy in self._access_key.collect_policies()]
        for check in resolver.checks(request, self._action, resource):
            if not decide(documents, Check(check.action, check.resources, {**base, **check.context})):
                self._action = check.action  # the error names the action that was refused
                refusal = f"{self._access_key.arn} {check.action} {' '.join(check.resources)}"
                resolver.denied.append(refusal)
                log.warning("IAM denied: %s", refusal)
                self._raise_access_denied()
        if self._is_assuming_role_operation(resource) and not self._check_role_trust_relationship(resource):
            self._raise_access_denied()

    def call_action(self: Any) -> Any:
        _local.userid = None
        result = _in_protocol(self, original_call(self))
        if getattr(self, "service_name", None) == "redshift-data" and _local.userid:
            with contextlib.suppress(Exception):
                status, _, body = result
                if int(status) == 200:
                    statement_id = json.loads(body).get("Id")
                    if statement_id:
                        resolver.record_owner(statement_id, _local.userid)
        return result

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize  # type: ignore[method-assign]
    IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign]
    BaseResponse.call_action = call_action  # type: ignore[method-assign]
    IAMRequestBase._create_aws_request = create_aws_request  # type: ignore[method-assign]
    try:
        yield resolver
    finally:
        ActionAuthenticatorMixin._authenticate_and_authorize_action = original_authorize  # type: ignore[method-assign]
        IAMRequestBase.check_action_permitted = original_check  # type: ignore[method-assign]
        BaseResponse.call_action = original_call  # type: ignore[method-assign]
        IAMRequestBase._create_aws_request = original_aws_request  # type: ignore[method-assign]
