"""Cost and freshness planner: ``python -m ddb_cdc.plan`` (README, "Choosing a strategy").

:mod:`ddb_cdc.plan.model` is the pure model, ``prices.json`` the one price file, :mod:`ddb_cdc.plan.tfvars`
reads a ``terraform.tfvars`` into the model's knobs, :mod:`ddb_cdc.plan.plot` draws it (matplotlib, optional).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ddb_cdc.plan.model import Prices


def load_prices(path: str | Path | None = None) -> Prices:
    """The bundled prices.json, or another file of the same shape."""
    if path is None:
        text = resources.files("ddb_cdc.plan").joinpath("prices.json").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return Prices.from_document(json.loads(text))
