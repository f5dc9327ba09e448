"""The warehouse loader's orchestration: which files to load, how, and what to do when a load fails.

* :mod:`~ddb_cdc.loader.config` reads the environment once into :class:`LoaderConfig`.
* :mod:`~ddb_cdc.loader.selection` is pure: S3 keys from SQS/S3 events, hour prefixes
  for a scheduled run, and how candidate files are grouped into loads.
* :mod:`~ddb_cdc.loader.files` holds the S3 side: listing raw files, manifests,
  per-file failure counts and quarantine.
* :mod:`~ddb_cdc.loader.executors` runs SQL: the Redshift Data API (default) or psycopg2.
* :mod:`~ddb_cdc.loader.service` ties them together; :mod:`~ddb_cdc.loader.runtime`
  builds it from the configuration with boto3 clients. The Lambda handlers and the CLI
  are thin shells over it.

The SQL itself is rendered by :mod:`ddb_cdc.warehouse.sql` and nowhere else.
"""
