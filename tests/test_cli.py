"""The CLI as a user runs it: real processes, real files, no accounts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage.store import SQLiteStore

SCRIPT = """\
.channel news
/post "Night trains return to the Alps this winter after a decade away. Tickets go on sale Monday." #news
.thread
.user ana
I took the old night train in 2012 and still remember waking up in the mountains.
.user ben
Hoping it is cheaper than flying this time @everyone
.user zed
/privacy optout
My words should never show up anywhere.
.user cat
This one is a mistake
.delete m5
.user mod
/feed list
/digest preview
"""


def threadcast(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("THREADCAST_", "DISCORD_", "SLACK_"))
    }
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def empty_database(path: Path) -> Path:
    """A threadcast database with its schema and nothing in it (reading commands refuse a
    database that does not exist)."""

    async def create() -> None:
        store = SQLiteStore(path)
        await store.open()
        await store.close()

    asyncio.run(create())
    return path


def test_demo_week_fills_a_database_with_a_realistic_week(tmp_path: Path) -> None:
    db = tmp_path / "week.db"
    result = threadcast("demo", "--week", "--db", str(db), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("# Community digest")
    assert "**32 articles posted**" in out
    assert "1. **[" in out and "## Waiting for a first reply" in out
    assert "Welcome to " in out
    assert "@everyone" not in out and "<!channel>" not in out
    assert f"The week is in {db}" in result.stderr
    # The database stays for `archive` or `console`; a second fill is refused, nothing changed.
    again = threadcast("demo", "--week", "--db", str(db), cwd=tmp_path)
    assert again.returncode != 0 and "exists already" in again.stderr
    assert "Traceback" not in again.stderr
    chart = tmp_path / "chart.png"
    same = threadcast(
        "digest", "--markdown", "--style", "full", "--db", str(db), "--chart", str(chart), cwd=tmp_path
    )
    assert "**32 articles posted**" in same.stdout and "   Themes:" in same.stdout
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_demo_shows_the_whole_job(tmp_path: Path) -> None:
    result = threadcast("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "thread m1 opened" in out
    assert "What would a change like this mean where you live?" in out
    digest = out[out.rindex("# Community digest") :]
    assert "1. **The town council of Marrowby" in digest  # the discussion, ranked
    assert "> ★ Speaking as someone who lives next to such a garden" in digest  # featured, quoted
    assert "*a member*" in digest and "*eve*" not in digest  # anonymous member
    assert "toasters" not in digest  # opted-out member
    assert "First!" not in digest  # deleted reply
    assert "@everyone" not in out.split("# Community digest", 1)[1]
    assert not list(tmp_path.iterdir()), "the demo must not leave files behind"


def test_console_reads_a_script_from_stdin(tmp_path: Path) -> None:
    db = tmp_path / "console.db"
    result = threadcast("console", "--db", str(db), stdin=SCRIPT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    preview = out[out.rindex("# Community digest") :]
    assert "Night trains return to the Alps" in preview
    assert "waking up in the mountains" in preview
    assert "@\u200beveryone" in preview and "@everyone" not in preview
    assert "My words should never" not in preview and "mistake" not in preview
    assert "No feeds yet" in out
    # The state is in the file: a second run continues the same threads.
    again = threadcast(
        "console",
        "--db",
        str(db),
        stdin=".thread m1\n.user dan\nLate to this, but yes!\n.user mod\n/digest preview\n",
    )
    assert again.returncode == 0, again.stderr
    # The compact preview quotes two replies; the full style shows the new one too.
    full = threadcast("digest", "--markdown", "--style", "full", "--db", str(db))
    assert "Late to this, but yes!" in full.stdout
    exported = threadcast("export", "--db", str(db))
    data = json.loads(exported.stdout)
    texts = [r["text"] for d in data["discussions"] for r in d["replies"]]
    assert any("mountains" in t for t in texts) and not any("never show up" in t for t in texts)
    csv_out = threadcast("export", "--db", str(db), "--format", "csv")
    assert csv_out.stdout.splitlines()[0].startswith("discussion_id,platform")
    assert "Late to this" in csv_out.stdout


def test_console_with_stdin_from_dev_null_ends_at_once(tmp_path: Path) -> None:
    """/dev/null is a character device that epoll refuses to watch: the console read it
    through the event loop and waited for ever."""
    with open(os.devnull, "rb") as devnull:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "console", "--db", str(tmp_path / "c.db")],
            stdin=devnull, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "c.db").is_file()


def test_a_bad_line_does_not_end_the_console(tmp_path: Path) -> None:
    script = '/feed add\n/post "unbalanced\n.react nosuch\n/nonsense words\n.user mod\n/help\n'
    result = threadcast("console", "--db", str(tmp_path / "c.db"), stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Usage: feed add <url>" in out
    assert "check the quotes" in out
    assert "no message 'nosuch'" in out
    assert "Unknown command" in out
    assert "privacy optout" in out  # /help ran after all of it


def test_post_the_corpus_article(tmp_path: Path, corpus: Path) -> None:
    article = corpus / "articles" / "karpathy-joins-anthropic.txt"
    result = threadcast("post", str(article), "--db", str(tmp_path / "p.db"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    title = lines[lines.index("┌─ #general · m1 · threadcast") + 1].removeprefix("│ ")
    assert title.startswith("Andrej Karpathy has announced his move from OpenAI to Anthropic")
    assert len(title) <= 100
    assert "Gnoppix" not in result.stdout and "comments below" not in result.stdout
    assert "thread m1 opened" in result.stdout and "💬 What do you make of" in result.stdout


def test_run_without_platforms_points_to_the_console(tmp_path: Path) -> None:
    result = threadcast("run", cwd=tmp_path)
    assert result.returncode == 1
    assert "No platform is configured" in result.stderr and "threadcast console" in result.stderr


def test_check_masks_secrets_and_names_bad_settings(tmp_path: Path) -> None:
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gx1234.abcdefghijklmnopqrstuvwxyz0123456789"
    (tmp_path / ".env").write_text(
        f"DISCORD_TOKEN={token}\nSLACK_BOT_TOKEN=xoxb-secret-value-123\nSLACK_APP_TOKEN=xapp-1-secret-456\n"
    )
    result = threadcast("check", "--offline", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        token not in result.stdout
        and "secret-value" not in result.stdout
        and "secret-456" not in result.stdout
    )
    assert "client_id=123456789012345678" in result.stdout
    assert "MESSAGE CONTENT" in result.stdout
    assert "discord, slack" in result.stdout
    bad = threadcast(
        "check",
        "--offline",
        cwd=tmp_path,
        env={"THREADCAST_TIMEZONE": "Mars/Olympus", "THREADCAST_POLL_INTERVAL": "soon"},
    )
    assert bad.returncode == 1
    assert "THREADCAST_TIMEZONE" in bad.stderr and "THREADCAST_POLL_INTERVAL" in bad.stderr
    assert token not in bad.stderr


def test_check_shows_a_postgres_url_with_its_password_masked(tmp_path: Path) -> None:
    url = "postgresql://threadcast:pg-secret-99@db.example:5432/community"
    result = threadcast("check", "--offline", cwd=tmp_path, env={"THREADCAST_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert "THREADCAST_DATABASE_URL = postgresql://threadcast:****@db.example:5432/community" in result.stdout
    assert "pg-secret-99" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", ["run", "console", "demo", "post", "digest", "check", "export"])
def test_every_command_has_help(command: str) -> None:
    result = threadcast(command, "--help")
    assert result.returncode == 0 and "Usage:" in result.stdout


def test_digest_markdown_from_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    threadcast("console", "--db", str(db), stdin=SCRIPT)
    result = threadcast("digest", "--markdown", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Community digest")
    assert "Night trains" in result.stdout


@pytest.mark.parametrize(
    "command",
    [("digest",), ("digest", "--json"), ("export",), ("export", "--format", "csv"), ("archive", "site")],
)
def test_a_reading_command_refuses_a_database_that_does_not_exist(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    result = threadcast(*command, "--db", str(tmp_path / "tpyo.db"), cwd=tmp_path)
    assert result.returncode == 1
    assert "tpyo.db does not exist" in result.stderr and "Traceback" not in result.stderr
    assert "quiet" not in result.stdout
    assert list(tmp_path.iterdir()) == []  # no empty database, console state or site made


def test_a_reading_command_refuses_a_missing_database_named_in_the_environment(tmp_path: Path) -> None:
    missing = tmp_path / "gone.db"
    result = threadcast("digest", env={"THREADCAST_DATABASE_URL": f"sqlite:///{missing}"}, cwd=tmp_path)
    assert result.returncode == 1 and "gone.db does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_backup_into_a_missing_folder_is_refused_without_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    assert threadcast("demo", "--db", str(db), cwd=tmp_path).returncode == 0
    result = threadcast("backup", "/nonexistent/dir/b.db", "--db", str(db), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "/nonexistent/dir is not a folder" in result.stderr and "Traceback" not in result.stderr
    missing = threadcast("backup", str(tmp_path / "b.db"), "--db", str(tmp_path / "none.db"), cwd=tmp_path)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert not (tmp_path / "b.db").exists() and not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_demo_week_leaves_no_database_and_the_next_run_fills_it(
    tmp_path: Path, stop: signal.Signals
) -> None:
    db = tmp_path / "week.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THREADCAST_", "DISCORD_", "SLACK_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--week", "--db", str(db)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # Stopped while filling: once its partial file has tables in it.
        deadline = time.monotonic() + 60
        while not any(p.name.endswith(".partial") and p.stat().st_size > 0 for p in tmp_path.iterdir()):
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the fill never started"
            time.sleep(0.01)
        process.send_signal(stop)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not db.exists()
    if stop == signal.SIGINT:  # cleaned up on the way out; a SIGKILL leaves only a dot-file
        assert list(tmp_path.iterdir()) == []
    again = threadcast("demo", "--week", "--db", str(db), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "**32 articles posted**" in again.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if ".partial" not in p.name) == ["week.db"]
    digest = threadcast("digest", "--markdown", "--db", str(db), cwd=tmp_path)
    assert "**32 articles posted**" in digest.stdout
