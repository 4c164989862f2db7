"""Runs the README's curl walk-through top to bottom, as written, against a running vcmock.

The walk-through is the binary quick start's curl block, then every `sh` block of the Guest
filesystem, Transfers and Admin API sections, in order, in one shell and one working directory.
Every command must exit 0. A shown output (comment lines right after a command that start with
`{`, `[`, `"`, a status code, or `debug=`) must match what the command printed, where `...`
stands for any text. At the end the server must be as it was before: the same state dump (times
aside), the system clock, no fault rule, and the working directory empty.

usage: readme_walkthrough.py README BASE_URL
"""

import json
import re
import subprocess
import sys
import tempfile
import urllib.request
import ssl
from pathlib import Path

SECTIONS = ["## Guest filesystem", "## Transfers", "## Admin API"]
OUTPUT = re.compile(r'^# ([{\["]|\d{3}$|debug=|https://|127\.0\.0\.1 )')


def sh_blocks(text):
    """The ```sh blocks of `text`, in order."""
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def section(text, heading):
    start = text.index(heading + "\n")
    rest = text[start + len(heading) :]
    end = re.search(r"^## ", rest, flags=re.M)
    return rest[: end.start()] if end else rest


def walkthrough(readme):
    quick = [b for b in sh_blocks(section(readme, "## Quick start: binary")) if "VC=https://" in b]
    assert len(quick) == 1, "the binary quick start has one curl walk-through"
    blocks = quick + [b for h in SECTIONS for b in sh_blocks(section(readme, h))]
    return "".join(blocks)


def steps(script):
    """(command, expected output or None) pairs; continuation lines stay with their command."""
    lines = script.splitlines()
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cmd = [line]
        while cmd[-1].endswith("\\") and i < len(lines):
            cmd.append(lines[i])
            i += 1
        expected = []
        while i < len(lines) and OUTPUT.match(lines[i]):
            expected.append(lines[i][2:])
            i += 1
        out.append(("\n".join(cmd), "\n".join(expected) if expected else None))
    return out


def matches(expected, actual):
    """Whether `actual` is what `expected` shows: `...` is any text, a space any blanks."""
    pattern = ".*?".join(re.escape(part) for part in expected.split("..."))
    pattern = pattern.replace(re.escape(" "), "[ \t]+")
    return re.fullmatch(pattern, actual.strip(), flags=re.S) is not None


def admin(base, path):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(base + path, context=ctx) as r:
        return json.loads(r.read())


TIMES = {"modified", "created", "accessed", "last_modified", "last_accessed", "sessions"}


def without_times(value):
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def main():
    readme, base = Path(sys.argv[1]).read_text(), sys.argv[2]
    port = base.rsplit(":", 1)[1]
    script = walkthrough(readme).replace("127.0.0.1:8443", f"127.0.0.1:{port}")
    script = script.replace("*:8443", f"*:{port}")
    before = without_times(admin(base, "/_mock/state"))
    failures = []
    with tempfile.TemporaryDirectory() as work:
        outdir = Path(work) / ".out"
        wd = Path(work) / "wd"
        outdir.mkdir()
        wd.mkdir()
        plan = steps(script)
        runner = ["set -uo pipefail", f"cd {wd}"]
        for n, (cmd, _) in enumerate(plan):
            runner.append(f"{{\n{cmd}\n}} >{outdir}/{n} 2>&1; echo $? >{outdir}/{n}.rc")
        subprocess.run(["bash", "-c", "\n".join(runner)], check=True, timeout=300)
        for n, (cmd, expected) in enumerate(plan):
            actual = (outdir / str(n)).read_text()
            rc = (outdir / f"{n}.rc").read_text().strip()
            if rc != "0":
                failures.append(f"exit {rc}: {cmd}\n{actual}")
            elif expected is not None and not matches(expected, actual):
                failures.append(f"{cmd}\n  shown:   {expected}\n  printed: {actual.strip()}")
        left = sorted(p.name for p in wd.iterdir())
        if left:
            failures.append(f"files left in the working directory: {left}")
        print(f"readme-walkthrough: {len(plan)} commands, "
              f"{sum(1 for _, e in plan if e is not None)} shown outputs checked")
    after = without_times(admin(base, "/_mock/state"))
    if before != after:
        failures.append("the state differs from the one before the walk-through")
    clock = admin(base, "/_mock/clock")
    if clock.get("mode") != "system":
        failures.append(f"the clock is left {clock}")
    faults = admin(base, "/_mock/faults")
    if faults:
        failures.append(f"fault rules are left: {faults}")
    for f in failures:
        print("readme-walkthrough: FAILED:", f, file=sys.stderr)
    if failures:
        sys.exit(1)
    print("readme-walkthrough: every command ran, every shown output matched, "
          "and the server is as it was")


if __name__ == "__main__":
    main()
