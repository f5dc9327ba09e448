"""A local warehouse: the rendered SQL run on the throwaway PostgreSQL, manifests in S3.

It does what the production loader does around the SQL (write the manifest, render the
load, run it as one transaction), so tests and the benchmark exercise the same
statements the Redshift executors will send. By default it sends the ``redshift``
dialect through the sandbox's Redshift emulation (its conformance rules, then the
translation to PostgreSQL), so a statement Redshift would refuse fails here too;
``dialect="postgresql"`` runs the local stand-in's own rendering directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ddb_cdc.warehouse import (
    Dialect,
    TargetSpec,
    load_id_for,
    manifest_body,
    manifest_key,
    render_ddl,
    render_load,
    s3_url,
)

from tests.rig.cdc_files import ROLE_ARN
from tests.rig.pg_copy import StatementHook, StatementResult, StrictCopyExecutor
from tests.sandbox.redshift_sql import RedshiftOnPostgres


@dataclass
class LocalWarehouse:
    spec: TargetSpec
    connection: Any  # psycopg2 connection, not in autocommit mode
    s3: Any
    bucket: str
    prefix: str
    dialect: Dialect = "redshift"

    def executor(self, after_statement: StatementHook | None = None) -> StrictCopyExecutor:
        kind = RedshiftOnPostgres if self.dialect == "redshift" else StrictCopyExecutor
        return kind(self.connection, self.s3, after_statement=after_statement)

    def create(self) -> None:
        self.executor().run_transaction(render_ddl(self.spec, self.dialect))

    def write_manifest(self, files: Sequence[str], load_id: str) -> str:
        key = manifest_key(self.prefix, self.spec.table, load_id)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=manifest_body(self.bucket, files))
        return s3_url(self.bucket, key)

    def load(
        self,
        files: Sequence[str],
        *,
        load_id: str | None = None,
        manifest_files: Sequence[str] | None = None,
        after_statement: StatementHook | None = None,
    ) -> list[StatementResult]:
        """Load ``files`` in one transaction.

        ``manifest_files`` lets a test list something else in the manifest than what
        the ledger records (the same file twice, say); by default they are the same.
        """
        load_id = load_id or load_id_for(files)
        url = self.write_manifest(manifest_files if manifest_files is not None else files, load_id)
        statements = render_load(
            self.spec, self.dialect, manifest_url=url, iam_role_arn=ROLE_ARN, files=files, load_id=load_id
        )
        return self.executor(after_statement).run_transaction(statements)

    def query(self, statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A statement on its own, committed at once (never inside a load).

        Autocommit for the call saves psycopg2's BEGIN and COMMIT round trips, which the
        property test would otherwise pay four times per load.
        """
        self.connection.autocommit = True
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(statement, tuple(parameters))
                return cursor.fetchall() if cursor.description else []
        finally:
            self.connection.autocommit = False
