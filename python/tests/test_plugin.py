"""The pytest plugin, run on small test files with pytester."""

from __future__ import annotations

import pytest

ONE_VM_FIXTURE = """{
    "format": "vcmock-fixture/v1",
    "roles": [{"name": "Admin", "privileges": ["*"]}],
    "users": [{"login": "ops@corp.local", "password": "pw", "role": "Admin"}],
    "vms": [{"id": "vm-7", "name": "solo", "guest_family": "linux",
             "power_state": "POWERED_ON",
             "guest_users": [{"name": "root", "password": "pw", "uid": 0}]}]
}"""


def test_tests_share_one_server_and_each_starts_from_the_fixture(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        PORTS = []

        def test_changes_everything(vcenter):
            PORTS.append(vcenter.port)
            vcenter.power("vm-1001", "POWERED_OFF")
            vcenter.put_file("vm-1001", "/tmp/left-behind", "x")
            vcenter.add_fault({"kind": "error", "error_type": "RESOURCE_BUSY"}, operation="vm.list")
            vcenter.advance_clock(7200)
            vcenter.login()

        def test_sees_none_of_it(vcenter):
            PORTS.append(vcenter.port)
            assert PORTS[0] == PORTS[1]
            assert vcenter.faults() == []
            assert vcenter.journal() == []
            assert vcenter.clock().mode == "system"
            assert vcenter.info().counts.sessions == 0
            api = vcenter.login()
            assert api.get("/api/vcenter/vm/vm-1001/power").json()["state"] == "POWERED_ON"
            assert vcenter.new_session().get(
                "/_mock/vms/vm-1001/files", params={"path": "/tmp/left-behind"}
            ).status_code == 404
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_markers_and_options_choose_the_servers_options(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        vcmock_seed = 11
        """
    )
    pytester.makepyfile(
        """
        import pytest

        def test_takes_the_ini_and_the_command_line(vcenter):
            info = vcenter.info()
            assert (info.seed, info.clock.mode) == (11, "manual")

        @pytest.mark.vcmock(seed=5, tls=False)
        def test_takes_its_marker(vcenter):
            assert vcenter.base_url.startswith("http://")
            assert vcenter.info().seed == 5

        pytestmark = pytest.mark.vcmock(clock_start="2031-01-01T00:00:00Z")

        def test_takes_the_module_marker(vcenter, vcmock_options):
            assert vcmock_options.clock_start == "2031-01-01T00:00:00Z"
            assert vcenter.clock().now.year == 2031
        """
    )
    pytester.runpytest("--vcmock-clock", "manual").assert_outcomes(passed=3)


def test_the_manual_clock_goes_back_to_its_start_between_tests(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.vcmock(clock="manual", clock_start="2030-01-01T00:00:00Z")

        @pytest.mark.parametrize("run", [1, 2])
        def test_starts_at_the_same_time(vcenter, run):
            assert vcenter.clock().now.isoformat() == "2030-01-01T00:00:00+00:00"
            vcenter.advance_clock(3600)
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_fixture_files_come_from_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".json", solo=ONE_VM_FIXTURE)
    pytester.makepyfile(
        """
        def test_sees_the_fixture(vcenter):
            assert vcenter.username == "ops@corp.local"
            assert vcenter.info().counts.vms == 1
        """
    )
    pytester.runpytest("--vcmock-fixtures", "solo.json").assert_outcomes(passed=1)


def test_a_fixture_replaced_by_one_test_is_gone_for_the_next(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import json

        def test_replaces_the_fixture(vcenter):
            vcenter.reset(fixture=json.loads({ONE_VM_FIXTURE!r}))
            assert vcenter.info().counts.vms == 1

        def test_has_the_built_in_fixture(vcenter):
            assert vcenter.info().counts.vms == 6
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_a_failing_test_shows_the_last_journal_entries(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_lists_a_missing_directory(vcenter):
            api = vcenter.login()
            api.get("/api/vcenter/vm")
            resp = api.post(
                "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=list",
                json={"credentials": {"interactive_session": False, "type": "USERNAME_PASSWORD",
                                      "user_name": "root", "password": "rootpw"},
                      "path": "/no/such/dir"},
            )
            assert resp.status_code == 200

        def test_fails_before_any_request(vcenter):
            assert False, "nothing sent"

        def test_passes(vcenter):
            vcenter.login()
        """
    )
    result = pytester.runpytest("--vcmock-seed", "3")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_lists_a_missing_directory _*",
            "*- vcmock journal -*",
            "vcmock at https://127.0.0.1:* (seed 3, clock system); the last 3 of 3 requests*",
            "#* POST /api/session -> 201 [[]session.create[]]*",
            "#* GET /api/vcenter/vm -> 200 [[]vm.list[]]*",
            "#* POST /api/vcenter/vm/vm-1001/guest/filesystem/files -> 404 NOT_FOUND "
            "[[]files.list[]] vm=vm-1001 path=/no/such/dir*",
            "*_ test_fails_before_any_request _*",
            "*- vcmock journal -*",
            "no request reached vcmock during this test",
        ]
    )
    assert result.stdout.str().count("- vcmock journal -") == 2


def test_the_journal_lines_option_limits_or_turns_off_the_section(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_fails_after_four_requests(vcenter):
            api = vcenter.login()
            for _ in range(3):
                api.get("/api/vcenter/vm")
            assert False
        """
    )
    limited = pytester.runpytest("--vcmock-journal-lines", "2")
    limited.stdout.fnmatch_lines(["*the last 2 of 4 requests*"])
    assert limited.stdout.str().count("[vm.list]") == 2
    off = pytester.runpytest("--vcmock-journal-lines", "0")
    off.assert_outcomes(failed=1)
    assert "vcmock journal" not in off.stdout.str()


def test_a_server_that_dies_fails_the_next_test_and_is_replaced(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_kills_it(vcenter):
            vcenter.process.kill()
            vcenter.process.wait()

        def test_is_told(vcenter):
            pass

        def test_gets_a_new_one(vcenter):
            assert vcenter.info().counts.vms == 6
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*the shared vcmock server exited (code -9)*"])


def test_a_server_stopped_by_a_test_is_replaced_without_a_fuss(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_stops_it(vcenter):
            assert vcenter.stop() == 0

        def test_gets_a_new_one(vcenter):
            assert vcenter.running
            assert vcenter.info().counts.vms == 6
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_the_sdk_fixture_skips_when_the_sdk_is_missing(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import sys
        import pytest

        @pytest.fixture(autouse=True)
        def no_sdk(monkeypatch):
            monkeypatch.setitem(sys.modules, "vmware.vapi.vsphere.client", None)
        """
    )
    pytester.makepyfile(
        """
        def test_needs_the_sdk(vcenter_sdk):
            raise AssertionError("not reached")
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*vcenter_sdk needs the official vSphere Automation SDK*"])


def test_the_pyvmomi_fixture_skips_when_pyvmomi_is_missing(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import sys
        import pytest

        @pytest.fixture(autouse=True)
        def no_pyvmomi(monkeypatch):
            monkeypatch.setitem(sys.modules, "pyVim.connect", None)
        """
    )
    pytester.makepyfile(
        """
        def test_needs_pyvmomi(vcenter_pyvmomi):
            raise AssertionError("not reached")
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*vcenter_pyvmomi needs pyvmomi (pip install pyvmomi)*"])


def test_the_pyvmomi_fixture_connects_to_the_soap_api(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_reads_the_service_content(vcenter_pyvmomi):
            about = vcenter_pyvmomi.RetrieveContent().about
            assert about.apiType == "VirtualCenter"
            vms = vcenter_pyvmomi.content.viewManager.CreateContainerView(
                vcenter_pyvmomi.content.rootFolder, [], True
            )
            assert vms.view
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1)
