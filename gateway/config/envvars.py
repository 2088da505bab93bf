"""Unset ``${VAR}``s: one message per variable, and validation that looks past them.

An unset variable used to be reported once per use, followed by what its empty value broke ("url: input
should be a valid string", then "unknown source id" for every point of that source). Now the loader leaves a
placeholder where it stands (yamlmarks.PLACEHOLDERS), ``checked`` tries placeholders of other types (an
integer for a port, a URL for a url) until the value is accepted there, and drops errors that are about the
placeholder, so the rest of the mapping is checked as if the variable were set. ``unset_report`` then says
once per variable that it is not set, naming every place it is used: an error, or a note for
``twinbridge validate --allow-missing-env``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gateway.config.errors import ConfigError
from gateway.config.validation import pydantic_errors
from gateway.config.yamlmarks import PLACEHOLDERS, Marked, Path_, dotted

M = TypeVar("M", bound=BaseModel)


def related(error: ConfigError, unset_path: str) -> bool:
    """Whether ``error`` is at, inside or around (an object holding) the unset value, and about its value."""
    if error.message.startswith("unknown key"):
        return False  # about the key written, whatever its value
    error_path = error.path
    if error_path == unset_path:
        return True
    if unset_path.startswith((error_path + ".", error_path + "[")):
        return True
    return error_path.startswith((unset_path + ".", unset_path + "["))


def checked(
    model: type[M], raw: Any, doc: Marked, base: Path_, errors: list[ConfigError], *, data: Any = None
) -> M | None:
    """``model.model_validate(raw)`` (``raw`` found at ``base`` in ``doc``); errors appended to ``errors``.

    Where an unset variable stands, other placeholders are tried until the model accepts that spot; errors
    about the placeholders are dropped. None when invalid (possibly only because of unset variables).
    """
    rel = [p[len(base) :] for p in doc.unset if len(p) > len(base) and p[: len(base)] == base]
    obj, errs = _attempt(model, raw, doc, base)
    if obj is not None or not rel:
        errors.extend(errs)
        return obj
    work = copy.deepcopy(raw)
    for sub in rel:
        target = dotted(base + sub)
        if not any(related(e, target) for e in errs):
            continue
        unset = doc.unset[base + sub]
        for placeholder in PLACEHOLDERS[1:]:
            _put(work, sub, unset.render(placeholder))
            obj, tried = _attempt(model, work, doc, base)
            if not any(related(e, target) for e in tried):
                errs = tried
                break
        else:
            _put(work, sub, unset.render(PLACEHOLDERS[0]))
        if obj is not None:
            break
    targets = [dotted(base + sub) for sub in rel]
    errors.extend(e for e in errs if not any(related(e, t) for t in targets))
    return obj


def _attempt(model: type[M], raw: Any, doc: Marked, base: Path_) -> tuple[M | None, list[ConfigError]]:
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, pydantic_errors(exc, doc, base, model, data=raw)


def _put(data: Any, path: Path_, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def unset_report(docs: Iterable[Marked], *, as_notes: bool = False) -> list[ConfigError]:
    """One message per unset variable, at its first use, naming the other places it is used."""
    uses: dict[str, list[tuple[Marked, Path_]]] = {}
    for doc in docs:
        for path, u in doc.unset.items():
            for name in u.names:
                uses.setdefault(name, []).append((doc, path))
    out = []
    for name, places in uses.items():
        doc, path = places[0]
        u = doc.unset[path]
        others = [f"{d.file}:{d.unset[p].line}:{d.unset[p].col}" for d, p in places[1:]]
        also = f" (also used at {', '.join(others)})" if others else ""
        if as_notes:
            msg = f"note: environment variable {name} is not set; checked with a placeholder{also}"
        else:
            msg = f"environment variable {name} is not set{also}"
        out.append(ConfigError(doc.file, u.line, u.col, dotted(path), msg))
    return out
