"""The vcmock pytest plugin: a mock vCenter per test, at the cost of one start per session.

Installed with the package and loaded through the `pytest11` entry point (`-p no:vcmock`
turns it off). Needs pytest 8 or newer.

Fixtures:

- `vcenter`: a running `vcmock.Server`. Tests that ask for the same options share one server
  per session; before each test the plugin restores it (`Server.restore()`: the clock as at
  start, `reset()`, no fault rules, an empty journal).
- `vcenter_sdk`: a logged-in official SDK client (`create_vsphere_client`), when
  `vmware-vcenter` is installed; skipped otherwise.
- `vcenter_pyvmomi`: a pyVmomi `ServiceInstance` connected over SOAP (`/sdk`), when pyvmomi
  is installed; skipped otherwise.
- `vcmock_options`: the `vcmock.Options` a test's `vcenter` is started with; override it in a
  `conftest.py` to choose them in code.

Options come from the command line (`--vcmock-fixtures`, `--vcmock-seed`, `--vcmock-clock`,
`--vcmock-tls`, `--vcmock-binary`), the ini file (`vcmock_fixtures`, `vcmock_seed`, ...) and the
`@pytest.mark.vcmock(**options)` marker, closest first. When a test fails, the report gets a
"vcmock journal" section with the last requests the server saw (`--vcmock-journal-lines`).
"""

from __future__ import annotations

import contextlib
import importlib
import ssl
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from ._models import JournalEntry
from ._options import Options
from ._server import Server, StopError, VcmockError

_SERVER_KEY = pytest.StashKey[Server]()
_DEFAULT_JOURNAL_LINES = 20


def pytest_addoption(parser: pytest.Parser) -> None:
    """Registers the command-line and ini options."""
    group = parser.getgroup("vcmock", "vcmock: a mock vCenter server")
    group.addoption(
        "--vcmock-fixtures",
        action="append",
        default=[],
        metavar="PATH",
        help="fixture file or directory for the vcenter fixture (repeatable); "
        "default: the built-in fixture",
    )
    group.addoption("--vcmock-seed", metavar="N", help="seed for ids, tokens and random faults")
    group.addoption(
        "--vcmock-clock", choices=("system", "manual"), help="the server clock (default system)"
    )
    group.addoption("--vcmock-tls", choices=("on", "off"), help="serve HTTPS (default on)")
    group.addoption("--vcmock-binary", metavar="PATH", help="the vcmock executable to run")
    group.addoption(
        "--vcmock-journal-lines",
        type=int,
        metavar="N",
        help=f"journal entries attached to a failing test (default {_DEFAULT_JOURNAL_LINES}; "
        "0: none)",
    )
    parser.addini("vcmock_fixtures", "fixture files or directories for vcenter", type="paths")
    parser.addini("vcmock_seed", "seed for the vcenter fixture's server", default="")
    parser.addini("vcmock_clock", "system or manual", default="")
    parser.addini("vcmock_tls", "on or off", default="")
    parser.addini("vcmock_binary", "the vcmock executable to run", default="")
    parser.addini(
        "vcmock_journal_lines",
        "journal entries attached to a failing test",
        default=str(_DEFAULT_JOURNAL_LINES),
    )


def pytest_configure(config: pytest.Config) -> None:
    """Registers the `vcmock` marker."""
    config.addinivalue_line(
        "markers",
        "vcmock(**options): start this test's vcenter with these vcmock.Options "
        "(fixtures, seed, clock, tls, ...); tests asking for the same options share a server",
    )


def _setting(config: pytest.Config, name: str) -> Any:
    given = config.getoption(f"vcmock_{name}")
    if given not in (None, []):
        return given
    from_ini = config.getini(f"vcmock_{name}")
    return from_ini if from_ini not in ("", []) else None


def session_options(config: pytest.Config) -> Options:
    """The options given on the command line and in the ini file."""
    values: dict[str, Any] = {}
    for name in ("fixtures", "seed", "clock", "tls", "binary"):
        value = _setting(config, name)
        if value is not None:
            values[name] = value
    return Options.build(**values)


def options_for(item: pytest.Item) -> Options:
    """A test's options: the session's, updated by its `vcmock` markers, closest last."""
    options = session_options(item.config)
    for marker in reversed(list(item.iter_markers("vcmock"))):
        if marker.args:
            raise pytest.UsageError("@pytest.mark.vcmock takes keyword options only")
        options = options.updated(**marker.kwargs)
    return options


def _journal_lines(config: pytest.Config) -> int:
    given = config.getoption("vcmock_journal_lines")
    if given is not None:
        return int(given)
    return int(config.getini("vcmock_journal_lines") or _DEFAULT_JOURNAL_LINES)


class ServerPool:
    """The servers of one pytest session, one per distinct `Options`."""

    def __init__(self) -> None:
        self._servers: dict[Options, Server] = {}

    def get(self, options: Options) -> Server:
        """A server for `options`, restored to how it started; started on first use."""
        running = self._servers.get(options)
        if running is not None and running.exit_code is not None:
            # An earlier test stopped it on purpose: this one gets a new one.
            del self._servers[options]
            running = None
        if running is not None and not running.running:
            del self._servers[options]
            code = running.process.poll()
            tail = running.log_tail()
            with contextlib.suppress(StopError):
                running.stop()
            raise VcmockError(
                f"the shared vcmock server exited (code {code}) during an earlier test; "
                f"the next test gets a new one\n{tail}"
            )
        if running is not None and running.fixture_replaced:
            del self._servers[options]
            running.stop()
            running = None
        if running is None:
            running = Server.start(options)
            self._servers[options] = running
        else:
            running.restore()
        return running

    def stop_all(self) -> None:
        """Stops every server; raises the first unclean stop after trying them all."""
        problems: list[StopError] = []
        for running in self._servers.values():
            try:
                running.stop()
            except StopError as e:
                problems.append(e)
        self._servers.clear()
        if problems:
            raise problems[0]


@pytest.fixture(scope="session")
def vcmock_pool() -> Iterator[ServerPool]:
    """The session's servers (one per distinct options), stopped at the end of the session."""
    pool = ServerPool()
    yield pool
    pool.stop_all()


@pytest.fixture
def vcmock_options(request: pytest.FixtureRequest) -> Options:
    """The options this test's `vcenter` starts with (command line, ini, markers)."""
    return options_for(request.node)


@pytest.fixture
def vcenter(
    request: pytest.FixtureRequest, vcmock_pool: ServerPool, vcmock_options: Options
) -> Iterator[Server]:
    """A running mock vCenter, restored to its start state for this test."""
    running = vcmock_pool.get(vcmock_options)
    request.node.stash[_SERVER_KEY] = running
    yield running
    running.close_sessions()


@pytest.fixture
def vcenter_sdk(vcenter: Server) -> Any:
    """A logged-in official vSphere Automation SDK client (`vsphere_client`) for `vcenter`."""
    try:
        client = importlib.import_module("vmware.vapi.vsphere.client")
    except ImportError as e:
        pytest.skip(
            "vcenter_sdk needs the official vSphere Automation SDK for Python "
            f"(pip install vmware-vcenter): {e}"
        )
    if not vcenter.tls:
        pytest.skip("vcenter_sdk needs TLS: the SDK speaks HTTPS only")
    return client.create_vsphere_client(
        server=vcenter.address,
        username=vcenter.username,
        password=vcenter.password,
        session=vcenter.new_session(),
    )


@pytest.fixture
def vcenter_pyvmomi(vcenter: Server) -> Iterator[Any]:
    """A pyVmomi `ServiceInstance` logged in to `vcenter` over SOAP (`/sdk`)."""
    try:
        connect = importlib.import_module("pyVim.connect")
    except ImportError as e:
        pytest.skip(f"vcenter_pyvmomi needs pyvmomi (pip install pyvmomi): {e}")
    context = None
    if vcenter.tls:
        context = ssl.create_default_context(cafile=vcenter.certificate_path)
    instance = connect.SmartConnect(
        protocol="https" if vcenter.tls else "http",
        host=vcenter.host,
        port=vcenter.port,
        user=vcenter.username,
        pwd=vcenter.password,
        sslContext=context,
    )
    yield instance
    # A test may have logged out or stopped the server: nothing is left to close then.
    with contextlib.suppress(Exception):
        connect.Disconnect(instance)


def journal_report(entries: list[JournalEntry], limit: int, header: str) -> str:
    """The text of the "vcmock journal" report section: a header and one line per request."""
    if not entries:
        return f"{header}\nno request reached vcmock during this test"
    shown = entries[-limit:]
    lines = [f"{header}; the last {len(shown)} of {len(entries)} requests, oldest first:"]
    lines += [entry.line() for entry in shown]
    return "\n".join(lines)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attaches the last journal entries to the report of a failing test that used vcenter."""
    report = yield
    running = item.stash.get(_SERVER_KEY, None)
    limit = _journal_lines(item.config)
    if report.failed and running is not None and limit > 0 and running.running:
        try:
            info = running.info()
            seed = "random" if info.seed is None else info.seed
            header = f"vcmock at {running.base_url} (seed {seed}, clock {info.clock.mode})"
            text = journal_report(running.journal(), limit, header)
        except Exception as e:  # noqa: BLE001 - the report must not hide the test's failure
            text = f"could not read the vcmock journal: {e}"
        report.sections.append(("vcmock journal", text))
    return report
