"""vcmock: a mock vCenter server for tests, as a Python package.

The wheel carries the `vcmock` binary (on `PATH` after `pip install vcmock`). This package
starts it and speaks its admin API; the pytest plugin (`vcmock.pytest_plugin`, loaded
automatically) gives tests a `vcenter` fixture.

    import vcmock

    with vcmock.server(seed=42) as vc:
        api = vc.login()
        print(api.get("/api/vcenter/vm").json())
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._binary import BINARY_ENV, BinaryNotFoundError, find_binary
from ._models import (
    Clock,
    ClockMode,
    Counts,
    Effect,
    FaultRule,
    Info,
    JournalEntry,
    PowerState,
    Ready,
    Transfer,
)
from ._options import Options
from ._server import (
    AdminError,
    Server,
    Session,
    StartError,
    StopError,
    VcmockError,
    server,
)

try:
    __version__ = version("vcmock")
    """The installed package's version (the binary's too: both come from one build)."""
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "BINARY_ENV",
    "AdminError",
    "BinaryNotFoundError",
    "Clock",
    "ClockMode",
    "Counts",
    "Effect",
    "FaultRule",
    "Info",
    "JournalEntry",
    "Options",
    "PowerState",
    "Ready",
    "Server",
    "Session",
    "StartError",
    "StopError",
    "Transfer",
    "VcmockError",
    "__version__",
    "find_binary",
    "server",
]
