"""Turning pydantic validation errors into ``file:line:col: path: message`` lines an integrator can act on."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from gateway.config.errors import ConfigError
from gateway.config.yamlmarks import Marked, Path_

_GOT_LIMIT = 60


def _clean_path(loc: tuple[Any, ...], data: Any) -> Path_:
    """Drop pydantic's union/type tags from ``loc`` by walking the actual data."""
    path: list[str | int] = []
    cur = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if (isinstance(cur, dict) and part in cur) or (
            isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
        ):
            path.append(part)
            cur = cur[part]
        elif last and isinstance(cur, dict) and isinstance(part, str):
            path.append(part)  # a missing key: report it at its parent
        # else: a type tag such as "float" or "DeadbandSpec" inside a union; skip it
    return tuple(path)


def _message(err: Mapping[str, Any], model: type[BaseModel] | None, data_at_parent: Any, secret: bool) -> str:
    kind = err["type"]
    loc = err["loc"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        msg = f"unknown key '{key}'"
        if model is not None:
            names = _field_names(model, loc[:-1])
            close = difflib.get_close_matches(key, names, n=1)
            if close:
                msg += f" (did you mean '{close[0]}'?)"
            elif names:
                msg += f" (allowed: {', '.join(sorted(names))})"
        return msg
    if kind == "missing":
        return f"missing required key '{loc[-1]}'"
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    msg = msg[:1].lower() + msg[1:]
    got = err.get("input")
    if not isinstance(got, dict | list):
        shown = "<from environment>" if secret else repr(got)
        if len(shown) > _GOT_LIMIT:
            shown = shown[: _GOT_LIMIT - 3] + "..."
        msg += f" (got {shown})"
    return msg


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Names (and aliases) of the fields allowed at ``loc`` inside ``model``, best effort."""
    cur: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(cur, "model_fields", None)
        if not fields or part not in fields:
            break
        ann = fields[part].annotation
        sub = _first_model(ann)
        if sub is None:
            return []
        cur = sub
    fields = getattr(cur, "model_fields", {})
    return [f.alias or name for name, f in fields.items()]


def _first_model(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def pydantic_errors(
    exc: ValidationError,
    doc: Marked,
    base: Path_ = (),
    model: type[BaseModel] | None = None,
    data: Any = None,
) -> list[ConfigError]:
    """Convert a ValidationError raised on ``data`` (found at ``base`` in ``doc``) into ConfigErrors."""
    if data is None:
        data = _at(doc.data, base)
    grouped: dict[Path_, list[str]] = {}
    for err in exc.errors():
        path = _clean_path(err["loc"], data)
        secret = doc.is_secret(base + path)
        msg = _message(err, model, data, secret)
        msgs = grouped.setdefault(path, [])
        if msg not in msgs:
            msgs.append(msg)
    out: list[ConfigError] = []
    for path, msgs in grouped.items():
        text = msgs[0] if len(msgs) == 1 else "; or ".join(msgs)
        out.append(doc.error(path, text, base=base))
    return out


def _at(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data
