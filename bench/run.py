"""`python -m bench [--quick] [--runs N] [--pairs K] [--postgres URL] [--only NAME …]`: every benchmark.

Each case runs in a fresh process (`bench.worker`); a figure and its baseline run one
after the other in the same invocation, and the figure reported is their ratio, since
absolute times vary between machines and from run to run. The whole set runs `--runs` times
(3 by default) and each ratio is reported as its lowest and highest. With `--pairs K` each
figure and its baselines run K times, interleaved, and each side's median run is the one
reported: on a machine whose speed wanders, one slow spell then moves no ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import POSTGRES_VARIABLE, Sizes, cpu_count
from bot.group_commit import DEFAULT_BACKLOG, DEFAULT_MAX_ROWS

# Under a backlog the reply batches grow to this many rows: the raw side is also measured at it.
LARGEST = DEFAULT_MAX_ROWS * DEFAULT_BACKLOG

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


def median_run(results: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run whose `key` is the median (the lower of the middle two for an even count)."""
    ordered = sorted(results, key=lambda r: float(r[key]))
    return ordered[(len(ordered) - 1) // 2]


def interleaved(
    pairs: int, key: str, *calls: tuple[str, dict[str, Any]], run: Callable[..., dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Each case run `pairs` times in turn, the order reversed every other time (A B C, C B A, …):
    a slow spell of the machine falls on every side alike, and so does the place in the order (a
    case run later in a round measured up to 10% faster on the 2-core machines here). Each case's
    median run by `key`, in the order given. `run` runs one case (default: `case`)."""
    found: list[list[dict[str, Any]]] = [[] for _ in calls]
    for turn in range(pairs):
        order = list(zip(found, calls, strict=True))
        for results, (name, arguments) in order if turn % 2 == 0 else reversed(order):
            results.append((run or case)(name, **arguments))
    return [median_run(results, key) for results in found]


def case(name: str, **arguments: Any) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.worker", name, json.dumps(arguments)],
        capture_output=True, text=True, check=False, cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def ingest(sizes: Sizes, backends: dict[str, str | None], pairs: int = 1) -> list[Row]:
    rows = []
    for backend, url in backends.items():
        arguments = {"backend": backend, "count": sizes.replies, "url": url}
        largest = {**arguments, "batch": LARGEST}
        ours, raw, raw_largest = interleaved(
            pairs, "rate", ("ingest_app", arguments), ("ingest_raw", arguments), ("ingest_raw", largest)
        )
        ratio = ours["rate"] / raw["rate"]
        rows.append(Row("reply ingest (App.dispatch vs raw batched INSERT), rate", backend,
                        ours["rate"], raw["rate"], "replies/s", ratio, ">= 0.8", ratio >= 0.8))  # fmt: skip
        ratio = ours["rate"] / raw_largest["rate"]
        rows.append(Row(f"reply ingest (vs raw batches of {LARGEST:,} rows, the longest group commit makes),"
                        " rate", backend, ours["rate"], raw_largest["rate"], "replies/s", ratio, "report",
                        True))  # fmt: skip
    return rows


def discord(sizes: Sizes, pairs: int = 1) -> tuple[list[Row], dict[str, Any], dict[str, Any]]:
    flood = {"count": sizes.messages}
    raw_args = {"backend": "sqlite", "count": sizes.messages}
    ours, bare, raw, raw_largest = interleaved(
        pairs, "rate", ("discord_adapter", flood), ("discord_bare", flood), ("ingest_raw", raw_args),
        ("ingest_raw", {**raw_args, "batch": LARGEST}),
    )  # fmt: skip
    ratio = ours["rate"] / bare["rate"]
    # The ceiling: what bare discord.py spends on a message plus one raw batched INSERT of it.
    ceiling = 1 / (1 / bare["rate"] + 1 / raw["rate"])
    against = ours["rate"] / ceiling
    ceiling_largest = 1 / (1 / bare["rate"] + 1 / raw_largest["rate"])
    rows = [
        Row("Discord flood (adapter + core + store vs bare discord.py), rate", "sqlite",
            ours["rate"], bare["rate"], "messages/s", ratio, f"report (ceiling {ceiling / bare['rate']:.2f})",
            True),
        Row("Discord flood (vs its ceiling: bare discord.py + one raw batched INSERT a message), rate",
            "sqlite", ours["rate"], ceiling, "messages/s", against, ">= 0.9", against >= 0.9),
        Row(f"Discord flood (vs that ceiling with raw batches of {LARGEST:,} rows, the longest group commit"
            " makes), rate", "sqlite", ours["rate"], ceiling_largest, "messages/s",
            ours["rate"] / ceiling_largest, "report", True),
    ]  # fmt: skip
    return rows, ours, bare


def digest(sizes: Sizes, backends: dict[str, str | None], pairs: int = 1) -> list[Row]:
    rows = []
    for backend, url in backends.items():
        arguments = {"backend": backend, "replies": sizes.digest_replies,
                     "discussions": sizes.digest_discussions, "url": url}  # fmt: skip
        ours, sql = interleaved(pairs, "seconds", ("digest_builder", arguments), ("digest_sql", arguments))
        if (ours["replies"], ours["participants"]) != (sql["replies"], sql["participants"]):
            raise RuntimeError(f"the digest and the aggregate disagree: {ours} {sql}")
        ratio = ours["seconds"] / sql["seconds"]
        name = f"digest over {sizes.digest_replies:,} replies (builder vs one SQL aggregate), time"
        rows.append(Row(name, backend, ours["seconds"], sql["seconds"], "s", ratio, "<= 1.5", ratio <= 1.5))
    gist = case("gist_builtin")
    per, floor = gist["ms_per_discussion"], gist["baseline_ms_per_discussion"]
    name = (f"built-in gist, themes and quotes per discussion ({gist['discussions']} {gist['source']}"
            f" discussions, {gist['replies']:,} replies) vs reading their words once, time")  # fmt: skip
    rows.append(Row(name, "-", per, floor, "ms", per / floor, "report", True))
    return rows


def feeds(sizes: Sizes, pairs: int = 1) -> list[Row]:
    ours, loop = interleaved(pairs, "seconds", ("feeds_poller", {"count": sizes.feeds}),
                             ("feeds_loop", {"count": sizes.feeds}))  # fmt: skip
    huge_entries = 160_000 if sizes.feeds >= 1_000 else 5_000
    huge = case("feeds_huge", entries=huge_entries)
    ratio = ours["seconds"] / loop["seconds"]
    return [
        Row(f"feed cycle, {sizes.feeds:,} feeds, half 304 (poller vs aiohttp+feedparser loop), time",
            "sqlite", ours["seconds"], loop["seconds"], "s", ratio, "<= 1.15", ratio <= 1.15),
        Row("feed cycle, peak memory (poller vs loop)", "sqlite", ours["rss_peak_mb"], loop["rss_peak_mb"],
            "MB", ours["rss_peak_mb"] / loop["rss_peak_mb"], "< 200 MB", ours["rss_peak_mb"] < 200),
        Row(f"event loop's longest wait while a huge feed is polled ({huge_entries:,} entries, vs the same"
            f" ticker idle; the poll took {huge['poll_seconds']:.1f} s), time", "sqlite", huge["seconds"],
            huge["idle_seconds"], "s", huge["seconds"] / huge["idle_seconds"], "report", True),
    ]  # fmt: skip


def startup(runs: int) -> list[Row]:
    from bench.startup import measure

    found = measure(runs)
    ours, bare = float(found["help_seconds"]), float(found["bare_seconds"])
    return [Row(f"`{found['command']}` wall time vs `python -c pass` (median of {runs})", "-",
                ours, bare, "s", ours / bare, "report", True)]  # fmt: skip


def memory(ours: dict[str, Any], bare: dict[str, Any]) -> list[Row]:
    peak = ours["rss_peak_mb"] / bare["rss_peak_mb"]
    return [
        Row("resident memory idle, connected (bot vs bare discord.py)", "sqlite", ours["rss_idle_mb"],
            bare["rss_idle_mb"], "MB", ours["rss_idle_mb"] / bare["rss_idle_mb"], "report", True),
        Row("resident memory under the flood, peak (bot vs bare discord.py)", "sqlite", ours["rss_peak_mb"],
            bare["rss_peak_mb"], "MB", peak, "<= 1.3", peak <= 1.3),
    ]  # fmt: skip


def table(rows: list[Row]) -> str:
    head = f"| benchmark | store | threadcast | baseline | ratio | target | |\n|{'---|' * 7}"
    lines = [
        f"| {r.benchmark} | {r.backend} | {_fmt(r.ours)} {r.unit} | {_fmt(r.baseline)} {r.unit} | "
        f"{r.ratio:.2f} | {r.target} | {'✓' if r.met else '✗'} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def spread(runs: list[list[Row]]) -> str:
    """Each ratio's lowest and highest over the runs, and whether its target held in every one."""
    head = f"| benchmark | store | ratio min | ratio max | target | runs met |\n|{'---|' * 6}"
    lines = []
    for i, row in enumerate(runs[0]):
        ratios = [run[i].ratio for run in runs]
        met = sum(run[i].met for run in runs)
        lines.append(f"| {row.benchmark} | {row.backend} | {min(ratios):.2f} | {max(ratios):.2f} | "
                     f"{row.target} | {met}/{len(runs)} |")  # fmt: skip
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
    parser.add_argument("--runs", type=int, default=None, metavar="N",
                        help="whole runs, each ratio as its min-max (default 3, 1 with --quick)")  # fmt: skip
    parser.add_argument("--pairs", type=int, default=1, metavar="K",
                        help="each figure and its baselines run K times, interleaved; each side's median"
                             " run counts (default 1)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    runs_wanted = args.runs or (1 if args.quick else 3)
    sizes = Sizes.of(args.quick)
    backends: dict[str, str | None] = {"sqlite": None}
    if args.postgres:
        backends["postgres"] = args.postgres
    wanted = set(args.only or ["ingest", "discord", "digest", "feeds", "startup"])
    started = time.monotonic()
    runs: list[list[Row]] = []
    for number in range(1, runs_wanted + 1):
        rows: list[Row] = []
        if "ingest" in wanted:
            rows += ingest(sizes, backends, args.pairs)
        if "discord" in wanted:
            flood, ours, bare = discord(sizes, args.pairs)
            rows += flood + memory(ours, bare)
        if "digest" in wanted:
            rows += digest(sizes, backends, args.pairs)
        if "feeds" in wanted:
            rows += feeds(sizes, args.pairs)
        if "startup" in wanted:
            rows += startup(5 if args.quick else 15)
        print(f"run {number} of {runs_wanted}\n{table(rows)}\n", flush=True)
        runs.append(rows)
    if len(runs) > 1:
        print(f"spread over {len(runs)} runs\n{spread(runs)}")
    report = {
        "quick": args.quick, "pairs": args.pairs, "sizes": asdict(sizes),
        "seconds": round(time.monotonic() - started, 1),
        "machine": {"python": platform.python_version(), "cpus": cpu_count(), "system": platform.platform()},
        "rows": [asdict(r) for r in runs[-1]],
        "runs": [[asdict(r) for r in rows] for rows in runs],
        "spread": [
            {"benchmark": row.benchmark, "backend": row.backend, "target": row.target,
             "ratio_min": min(run[i].ratio for run in runs), "ratio_max": max(run[i].ratio for run in runs),
             "met": sum(run[i].met for run in runs)}
            for i, row in enumerate(runs[0])
        ],
    }  # fmt: skip
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {args.json}")
    return 0
