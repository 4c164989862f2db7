"""The `vcenter_sdk` fixture with the pinned official vSphere Automation SDK."""

from __future__ import annotations

from typing import Any

import pytest
from com.vmware.vapi.std.errors_client import ResourceBusy  # type: ignore[import-untyped]
from com.vmware.vcenter.vm.guest.filesystem_client import Transfers  # type: ignore[import-untyped]
from com.vmware.vcenter.vm.guest_client import Credentials  # type: ignore[import-untyped]

import vcmock

ROOT_SDK = Credentials(
    interactive_session=False,
    type=Credentials.Type.USERNAME_PASSWORD,
    user_name="root",
    password="rootpw",
)


def test_the_sdk_client_is_logged_in_and_lists_the_fixture_vms(vcenter_sdk: Any) -> None:
    names = {vm.name for vm in vcenter_sdk.vcenter.VM.list()}
    assert {"linux-01", "windows-01", "linux-off"} <= names
    assert len(vcenter_sdk.get_session_id()) == 32


def test_sdk_calls_and_admin_changes_see_one_state(
    vcenter: vcmock.Server, vcenter_sdk: Any
) -> None:
    power = vcenter_sdk.vcenter.vm.Power
    power.stop("vm-1001")
    answered = vcenter.login().get("/api/vcenter/vm/vm-1001/power").json()
    assert answered["state"] == "POWERED_OFF"
    vcenter.power("vm-1003", "POWERED_ON")
    assert power.get("vm-1003").state == power.State.POWERED_ON
    stops = vcenter.journal(operation="vm.power.stop")
    assert [(e.method, e.path, e.vm) for e in stops] == [("POST", "/api", "vm-1001")]


def test_a_fault_rule_raises_the_sdks_exception_and_then_lets_calls_through(
    vcenter: vcmock.Server, vcenter_sdk: Any
) -> None:
    vcenter.add_fault(vcmock.Effect.error("RESOURCE_BUSY"), operation="vm.list", times=1)
    with pytest.raises(ResourceBusy):
        vcenter_sdk.vcenter.VM.list()
    assert len(vcenter_sdk.vcenter.VM.list()) == 6
    lists = vcenter.journal(operation="vm.list")
    assert [(e.status, e.error_type) for e in lists] == [(200, "RESOURCE_BUSY"), (200, None)]


def test_a_file_put_through_the_admin_api_downloads_through_an_sdk_transfer(
    vcenter: vcmock.Server, vcenter_sdk: Any
) -> None:
    vcenter.put_file("vm-1001", "/tmp/report.csv", "a,b\n1,2\n")
    transfers = vcenter_sdk.vcenter.vm.guest.filesystem.Transfers
    url = transfers.create("vm-1001", ROOT_SDK, Transfers.CreateSpec(path="/tmp/report.csv"))
    assert vcenter.session.get(vcenter.transfer_url(url)).text == "a,b\n1,2\n"
    [transfer] = vcenter.transfers()
    assert (transfer.path, transfer.state) == ("/tmp/report.csv", "redeemed")
