"""--plot: valid PNG and SVG files whose data is the model's."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")

from ddb_cdc.plan import load_prices, plot
from ddb_cdc.plan.model import Knobs, Workload, plan

PRICES = load_prices()


def _plan():
    workload = Workload(
        hourly_rates=(2.0,) * 12 + (18.0,) * 12, item_bytes=1024, update_share=0.5, delete_share=0.1
    )
    return plan(workload, Knobs(), PRICES, 900)


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_writes_a_valid_file(tmp_path, suffix):
    path = tmp_path / f"plan{suffix}"
    plot.draw(_plan(), PRICES, path, rates=[1.0, 10.0, 100.0])
    data = path.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        root = ET.fromstring(data)  # noqa: S314  (the file this test just wrote)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_plotted_series_match_the_model(tmp_path):
    result = _plan()
    rates = [0.5, 10.0, 500.0]
    data = plot.draw(result, PRICES, tmp_path / "plan.png", rates=rates)
    assert data["user_rate"] == pytest.approx(10.0)
    for i, rate in enumerate(rates):
        at = plan(result.workload.scaled_to(rate), Knobs(), PRICES, 900)
        for c in at.combinations:
            assert data["lines"][c.name]["monthly_usd"][i] == pytest.approx(c.monthly_usd)
            assert data["lines"][c.name]["freshness_worst_seconds"][i] == pytest.approx(
                c.freshness_worst_seconds
            )
    assert data["recommended"] == result.recommended.name
    assert 10.0 in data["recommended_rates"]


def test_plot_refuses_other_extensions(tmp_path):
    with pytest.raises(ValueError, match=r"png or \.svg"):
        plot.draw(_plan(), PRICES, tmp_path / "plan.pdf", rates=[1.0])
