"""``make verify-aws``: the module applied to a real AWS account and proven end to end, in one command.

The same driver runs in ``make test`` against the sandbox (moto, the local Lambda runtime and the Data API on
PostgreSQL): only the :class:`tests.aws.environments.Environment` differs.
"""
