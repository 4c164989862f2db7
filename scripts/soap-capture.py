#!/usr/bin/env python3
"""Records the HTTP requests that real SOAP clients send, answering them from canned files.

A small HTTPS server (standard library only; `openssl` makes the certificate) that stands in for
vCenter's /sdk so that pyVmomi, govmomi or Ansible can be pointed at it and their request XML
recorded byte for byte. Usage:

    soap-capture.py [serve] --out DIR --responses DIR [--listen 127.0.0.1:0] [--prefix NAME]
    soap-capture.py pick --raw DIR --map FILE --dest DIR
    soap-capture.py replay --url https://HOST:PORT/sdk [--ca PEM] --captures DIR

It prints one JSON line on stdout when it listens: {"event": "ready", "address": "HOST:PORT",
"certificate_path": ...}. SIGTERM or SIGINT stop it.

Every request is written to DIR as PREFIX-METHOD-N.xml (the body, de-chunked, exactly as the
client sent it) and PREFIX-METHOD-N.headers (the request line and header lines exactly as sent),
where METHOD is the SOAP operation (the first element in the Body) or GET-/PUT-name for plain
HTTP (whose body, when there is one, goes to .body), and N counts that METHOD from 1. A chunked body is also kept as sent, framing included, in
PREFIX-METHOD-N.chunked. PREFIX-sequence.txt lists the calls in order.

Answers come from the --responses directory:
- for a SOAP call, the file METHOD~KEY1~KEY2.xml whose KEYs all match the request (the one
  with the most KEYs wins, then the first by name), else METHOD.xml, else an empty
  <METHODResponse xmlns="urn:vim25"/>. A file holds either a whole soapenv:Envelope or only the
  element to put in the Body; an element named Fault is sent with status 500. A KEY of the
  form name=text matches an element without children, <name>text</name> (any namespace); any
  other KEY matches when it occurs anywhere in the body; !KEY matches when KEY does not;
- GET /sdk/vimServiceVersions.xml answers GET-vimServiceVersions.xml;
- GET /guestFile answers GET-guestFile.bin (or an empty body), PUT /guestFile answers 200.
In response files, {{PORT}} becomes the listening port and {{NOW}} the current UTC time.
A Login answer carries Set-Cookie: vmware_soap_session=...

`pick` then copies chosen recordings under stable names (see pick()), and `replay` sends them
to a live /sdk and tabulates the answers (see replay()).
"""

import argparse
import datetime
import http.server
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    "<soapenv:Body>\n{body}\n</soapenv:Body>\n</soapenv:Envelope>\n"
)
SESSION_COOKIE = 'vmware_soap_session="52c0ffee-0000-4000-8000-capture00001"; Path=/; HttpOnly; Secure;'


def soap_method(body):
    """The local name of the first element inside the SOAP Body, or None."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    for el in root.iter():
        if el.tag == f"{{{SOAP_ENV}}}Body":
            for child in el:
                return child.tag.rsplit("}", 1)[-1]
    return None


def leaf_values(body):
    """Every element without children as "localname=text" (so a key prop=summary matches
    <prop>summary</prop> and nothing else)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return set()
    return {f"{el.tag.rsplit('}', 1)[-1]}={(el.text or '').strip()}" for el in root.iter() if len(el) == 0}


def matches(keys, body):
    """Whether every KEY matches the request body (see the module doc)."""
    text, leaves = body.decode("utf-8", "replace"), leaf_values(body)

    def one(k):
        if k.startswith("!"):
            return not one(k[1:])
        return (k in leaves) if "=" in k else (k in text)

    return all(one(k) for k in keys)


class Recorder:
    """Numbers and writes the recorded requests; shared by the handler threads."""

    def __init__(self, out, prefix):
        self.out, self.prefix = out, prefix
        self.counts, self.lock, self.seq = {}, threading.Lock(), 0
        os.makedirs(out, exist_ok=True)

    def record(self, method, head, body, chunked_wire, soap=True):
        with self.lock:
            self.counts[method] = self.counts.get(method, 0) + 1
            self.seq += 1
            stem = f"{self.prefix}-{method}-{self.counts[method]}"
            with open(os.path.join(self.out, stem + ".headers"), "wb") as f:
                f.write(head)
            if soap or body:
                with open(os.path.join(self.out, stem + (".xml" if soap else ".body")), "wb") as f:
                    f.write(body)
            if chunked_wire is not None:
                with open(os.path.join(self.out, stem + ".chunked"), "wb") as f:
                    f.write(chunked_wire)
            with open(os.path.join(self.out, self.prefix + "-sequence.txt"), "a") as f:
                f.write(f"{self.seq:03d} {stem}\n")
            return stem


class Responses:
    """Finds the canned answer for a request in the responses directory."""

    def __init__(self, directory, port):
        self.dir, self.port = directory, port
        self.files = sorted(os.listdir(directory)) if directory else []

    def _read(self, name):
        with open(os.path.join(self.dir, name), "rb") as f:
            text = f.read().decode("utf-8")
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return text.replace("{{PORT}}", str(self.port)).replace("{{NOW}}", now)

    def raw(self, name):
        return self._read(name).encode() if name in self.files else None

    def soap(self, method, body):
        """(status, envelope bytes) for a SOAP call."""
        best = None
        for name in self.files:
            m = re.fullmatch(re.escape(method) + r"((?:~[^~]+)*)\.xml", name)
            if not m:
                continue
            keys = [k for k in m.group(1).split("~") if k]
            if matches(keys, body) and (best is None or len(keys) > best[0]):
                best = (len(keys), name)
        inner = self._read(best[1]).strip() if best else f'<{method}Response xmlns="urn:vim25"/>'
        if inner.startswith("<?xml") or "Envelope" in inner.split(">", 1)[0]:
            envelope = inner
        else:
            envelope = ENVELOPE.format(body=inner)
        status = 500 if re.match(r"<(\w+:)?Fault\b", inner) else 200
        return status, envelope.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    """Reads one request (Content-Length or chunked), records it and answers it."""

    protocol_version = "HTTP/1.1"
    recorder = None
    canned = None

    def log_message(self, fmt, *args):  # keep stdout for the ready line only
        sys.stderr.write("soap-capture: " + (fmt % args) + "\n")

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body, wire = b"", b""
            while True:
                line = self.rfile.readline()
                wire += line
                size = int(line.split(b";", 1)[0].strip(), 16)
                chunk = self.rfile.read(size + 2)
                wire += chunk
                body += chunk[:size]
                if size == 0:
                    while True:  # trailers until the empty line
                        if chunk in (b"\r\n", b"\n"):
                            break
                        chunk = self.rfile.readline()
                        wire += chunk
                    return body, wire
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length), None

    def _head_bytes(self):
        return (self.requestline + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in self.headers.raw_items())).encode()

    def _answer(self, status, body, content_type, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _plain(self, verb):
        path = self.path.split("?", 1)[0]
        name = f"{verb}-{os.path.splitext(path.strip('/').split('/')[-1])[0] or 'root'}"
        body, wire = self._read_body() if verb == "PUT" else (b"", None)
        self.recorder.record(name, self._head_bytes(), body, wire, soap=False)
        if path == "/sdk/vimServiceVersions.xml":
            data = self.canned.raw("GET-vimServiceVersions.xml")
            return self._answer(200 if data else 404, data or b"", "text/xml; charset=utf-8")
        if path == "/guestFile":
            data = self.canned.raw("GET-guestFile.bin") if verb == "GET" else b""
            return self._answer(200, data or b"", "application/octet-stream")
        return self._answer(404, b"", "text/plain")

    def do_GET(self):  # noqa: N802 - http.server's naming
        self._plain("GET")

    def do_PUT(self):  # noqa: N802
        self._plain("PUT")

    def do_POST(self):  # noqa: N802
        body, wire = self._read_body()
        method = soap_method(body) or "unparsed"
        self.recorder.record(method, self._head_bytes(), body, wire)
        status, envelope = self.canned.soap(method, body)
        extra = [("Set-Cookie", SESSION_COOKIE)] if method == "Login" and status == 200 else []
        self._answer(status, envelope, "text/xml; charset=utf-8", extra)


def certificate(directory):
    """A self-signed certificate for localhost and 127.0.0.1, made with the openssl CLI."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True)
    return cert, key


def serve(args):
    """Runs the recording server until SIGTERM or SIGINT."""
    host, port = args.listen.rsplit(":", 1)
    server = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    tmp = tempfile.mkdtemp(prefix="soap-capture-")
    cert, key = certificate(tmp)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    bound = server.server_address[1]
    Handler.recorder = Recorder(args.out, args.prefix)
    Handler.canned = Responses(args.responses, bound)

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"event": "ready", "address": f"{host}:{bound}", "certificate_path": cert}), flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        for name in ("cert.pem", "key.pem"):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)


def pick(args):
    """Copies chosen recordings from --raw to --dest under their final names.

    Each line of --map is `NAME METHOD [KEY...] [#N]`: the Nth (default first) recording of
    METHOD, in call order, whose body matches every KEY, becomes NAME.xml and NAME.headers
    (and NAME.chunked when it was chunked). Choosing by content, not by number, keeps the map
    valid when a driver adds calls."""
    with open(args.map) as f:
        wanted = [line.split() for line in f if line.strip() and not line.startswith("#")]
    order = []
    for seq in sorted(n for n in os.listdir(args.raw) if n.endswith("-sequence.txt")):
        with open(os.path.join(args.raw, seq)) as f:
            order += [line.split()[1] for line in f if line.strip()]
    missing = []
    for name, method, *rest in wanted:
        nth = int(rest.pop()[1:]) if rest and rest[-1].startswith("#") else 1
        found = []
        for stem in order:
            if stem.rsplit("-", 1)[0].split("-", 1)[1] != method or not name.startswith(stem.split("-", 1)[0]):
                continue
            body = b""
            for ext in (".xml", ".body"):
                if os.path.exists(os.path.join(args.raw, stem + ext)):
                    with open(os.path.join(args.raw, stem + ext), "rb") as f:
                        body = f.read()
            if matches(rest, body):
                found.append(stem)
        if len(found) < nth:
            missing.append(name)
            continue
        for ext in (".xml", ".body", ".headers", ".chunked"):
            src = os.path.join(args.raw, found[nth - 1] + ext)
            if os.path.exists(src):
                with open(src, "rb") as fin, open(os.path.join(args.dest, name + ext), "wb") as fout:
                    fout.write(fin.read())
        print(f"{name:56} <- {found[nth - 1]}")
    if missing:
        sys.exit(f"soap-capture: no recording for {missing}")


def fault_of(body):
    """The fault type in a SOAP answer (the detail element's xsi:type or name), or None."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return "unparsable answer"
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == "detail":
            for child in el:
                xsi = child.get("{http://www.w3.org/2001/XMLSchema-instance}type")
                return xsi or child.tag.rsplit("}", 1)[-1].removesuffix("Fault")
            return "Fault without detail"
        if el.tag == f"{{{SOAP_ENV}}}Fault":
            continue
    return None


def replay(args):
    """Sends every recorded SOAP request in --captures to a live /sdk and tabulates the answers.

    The headers are sent as recorded except Host, Content-Length and Cookie; a chunked recording
    goes out with its recorded framing. The session comes from replaying `--login` first (its
    recorded credentials must work on the server). A row is `NAME STATUS RESULT`, where RESULT
    is `ok` or the fault type: useful to see which requests a server parses and serves. Morefs
    from the canned world (task-101, datacenter-2, session[capture]...) give
    ManagedObjectNotFound on a real server; that is expected. The exit status is 1 when an
    answer is neither 200 nor a SOAP fault with status 500."""
    import http.client
    import urllib.parse

    url = urllib.parse.urlsplit(args.url)
    ctx = ssl.create_default_context(cafile=args.ca) if args.ca else ssl._create_unverified_context()

    def send(name, cookie):
        with open(os.path.join(args.captures, name + ".headers"), "rb") as f:
            head = f.read().decode().split("\r\n")
        headers = {}
        for line in head[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                if k.lower() not in ("host", "content-length", "cookie"):
                    headers[k] = v.strip()
        chunked = os.path.join(args.captures, name + ".chunked")
        with open(chunked if os.path.exists(chunked) else os.path.join(args.captures, name + ".xml"), "rb") as f:
            body = f.read()
        if not os.path.exists(chunked):
            headers["Content-Length"] = str(len(body))
        if cookie:
            headers["Cookie"] = cookie
        conn = http.client.HTTPSConnection(url.hostname, url.port, context=ctx, timeout=args.timeout)
        try:
            conn.request("POST", url.path, body=body, headers=headers)
            res = conn.getresponse()
            return res.status, res.getheader("Set-Cookie") or "", res.read()
        finally:
            conn.close()

    status, set_cookie, answer = send(args.login, "")
    if status != 200 or "vmware_soap_session=" not in set_cookie:
        sys.exit(f"soap-capture: {args.login} gave {status} {fault_of(answer)}, no session")
    cookie = set_cookie.split(";", 1)[0]
    names = sorted(n[:-4] for n in os.listdir(args.captures) if n.endswith(".xml"))
    bad = 0
    for name in names:
        if name.endswith("Logout") or "Login" in name:
            continue  # keep the session, and the bad-password Logins add nothing here
        try:
            status, _, answer = send(name, cookie)
        except TimeoutError:  # WaitForUpdates without a filter long-polls, as vCenter does
            print(f"{name:56} --- no answer in {args.timeout:g} s")
            continue
        result = "ok" if status == 200 else fault_of(answer)
        if status not in (200, 500) or (status == 500 and result in (None, "unparsable answer")):
            bad += 1
            result = f"NOT SOAP: {answer[:120]!r}"
        print(f"{name:56} {status} {result}")
    sys.exit(1 if bad else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = ap.add_subparsers(dest="command")
    sv = sub.add_parser("serve", help="record requests (the default)")
    sv.add_argument("--out", required=True, help="directory for the recorded requests")
    sv.add_argument("--responses", default="", help="directory of canned answers")
    sv.add_argument("--listen", default="127.0.0.1:0")
    sv.add_argument("--prefix", default="capture", help="file name prefix (the client's name)")
    pk = sub.add_parser("pick", help="copy chosen recordings under their final names")
    pk.add_argument("--raw", required=True)
    pk.add_argument("--map", required=True)
    pk.add_argument("--dest", required=True)
    rp = sub.add_parser("replay", help="send the recorded requests to a live /sdk")
    rp.add_argument("--url", required=True, help="https://HOST:PORT/sdk")
    rp.add_argument("--ca", default="", help="PEM to trust (default: no verification)")
    rp.add_argument("--captures", required=True)
    rp.add_argument("--login", default="govmomi-Login", help="the recorded Login to replay first")
    rp.add_argument("--timeout", type=float, default=5, help="seconds to wait for each answer")
    argv = sys.argv[1:]
    if not argv or argv[0] not in ("serve", "pick", "replay", "-h", "--help"):
        argv = ["serve"] + argv
    args = ap.parse_args(argv)
    {"pick": pick, "replay": replay}.get(args.command, serve)(args)


if __name__ == "__main__":
    socket.setdefaulttimeout(60)
    main()
