"""A feed's include and exclude rules, and which new items they let through.

A rule is a word or phrase, matched case-insensitively as whole words ("rust" matches
"Rust 1.80" but not "trusty"; the words of a phrase may be split by any spaces), or a
regular expression written between slashes (`/rust(acean)?s?/`), also case-insensitive.
A rule looks at the item's title, its summary, its categories, or all three (the default).

An item passes when it matches no exclude rule and, if the feed has include rules, at
least one of them. An item held back is remembered as seen: it is not posted later, even
if the rules change.

Cost: the `regex` package runs every search with a time limit (`MATCH_TIMEOUT`); a search
that runs out of time (a pattern that backtracks without end) counts as no match, is logged,
and leaves that rule out for the rest of the poll (one timeout per rule and poll). Patterns
are at most `MAX_PATTERN` characters and the texts searched are cut to `MAX_TEXT`
characters, so one poll's filtering is bounded.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import regex

from bot.i18n import N_
from bot.models import FeedFilter

_log = logging.getLogger(__name__)

MAX_PATTERN = 200
MAX_FILTERS = 20  # per feed
MAX_TEXT = 5000  # characters of a title, summary or categories searched
MATCH_TIMEOUT = 0.05  # seconds for one search
UNMATCHED = 0  # `held_by` of an item that matched no include rule (rule ids start at 1)


class FilterError(ValueError):
    """A pattern that cannot be used. `message` is an English msgid with {placeholders}."""

    def __init__(self, message: str, /, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message = message
        self.values = values


def is_regex(pattern: str) -> bool:
    return len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/")


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """The rule's pattern compiled; FilterError with a message fit for the moderator."""
    pattern = pattern.strip()
    if not pattern:
        raise FilterError(N_("the pattern is empty"))
    if len(pattern) > MAX_PATTERN:
        raise FilterError(N_("a pattern is at most {limit} characters"), limit=MAX_PATTERN)
    if is_regex(pattern):
        body = pattern[1:-1]
        if not body:
            raise FilterError(N_("the regular expression between the slashes is empty"))
        try:
            return regex.compile(body, regex.IGNORECASE | regex.VERSION0)
        except regex.error as exc:
            raise FilterError(
                N_("{pattern} is not a valid regular expression: {problem}"),
                pattern=pattern, problem=str(exc),
            ) from None  # fmt: skip
    words = pattern.split()
    phrase = r"\s+".join(regex.escape(word) for word in words)
    return regex.compile(rf"(?<!\w){phrase}(?!\w)", regex.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Candidate:
    """What rules look at in a new item."""

    title: str
    summary: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Rule:
    id: int
    exclude: bool
    field: str
    pattern: regex.Pattern[str]
    shown: str

    def matches(self, item: Candidate) -> bool:
        texts = {
            "title": (item.title,),
            "summary": (item.summary,),
            "categories": ("\n".join(item.categories),),
        }
        chosen = texts[self.field] if self.field != "all" else tuple(t for (t,) in texts.values())
        # Raises TimeoutError when a search runs out of time.
        return any(self.pattern.search(text[:MAX_TEXT], timeout=MATCH_TIMEOUT) for text in chosen)


class Rules:
    """A feed's rules, compiled once per poll."""

    def __init__(self, filters: Sequence[FeedFilter]) -> None:
        rules = []
        for f in filters:
            try:
                pattern = compile_pattern(f.pattern)
            except FilterError as exc:  # stored before a rule of the checks changed: skipped, said
                _log.warning("feed %d: filter %r skipped: %s", f.feed_id, f.pattern, exc)
                continue
            rules.append(_Rule(f.id, f.action == "exclude", f.field, pattern, f.pattern))
        self._slow: set[int] = set()
        self._excludes = [r for r in rules if r.exclude]
        self._includes = [r for r in rules if not r.exclude]

    def __bool__(self) -> bool:
        return bool(self._excludes or self._includes)

    def _matches(self, rule: _Rule, item: Candidate) -> bool:
        """A rule that ran out of time once is left out for the rest of this poll (it counts
        as no match), so one bad pattern costs one timeout per poll, not one per item."""
        if rule.id in self._slow:
            return False
        try:
            return rule.matches(item)
        except TimeoutError:
            self._slow.add(rule.id)
            _log.warning(
                "filter %s took too long on %r; it counts as no match for this poll",
                rule.shown,
                item.title[:80],
            )
            return False

    def held_by(self, item: Candidate) -> int | None:
        """None if the item passes; else the id of the first exclude rule it matched, or
        UNMATCHED when it matched none of the include rules."""
        for rule in self._excludes:
            if self._matches(rule, item):
                return rule.id
        if self._includes and not any(self._matches(rule, item) for rule in self._includes):
            return UNMATCHED
        return None


def held_counts(verdicts: Sequence[int | None]) -> tuple[dict[int, int], int]:
    """Per exclude rule, how many items it held back; and how many matched no include."""
    counted = Counter(v for v in verdicts if v is not None)
    unmatched = counted.pop(UNMATCHED, 0)
    return dict(counted), unmatched
