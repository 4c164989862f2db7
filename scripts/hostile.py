"""Drives vcmock as a hostile client would, and prints what it cost the server.

Run by scripts/hostile.sh, which starts the release binary and passes its ready line. Each
scenario prints the server's RSS (and peak RSS) before and after, and how long things took:

- bounds: 1000 unauthenticated 1 MB list requests, then reading the journal back; 1000 fault
  rules of the largest size; 20,000 transfer URLs for 4 KB paths.
- stall: an upload that stops after 7 of 8 MB, and how long until its URL and path come back.
- idle: more idle TLS connections than the server's file limit allows, and how long until a
  new client is served again.
- urls: directories.create timed with no URLs outstanding and with 32,000 unused ones.

Only the standard library is used.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class Server:
    """The server under test: its address, certificate, credentials and process."""

    def __init__(self, ready: dict[str, Any], pid: int) -> None:
        host, port = ready["address"].rsplit(":", 1)
        self.host = host
        self.port = int(port)
        self.pid = pid
        self.ctx = ssl.create_default_context(cafile=ready["certificate_path"])
        self.user = ready["username"]
        self.password = ready["password"]

    def rss(self) -> tuple[float, float]:
        """Resident and peak resident memory, in MiB."""
        fields = {}
        with open(f"/proc/{self.pid}/status", encoding="ascii") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)

    def connection(self, timeout: float = 30) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)

    def request(
        self,
        conn: http.client.HTTPSConnection,
        method: str,
        path: str,
        body: Any = None,
        session: str | None = None,
    ) -> tuple[int, bytes]:
        headers = {"content-type": "application/json"}
        if session:
            headers["vmware-api-session-id"] = session
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()

    def login(self) -> str:
        import base64

        conn = self.connection()
        auth = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        conn.request("POST", "/api/session", headers={"authorization": f"Basic {auth}"})
        r = conn.getresponse()
        assert r.status == 201, r.status
        return json.loads(r.read())


ROOT = {"interactive_session": False, "type": "USERNAME_PASSWORD", "user_name": "root", "password": "rootpw"}


def report(label: str, server: Server, started: float, before: tuple[float, float]) -> None:
    after = server.rss()
    print(
        f"  {label}: {time.monotonic() - started:.1f} s; RSS {before[0]:.1f} -> {after[0]:.1f} MiB"
        f" (peak {after[1]:.1f} MiB)"
    )


def parallel(n: int, work, threads: int = 4) -> None:
    """Runs work(i) for i in range(n) over `threads` keep-alive workers."""

    def worker(part: range) -> None:
        for i in part:
            work(i)

    step = (n + threads - 1) // threads
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, [range(k, min(n, k + step)) for k in range(0, n, step)]))


def bounds(server: Server) -> None:
    print("bounds in bytes")
    before = server.rss()
    started = time.monotonic()
    path = "/" + "a" * 1_000_000
    body = json.dumps({"credentials": ROOT, "path": path}).encode()
    local = threading.local()

    def post(_: int) -> None:
        if not hasattr(local, "conn"):
            local.conn = server.connection()
        status, _ = server.request(
            local.conn, "POST", "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=list", body
        )
        assert status == 401, status

    parallel(1000, post)
    report("1000 unauthenticated 1 MB list requests", server, started, before)
    before = server.rss()
    started = time.monotonic()
    status, journal = server.request(server.connection(), "GET", "/_mock/journal")
    assert status == 200
    report(f"reading the journal back ({len(journal)} bytes)", server, started, before)

    before = server.rss()
    started = time.monotonic()
    message = "x" * 16_000

    def rule(i: int) -> None:
        if not hasattr(local, "conn"):
            local.conn = server.connection()
        spec = {"operation": f"op{i}", "effect": {"kind": "error", "error_type": "ERROR", "message": message}}
        status, _ = server.request(local.conn, "POST", "/_mock/faults", spec)
        assert status == 201, status

    parallel(1000, rule)
    status, _ = server.request(
        server.connection(), "POST", "/_mock/faults", {"effect": {"kind": "reset"}}
    )
    report(f"1000 fault rules of 16 KB (the 1001st: {status})", server, started, before)
    server.request(server.connection(), "DELETE", "/_mock/faults")

    sid = server.login()
    deep = "/tmp/" + "/".join(["d" * 250] * 16)
    conn = server.connection()
    for i in range(1, 17):
        status, _ = server.request(
            conn,
            "POST",
            "/api/vcenter/vm/vm-1001/guest/filesystem/directories?action=create",
            {"credentials": ROOT, "path": "/tmp/" + "/".join(["d" * 250] * i)},
            sid,
        )
    server.request(
        conn,
        "PUT",
        "/_mock/vms/vm-1001/files",
        {"path": deep + "/f", "content": "x"},
    )
    before = server.rss()
    started = time.monotonic()

    def url(_: int) -> None:
        if not hasattr(local, "conn"):
            local.conn = server.connection()
        status, _ = server.request(
            local.conn,
            "POST",
            "/api/vcenter/vm/vm-1001/guest/filesystem?action=create",
            {"credentials": ROOT, "spec": {"path": deep + "/f"}},
            sid,
        )
        assert status == 201, status

    parallel(20_000, url)
    status, info = server.request(server.connection(), "GET", "/_mock/info")
    live = json.loads(info)["counts"]["transfers_live"]
    report(f"20,000 URLs for a 4 KB path ({live} kept live)", server, started, before)


def stall(server: Server, body_timeout: float) -> None:
    print("a stalled upload")
    sid = server.login()
    conn = server.connection()
    size = 8 << 20
    status, url = server.request(
        conn,
        "POST",
        "/api/vcenter/vm/vm-1001/guest/filesystem?action=create",
        {"credentials": ROOT, "spec": {"path": "/tmp/stalled.bin", "attributes": {"size": size, "overwrite": True}}},
        sid,
    )
    assert status == 201, status
    target = json.loads(url).split("/guestFile", 1)[1]
    before = server.rss()
    raw = server.ctx.wrap_socket(socket.create_connection((server.host, server.port)), server_hostname=server.host)
    raw.sendall(
        f"PUT /guestFile{target} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
        f"Content-Length: {size}\r\n\r\n".encode()
    )
    raw.sendall(b"\0" * (7 << 20))
    started = time.monotonic()

    def state() -> str:
        status, body = server.request(server.connection(), "GET", "/_mock/transfers")
        return next(t["state"] for t in json.loads(body) if t["path"] == "/tmp/stalled.bin")

    held = state()
    while state() == "in_flight" and time.monotonic() - started < body_timeout + 30:
        time.sleep(0.2)
    print(
        f"  7 of 8 MB sent, then silence: '{held}' until it was given up after"
        f" {time.monotonic() - started:.1f} s (--body-timeout {body_timeout:.0f}); now '{state()}'"
    )
    report("the upload's memory", server, started, before)
    raw.close()


def idle(server: Server, idle_timeout: float, limit: int) -> None:
    print(f"idle connections (the server may open {limit} files)")
    conns: list[ssl.SSLSocket] = []
    lock = threading.Lock()

    def open_one(_: int) -> None:
        try:
            s = server.ctx.wrap_socket(
                socket.create_connection((server.host, server.port), timeout=3),
                server_hostname=server.host,
            )
            with lock:
                conns.append(s)
        except OSError:
            pass

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(open_one, range(limit + 50)))
    opened = time.monotonic() - started

    def served() -> bool:
        try:
            c = server.connection(timeout=1)
            status, _ = server.request(c, "GET", "/_mock/health")
            c.close()
            return status == 200
        except OSError:
            return False

    locked_out = not served()
    started = time.monotonic()
    while not served() and time.monotonic() - started < idle_timeout + 60:
        time.sleep(0.25)
    waited = time.monotonic() - started
    for s in conns:
        s.close()
    print(
        f"  {len(conns)} of {limit + 50} idle TLS connections opened in {opened:.1f} s;"
        f" a new client {'was locked out, then ' if locked_out else ''}was served after"
        f" {waited:.1f} s more (--idle-timeout {idle_timeout:.0f})"
    )


def urls(server: Server) -> None:
    print("the busy check with many unused URLs")
    sid = server.login()
    conn = server.connection()

    def mkdir_ms(n: int) -> float:
        times = []
        for i in range(n):
            start = time.perf_counter()
            status, _ = server.request(
                conn,
                "POST",
                "/api/vcenter/vm/vm-1001/guest/filesystem/directories?action=create",
                {"credentials": ROOT, "path": f"/tmp/busy-{time.monotonic_ns()}-{i}"},
                sid,
            )
            times.append((time.perf_counter() - start) * 1000)
            assert status == 204, status
        return statistics.median(times)

    empty = mkdir_ms(200)
    local = threading.local()
    started = time.monotonic()

    def url(_: int) -> None:
        if not hasattr(local, "conn"):
            local.conn = server.connection()
        status, _ = server.request(
            local.conn,
            "POST",
            "/api/vcenter/vm/vm-1001/guest/filesystem?action=create",
            {"credentials": ROOT, "spec": {"path": "/etc/hosts"}},
            sid,
        )
        assert status == 201, status

    parallel(32_000, url)
    made = time.monotonic() - started
    full = mkdir_ms(200)
    print(
        f"  directories.create median {empty:.2f} ms with no URLs, {full:.2f} ms with 32,000"
        f" unused ones (made in {made:.1f} s)"
    )


def main() -> None:
    ready = json.loads(sys.argv[1])
    server = Server(ready, int(sys.argv[2]))
    scenario = sys.argv[3]
    if scenario == "bounds":
        bounds(server)
    elif scenario == "stall":
        stall(server, float(sys.argv[4]))
    elif scenario == "idle":
        idle(server, float(sys.argv[4]), int(sys.argv[5]))
    elif scenario == "urls":
        urls(server)


if __name__ == "__main__":
    main()
