"""The one role vocabulary of the northbound services: reader < operator < admin, for HTTP and OPC UA alike.

- reader: reads values, the model and SPARQL; subscribes.
- operator: also writes values to devices (REST ``PUT /points/{id}/value``, OPC UA Write).
- admin: everything an operator may; the rank that administration (reload, annotations) will require.

``viewer``, the OPC UA server's former name for reader, is still accepted in ``gateway.opcua.users`` (with a
warning) so existing mappings keep loading; write ``reader`` instead.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

log = logging.getLogger("twinbridge.roles")

RoleName = Literal["reader", "operator", "admin"]
_RANK: dict[str, int] = {"reader": 0, "operator": 1, "admin": 2}
DEPRECATED = {"viewer": "reader"}


def allows(role: str, needed: str) -> bool:
    """Whether ``role`` has at least the rights of ``needed``."""
    return _RANK[role] >= _RANK[needed]


def _accept_deprecated(value: Any) -> Any:
    if isinstance(value, str) and value in DEPRECATED:
        log.warning("role %r is deprecated; write %r (same rights)", value, DEPRECATED[value])
        return DEPRECATED[value]
    return value


Role = Annotated[RoleName, BeforeValidator(_accept_deprecated)]
"""A role in a mapping: reader, operator or admin (``viewer`` read as reader, with a deprecation warning)."""
