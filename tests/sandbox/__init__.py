"""The local sandbox: the real root module applied to moto, the real handlers run by a local
Lambda runtime, and the Redshift Data API executed on a throwaway PostgreSQL (``make demo``)."""

# moto's documented dummy keys: every sandbox client and child process uses these, never the caller's. In the
# sandbox they are the long-term keys of the IAM user "sandbox-admin" (tests/sandbox/moto_server.py), so there is no
# session token; the empty value still overrides one inherited from the caller's environment.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "",
}


def client_credentials() -> dict[str, str]:
    """:data:`DUMMY_CREDENTIALS` as boto3 client or session arguments (an empty token is left out)."""
    return {name.lower(): value for name, value in DUMMY_CREDENTIALS.items() if value}
