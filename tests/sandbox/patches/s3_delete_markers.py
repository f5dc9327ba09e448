"""Deleting every version of a key that has a delete marker works, as in S3.

moto 5.2.5 frees a key's versions one by one with ``dispose()`` when the key is removed from an
unversioned (or versioning-suspended) bucket, but its ``FakeDeleteMarker`` has no ``dispose``: the
DeleteObject answers 500 with ``AttributeError``. ``terraform destroy`` hits it on every bucket
whose versioning it suspended first and that holds a delete marker (the loader's failure records
are deleted once their file loads), and retries until it gives up. In S3, a DeleteObject on such a
bucket removes the object (Amazon S3 User Guide, "Deleting object versions from a
versioning-suspended bucket"). A delete marker holds no data, so freeing it is nothing at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

NAME: Final = "s3-delete-markers"
FOLLOWS: Final = (
    "Amazon S3 User Guide, 'Deleting object versions from a versioning-suspended bucket' "
    "(https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectsfromVersioningSuspendedBuckets.html): "
    "a key whose versions include delete markers can be deleted; moto's FakeDeleteMarker lacks dispose()."
)


@contextlib.contextmanager
def installed() -> Iterator[None]:
    from moto.s3.models import FakeDeleteMarker

    had = "dispose" in FakeDeleteMarker.__dict__
    if not had:
        FakeDeleteMarker.dispose = lambda self, garbage=False: None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if not had:
            del FakeDeleteMarker.dispose  # type: ignore[attr-defined]
