"""The one typed handler shape, checked when a handler is registered."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any


def check_handler(fn: Callable[..., Any], param_type: type, returns: object) -> None:
    """Registration refuses anything but `async def f(x: param_type) -> returns`."""
    name = getattr(fn, "__qualname__", repr(fn))
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"{name} must be an async function")
    params = list(inspect.signature(fn).parameters.values())
    if len(params) != 1 or params[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        raise TypeError(f"{name} must take exactly one positional parameter")
    hints = typing.get_type_hints(fn)
    annotated = hints.get(params[0].name)
    if annotated is None or not (isinstance(annotated, type) and issubclass(param_type, annotated)):
        raise TypeError(f"{name}: parameter must be annotated {param_type.__name__}, got {annotated!r}")
    if hints.get("return", inspect.Signature.empty) != returns:
        raise TypeError(f"{name} must be annotated to return {returns!r}")
