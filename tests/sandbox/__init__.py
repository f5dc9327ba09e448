"""The local sandbox: the real root module applied to moto, the real handlers run by a local
Lambda runtime, and the Redshift Data API executed on a throwaway PostgreSQL (``make demo``)."""

# moto's documented dummy keys: every sandbox client and child process uses these, never the caller's.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def client_credentials() -> dict[str, str]:
    """:data:`DUMMY_CREDENTIALS` as boto3 client or session arguments."""
    return {name.lower(): value for name, value in DUMMY_CREDENTIALS.items()}
