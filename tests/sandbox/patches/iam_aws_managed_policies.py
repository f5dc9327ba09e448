"""AWS managed policies exist in every account, so a role can attach ``arn:aws:iam::aws:policy/...``.

In AWS the managed policies (``AmazonSSMManagedInstanceCore``, which the ec2_cron loader host's role attaches for
Session Manager access, among them) are there in every account. moto 5.2.5 creates them only when asked
(``iam.load_aws_managed_policies`` in its user config, or ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``), and by default
answers AttachRolePolicy with ``NoSuchEntity``, so ``terraform apply`` of the ec2_cron strategy fails.

This patch switches moto's own option on (from its bundled copy of the real policy documents) for the IAM backends
created from now on, and adds the policies to the backends that already exist (the sandbox admin's account is
created before the patches). Authorization then evaluates the attached policy's real document.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

NAME = "iam-aws-managed-policies"
FOLLOWS = (
    "IAM User Guide, 'AWS managed policies' (https://docs.aws.amazon.com/IAM/latest/UserGuide/"
    "access_policies_managed-vs-inline.html#aws-managed-policies): created and administered by AWS, available in "
    "every account; AWS Systems Manager User Guide, 'Configure instance permissions required for Systems Manager' "
    "(AmazonSSMManagedInstanceCore)."
)


def _add_to_existing_backends() -> None:
    from moto.iam.models import iam_backends

    for partitions in list(iam_backends.values()):
        for backend in list(partitions.values()):
            if backend.aws_managed_policies:
                continue
            backend.aws_managed_policies = backend._init_aws_policies()
            for policy in backend.aws_managed_policies:
                backend.managed_policies.setdefault(policy.arn, policy)


@contextmanager
def installed() -> Iterator[None]:
    from moto.core.config import default_user_config

    iam_config = default_user_config.setdefault("iam", {})
    previous = iam_config.get("load_aws_managed_policies", False)
    iam_config["load_aws_managed_policies"] = True
    try:
        _add_to_existing_backends()
        yield
    finally:
        iam_config["load_aws_managed_policies"] = previous
