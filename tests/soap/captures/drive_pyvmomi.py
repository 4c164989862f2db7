"""Makes each pyVmomi call of the end-to-end flows once, against scripts/soap-capture.py.

Usage: python drive_pyvmomi.py HOST:PORT

Only pyVmomi's public API is used, the way scripts/pyvmomi_e2e.py and Ansible use it, so the
recorded requests are the ones those clients send. The capture server's answers are canned, so a
call may fail to deserialise or a result may be wrong; each step is reported and the run goes on.
"""

import sys
import traceback

import requests
import urllib3
from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl

HOST, PORT = sys.argv[1].rsplit(":", 1)
USER, PASSWORD = "administrator@vsphere.local", "VMware1!"
failures = []


def step(name, fn, fault=None):
    """Runs one call and says how it went; the result, or None when it raised. `fault` is the
    exception class the canned answer is meant to raise."""
    try:
        result = fn()
        print(f"ok    {name}")
        return result
    except Exception as e:  # noqa: BLE001 - canned answers may not fit; keep recording
        if fault is not None and isinstance(e, fault):
            print(f"ok    {name}: {type(e).__name__}")
            return None
        failures.append(name)
        print(f"raise {name}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        if "-v" in sys.argv:
            traceback.print_exc()
        return None


def connect(password):
    """SmartConnect without certificate checks (the capture server's is throwaway)."""
    return SmartConnect(host=HOST, port=int(PORT), user=USER, pwd=password, disableSslCertValidation=True)


urllib3.disable_warnings()
step("SmartConnect with a bad password", lambda: connect("wrong"), vim.fault.InvalidLogin)
si = connect(PASSWORD)
stub = si._stub  # only to make morefs when a canned answer does not deserialise
content = step("RetrieveContent", si.RetrieveContent)
step("about", lambda: content.about.apiType)
step("customFieldsManager.field (Ansible reads it on connect)", lambda: content.customFieldsManager.field)

view = step("CreateContainerView", lambda: content.viewManager.CreateContainerView(
    content.rootFolder, [vim.VirtualMachine], True))
PC = vmodl.query.PropertyCollector
spec = PC.FilterSpec(
    objectSet=[PC.ObjectSpec(obj=view, skip=True, selectSet=[PC.TraversalSpec(
        name="traverseEntities", type=vim.view.ContainerView, path="view", skip=False)])],
    propSet=[PC.PropertySpec(type=vim.VirtualMachine,
                             pathSet=["name", "runtime.powerState", "config.uuid", "guest.toolsRunningStatus"])])
result = step("RetrievePropertiesEx with maxObjects 2",
              lambda: content.propertyCollector.RetrievePropertiesEx([spec], PC.RetrieveOptions(maxObjects=2)))
if result is not None and result.token:
    step("ContinueRetrievePropertiesEx", lambda: content.propertyCollector.ContinueRetrievePropertiesEx(result.token))
step("RetrieveContents (RetrieveProperties)", lambda: content.propertyCollector.RetrieveContents([spec]))
step("view.view then name of each VM (Fetch)", lambda: [v.name for v in view.view])
step("DestroyView", view.Destroy)

vm = step("FindByUuid", lambda: content.searchIndex.FindByUuid(None, "42000000-0000-4000-8000-000000001001", True, False))
step("FindByUuid by instance uuid", lambda: content.searchIndex.FindByUuid(
    None, "50000000-0000-4000-8000-000000001001", True, True))
step("FindByInventoryPath", lambda: content.searchIndex.FindByInventoryPath("DC0/vm/linux-01"))
vm = vm or vim.VirtualMachine("vm-1001", stub)
for prop in ("summary", "guest", "runtime", "config"):
    step(f"vm.{prop} (Fetch, whole)", lambda p=prop: getattr(vm, p))

task = step("PowerOffVM_Task", vm.PowerOffVM_Task)
step("WaitForTask (CreateFilter, WaitForUpdates, Fetch info)", lambda: WaitForTask(task or vim.Task("task-101", stub)))

gom = content.guestOperationsManager
fm = step("guestOperationsManager.fileManager", lambda: gom.fileManager) or vim.vm.guest.FileManager(
    "guestOperationsFileManager", stub)
pm = step("guestOperationsManager.processManager", lambda: gom.processManager) or vim.vm.guest.ProcessManager(
    "guestOperationsProcessManager", stub)
am = step("guestOperationsManager.authManager", lambda: gom.authManager) or vim.vm.guest.AuthManager(
    "guestOperationsAuthManager", stub)
creds = vim.vm.guest.NamePasswordAuthentication(username="root", password="rootpw")
win = vim.VirtualMachine("vm-1002", stub)
win_creds = vim.vm.guest.NamePasswordAuthentication(username="Administrator", password="AdminPw1!")
FM = vim.vm.guest.FileManager

step("ValidateCredentialsInGuest", lambda: am.ValidateCredentialsInGuest(vm, creds))
step("ValidateCredentialsInGuest with a bad password", lambda: am.ValidateCredentialsInGuest(
    vm, vim.vm.guest.NamePasswordAuthentication(username="root", password="wrong")), vim.fault.InvalidGuestLogin)
step("MakeDirectoryInGuest", lambda: fm.MakeDirectoryInGuest(vm, creds, "/tmp/pyvmomi/sub", True))
step("CreateTemporaryFileInGuest", lambda: fm.CreateTemporaryFileInGuest(vm, creds, "pyvmomi-", ".txt", "/tmp/pyvmomi"))
step("CreateTemporaryDirectoryInGuest", lambda: fm.CreateTemporaryDirectoryInGuest(vm, creds, "pyvmomi-dir-", ""))
step("ListFilesInGuest", lambda: fm.ListFilesInGuest(vm, creds, "/tmp/pyvmomi"))
step("ListFilesInGuest with index, maxResults, matchPattern",
     lambda: fm.ListFilesInGuest(vm, creds, "/tmp/pyvmomi", 1, 2, "pyvmomi-.*"))
step("ListFilesInGuest on Windows", lambda: fm.ListFilesInGuest(win, win_creds, "C:\\Users\\Administrator"))
step("MoveFileInGuest", lambda: fm.MoveFileInGuest(vm, creds, "/tmp/pyvmomi/a.txt", "/tmp/pyvmomi/b.txt", True))
step("MoveDirectoryInGuest", lambda: fm.MoveDirectoryInGuest(vm, creds, "/tmp/pyvmomi/sub", "/tmp/pyvmomi/sub2"))
step("ChangeFileAttributesInGuest (posix)", lambda: fm.ChangeFileAttributesInGuest(
    vm, creds, "/tmp/pyvmomi/b.txt", FM.PosixFileAttributes(permissions=0o600, ownerId=0, groupId=0)))
step("ChangeFileAttributesInGuest (windows)", lambda: fm.ChangeFileAttributesInGuest(
    win, win_creds, "C:\\Temp\\a.txt", FM.WindowsFileAttributes(hidden=True, readOnly=False)))
payload = b"#!/bin/sh\necho hello from pyvmomi\n"
url = step("InitiateFileTransferToGuest (base FileAttributes, as Ansible)", lambda: fm.InitiateFileTransferToGuest(
    vm, creds, "/tmp/pyvmomi/run.sh", FM.FileAttributes(), len(payload), True))
step("InitiateFileTransferToGuest (PosixFileAttributes)", lambda: fm.InitiateFileTransferToGuest(
    vm, creds, "/tmp/pyvmomi/run2.sh", FM.PosixFileAttributes(permissions=0o755), len(payload), False))
if url:
    step("PUT the upload URL with requests", lambda: requests.put(
        url.replace("*", HOST), data=payload, verify=False).raise_for_status())
spec = vim.vm.guest.ProcessManager.ProgramSpec(
    programPath="/bin/sh", arguments="/tmp/pyvmomi/run.sh > /tmp/pyvmomi/out.txt 2>&1",
    workingDirectory="/tmp/pyvmomi", envVariables=["GREETING=hello", "LANG=C"])
pid = step("StartProgramInGuest", lambda: pm.StartProgramInGuest(vm, creds, spec))
step("ListProcessesInGuest([pid])", lambda: pm.ListProcessesInGuest(vm, creds, [pid or 4242]))
step("ListProcessesInGuest (all)", lambda: pm.ListProcessesInGuest(vm, creds))
info = step("InitiateFileTransferFromGuest", lambda: fm.InitiateFileTransferFromGuest(vm, creds, "/tmp/pyvmomi/out.txt"))
if info:
    step("GET the download URL with requests", lambda: requests.get(
        info.url.replace("*", HOST), verify=False).raise_for_status())
step("ReadEnvironmentVariableInGuest", lambda: pm.ReadEnvironmentVariableInGuest(vm, creds, ["PATH", "HOME"]))
step("ReadEnvironmentVariableInGuest (all)", lambda: pm.ReadEnvironmentVariableInGuest(vm, creds))
step("TerminateProcessInGuest", lambda: pm.TerminateProcessInGuest(vm, creds, pid or 4242),
     vim.fault.GuestProcessNotFound)
step("DeleteFileInGuest", lambda: fm.DeleteFileInGuest(vm, creds, "/tmp/pyvmomi/b.txt"))
step("DeleteDirectoryInGuest", lambda: fm.DeleteDirectoryInGuest(vm, creds, "/tmp/pyvmomi", True))
step("Disconnect (RetrieveServiceContent, Logout)", lambda: Disconnect(si))
print(f"drive_pyvmomi: {len(failures)} steps raised: {failures}")
