"""SOAP (/sdk) benchmark rows, run by scripts/soap-bench.sh against a release vcmock.

S1: RetrievePropertiesEx of 3 properties (name, runtime.powerState, config.uuid) over every VM
    of a 10,000-VM fixture, through a ContainerView: server round trip on raw HTTP (the client
    only reads the bytes), and the same call through pyVmomi (its deserialiser included).
S2: pyVmomi SmartConnect (versions file + RetrieveServiceContent + Login), and one Fetch round
    trip (vm.name).

Prints a markdown table and writes target/bench/soap.json. Bounded: fixed repetition counts,
loopback only.
"""
import http.client
import json
import ssl
import statistics
import sys
import time

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

ADDR, CERT, USER, PASSWORD, OUT = sys.argv[1:6]
HOST, PORT = ADDR.rsplit(":", 1)
PORT = int(PORT)
CTX = ssl.create_default_context(cafile=CERT)

ENV = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
       '"http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
       '<soapenv:Body>{}</soapenv:Body></soapenv:Envelope>')


def median_ms(samples):
    return statistics.median(samples) * 1000.0


def timed(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def raw_rows(cookie, view):
    body = ENV.format(
        '<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this>'
        '<specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>runtime.powerState</pathSet>'
        '<pathSet>config.uuid</pathSet></propSet><objectSet><obj type="ContainerView">' + view + '</obj>'
        '<skip>true</skip><selectSet xsi:type="TraversalSpec"><type>ContainerView</type><path>view</path>'
        '</selectSet></objectSet></specSet><options/></RetrievePropertiesEx>').encode()
    conn = http.client.HTTPSConnection(HOST, PORT, context=CTX)
    size = [0]

    def once():
        conn.request("POST", "/sdk", body, {"Content-Type": "text/xml; charset=utf-8",
                                            "SOAPAction": '"urn:vim25/8.0.3.0"',
                                            "Cookie": "vmware_soap_session=" + cookie})
        r = conn.getresponse()
        data = r.read()
        assert r.status == 200, data[:500]
        assert data.count(b"<objects>") == 10000, data.count(b"<objects>")
        size[0] = len(data)

    once()  # warm-up
    samples = timed(once, 10)
    conn.close()
    return samples, size[0]


def main():
    rows = []
    connect = []
    for _ in range(10):
        t = time.perf_counter()
        si = SmartConnect(host=HOST, port=PORT, user=USER, pwd=PASSWORD, sslContext=CTX)
        connect.append(time.perf_counter() - t)
        Disconnect(si)
    si = SmartConnect(host=HOST, port=PORT, user=USER, pwd=PASSWORD, sslContext=CTX)
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    cookie = si._stub.cookie.split("=", 1)[1].split(";")[0].strip('"')

    raw, size = raw_rows(cookie, view._moId)
    rows.append(("S1", "RetrievePropertiesEx, 3 properties x 10,000 VMs, raw HTTP (median of 10)",
                 f"{median_ms(raw):.0f} ms ({size / 1e6:.1f} MB)"))

    T = vmodl.query.PropertyCollector
    spec = T.FilterSpec(
        objectSet=[T.ObjectSpec(obj=view, skip=True, selectSet=[T.TraversalSpec(type=vim.view.ContainerView, path="view")])],
        propSet=[T.PropertySpec(type=vim.VirtualMachine, pathSet=["name", "runtime.powerState", "config.uuid"])])
    pc = content.propertyCollector

    def py_once():
        r = pc.RetrievePropertiesEx([spec], T.RetrieveOptions())
        assert len(r.objects) == 10000

    py = timed(py_once, 3)
    rows.append(("S1b", "the same through pyVmomi RetrievePropertiesEx, deserialised (median of 3)",
                 f"{median_ms(py):.0f} ms"))
    rows.append(("S2", "pyVmomi SmartConnect: versions file, RetrieveServiceContent, Login (median of 10)",
                 f"{median_ms(connect):.1f} ms"))
    vm = content.searchIndex.FindByInventoryPath("DC0/vm/vm-10000")
    assert vm is not None
    fetch = timed(lambda: vm.name, 200)
    rows.append(("S2b", "pyVmomi Fetch round trip (vm.name, median of 200)", f"{median_ms(fetch):.2f} ms"))
    summary = timed(lambda: vm.summary, 50)
    rows.append(("S2c", "pyVmomi Fetch of a whole VirtualMachineSummary (median of 50)", f"{median_ms(summary):.2f} ms"))
    Disconnect(si)

    print("| row | measure | vcmock |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    with open(OUT, "w") as f:
        json.dump([{"id": a, "measure": b, "vcmock": c} for a, b, c in rows], f, indent=2)


if __name__ == "__main__":
    main()
