"""Settings of a ``modbus`` source (one device, or one unit id behind a shared link) and of each point's address.

Addresses are zero-based protocol addresses unless the point says otherwise: ``addressing: one_based`` for
manuals that count from 1, or ``addressing: modicon`` for the 0xxxx/1xxxx/3xxxx/4xxxx reference numbers
(40001 = holding register 0). A number that looks like a Modicon reference without ``addressing`` is refused as
ambiguous rather than guessed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Literal, Self

from pydantic import Field, PrivateAttr, field_validator, model_validator

from adapters.contract.config import Address, SourceConfig, StrictModel
from adapters.contract.rdf import IRI, MODV, TB, XSD
from adapters.contract.types import Duration
from adapters.modbus.codec import BIT_ENCODINGS, ByteOrder, Encoding, ValueSpec, register_count
from adapters.modbus.endpoint import LinkSpec, parse_url


class Table(enum.StrEnum):
    """The four Modbus data tables."""

    COIL = "coil"
    DISCRETE_INPUT = "discrete_input"
    HOLDING = "holding"
    INPUT = "input"


@dataclass(frozen=True, slots=True)
class TableInfo:
    """Protocol facts of one table."""

    is_bit: bool
    writable: bool
    read_fc: int
    single_write_fc: int | None
    multi_write_fc: int | None
    modicon_digit: int  # leading digit of its Modicon reference numbers
    entity: str  # W3C WoT Modbus entity
    read_function: str  # W3C WoT Modbus function names
    single_write_function: str | None
    multi_write_function: str | None


TABLES: dict[Table, TableInfo] = {
    Table.COIL: TableInfo(True, True, 1, 5, 15, 0, "Coil", "readCoil", "writeSingleCoil", "writeMultipleCoils"),
    Table.DISCRETE_INPUT: TableInfo(True, False, 2, None, None, 1, "DiscreteInput", "readDiscreteInput", None, None),
    Table.HOLDING: TableInfo(
        False,
        True,
        3,
        6,
        16,
        4,
        "HoldingRegister",
        "readHoldingRegisters",
        "writeSingleHoldingRegister",
        "writeMultipleHoldingRegisters",
    ),
    Table.INPUT: TableInfo(False, False, 4, None, None, 3, "InputRegister", "readInputRegisters", None, None),
}
_BY_DIGIT = {info.modicon_digit: t for t, info in TABLES.items()}

_PAYLOAD_XSD: dict[Encoding, str] = {
    Encoding.BOOL: "boolean",
    Encoding.BIT: "boolean",
    Encoding.INT16: "short",
    Encoding.UINT16: "unsignedShort",
    Encoding.INT32: "int",
    Encoding.UINT32: "unsignedInt",
    Encoding.INT64: "long",
    Encoding.UINT64: "unsignedLong",
    Encoding.FLOAT32: "float",
    Encoding.FLOAT64: "double",
    Encoding.STRING: "string",
}


class Addressing(enum.StrEnum):
    """How the ``address`` of a point is written."""

    ZERO_BASED = "zero_based"  # the protocol address (what goes on the wire)
    ONE_BASED = "one_based"  # register numbers counted from 1 (address - 1 on the wire)
    MODICON = "modicon"  # 0xxxx coils, 1xxxx discrete inputs, 3xxxx input and 4xxxx holding registers


def parse_modicon(ref: int | str) -> tuple[Table, int]:
    """(table, zero-based address) of a Modicon reference: 40001 -> holding 0, "000017" -> coil 16."""
    text = str(ref).strip()
    if not text.isdigit():
        raise ValueError(f"'{ref}' is not a Modicon reference number (digits only, e.g. 40001 or 400001)")
    if isinstance(ref, str) and len(text) in (5, 6):
        digit, number = int(text[0]), int(text[1:])
    else:
        n = int(text)
        if 1 <= n <= 9999:  # coils lose their leading zeros in YAML integers
            digit, number = 0, n
        elif 10001 <= n <= 49999:
            digit, number = n // 10000, n % 10000
        elif 100001 <= n <= 465536:
            digit, number = n // 100000, n % 100000
        else:
            raise ValueError(
                f"{ref} is not a Modicon reference (1-9999 coils, 1xxxx/3xxxx/4xxxx in 5 digits, or 6 digits up to "
                "465536; quote coils with leading zeros, e.g. '000017')"
            )
    if digit not in _BY_DIGIT:
        raise ValueError(f"{ref}: Modicon references start with 0, 1, 3 or 4 (coil, discrete input, input, holding)")
    if number > 65536:
        raise ValueError(f"{ref}: a Modicon reference numbers at most 65536 registers per table")
    if number < 1:
        raise ValueError(f"{ref}: Modicon references count from 1 (e.g. 40001 is the first holding register)")
    return _BY_DIGIT[digit], number - 1


def _looks_modicon(table: Table, n: int) -> bool:
    digit = TABLES[table].modicon_digit
    return digit != 0 and (digit * 10000 + 1 <= n <= digit * 10000 + 9999 or digit * 100000 + 1 <= n <= 465536)


class ModbusAddress(Address):
    """Where one point lives in a Modbus device and how its value is encoded."""

    ref_class = TB + "ModbusReference"

    table: Table | None = Field(None, description="coil, discrete_input, holding or input (implied by modicon)")
    address: int | str = Field(description="register/bit address, read as `addressing` says")
    addressing: Addressing | None = Field(
        None, description="zero_based (the default), one_based or modicon; required for Modicon-looking numbers"
    )
    unit: int | None = Field(None, ge=0, le=255, description="unit (slave) id; defaults to the source's")
    encoding: Encoding | None = Field(None, description="value encoding; bool on bit tables, from datatype else")
    byte_order: ByteOrder | None = Field(None, description="ABCD, CDAB, BADC or DCBA; defaults to the source's")
    bit: int | None = Field(None, ge=0, le=15, description="encoding bit: bit of the register, 0 = LSB")
    length: int | None = Field(None, ge=1, le=250, description="encoding string: bytes (two per register)")
    poll_interval: Duration | None = Field(None, gt=0, description="overrides the source's poll_interval")
    timeout: Duration | None = Field(None, gt=0, description="overrides the source's timeout for its requests")
    retries: int | None = Field(None, ge=0, le=10, description="overrides the source's retries")
    write_mode: Literal["single", "multiple"] | None = Field(
        None, description="force FC5/6 (single) or FC15/16 (multiple) for writes; auto by size otherwise"
    )
    overlap: bool = Field(False, description="allow this point's registers to partly overlap another point's")

    _table: Table = PrivateAttr(Table.HOLDING)
    _start: int = PrivateAttr(0)

    @field_validator("address")
    @classmethod
    def _address_type(cls, v: int | str) -> int | str:
        if isinstance(v, str) and not v.strip().isdigit():
            raise ValueError(f"'{v}' is not an address (a number, or a quoted Modicon number such as '000017')")
        return v

    @model_validator(mode="after")
    def _resolve(self) -> Self:
        table, start = self._parse_location()
        if self.encoding is not None:
            if TABLES[table].is_bit and self.encoding is not Encoding.BOOL:
                raise ValueError(f"{table.value} points hold one bit: encoding must be bool (got {self.encoding})")
            if self.encoding is Encoding.BIT and self.bit is None:
                raise ValueError("encoding bit needs `bit:` (0 = least significant bit of the register)")
            if self.encoding is Encoding.STRING and self.length is None:
                raise ValueError("encoding string needs `length:` (bytes, two per register)")
        if self.bit is not None and self.encoding is not Encoding.BIT:
            raise ValueError("`bit:` only applies to encoding: bit")
        if self.length is not None and self.encoding is not Encoding.STRING:
            raise ValueError("`length:` only applies to encoding: string")
        if TABLES[table].is_bit and self.byte_order is not None:
            raise ValueError(f"byte_order does not apply to {table.value} points (single bits)")
        count = 1 if TABLES[table].is_bit else register_count(self.encoding or Encoding.UINT16, self.length)
        if start + count - 1 > 65535:
            raise ValueError(f"address {start} + {count} registers runs past the last address (65535)")
        self._table, self._start = table, start
        return self

    def _parse_location(self) -> tuple[Table, int]:
        raw = self.address
        mode = self.addressing
        if mode is Addressing.MODICON:
            table, start = parse_modicon(raw)
            if self.table is not None and self.table is not table:
                raise ValueError(f"{raw} is a Modicon {table.value} reference but table is {self.table.value}")
            return table, start
        if isinstance(raw, str):
            raise ValueError("a quoted address is only for Modicon references (addressing: modicon)")
        if self.table is None:
            raise ValueError("table is required (coil, discrete_input, holding or input) unless addressing: modicon")
        if mode is None and _looks_modicon(self.table, raw):
            digit = TABLES[self.table].modicon_digit
            raise ValueError(
                f"address {raw} looks like a Modicon reference ({digit}xxxx); say addressing: modicon if it is one "
                f"(the manual's register {raw}), or addressing: zero_based if {raw} is the protocol address"
            )
        if mode is Addressing.ONE_BASED:
            if not 1 <= raw <= 65536:
                raise ValueError(f"one-based addresses run from 1 to 65536 (got {raw})")
            return self.table, raw - 1
        if not 0 <= raw <= 65535:
            raise ValueError(f"addresses run from 0 to 65535 (got {raw})")
        return self.table, raw

    # -- resolved view ----------------------------------------------------------------------------------------
    @property
    def kind(self) -> Table:
        """The table, resolved from ``table`` or the Modicon reference."""
        return self._table

    @property
    def start(self) -> int:
        """The zero-based protocol address."""
        return self._start

    @property
    def is_bit_table(self) -> bool:
        """True for coils and discrete inputs."""
        return TABLES[self._table].is_bit

    def count(self, encoding: Encoding | None = None) -> int:
        """Registers (or bits) read for this point."""
        if self.is_bit_table:
            return 1
        return register_count(encoding or self.encoding or Encoding.UINT16, self.length)

    def spec(self, encoding: Encoding, order: ByteOrder) -> ValueSpec:
        """The codec's view of this point."""
        return ValueSpec(encoding, self.byte_order or order, self.bit, self.length)

    # -- Address interface --------------------------------------------------------------------------------------
    def writable(self) -> bool:
        """Coils and holding registers can be written; discrete inputs and input registers cannot."""
        return TABLES[self._table].writable

    def key(self) -> str | None:
        """Unit (when set), table, first address and extent."""
        unit = "-" if self.unit is None else str(self.unit)
        return f"{unit}/{self._table.value}/{self._start}+{self.count()}"

    def with_offset(self, offset: int) -> Self:
        """The same point ``offset`` addresses further (written back as a zero-based address)."""
        data = self.model_dump(exclude_none=True, exclude_defaults=True)
        data.update(table=self._table, address=self._start + offset, addressing=Addressing.ZERO_BASED)
        return type(self).model_validate(data)

    def rdf(self) -> list[tuple[str, Any]]:
        """W3C WoT Modbus terms (entity, functions, address, quantity, unit id, byte/word order) plus tb: extras."""
        info = TABLES[self._table]
        out: list[tuple[str, Any]] = [
            (MODV + "hasEntity", IRI(MODV + info.entity)),
            (MODV + "hasFunction", IRI(MODV + info.read_function)),
            (MODV + "hasAddress", self._start),
            (MODV + "hasQuantity", self.count()),
            (MODV + "hasZeroBasedAddressingFlag", True),
            (TB + "table", self._table.value),
            (TB + "address", self._start),
        ]
        if info.writable:
            single, multi = info.single_write_function, info.multi_write_function
            uses_single = self.write_mode == "single" or (self.write_mode is None and self.count() == 1)
            out.append((MODV + "hasFunction", IRI(MODV + str(single if uses_single else multi))))
        if self.unit is not None:
            out += [(MODV + "hasUnitID", self.unit), (TB + "unitId", self.unit)]
        if self.addressing is not None and self.addressing is not Addressing.ZERO_BASED:
            out.append((TB + "modbusReference", str(self.address)))
        if self.encoding is not None:
            out += [
                (TB + "encoding", self.encoding.value),
                (MODV + "hasPayloadDataType", IRI(XSD + _PAYLOAD_XSD[self.encoding])),
            ]
        if self.byte_order is not None:
            out += [
                (TB + "byteOrder", self.byte_order.value),
                (MODV + "hasMostSignificantByte", not self.byte_order.swap_bytes),
                (MODV + "hasMostSignificantWord", not self.byte_order.swap_words),
            ]
        if self.bit is not None:
            out.append((TB + "bit", self.bit))
        if self.length is not None:
            out.append((TB + "length", self.length))
        if self.poll_interval is not None:
            out.append((MODV + "hasPollingTime", round(self.poll_interval * 1000)))
        if self.timeout is not None:
            out.append((MODV + "hasTimeout", round(self.timeout * 1000)))
        return out

    def target(self, source: SourceConfig) -> str | None:
        """``modbus+tcp://host:port/<unit>/<address>?quantity=<n>`` (W3C WoT Modbus binding form)."""
        if not isinstance(source, ModbusSourceConfig):
            return None
        unit = source.unit if self.unit is None else self.unit
        return f"{source.link.target_base()}/{unit}/{self._start}?quantity={self.count()}"


class Hole(StrictModel):
    """Addresses a device does not implement: block reads never span them."""

    table: Table
    start: int = Field(ge=0, le=65535, description="first zero-based address of the hole")
    end: int = Field(ge=0, le=65535, description="last zero-based address of the hole (inclusive)")
    unit: int | None = Field(None, ge=0, le=255, description="only for this unit id (all units when absent)")

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class ModbusSourceConfig(SourceConfig):
    """A Modbus device: where it is connected, its default unit id, timing and data conventions."""

    kind: Literal["modbus"] = "modbus"
    url: str = Field(description="tcp://host[:502], rtu+tcp://host:port (RTU framing over TCP) or rtu:///dev/ttyUSB0")
    unit: int = Field(1, ge=0, le=255, description="default unit (slave) id of this source's points")
    poll_interval: Duration = Field(1.0, gt=0, description="how often every point is read")
    timeout: Duration = Field(1.0, gt=0, description="how long to wait for each response")
    retries: int = Field(1, ge=0, le=10, description="extra attempts after a request times out")
    connect_timeout: Duration = Field(3.0, gt=0, description="how long opening the connection may take")
    byte_order: ByteOrder = Field(ByteOrder.ABCD, description="default byte/word order of multi-byte values")
    max_registers: int = Field(125, ge=1, le=125, description="largest register read (some devices take fewer)")
    max_bits: int = Field(2000, ge=1, le=2000, description="largest coil/discrete-input read")
    max_gap: int = Field(10, ge=0, le=124, description="unused registers a block read may span to join two points")
    max_bit_gap: int = Field(64, ge=0, le=1999, description="unused bits a block read may span")
    holes: list[Hole] = Field([], description="address ranges the device lacks; block reads never span them")
    write_mode: Literal["auto", "single", "multiple"] = Field(
        "auto", description="auto: FC5/6 for one coil/register, FC15/16 for more; single or multiple to force"
    )
    reconnect_after_timeouts: int = Field(
        3, ge=0, description="TCP: drop and reconnect after this many unanswered requests in a row (0: never)"
    )
    frame_gap: Duration | None = Field(None, description="serial: pause between requests (default 3.5 characters)")
    baudrate: int | None = Field(None, gt=0, description="serial: bits per second (default 19200)")
    parity: Literal["N", "E", "O", "none", "even", "odd"] | None = Field(None, description="serial (default N)")
    stopbits: Literal[1, 2] | None = Field(None, description="serial (default 1)")
    bytesize: Literal[7, 8] | None = Field(None, description="serial (default 8)")

    _link: LinkSpec = PrivateAttr()

    @model_validator(mode="after")
    def _parse_url(self) -> Self:
        self._link = parse_url(self.url, self)
        return self

    @property
    def link(self) -> LinkSpec:
        """The parsed connection settings."""
        return self._link

    def endpoint(self) -> str:
        """Where the source connects (no credentials exist in Modbus URLs)."""
        return self._link.url()


def default_encoding(is_bit: bool, datatype: str) -> Encoding | None:
    """The encoding a point gets when its address names none (None: it must be explicit)."""
    if is_bit:
        return Encoding.BOOL
    return {
        "int16": Encoding.INT16,
        "uint16": Encoding.UINT16,
        "int32": Encoding.INT32,
        "uint32": Encoding.UINT32,
        "int64": Encoding.INT64,
        "uint64": Encoding.UINT64,
    }.get(datatype)


__all__ = ["BIT_ENCODINGS", "TABLES", "Addressing", "Hole", "LinkSpec", "ModbusAddress", "ModbusSourceConfig", "Table"]
