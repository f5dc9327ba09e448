"""A local warehouse: the rendered SQL run on the throwaway PostgreSQL, manifests in S3.

It does what the production loader does around the SQL (write the manifest, render the
load, run it as one transaction), so tests and the benchmark exercise the same
statements the Redshift executors will send, in the ``postgresql`` dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ddb_cdc.warehouse import (
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


@dataclass
class LocalWarehouse:
    spec: TargetSpec
    connection: Any  # psycopg2 connection, not in autocommit mode
    s3: Any
    bucket: str
    prefix: str

    def executor(self, after_statement: StatementHook | None = None) -> StrictCopyExecutor:
        return StrictCopyExecutor(self.connection, self.s3, after_statement=after_statement)

    def create(self) -> None:
        self.executor().run_transaction(render_ddl(self.spec, "postgresql"))

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
            self.spec, "postgresql", manifest_url=url, iam_role_arn=ROLE_ARN, files=files, load_id=load_id
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
