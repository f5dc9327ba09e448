"""Cost and worst-case freshness against write rate, one line per combination (matplotlib, imported lazily).

The rate axis scales the plan's daily profile: every point keeps the profile's shape at another mean rate.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ddb_cdc.plan.model import Plan, Prices, plan


def rate_grid(low: float = 0.1, high: float = 10_000.0, points: int = 41) -> list[float]:
    step = (math.log10(high) - math.log10(low)) / (points - 1)
    return [10 ** (math.log10(low) + i * step) for i in range(points)]


def series(result: Plan, prices: Prices, rates: list[float] | None = None) -> dict[str, Any]:
    """The plotted data: per combination, monthly USD and worst-case freshness at each mean rate; and the rates
    at which the plan's recommendation stays the cheapest combination meeting the target."""
    rates = rates or rate_grid()
    lines: dict[str, dict[str, list[float]]] = {
        c.name: {"monthly_usd": [], "freshness_worst_seconds": []} for c in result.combinations
    }
    recommended_at: list[float] = []
    pairs = [(c.aggregation, c.load_strategy) for c in result.combinations]
    for rate in rates:
        at = plan(
            result.workload.scaled_to(rate),
            result.knobs,
            prices,
            result.freshness_target_seconds,
            assumptions=result.assumptions,
            combinations=pairs,
        )
        for c in at.combinations:
            lines[c.name]["monthly_usd"].append(c.monthly_usd)
            lines[c.name]["freshness_worst_seconds"].append(c.freshness_worst_seconds)
        if result.recommended and at.recommended and at.recommended.name == result.recommended.name:
            recommended_at.append(rate)
    return {
        "rates": rates,
        "lines": lines,
        "recommended": result.recommended.name if result.recommended else None,
        "recommended_rates": recommended_at,
        "user_rate": result.workload.mean_rate,
        "freshness_target_seconds": result.freshness_target_seconds,
    }


def draw(result: Plan, prices: Prices, path: str | Path, rates: list[float] | None = None) -> dict[str, Any]:
    """Write the two panels to ``path`` (.png or .svg, by extension) and return the plotted series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = series(result, prices, rates)
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"--plot writes .png or .svg, not {suffix or 'no extension'}")
    fig, (cost_ax, fresh_ax) = plt.subplots(2, 1, figsize=(10, 9), sharex=True)
    styles = {"lambda": "-", "firehose": "--"}
    for name, line in data["lines"].items():
        aggregation = name.split(" + ")[0]
        width = 2.6 if name == data["recommended"] else 1.3
        cost_ax.plot(data["rates"], line["monthly_usd"], styles[aggregation], linewidth=width, label=name)
        # A backlog that never drains (inf) leaves a gap: the line stops where the loads stop keeping up.
        worst = [value if math.isfinite(value) else math.nan for value in line["freshness_worst_seconds"]]
        fresh_ax.plot(data["rates"], worst, styles[aggregation], linewidth=width, label=name)
    if data["recommended_rates"]:
        low, high = min(data["recommended_rates"]), max(data["recommended_rates"])
        for ax in (cost_ax, fresh_ax):
            ax.axvspan(low, high, color="tab:green", alpha=0.12, label=f"{data['recommended']} recommended")
    fresh_ax.axhline(
        data["freshness_target_seconds"], color="tab:red", linestyle=":", label="freshness target"
    )
    for ax in (cost_ax, fresh_ax):
        ax.axvline(
            data["user_rate"], color="black", linewidth=1, label=f"your rate ({data['user_rate']:g}/s)"
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    cost_ax.set_ylabel("USD per month")
    cost_ax.set_title(
        f"Monthly cost ({result.region} prices read {result.prices_read_on}; Redshift not included)"
    )
    fresh_ax.set_ylabel("worst-case freshness (s)")
    fresh_ax.set_xlabel("mean write rate (changes per second, daily profile's shape)")
    cost_ax.legend(fontsize=7, ncol=2, loc="upper left")
    handles, labels = fresh_ax.get_legend_handles_labels()
    keep = [
        (h, label)
        for h, label in zip(handles, labels, strict=True)
        if " + " not in label or "recommended" in label
    ]
    fresh_ax.legend(*zip(*keep, strict=True), fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, format=suffix[1:])
    plt.close(fig)
    return data
