"""Device profiles: a device's point list written once under ``profiles/`` and instantiated per asset.

An instance (an asset with ``profile:``) supplies its source, keys merged into every point's address
(``address:``), an ``address_offset`` for devices mapped at a different base register, and ``vars`` that
fill ``{name}`` placeholders in the profile's strings (``{asset}`` is always the instance's id).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.config.errors import ConfigError
from gateway.config.models import ProfileFile
from gateway.config.validation import pydantic_errors
from gateway.config.yamlmarks import Marked, load_yaml

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class Profile:
    """A loaded, validated profile and the document it came from (for error positions)."""

    spec: ProfileFile
    doc: Marked

    @property
    def name(self) -> str:
        """The profile's name."""
        return self.spec.profile


def builtin_profile_dir() -> Path:
    """The profiles shipped with twinbridge (``mappings/profiles``)."""
    return Path(str(resources.files("mappings"))) / "profiles"


@dataclass
class ProfileLibrary:
    """Finds profiles by name in a list of directories; the first directory that has one wins."""

    dirs: list[Path] = field(default_factory=list)
    _cache: dict[str, Profile | None] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)

    def add_dir(self, path: Path) -> None:
        """Search ``path`` too (after the directories already known)."""
        path = path.resolve()
        if path not in self.dirs:
            self.dirs.append(path)

    def candidates(self) -> list[str]:
        """Names of every profile on the search path."""
        names: set[str] = set()
        for d in self.dirs:
            if d.is_dir():
                names.update(p.stem for p in d.glob("*.yaml"))
                names.update(p.stem for p in d.glob("*.yml"))
        return sorted(names)

    def get(self, name: str) -> Profile | None:
        """The profile called ``name`` (the file stem), or None; file errors are collected in ``errors``."""
        if name in self._cache:
            return self._cache[name]
        found: Profile | None = None
        for d in self.dirs:
            for ext in (".yaml", ".yml"):
                path = d / f"{name}{ext}"
                if path.is_file():
                    found = self._load(path, name)
                    break
            if found is not None or any((d / f"{name}{e}").is_file() for e in (".yaml", ".yml")):
                break
        self._cache[name] = found
        return found

    def _load(self, path: Path, name: str) -> Profile | None:
        doc, errors = load_yaml(str(path))
        self.errors.extend(errors)
        if errors or doc.data is None:
            return None
        try:
            spec = ProfileFile.model_validate(doc.data)
        except ValidationError as exc:
            self.errors.extend(pydantic_errors(exc, doc))
            return None
        if spec.profile != name:
            self.errors.append(
                doc.error(("profile",), f"profile name '{spec.profile}' must match the file name '{name}'")
            )
            return None
        return Profile(spec, doc)


class ProfileView:
    """The read-only profile catalog adapters get (``adapters.contract.adapter.ProfileCatalog``): names and
    profiles as written, never the library itself."""

    def __init__(self, library: ProfileLibrary) -> None:
        self._library = library

    def names(self) -> list[str]:
        """Names of every profile on the search path."""
        return self._library.candidates()

    def get(self, name: str) -> Mapping[str, Any] | None:
        """The profile called ``name`` as written (a copy), or None when missing or invalid."""
        prof = self._library.get(name)
        return None if prof is None else copy.deepcopy(prof.doc.data)


def substitute(
    value: Any, variables: Mapping[str, Any], runtime: Collection[str] = frozenset()
) -> tuple[Any, set[str]]:
    """Fill ``{name}`` placeholders in every string of ``value``; return the result and unknown names.

    ``runtime`` names placeholders the adapters fill later, when a value is written or a message arrives
    (``Adapter.profile_placeholders``, e.g. MQTT command payload templates): left as they are, not unknown.
    """
    unknown: set[str] = set()

    def fill(text: str) -> Any:
        def repl(m: re.Match[str]) -> str:
            key = m.group(1)
            if key in variables:
                return str(variables[key])
            if key not in runtime:
                unknown.add(key)
            return m.group(0)

        whole = _PLACEHOLDER.fullmatch(text)
        if whole and whole.group(1) in variables:  # keep the variable's type: "{unit}" -> 3, not "3"
            return variables[whole.group(1)]
        return _PLACEHOLDER.sub(repl, text)

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return fill(v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value), unknown


def merged_address(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge address dicts, later layers winning."""
    out: dict[str, Any] = {}
    for layer in layers:
        if layer:
            out.update(layer)
    return out


def placeholders(values: Iterable[Any]) -> set[str]:
    """Every ``{name}`` used in the given (nested) values."""
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, str):
            found.update(_PLACEHOLDER.findall(v))
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    for v in values:
        walk(v)
    return found
