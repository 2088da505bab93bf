"""Modbus endpoints: the connection a source URL names (TCP, RTU over TCP, or a serial line with its settings).

Sources whose endpoints have the same ``LinkSpec.key`` share one connection (see ``transport``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

_PARITY = {"N": "N", "E": "E", "O": "O", "none": "N", "even": "E", "odd": "O"}
_SCHEMES = ("tcp", "rtu+tcp", "rtu")


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """One physical connection: a TCP socket (Modbus or RTU framing) or a serial port, with its settings."""

    scheme: Literal["tcp", "rtu+tcp", "rtu"]
    host: str = ""
    port: int = 502
    device: str = ""
    baudrate: int = 19200
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8

    @property
    def key(self) -> tuple[str, str, int]:
        """What identifies the connection (sources with the same key share it)."""
        if self.scheme == "rtu":
            return ("rtu", self.device, 0)
        return (self.scheme, self.host.lower(), self.port)

    @property
    def is_serial(self) -> bool:
        """True for a local serial line."""
        return self.scheme == "rtu"

    @property
    def rtu_framing(self) -> bool:
        """True when frames carry a CRC and no transaction id (serial, and RTU over TCP)."""
        return self.scheme != "tcp"

    def url(self) -> str:
        """The endpoint as written in mappings (with serial settings for serial lines)."""
        if self.is_serial:
            return f"rtu://{self.device} ({self.baudrate} {self.bytesize}{self.parity}{self.stopbits})"
        return f"{self.scheme}://{self.host}:{self.port}"

    def target_base(self) -> str:
        """The WoT-style URI prefix of addresses on this link."""
        if self.is_serial:
            return f"modbus+rtu://{self.device}"
        return f"modbus+{self.scheme}://{self.host}:{self.port}"


def parse_url(url: str, cfg: Any) -> LinkSpec:
    """Parse a source URL plus the serial settings of ``cfg`` (a source config); on a TCP URL they are an error."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(f"url scheme must be one of {', '.join(s + '://' for s in _SCHEMES)} (got '{url}')")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"a Modbus url has no query, fragment or credentials (got '{url}')")
    serial = {k: getattr(cfg, k) for k in ("baudrate", "parity", "stopbits", "bytesize", "frame_gap")}
    if scheme == "rtu":
        device = (parts.netloc + parts.path).strip()
        if not device:
            raise ValueError("rtu:// needs a serial device, e.g. rtu:///dev/ttyUSB0 or rtu://COM3")
        return LinkSpec(
            "rtu",
            device=device,
            baudrate=cfg.baudrate or 19200,
            parity=_PARITY[cfg.parity or "N"],
            stopbits=cfg.stopbits or 1,
            bytesize=cfg.bytesize or 8,
        )
    given = [k for k, v in serial.items() if v is not None]
    if given:
        raise ValueError(f"{', '.join(given)}: only for serial (rtu://) sources")
    if not parts.hostname:
        raise ValueError(f"{scheme}:// needs a host, e.g. {scheme}://192.168.1.10:502 (got '{url}')")
    if parts.path not in ("", "/"):
        raise ValueError(f"a {scheme}:// url has no path (got '{url}'); unit ids go in `unit:`")
    try:
        port = parts.port or 502
    except ValueError:
        raise ValueError(f"invalid port in '{url}'") from None
    return LinkSpec(scheme, host=parts.hostname, port=port)  # type: ignore[arg-type]
