"""The admin helpers on `Server`, through the plugin's `vcenter` fixture."""

from __future__ import annotations

import pytest
import requests
from conftest import ROOT, create_transfer
from urllib3.util.retry import Retry

import vcmock


def power_state(vc: vcmock.Server, vm: str) -> str:
    state: str = vc.login().get(f"/api/vcenter/vm/{vm}/power").json()["state"]
    return state


def test_power_sets_the_state_that_the_api_reports(vcenter: vcmock.Server) -> None:
    vcenter.power("vm-1001", "POWERED_OFF")
    assert power_state(vcenter, "vm-1001") == "POWERED_OFF"
    vcenter.power("vm-1003", "POWERED_ON")
    assert power_state(vcenter, "vm-1003") == "POWERED_ON"


def test_put_file_and_read_file_round_trip_text_and_bytes(vcenter: vcmock.Server) -> None:
    vcenter.put_file("vm-1001", "/etc/app.conf", "debug=true\n", mode="600")
    vcenter.put_file("vm-1001", "/tmp/blob.bin", bytes(range(256)))
    assert vcenter.read_file("vm-1001", "/etc/app.conf") == b"debug=true\n"
    assert vcenter.read_file("vm-1001", "/tmp/blob.bin") == bytes(range(256))
    info = vcenter.login().post(
        "/api/vcenter/vm/vm-1001/guest/filesystem/files/%2Fetc%2Fapp.conf?action=get",
        json={"credentials": ROOT},
    )
    assert info.json()["size"] == 11
    assert info.json()["attributes"]["posix_attributes"]["permissions"] == "600"
    vcenter.delete_file("vm-1001", "/tmp/blob.bin")
    with pytest.raises(vcmock.AdminError) as gone:
        vcenter.read_file("vm-1001", "/tmp/blob.bin")
    assert (gone.value.status, gone.value.error_type) == (404, "NOT_FOUND")


def test_refusals_carry_vcenters_error_type_and_message(vcenter: vcmock.Server) -> None:
    with pytest.raises(vcmock.AdminError) as refused:
        vcenter.power("vm-9999", "POWERED_OFF")
    assert refused.value.status == 404
    assert refused.value.error_type == "NOT_FOUND"
    assert "vm-9999" in refused.value.message
    assert "PUT /_mock/vms/vm-9999/power answered 404" in str(refused.value)


def test_the_journal_gives_typed_entries_and_filters_them(vcenter: vcmock.Server) -> None:
    api = vcenter.login()
    api.get("/api/vcenter/vm")
    api.get("/api/vcenter/vm/vm-9999")
    entries = vcenter.journal()
    assert [e.operation for e in entries] == ["session.create", "vm.list", "vm.get"]
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)
    missing = vcenter.journal(status=404)
    assert len(missing) == 1
    assert (missing[0].vm, missing[0].error_type) == ("vm-9999", "NOT_FOUND")
    assert "GET /api/vcenter/vm/vm-9999 -> 404 NOT_FOUND [vm.get]" in missing[0].line()
    assert [e.operation for e in vcenter.journal(operation="vm.list")] == ["vm.list"]
    vcenter.clear_journal()
    assert vcenter.journal() == []


def test_transfers_are_listed_with_their_state(vcenter: vcmock.Server) -> None:
    url = create_transfer(vcenter, "vm-1001", "/etc/hostname")
    [issued] = vcenter.transfers()
    assert (issued.vm, issued.path, issued.direction, issued.state) == (
        "vm-1001",
        "/etc/hostname",
        "download",
        "issued",
    )
    assert (issued.expires - issued.created).total_seconds() == 600
    assert vcenter.session.get(url).content == b"linux-01\n"
    [used] = vcenter.transfers()
    assert used.state == "redeemed"
    assert used.ended is not None


@pytest.mark.vcmock(clock="manual")
def test_the_manual_clock_expires_a_transfer_url(vcenter: vcmock.Server) -> None:
    before = vcenter.clock()
    url = create_transfer(vcenter, "vm-1001", "/etc/hostname")
    after = vcenter.advance_clock(600)
    assert (after.now - before.now).total_seconds() == 600
    refused = vcenter.session.get(url)
    assert refused.status_code == 404
    assert "expired" in refused.text
    [transfer] = vcenter.transfers()
    assert transfer.state == "expired"
    assert vcenter.journal(operation="guestFile.get")[0].status == 404


def test_a_fault_rule_fails_twice_and_a_retrying_client_gets_through(
    vcenter: vcmock.Server,
) -> None:
    rule = vcenter.add_fault(
        vcmock.Effect.error("RESOURCE_BUSY"), operation="files.list", vm="vm-1001", times=2
    )
    assert (rule.operation, rule.times, rule.effect["error_type"]) == (
        "files.list",
        2,
        "RESOURCE_BUSY",
    )
    api = vcenter.login()
    # The code under test: requests with urllib3's retries on server errors, POST included.
    retry = Retry(total=3, status_forcelist=[500, 503], allowed_methods=None, backoff_factor=0)
    api.mount("https://", requests.adapters.HTTPAdapter(max_retries=retry))
    listing = api.post(
        "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=list",
        json={"credentials": ROOT, "path": "/etc"},
    )
    assert listing.status_code == 200
    assert "hosts" in [f["filename"] for f in listing.json()["files"]]
    statuses = [(e.status, e.error_type) for e in vcenter.journal(operation="files.list")]
    assert statuses == [(500, "RESOURCE_BUSY"), (500, "RESOURCE_BUSY"), (200, None)]
    [after] = vcenter.faults()
    assert (after.id, after.matched, after.fired) == (rule.id, 3, 2)


def test_fault_rules_can_be_removed_one_by_one_or_all(vcenter: vcmock.Server) -> None:
    first = vcenter.add_fault(vcmock.Effect.status(502, "bad gateway"), operation="vm.list")
    vcenter.add_fault({"kind": "delay", "ms": 1}, operation="vm.get", after=1)
    assert vcenter.login().get("/api/vcenter/vm").text == "bad gateway"
    vcenter.remove_fault(first)
    assert [r.operation for r in vcenter.faults()] == ["vm.get"]
    vcenter.clear_faults()
    assert vcenter.faults() == []


def test_restore_brings_back_the_start_clock_and_state(vcenter: vcmock.Server) -> None:
    start = vcenter.clock()
    vcenter.advance_clock(3600)
    vcenter.power("vm-1001", "SUSPENDED")
    vcenter.add_fault(vcmock.Effect.reset(), operation="vm.list")
    vcenter.login()
    vcenter.restore()
    assert vcenter.clock().mode == start.mode == "system"
    assert power_state(vcenter, "vm-1001") == "POWERED_ON"
    assert vcenter.faults() == []
    assert [e.operation for e in vcenter.journal()] == ["session.create", "vm.power.get"]
    assert vcenter.info().counts.sessions == 1
