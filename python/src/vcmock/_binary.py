"""Finds the vcmock executable that the wheel installed beside this package."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

BINARY_ENV = "VCMOCK_BINARY"
"""Environment variable naming a vcmock executable to use instead of the installed one."""


class BinaryNotFoundError(FileNotFoundError):
    """No vcmock executable was found."""


def _executable_name() -> str:
    return "vcmock.exe" if sys.platform == "win32" else "vcmock"


def _candidates() -> list[Path]:
    """Where pip puts the wheel's script, for the ways this package can be installed."""
    name = _executable_name()
    places: list[Path] = []
    # The interpreter's own scheme (a venv, or the system site).
    scripts = sysconfig.get_path("scripts")
    if scripts:
        places.append(Path(scripts) / name)
    # `pip install --user`.
    user_scripts = sysconfig.get_path("scripts", scheme=sysconfig.get_preferred_scheme("user"))
    if user_scripts:
        places.append(Path(user_scripts) / name)
    # `pip install --target DIR`: the package is in DIR, the script in DIR/bin.
    places.append(Path(__file__).resolve().parent.parent / "bin" / name)
    return places


def find_binary() -> str:
    """The path of the vcmock executable to run.

    `$VCMOCK_BINARY` wins (a development build, say `target/debug/vcmock`); then the script
    installed with this package; then `vcmock` on `PATH`.
    """
    chosen = os.environ.get(BINARY_ENV)
    if chosen:
        if not Path(chosen).is_file():
            raise BinaryNotFoundError(f"${BINARY_ENV} names {chosen!r}, which is not a file")
        return chosen
    for place in _candidates():
        if place.is_file():
            return str(place)
    on_path = shutil.which(_executable_name())
    if on_path:
        return on_path
    raise BinaryNotFoundError(
        "the vcmock executable was not found: install the vcmock wheel for this platform, "
        f"put vcmock on PATH, or set ${BINARY_ENV}"
    )
