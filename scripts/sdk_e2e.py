"""End-to-end check of vcmock with the official vSphere Automation SDK for Python.

Usage: python sdk_e2e.py HOST:PORT CERT_PATH USER PASSWORD

Everything goes through the SDK's own stubs (vAPI JSON-RPC at POST /api), except the transfer
bytes, which go to the returned /guestFile URL with requests, as SDK users do, and one move of
vcmock's clock through its admin API (to let a guest reboot finish).
"""

import sys
import traceback

import requests
from com.vmware.vapi.std.errors_client import (
    AlreadyInDesiredState,
    InvalidArgument,
    NotAllowedInCurrentState,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
    Unauthorized,
)
from com.vmware.vcenter.vm.guest.filesystem_client import Directories, Files, Transfers
from com.vmware.vcenter.vm.guest_client import Credentials, Environment, Identity, Operations, Processes
from com.vmware.vcenter.vm.guest_client import Power as GuestPower
from com.vmware.vcenter.vm_client import Power, Tools
from com.vmware.vcenter_client import VM
from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.security.session import create_session_security_context
from vmware.vapi.stdlib.client.factories import StubConfigurationFactory
from vmware.vapi.vsphere.client import create_vsphere_client

SERVER, CERT, USER, PASSWORD = sys.argv[1:5]
LINUX, WINDOWS, TOOLS_OFF, POWERED_OFF = "vm-1001", "vm-1002", "vm-1005", "vm-1003"
ROOT = Credentials(interactive_session=False, type=Credentials.Type.USERNAME_PASSWORD,
                   user_name="root", password="rootpw")

results = []


def check(name):
    """Runs the decorated function as one named check and records the outcome."""
    def run(fn):
        try:
            fn()
            results.append((name, True))
            print(f"ok      {name}")
        except Exception:  # noqa: BLE001 - every failure is reported, then counted
            results.append((name, False))
            print(f"FAILED  {name}")
            traceback.print_exc()
        return fn
    return run


def http():
    """A requests session that trusts vcmock's certificate. `trust_env = False` keeps
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment from overriding `verify`."""
    s = requests.Session()
    s.verify = CERT
    s.trust_env = False
    return s


def expect(exc_class, fn):
    try:
        fn()
    except exc_class:
        return
    except Exception as other:  # noqa: BLE001
        raise AssertionError(f"expected {exc_class.__name__}, got {type(other).__name__}: {other}")
    raise AssertionError(f"expected {exc_class.__name__}, nothing was raised")


@check("log in with a bad password raises Unauthenticated")
def _():
    expect(Unauthenticated, lambda: create_vsphere_client(server=SERVER, username=USER,
                                                          password="wrong", session=http()))


client = create_vsphere_client(server=SERVER, username=USER, password=PASSWORD, session=http())
stub_config = StubConfigurationFactory.new_std_configuration(get_requests_connector(
    session=http(), url=f"https://{SERVER}/api",
    provider_filter_chain=[],
))
stub_config.connector.set_security_context(create_session_security_context(client.get_session_id()))
vms, power, tools = VM(stub_config), Power(stub_config), Tools(stub_config)
files, dirs, transfers = Files(stub_config), Directories(stub_config), Transfers(stub_config)
processes, guest_power, environment = Processes(stub_config), GuestPower(stub_config), Environment(stub_config)
ALICE = Credentials(interactive_session=False, type=Credentials.Type.USERNAME_PASSWORD,
                    user_name="alice", password="alicepw")


@check("log in with a good password and read the session")
def _():
    assert len(client.get_session_id()) == 32


@check("list VMs, filter them by name and power state, and get one")
def _():
    all_vms = vms.list()
    assert {v.vm for v in all_vms} >= {LINUX, TOOLS_OFF, POWERED_OFF}, all_vms
    by_name = vms.list(VM.FilterSpec(names={"linux-01"}))
    assert [v.vm for v in by_name] == [LINUX], by_name
    off = vms.list(VM.FilterSpec(power_states={Power.State.POWERED_OFF}))
    assert [v.vm for v in off] == [POWERED_OFF], off
    assert by_name[0].memory_size_mib == 4096
    info = vms.get(LINUX)
    assert info.name == "linux-01" and info.cpu.count == 2 and info.memory.size_mib == 4096, info
    assert list(info.disks.keys()) == ["2000"] and info.nics["4000"].backing.network_name == "VM Network"


@check("power cycle a VM while watching Tools")
def _():
    assert tools.get(LINUX).run_state == Tools.RunState.RUNNING
    power.stop(LINUX)
    state = power.get(LINUX)
    assert state.state == Power.State.POWERED_OFF and state.clean_power_off is False, state
    assert tools.get(LINUX).run_state == Tools.RunState.NOT_RUNNING
    power.start(LINUX)
    assert power.get(LINUX).state == Power.State.POWERED_ON
    assert tools.get(LINUX).run_state == Tools.RunState.RUNNING


@check("read guest identity, guest power and operations readiness")
def _():
    ident = Identity(stub_config).get(LINUX)
    assert ident.host_name == "linux-01" and ident.family == "LINUX", ident
    assert GuestPower(stub_config).get(LINUX).state == GuestPower.State.RUNNING
    assert Operations(stub_config).get(LINUX).guest_operations_ready is True


temp = {}


@check("create a temporary file and a temporary directory")
def _():
    temp["file"] = files.create_temporary(LINUX, ROOT, "sdk-", ".txt")
    temp["dir"] = dirs.create_temporary(LINUX, ROOT, "sdkdir-", "", parent_path="/tmp")
    assert temp["file"].startswith("/tmp/sdk-") and temp["file"].endswith(".txt"), temp
    assert temp["dir"].startswith("/tmp/sdkdir-"), temp


@check("list and get")
def _():
    page = files.list(LINUX, ROOT, "/etc", iteration=Files.IterationSpec(size=2))
    assert page.total == 5 and len(page.files) == 2 and page.status == Files.LastIterationStatus.READY, page
    info = files.get(LINUX, ROOT, "/etc/hosts")
    assert info.type == Files.Type.FILE and info.size == 80, info
    assert info.attributes.posix_attributes.permissions == "644", info


@check("move and delete")
def _():
    moved = temp["dir"] + "/moved.txt"
    files.move(LINUX, ROOT, temp["file"], moved)
    expect(NotFound, lambda: files.get(LINUX, ROOT, temp["file"]))
    dirs.create(LINUX, ROOT, temp["dir"] + "/sub/deeper", create_parents=True)
    dirs.move(LINUX, ROOT, temp["dir"] + "/sub", temp["dir"] + "/sub2")
    files.delete(LINUX, ROOT, moved)
    dirs.delete(LINUX, ROOT, temp["dir"], recursive=True)
    expect(NotFound, lambda: files.get(LINUX, ROOT, temp["dir"]))


@check("download through a transfer URL with * substituted")
def _():
    url = transfers.create(LINUX, ROOT, Transfers.CreateSpec(path="/etc/hostname"))
    assert url.startswith("https://*:"), url
    host = SERVER.split(":")[0]
    got = http().get(url.replace("*", host, 1))
    assert got.status_code == 200 and got.content == b"linux-01\n", (got.status_code, got.content)
    again = http().get(url.replace("*", host, 1))
    assert again.status_code == 404, again.status_code


@check("upload through a transfer URL and read it back")
def _():
    data = b"uploaded by the python sdk\n"
    spec = Transfers.CreateSpec(path="/tmp/from-sdk.txt",
                                attributes=Transfers.FileCreationAttributes(size=len(data), overwrite=True))
    url = transfers.create(LINUX, ROOT, spec)
    host = SERVER.split(":")[0]
    put = http().put(url.replace("*", host, 1), data=data,
                     headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 200, put.status_code
    back = transfers.create(LINUX, ROOT, Transfers.CreateSpec(path="/tmp/from-sdk.txt"))
    assert http().get(back.replace("*", host, 1)).content == data


@check("an unknown VM raises NotFound")
def _():
    expect(NotFound, lambda: files.get("vm-9999", ROOT, "/etc/hosts"))


@check("Tools not running raises ServiceUnavailable")
def _():
    expect(ServiceUnavailable, lambda: files.list(TOOLS_OFF, ROOT, "/tmp"))


@check("a bad guest password raises Unauthenticated")
def _():
    bad = Credentials(interactive_session=False, type=Credentials.Type.USERNAME_PASSWORD,
                      user_name="root", password="nope")
    expect(Unauthenticated, lambda: files.list(LINUX, bad, "/tmp"))


@check("a powered-off VM raises NotAllowedInCurrentState")
def _():
    expect(NotAllowedInCurrentState, lambda: files.list(POWERED_OFF, ROOT, "/tmp"))


@check("a missing file raises NotFound carrying FileErrorDetails")
def _():
    try:
        files.get(LINUX, ROOT, "/tmp/none")
    except NotFound as e:
        details = e.data.convert_to(
            __import__("com.vmware.vcenter.vm.guest.filesystem_client", fromlist=["FileErrorDetails"]).FileErrorDetails)
        assert details.reason == "FILE_NOT_FOUND" and details.file_path == "/tmp/none", details
        return
    raise AssertionError("no NotFound")


@check("run a program, read its exit code and its output, as guest automation does")
def _():
    spec = Processes.CreateSpec(path="/bin/bash", arguments="-c 'echo $GREETING from $PWD' > /tmp/sdk.out",
                                working_directory="/tmp", environment_variables={"GREETING": "hello"})
    pid = processes.create(LINUX, ROOT, spec)
    assert isinstance(pid, int) and pid >= 1000, pid
    info = processes.get(LINUX, ROOT, pid)
    assert info.exit_code == 0 and info.finished is not None and info.owner == "root", info
    assert info.name == "bash" and info.command.startswith('"/bin/bash" -c'), info
    host = SERVER.split(":")[0]
    url = transfers.create(LINUX, ROOT, Transfers.CreateSpec(path="/tmp/sdk.out"))
    assert http().get(url.replace("*", host, 1)).content == b"hello from /tmp\n"
    listed = processes.list(LINUX, ROOT)
    assert [p.pid for p in listed][:3] == [1, 412, 538] and pid in [p.pid for p in listed], listed


@check("terminate a long program, and refuse what the guest user may not do")
def _():
    pid = processes.create(LINUX, ALICE, Processes.CreateSpec(path="/bin/bash", arguments="-c 'sleep 3600'"))
    assert processes.get(LINUX, ALICE, pid).exit_code is None
    processes.delete(LINUX, ALICE, pid)
    assert processes.get(LINUX, ALICE, pid).exit_code == 143
    expect(Unauthorized, lambda: processes.delete(LINUX, ALICE, 1))
    expect(InvalidArgument, lambda: processes.create(
        LINUX, ROOT, Processes.CreateSpec(path="/bin/bash", start_minimized=True)))
    expect(NotFound, lambda: processes.create(LINUX, ROOT, Processes.CreateSpec(path="/no/such/program")))


@check("an unknown pid raises NotFound carrying ProcessErrorDetails")
def _():
    try:
        processes.get(LINUX, ROOT, 424242)
    except NotFound as e:
        details = e.data.convert_to(Processes.ProcessErrorDetails)
        assert details.pid == 424242, details
        return
    raise AssertionError("no NotFound")


@check("read the guest user's environment")
def _():
    env = environment.list(LINUX, ALICE, {"HOME", "USER", "NO_SUCH_NAME"})
    assert env == {"HOME": "/home/alice", "USER": "alice"}, env
    assert "PATH" in environment.list(LINUX, ALICE, set()), "an empty set reads every variable"
    assert environment.get(LINUX, ALICE, "SHELL") == "/bin/bash"
    expect(NotFound, lambda: environment.get(LINUX, ALICE, "NO_SUCH_NAME"))


@check("reboot, standby and shut down a guest through guest power")
def _():
    guest_power.reboot(WINDOWS)
    assert guest_power.get(WINDOWS).state == GuestPower.State.RESETTING
    assert power.get(WINDOWS).state == Power.State.POWERED_ON
    moved = http().post(f"https://{SERVER}/_mock/clock", json={"advance_seconds": 11})
    assert moved.status_code == 200, moved.status_code
    assert guest_power.get(WINDOWS).state == GuestPower.State.RUNNING
    guest_power.standby(WINDOWS)
    assert power.get(WINDOWS).state == Power.State.SUSPENDED
    expect(AlreadyInDesiredState, lambda: guest_power.standby(WINDOWS))
    power.start(WINDOWS)
    guest_power.shutdown(WINDOWS)
    state = power.get(WINDOWS)
    assert state.state == Power.State.POWERED_OFF and state.clean_power_off is True, state
    expect(AlreadyInDesiredState, lambda: guest_power.shutdown(WINDOWS))
    expect(NotAllowedInCurrentState, lambda: guest_power.reboot(WINDOWS))
    expect(ServiceUnavailable, lambda: guest_power.shutdown(TOOLS_OFF))


@check("log out")
def _():
    client.session_svc.delete()
    expect(Unauthenticated, lambda: vms.list())


passed = sum(1 for _, ok in results if ok)
failed = len(results) - passed
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
