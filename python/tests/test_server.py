"""`vcmock.server()`: starting the installed binary, reading its ready line, stopping it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import sysconfig
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

import vcmock


def test_the_package_and_the_binary_come_from_the_installed_wheel() -> None:
    scripts = Path(sysconfig.get_path("scripts"))
    assert Path(vcmock.find_binary()) == scripts / "vcmock"
    assert "site-packages" in Path(vcmock.__file__).parts
    out = subprocess.run(
        [vcmock.find_binary(), "--version"], capture_output=True, text=True, check=True
    )
    assert vcmock.__version__ in out.stdout


def test_python_dash_m_vcmock_runs_the_binary() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "vcmock", "fixtures", "default"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["format"] == "vcmock-fixture/v1"


def test_a_server_listens_on_a_free_port_and_tells_how_to_reach_it() -> None:
    with vcmock.server() as vc:
        assert vc.host == "127.0.0.1"
        assert vc.port not in (0, 8443)
        assert vc.base_url == f"https://127.0.0.1:{vc.port}"
        assert vc.address == f"127.0.0.1:{vc.port}"
        assert (vc.username, vc.password) == ("administrator@vsphere.local", "VMware1!")
        assert vc.certificate_path is not None
        assert Path(vc.certificate_path).read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert vc.ready.thumbprint_sha256 is not None
        assert vc.info().version == vc.ready.version == vcmock.__version__


def test_stop_sends_sigterm_and_the_server_exits_cleanly_leaving_no_files() -> None:
    vc = vcmock.Server.start()
    certificate = Path(vc.certificate_path or "")
    assert certificate.is_file()
    assert vc.stop() == 0
    assert vc.process.returncode == 0
    assert not vc.running
    assert not certificate.exists()
    assert not vc.workdir.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((vc.host, vc.port), timeout=2).close()
    assert vc.stop() == 0, "a second stop reports the same exit"


def test_the_session_trusts_the_server_whatever_requests_ca_bundle_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "no-such-bundle.pem"))
    with vcmock.server() as vc:
        assert vc.session.get("/_mock/health").json() == {"status": "ok"}
        with requests.Session() as naive:
            naive.verify = vc.certificate_path
            with pytest.raises(OSError, match="CA certificate bundle"):
                naive.get(vc.url("/_mock/health"))


def test_login_gives_a_session_that_sends_the_session_id() -> None:
    with vcmock.server() as vc:
        api = vc.login()
        assert len(api.headers["vmware-api-session-id"]) == 32
        vms = api.get("/api/vcenter/vm").json()
        assert "vm-1001" in [vm["vm"] for vm in vms]
        with pytest.raises(vcmock.AdminError) as refused:
            vc.login("administrator@vsphere.local", "wrong")
        assert refused.value.status == 401


def test_options_become_the_binarys_flags(tmp_path: Path) -> None:
    start = datetime(2030, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    with vcmock.server(tls=False, seed=7, clock="manual", clock_start=start) as vc:
        assert vc.base_url.startswith("http://")
        assert vc.certificate_path is None
        assert not vc.tls
        info = vc.info()
        assert info.seed == 7
        assert (info.clock.mode, info.clock.now) == ("manual", start)


def test_a_fixture_file_replaces_the_built_in_fixture(tmp_path: Path) -> None:
    fixture = {
        "format": "vcmock-fixture/v1",
        "roles": [{"name": "Admin", "privileges": ["*"]}],
        "users": [{"login": "ops@corp.local", "password": "pw", "role": "Admin"}],
        "vms": [
            {
                "id": "vm-7",
                "name": "solo",
                "guest_family": "linux",
                "power_state": "POWERED_ON",
                "guest_users": [{"name": "root", "password": "pw", "uid": 0}],
                "files": [{"path": "/etc/motd", "content": "solo\n"}],
            }
        ],
    }
    path = tmp_path / "solo.json"
    path.write_text(json.dumps(fixture))
    with vcmock.server(fixtures=path) as vc:
        assert vc.username == "ops@corp.local"
        assert vc.info().counts.vms == 1
        assert vc.read_file("vm-7", "/etc/motd") == b"solo\n"


def test_a_broken_fixture_fails_the_start_with_the_servers_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "vcmock-fixture/v1", "vms": [{"id": 3}]}')
    with pytest.raises(vcmock.StartError, match=r"broken\.json"):
        vcmock.Server.start(vcmock.Options.build(fixtures=[broken]))


def test_a_failed_start_names_the_command_but_not_the_admin_token(tmp_path: Path) -> None:
    with pytest.raises(vcmock.StartError) as failed:
        vcmock.Server.start(
            vcmock.Options.build(admin_token="s3cret", extra_args=["--no-such-flag"])
        )
    assert "--admin-token ***" in str(failed.value)
    assert "--no-such-flag" in str(failed.value)
    assert "s3cret" not in str(failed.value)


def test_a_missing_binary_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(vcmock.StartError, match="cannot run"):
        vcmock.Server.start(vcmock.Options.build(binary=tmp_path / "nothing"))
    monkeypatch.setenv(vcmock.BINARY_ENV, str(tmp_path / "nothing"))
    with pytest.raises(vcmock.BinaryNotFoundError, match="VCMOCK_BINARY"):
        vcmock.find_binary()


def test_unknown_options_are_refused_by_name() -> None:
    with pytest.raises(TypeError, match="colour"):
        vcmock.Options.build(colour="blue")


def test_the_helpers_send_the_admin_token() -> None:
    with vcmock.server(admin_token="s3cret") as vc:
        assert vc.info().counts.vms == 6
        anonymous = vc.new_session().get("/_mock/info")
        assert anonymous.status_code == 401
        assert anonymous.json()["error_type"] == "UNAUTHENTICATED"


def test_close_sessions_closes_the_connections_of_the_sessions_it_made() -> None:
    with vcmock.server() as vc:
        api = vc.login()
        adapter = api.get_adapter(vc.base_url)
        assert isinstance(adapter, requests.adapters.HTTPAdapter)
        assert len(adapter.poolmanager.pools) == 1
        vc.close_sessions()
        assert len(adapter.poolmanager.pools) == 0
        assert vc.session.get("/_mock/health").ok, "the shared session stays open"
