"""Shared helpers for the vcmock package's own tests (which run against the installed wheel)."""

from __future__ import annotations

from typing import Any

import vcmock

pytest_plugins = ["pytester"]

ROOT = {
    "interactive_session": False,
    "type": "USERNAME_PASSWORD",
    "user_name": "root",
    "password": "rootpw",
}
"""Guest credentials of root on the default fixture's Linux VM."""


def create_transfer(vc: vcmock.Server, vm: str, path: str, **spec: Any) -> str:
    """Asks the REST API for a transfer URL and returns it with `*` replaced."""
    api = vc.login()
    resp = api.post(
        f"/api/vcenter/vm/{vm}/guest/filesystem?action=create",
        json={"credentials": ROOT, "spec": {"path": path, **spec}},
    )
    assert resp.status_code == 201, resp.text
    return vc.transfer_url(resp.json())
