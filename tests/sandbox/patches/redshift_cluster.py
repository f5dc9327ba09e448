"""Redshift DescribeClusters fields the Terraform provider waits on and validates.

moto 5.2.5 returns a cluster without ``ClusterAvailabilityStatus``, ``AvailabilityZoneRelocationStatus`` and
``MultiAZ``. In AWS all three are present (Amazon Redshift API Reference, data type ``Cluster``):

- ``ClusterAvailabilityStatus``: "Available" when the cluster can be queried ("Unavailable", "Maintenance",
  "Modifying", "Failed" otherwise). hashicorp/aws waits for "Available" after CreateCluster, so without it
  ``terraform apply`` fails with ``unexpected state '', wanted target 'Available'. last error: available``.
- ``AvailabilityZoneRelocationStatus``: "enabled", "disabled", "pending_enabling" or "pending_disabling"
  (disabled unless the cluster was created with ``AvailabilityZoneRelocation``). The provider rejects anything
  else on every read: ``unexpected AvailabilityZoneRelocationStatus value "" returned by API``.
- ``MultiAZ``: "Enabled" or "Disabled" (a string in the API; Multi-AZ is off unless requested, and moto's
  CreateCluster does not take it). The provider rejects anything else: ``unexpected MultiAZ value "" returned by API``.

The patch adds the three as read-only properties of moto's ``Cluster`` model, derived from its ``status``, so
moto's own serializer emits them under ``moto.mock_aws`` and under a ``ThreadedMotoServer`` alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from moto.redshift.models import Cluster

NAME = "redshift-cluster-status-fields"
FOLLOWS = (
    "Amazon Redshift API Reference, data type Cluster: ClusterAvailabilityStatus and "
    "AvailabilityZoneRelocationStatus, MultiAZ (https://docs.aws.amazon.com/redshift/latest/APIReference/API_Cluster.html); "
    "Amazon Redshift Management Guide, 'Cluster status' "
    "(https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-clusters.html#rs-mgmt-cluster-status)."
)

# ClusterStatus -> ClusterAvailabilityStatus, per the Management Guide's status table.
_AVAILABILITY = {
    "available": "Available",
    "creating": "Unavailable",
    "deleting": "Unavailable",
    "paused": "Unavailable",
    "modifying": "Modifying",
    "rebooting": "Modifying",
    "resizing": "Modifying",
}


def _cluster_availability_status(cluster: Cluster) -> str:
    return _AVAILABILITY.get(cluster.status, "Unavailable")


def _availability_zone_relocation_status(cluster: Cluster) -> str:
    return "disabled"


def _multi_az(cluster: Cluster) -> str:
    return "Disabled"


_PROPERTIES = {
    "cluster_availability_status": property(_cluster_availability_status),
    "availability_zone_relocation_status": property(_availability_zone_relocation_status),
    "multi_az": property(_multi_az),
}


@contextmanager
def installed() -> Iterator[None]:
    """Add the three fields to moto's Cluster model; remove them on exit."""
    saved = {name: Cluster.__dict__.get(name) for name in _PROPERTIES}
    for name, prop in _PROPERTIES.items():
        setattr(Cluster, name, prop)
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                delattr(Cluster, name)
            else:
                setattr(Cluster, name, previous)
