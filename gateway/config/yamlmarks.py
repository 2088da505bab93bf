"""YAML loading that remembers where every node was written and fills in ``${VAR}`` from the environment.

PyYAML's ``compose()`` keeps ``start_mark`` on every node; we turn the node tree into plain data plus an
index from the data path (``("sources", 0, "kind")``) to its position, so pydantic errors can be reported
as ``file:line:col``. Values interpolated from the environment are remembered so they are never echoed back.
An unset ``${VAR}`` becomes a placeholder recorded in ``Marked.unset`` (gateway/config/envvars.py reports it
once and keeps errors that only follow from the placeholder out of the report).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from gateway.config.errors import ConfigError

Path_ = tuple[str | int, ...]

_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE_LOADER):  # type: ignore[misc, valid-type, unused-ignore]
    """The C loader with a memoized tag resolver: plain scalars repeat (keys, units, kinds), and PyYAML's
    Python-level regex resolution was half of the load time of a 10,000-point mapping."""

    _cache: dict[tuple[Any, str, Any], str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and isinstance(value, str) and len(value) < 64:
            key = (kind, value, implicit)
            tag = self._cache.get(key)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(self._cache) < 50_000:
                    self._cache[key] = tag
            return tag
        return super().resolve(kind, value, implicit)


_LOADER = _Loader
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


# Tried in this order where an unset ${VAR} stands, until the value is accepted there (envvars.py); the
# first is what the document holds after loading. ".invalid" names never resolve.
PLACEHOLDERS = (
    "unset-placeholder",
    "1",
    "1.5",
    "true",
    "tcp://unset.invalid:502",
    "opc.tcp://unset.invalid:4840",
    "mqtt://unset.invalid:1883",
    "http://unset.invalid",
)


@dataclass(frozen=True, slots=True)
class Unset:
    """A scalar with unset ``${VAR}``s: its set parts filled in, each unset one replaced by ``\\0``."""

    names: tuple[str, ...]
    filled: str
    plain: bool
    line: int
    col: int

    def render(self, placeholder: str) -> Any:
        """The value with ``placeholder`` for each unset variable, typed like a literal if the scalar is plain."""
        text = self.filled.replace("\0", placeholder)
        return _typed(text) if self.plain else text


@dataclass
class Marked:
    """A YAML document as plain data plus the position of every key and value."""

    file: str
    data: Any
    value_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    secret_paths: set[Path_] = field(default_factory=set)
    unset: dict[Path_, Unset] = field(default_factory=dict)

    def mark(self, path: Path_, *, prefer_key: bool = True) -> tuple[int, int]:
        """Line and column of the nearest marked node on ``path`` (1-based)."""
        for n in range(len(path), -1, -1):
            sub = path[:n]
            if prefer_key and sub in self.key_marks:
                return self.key_marks[sub]
            if sub in self.value_marks:
                return self.value_marks[sub]
        return (1, 1)

    def error(self, path: Path_, message: str, *, base: Path_ = ()) -> ConfigError:
        """A ConfigError located at ``base + path``."""
        full = base + path
        line, col = self.mark(full)
        return ConfigError(self.file, line, col, dotted(full), message)

    def is_secret(self, path: Path_) -> bool:
        """True if the value at ``path`` came from an environment variable."""
        return path in self.secret_paths


def dotted(path: Path_) -> str:
    """Render a data path as ``sources[0].kind``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_yaml(
    file: str, text: str | None = None, env: Mapping[str, str] | None = None, *, report_unset: bool = True
) -> tuple[Marked, list[ConfigError]]:
    """Parse one YAML file; return the marked document and any errors (syntax, duplicate keys, unset variables).

    With ``report_unset=False`` unset variables are only recorded in ``Marked.unset`` for the caller to report.
    """
    env = os.environ if env is None else env
    errors: list[ConfigError] = []
    if text is None:
        try:
            with open(file, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            return Marked(file, None), [ConfigError(file, 0, 0, "", f"cannot read file: {exc.strerror}")]
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        msg = f"YAML syntax error: {exc.problem or exc.context}"
        return Marked(file, None), [ConfigError(file, line, col, "", msg)]
    except yaml.YAMLError as exc:
        return Marked(file, None), [ConfigError(file, 0, 0, "", f"YAML error: {exc}")]
    doc = Marked(file, None)
    if node is not None:
        doc.data = _build(node, (), doc, env, errors)
    if report_unset:
        for path, u in doc.unset.items():
            msg = f"environment variable {', '.join(u.names)} is not set"
            errors.append(ConfigError(doc.file, u.line, u.col, dotted(path), msg))
    return doc, errors


def _pos(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


_constructor = yaml.SafeLoader("")  # used only for its scalar constructors and resolver


def _build(node: yaml.Node, path: Path_, doc: Marked, env: Mapping[str, str], errors: list[ConfigError]) -> Any:
    doc.value_marks[path] = _pos(node)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                line, col = _pos(key_node)
                errors.append(ConfigError(doc.file, line, col, dotted(path), "YAML merge keys (<<) are not supported"))
                continue
            key = _constructor.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                line, col = _pos(key_node)
                errors.append(ConfigError(doc.file, line, col, dotted(path), "mapping keys must be plain scalars"))
                continue
            key = str(key)
            sub = (*path, key)
            if key in out:
                line, col = _pos(key_node)
                first = doc.key_marks[sub][0]
                errors.append(
                    ConfigError(
                        doc.file, line, col, dotted(sub), f"duplicate key '{key}' (first written on line {first})"
                    )
                )
                continue
            doc.key_marks[sub] = _pos(key_node)
            out[key] = _build(value_node, sub, doc, env, errors)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, env, errors) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    if node.tag == "tag:yaml.org,2002:str" and "${" in node.value:
        return _interpolate(node, path, doc, env, errors)
    try:
        return _constructor.construct_object(node, deep=True)
    except ValueError:
        # a plain scalar shaped like a date that is none (2019-13-01): its text, for the key's own check to judge
        return node.value


def _interpolate(
    node: yaml.ScalarNode, path: Path_, doc: Marked, env: Mapping[str, str], errors: list[ConfigError]
) -> Any:
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        missing.append(name)
        return "\0"

    value = _ENV.sub(sub, node.value)
    doc.secret_paths.add(path)
    plain = not node.style
    if missing:
        line, col = _pos(node)
        doc.unset[path] = Unset(tuple(dict.fromkeys(missing)), value, plain, line, col)
        return doc.unset[path].render(PLACEHOLDERS[0])
    # a plain scalar: "${PORT}" should become the int 502, like a literal would
    return _typed(value) if plain else value


def _typed(text: str) -> Any:
    """A plain scalar's text as YAML would type it (int, float, bool, null or str)."""
    tag = _constructor.resolve(yaml.ScalarNode, text, (True, False))
    return _constructor.construct_object(yaml.ScalarNode(tag, text), deep=True)
