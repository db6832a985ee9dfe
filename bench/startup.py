"""`threadcast --help` wall time against a bare `python -c pass`: how much the CLI's start costs.

Each is run `runs` times, alternating, in fresh processes; the median of each is reported."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def help_command() -> list[str]:
    """The installed `threadcast` script beside this interpreter, else `python -m threadcast`."""
    script = Path(sys.executable).with_name("threadcast")
    if script.is_file():
        return [str(script), "--help"]
    found = shutil.which("threadcast")
    return [found, "--help"] if found else [sys.executable, "-m", "threadcast", "--help"]


def _seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=Path(__file__).parent.parent)
    return time.perf_counter() - started


def measure(runs: int = 15) -> dict[str, float | str]:
    """Median wall seconds of `threadcast --help` and of `python -c pass`."""
    command = help_command()
    bare = [sys.executable, "-c", "pass"]
    _seconds(command), _seconds(bare)  # warm the file cache: neither pays for a cold disk
    helps, passes = [], []
    for _ in range(runs):
        helps.append(_seconds(command))
        passes.append(_seconds(bare))
    return {
        "command": " ".join(Path(command[0]).name if i == 0 else part for i, part in enumerate(command)),
        "help_seconds": statistics.median(helps),
        "bare_seconds": statistics.median(passes),
    }


if __name__ == "__main__":
    print(measure())
