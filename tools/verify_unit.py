"""Check the systemd unit in deploy/ with systemd's own tools; exit 1 on any finding.

    python tools/verify_unit.py [UNIT] [--threadcast PATH] [--max-exposure N]

`systemd-analyze verify` refuses a unit whose ExecStart program does not exist, and the
unit names where it is installed (/opt/threadcast/venv/bin/threadcast), not where this
checkout's virtual environment is. So the unit is copied, under its own name, with only
that program path changed to a real `threadcast` (by default the one beside this Python),
and the copy is verified. verify exits 0 even after warnings such as "Unknown key …,
ignoring", so every line it prints about the unit counts as a failure, besides a non-zero
exit. Then `systemd-analyze security --offline=yes` rates the sandbox: an overall exposure
above `--max-exposure` (default 2.0 of 10) fails, so a weakened sandbox does not pass
unnoticed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "threadcast.service"
INSTALLED_PROGRAM = "/opt/threadcast/venv/bin/threadcast"
MAX_EXPOSURE = 2.0
_EXPOSURE = re.compile(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)")


@dataclass
class Result:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exposure: float | None = None


def systemd_analyze() -> str | None:
    return shutil.which("systemd-analyze") or (
        "/usr/bin/systemd-analyze" if os.access("/usr/bin/systemd-analyze", os.X_OK) else None
    )


def default_program() -> Path:
    """The `threadcast` console script of the running interpreter's environment."""
    return Path(sys.executable).parent / "threadcast"


def runnable_copy(text: str, program: Path) -> str:
    """The unit with its ExecStart program replaced by `program`; nothing else changes."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("ExecStart=")]
    if len(starts) != 1:
        raise ValueError(f"the unit must have exactly one ExecStart= line, not {len(starts)}")
    line = lines[starts[0]]
    head = f"ExecStart={INSTALLED_PROGRAM} "
    if not line.startswith(head):
        raise ValueError(f"ExecStart= must run {INSTALLED_PROGRAM}, not {line.strip()!r}")
    lines[starts[0]] = f"ExecStart={program} " + line.removeprefix(head)
    return "".join(lines)


def check(
    unit: Path = UNIT,
    program: Path | None = None,
    analyze: str | None = None,
    max_exposure: float = MAX_EXPOSURE,
) -> Result:
    result = Result()
    analyze = analyze or systemd_analyze()
    if analyze is None:
        result.problems.append("systemd-analyze is not installed (Debian: apt-get install systemd)")
        return result
    program = program or default_program()
    if not os.access(program, os.X_OK):
        result.problems.append(f"{program} is not an executable threadcast (pip install . first)")
        return result
    try:
        text = runnable_copy(unit.read_text(encoding="utf-8"), program)
    except (OSError, ValueError) as exc:
        result.problems.append(f"{unit}: {exc}")
        return result
    with tempfile.TemporaryDirectory(prefix="threadcast-unit-") as folder:
        copy = Path(folder) / unit.name
        copy.write_text(text, encoding="utf-8")
        verify = subprocess.run(
            [analyze, "verify", "--man=no", "--recursive-errors=no", str(copy)],
            capture_output=True,
            text=True,
            check=False,
        )
        for line in (verify.stdout + verify.stderr).splitlines():
            if not line.strip():
                continue
            shown = line.replace(str(copy), str(unit))
            # Lines about other units (a dependency's own file on this host) are not ours to fix.
            (result.problems if unit.name in line else result.notes).append(f"verify: {shown}")
        if verify.returncode != 0:
            result.problems.append(f"verify: systemd-analyze exited with {verify.returncode}")
        security = subprocess.run(
            [analyze, "security", "--offline=yes", "--no-pager", str(copy)],
            capture_output=True,
            text=True,
            check=False,
        )
    found = _EXPOSURE.search(security.stdout + security.stderr)
    if found is None:
        result.problems.append(
            "security: no overall exposure in systemd-analyze's answer"
            f" (exit {security.returncode}): {(security.stderr or security.stdout).strip()[:300]}"
        )
        return result
    result.exposure = float(found[1])
    if result.exposure > max_exposure:
        weak = [line.strip() for line in security.stdout.splitlines() if line.startswith("✗")]
        result.problems.append(
            f"security: overall exposure {result.exposure} is above {max_exposure}; not protected:\n  "
            + "\n  ".join(weak)
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("unit", nargs="?", type=Path, default=UNIT)
    parser.add_argument("--threadcast", type=Path, help="the threadcast program to verify against")
    parser.add_argument("--max-exposure", type=float, default=MAX_EXPOSURE)
    args = parser.parse_args(argv)
    result = check(args.unit, args.threadcast, max_exposure=args.max_exposure)
    for note in result.notes:
        print(f"note: {note}")
    for problem in result.problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if result.problems:
        return 1
    print(
        f"{args.unit}: systemd-analyze verify is silent;"
        f" sandbox exposure {result.exposure} (at most {args.max_exposure})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
