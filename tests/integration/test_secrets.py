"""Secrets: no password or token in any output, log or error message, whatever the verbosity;
a warning for a readable configuration file holding a password; TLS verified unless a target
says `insecure = true`, which is warned about.
"""

from __future__ import annotations

import base64
import http.server
import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from glance_helpers import Cloud, KiB, payload

from glancesync.cli import main
from glancesync.errors import EXIT_CONFIG, EXIT_FAILURE
from glancesync.glance import Target, Targets

pytestmark = pytest.mark.integration

FERNET_PREFIX = "gAAAAA"  # every Keystone fernet token starts so


def write_config(path: Path, local_cloud, mode: int = 0o600) -> Path:
    """The local cloud's configuration: [master] plain, [other] as a base64 credential."""
    master, other = local_cloud.target("master"), local_cloud.target("other")
    secret = base64.b64encode(other["admin"]["password"].encode()).decode()
    path.write_text(
        "[main]\nmaster_region = Madrid\nmax_children = 2\n"
        f"lock_file = {path.parent / 'lock'}\n"
        f"[master]\nuser = {master['admin']['user']}\npassword = {master['admin']['password']}\n"
        f"auth_url = {master['auth_url']}\nproject = {master['admin']['project']}\n"
        f"[other]\ncredential = {other['admin']['user']},{secret},{other['auth_url']},"
        f"{other['admin']['project']}\n"
    )
    path.chmod(mode)
    return path


def secrets_of(local_cloud) -> list[str]:
    """Every password of the cloud's accounts, plain and base64."""
    passwords = [
        account["password"]
        for target in local_cloud["targets"].values()
        for account in target["accounts"].values()
    ]
    return passwords + [base64.b64encode(p.encode()).decode() for p in passwords]


def assert_no_secret(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, "a secret was printed"
    assert FERNET_PREFIX not in text, "a token was printed"


@pytest.fixture
def recorded_targets(monkeypatch: pytest.MonkeyPatch) -> list[Target]:
    """The Targets a run makes (to read the tokens they used afterwards)."""
    made: list[Target] = []
    original = Targets.__getitem__

    def recording(self: Targets, name: str) -> Target:
        target = original(self, name)
        made.append(target)
        return target

    monkeypatch.setattr(Targets, "__getitem__", recording)
    return made


def test_a_debug_sync_prints_no_password_and_no_token(
    clean_cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str], recorded_targets
) -> None:
    cloud = Cloud(clean_cloud)
    cloud.put("Madrid", "secretive", payload("secretive", 64 * KiB))
    config = write_config(tmp_path / "glancesync.conf", clean_cloud)

    status = main(["--config-file", str(config), "-vv", "Lisbon", "other:Berlin"])

    out, err = capsys.readouterr()
    assert status == 0, err
    assert "REQ: curl" in err and "X-Auth-Token: {SHA256}" in err  # really the debug output
    tokens = {t.session.auth.get_token(t.session) for t in recorded_targets}
    assert len(tokens) == 2 and all(tokens)
    assert_no_secret(out + err, secrets_of(clean_cloud) + sorted(tokens))
    assert cloud.only("Berlin", "secretive")["status"] == "active"


def test_per_region_logs_of_a_parallel_debug_sync_hold_no_secret(
    clean_cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Cloud(clean_cloud).put("Madrid", "parallel", payload("parallel", 32 * KiB))
    config = write_config(tmp_path / "glancesync.conf", clean_cloud)
    run_dir = tmp_path / "runs"

    status = main(
        ["--config-file", str(config), "-vv", "--parallel", "--run-dir", str(run_dir), "other:"]
    )

    out, err = capsys.readouterr()
    assert status == 0, err
    logs = [path.read_text() for path in run_dir.glob("*/*.log")]
    assert len(logs) == 2 and all("X-Auth-Token: {SHA256}" in log for log in logs)
    assert_no_secret(out + err + "".join(logs), secrets_of(clean_cloud))


def credential_of(local_cloud, user: str) -> str:
    """[other]'s credential with another user name."""
    other = local_cloud.target("other")
    secret = base64.b64encode(other["admin"]["password"].encode()).decode()
    return f"{user},{secret},{other['auth_url']},{other['admin']['project']}"


@pytest.mark.parametrize(
    ("target", "override", "status"),
    [
        ("other", "other.credential={credential}", EXIT_FAILURE),  # §7: its regions fail
        ("master", "master.project=no-such-project", EXIT_CONFIG),
        ("master", "master.password=Not-The-Password-1", EXIT_CONFIG),
    ],
    ids=["unknown-user", "unknown-project", "wrong-password"],
)
def test_refused_credentials_are_one_error_naming_the_target_without_secrets(
    local_cloud,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    target: str,
    override: str,
    status: int,
) -> None:
    config = write_config(tmp_path / "glancesync.conf", local_cloud)
    override = override.format(credential=credential_of(local_cloud, "nobody-such"))
    assert main(["--config-file", str(config), "-vv", "other:", "--config", override]) == status
    out, err = capsys.readouterr()
    [error] = [line for line in err.splitlines() if line.startswith("ERROR")]
    assert f"target {target}" in error and "were refused" in error
    assert "Traceback" not in err
    assert_no_secret(out + err, [*secrets_of(local_cloud), "Not-The-Password-1"])


# --- the configuration file's permissions


@pytest.mark.parametrize(
    ("mode", "readers"),
    [(0o644, "group and others"), (0o640, "group"), (0o604, "others"), (0o600, None)],
)
def test_a_readable_file_holding_a_password_is_warned_about(
    local_cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: int, readers: str
) -> None:
    config = write_config(tmp_path / "glancesync.conf", local_cloud, mode)
    assert main(["--config-file", str(config), "--show-regions"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "chmod" in line]
    if readers is None:
        assert warnings == []
    else:
        assert warnings == [
            f"WARNING: {config}: holds a password and is readable by {readers} "
            f"(mode {mode:04o}): chmod 600 it"
        ]


def test_a_readable_file_without_password_is_not_warned_about(
    local_cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    config = tmp_path / "glancesync.conf"
    config.write_text("[main]\n[master]\n")
    config.chmod(0o644)
    for name, value in local_cloud.cli_environment("master", "Madrid").items():
        if name.startswith("OS_"):
            monkeypatch.setenv(name, value)
    assert main(["--config-file", str(config), "--show-regions"]) == 0
    assert "chmod" not in capsys.readouterr().err


# --- TLS


@pytest.fixture(scope="module")
def tls_keystone(tmp_path_factory) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate that refuses every token
    request with 401: reaching its answer proves that TLS was accepted."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    directory = tmp_path_factory.mktemp("tls")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip

    class Refusing(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.dumps({"error": {"code": 401, "message": "refused"}}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/v3"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def tls_arguments(config: Path, url: str, *more: str) -> list[str]:
    return ["--config-file", str(config), "--config", f"master.auth_url={url}", "api_retries=0",
            *more, "--show-regions"]  # fmt: skip


def test_tls_certificates_are_verified_by_default(
    local_cloud, tmp_path: Path, tls_keystone: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "glancesync.conf", local_cloud)
    assert main(tls_arguments(config, tls_keystone)) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "target master" in err and "certificate verify failed" in err
    assert "insecure" not in err.split("certificate verify failed")[0]  # no warning before


def test_insecure_true_skips_verification_and_is_warned_about(
    local_cloud, tmp_path: Path, tls_keystone: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "glancesync.conf", local_cloud)
    status = main(tls_arguments(config, tls_keystone, "--config", "master.insecure=true"))
    err = capsys.readouterr().err
    assert status == EXIT_CONFIG  # TLS passed: Keystone's 401 was read
    assert "credentials of user 'admin' were refused" in err
    assert (
        "WARNING: [master] insecure = true: TLS certificates of its Keystone and Glance servers "
        "are not verified" in err.splitlines()
    )
    assert "InsecureRequestWarning" not in err
