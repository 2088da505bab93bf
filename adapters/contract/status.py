"""OPC UA status names: the one table adapters and the core share, and the one error that carries a status.

Every fault in twinbridge travels as an OPC UA status name ("BadTimeout") plus a reason for people, so the
OPC UA server can pass it on unchanged and REST shows the same words. The table is OPC UA's own (the
StatusCode list asyncua ships, from the specification's StatusCode.csv), loaded on first use.
"""

from __future__ import annotations

import functools

# What a write to a source whose connection is down answers, in every adapter and in the supervisor.
# OPC UA defines BadNoCommunication as "communication with the data source is defined, but not established";
# BadNotConnected means a variable never configured to take its value from another one, and
# BadCommunicationError a low-level failure during an exchange that was attempted.
NO_COMMUNICATION = "BadNoCommunication"

_CLASSES = ("Good", "Uncertain", "Bad")


class StatusError(Exception):
    """Base of the errors that carry an OPC UA status name and a reason (adapter faults, refused writes...)."""

    status: str = "Bad"

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def quality_class(name: str) -> str:
    """The class of a status name: "Good", "Uncertain" or "Bad" (an unknown prefix counts as Bad)."""
    for cls in _CLASSES:
        if name.startswith(cls):
            return cls
    return "Bad"


def looks_like_status(text: str) -> bool:
    """Whether ``text`` is spelled like a status name (Good, BadSensorFailure...), known to the table or not."""
    return text.startswith(_CLASSES) and text.isidentifier()


@functools.cache
def _codes() -> dict[str, int]:
    from asyncua.ua.status_codes import StatusCodes  # the table; imported on first use (asyncua is heavy)

    return {n: v for n, v in vars(StatusCodes).items() if not n.startswith("_") and isinstance(v, int)}


def _name_and_doc(code: int) -> tuple[str, str]:
    from asyncua.ua.status_codes import get_name_and_doc

    return get_name_and_doc(code)


def status_code(name: str) -> int | None:
    """The numeric StatusCode of a status name, or None when OPC UA does not define the name."""
    return _codes().get(name)


_CLASS_CODES = {"Good": 0, "Uncertain": 0x40000000, "Bad": 0x80000000}
_NUMBERS: dict[str, int] = {"Good": 0}  # filled by number_of; names are a small vocabulary


def number_of(name: str) -> int:
    """The numeric StatusCode of a status name; a name OPC UA does not define gets its class's code (cached)."""
    code = _NUMBERS.get(name)
    if code is None:
        known = status_code(name)
        code = known if known is not None else _CLASS_CODES[quality_class(name)]
        if len(_NUMBERS) < 4096:  # odd names from devices must not grow it without bound
            _NUMBERS[name] = code
    return code


def status_name(code: int) -> str:
    """The OPC UA name of a status code ("BadSensorFailure"); info bits (limits, overflow) are ignored."""
    base = code & 0xFFFF0000
    if base == 0:
        return "Good"
    name, _ = _name_and_doc(base)
    if name and not name.startswith("Unknown"):
        return name
    return ("Good", "Uncertain", "Bad", "Bad")[code >> 30] + f"_0x{base:08X}"


@functools.lru_cache(maxsize=256)
def status_doc(code: int) -> str | None:
    """The OPC UA description of a status code ("There has been a failure in the sensor..."), if known."""
    if code & 0xFFFF0000 == 0:
        return None
    _, doc = _name_and_doc(code & 0xFFFF0000)
    return doc or None
