"""Wiring: boto3 clients and the executor chosen by the configuration.

Clients are built when a service is built (on the first invocation), never at import
time, so moto can patch them and importing the package needs no AWS setup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from botocore.config import Config

from ddb_cdc.loader.config import LoaderConfig
from ddb_cdc.loader.executors import (
    DataApiExecutor,
    Executor,
    Psycopg2Executor,
    credentials_from_secret,
    credentials_from_ssm,
)
from ddb_cdc.loader.files import CdcFiles
from ddb_cdc.loader.service import Alerts, LoaderService, Metrics

CLIENT_CONFIG: Final = Config(
    connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 5}
)

ClientFactory = Callable[[str], Any]


def boto3_client(service: str) -> Any:
    import boto3  # deferred: see the module docstring

    return boto3.client(service, config=CLIENT_CONFIG)


def build_executor(config: LoaderConfig, client: ClientFactory = boto3_client) -> Executor:
    if config.executor == "data_api":
        assert config.redshift is not None  # LoaderConfig guarantees it for data_api
        return DataApiExecutor(
            client("redshift-data"),
            config.redshift,
            mode=config.data_api_mode,
            poll_budget_seconds=config.poll_budget_seconds,
        )
    if config.db_secret_arn:
        secret_arn = config.db_secret_arn

        def credentials() -> Any:
            return credentials_from_secret(client("secretsmanager"), secret_arn)

    else:
        parameter = str(config.db_ssm_parameter)

        def credentials() -> Any:
            return credentials_from_ssm(client("ssm"), parameter)

    return Psycopg2Executor(
        credentials,
        connect_timeout_seconds=config.connect_timeout_seconds,
        statement_timeout_ms=config.statement_timeout_ms,
        sslmode=config.db_sslmode,
        sslrootcert=config.db_sslrootcert,
    )


def build_service(
    config: LoaderConfig,
    logger: logging.Logger,
    *,
    client: ClientFactory = boto3_client,
    executor: Executor | None = None,
) -> LoaderService:
    return LoaderService(
        config,
        executor=executor if executor is not None else build_executor(config, client),
        files=CdcFiles(client("s3"), config.bucket, config.prefix, config.table_name),
        alerts=Alerts(client("sns"), config.alert_topic_arn, logger),
        metrics=Metrics(client("cloudwatch"), config.metric_namespace, config.table_name),
        logger=logger,
        reconcile_grace_seconds=config.reconcile_grace_seconds,
    )
