"""Named corrections to moto, each where moto departs from AWS in a way the sandbox depends on.

Every patch module defines ``NAME`` (short, kebab-case), ``FOLLOWS`` (the AWS behaviour it
implements, with the documentation it follows) and ``installed(...)``, a context manager that
applies the patch in this process and reverts it on exit. Production code never imports this.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any


@dataclass(slots=True)
class InstalledPatches:
    """What :func:`installed_patches` applied, with the handles the demo reads."""

    modules: list[ModuleType] = field(default_factory=list)
    data_api: Any = None  # tests.sandbox.data_api.DataApiEngine
    firehose: Any = None  # tests.sandbox.patches.firehose.FirehoseDelivery
    serverless: Any = None  # tests.sandbox.patches.redshift_serverless.ServerlessState
    emr: Any = None  # tests.sandbox.patches.emr.Clusters

    def describe(self) -> list[dict[str, str]]:
        return [{"name": module.NAME, "follows": module.FOLLOWS} for module in self.modules]

    def idle(self) -> bool:
        """No Data API statement running, no record waiting in a Firehose buffer and no EMR cluster starting,
        running a step or terminating."""
        return bool(self.data_api.idle() and self.firehose.idle() and (self.emr is None or self.emr.idle()))


@contextlib.contextmanager
def installed_patches(*, pg_dsn: str, endpoint_url: str) -> Iterator[InstalledPatches]:
    """Every patch the sandbox needs before ``terraform apply``, reverted in reverse order on exit.

    The Lambda runtime installs ``lambda-invoke`` (with itself as the target) and
    ``events-lambda-target`` when it starts; here ``lambda-invoke`` only detaches moto's own
    push delivery, so changes written before the runtime starts stay in the stream. ``emr-steps`` drives EMR
    clusters on real time until the runtime starts, then on its sandbox clock (the ``stepfunctions`` patch
    switches it).
    """
    from tests.sandbox.patches import (
        dynamodb_export,
        dynamodb_serial,
        emr,
        events_lambda,
        firehose,
        iam_request_context,
        lambda_invoke,
        redshift_data,
        redshift_serverless,
        s3_delete_markers,
        s3_secure_transport,
    )
    from tests.sandbox.terraform_stack import PROVIDER_PATCHES

    result = InstalledPatches()
    with contextlib.ExitStack() as stack:
        for module in PROVIDER_PATCHES:
            stack.enter_context(module.installed())
            result.modules.append(module)
        stack.enter_context(s3_secure_transport.installed())
        result.modules.append(s3_secure_transport)
        stack.enter_context(s3_delete_markers.installed())
        result.modules.append(s3_delete_markers)
        stack.enter_context(dynamodb_export.installed())
        result.modules.append(dynamodb_export)
        stack.enter_context(dynamodb_serial.installed())
        result.modules.append(dynamodb_serial)
        stack.enter_context(lambda_invoke.installed())
        result.firehose = stack.enter_context(firehose.installed())
        # Workgroups are accepted once the redshift-serverless patch has created them, as in AWS.
        result.data_api = stack.enter_context(
            redshift_data.installed(pg_dsn, endpoint_url, workgroups=(), copy_as_role=True)
        )
        result.serverless = stack.enter_context(redshift_serverless.installed())
        result.emr = stack.enter_context(emr.installed())
        result.modules += [lambda_invoke, events_lambda, firehose, redshift_data, redshift_serverless, emr]
        # running_moto installs iam-request-context with IAM enforcement; it needs the workgroups' ARNs.
        serverless = result.serverless
        stack.enter_context(
            iam_request_context.workgroups_from(
                lambda account, region, name: (
                    workgroup.body.get("workgroupArn")
                    if (workgroup := serverless.workgroups.get((account, region, name)))
                    else None
                )
            )
        )
        result.modules.append(iam_request_context)
        yield result
