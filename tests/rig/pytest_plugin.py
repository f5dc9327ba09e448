"""Pytest fixtures of the rig.

tests/warehouse/conftest.py makes them visible to that folder by assigning them to
module names (``pg_server = pytest_plugin.pg_server``). To share them with every test
folder, add ``pytest_plugins = ["tests.rig.pytest_plugin"]`` to tests/conftest.py (pytest
reads ``pytest_plugins`` only in the top-level conftest) and delete those assignments,
or the session server would start twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.rig.postgres import PostgresServer, running_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the whole test session."""
    with running_server() as server:
        yield server


@pytest.fixture
def pg_schema(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh schema name for one test; the schema (if created) is dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:12]
    yield name
    connection = pg_server.connect(autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        connection.close()


@pytest.fixture
def pg_connection(pg_server: PostgresServer) -> Iterator[Any]:
    """A psycopg2 connection in transaction mode, closed after the test."""
    connection = pg_server.connect()
    yield connection
    connection.close()
