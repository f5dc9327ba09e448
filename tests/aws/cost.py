"""An estimate of what one ``make verify-aws`` run costs: a small price table times what the run used.

It is an estimate, not a bill: list prices of one region on the date they were read, no free tier, no taxes,
and usage that the driver counts or bounds from above (Lambda). The AWS bill is the authority.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class PriceTable:
    region: str
    read_on: str  # the date the prices were read
    sources: tuple[str, ...]
    rpu_hour: float  # Redshift Serverless, per RPU-hour, billed per second with a 60 s minimum
    lambda_request: float  # per request
    lambda_gb_second: float  # x86
    s3_put: float  # per PUT/COPY/POST/LIST request (S3 Standard)
    s3_get: float  # per GET request
    dynamodb_wru: float  # on-demand write request unit
    dynamodb_rru: float  # on-demand read request unit
    secret_month: float  # one Secrets Manager secret per month (the managed admin password)


# us-east-1 list prices. Redshift Serverless: $1.50 an hour at the 4-RPU minimum base capacity, i.e. $0.375 per
# RPU-hour (AWS Big Data Blog, "Amazon Redshift Serverless at 4 RPUs"); DynamoDB on-demand after the November 2024
# reduction. Other regions differ: the estimate says which table it used.
US_EAST_1: Final = PriceTable(
    region="us-east-1",
    read_on="2026-11-29",
    sources=(
        "https://aws.amazon.com/redshift/pricing/",
        "https://aws.amazon.com/blogs/big-data/amazon-redshift-serverless-at-4-rpus-high-value-analytics-at-low-cost/",
        "https://aws.amazon.com/lambda/pricing/",
        "https://aws.amazon.com/s3/pricing/",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
        "https://aws.amazon.com/secrets-manager/pricing/",
    ),
    rpu_hour=0.375,
    lambda_request=0.20 / 1_000_000,
    lambda_gb_second=0.0000166667,
    s3_put=0.005 / 1_000,
    s3_get=0.0004 / 1_000,
    dynamodb_wru=0.625 / 1_000_000,
    dynamodb_rru=0.125 / 1_000_000,
    secret_month=0.40,
)

MINIMUM_BILLED_SECONDS: Final = 60  # Redshift Serverless bills active seconds with a 60-second minimum


@dataclass(frozen=True, slots=True)
class Usage:
    """What one run used, as counted by the driver."""

    base_capacity_rpu: int
    warehouse_active_seconds: float  # from the first statement to the last read of the view
    writes: int  # DynamoDB changes (each item is under 1 KB: one WRU)
    scanned_items: int  # items read by the proof's consistent scans (upper bound: one RRU each)
    lambda_invocations: int  # an upper bound: one invocation per change
    lambda_memory_mb: int
    lambda_seconds_per_invocation: float
    s3_objects: int  # change files written (plus one manifest per load, bounded by the same number)
    wall_seconds: float  # the secret exists this long


@dataclass(slots=True)
class Estimate:
    prices: PriceTable
    lines: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.lines.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.prices.region,
            "prices_read_on": self.prices.read_on,
            "usd": {name: round(value, 6) for name, value in self.lines.items()},
            "total_usd": round(self.total, 4),
            "note": "an estimate from list prices, not a bill",
        }


def estimate(usage: Usage, prices: PriceTable = US_EAST_1) -> Estimate:
    active = max(usage.warehouse_active_seconds, MINIMUM_BILLED_SECONDS)
    lines = {
        "redshift_serverless": usage.base_capacity_rpu * active / 3600 * prices.rpu_hour,
        "lambda": usage.lambda_invocations
        * (
            prices.lambda_request
            + usage.lambda_memory_mb / 1024 * usage.lambda_seconds_per_invocation * prices.lambda_gb_second
        ),
        # Each object: a PUT, a GET by COPY; each load: a manifest PUT and GET, and LISTs by the loader.
        "s3_requests": usage.s3_objects * 2 * (prices.s3_put + prices.s3_get),
        "dynamodb": usage.writes * prices.dynamodb_wru + usage.scanned_items * prices.dynamodb_rru,
        "secrets_manager": prices.secret_month * usage.wall_seconds / (30 * 24 * 3600),
    }
    return Estimate(prices, lines)


def prices_for(region: str) -> PriceTable:
    """The table for ``region``; other regions use us-east-1's prices and the report says so."""
    return US_EAST_1
