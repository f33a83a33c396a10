"""The facade's retry rules (glancesync.glance.Retrier) and how failures are classified."""

from __future__ import annotations

import socket

import pytest
import requests
from faultproxy import closed_port
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ksa_session

from glancesync.glance import (
    MAX_PAUSE,
    CallFailed,
    Failure,
    Retrier,
    exception_failure,
    response_failure,
)
from glancesync.settings import TargetSettings

TRANSIENT = Failure("connection refused", transient=True)


def retrier(retries: int = 3, delay: float = 0.001, budget: int = 30) -> Retrier:
    return Retrier(
        TargetSettings(
            name="t",
            user="u",
            password="p",
            auth_url="http://127.0.0.1:9/v3",
            project="p",
            api_retries=retries,
            api_retry_delay=delay,
            api_retry_budget=budget,
        )
    )


def failing(failures: list[Failure]):
    """An attempt that fails with each of `failures` in turn, then returns how often it ran."""
    calls = []

    def attempt() -> int:
        calls.append(1)
        if len(calls) <= len(failures):
            raise CallFailed(failures[len(calls) - 1])
        return len(calls)

    return attempt, calls


def test_a_transient_failure_is_retried_until_the_call_succeeds() -> None:
    attempt, _ = failing([TRANSIENT, TRANSIENT])
    assert retrier().call("list", attempt) == 3


def test_retries_stop_after_api_retries() -> None:
    attempt, calls = failing([TRANSIENT] * 10)
    with pytest.raises(CallFailed):
        retrier(retries=2).call("list", attempt)
    assert len(calls) == 3


def levels(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(record.levelname, record.getMessage()) for record in caplog.records]


def test_retries_that_succeed_are_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="glancesync")
    attempt, _ = failing([TRANSIENT, TRANSIENT])
    retrier().call("list", attempt)
    assert [level for level, _ in levels(caplog)] == ["INFO", "INFO"]


def test_retries_that_run_out_are_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="glancesync")
    attempt, _ = failing([TRANSIENT] * 10)
    with pytest.raises(CallFailed):
        retrier(retries=2).call("list", attempt)
    assert [level for level, _ in levels(caplog)] == ["INFO", "INFO", "WARNING"]
    assert levels(caplog)[-1][1] == "list: connection refused; no retry left after 2"


@pytest.mark.parametrize(
    "failure",
    [Failure("HTTP 404 Not Found", status=404), Failure("TLS failure"), Failure("HTTP 401")],
)
def test_a_lasting_failure_is_not_retried(failure: Failure) -> None:
    attempt, calls = failing([failure])
    with pytest.raises(CallFailed):
        retrier().call("get", attempt)
    assert len(calls) == 1


def test_a_call_that_is_not_idempotent_is_never_retried() -> None:
    attempt, calls = failing([TRANSIENT])
    with pytest.raises(CallFailed):
        retrier().call("create", attempt, idempotent=False)
    assert len(calls) == 1


def test_the_budget_bounds_the_retries_of_all_calls(caplog: pytest.LogCaptureFixture) -> None:
    shared = retrier(retries=3, budget=4)
    first, _ = failing([TRANSIENT] * 3)
    assert shared.call("a", first) == 4  # 3 retries spent
    second, calls = failing([TRANSIENT] * 3)
    with pytest.raises(CallFailed):
        shared.call("b", second)
    assert len(calls) == 2  # the one retry left
    third, calls = failing([TRANSIENT])
    with pytest.raises(CallFailed):
        shared.call("c", third)
    assert len(calls) == 1
    assert caplog.text.count("retry budget spent") == 1


def test_pauses_grow_exponentially_with_jitter_and_are_capped() -> None:
    policy = retrier(retries=20, delay=1.0, budget=1000)
    for count in range(1, 12):
        backoff = min(MAX_PAUSE, 2 ** (count - 1))
        pauses = {policy._pause(TRANSIENT, count) for _ in range(20)}
        assert all(backoff / 2 <= pause <= backoff for pause in pauses)
        assert len(pauses) > 1  # jitter


def test_retry_after_is_obeyed_up_to_the_cap() -> None:
    policy = retrier(delay=0.001)
    assert policy._pause(Failure("429", transient=True, retry_after=3), 1) == 3
    assert policy._pause(Failure("503", transient=True, retry_after=3600), 1) == MAX_PAUSE


def response(status: int, body: bytes = b"", headers: dict[str, str] | None = None):
    answer = requests.Response()
    answer.status_code, answer._content = status, body
    answer.reason = requests.status_codes._codes[status][0].replace("_", " ").title()
    answer.headers.update(headers or {})
    return answer


@pytest.mark.parametrize(
    ("status", "transient"),
    [(429, True), (500, True), (502, True), (503, True), (504, True), (501, False), (404, False),
     (409, False), (400, False)],
)  # fmt: skip
def test_which_answers_are_transient(status: int, transient: bool) -> None:
    failure = response_failure(response(status))
    assert failure.transient is transient
    assert failure.refused is (400 <= status < 500 and not transient)


def test_an_error_answer_is_one_plain_line() -> None:
    html = b"<html><body><h1>409 Conflict</h1>\n  Property &#x27;a&#x27;\n exists</body></html>"
    failure = response_failure(response(409, html, {"Retry-After": "7"}))
    assert failure.cause == "HTTP 409 Conflict: 409 Conflict Property 'a' exists"
    assert failure.retry_after == 7
    json_body = b'{"error": {"message": "busy", "code": 503}}'
    assert response_failure(response(503, json_body)).cause == "HTTP 503 Service Unavailable: busy"


def test_a_refused_connection_is_transient_and_named_briefly() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(ksa_exc.ConnectFailure) as raised:
        ksa_session.Session().get(f"{url}/v2/images")
    failure = exception_failure(raised.value, timeout=30)
    assert (failure.cause, failure.transient) == (f"connection refused ({url})", True)


def test_a_timeout_names_api_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(ksa_exc.ConnectTimeout) as raised:
            ksa_session.Session(timeout=0.2).get(f"{url}/v2/images")
    failure = exception_failure(raised.value, timeout=0.2)
    assert failure.cause == f"no answer within api_timeout (0.2 s) ({url})"
    assert failure.transient


def test_an_error_answer_quotes_its_request_id() -> None:
    headers = {"x-openstack-request-id": "req-8d1c2b6e-0f7a-4b7e-9c51-3a2d4e5f6a7b"}
    failure = response_failure(response(409, b"", headers))
    assert failure.cause.endswith("[request id req-8d1c2b6e-0f7a-4b7e-9c51-3a2d4e5f6a7b]")


def test_a_request_id_is_printed_escaped() -> None:
    failure = response_failure(response(500, b"", {"x-openstack-request-id": "\x1b[2J evil"}))
    assert "\x1b" not in failure.cause and failure.cause.endswith(" evil]")
