"""Redshift Serverless namespaces and workgroups, which moto 5.2.5 does not have at all.

Only what hashicorp/aws calls to create, read and delete ``aws_redshiftserverless_namespace`` and
``aws_redshiftserverless_workgroup`` (and read the ``aws_redshiftserverless_workgroup`` data source the loader
module uses): CreateNamespace, GetNamespace, DeleteNamespace, CreateWorkgroup, GetWorkgroup, DeleteWorkgroup,
ListTagsForResource, TagResource and UntagResource, in the service's JSON 1.1 protocol
(``X-Amz-Target: RedshiftServerless.<Operation>``). Shapes follow the Amazon Redshift Serverless API Reference:

- ``Namespace``: ``iamRoles`` come back as ``IamRole(applyStatus=in-sync, iamRoleArn=<arn>)`` strings (the form the
  provider parses), ``kmsKeyId`` is ``AWS_OWNED_KMS_KEY`` unless a key was given (namespaces are always encrypted), and
  ``manageAdminPassword`` puts the generated admin password into a Secrets Manager secret whose ARN is
  ``adminPasswordSecretArn``; the password itself is never returned.
- ``Workgroup``: ``workgroupArn`` holds the workgroup *ID* (a UUID), not its name, which is why the loader module
  looks the workgroup up; ``baseCapacity`` defaults to 128 RPUs; ``endpoint`` carries address and port 5439.
- A namespace with a workgroup cannot be deleted (``ConflictException``); unknown names are
  ``ResourceNotFoundException``. Creation and deletion complete at once (AWS passes through CREATING/DELETING;
  the provider waits for AVAILABLE, or for ResourceNotFoundException after a delete, and sees it at once here).

Requests are routed here by the SigV4 signing name ``redshift-serverless``, ahead of moto's dispatcher (which has
no backend for it). A created workgroup is registered with the Data API emulator (``redshift-data`` patch), which
then accepts ``WorkgroupName`` for it, and only for it, until it is deleted.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.secretsmanager.models import secretsmanager_backends
from werkzeug.wrappers import Request, Response

from tests.sandbox.patches import redshift_data

NAME: Final = "redshift-serverless"
FOLLOWS: Final = (
    "Amazon Redshift Serverless API Reference (https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/): "
    "CreateNamespace, GetNamespace, DeleteNamespace, CreateWorkgroup, GetWorkgroup, DeleteWorkgroup, "
    "ListTagsForResource, TagResource, UntagResource; data types Namespace and Workgroup "
    "(API_Namespace.html, API_Workgroup.html). Managed admin password: Amazon Redshift Management Guide, "
    "'Managing Amazon Redshift admin passwords using AWS Secrets Manager' "
    "(https://docs.aws.amazon.com/redshift/latest/mgmt/redshift-secrets-manager-integration.html)."
)

SIGNING_NAME: Final = "redshift-serverless"
_TARGET_PREFIX: Final = "RedshiftServerless."
_DEFAULT_BASE_CAPACITY: Final = 128
_PORT: Final = 5439


class ServiceError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _not_found(kind: str, name: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"{kind} {name} not found.")


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(slots=True)
class Namespace:
    name: str
    region: str
    account_id: str
    body: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    secret_arn: str | None = None


@dataclass(slots=True)
class Workgroup:
    name: str
    region: str
    account_id: str
    body: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


class ServerlessState:
    """Every namespace and workgroup, per (account, region). Guarded by one lock: requests arrive on many threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.namespaces: dict[tuple[str, str, str], Namespace] = {}
        self.workgroups: dict[tuple[str, str, str], Workgroup] = {}

    # -- namespaces -------------------------------------------------------------------------------------

    def create_namespace(self, account_id: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
        name = _required(request, "namespaceName")
        key = (account_id, region, name)
        if key in self.namespaces:
            raise ServiceError("ConflictException", f"Namespace {name} already exists.")
        if request.get("manageAdminPassword") and request.get("adminUserPassword"):
            raise ServiceError(
                "ValidationException", "You can't use adminUserPassword if manageAdminPassword is true."
            )
        namespace_id = str(uuid.uuid4())
        arn = f"arn:aws:redshift-serverless:{region}:{account_id}:namespace/{namespace_id}"
        admin = request.get("adminUsername") or "admin"
        body: dict[str, Any] = {
            "namespaceName": name,
            "namespaceId": namespace_id,
            "namespaceArn": arn,
            "adminUsername": admin,
            "dbName": request.get("dbName") or "dev",
            "kmsKeyId": request.get("kmsKeyId") or "AWS_OWNED_KMS_KEY",
            "iamRoles": [
                f"IamRole(applyStatus=in-sync, iamRoleArn={role})" for role in request.get("iamRoles") or []
            ],
            "logExports": list(request.get("logExports") or []),
            "status": "AVAILABLE",
            "creationDate": _now(),
        }
        if request.get("defaultIamRoleArn"):
            body["defaultIamRoleArn"] = request["defaultIamRoleArn"]
        namespace = Namespace(name, region, account_id, body, _tags(request.get("tags")))
        if request.get("manageAdminPassword"):
            namespace.secret_arn = _create_admin_secret(account_id, region, name, admin, request)
            body["adminPasswordSecretArn"] = namespace.secret_arn
            if request.get("adminPasswordSecretKmsKeyId"):
                body["adminPasswordSecretKmsKeyId"] = request["adminPasswordSecretKmsKeyId"]
        self.namespaces[key] = namespace
        return {"namespace": body}

    def get_namespace(self, account_id: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
        return {"namespace": self._namespace(account_id, region, _required(request, "namespaceName")).body}

    def delete_namespace(self, account_id: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
        name = _required(request, "namespaceName")
        namespace = self._namespace(account_id, region, name)
        if any(
            w.account_id == account_id and w.region == region and w.body["namespaceName"] == name
            for w in self.workgroups.values()
        ):
            raise ServiceError(
                "ConflictException", f"Namespace {name} has a workgroup. Delete the workgroup first."
            )
        del self.namespaces[(account_id, region, name)]
        if namespace.secret_arn:
            # Redshift deletes the secret it manages together with the namespace.
            secretsmanager_backends[account_id][region].delete_secret(
                namespace.secret_arn,
                recovery_window_in_days=None,
                force_delete_without_recovery=True,
            )
        return {"namespace": {**namespace.body, "status": "DELETING"}}

    def _namespace(self, account_id: str, region: str, name: str) -> Namespace:
        try:
            return self.namespaces[(account_id, region, name)]
        except KeyError:
            raise _not_found("Namespace", name) from None

    # -- workgroups -------------------------------------------------------------------------------------

    def create_workgroup(self, account_id: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
        name = _required(request, "workgroupName")
        namespace_name = _required(request, "namespaceName")
        self._namespace(account_id, region, namespace_name)
        key = (account_id, region, name)
        if key in self.workgroups:
            raise ServiceError("ConflictException", f"Workgroup {name} already exists.")
        workgroup_id = str(uuid.uuid4())
        port = int(request.get("port") or _PORT)
        address = f"{name}.{account_id}.{region}.redshift-serverless.amazonaws.com"
        body: dict[str, Any] = {
            "workgroupName": name,
            "workgroupId": workgroup_id,
            "workgroupArn": f"arn:aws:redshift-serverless:{region}:{account_id}:workgroup/{workgroup_id}",
            "namespaceName": namespace_name,
            "baseCapacity": int(request.get("baseCapacity") or _DEFAULT_BASE_CAPACITY),
            "enhancedVpcRouting": bool(request.get("enhancedVpcRouting", False)),
            "publiclyAccessible": bool(request.get("publiclyAccessible", False)),
            "port": port,
            "configParameters": list(request.get("configParameters") or []),
            "securityGroupIds": list(request.get("securityGroupIds") or []),
            "subnetIds": list(request.get("subnetIds") or []),
            "endpoint": {"address": address, "port": port, "vpcEndpoints": []},
            "status": "AVAILABLE",
            "creationDate": _now(),
            "trackName": request.get("trackName") or "current",
        }
        if request.get("maxCapacity") is not None:
            body["maxCapacity"] = int(request["maxCapacity"])
        self.workgroups[key] = Workgroup(name, region, account_id, body, _tags(request.get("tags")))
        redshift_data.register_workgroup(name)
        return {"workgroup": body}

    def get_workgroup(self, account_id: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
        return {"workgroup": self._workgroup(account_id, region, _required(request, "workgroupName")).body}

    def delete_workgroup(self, account_id: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
        name = _required(request, "workgroupName")
        workgroup = self._workgroup(account_id, region, name)
        del self.workgroups[(account_id, region, name)]
        redshift_data.deregister_workgroup(name)
        return {"workgroup": {**workgroup.body, "status": "DELETING"}}

    def _workgroup(self, account_id: str, region: str, name: str) -> Workgroup:
        try:
            return self.workgroups[(account_id, region, name)]
        except KeyError:
            raise _not_found("Workgroup", name) from None

    # -- tags ---------------------------------------------------------------------------------------------

    def _by_arn(self, arn: str) -> Namespace | Workgroup:
        for resource in (*self.namespaces.values(), *self.workgroups.values()):
            if arn in (resource.body.get("namespaceArn"), resource.body.get("workgroupArn")):
                return resource
        raise ServiceError("ResourceNotFoundException", f"Resource {arn} not found.")

    def list_tags_for_resource(self, _account: str, _region: str, request: dict[str, Any]) -> dict[str, Any]:
        resource = self._by_arn(_required(request, "resourceArn"))
        return {"tags": [{"key": key, "value": value} for key, value in sorted(resource.tags.items())]}

    def tag_resource(self, _account: str, _region: str, request: dict[str, Any]) -> dict[str, Any]:
        self._by_arn(_required(request, "resourceArn")).tags.update(_tags(request.get("tags")))
        return {}

    def untag_resource(self, _account: str, _region: str, request: dict[str, Any]) -> dict[str, Any]:
        resource = self._by_arn(_required(request, "resourceArn"))
        for key in request.get("tagKeys") or []:
            resource.tags.pop(key, None)
        return {}


def _required(request: dict[str, Any], name: str) -> str:
    value = request.get(name)
    if not value:
        raise ServiceError("ValidationException", f"{name} is required.")
    return str(value)


def _tags(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in tags or []}


def _create_admin_secret(
    account_id: str, region: str, namespace: str, admin: str, request: dict[str, Any]
) -> str:
    """The secret Redshift creates for a managed admin password (username and a generated password)."""
    backend = secretsmanager_backends[account_id][region]
    value = json.dumps({"username": admin, "password": secrets.token_urlsafe(24)})
    created = backend.create_secret(
        name=f"redshift!{namespace}-{admin}",
        secret_string=value,
        secret_binary=None,
        description=f"Admin password of Redshift Serverless namespace {namespace}, managed by Redshift",
        tags=None,
        kms_key_id=request.get("adminPasswordSecretKmsKeyId"),
        client_request_token=None,
        replica_regions=[],
        force_overwrite=False,
    )
    return str(json.loads(created)["ARN"])


_OPERATIONS: Final = {
    "CreateNamespace": ServerlessState.create_namespace,
    "GetNamespace": ServerlessState.get_namespace,
    "DeleteNamespace": ServerlessState.delete_namespace,
    "CreateWorkgroup": ServerlessState.create_workgroup,
    "GetWorkgroup": ServerlessState.get_workgroup,
    "DeleteWorkgroup": ServerlessState.delete_workgroup,
    "ListTagsForResource": ServerlessState.list_tags_for_resource,
    "TagResource": ServerlessState.tag_resource,
    "UntagResource": ServerlessState.untag_resource,
}


def _signing_name(environ: dict[str, Any]) -> tuple[str | None, str]:
    """(service, region) from the SigV4 credential scope: ``Credential=<key>/<date>/<region>/<service>/aws4_request``."""
    try:
        scope = environ.get("HTTP_AUTHORIZATION", "").split(",")[0].split()[1]
        _, _, region, service, _ = scope.split("/")
    except (IndexError, ValueError):
        return None, ""
    return service.lower(), region


class ServerlessApp:
    """A WSGI application for the service's JSON 1.1 protocol over :class:`ServerlessState`."""

    def __init__(self, state: ServerlessState, account_id: str = DEFAULT_ACCOUNT_ID) -> None:
        self.state = state
        self.account_id = account_id

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        _, region = _signing_name(environ)
        target = request.headers.get("X-Amz-Target", "")
        operation = _OPERATIONS.get(target.removeprefix(_TARGET_PREFIX))
        try:
            if operation is None:
                raise ServiceError("UnknownOperationException", f"{target} is not emulated by the sandbox.")
            body = json.loads(request.get_data(as_text=True) or "{}")
            with self.state.lock:
                result = operation(self.state, self.account_id, region or "us-east-1", body)
            response = Response(json.dumps(result), 200, content_type="application/x-amz-json-1.1")
        except ServiceError as error:
            response = Response(
                json.dumps({"__type": error.code, "message": error.message}),
                400,
                content_type="application/x-amz-json-1.1",
                headers={"x-amzn-ErrorType": error.code},
            )
        return response(environ, start_response)


@contextlib.contextmanager
def installed() -> Iterator[ServerlessState]:
    """Serve Redshift Serverless from every moto server of this process; yields the state."""
    state = ServerlessState()
    app = ServerlessApp(state)
    original = DomainDispatcherApplication.get_application

    def get_application(self: DomainDispatcherApplication, environ: dict[str, Any]) -> Any:
        if _signing_name(environ)[0] == SIGNING_NAME:
            return app
        return original(self, environ)

    DomainDispatcherApplication.get_application = get_application  # type: ignore[method-assign]
    try:
        yield state
    finally:
        DomainDispatcherApplication.get_application = original  # type: ignore[method-assign]
        with state.lock:
            for workgroup in state.workgroups.values():
                redshift_data.deregister_workgroup(workgroup.name)
