"""Files for clients of the cloud: glancesync.conf, openrc files, clouds.yaml and cloud.json."""

from __future__ import annotations

import json
from pathlib import Path

from . import render, servers
from .topology import DOMAIN, Account, Cloud, Server, Target


def write_all(cloud: Cloud) -> None:
    """(Re)write every client file; they hold passwords, so only the owner may read them."""
    _private(cloud.conf, render.glancesync_conf(cloud))
    _private(cloud.clouds_yaml, render.clouds_yaml(cloud))
    for target in cloud.targets:
        for account in target.accounts:
            _private(cloud.openrc(account), render.openrc(target, account, target.regions[0].name))
    _private(cloud.description, json.dumps(describe(cloud), indent=2) + "\n")


def describe(cloud: Cloud) -> dict:
    """The machine-readable description of the cloud written to cloud.json."""
    return {
        "state_dir": str(cloud.state_dir),
        "base_port": cloud.base_port,
        "master_region": cloud.master_region,
        "domain": DOMAIN,
        "glancesync_conf": str(cloud.conf),
        "clouds_yaml": str(cloud.clouds_yaml),
        "targets": {target.name: _target(cloud, target) for target in cloud.targets},
        "servers": [_server(server) for server in cloud.servers],
    }


def _target(cloud: Cloud, target: Target) -> dict:
    return {
        "auth_url": target.auth_url,
        "identity_region": target.identity_region,
        "keystone": _server(target.keystone),
        "admin": _account(cloud, target.admin),
        "app_credential": {**vars(target.app_credential), "user": target.admin.user},
        "accounts": {account.name: _account(cloud, account) for account in target.accounts},
        "regions": {
            region.name: {
                **_server(region.glance),
                "store": str(region.glance.home / "images"),
                "internal_url": region.internal_url,
                "internal_port": region.internal_port,
                "glance_download": region.glance_download,
            }
            for region in target.regions
        },
    }


def _account(cloud: Cloud, account: Account) -> dict:
    return {
        "name": account.name,
        "user": account.user,
        "password": account.password,
        "project": account.project,
        "role": account.role,
        "openrc": str(cloud.openrc(account)),
    }


def _server(server: Server) -> dict:
    return {
        "name": server.name,
        "kind": server.kind,
        "url": server.url,
        "port": server.port,
        "pid": servers.running_pid(server),
        "log": str(server.log),
        "db": str(server.db),
    }


def _private(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text)
