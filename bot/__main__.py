"""`python -m bot`: kept as a shim for `python -m threadcast` (the composition root)."""

from threadcast.cli import entry

entry()
