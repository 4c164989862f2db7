"""End-to-end check of vcmock's SOAP endpoint (/sdk) with pyVmomi from PyPI.

Usage: python pyvmomi_e2e.py HOST:PORT CERT_PATH USER PASSWORD [GROUP...]

Groups: `core` (session, inventory, properties, power; issue 17) and `guest` (guest file,
process and auth managers on Linux and Windows; issue 18). Default: both, core first. Only
pyVmomi's public API is used, as pyVmomi users and Ansible's community.vmware do; transfer bytes
go to the returned /guestFile URL with requests, after replacing `*` with the host as naive
scripts do. The REST API is used once, to show a REST transfer URL is revoked by a SOAP power-off.
Prints "PASS name" or "FAIL name: why" per check; exits 1 when any check failed.
"""

import ssl
import sys
import time
import traceback

import requests
from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl

SERVER, CERT, USER, PASSWORD = sys.argv[1:5]
GROUPS = sys.argv[5:] or ["core", "guest"]
HOST, PORT = SERVER.rsplit(":", 1)
LINUX, WINDOWS, POWERED_OFF = "linux-01", "windows-01", "linux-off"
ROOT = vim.vm.guest.NamePasswordAuthentication(username="root", password="rootpw")
ADMIN = vim.vm.guest.NamePasswordAuthentication(username="Administrator", password="AdminPw1!")
FM = vim.vm.guest.FileManager
PC = vmodl.query.PropertyCollector
results = []


def check(name):
    """Runs the decorated function at once as one named check and records the outcome."""
    def run(fn):
        try:
            fn()
            results.append(True)
            print(f"PASS {name}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
            results.append(False)
            print(f"FAIL {name}: {why(e)}", flush=True)
            traceback.print_exc(limit=3)
        return fn
    return run


def why(e):
    """One line for a failure: a vim fault's type and message, else the exception."""
    if isinstance(e, vmodl.MethodFault):
        return f"{type(e).__name__}: {e.msg}"
    return f"{type(e).__name__}: {e}"


def expect(fault_class, fn):
    """Calls fn and returns the fault it raised, which must be a fault_class."""
    try:
        fn()
    except fault_class as e:
        return e
    except Exception as other:  # noqa: BLE001
        raise AssertionError(f"expected {fault_class.__name__}, got {why(other)}") from other
    raise AssertionError(f"expected {fault_class.__name__}, nothing was raised")


def tls():
    """An SSL context that trusts vcmock's certificate (and checks the host name)."""
    return ssl.create_default_context(cafile=CERT)


def http():
    """A requests session that trusts vcmock's certificate and ignores proxy/CA variables."""
    s = requests.Session()
    s.verify = CERT
    s.trust_env = False
    return s


def connect(password):
    """SmartConnect to vcmock, verifying its certificate."""
    return SmartConnect(host=HOST, port=int(PORT), user=USER, pwd=password, sslContext=tls())


def transfer_url(url):
    """The URL a naive pyVmomi script uses: `*` replaced with the host, the port kept."""
    assert "*" in url, url
    return url.replace("*", HOST, 1)


def wait_task(task):
    """WaitForTask, then the task's final info."""
    WaitForTask(task)
    return task.info


si = None
content = None
vms = {}  # name -> vim.VirtualMachine
uuids = {}  # name -> config.uuid


def setup():
    """Logs in and finds the fixture's VMs (the core group checks the same calls)."""
    global si, content
    si = connect(PASSWORD)
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    for vm in view.view:
        vms[vm.name] = vm
    view.Destroy()


def core():
    """Issue 17: session, about, inventory, properties and power."""
    @check("SmartConnect with a bad password raises vim.fault.InvalidLogin")
    def _():
        e = expect(vim.fault.InvalidLogin, lambda: connect(PASSWORD + "-wrong"))
        assert e.msg, e

    @check("SmartConnect with the good password gives a session")
    def _():
        global si
        si = connect(PASSWORD)
        session = si.content.sessionManager.currentSession
        assert session is not None and session.key and session.userName, session

    @check("RetrieveContent: about says VirtualCenter, 8.0.3")
    def _():
        global content
        content = si.RetrieveContent()
        about = content.about
        assert about.apiType == "VirtualCenter", about
        assert about.apiVersion.startswith("8.0.3") and about.version.startswith("8.0.3"), about
        assert about.name and about.fullName and about.instanceUuid, about
        print(f"     about: {about.fullName} (apiVersion {about.apiVersion})")

    if content is None:
        return

    @check("a ContainerView with RetrievePropertiesEx (maxObjects 2) and Continue reads every VM")
    def _():
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        try:
            spec = PC.FilterSpec(
                objectSet=[PC.ObjectSpec(obj=view, skip=True, selectSet=[PC.TraversalSpec(
                    name="traverseEntities", type=vim.view.ContainerView, path="view", skip=False)])],
                propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=[
                    "name", "runtime.powerState", "config.uuid", "guest.toolsRunningStatus"])])
            pc = content.propertyCollector
            result = pc.RetrievePropertiesEx([spec], PC.RetrieveOptions(maxObjects=2))
            objects, pages = [], 0
            while result is not None:
                pages += 1
                assert len(result.objects) <= 2, result
                objects += result.objects
                result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
            props = {o.obj._moId: {p.name: p.val for p in o.propSet} for o in objects}
            members = {vm._moId for vm in view.view}
        finally:
            view.Destroy()
        assert set(props) == members and len(objects) == len(members), (props, members)
        assert pages == (len(members) + 1) // 2, pages
        by_name = {p["name"]: (moid, p) for moid, p in props.items()}
        assert {LINUX, WINDOWS, POWERED_OFF} <= set(by_name), by_name
        assert by_name[LINUX][1]["runtime.powerState"] == "poweredOn", by_name[LINUX]
        assert by_name[LINUX][1]["guest.toolsRunningStatus"] == "guestToolsRunning", by_name[LINUX]
        assert by_name[POWERED_OFF][1]["runtime.powerState"] == "poweredOff", by_name[POWERED_OFF]
        for name, (moid, p) in by_name.items():
            vms[name] = vim.VirtualMachine(moid, si._stub)
            uuids[name] = p["config.uuid"]

    if LINUX not in vms:
        setup()
    linux = vms[LINUX]

    @check("SearchIndex.FindByUuid finds a VM by BIOS and by instance UUID; an unknown one is None")
    def _():
        si_ = content.searchIndex
        found = si_.FindByUuid(None, linux.config.uuid, True, False)
        assert found == linux, found
        found = si_.FindByUuid(None, linux.config.instanceUuid, True, True)
        assert found == linux, found
        assert si_.FindByUuid(None, "00000000-0000-0000-0000-000000000000", True, False) is None

    @check("SearchIndex.FindByInventoryPath finds DC/vm/NAME")
    def _():
        dc = content.rootFolder.childEntity[0]
        assert isinstance(dc, vim.Datacenter), dc
        found = content.searchIndex.FindByInventoryPath(f"{dc.name}/vm/{LINUX}")
        assert found == linux, found
        assert content.searchIndex.FindByInventoryPath(f"{dc.name}/vm/no-such-vm") is None

    @check("vm.summary, vm.guest, vm.runtime and vm.config deserialise whole and agree")
    def _():
        summary, guest, runtime, config = linux.summary, linux.guest, linux.runtime, linux.config
        assert summary.config.name == LINUX and summary.config.uuid == config.uuid, summary.config
        assert summary.runtime.powerState == runtime.powerState == "poweredOn", (summary.runtime, runtime)
        assert summary.vm == linux, summary.vm
        assert runtime.connectionState == "connected", runtime
        assert guest.toolsRunningStatus == "guestToolsRunning", guest
        assert guest.toolsVersionStatus2 != "guestToolsNotInstalled", guest
        assert guest.guestFamily == "linuxGuest" and guest.hostName == LINUX, guest
        assert guest.ipAddress == "192.0.2.11", guest
        assert config.guestFullName == "Ubuntu Linux (64-bit)", config
        assert config.hardware.numCPU == 2 and config.hardware.memoryMB == 4096, config.hardware
        assert config.instanceUuid and config.instanceUuid != config.uuid, config

    @check("a REST transfer URL is refused after a SOAP power-off; power on again with WaitForTask")
    def _():
        rest = http()
        token = rest.post(f"https://{SERVER}/api/session", auth=(USER, PASSWORD))
        assert token.status_code == 201, token.text
        rest.headers["vmware-api-session-id"] = token.json()
        issued = rest.post(f"https://{SERVER}/api/vcenter/vm/{linux._moId}/guest/filesystem?action=create", json={
            "credentials": {"interactive_session": False, "type": "USERNAME_PASSWORD",
                            "user_name": "root", "password": "rootpw"},
            "spec": {"path": "/etc/hostname"}})
        assert issued.status_code == 201, issued.text
        url = transfer_url(issued.json())
        info = wait_task(linux.PowerOffVM_Task())
        assert info.state == "success" and info.entity == linux, info
        assert linux.runtime.powerState == "poweredOff"
        refused = http().get(url)
        assert refused.status_code != 200, (refused.status_code, refused.text)
        info = wait_task(linux.PowerOnVM_Task())
        assert info.state == "success" and linux.runtime.powerState == "poweredOn", info
        rest.delete(f"https://{SERVER}/api/session")

    @check("a second PowerOn fails in WaitForTask with vim.fault.InvalidPowerState")
    def _():
        task = linux.PowerOnVM_Task()
        e = expect(vim.fault.InvalidPowerState, lambda: WaitForTask(task))
        assert e.existingState == "poweredOn", e
        assert task.info.state == "error" and task.info.name.info.name == "PowerOn", task.info


def guest_env():
    """The guest managers, read through ServiceContent as pyVmomi users do."""
    gom = content.guestOperationsManager
    fm, pm, am = gom.fileManager, gom.processManager, gom.authManager
    assert fm is not None and pm is not None and am is not None, (fm, pm, am)
    return fm, pm, am


def upload(fm, vm, creds, path, data, attributes, overwrite=True):
    """InitiateFileTransferToGuest, then a PUT of data to the URL; 200 is the only success."""
    url = fm.InitiateFileTransferToGuest(vm, creds, path, attributes, len(data), overwrite)
    r = http().put(transfer_url(url), data=data)
    assert r.status_code == 200, (r.status_code, r.text)


def download(fm, vm, creds, path):
    """InitiateFileTransferFromGuest, then a GET; the body and the FileTransferInformation."""
    info = fm.InitiateFileTransferFromGuest(vm, creds, path)
    r = http().get(transfer_url(info.url))
    assert r.status_code == 200, (r.status_code, r.text)
    assert len(r.content) == info.size, (len(r.content), info.size)
    return r.content, info


def wait_process(pm, vm, creds, pid, limit=60):
    """Polls ListProcessesInGuest([pid]) until the process has ended, as vmware_vm_shell does."""
    deadline = time.monotonic() + limit
    while True:
        procs = pm.ListProcessesInGuest(vm, creds, [pid])
        assert len(procs) == 1 and procs[0].pid == pid, procs
        if procs[0].endTime is not None:
            assert procs[0].exitCode is not None and procs[0].startTime <= procs[0].endTime, procs[0]
            return procs[0]
        assert time.monotonic() < deadline, f"pid {pid} still running after {limit} s"
        time.sleep(0.5)


def guest():
    """Issue 18: the guest file, process and auth managers on Linux and Windows."""
    env = []

    @check("the guest managers and the fixture's Linux, Windows and powered-off VMs are there")
    def _():
        env.extend(guest_env())
        missing = {LINUX, WINDOWS, POWERED_OFF} - set(vms)
        assert not missing, f"no VM named {missing} among {sorted(vms)}"

    if len(env) != 3 or {LINUX, WINDOWS, POWERED_OFF} - set(vms):
        return
    fm, pm, am = env
    linux, windows = vms[LINUX], vms[WINDOWS]
    base = "/tmp/pyvmomi-e2e"

    @check("ValidateCredentialsInGuest accepts root and Administrator; a bad password is InvalidGuestLogin")
    def _():
        am.ValidateCredentialsInGuest(linux, ROOT)
        am.ValidateCredentialsInGuest(windows, ADMIN)
        bad = vim.vm.guest.NamePasswordAuthentication(username="root", password="wrong")
        expect(vim.fault.InvalidGuestLogin, lambda: am.ValidateCredentialsInGuest(linux, bad))
        expect(vim.fault.InvalidGuestLogin, lambda: fm.ListFilesInGuest(linux, bad, "/tmp"))

    @check("a guest call on a powered-off VM raises InvalidPowerState")
    def _():
        e = expect(vim.fault.InvalidPowerState, lambda: fm.ListFilesInGuest(vms[POWERED_OFF], ROOT, "/tmp"))
        assert e.existingState == "poweredOff", e

    tmp = {}

    @check("MakeDirectoryInGuest, CreateTemporaryFileInGuest and CreateTemporaryDirectoryInGuest")
    def _():
        fm.MakeDirectoryInGuest(linux, ROOT, base + "/sub/deeper", True)
        expect(vim.fault.FileAlreadyExists, lambda: fm.MakeDirectoryInGuest(linux, ROOT, base, False))
        expect(vim.fault.FileNotFound, lambda: fm.MakeDirectoryInGuest(linux, ROOT, base + "/no/parent", False))
        tmp["file"] = fm.CreateTemporaryFileInGuest(linux, ROOT, "py-", ".txt", base)
        tmp["dir"] = fm.CreateTemporaryDirectoryInGuest(linux, ROOT, "pydir-", "", base)
        assert tmp["file"].startswith(base + "/py-") and tmp["file"].endswith(".txt"), tmp
        assert tmp["dir"].startswith(base + "/pydir-"), tmp
        default = fm.CreateTemporaryFileInGuest(linux, ROOT, "py-", "")
        assert default.startswith("/tmp/py-"), default
        fm.DeleteFileInGuest(linux, ROOT, default)

    @check("ListFilesInGuest pages with index/maxResults, an exact remaining, matchPattern and posix attributes")
    def _():
        assert {"file", "dir"} <= set(tmp), "the temporary file and directory were not made"
        whole = fm.ListFilesInGuest(linux, ROOT, base)
        assert whole.remaining == 0, whole.remaining
        names = [f.path for f in whole.files]
        assert {"sub", tmp["file"].rsplit("/", 1)[1], tmp["dir"].rsplit("/", 1)[1]} <= set(names), names
        paged, index = [], 0
        while True:
            page = fm.ListFilesInGuest(linux, ROOT, base, index, 1)
            assert len(page.files) <= 1 and page.remaining == len(names) - index - len(page.files), (index, page)
            paged += [f.path for f in page.files]
            index += len(page.files)
            if page.remaining == 0:
                break
        assert paged == names, (paged, names)
        for f in whole.files:
            a = f.attributes
            assert isinstance(a, FM.PosixFileAttributes), f
            assert a.ownerId is not None and a.groupId is not None and a.permissions is not None, f
        only = fm.ListFilesInGuest(linux, ROOT, base, None, None, r"py-.*\.txt")
        assert [f.path for f in only.files] == [tmp["file"].rsplit("/", 1)[1]], only
        expect(vim.fault.FileNotFound, lambda: fm.ListFilesInGuest(linux, ROOT, base + "/enoent"))

    @check("MoveFileInGuest, MoveDirectoryInGuest, NotAFile, and ChangeFileAttributesInGuest")
    def _():
        assert {"file", "dir"} <= set(tmp), "the temporary file and directory were not made"
        moved = base + "/moved.txt"
        fm.MoveFileInGuest(linux, ROOT, tmp["file"], moved, False)
        expect(vim.fault.NotAFile, lambda: fm.MoveFileInGuest(linux, ROOT, tmp["dir"], base + "/x", False))
        fm.MoveDirectoryInGuest(linux, ROOT, tmp["dir"], base + "/moved-dir")
        fm.ChangeFileAttributesInGuest(linux, ROOT, moved, FM.PosixFileAttributes(permissions=0o600))
        f = [f for f in fm.ListFilesInGuest(linux, ROOT, base).files if f.path == "moved.txt"]
        assert len(f) == 1 and f[0].attributes.permissions & 0o777 == 0o600, f
        tmp["moved"] = moved

    script = b'#!/bin/sh\necho "hello from $GREETING"\nuname -s\nexit 3\n'

    @check("upload a script, run it with StartProgramInGuest, poll, check its exit code and output")
    def _():
        upload(fm, linux, ROOT, base + "/run.sh", script, FM.PosixFileAttributes(permissions=0o755))
        back, info = download(fm, linux, ROOT, base + "/run.sh")
        assert back == script and isinstance(info.attributes, FM.PosixFileAttributes), (back, info)
        expect(vim.fault.FileAlreadyExists, lambda: upload(
            fm, linux, ROOT, base + "/run.sh", b"x", FM.FileAttributes(), overwrite=False))
        spec = vim.vm.guest.ProcessManager.ProgramSpec(
            programPath=base + "/run.sh", arguments=f"> {base}/out.txt 2>&1",
            workingDirectory=base, envVariables=["GREETING=pyvmomi"])
        pid = pm.StartProgramInGuest(linux, ROOT, spec)
        proc = wait_process(pm, linux, ROOT, pid)
        assert proc.exitCode == 3 and proc.owner == "root", proc
        out, _ = download(fm, linux, ROOT, base + "/out.txt")
        assert out == b"hello from pyvmomi\nLinux\n", out

    @check("a download URL works once: the second GET is refused")
    def _():
        info = fm.InitiateFileTransferFromGuest(linux, ROOT, base + "/run.sh")
        url = transfer_url(info.url)
        assert "443" not in url.split("?", 1)[1], url
        first = http().get(url)
        assert first.status_code == 200 and first.content == script, first.status_code
        second = http().get(url)
        assert second.status_code != 200, second.status_code

    @check("a URL issued before a power-off is refused after it")
    def _():
        info = fm.InitiateFileTransferFromGuest(linux, ROOT, base + "/run.sh")
        wait_task(linux.PowerOffVM_Task())
        try:
            refused = http().get(transfer_url(info.url))
        finally:
            wait_task(linux.PowerOnVM_Task())
        assert refused.status_code != 200, refused.status_code

    @check("TerminateProcessInGuest ends a running process; an unknown pid is GuestProcessNotFound")
    def _():
        spec = vim.vm.guest.ProcessManager.ProgramSpec(programPath="/bin/sh", arguments="-c 'sleep 600'")
        pid = pm.StartProgramInGuest(linux, ROOT, spec)
        running = pm.ListProcessesInGuest(linux, ROOT, [pid])
        assert len(running) == 1 and running[0].endTime is None, running
        pm.TerminateProcessInGuest(linux, ROOT, pid)
        wait_process(pm, linux, ROOT, pid, limit=10)
        e = expect(vim.fault.GuestProcessNotFound, lambda: pm.TerminateProcessInGuest(linux, ROOT, 987654))
        assert e.pid == 987654, e
        everyone = pm.ListProcessesInGuest(linux, ROOT)
        assert any(p.pid == pid for p in everyone) and len(everyone) > 1, everyone

    @check("ReadEnvironmentVariableInGuest returns NAME=value, for named and for all variables")
    def _():
        named = pm.ReadEnvironmentVariableInGuest(linux, ROOT, ["PATH"])
        assert len(named) == 1 and named[0].startswith("PATH=/"), named
        everything = pm.ReadEnvironmentVariableInGuest(linux, ROOT)
        assert any(v.startswith("PATH=") for v in everything) and all("=" in v for v in everything), everything

    @check("DeleteFileInGuest and DeleteDirectoryInGuest, with FileNotFound, NotAFile, NotADirectory, DirectoryNotEmpty")
    def _():
        assert "moved" in tmp, "the moved file was not made"
        expect(vim.fault.NotAFile, lambda: fm.DeleteFileInGuest(linux, ROOT, base + "/sub"))
        expect(vim.fault.NotADirectory, lambda: fm.DeleteDirectoryInGuest(linux, ROOT, tmp["moved"], False))
        fm.DeleteFileInGuest(linux, ROOT, tmp["moved"])
        expect(vim.fault.FileNotFound, lambda: fm.DeleteFileInGuest(linux, ROOT, tmp["moved"]))
        expect(vim.fault.DirectoryNotEmpty, lambda: fm.DeleteDirectoryInGuest(linux, ROOT, base, False))
        fm.DeleteDirectoryInGuest(linux, ROOT, base, True)
        expect(vim.fault.FileNotFound, lambda: fm.ListFilesInGuest(linux, ROOT, base))

    @check("Windows: list with windows attributes, upload, run cmd.exe, download its output")
    def _():
        listing = fm.ListFilesInGuest(windows, ADMIN, "C:\\Temp")
        assert listing.files and all(isinstance(f.attributes, FM.WindowsFileAttributes) for f in listing.files), listing
        upload(fm, windows, ADMIN, "C:\\Temp\\pyvmomi.txt", b"hello windows\r\n",
               FM.WindowsFileAttributes(hidden=False, readOnly=False))
        back, _ = download(fm, windows, ADMIN, "C:\\Temp\\pyvmomi.txt")
        assert back == b"hello windows\r\n", back
        spec = vim.vm.guest.ProcessManager.ProgramSpec(
            programPath="C:\\Windows\\System32\\cmd.exe", arguments="/c echo hi from cmd> C:\\Temp\\out.txt")
        pid = pm.StartProgramInGuest(windows, ADMIN, spec)
        proc = wait_process(pm, windows, ADMIN, pid)
        assert proc.exitCode == 0 and proc.owner.lower().endswith("administrator"), proc
        out, _ = download(fm, windows, ADMIN, "C:\\Temp\\out.txt")
        assert out.strip() == b"hi from cmd", out
        temp = fm.CreateTemporaryFileInGuest(windows, ADMIN, "py-", ".tmp")
        assert temp.lower().startswith("c:\\") and temp.endswith(".tmp"), temp
        fm.DeleteFileInGuest(windows, ADMIN, temp)
        fm.DeleteFileInGuest(windows, ADMIN, "C:\\Temp\\pyvmomi.txt")


def main():
    """Runs the chosen groups, then Disconnect, and sets the exit status."""
    for g in GROUPS:
        if g not in ("core", "guest"):
            sys.exit(f"unknown group {g!r} (core, guest)")
    if "core" in GROUPS:
        core()
    if si is None or content is None or not vms:
        setup()
    if "guest" in GROUPS:
        guest()

    @check("Disconnect logs out: the session manager has no current session afterwards")
    def _():
        stub = si._stub
        Disconnect(si)
        try:
            after = vim.SessionManager("SessionManager", stub).currentSession
        except vim.fault.NotAuthenticated:
            return
        assert after is None, after

    print(f"pyvmomi-e2e: {results.count(True)} passed, {results.count(False)} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
