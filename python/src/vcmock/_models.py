"""Typed views of what the vcmock binary prints and what its admin API answers.

Each class reads the JSON the binary sends and keeps it as typed fields; none of them decides
anything about vCenter. Unknown fields are ignored, so a newer binary does not break them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

PowerState = Literal["POWERED_ON", "POWERED_OFF", "SUSPENDED"]
"""The power states `Server.power` can set (the admin API's names)."""

ClockMode = Literal["system", "manual"]
"""How the server's clock moves: with real time, or only through the admin API."""


def parse_time(text: str) -> datetime:
    """Parses an RFC 3339 time as the binary writes it (`2024-01-01T00:00:00.000Z`)."""
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _time_or_none(value: Any) -> datetime | None:
    return parse_time(value) if isinstance(value, str) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Ready:
    """The JSON line the binary prints on stdout once it accepts connections."""

    address: str
    """`HOST:PORT` it listens on (what the official SDK's `server=` takes)."""
    base_url: str
    """`https://HOST:PORT` (or `http://` with TLS off)."""
    username: str | None
    """The fixture's first administrator login, if it has one."""
    password: str | None
    """That administrator's password."""
    tls: bool
    """Whether it serves HTTPS."""
    certificate_path: str | None
    """Where the served certificate's PEM was written (None with TLS off)."""
    thumbprint_sha1: str | None
    """The certificate's SHA-1 thumbprint, colon-separated hex (None with TLS off)."""
    thumbprint_sha256: str | None
    """The certificate's SHA-256 thumbprint (None with TLS off)."""
    version: str
    """The binary's version."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ready:
        """Reads the ready line's object."""
        return cls(
            address=str(data["address"]),
            base_url=str(data["base_url"]),
            username=_str_or_none(data.get("username")),
            password=_str_or_none(data.get("password")),
            tls=bool(data.get("tls", False)),
            certificate_path=_str_or_none(data.get("certificate_path")),
            thumbprint_sha1=_str_or_none(data.get("thumbprint_sha1")),
            thumbprint_sha256=_str_or_none(data.get("thumbprint_sha256")),
            version=str(data.get("version", "")),
        )


@dataclass(frozen=True)
class Clock:
    """`GET /_mock/clock`: the clock's mode and the time it shows."""

    mode: str
    """`system` or `manual`."""
    now: datetime
    """The server's current time."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Clock:
        """Reads the admin API's clock object."""
        return cls(mode=str(data["mode"]), now=parse_time(str(data["now"])))


@dataclass(frozen=True)
class Counts:
    """The counters in `GET /_mock/info`."""

    vms: int
    """Registered VMs."""
    sessions: int
    """Live vCenter sessions."""
    transfers_live: int
    """Transfer URLs that can still be used."""
    journal_entries: int
    """Requests the journal holds."""
    fault_rules: int
    """Fault rules installed."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Counts:
        """Reads the `counts` object."""
        return cls(
            vms=int(data.get("vms", 0)),
            sessions=int(data.get("sessions", 0)),
            transfers_live=int(data.get("transfers_live", 0)),
            journal_entries=int(data.get("journal_entries", 0)),
            fault_rules=int(data.get("fault_rules", 0)),
        )


@dataclass(frozen=True)
class Info:
    """`GET /_mock/info`: what the running server is and holds."""

    version: str
    """The binary's version."""
    seed: int | None
    """The seed behind ids, tokens and random fault rules (pass it back to replay a run)."""
    clock: Clock
    """The clock's mode and time."""
    tls: bool
    """Whether it serves HTTPS."""
    transfer_host: str | None
    """What replaces `*` in transfer URLs, if set."""
    counts: Counts
    """VMs, sessions, live transfers, journal entries and fault rules."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Info:
        """Reads the admin API's info object."""
        return cls(
            version=str(data.get("version", "")),
            seed=_int_or_none(data.get("seed")),
            clock=Clock.from_json(data["clock"]),
            tls=bool(data.get("tls", False)),
            transfer_host=_str_or_none(data.get("transfer_host")),
            counts=Counts.from_json(data.get("counts", {})),
        )


@dataclass(frozen=True)
class JournalEntry:
    """One request as `GET /_mock/journal` reports it (never bodies, headers or secrets)."""

    seq: int
    """Sequence number, from 1."""
    time: datetime
    """When it arrived, by the server's clock."""
    method: str
    """HTTP method."""
    path: str
    """URL path, without the query."""
    operation: str
    """The operation name, e.g. `files.list` (the names fault rules match on)."""
    status: int
    """HTTP status answered."""
    duration_ms: float
    """How long the server took."""
    vm: str | None = None
    """The VM the request named."""
    guest_path: str | None = None
    """The guest path the request named."""
    error_type: str | None = None
    """vCenter's error type, for errors."""
    note: str | None = None
    """Why a transfer token was refused, or which fault rule fired."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JournalEntry:
        """Reads one journal entry."""
        return cls(
            seq=int(data["seq"]),
            time=parse_time(str(data["time"])),
            method=str(data["method"]),
            path=str(data["path"]),
            operation=str(data["operation"]),
            status=int(data["status"]),
            duration_ms=float(data.get("duration_ms", 0.0)),
            vm=_str_or_none(data.get("vm")),
            guest_path=_str_or_none(data.get("guest_path")),
            error_type=_str_or_none(data.get("error_type")),
            note=_str_or_none(data.get("note")),
        )

    def line(self) -> str:
        """One readable line: sequence, time, request, answer and what it named."""
        parts = [
            f"#{self.seq}",
            self.time.strftime("%H:%M:%S.%f")[:-3],
            f"{self.method} {self.path}",
            f"-> {self.status}",
        ]
        if self.error_type:
            parts.append(self.error_type)
        parts.append(f"[{self.operation}]")
        if self.vm:
            parts.append(f"vm={self.vm}")
        if self.guest_path:
            parts.append(f"path={self.guest_path}")
        if self.note:
            parts.append(f"({self.note})")
        parts.append(f"{self.duration_ms:.1f} ms")
        return " ".join(parts)


@dataclass(frozen=True)
class Transfer:
    """One transfer URL as `GET /_mock/transfers` reports it."""

    id: int
    """The transfer's id."""
    vm: str
    """The VM it belongs to."""
    path: str
    """The guest path it reads or writes."""
    direction: str
    """`download` or `upload`."""
    state: str
    """`issued`, `in_flight`, `redeemed`, `expired` or `revoked`."""
    created: datetime
    """When it was issued."""
    expires: datetime
    """When it stops being accepted."""
    ended: datetime | None = None
    """When it was redeemed, expired or revoked."""
    reason: str | None = None
    """Why it was revoked."""
    size: int | None = None
    """An upload's announced size."""
    guest_user: str | None = None
    """The guest user it acts as."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Transfer:
        """Reads one transfer."""
        return cls(
            id=int(data["id"]),
            vm=str(data["vm"]),
            path=str(data["path"]),
            direction=str(data["direction"]),
            state=str(data["state"]),
            created=parse_time(str(data["created"])),
            expires=parse_time(str(data["expires"])),
            ended=_time_or_none(data.get("ended")),
            reason=_str_or_none(data.get("reason")),
            size=_int_or_none(data.get("size")),
            guest_user=_str_or_none(data.get("guest_user")),
        )


@dataclass(frozen=True)
class Effect:
    """What a fault rule does when it fires: the `effect` object of `POST /_mock/faults`.

    Build one with the class methods (`Effect.error("RESOURCE_BUSY")`, `Effect.status(502)`,
    `Effect.delay(2000)`, ...); the server decides what each means.
    """

    kind: str
    """The effect's `kind`."""
    params: tuple[tuple[str, Any], ...] = ()
    """The effect's other fields."""

    @classmethod
    def error(cls, error_type: str, message: str | None = None) -> Effect:
        """Answer with a vAPI error of this type (the server picks vCenter's status for it)."""
        params: list[tuple[str, Any]] = [("error_type", error_type)]
        if message is not None:
            params.append(("message", message))
        return cls("error", tuple(params))

    @classmethod
    def status(cls, status: int, body: str | Mapping[str, Any] | None = None) -> Effect:
        """Answer with a raw HTTP status and an optional body (text, or JSON)."""
        params: list[tuple[str, Any]] = [("status", status)]
        if body is not None:
            params.append(("body", body if isinstance(body, str) else dict(body)))
        return cls("status", tuple(params))

    @classmethod
    def delay(cls, ms: int) -> Effect:
        """Wait this many milliseconds, then handle the request normally."""
        return cls("delay", (("ms", ms),))

    @classmethod
    def reset(cls) -> Effect:
        """Close the connection without answering."""
        return cls("reset")

    @classmethod
    def truncate(cls, after_bytes: int) -> Effect:
        """Cut a `/guestFile` download after this many bytes."""
        return cls("truncate", (("after_bytes", after_bytes),))

    @classmethod
    def slow(cls, bytes_per_second: int) -> Effect:
        """Stream `/guestFile` bodies at this rate."""
        return cls("slow", (("bytes_per_second", bytes_per_second),))

    def to_json(self) -> dict[str, Any]:
        """The effect as the admin API takes it."""
        return {"kind": self.kind, **dict(self.params)}


@dataclass(frozen=True)
class FaultRule:
    """A fault rule as `GET /_mock/faults` and `POST /_mock/faults` report it."""

    id: int
    """The rule's id (for `Server.remove_fault`)."""
    effect: dict[str, Any]
    """What it does, as the admin API reports it."""
    matched: int = 0
    """Requests that matched it."""
    fired: int = 0
    """Times it fired."""
    operation: str | None = None
    """The operation name it matches."""
    vm: str | None = None
    """The VM it matches."""
    path: str | None = None
    """The regular expression on the guest path it matches."""
    method: str | None = None
    """The HTTP method it matches."""
    times: int | None = None
    """How many times it fires at most."""
    after: int = 0
    """How many matching requests it lets through first."""
    probability: float | None = None
    """The chance it fires on a match."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields this version of the package does not know."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultRule:
        """Reads one fault rule."""
        known = {
            "id", "effect", "matched", "fired", "operation", "vm", "path", "method",
            "times", "after", "probability",
        }  # fmt: skip
        probability = data.get("probability")
        return cls(
            id=int(data["id"]),
            effect=dict(data.get("effect") or {}),
            matched=int(data.get("matched", 0)),
            fired=int(data.get("fired", 0)),
            operation=_str_or_none(data.get("operation")),
            vm=_str_or_none(data.get("vm")),
            path=_str_or_none(data.get("path")),
            method=_str_or_none(data.get("method")),
            times=_int_or_none(data.get("times")),
            after=int(data.get("after") or 0),
            probability=float(probability) if isinstance(probability, (int, float)) else None,
            extra={k: v for k, v in data.items() if k not in known},
        )
