"""The throwaway PostgreSQL of the rig: where it comes from and how it runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.rig.postgres import (
    MIN_SERVER_VERSION,
    PostgresServer,
    PostgresUnavailable,
    find_bin_dir,
    running_server,
)


def test_the_session_server_listens_on_loopback_and_is_new_enough(pg_server: PostgresServer) -> None:
    connection = pg_server.connect(autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT inet_server_addr()::text, current_setting('server_version_num')::int")
            address, version = cursor.fetchone()
    finally:
        connection.close()
    assert address in ("127.0.0.1/32", "127.0.0.1")
    assert version >= MIN_SERVER_VERSION * 10000


@pytest.mark.skipif(os.geteuid() != 0, reason="only root has to hand the cluster to another user")
def test_as_root_the_cluster_belongs_to_an_unprivileged_user(pg_server: PostgresServer) -> None:
    assert pg_server.data_dir.stat().st_uid != 0


def test_a_bin_dir_setting_without_a_server_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDC_PG_BINDIR", str(tmp_path))
    with pytest.raises(PostgresUnavailable, match="does not hold initdb"):
        find_bin_dir()


def test_a_server_older_than_16_is_refused(tmp_path: Path) -> None:
    for name in ("initdb", "pg_ctl", "postgres"):
        script = tmp_path / name
        script.write_text("#!/bin/sh\necho 'postgres (PostgreSQL) 15.8'\n")
        script.chmod(0o755)
    with pytest.raises(PostgresUnavailable, match="too old"), running_server(tmp_path):
        pass
