"""How a server is started: the options, and the binary's flags they become.

Each option is one documented flag of `vcmock serve`; an option left at None leaves the flag
out, so the binary's own default (or its `VCMOCK_*` environment variable) applies.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone
from typing import Any

StrPath = str | os.PathLike[str]
"""A file system path, as text or a path object."""


def _paths(value: StrPath | Iterable[StrPath] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, os.PathLike)):
        return (os.fspath(value),)
    return tuple(os.fspath(v) for v in value)


def _names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _time_text(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def _switch(value: bool | str) -> bool:
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in ("on", "true", "yes", "1"):
        return True
    if lowered in ("off", "false", "no", "0"):
        return False
    raise ValueError(f"expected on or off, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Options:
    """Everything `vcmock.server()` and the pytest plugin can start a server with.

    Options are values (frozen and hashable): the pytest plugin shares one server between the
    tests that ask for equal options.
    """

    fixtures: tuple[str, ...] = ()
    """Fixture files or directories (`--fixtures`); empty means the built-in fixture."""
    seed: int | None = None
    """Seed for ids, tokens, temporary names and random faults (`--seed`); None is random."""
    clock: str | None = None
    """`system` or `manual` (`--clock`)."""
    clock_start: str | None = None
    """Where a manual clock starts, RFC 3339 (`--clock-start`)."""
    tls: bool = True
    """Serve HTTPS (`--tls on`) or plain HTTP (`--tls off`)."""
    tls_cert: str | None = None
    """A PEM certificate to serve instead of a generated one (`--tls-cert`)."""
    tls_key: str | None = None
    """The PEM key for `tls_cert` (`--tls-key`)."""
    tls_san: tuple[str, ...] = ()
    """Extra names or addresses for the generated certificate (`--tls-san`)."""
    transfer_host: str | None = None
    """What replaces `*` in transfer URLs (`--transfer-host`)."""
    admin_token: str | None = None
    """Require this bearer token on the admin API (`--admin-token`); the API here sends it."""
    session_idle_timeout: int | None = None
    """Seconds an unused session lives (`--session-idle-timeout`)."""
    max_sessions: int | None = None
    """Most sessions kept (`--max-sessions`)."""
    journal_size: int | None = None
    """Requests the journal keeps (`--journal-size`)."""
    body_limit: int | None = None
    """Largest JSON request body in bytes (`--body-limit`)."""
    spill_threshold: int | None = None
    """Uploads larger than this go to a temporary file (`--spill-threshold`)."""
    log: str | None = None
    """Log format on stderr, `pretty` or `json` (`--log`)."""
    log_level: str | None = None
    """Log level or filter (`--log-level`)."""
    listen: str = "127.0.0.1:0"
    """Address to listen on (`--listen`); port 0 picks a free port."""
    extra_args: tuple[str, ...] = ()
    """More flags, passed as they are (for flags newer than this package)."""
    binary: str | None = None
    """The vcmock executable; None finds the one installed with this package."""
    startup_timeout: float = 30.0
    """Seconds to wait for the ready line."""
    stop_timeout: float = 15.0
    """Seconds to wait for the process to exit after SIGTERM."""

    @classmethod
    def build(cls, **values: Any) -> Options:
        """Options from keyword values, taking the lenient forms `vcmock.server()` takes.

        `fixtures` may be one path or several, `tls` `True`/`False` or `"on"`/`"off"`,
        `clock_start` a `datetime`, `seed` a string of digits. Unknown names raise `TypeError`.
        """
        return cls().updated(**values)

    def updated(self, **values: Any) -> Options:
        """A copy with some options changed (lenient forms as in `build`)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TypeError(f"unknown vcmock option(s): {', '.join(unknown)}")
        clean: dict[str, Any] = {}
        for name, value in values.items():
            if name == "fixtures":
                value = _paths(value)
            elif name in ("tls_san", "extra_args"):
                value = _names(value)
            elif name == "clock_start":
                value = _time_text(value)
            elif name == "tls":
                value = _switch(value)
            elif name in ("tls_cert", "tls_key", "binary") and value is not None:
                value = os.fspath(value)
            elif name == "seed" and value is not None:
                value = int(value)
            clean[name] = value
        return replace(self, **clean)

    def arguments(self, cert_out: str | None) -> list[str]:
        """The `vcmock serve` command-line flags for these options."""
        args = ["--listen", self.listen, "--tls", "on" if self.tls else "off"]
        if self.tls and cert_out is not None:
            args += ["--cert-out", cert_out]
        for path in self.fixtures:
            args += ["--fixtures", path]
        for name in self.tls_san:
            args += ["--tls-san", name]
        single = {
            "--seed": self.seed,
            "--clock": self.clock,
            "--clock-start": self.clock_start,
            "--tls-cert": self.tls_cert,
            "--tls-key": self.tls_key,
            "--transfer-host": self.transfer_host,
            "--admin-token": self.admin_token,
            "--session-idle-timeout": self.session_idle_timeout,
            "--max-sessions": self.max_sessions,
            "--journal-size": self.journal_size,
            "--body-limit": self.body_limit,
            "--spill-threshold": self.spill_threshold,
            "--log": self.log,
            "--log-level": self.log_level,
        }
        for flag, value in single.items():
            if value is not None:
                args += [flag, str(value)]
        return [*args, *self.extra_args]
