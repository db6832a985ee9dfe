"""Replay the corpus's Reddit threads as one week through the real console, and check the digest.

    python tools/replay_threads.py [--corpus DIR] [--only NAME] [--write-docs] [--keep DIR]

For each thread in ``<corpus>/threads`` and for all of them together: a console script
posts the thread's title and text as an article, writes every comment as a reply in that
article's thread (each author a console user, ``[deleted]`` authors as anonymous members),
adds reactions in proportion to score, and spreads the replies over the week with
``.advance``; ``threadcast console --db FILE`` runs it. Then ``threadcast digest --json --at
END --db FILE`` gives the digest, and the same digest rendered for Discord and Slack is
checked against every limit of one message. Every failed check is reported (the script
does not stop at the first) and the exit status is 1 when any failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
THREADS = ("n49rw", "6wmniq", "3hahrw")
WEEK_SPREAD = timedelta(days=6, hours=12)  # the replies' span inside the digest's week
ADVANCE_STEP = timedelta(minutes=20)
MAX_REACTIONS = 4  # per reply, so the run stays fast
REACTORS = 12  # the members who react (Reddit's voters are not authors)
DELETED_POOL = 12  # anonymous stand-ins for `[deleted]` authors
MIN_COPIED_WORDS = 8  # a reply's sentence this long must never appear in a gist
QUOTE_OVERLAP = 0.8
_NAME = re.compile(r"[\w.-]{1,32}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


# -- the replay script ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Comment:
    thread: str
    id: str
    author: str
    body: str
    score: int
    at: timedelta  # after the articles were posted


@dataclass
class Script:
    lines: list[str] = field(default_factory=list)
    replies: list[Comment] = field(default_factory=list)
    reactions: int = 0
    skipped: int = 0  # comments deleted on Reddit: no words to replay
    guarded: int = 0  # bodies that would read as a console command
    expected: dict[str, str] = field(default_factory=dict)  # console message id -> author


def load_thread(corpus: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((corpus / "threads" / f"{name}.json").read_text(encoding="utf-8"))
    return data


def console_name(author: str, comment_id: str) -> tuple[str, bool]:
    """The console user for a Reddit author, and whether that member is anonymous."""
    if author == "[deleted]" or not _NAME.fullmatch(author):
        return f"anon-{sum(map(ord, comment_id)) % DELETED_POOL}", True
    return author, False


def one_line(body: str) -> tuple[str, bool]:
    """A comment as one console line (the console reads a line per message); True when it
    had to be guarded so the console does not read it as a command."""
    text = " ".join(body.split())
    if text.startswith(("/", ".", "#")):
        return "\u200b" + text, True
    return text, False


def reactions_for(score: int, top: int) -> int:
    """Reactions in proportion to score: the best-scored reply gets MAX_REACTIONS."""
    if score <= 1 or top <= 1:
        return 0
    return min(MAX_REACTIONS, math.ceil(MAX_REACTIONS * score / top))


def build_script(corpus: Path, names: Sequence[str], tmp: Path) -> Script:
    script = Script()
    out = script.lines
    out += [f".user {os.environ.get('THREADCAST_CONSOLE_MODERATOR', 'mod')}", ".channel general"]
    threads = {name: load_thread(corpus, name) for name in names}
    openers: dict[str, str] = {}
    next_id = 1
    for name, data in threads.items():
        article = tmp / f"{name}.md"
        # Front matter gives the article its link, as a post of the thread's own page would.
        title = json.dumps(data["title"], ensure_ascii=False)
        article.write_text(
            f"---\ntitle: {title}\nurl: {data['url']}\n---\n{data.get('selftext') or data['title']}\n",
            encoding="utf-8",
        )
        out.append(f"/post {article}")
        openers[name] = f"m{next_id}"
        script.expected[openers[name]] = "threadcast"
        next_id += 1

    comments: list[Comment] = []
    for name, data in threads.items():
        kept = sorted(data["comments"], key=lambda c: (c["created_utc"], c["id"]))
        alive = [c for c in kept if c["body"] not in ("[deleted]", "[removed]", "")]
        script.skipped += len(kept) - len(alive)
        for rank, c in enumerate(alive):
            at = WEEK_SPREAD * (rank + 1) / (len(alive) + 1)  # evenly over the week, in Reddit's order
            comments.append(Comment(name, c["id"], c["author"], c["body"], int(c["score"]), at))
    comments.sort(key=lambda c: c.at)
    tops = {name: max((c.score for c in comments if c.thread == name), default=0) for name in names}

    anonymous: set[str] = set()
    clock = timedelta()
    thread = None
    reactors = [f"reader-{k}" for k in range(REACTORS)]
    for number, comment in enumerate(comments):
        user, anon = console_name(comment.author, comment.id)
        # Time passes in steps of ADVANCE_STEP: replies in one step share its time.
        minutes = int((comment.at - clock) // ADVANCE_STEP) * int(ADVANCE_STEP.total_seconds() // 60)
        if minutes > 0:
            out.append(f".advance {minutes}m")
            clock += timedelta(minutes=minutes)
        out.append(f".user {user}")
        if anon and user not in anonymous:
            out.append("/privacy anonymous")
            anonymous.add(user)
        if thread != comment.thread:
            out.append(f".thread {openers[comment.thread]}")
            thread = comment.thread
        text, guarded = one_line(comment.body)
        script.guarded += guarded
        out.append(text)
        message_id = f"m{next_id}"
        next_id += 1
        script.expected[message_id] = user
        script.replies.append(comment)
        for k in range(reactions_for(comment.score, tops[comment.thread])):
            out += [f".user {reactors[(number + k) % REACTORS]}", f".react {message_id} 👍"]
            script.reactions += 1
    return script


# -- running the real console and CLI --------------------------------------------------------
def threadcast(*args: str, stdin: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THREADCAST_", "DISCORD_", "SLACK_"))}
    env["THREADCAST_LOG_LEVEL"] = "WARNING"
    with open(stdin or os.devnull, encoding="utf-8") as feed:
        return subprocess.run(
            [sys.executable, "-m", "bot", "--env-file", os.devnull, *args],
            stdin=feed,
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=600,
        )


def console_end(db: Path) -> datetime:
    """The console's time after the replay (real time plus what `.advance` added), rounded up
    to the next minute so the last reply, written seconds ago, is inside the period."""
    with contextlib.closing(sqlite3.connect(db)) as conn:  # `.advance` records it in the store
        row = conn.execute("SELECT value FROM console_state WHERE name = 'time_offset'").fetchone()
    now = datetime.now(UTC) + timedelta(seconds=float(row[0]) if row else 0.0)
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


def built_digest(db: Path, end: datetime) -> tuple[Any, Any]:
    """The same digest `digest --at END` prints, built in this process, and the post the
    console's digest channel would get (`bot.layout.DigestPost`) for the renderers."""
    from adapters.console.clock import recorded_clock
    from adapters.console.platform import COMMUNITY
    from bot.config import settings_from
    from threadcast.wiring import runtime

    settings = settings_from(
        {"THREADCAST_DATABASE_URL": f"sqlite:///{db}", "THREADCAST_LOG_LEVEL": "WARNING"}
    )

    async def build() -> tuple[Any, Any]:
        async with runtime(settings, recorded_clock(Path(f"{db}.console.json"))) as rt:
            digest = await rt.services.digests.at(COMMUNITY, end)
            return digest, await rt.services.digests.shaped(digest, "general")

    return asyncio.run(build())


# -- rendering: the one place that calls the platforms' renderers ---------------------------
@dataclass
class Rendered:
    discord: list[list[Any]]  # messages of embeds
    slack: list[list[dict[str, Any]]]  # messages of blocks
    slack_fallback: list[str]
    markdown: str


def render(post: Any, style: str) -> Rendered:
    """The digest (a `bot.layout.DigestPost`) in `style` as each platform posts it: the
    platforms' own message builders, so what is checked is what would be sent."""
    from dataclasses import replace

    from adapters.discord.platform import _digest_messages
    from adapters.slack.render import digest_messages, plain
    from bot.layout import Style
    from bot.markdown import render as markdown

    styled = replace(post, style=Style(style))
    discord_messages = [embeds for embeds, _chart in asyncio.run(_digest_messages(styled))]
    slack_messages = digest_messages(styled)
    fallbacks = [plain(m) for m in slack_messages]
    return Rendered(discord_messages, slack_messages, fallbacks, markdown(styled.layout()))


# -- checks ----------------------------------------------------------------------------------
def function_words(code: str) -> Callable[[str], bool]:
    """The project's function-word check for a language (the one place it is imported)."""
    from bot.language import language

    found = language(code)
    return lambda word: found.is_function_word(word.lower())


def discord_problems(messages: list[list[Any]]) -> list[str]:
    problems = []
    if len(messages) != 1:
        problems.append(f"Discord: {len(messages)} messages, not one")
    for n, embeds in enumerate(messages, start=1):
        if len(embeds) > 10:
            problems.append(f"Discord message {n}: {len(embeds)} embeds > 10")
        total = sum(len(e) for e in embeds)
        if total > 6000:
            problems.append(f"Discord message {n}: {total} characters across embeds > 6,000")
        for e in embeds:
            if len(e.title or "") > 256:
                problems.append(f"Discord embed title of {len(e.title)} > 256")
            if len(e.description or "") > 4096:
                problems.append(f"Discord embed description of {len(e.description)} > 4,096")
            if len(e.fields) > 25:
                problems.append(f"Discord embed with {len(e.fields)} fields > 25")
            for f in e.fields:
                if len(f.value or "") > 1024 or len(f.name or "") > 256:
                    problems.append(f"Discord field {f.name!r}: name {len(f.name)}, value {len(f.value)}")
            if len(e.footer.text or "") > 2048:
                problems.append(f"Discord footer of {len(e.footer.text)} > 2,048")
    return problems


def slack_problems(messages: list[list[dict[str, Any]]], fallbacks: list[str]) -> list[str]:
    problems = []
    if len(messages) != 1:
        problems.append(f"Slack: {len(messages)} messages, not one")
    for n, blocks in enumerate(messages, start=1):
        if len(blocks) > 50:
            problems.append(f"Slack message {n}: {len(blocks)} blocks > 50")
        for b in blocks:
            text = b.get("text", {}).get("text", "") if isinstance(b.get("text"), dict) else ""
            if b["type"] == "header" and len(text) > 150:
                problems.append(f"Slack header of {len(text)} > 150")
            if b["type"] == "section" and len(text) > 3000:
                problems.append(f"Slack section of {len(text)} > 3,000")
    for n, fallback in enumerate(fallbacks, start=1):
        if len(fallback) > 40000:
            problems.append(f"Slack message {n}: fallback text of {len(fallback)} > 40,000")
    return problems


def _phrase(text: str) -> str:
    from bot.wording import words

    return " " + " ".join(words(text)) + " "


def copied_sentence(gist: str, replies: Sequence[str]) -> str | None:
    """A sentence of at least MIN_COPIED_WORDS words of a reply found word for word in `gist`."""
    said = _phrase(gist)
    for reply in replies:
        for sentence in _SENTENCE_END.split(reply):
            phrase = _phrase(sentence)
            if len(phrase.split()) >= MIN_COPIED_WORDS and phrase in said:
                return sentence.strip()
    return None


def overlap(a: str, b: str) -> float:
    """How far two quotes say the same words: the share of the shorter quote's distinct words
    that the other has too (1.0 when one is inside the other), as the issue defines it."""
    from bot.wording import words

    left, right = set(words(a)), set(words(b))
    if not left or not right:
        return 1.0 if left == right else 0.0
    return len(left & right) / min(len(left), len(right))


def shared_run(a: str, b: str, length: int = MIN_COPIED_WORDS) -> bool:
    """True when two quotes have `length` words in a row in common: the same reply quoted
    twice (a highlight and a theme, cut at different places)."""
    from bot.wording import words

    def runs(text: str) -> set[tuple[str, ...]]:
        said = words(text)
        return {tuple(said[i : i + length]) for i in range(len(said) - length + 1)}

    return bool(runs(a) & runs(b))


def content_problems(data: dict[str, Any], replies: Sequence[str]) -> list[str]:
    problems = []
    is_function_word = function_words(data["period"]["language"])
    shown = data["discussions"] + data["late"]
    quotes: list[tuple[str, str]] = []
    for d in shown:
        title = d["title"][:60]
        if not d["gist"].strip():
            problems.append(f"no gist for {title!r}")
        else:
            copied = copied_sentence(d["gist"], replies)
            if copied:
                problems.append(f"the gist of {title!r} copies a reply: {copied[:100]!r}")
        quotes += [(title, q["text"]) for q in d["quotes"]]
        quotes += [(title, t["quote"]) for t in d["themes"] if t["quote"]]
        for t in d["themes"]:
            label = t["phrase"].split()
            if not label or is_function_word(label[0]) or is_function_word(label[-1]):
                problems.append(f"theme {t['phrase']!r} of {title!r} starts or ends with a function word")
    for i, (title_a, a) in enumerate(quotes):
        for title_b, b in quotes[i + 1 :]:
            share = overlap(a, b)
            if share >= QUOTE_OVERLAP or shared_run(a, b):
                why = f"overlap by {share:.0%}" if share >= QUOTE_OVERLAP else "repeat one reply"
                problems.append(f"two quotes {why} ({title_a!r} / {title_b!r}): {a[:60]!r} ~ {b[:60]!r}")
    return problems


# -- one replay ------------------------------------------------------------------------------
@dataclass
class Outcome:
    name: str
    problems: list[str]
    report: list[str]
    markdown: dict[str, str]


def replay(corpus: Path, name: str, threads: Sequence[str], work: Path) -> Outcome:
    db = work / f"{name}.db"
    started = time.monotonic()
    script = build_script(corpus, threads, work)
    script_file = work / f"{name}.script"
    script_file.write_text("\n".join(script.lines) + "\n", encoding="utf-8")
    ran = threadcast("console", "--db", str(db), stdin=script_file)
    console_seconds = time.monotonic() - started
    problems: list[str] = []
    if ran.returncode != 0:
        problems.append(f"the console exited {ran.returncode}: {ran.stderr[-2000:]}")
    failed_lines = ran.stdout.count("! that line failed")
    if failed_lines or "Traceback" in ran.stderr:
        problems.append(f"{failed_lines} console lines failed; stderr: {ran.stderr[-1500:]}")
    with contextlib.closing(sqlite3.connect(db)) as conn:  # the console keeps its messages in the store
        rows = conn.execute("SELECT 'm' || seq, author FROM console_messages WHERE deleted = 0").fetchall()
    messages = {message_id: {"author": author} for message_id, author in rows}
    wrong = [(m, a) for m, a in script.expected.items() if messages.get(m, {}).get("author") != a]
    if wrong:
        problems.append(f"{len(wrong)} console messages are not where the script expected, e.g. {wrong[:3]}")

    end = console_end(db)
    started = time.monotonic()
    printed = threadcast("digest", "--json", "--at", end.isoformat(), "--db", str(db))
    digest_seconds = time.monotonic() - started
    data: dict[str, Any] = {}
    if printed.returncode != 0:
        problems.append(f"`threadcast digest --json` exited {printed.returncode}: {printed.stderr[-1500:]}")
    else:
        try:
            data = json.loads(printed.stdout)
        except ValueError as exc:
            problems.append(f"`threadcast digest --json` printed no JSON ({exc})")

    from bot.digest_json import digest_dict

    digest, post = built_digest(db, end)
    if data and digest_dict(digest) != data:
        problems.append("`digest --json` differs from the digest built in this process")
    data = data or digest_dict(digest)

    if data["figures"]["replies"] != len(script.replies):
        problems.append(
            f"the digest counts {data['figures']['replies']} replies of the {len(script.replies)} replayed"
        )
    compact, full = render(post, "compact"), render(post, "full")
    problems += discord_problems(compact.discord)
    problems += slack_problems(compact.slack, compact.slack_fallback)
    problems += content_problems(data, [one_line(c.body)[0] for c in script.replies])

    discord_chars = sum(len(e) for m in compact.discord for e in m)
    embeds, blocks = sum(map(len, compact.discord)), sum(map(len, compact.slack))
    slack_chars = sum(len(f) for f in compact.slack_fallback)
    rate = len(script.replies) / max(console_seconds, 0.001)
    shown = data["discussions"]
    report = [
        f"{name}: {len(script.replies)} replies ({script.skipped} deleted on Reddit left out,"
        f" {script.guarded} guarded), {script.reactions} reactions, {len(script.lines)} console lines",
        f"  console {console_seconds:.1f}s ({rate:.0f} replies/s), digest --json {digest_seconds:.1f}s",
        f"  digest: {len(shown)} discussions (+{data['more_discussions']} more, {len(data['late'])} late),"
        f" {sum(len(d['quotes']) for d in shown)} quotes, {sum(len(d['themes']) for d in shown)} themes,"
        f" {sum(1 for d in shown if d['gist'])} gists",
        f"  compact: Discord {len(compact.discord)} message(s), {embeds} embeds, {discord_chars} chars;"
        f" Slack {len(compact.slack)} message(s), {blocks} blocks,"
        f" {slack_chars} chars; Markdown {len(compact.markdown)} chars (full {len(full.markdown)})",
    ]
    return Outcome(name, problems, report, {"compact": compact.markdown, "full": full.markdown})


def write_docs(outcomes: Sequence[Outcome], path: Path) -> None:
    parts = [
        "# The digest of the corpus threads\n\n",
        "Written by `python tools/replay_threads.py --write-docs`: each Reddit thread of"
        " `../shared/corpus/threads/` (and all three together) replayed as one week through the"
        " console, then the digest in the compact style (the default, one Discord and one Slack"
        " message) beside the full style.\n",
    ]
    for outcome in outcomes:
        parts.append(f"\n## {outcome.name}\n\n")
        parts.append("\n".join(f"    {line}" for line in outcome.report) + "\n")
        for style in ("compact", "full"):
            parts.append(f"\n### {style.capitalize()}\n\n")
            body = outcome.markdown[style].replace("\n#", "\n####").removeprefix("#")
            parts.append(("####" if outcome.markdown[style].startswith("#") else "") + body.rstrip() + "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--threads", default=",".join(THREADS), help="the corpus threads to replay, by name, comma-separated"
    )
    parser.add_argument("--only", help="replay this one thread (or `all`, the threads together) only")
    parser.add_argument("--write-docs", action="store_true", help="write docs/corpus-digest.md")
    parser.add_argument("--keep", type=Path, help="keep the databases and scripts in this directory")
    args = parser.parse_args(argv)
    if not (args.corpus / "threads").is_dir():
        print(f"replay: no corpus threads in {args.corpus}", file=sys.stderr)
        return 2
    names = tuple(n for n in args.threads.split(",") if n)
    runs = [(name, (name,)) for name in names] + ([("all", names)] if len(names) > 1 else [])
    if args.only:
        runs = [r for r in runs if r[0] == args.only]
    started = time.monotonic()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="threadcast-replay-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for name, threads in runs:
            for old in work.glob(f"{name}.db*"):
                old.unlink()
            outcome = replay(args.corpus, name, threads, work)
            outcomes.append(outcome)
            print("\n".join(outcome.report), flush=True)
            for problem in outcome.problems:
                print(f"  FAIL {problem}", flush=True)
    failures = sum(len(o.problems) for o in outcomes)
    print(f"replay: {len(outcomes)} runs in {time.monotonic() - started:.1f}s, {failures} failed checks")
    if args.write_docs:
        write_docs(outcomes, ROOT / "docs" / "corpus-digest.md")
        print(f"wrote {ROOT / 'docs' / 'corpus-digest.md'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
