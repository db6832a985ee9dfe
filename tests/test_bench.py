"""The benchmarks still run: `python -m bench --quick` end to end, every case, small sizes.

Ratios are reported, never asserted here: a loaded machine must not fail the tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres import URL_VARIABLE

ROOT = Path(__file__).parent.parent

pytestmark = pytest.mark.timeout(180)


def test_the_quick_benchmark_run_measures_every_figure_beside_its_baseline(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out), "--postgres", ""],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=170,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["quick"] is True
    rows = report["rows"]
    names = {row["benchmark"].split(" (")[0].split(",")[0] for row in rows}
    assert names == {
        "reply ingest", "Discord flood", "resident memory idle", "resident memory under the flood",
        "digest over 5", "built-in gist", "feed cycle", "`threadcast --help` wall time vs `python -c pass`",
        "event loop's longest wait while a huge feed is polled",
    }  # fmt: skip
    for row in rows:
        assert row["ours"] > 0 and row["baseline"] > 0
        assert row["ratio"] == pytest.approx(row["ours"] / row["baseline"])
    assert "| benchmark |" in done.stdout


def test_the_benchmark_reaches_postgresql_when_given_a_url(tmp_path: Path) -> None:
    import os

    url = os.environ.get(URL_VARIABLE)
    if not url:
        pytest.skip(f"{URL_VARIABLE} is not set")
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "ingest", "--json", str(out), "--postgres", url],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=170,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert {row["backend"] for row in json.loads(out.read_text())["rows"]} == {"sqlite", "postgres"}


def test_a_side_run_several_times_counts_by_its_median_run() -> None:
    from bench.run import median_run

    runs = [{"rate": 900.0, "rss_peak_mb": 1}, {"rate": 300.0, "rss_peak_mb": 2},
            {"rate": 600.0, "rss_peak_mb": 3}]  # fmt: skip
    assert median_run(runs, "rate") == {"rate": 600.0, "rss_peak_mb": 3}  # the whole run, memory and all
    assert median_run(runs[:2], "rate")["rate"] == 300.0  # even: the lower middle
    assert median_run(runs[:1], "rate")["rate"] == 900.0


def test_pairs_run_in_turn_the_order_reversed_every_other_time() -> None:
    from bench.run import interleaved

    ran: list[str] = []

    def run(name: str, **arguments: int) -> dict[str, float]:
        ran.append(name)
        return {"rate": float(arguments["n"] * len(ran))}

    ours, base = interleaved(3, "rate", ("ours", {"n": 1}), ("base", {"n": 10}), run=run)
    assert ran == ["ours", "base", "base", "ours", "ours", "base"]
    assert ours == {"rate": 4.0} and base == {"rate": 30.0}  # each side's median: runs 1, 4, 5 and 2, 3, 6


def test_pairs_below_one_are_refused_before_anything_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--pairs", "0"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "--pairs must be at least 1" in done.stderr
