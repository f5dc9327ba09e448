"""The local sandbox: the real root module applied to moto, the real handlers run by a local
Lambda runtime, and the Redshift Data API executed on a throwaway PostgreSQL (``make demo``)."""
