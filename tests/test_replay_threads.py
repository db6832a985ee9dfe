"""tools/replay_threads.py: its console script and its checks, on a small thread of our own
(the project's tests never need ../shared/corpus)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import discord
import pytest

from tools import replay_threads as replay

COMMENTS = [
    ("c1", "ana", "Our office lost every server in the outage and we learned to keep backups offsite.", 40),
    ("c2", "[deleted]", "Deleted authors still said useful things about the database failover.", 3),
    ("c3", "ben", ".NET folks had it worse, the whole cache layer went down with the memcached nodes.", 9),
    ("c4", "cat", "[deleted]", 1),
    ("c5", "dan", "Thanks for the honest post-mortem, it reads like a real engineering story.", 1),
]


def _corpus(tmp_path: Path, name: str = "t1") -> Path:
    threads = tmp_path / "corpus" / "threads"
    threads.mkdir(parents=True)
    data = {
        "title": "We're back after the outage",
        "url": "https://example.org/r/x",
        "subreddit": "announcements",
        "selftext": "What happened, and what we changed.",
        "comments": [
            {"id": i, "author": a, "body": b, "score": s, "created_utc": 1000 + n, "parent_id": "t3_x"}
            for n, (i, a, b, s) in enumerate(COMMENTS)
        ],
    }
    (threads / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    return tmp_path / "corpus"


def test_the_script_replays_every_comment_as_a_reply(tmp_path: Path) -> None:
    script = replay.build_script(_corpus(tmp_path), ["t1"], tmp_path)
    lines = script.lines
    assert lines[2].startswith("/post ")
    article = Path(lines[2].split(" ", 1)[1]).read_text()
    assert article.startswith('---\ntitle: "We\'re back after the outage"\nurl: https://example.org/r/x\n')
    assert len(script.replies) == 4 and script.skipped == 1  # the "[deleted]" body has no words
    anonymous = next(line for line in lines if line.startswith(".user anon-"))
    assert lines[lines.index(anonymous) + 1] == "/privacy anonymous"
    assert "\u200b.NET folks had it worse" in "\n".join(lines) and script.guarded == 1
    assert any(line.startswith(".advance ") for line in lines)
    reacts = [line for line in lines if line.startswith(".react ")]
    assert len(reacts) == script.reactions and 0 < script.reactions <= replay.MAX_REACTIONS * 4
    assert reacts.count(".react m2 👍") == replay.MAX_REACTIONS  # the best-scored reply
    assert script.expected["m2"] == "ana" and script.expected["m1"] == "threadcast"


def test_a_copied_sentence_in_a_gist_is_found() -> None:
    reply = "Short one. Our office lost every server in the outage last night! Fine."
    assert replay.copied_sentence(
        "Members said our office lost every server in the outage last night.", [reply]
    )
    assert replay.copied_sentence("Members said: our office lost every server.", [reply]) is None
    assert replay.copied_sentence("Three members lost servers; two kept backups offsite.", [reply]) is None


def test_quotes_that_say_the_same_are_found() -> None:
    assert replay.overlap("The Earth is flat", "the earth is flat!") == 1.0
    assert (
        replay.overlap("The Earth is flat", "Some say the earth is flat, but my uncle flew round it") == 1.0
    )
    assert replay.overlap("The Earth is flat and cold", "My uncle flew round the earth twice") < 0.8
    a = "My favourite is the hollow earth theory, that a race of some type of species lives inside"
    b = "that a race of some type of species lives inside the centre of the planet"
    assert replay.shared_run(a, b) and not replay.shared_run(a, "The Earth is flat")


def _data(**discussion: Any) -> dict[str, Any]:
    base = {"title": "T", "gist": "Four members told how the outage hit them.", "quotes": [], "themes": []}
    return {"period": {"language": "en"}, "discussions": [{**base, **discussion}], "late": []}


def test_the_content_checks_catch_each_rule() -> None:
    assert replay.content_problems(_data(), []) == []
    assert "no gist" in replay.content_problems(_data(gist=""), [])[0]
    theme = {"phrase": "the drum", "replies": 3, "quote": "", "author": "a"}
    assert "function word" in replay.content_problems(_data(themes=[theme]), [])[0]
    quotes = [{"text": "The Earth is flat", "author": "a"}, {"text": "the earth is FLAT", "author": "b"}]
    assert "overlap by 100%" in replay.content_problems(_data(quotes=quotes), [])[0]


def test_the_platform_checks_catch_each_limit() -> None:
    fine = [discord.Embed(title="Community digest", description="x" * 100)]
    assert replay.discord_problems([fine]) == []
    assert "2 messages" in replay.discord_problems([fine, fine])[0]
    assert "description" in replay.discord_problems([[discord.Embed(description="x" * 4097)]])[0]
    assert "6,000" in replay.discord_problems([[discord.Embed(description="x" * 4000)] * 2])[0]
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    assert "header" in replay.slack_problems([[header]], ["h"])[0]
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}
    assert "section" in replay.slack_problems([[section]], ["s"])[0]
    assert "51 blocks" in replay.slack_problems([[{"type": "divider"}] * 51], [""])[0]


@pytest.mark.parametrize("name", ["t1"])
def test_the_replay_runs_the_real_console_and_reports_every_failure(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path, name)
    status = replay.main(["--corpus", str(corpus), "--threads", name, "--keep", str(tmp_path / "work")])
    out = capsys.readouterr().out
    assert f"{name}: 4 replies" in out and "digest: 1 discussions" in out
    assert "Discord 1 message(s)" in out and "Slack 1 message(s)" in out
    assert "console messages are not where the script expected" not in out
    assert "console lines failed" not in out and "differs from the digest built" not in out
    assert "replies of the" not in out  # every replayed reply is in the period
    # Until the digest has gists, the gist check fails: reported, with exit status 1.
    assert status == (1 if "FAIL" in out else 0)
