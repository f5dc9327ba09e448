"""The load completion Lambda: EventBridge "Redshift Data Statement Status Change".

The Data API emits it for statements submitted with ``WithEvent=True`` when they end
(FINISHED, FAILED or ABORTED). ``detail.statementName`` is ``ddb_cdc:<table>:<load_id>``
(set by the loader); the load id names the manifest, which lists the load's files.
Events of other statements are ignored, and an event is acted on only after
``DescribeStatement`` confirms it (see ``LoaderService.complete``): anyone allowed to
put events on the default bus could otherwise fake a failed load.

An event that was handled returns normally even when the load FAILED: the failure is
recorded and alerted, and raising would make Lambda retry the event and count the
failure twice. Only a failure to record the outcome raises.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from ddb_cdc import obs
from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.runtime import build_service
from ddb_cdc.loader.service import LoaderService

DETAIL_TYPE = "Redshift Data Statement Status Change"


@functools.cache
def _service() -> LoaderService:
    config = LoaderConfig.from_env(os.environ)
    return build_service(config, obs.configure(config.log_level))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process(event, context, _service())


def process(event: dict[str, Any], context: Any, service: LoaderService) -> dict[str, Any]:
    if event.get("source") != "aws.redshift-data" or event.get("detail-type") != DETAIL_TYPE:
        obs.log(
            service.logger,
            logging.WARNING,
            "not a Data API status event",
            detail_type=event.get("detail-type"),
        )
        return {"handled": False, "reason": "not a Redshift Data Statement Status Change event"}
    result = service.complete(event)
    obs.log(
        service.logger,
        logging.INFO,
        "load completion handled",
        request_id=getattr(context, "aws_request_id", None),
        event_id=event.get("id"),
        **result,
    )
    return result
