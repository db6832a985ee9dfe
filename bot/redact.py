"""Credentials kept out of everything threadcast shows or logs.

One helper for every URL the bot shows or logs (feed addresses, database and model URLs):
a feed may be private (https://user:password@host/feed, or a token in its query), and the
address is shown in `feed list`, in answers and in log lines.
"""

from __future__ import annotations

MASK = "****"

# Query parameters whose value is a credential, compared lower-cased.
SECRET_PARAMETERS = frozenset(
    {
        "access_token", "api_key", "apikey", "auth", "auth_token", "key", "pass", "passwd",
        "password", "private_token", "pwd", "secret", "sig", "signature", "token",
    }
)  # fmt: skip


def mask_url(url: str) -> str:
    """`url` fit to show: the password of its user info and the values of credential query
    parameters replaced by ****. Everything else is kept exactly as written, and the URL is
    not parsed by a library, so a malformed URL is masked too instead of raising."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    ends = [i for i in (rest.find(c) for c in "/?#") if i >= 0]
    end = min(ends, default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{host}"
    before, question, after = tail.partition("?")
    if question:
        query, hash_, fragment = after.partition("#")
        pairs = []
        for pair in query.split("&"):
            name, equals, value = pair.partition("=")
            secret = equals and value and name.strip().lower() in SECRET_PARAMETERS
            pairs.append(f"{name}={MASK}" if secret else pair)
        tail = f"{before}?{'&'.join(pairs)}{hash_}{fragment}"
    return f"{scheme}{sep}{netloc}{tail}"
