"""Operators' credentials and endpoints on the local cloud: application credentials (clouds.yaml
with secure.yaml, INI), the internal interface, a TLS front requiring a client certificate, a
legacy /v2.0 auth_url, and properties whose names need JSON-pointer escaping."""

from __future__ import annotations

import base64
import datetime
import io
import json
import logging
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faultproxy import FaultProxy
from glance_helpers import Cloud, cli, md5, payload

from glancesync.cli import main
from glancesync.glance import Target
from glancesync.settings import load_settings

pytestmark = pytest.mark.integration


def upload(cloud, name: str, size: int = 1024, **properties: str) -> bytes:
    data = name.encode()[:1] * size
    madrid = cloud.glance("Madrid")
    image = madrid.images.create(
        name=name, disk_format="raw", container_format="bare", visibility="public", **properties
    )
    madrid.images.upload(image["id"], io.BytesIO(data), image_size=len(data))
    return data


def copies(cloud, region: str, name: str) -> list[tuple[str, int]]:
    return [
        (c["status"], c["size"]) for c in cloud.glance(region).images.list(filters={"name": name})
    ]


def master(cloud) -> dict:
    return cloud["targets"]["master"]


def write_conf(tmp_path: Path, master_section: str) -> Path:
    conf = tmp_path / "glancesync.conf"
    conf.write_text(f"[main]\nmaster_region = Madrid\n[master]\n{master_section}")
    conf.chmod(0o600)
    return conf


def run(conf: Path, tmp_path: Path, *arguments: str) -> int:
    """glancesync in-process, its lock and run directory in tmp_path."""
    return main(
        ["--config-file", str(conf), "--run-dir", str(tmp_path / "runs"), *arguments,
         "--config", f"lock_file={tmp_path / 'l'}"]
    )  # fmt: skip


# --- application credentials


def test_application_credential_from_clouds_yaml_with_the_secret_in_secure_yaml(
    clean_cloud, tmp_path, monkeypatch, capsys
):
    credential = master(clean_cloud)["app_credential"]
    (tmp_path / "clouds.yaml").write_text(
        "clouds:\n  sync:\n    auth_type: v3applicationcredential\n    auth:\n"
        f"      auth_url: {master(clean_cloud)['auth_url']}\n"
        f"      application_credential_name: {credential['name']}\n"
        f"      username: {credential['user']}\n"
        "      user_domain_name: Default\n"
    )
    (tmp_path / "secure.yaml").write_text(
        "clouds:\n  sync:\n    auth:\n"
        f"      application_credential_secret: {credential['secret']}\n"
    )
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "clouds.yaml"))
    monkeypatch.setenv("OS_CLIENT_SECURE_FILE", str(tmp_path / "secure.yaml"))
    data = upload(clean_cloud, "appcred-yaml")

    assert run(write_conf(tmp_path, "cloud = sync\n"), tmp_path, "-vv", "Lisbon") == 0

    assert copies(clean_cloud, "Lisbon", "appcred-yaml") == [("active", len(data))]
    out, err = capsys.readouterr()
    assert credential["secret"] not in out + err


def test_application_credential_from_an_ini_target(clean_cloud, tmp_path, capsys, caplog):
    credential = master(clean_cloud)["app_credential"]
    conf = write_conf(
        tmp_path,
        "auth_type = v3applicationcredential\n"
        f"auth_url = {master(clean_cloud)['auth_url']}\n"
        f"user = {credential['user']}\n"
        f"application_credential_name = {credential['name']}\n"
        f"application_credential_secret = {credential['secret']}\n",
    )
    data = upload(clean_cloud, "appcred-ini")

    log = tmp_path / "run.log"
    with caplog.at_level(logging.DEBUG):
        status = run(conf, tmp_path, "-vv", "--log-file", str(log), "--parallel", "Lisbon")

    assert status == 0
    assert copies(clean_cloud, "Lisbon", "appcred-ini") == [("active", len(data))]
    out, err = capsys.readouterr()
    logs = [log.read_text(), *(p.read_text() for p in tmp_path.glob("runs/**/*") if p.is_file())]
    assert len(logs) > 1 and all(logs)  # the run's log and the region's
    assert credential["secret"] not in "".join([out, err, caplog.text, *logs])


# --- the internal interface


@contextmanager
def internal_proxies(cloud, *regions: str) -> Iterator[dict[str, FaultProxy]]:
    """A counting proxy on each region's internal endpoint, in front of its Glance."""
    with ExitStack() as stack:
        infos = master(cloud)["regions"]
        yield {
            region: stack.enter_context(
                FaultProxy(infos[region]["port"], port=infos[region]["internal_port"])
            )
            for region in regions
        }


def glance_requests(proxy: FaultProxy) -> list[str]:
    return [line for line in proxy.requests if "/v2/images" in line]


def test_interface_internal_sends_image_traffic_to_the_internal_endpoints(clean_cloud, tmp_path):
    data = upload(clean_cloud, "internal-ini")
    with internal_proxies(clean_cloud, "Madrid", "Lisbon") as proxies:
        status = run(clean_cloud.conf, tmp_path, "Lisbon", "--config", "master.interface=internal")

    assert status == 0
    assert copies(clean_cloud, "Lisbon", "internal-ini") == [("active", len(data))]
    madrid, lisbon = proxies["Madrid"].requests, proxies["Lisbon"].requests
    assert any(line.startswith("GET") and "/file" in line for line in madrid)
    assert proxies["Madrid"].bytes_down >= len(data)
    # (the proxy notes request lines best-effort: a PUT right after a JSON body is not seen)
    assert any(line.startswith("POST /v2/images ") for line in lisbon)


def test_os_interface_internal_applies_to_a_master_from_os_variables(
    clean_cloud, tmp_path, monkeypatch
):
    account = master(clean_cloud)["admin"]
    monkeypatch.delenv("GLANCESYNC_CONFIG", raising=False)
    for variable, value in {
        "OS_AUTH_URL": master(clean_cloud)["auth_url"],
        "OS_USERNAME": account["user"],
        "OS_PASSWORD": account["password"],
        "OS_PROJECT_NAME": account["project"],
        "OS_REGION_NAME": "Madrid",
        "OS_INTERFACE": "internal",
    }.items():
        monkeypatch.setenv(variable, value)
    data = upload(clean_cloud, "internal-env")

    with internal_proxies(clean_cloud, "Madrid", "Lisbon") as proxies:
        status = main(["Lisbon", "--config", f"lock_file={tmp_path / 'l'}"])

    assert status == 0
    assert copies(clean_cloud, "Lisbon", "internal-env") == [("active", len(data))]
    assert proxies["Madrid"].bytes_down >= len(data)
    assert any(line.startswith("POST /v2/images ") for line in proxies["Lisbon"].requests)


def test_without_a_proxy_the_internal_endpoint_is_not_the_public_one(clean_cloud, tmp_path):
    upload(clean_cloud, "internal-none")
    status = run(clean_cloud.conf, tmp_path, "Lisbon", "--config", "master.interface=internal")
    assert status != 0
    assert copies(clean_cloud, "Lisbon", "internal-none") == []


# --- a TLS front requiring a client certificate


def _certificate(name: str, key, issuer_key=None, issuer=None, ca: bool = False):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


def _write(path: Path, certificate=None, key=None) -> str:
    if certificate is not None:
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return str(path)


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, str]:
    """A self-signed CA, a server certificate for 127.0.0.1 and a client certificate."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("test CA", ca_key, ca=True)
    files = {"ca": _write(tmp_path / "ca.pem", ca)}
    for name in ("server", "client"):
        key = ec.generate_private_key(ec.SECP256R1())
        files[name] = _write(tmp_path / f"{name}.pem", _certificate(name, key, ca_key, ca))
        files[f"{name}_key"] = _write(tmp_path / f"{name}.key", key=key)
    return files


class TlsFront:
    """A TLS server on 127.0.0.1 that requires a client certificate of the CA and forwards the
    plain bytes to 127.0.0.1:upstream_port."""

    def __init__(self, upstream_port: int, pki: dict[str, str]):
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki["ca"])
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.load_cert_chain(pki["server"], pki["server_key"])
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                threading.Thread(target=self._forward, args=(client,), daemon=True).start()

    def _forward(self, client: socket.socket) -> None:
        with suppress(OSError, ssl.SSLError):
            tls = self.context.wrap_socket(client, server_side=True)
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            pump = threading.Thread(target=_pump, args=(upstream, tls), daemon=True)
            pump.start()
            _pump(tls, upstream)
            pump.join()
        client.close()

    def close(self) -> None:
        self.listener.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError, ssl.SSLError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def tls_keystone(clean_cloud, pki) -> Iterator[str]:
    """The master Keystone's v3 URL behind the TLS front."""
    front = TlsFront(urlsplit(master(clean_cloud)["auth_url"]).port, pki)
    try:
        yield f"https://127.0.0.1:{front.port}/v3"
    finally:
        front.close()


def tls_conf(clean_cloud, tmp_path: Path, auth_url: str, tls: str) -> Path:
    account = master(clean_cloud)["admin"]
    return write_conf(
        tmp_path,
        f"user = {account['user']}\npassword = {account['password']}\n"
        f"project = {account['project']}\nauth_url = {auth_url}\n{tls}",
    )


def test_a_client_certificate_gets_through_a_tls_front_that_requires_one(
    clean_cloud, tmp_path, pki, tls_keystone
):
    data = upload(clean_cloud, "tls-client-cert")
    tls = f"cacert = {pki['ca']}\ncert = {pki['client']}\nkey = {pki['client_key']}\n"

    assert run(tls_conf(clean_cloud, tmp_path, tls_keystone, tls), tmp_path, "Lisbon") == 0

    assert copies(clean_cloud, "Lisbon", "tls-client-cert") == [("active", len(data))]


def test_without_a_client_certificate_one_clear_line(
    clean_cloud, tmp_path, pki, tls_keystone, capsys
):
    conf = tls_conf(clean_cloud, tmp_path, tls_keystone, f"cacert = {pki['ca']}\n")

    assert run(conf, tmp_path, "Lisbon") != 0

    _, err = capsys.readouterr()
    failures = [line for line in err.splitlines() if "TLS failure" in line]
    assert len(failures) == 1, err
    assert "Traceback" not in err


# --- a legacy /v2.0 auth_url


def test_a_legacy_v2_credential_syncs_with_one_warning(clean_cloud, tmp_path, capsys):
    account = master(clean_cloud)["admin"]
    v2 = master(clean_cloud)["auth_url"].removesuffix("/v3") + "/v2.0"
    password = base64.b64encode(account["password"].encode()).decode()
    conf = write_conf(tmp_path, f"credential = {account['user']},{password},{v2},admin\n")
    data = upload(clean_cloud, "legacy-v2")

    assert run(conf, tmp_path, "Lisbon") == 0

    assert copies(clean_cloud, "Lisbon", "legacy-v2") == [("active", len(data))]
    _, err = capsys.readouterr()
    assert len([line for line in err.splitlines() if "/v2.0" in line]) == 1


# --- properties that need JSON-pointer escaping, and stale listings


def test_properties_named_with_slash_and_tilde_synchronise(clean_cloud, tmp_path):
    upload(clean_cloud, "escaped-props", **{"a/b": "1", "x~y": "2"})

    assert run(clean_cloud.conf, tmp_path, "Lisbon") == 0

    (copy,) = clean_cloud.glance("Lisbon").images.list(filters={"name": "escaped-props"})
    assert (copy["a/b"], copy["x~y"]) == ("1", "2")


def test_a_patch_from_a_stale_listing_still_applies(clean_cloud, tmp_path):
    settings = load_settings(str(clean_cloud.conf), environ={})
    lisbon = Target(settings.master).region("Lisbon")
    image = clean_cloud.glance("Lisbon").images.create(
        name="stale", disk_format="raw", container_format="bare", k="old"
    )
    stale = lisbon.get_image(image["id"])
    clean_cloud.glance("Lisbon").images.update(image["id"], remove_props=["k"])

    updated = lisbon.update_image(stale, set_properties={"k": "new"})

    assert updated.properties["k"] == "new"


# --- request ids


def test_a_failed_call_quotes_its_request_id_in_text_and_json(clean_cloud, tmp_path, capsys):
    cloud = Cloud(clean_cloud)
    protected = payload("protected", 1024)
    cloud.put("Madrid", "first", payload("first", 1024))
    cloud.put("Lisbon", "first", protected, protected=True)  # cannot be replaced
    replace = f"replace={md5(protected)}"

    text_status, out, err = cli(clean_cloud, tmp_path, capsys, "Lisbon", replace)
    for copy in cloud.named("Lisbon", "first"):
        if not copy["protected"]:  # the new copy: the next run fails the same way
            cloud.client("Lisbon").images.delete(copy["id"])
    json_status, records, _ = cli(
        clean_cloud, tmp_path, capsys, "--format", "json", "Lisbon", replace
    )

    assert (text_status, json_status) == (1, 1)
    assert re.search(
        r"could not be deleted.*\[request id req-[0-9a-f-]{36}\]", "\n".join(out + err)
    )
    [failed] = [json.loads(line) for line in records if '"failed"' in line]
    assert re.search(r"\[request id req-[0-9a-f-]{36}\]", failed["error"])


def test_refused_credentials_quote_keystones_request_id(clean_cloud, tmp_path, capsys):
    status, _, err = cli(clean_cloud, tmp_path, capsys, "Lisbon", "master.password=wrong")
    assert status == 2
    assert re.search(r"were refused \[request id req-[0-9a-f-]{36}\]", "\n".join(err))
