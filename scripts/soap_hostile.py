"""Drives vcmock's /sdk as a hostile client would and prints what it cost the server.

Usage: soap_hostile.py READY_JSON PID SCENARIO

Scenarios:
  retrieve  RetrievePropertiesEx amplification: one 1 MiB request of identical specSets, 16 calls
            of identical specSets paged with maxObjects=1 (their remainders kept under tokens),
            then one of distinct property paths; answer bytes, time, RSS and its peak (VmHWM).
  wait      256 filters over the whole inventory, then one idle WaitForUpdatesEx of 10 s; the
            server's CPU time (utime + stime) for that wait.
  sessions  80 live sessions make 256 container views each (20,480 objects), then the median
            RetrieveServiceContent; then one session makes 256 filters of about 1 MiB of specs
            each; time taken and RSS.

Speaks plain HTTP: start the server with --tls off.
"""

import http.client
import json
import sys
import time

ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope'
    ' xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soapenv:Body>%s</soapenv:Body></soapenv:Envelope>'
)
BODY_LIMIT = 1 << 20
# From the root folder through every folder and the datacenter's VM folder: 9 objects.
WALK = (
    '<objectSet><obj type="Folder">group-d1</obj><skip>false</skip>'
    '<selectSet xsi:type="TraversalSpec"><name>t</name><type>Folder</type><path>childEntity</path>'
    '<selectSet><name>t</name></selectSet><selectSet><name>d</name></selectSet></selectSet>'
    '<selectSet xsi:type="TraversalSpec"><name>d</name><type>Datacenter</type><path>vmFolder</path>'
    '<selectSet><name>t</name></selectSet></selectSet></objectSet>'
)
ALL = '<propSet><type>ManagedEntity</type><all>true</all></propSet>'


class Server:
    def __init__(self, ready, pid):
        self.port = int(json.loads(ready)['address'].rsplit(':', 1)[1])
        self.pid = pid
        self.cookie = None

    def call(self, inner, timeout=600):
        body = (ENVELOPE % inner).encode()
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        headers = {'Content-Type': 'text/xml', 'SOAPAction': 'urn:vim25/8.0.3.0'}
        if self.cookie:
            headers['Cookie'] = 'vmware_soap_session=' + self.cookie
        start = time.monotonic()
        c.request('POST', '/sdk', body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        took = time.monotonic() - start
        if r.getheader('Set-Cookie'):
            self.cookie = r.getheader('Set-Cookie').split('=', 1)[1].split(';')[0].strip('"')
        c.close()
        return r.status, data, took

    def login(self):
        status, _, _ = self.call(
            '<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this>'
            '<userName>administrator@vsphere.local</userName><password>VMware1!</password></Login>'
        )
        assert status == 200, status

    def status(self, key):
        for line in open('/proc/%s/status' % self.pid):
            if line.startswith(key + ':'):
                return int(line.split()[1]) // 1024
        return 0

    def cpu(self):
        fields = open('/proc/%s/stat' % self.pid).read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100.0

    def memory(self):
        return 'RSS %d MiB, VmHWM %d MiB' % (self.status('VmRSS'), self.status('VmHWM'))


def fault_type(data):
    text = data.decode('utf-8', 'replace')
    if '<faultstring>' not in text:
        return None
    at = text.find('xsi:type="', text.find('<detail>'))
    return text[at + 10:text.find('"', at + 10)]


def retrieve_ex(specs, options=''):
    return (
        '<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector'
        '</_this>%s<options>%s</options></RetrievePropertiesEx>' % (specs, options)
    )


def fill(unit, room):
    return unit * (room // len(unit))


def report(what, status, data, took, s):
    fault = fault_type(data)
    objects = data.count(b'<objects>') or data.count(b'<returnval>')
    shape = 'fault %s' % fault if fault else '%d objects' % objects
    if b'<token>' in data:
        shape += ' and a token'
    print('%s: HTTP %d, %s, %d bytes answered in %.2f s; %s'
          % (what, status, shape, len(data), took, s.memory()))


def retrieve(s):
    s.login()
    print('start: %s' % s.memory())
    spec = '<specSet>' + ALL + WALK + '</specSet>'
    room = BODY_LIMIT - len(ENVELOPE % retrieve_ex('')) - 64
    specs = fill(spec, room)
    n = specs.count('<specSet>')
    status, data, took = s.call(retrieve_ex(specs))
    report('%d identical specSets (%d bytes)' % (n, len(specs)), status, data, took, s)
    answered = 0
    start = time.monotonic()
    for _ in range(16):
        status, data, _ = s.call(retrieve_ex(specs, '<maxObjects>1</maxObjects>'))
        answered += len(data)
    print('16 x %d identical specSets with maxObjects=1: %d bytes answered in %.2f s; %s'
          % (n, answered, time.monotonic() - start, s.memory()))
    paths = []
    size = len(('<specSet><propSet><type>ManagedEntity</type></propSet>' + WALK + '</specSet>'))
    i = 0
    while True:
        p = '<pathSet>p%d</pathSet>' % i
        if size + len(p) > room:
            break
        paths.append(p)
        size += len(p)
        i += 1
    distinct = '<specSet><propSet><type>ManagedEntity</type>%s</propSet>%s</specSet>' % (
        ''.join(paths), WALK)
    status, data, took = s.call(retrieve_ex(distinct))
    report('RetrievePropertiesEx, one specSet of %d distinct invalid paths' % len(paths),
           status, data, took, s)
    legacy = distinct.replace('<specSet>', '').replace('</specSet>', '')
    status, data, took = s.call(
        '<RetrieveProperties xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector'
        '</_this><specSet>%s</specSet></RetrieveProperties>' % legacy)
    report('RetrieveProperties, the same specSet', status, data, took, s)


def wait(s):
    s.login()
    spec = '<spec>' + ALL + WALK + '</spec>'
    for _ in range(256):
        status, _, _ = s.call(
            '<CreateFilter xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector'
            '</_this>%s<partialUpdates>false</partialUpdates></CreateFilter>' % spec)
        assert status == 200, status

    def wait_ex(version, seconds):
        v = '' if version is None else '<version>%s</version>' % version
        return s.call(
            '<WaitForUpdatesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector'
            '</_this>%s<options><maxWaitSeconds>%d</maxWaitSeconds></options></WaitForUpdatesEx>'
            % (v, seconds))

    status, data, took = wait_ex(None, 0)
    print('256 filters, first WaitForUpdatesEx: HTTP %d, %d bytes in %.2f s'
          % (status, len(data), took))
    before = s.cpu()
    status, data, took = wait_ex('1', 10)
    print('one idle WaitForUpdatesEx(maxWaitSeconds=10): HTTP %d, %d bytes after %.2f s;'
          ' server CPU %.2f s; %s' % (status, len(data), took, s.cpu() - before, s.memory()))


def sessions(s):
    start = time.monotonic()
    view = ('<CreateContainerView xmlns="urn:vim25"><_this type="ViewManager">ViewManager</_this>'
            '<container type="Folder">group-d1</container><type>VirtualMachine</type>'
            '<recursive>true</recursive></CreateContainerView>')
    for _ in range(80):
        s.cookie = None
        s.login()
        for _ in range(256):
            status, _, _ = s.call(view)
            assert status == 200, status
    made = time.monotonic() - start
    content = ('<RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">'
               'ServiceInstance</_this></RetrieveServiceContent>')
    took = sorted(s.call(content)[2] for _ in range(200))
    print('80 sessions x 256 views made in %.1f s; RetrieveServiceContent median %.2f ms; %s'
          % (made, took[100] * 1000, s.memory()))
    paths = fill('<pathSet>summary.config.name</pathSet>', BODY_LIMIT - 2048)
    spec = ('<spec><propSet><type>VirtualMachine</type>%s</propSet>'
            '<objectSet><obj type="VirtualMachine">vm-1001</obj></objectSet></spec>' % paths)
    start = time.monotonic()
    for _ in range(256):
        status, _, _ = s.call(
            '<CreateFilter xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector'
            '</_this>%s<partialUpdates>false</partialUpdates></CreateFilter>' % spec)
        assert status == 200, status
    print('one session, 256 filters of %d bytes of spec each, in %.1f s; %s'
          % (len(spec), time.monotonic() - start, s.memory()))


def main():
    ready, pid, scenario = sys.argv[1], sys.argv[2], sys.argv[3]
    s = Server(ready, pid)
    {'retrieve': retrieve, 'wait': wait, 'sessions': sessions}[scenario](s)


if __name__ == '__main__':
    main()
