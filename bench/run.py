"""`python -m bench [--quick] [--postgres URL] [--only NAME …]`: every benchmark, a table, bench/results.json.

Each case runs in a fresh process (`bench.worker`); a figure and its baseline run one
after the other in the same invocation, and the figure reported is their ratio, since
absolute times vary between machines and from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import POSTGRES_VARIABLE, Sizes, cpu_count

RESULTS = Path(__file__).parent / "results.json"


@dataclass(frozen=True, slots=True)
class Row:
    benchmark: str
    backend: str
    ours: float
    baseline: float
    unit: str
    ratio: float  # ours / baseline, in the direction the target is stated
    target: str
    met: bool


def case(name: str, **arguments: Any) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.worker", name, json.dumps(arguments)],
        capture_output=True, text=True, check=False, cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def ingest(sizes: Sizes, backends: dict[str, str | None]) -> list[Row]:
    rows = []
    for backend, url in backends.items():
        ours = case("ingest_app", backend=backend, count=sizes.replies, url=url)
        raw = case("ingest_raw", backend=backend, count=sizes.replies, url=url)
        ratio = ours["rate"] / raw["rate"]
        rows.append(Row("reply ingest (App.dispatch vs raw batched INSERT), rate", backend,
                        ours["rate"], raw["rate"], "replies/s", ratio, ">= 0.5", ratio >= 0.5))  # fmt: skip
    return rows


def discord(sizes: Sizes) -> tuple[list[Row], dict[str, Any], dict[str, Any]]:
    ours = case("discord_adapter", count=sizes.messages)
    bare = case("discord_bare", count=sizes.messages)
    ratio = ours["rate"] / bare["rate"]
    row = Row("Discord flood (adapter + core + store vs bare discord.py), rate", "sqlite",
              ours["rate"], bare["rate"], "messages/s", ratio, ">= 0.8", ratio >= 0.8)  # fmt: skip
    return [row], ours, bare


def digest(sizes: Sizes, backends: dict[str, str | None]) -> list[Row]:
    rows = []
    for backend, url in backends.items():
        arguments = {"backend": backend, "replies": sizes.digest_replies,
                     "discussions": sizes.digest_discussions, "url": url}  # fmt: skip
        ours = case("digest_builder", **arguments)
        sql = case("digest_sql", **arguments)
        if (ours["replies"], ours["participants"]) != (sql["replies"], sql["participants"]):
            raise RuntimeError(f"the digest and the aggregate disagree: {ours} {sql}")
        ratio = ours["seconds"] / sql["seconds"]
        name = f"digest over {sizes.digest_replies:,} replies (builder vs one SQL aggregate), time"
        rows.append(Row(name, backend, ours["seconds"], sql["seconds"], "s", ratio, "<= 2", ratio <= 2))
    gist = case("gist_builtin")
    per, floor = gist["ms_per_discussion"], gist["baseline_ms_per_discussion"]
    name = (f"built-in gist, themes and quotes per discussion ({gist['discussions']} {gist['source']}"
            f" discussions, {gist['replies']:,} replies) vs reading their words once, time")  # fmt: skip
    rows.append(Row(name, "-", per, floor, "ms", per / floor, "report", True))
    return rows


def feeds(sizes: Sizes) -> list[Row]:
    ours = case("feeds_poller", count=sizes.feeds)
    loop = case("feeds_loop", count=sizes.feeds)
    ratio = ours["seconds"] / loop["seconds"]
    return [
        Row(f"feed cycle, {sizes.feeds:,} feeds, half 304 (poller vs aiohttp+feedparser loop), time",
            "sqlite", ours["seconds"], loop["seconds"], "s", ratio, "<= 1.25", ratio <= 1.25),
        Row("feed cycle, peak memory (poller vs loop)", "sqlite", ours["rss_peak_mb"], loop["rss_peak_mb"],
            "MB", ours["rss_peak_mb"] / loop["rss_peak_mb"], "< 200 MB", ours["rss_peak_mb"] < 200),
    ]  # fmt: skip


def startup(runs: int) -> list[Row]:
    from bench.startup import measure

    found = measure(runs)
    ours, bare = float(found["help_seconds"]), float(found["bare_seconds"])
    return [Row(f"`{found['command']}` wall time vs `python -c pass` (median of {runs})", "-",
                ours, bare, "s", ours / bare, "report", True)]  # fmt: skip


def memory(ours: dict[str, Any], bare: dict[str, Any]) -> list[Row]:
    return [
        Row("resident memory idle, connected (bot vs bare discord.py)", "sqlite", ours["rss_idle_mb"],
            bare["rss_idle_mb"], "MB", ours["rss_idle_mb"] / bare["rss_idle_mb"], "report", True),
        Row("resident memory under the flood, peak (bot vs bare discord.py)", "sqlite", ours["rss_peak_mb"],
            bare["rss_peak_mb"], "MB", ours["rss_peak_mb"] / bare["rss_peak_mb"], "report", True),
    ]  # fmt: skip


def table(rows: list[Row]) -> str:
    head = f"| benchmark | store | threadcast | baseline | ratio | target | |\n|{'---|' * 7}"
    lines = [
        f"| {r.benchmark} | {r.backend} | {_fmt(r.ours)} {r.unit} | {_fmt(r.baseline)} {r.unit} | "
        f"{r.ratio:.2f} | {r.target} | {'✓' if r.met else '✗'} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every case")
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get(POSTGRES_VARIABLE),
                        help=f"also on PostgreSQL (default ${POSTGRES_VARIABLE})")  # fmt: skip
    parser.add_argument("--only", nargs="*", choices=["ingest", "discord", "digest", "feeds", "startup"],
                        default=None)  # fmt: skip
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the results ({RESULTS})")
    args = parser.parse_args(argv)
    sizes = Sizes.of(args.quick)
    backends: dict[str, str | None] = {"sqlite": None}
    if args.postgres:
        backends["postgres"] = args.postgres
    wanted = set(args.only or ["ingest", "discord", "digest", "feeds", "startup"])
    started = time.monotonic()
    rows: list[Row] = []
    if "ingest" in wanted:
        rows += ingest(sizes, backends)
    if "discord" in wanted:
        flood, ours, bare = discord(sizes)
        rows += flood + memory(ours, bare)
    if "digest" in wanted:
        rows += digest(sizes, backends)
    if "feeds" in wanted:
        rows += feeds(sizes)
    if "startup" in wanted:
        rows += startup(5 if args.quick else 15)
    print(table(rows))
    report = {
        "quick": args.quick, "sizes": asdict(sizes), "seconds": round(time.monotonic() - started, 1),
        "machine": {"python": platform.python_version(), "cpus": cpu_count(), "system": platform.platform()},
        "rows": [asdict(r) for r in rows],
    }  # fmt: skip
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {args.json}")
    return 0
