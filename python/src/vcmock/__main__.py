"""`python -m vcmock ARGS...` runs the installed vcmock binary with ARGS."""

from __future__ import annotations

import os
import subprocess
import sys

from ._binary import find_binary


def main() -> None:
    """Replaces this process with the binary (on Windows, runs it and passes its exit code)."""
    binary = find_binary()
    args = [binary, *sys.argv[1:]]
    if sys.platform == "win32":
        sys.exit(subprocess.call(args))  # noqa: S603 - the user's own arguments
    os.execv(binary, args)  # noqa: S606


if __name__ == "__main__":
    main()
