"""Runs the vcmock binary and speaks its admin API.

`Server.start` runs `vcmock serve` on a free port, waits for the JSON ready line on stdout and
keeps what it says; `Server.stop` sends SIGTERM and waits. The other methods are thin calls to
`/_mock/...`: the binary holds every vCenter rule, this module holds none.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from ._binary import find_binary
from ._models import (
    Clock,
    ClockMode,
    Effect,
    FaultRule,
    Info,
    JournalEntry,
    PowerState,
    Ready,
    Transfer,
)
from ._options import Options, StrPath

_LOG_TAIL_BYTES = 4000
_ADMIN_TIMEOUT = 30.0
"""Seconds an admin call may take: a hung server fails the call instead of the whole run."""


class VcmockError(Exception):
    """Something went wrong running vcmock or talking to its admin API."""


class StartError(VcmockError):
    """The server did not become ready (it exited, timed out, or printed no ready line)."""


class StopError(VcmockError):
    """The server did not exit cleanly after SIGTERM."""


class AdminError(VcmockError):
    """The admin API refused a request; carries vCenter's error type and message."""

    def __init__(
        self, method: str, path: str, status: int, error_type: str | None, message: str
    ) -> None:
        detail = f"{error_type}: {message}" if error_type else message
        super().__init__(f"{method} {path} answered {status}: {detail}")
        self.method = method
        """The request's method."""
        self.path = path
        """The admin path it went to."""
        self.status = status
        """The HTTP status."""
        self.error_type = error_type
        """vCenter's error type from the body, e.g. `NOT_FOUND`."""
        self.message = message
        """The error's message text."""


class Session(requests.Session):
    """A `requests.Session` for one vcmock server.

    It trusts the server's certificate, ignores `REQUESTS_CA_BUNDLE`/`CURL_CA_BUNDLE` and
    proxies from the environment (`trust_env` off), and resolves paths such as
    `"/api/vcenter/vm"` against the server's base URL.
    """

    def __init__(self, base_url: str, certificate_path: str | None) -> None:
        super().__init__()
        self.base_url = base_url
        """The server's base URL, which relative paths are joined to."""
        self.trust_env = False
        if certificate_path is not None:
            self.verify = certificate_path

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Sends a request; a `url` starting with `/` is taken relative to the server."""
        if isinstance(url, str) and url.startswith("/"):
            url = self.base_url + url
        return super().request(method, url, *args, **kwargs)


def _log_tail(path: Path) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - _LOG_TAIL_BYTES))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _error_of(resp: requests.Response, method: str, path: str) -> AdminError:
    error_type: str | None = None
    message = resp.text.strip()
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("error_type"), str):
            error_type = body["error_type"]
        messages = body.get("messages")
        if isinstance(messages, list):
            texts = [m.get("default_message", "") for m in messages if isinstance(m, dict)]
            message = " ".join(t for t in texts if t) or message
    return AdminError(method, path, resp.status_code, error_type, message)


class Server:
    """A running vcmock binary: where it listens, how to log in, and its admin API.

    Start one with `vcmock.server(...)` (a context manager) or `Server.start(options)`; stop it
    with `stop()`. Every admin helper raises `AdminError` when the server refuses.
    """

    def __init__(
        self,
        options: Options,
        process: subprocess.Popen[bytes],
        ready: Ready,
        workdir: Path,
    ) -> None:
        self.options = options
        """What the server was started with."""
        self.process = process
        """The binary's process."""
        self.ready = ready
        """The ready line, as the binary printed it."""
        self.workdir = workdir
        """A temporary directory holding the certificate and the server's log."""
        self.fixture_replaced = False
        """True once `reset(fixture)` or `load_state` replaced the loaded fixture (then
        `restore()` cannot go back to the start; the pytest plugin starts a new server)."""
        self._sessions: weakref.WeakSet[Session] = weakref.WeakSet()
        self._admin = Session(ready.base_url, ready.certificate_path)
        if options.admin_token is not None:
            self._admin.headers["Authorization"] = f"Bearer {options.admin_token}"
        self._session: Session | None = None
        self._exit_code: int | None = None
        self._start_clock = self.clock()

    # -- starting and stopping -------------------------------------------------------------

    @classmethod
    def start(cls, options: Options | None = None) -> Server:
        """Runs the binary with `options` and returns once it printed its ready line."""
        options = options or Options()
        binary = options.binary or find_binary()
        workdir = Path(tempfile.mkdtemp(prefix="vcmock-"))
        log_path = workdir / "server.log"
        cert_path = str(workdir / "certificate.pem")
        command = [binary, "serve", *options.arguments(cert_path)]
        try:
            with log_path.open("wb") as log:
                process = subprocess.Popen(  # noqa: S603 - the command is ours
                    command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log
                )
        except OSError as e:
            shutil.rmtree(workdir, ignore_errors=True)
            raise StartError(f"cannot run {binary}: {e}") from e
        try:
            line = _ready_line(process, options.startup_timeout)
            ready = Ready.from_json(json.loads(line))
        except Exception as e:
            _abandon(process)
            tail = _log_tail(log_path)
            shutil.rmtree(workdir, ignore_errors=True)
            code = process.returncode
            shown = " ".join(_masked(command))
            raise StartError(
                f"vcmock did not become ready ({e}; exit code {code}); command: {shown}\n{tail}"
            ) from e
        try:
            return cls(options, process, ready, workdir)
        except Exception:
            _abandon(process)
            shutil.rmtree(workdir, ignore_errors=True)
            raise

    def stop(self) -> int:
        """Sends SIGTERM, waits for the exit and removes the temporary files.

        Returns the exit code (0 after a clean stop); raises `StopError` if the process did not
        exit in time (it is killed then) or exited with another code. Calling it again returns
        the same code. On Windows, which has no SIGTERM, the process is terminated instead.
        """
        if self._exit_code is not None:
            return self._exit_code
        proc = self.process
        terminated = False
        if proc.poll() is None:
            if sys.platform == "win32":
                # Windows has no SIGTERM: the process is ended, and its exit code means nothing.
                proc.terminate()
                terminated = True
            else:
                proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=self.options.stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            tail = self.log_tail()
            self._finish(-9)
            raise StopError(
                f"vcmock did not exit within {self.options.stop_timeout} s of SIGTERM; "
                f"killed\n{tail}"
            ) from None
        if terminated:
            code = 0
        tail = self.log_tail() if code != 0 else ""
        self._finish(code)
        if code != 0:
            raise StopError(f"vcmock exited with code {code}\n{tail}")
        return code

    def _finish(self, code: int) -> None:
        self._exit_code = code
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.close_sessions()
        self._admin.close()
        if self._session is not None:
            self._session.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def exit_code(self) -> int | None:
        """The exit code `stop()` saw.

        None while running, and after an exit that `stop()` did not cause (see `running`).
        """
        return self._exit_code

    @property
    def running(self) -> bool:
        """Whether the process is still alive and `stop()` was not called."""
        return self._exit_code is None and self.process.poll() is None

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        except StopError:
            if exc is None:
                raise

    def __repr__(self) -> str:
        state = "running" if self.running else f"exited {self._exit_code}"
        return f"<vcmock.Server {self.base_url} pid={self.process.pid} {state}>"

    # -- where it is -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`https://127.0.0.1:PORT` (`http://` with TLS off)."""
        return self.ready.base_url

    @property
    def address(self) -> str:
        """`HOST:PORT`: what the official SDK's `create_vsphere_client(server=...)` takes."""
        return self.ready.address

    @property
    def host(self) -> str:
        """The host it listens on."""
        return self.address.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.address.rsplit(":", 1)[1])

    @property
    def username(self) -> str:
        """The fixture's administrator login (`administrator@vsphere.local` by default)."""
        if self.ready.username is None:
            raise VcmockError("the loaded fixture has no administrator")
        return self.ready.username

    @property
    def password(self) -> str:
        """The administrator's password."""
        if self.ready.password is None:
            raise VcmockError("the loaded fixture has no administrator")
        return self.ready.password

    @property
    def tls(self) -> bool:
        """Whether it serves HTTPS."""
        return self.ready.tls

    @property
    def certificate_path(self) -> str | None:
        """The PEM file of the served certificate (None with TLS off); removed at stop."""
        return self.ready.certificate_path

    @property
    def log_path(self) -> Path:
        """The server's stderr log (removed at stop)."""
        return self.workdir / "server.log"

    def log_tail(self) -> str:
        """The last few kilobytes of the server's log."""
        return _log_tail(self.log_path)

    def url(self, path: str) -> str:
        """The absolute URL of a path on this server."""
        return self.base_url + path

    def transfer_url(self, url: str) -> str:
        """A transfer URL with its `*` host replaced by this server's host, as clients do."""
        parts = urlsplit(url)
        if parts.hostname != "*":
            return url
        netloc = parts.netloc.replace("*", self.host, 1)
        return urlunsplit(parts._replace(netloc=netloc))

    # -- clients -----------------------------------------------------------------------

    def new_session(self) -> Session:
        """A new `requests.Session` that trusts this server's certificate (`trust_env` off).

        The server keeps track of it: `close_sessions()` and `stop()` close it.
        """
        made = Session(self.base_url, self.certificate_path)
        self._sessions.add(made)
        return made

    def close_sessions(self) -> None:
        """Closes the sessions that `new_session()` and `login()` made (not `session`).

        Their connections do not linger then; the pytest plugin does this after each test.
        """
        for made in list(self._sessions):
            made.close()
        self._sessions.clear()

    @property
    def session(self) -> Session:
        """A shared `requests.Session` that trusts this server's certificate."""
        if self._session is None:
            self._session = Session(self.base_url, self.certificate_path)
        return self._session

    def login(self, username: str | None = None, password: str | None = None) -> Session:
        """A new session logged in through `POST /api/session`.

        It logs in as the administrator unless told otherwise, and sends
        `vmware-api-session-id` on every request.
        """
        s = self.new_session()
        resp = s.post("/api/session", auth=(username or self.username, password or self.password))
        if resp.status_code != 201:
            s.close()
            raise _error_of(resp, "POST", "/api/session")
        s.headers["vmware-api-session-id"] = str(resp.json())
        return s

    # -- the admin API -----------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        resp = self._admin.request(
            method, self.base_url + path, json=json_body, params=params, timeout=_ADMIN_TIMEOUT
        )
        if resp.status_code >= 400:
            raise _error_of(resp, method, path)
        return resp

    @staticmethod
    def _vm(vm: str) -> str:
        return "/_mock/vms/" + quote(vm, safe="")

    def info(self) -> Info:
        """`GET /_mock/info`: version, seed, clock, TLS and counts."""
        return Info.from_json(self._call("GET", "/_mock/info").json())

    def reset(self, fixture: Mapping[str, Any] | None = None) -> None:
        """`POST /_mock/reset`: back to the loaded fixture (VMs, files, power, sessions).

        Transfers are revoked. A fixture document given here replaces the loaded one.
        """
        self._call("POST", "/_mock/reset", json_body=dict(fixture) if fixture else None)
        if fixture:
            self.fixture_replaced = True

    def restore(self) -> None:
        """Back to how the server started, as the pytest plugin does between tests.

        The clock goes back to its mode (and a manual clock to its time) at start, then
        `reset()`, no fault rules and an empty journal.
        """
        start = self._start_clock
        if start.mode == "manual":
            self._call("POST", "/_mock/clock", json_body={"set": _rfc3339(start.now)})
        else:
            self._call("POST", "/_mock/clock", json_body={"mode": start.mode})
        self.reset()
        self.clear_faults()
        self.clear_journal()

    def state(self) -> dict[str, Any]:
        """`GET /_mock/state`: everything, in fixture format."""
        data: dict[str, Any] = self._call("GET", "/_mock/state").json()
        return data

    def load_state(self, state: Mapping[str, Any]) -> None:
        """`POST /_mock/state`: loads a dump (or any fixture); reset restores it from then on."""
        self._call("POST", "/_mock/state", json_body=dict(state))
        self.fixture_replaced = True

    def add_vms(self, *vms: Mapping[str, Any]) -> list[str]:
        """`POST /_mock/vms`: registers VMs in fixture form; returns their ids."""
        body = {"vms": [dict(vm) for vm in vms]}
        added: list[str] = self._call("POST", "/_mock/vms", json_body=body).json()["added"]
        return added

    def unregister(self, vm: str) -> None:
        """`DELETE /_mock/vms/{vm}`: unregisters a VM."""
        self._call("DELETE", self._vm(vm))

    def power(self, vm: str, state: PowerState | str) -> None:
        """`PUT /_mock/vms/{vm}/power`: sets the power state as an administrator would."""
        self._call("PUT", self._vm(vm) + "/power", json_body={"state": state})

    def set_tools(self, vm: str, running: bool) -> None:
        """`PUT /_mock/vms/{vm}/tools`: starts or stops VMware Tools."""
        self._call("PUT", self._vm(vm) + "/tools", json_body={"running": running})

    def set_busy(self, vm: str, busy: bool) -> None:
        """`PUT /_mock/vms/{vm}/busy`: makes every guest operation on the VM busy, or not."""
        self._call("PUT", self._vm(vm) + "/busy", json_body={"busy": busy})

    def put_file(
        self,
        vm: str,
        path: str,
        content: bytes | str = b"",
        *,
        mode: str | None = None,
        owner: int | None = None,
        group: int | None = None,
        **attributes: Any,
    ) -> None:
        """`PUT /_mock/vms/{vm}/files`: adds or replaces a guest file, skipping guest checks.

        Text goes as `content`, bytes as `content_base64`; `mode`, `owner`, `group` and any
        other fixture file field (`hidden`, `read_only`, `acl`, ...) pass through.
        """
        spec: dict[str, Any] = {"path": path, **attributes}
        if isinstance(content, str):
            spec["content"] = content
        else:
            spec["content_base64"] = base64.b64encode(content).decode("ascii")
        for key, value in (("mode", mode), ("owner", owner), ("group", group)):
            if value is not None:
                spec[key] = value
        self._call("PUT", self._vm(vm) + "/files", json_body=spec)

    def put_directory(self, vm: str, path: str, *, mode: str | None = None) -> None:
        """`PUT /_mock/vms/{vm}/files` with `type: directory`."""
        spec: dict[str, Any] = {"path": path, "type": "directory"}
        if mode is not None:
            spec["mode"] = mode
        self._call("PUT", self._vm(vm) + "/files", json_body=spec)

    def read_file(self, vm: str, path: str) -> bytes:
        """`GET /_mock/vms/{vm}/files?path=`: a guest file's bytes, without guest checks."""
        return self._call("GET", self._vm(vm) + "/files", params={"path": path}).content

    def delete_file(self, vm: str, path: str) -> None:
        """`DELETE /_mock/vms/{vm}/files?path=`: removes a guest file or directory."""
        self._call("DELETE", self._vm(vm) + "/files", params={"path": path})

    def clock(self) -> Clock:
        """`GET /_mock/clock`: the clock's mode and time."""
        return Clock.from_json(self._call("GET", "/_mock/clock").json())

    def advance_clock(self, seconds: float) -> Clock:
        """`POST /_mock/clock {"advance_seconds": N}`: moves time on.

        The clock becomes manual; session and transfer expiry follow it.
        """
        body = {"advance_seconds": seconds}
        return Clock.from_json(self._call("POST", "/_mock/clock", json_body=body).json())

    def set_clock(self, when: datetime | str) -> Clock:
        """`POST /_mock/clock {"set": TIME}`: sets the (then manual) clock."""
        text = when if isinstance(when, str) else _rfc3339(when)
        return Clock.from_json(self._call("POST", "/_mock/clock", json_body={"set": text}).json())

    def set_clock_mode(self, mode: ClockMode | str) -> Clock:
        """`POST /_mock/clock {"mode": ...}`: `manual` freezes time, `system` follows it."""
        body = {"mode": mode}
        return Clock.from_json(self._call("POST", "/_mock/clock", json_body=body).json())

    def add_fault(
        self,
        effect: Effect | Mapping[str, Any],
        *,
        operation: str | None = None,
        vm: str | None = None,
        path: str | None = None,
        method: str | None = None,
        times: int | None = None,
        after: int | None = None,
        probability: float | None = None,
    ) -> FaultRule:
        """`POST /_mock/faults`: adds a fault rule and returns it with its id.

        It matches on `operation` (a journal operation name such as `files.list`), `vm`,
        `path` (a regular expression on the guest path) and `method`; `times`, `after` and
        `probability` say when it fires.
        """
        body: dict[str, Any] = {
            "effect": effect.to_json() if isinstance(effect, Effect) else dict(effect)
        }
        optional = {
            "operation": operation,
            "vm": vm,
            "path": path,
            "method": method,
            "times": times,
            "after": after,
            "probability": probability,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return FaultRule.from_json(self._call("POST", "/_mock/faults", json_body=body).json())

    def faults(self) -> list[FaultRule]:
        """`GET /_mock/faults`: the rules, with how often each matched and fired."""
        return [FaultRule.from_json(r) for r in self._call("GET", "/_mock/faults").json()]

    def remove_fault(self, rule: FaultRule | int) -> None:
        """`DELETE /_mock/faults/{id}`: removes one rule."""
        rule_id = rule.id if isinstance(rule, FaultRule) else rule
        self._call("DELETE", f"/_mock/faults/{rule_id}")

    def clear_faults(self) -> None:
        """`DELETE /_mock/faults`: removes every rule."""
        self._call("DELETE", "/_mock/faults")

    def journal(
        self,
        *,
        operation: str | None = None,
        vm: str | None = None,
        status: int | None = None,
    ) -> list[JournalEntry]:
        """`GET /_mock/journal`: the most recent requests, oldest first, optionally filtered."""
        params = {
            k: v
            for k, v in (("operation", operation), ("vm", vm), ("status", status))
            if v is not None
        }
        entries = self._call("GET", "/_mock/journal", params=params).json()
        return [JournalEntry.from_json(e) for e in entries]

    def clear_journal(self) -> None:
        """`DELETE /_mock/journal`: forgets every entry."""
        self._call("DELETE", "/_mock/journal")

    def transfers(self) -> list[Transfer]:
        """`GET /_mock/transfers`: every transfer URL issued, with its state."""
        return [Transfer.from_json(t) for t in self._call("GET", "/_mock/transfers").json()]

    def metrics(self) -> str:
        """`GET /_mock/metrics`: the Prometheus text."""
        return self._call("GET", "/_mock/metrics").text


def _masked(command: list[str]) -> list[str]:
    """The command with the admin token's value hidden, for error messages."""
    return [
        "***" if i > 0 and command[i - 1] == "--admin-token" else arg
        for i, arg in enumerate(command)
    ]


def _abandon(process: subprocess.Popen[bytes]) -> None:
    """Kills a server that will not be used, waits for it and closes its pipe."""
    if process.poll() is None:
        process.kill()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _rfc3339(when: datetime) -> str:
    text = when.isoformat()
    return text if when.tzinfo is not None else text + "Z"


def _ready_line(process: subprocess.Popen[bytes], timeout: float) -> bytes:
    """The first line on the process's stdout, or an error if it exits or takes too long."""
    stdout = process.stdout
    if stdout is None:
        raise StartError("no stdout pipe")
    lines: queue.Queue[bytes] = queue.Queue(maxsize=1)
    reader = threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True)
    reader.start()
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        raise StartError(f"no ready line within {timeout} s") from None
    if not line.strip():
        raise StartError("the process closed stdout without a ready line")
    return line


@contextmanager
def server(
    *,
    fixtures: StrPath | list[StrPath] | tuple[StrPath, ...] | None = None,
    seed: int | None = None,
    clock: ClockMode | None = None,
    clock_start: datetime | str | None = None,
    tls: bool = True,
    tls_cert: StrPath | None = None,
    tls_key: StrPath | None = None,
    tls_san: str | list[str] | tuple[str, ...] | None = None,
    transfer_host: str | None = None,
    admin_token: str | None = None,
    session_idle_timeout: int | None = None,
    max_sessions: int | None = None,
    journal_size: int | None = None,
    body_limit: int | None = None,
    spill_threshold: int | None = None,
    log: str | None = None,
    log_level: str | None = None,
    listen: str = "127.0.0.1:0",
    extra_args: list[str] | tuple[str, ...] | None = None,
    binary: StrPath | None = None,
    startup_timeout: float = 30.0,
    stop_timeout: float = 15.0,
) -> Iterator[Server]:
    """Starts vcmock on a free port and stops it (SIGTERM) when the block ends.

    Each option is the `vcmock serve` flag of the same name (`fixtures` is `--fixtures`,
    `clock="manual"` is `--clock manual`, `tls=False` is `--tls off`, ...); see `Options`.

        with vcmock.server(seed=42, clock="manual") as vc:
            api = vc.login()
            assert api.get("/api/vcenter/vm").status_code == 200
    """
    options = Options.build(
        fixtures=fixtures,
        seed=seed,
        clock=clock,
        clock_start=clock_start,
        tls=tls,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_san=tls_san,
        transfer_host=transfer_host,
        admin_token=admin_token,
        session_idle_timeout=session_idle_timeout,
        max_sessions=max_sessions,
        journal_size=journal_size,
        body_limit=body_limit,
        spill_threshold=spill_threshold,
        log=log,
        log_level=log_level,
        listen=listen,
        extra_args=extra_args,
        binary=binary,
        startup_timeout=startup_timeout,
        stop_timeout=stop_timeout,
    )
    with Server.start(options) as running:
        yield running
