"""The app under gunicorn, under a bounded request loop, while its Redis is stopped, frozen and
refusing writes and its PostgreSQL restarts. Whatever happens: no 500s; every answer is served
(from the database, or from the cache where that is still right) or a 503 with Retry-After;
every webhook answered 2xx is stored and applied; changes and revoked links take effect within
the documented bound (CACHE_STATE_SECONDS + CACHE_RECHECK_SECONDS); workers recover by
themselves.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from orders.webhooks import sign

from .conftest import CACHE_RECHECK_SECONDS, CACHE_STATE_SECONDS, ROOT, free_port

BOUND = CACHE_STATE_SECONDS + CACHE_RECHECK_SECONDS
SLACK = 1.5  # scheduling on a busy 2-core machine
LOOP_ORDERS = range(3)  # the request loop's orders; F-3, F-4 and F-5 are changed by the tests
SERVED = {"page": 200, "limited": 200, "info": 200, "widget": 200, "api_key": 200, "guess": 200}


@dataclass
class Answer:
    kind: str
    status: int  # 0: no answer at all
    at: float
    retry_after: str = ""
    detail: str = ""


class Load:
    """A few threads sending a mix of shopper, API and webhook requests until stopped."""

    def __init__(self, stack, threads: int = 3):
        self.stack, self.threads = stack, threads
        self.answers: list[Answer] = []
        self.acked: list[str] = []  # order numbers created by webhooks answered 2xx
        self.stop = threading.Event()
        self.workers: list[threading.Thread] = []
        self.counter = itertools.count()

    def __enter__(self):
        for n in range(self.threads):
            worker = threading.Thread(target=self._run, args=(n,), daemon=True)
            worker.start()
            self.workers.append(worker)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for worker in self.workers:
            worker.join(timeout=30)

    def _run(self, n: int) -> None:
        data = self.stack.data
        with httpx.Client(base_url=self.stack.url(""), timeout=30) as client:
            while not self.stop.is_set():
                i = next(self.counter)
                order = data["orders"][LOOP_ORDERS[i % len(LOOP_ORDERS)]]
                kind = ("page", "limited", "info", "widget", "api_key", "guess", "webhook")[i % 7]
                self._send(client, kind, order)

    def _send(self, client: httpx.Client, kind: str, order: dict) -> None:
        data = self.stack.data
        try:
            if kind == "webhook":
                number = f"W-{uuid.uuid4().hex[:12]}"
                response = post_webhook(client, data, "order.created", number, status="pending")
                if 200 <= response.status_code < 300:
                    self.acked.append(number)
            else:
                response = client.get(request_path(kind, order, data), headers=request_headers(kind, data))
        except httpx.HTTPError as exc:
            self.answers.append(Answer(kind, 0, time.monotonic(), detail=repr(exc)))
            return
        self.answers.append(
            Answer(kind, response.status_code, time.monotonic(), response.headers.get("Retry-After", ""),
                   response.text[:300] if response.status_code >= 500 else "")
        )  # fmt: skip

    def check(self) -> None:
        """No 500s, nothing unanswered, every refusal a 503 with Retry-After, and enough traffic."""
        assert len(self.answers) >= 20, "the request loop hardly ran"
        bad = [a for a in self.answers if a.status not in (SERVED.get(a.kind, 200), 200, 202, 503)]
        assert bad == [], bad[:5]
        unhinted = [a for a in self.answers if a.status == 503 and not a.retry_after.isdigit()]
        assert unhinted == [], unhinted[:5]

    def check_webhooks(self) -> None:
        """Every webhook answered 2xx is stored and applied: its order exists."""
        assert self.acked, "no webhook was acknowledged"
        stored = {row[0] for row in self.stack.sql("SELECT order_number FROM orders_order")}
        events = self.stack.sql("SELECT count(*) FROM orders_webhookevent WHERE outcome = 'applied'")[0][0]
        assert set(self.acked) <= stored, sorted(set(self.acked) - stored)[:5]
        assert events >= len(self.acked)


def request_path(kind: str, order: dict, data: dict) -> str:
    if kind in ("page", "info", "widget"):
        return order[kind]
    if kind == "limited":
        return "/track/?" + urlencode({"tracking_number": order["tracking"]})
    if kind == "api_key":
        return "/v4/track/orders/info/?" + urlencode({"order_number": order["number"]})
    # a guess (the right one: it is not counted, so the loop never locks itself out)
    query = {"order_number": order["number"], "account": data["account"], "recipient_email": order["email"]}
    return "/v4/track/orders/info/?" + urlencode(query)


def request_headers(kind: str, data: dict) -> dict:
    return {"X-API-Key": data["key"]} if kind == "api_key" else {}


def post_webhook(client: httpx.Client, data: dict, kind: str, number: str, **fields) -> httpx.Response:
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": kind,
        "createdAt": "2025-01-16T10:00:00Z",
        "data": {"id": number, "orderId": number, "createdAt": "2025-01-16T10:00:00Z",
                 "updatedAt": "2025-01-16T10:00:00Z", **fields},
    }  # fmt: skip
    body = json.dumps(event).encode()
    headers = {"Statuspage-Signature": sign(data["secret"], body), "Content-Type": "application/json"}
    return client.post(f"/webhooks/nimbus/?account={data['account']}", content=body, headers=headers)


def staff_client(stack) -> httpx.Client:
    client = httpx.Client(base_url=stack.url(""), timeout=10, follow_redirects=False)
    client.get("/admin/login/")
    login = client.post(
        "/admin/login/?next=/admin/",
        data={
            "username": "staff",
            "password": "staff-password",
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert login.status_code == 302, login.text[:300]
    return client


def during(seconds: float) -> None:
    time.sleep(seconds)


def readiness(stack) -> dict:
    return httpx.get(stack.url("/readyz"), timeout=10).json()


# --- Redis stopped -----------------------------------------------------------------------------


def test_redis_stopped_pages_answer_from_the_database_and_guesses_wait(stack):
    order = stack.data["orders"][0]
    with Load(stack) as load:
        during(1.5)
        healthy = len(load.answers)
        stack.stop_redis()
        during(1)
        with httpx.Client(base_url=stack.url(""), timeout=10) as client:
            for kind in ("page", "limited", "info", "widget", "api_key"):  # their own proof, or none needed
                response = client.get(
                    request_path(kind, order, stack.data), headers=request_headers(kind, stack.data)
                )
                assert response.status_code == 200, (kind, stack.log_tail())
            guess = client.get(request_path("guess", order, stack.data))
            assert guess.status_code == 503 and int(guess.headers["Retry-After"]) > 0
            assert guess.json()["error"]["code"] == "service_unavailable"
            created = post_webhook(client, stack.data, "order.created", "R-down", status="pending")
            assert created.status_code == 200, created.text[:300]
        ready = readiness(stack)
        assert ready["status"] == "degraded" and ready["database"]["status"] == "ok"
        assert ready["cache"]["status"] == ready["counters"]["status"] == "unavailable"
        during(2)
        stack.start_redis()
        during(2.5)
    load.check()
    load.check_webhooks()
    assert all(a.status == 200 for a in load.answers[:healthy]), "not healthy before the outage"
    assert stack.sql("SELECT status FROM orders_order WHERE order_number = 'R-down'") == [("pending",)]
    assert readiness(stack)["status"] == "ok"


# --- Redis frozen (SIGSTOP) and refusing writes ------------------------------------------------------


def test_redis_frozen_staff_and_webhook_changes_succeed_and_take_effect_within_the_bound(stack):
    revoked, delivered = stack.data["orders"][5], stack.data["orders"][4]
    with httpx.Client(base_url=stack.url(""), timeout=10) as client, Load(stack) as load:
        for _ in range(3):  # cached in Redis and in the workers, with the current state version
            assert client.get(revoked["widget"]).status_code == 200
            assert client.get(delivered["info"]).json()["status"] != "delivered"
        staff = staff_client(stack)
        stack.freeze_redis()
        try:
            changelist = "/admin/orders/order/"
            action = staff.post(
                changelist,
                data={"action": "revoke_signed_links", "_selected_action": [revoked["pk"]],
                      "csrfmiddlewaretoken": staff.cookies["csrftoken"]},
            )  # fmt: skip
            assert action.status_code == 302, action.text[:300]  # staff see success
            assert "Revoked the signed links" in staff.get(changelist).text
            webhook = post_webhook(client, stack.data, "order.delivered", delivered["number"])
            assert webhook.status_code == 200, webhook.text[:300]  # committed, so acknowledged
            changed_at = time.monotonic()
            during(1.5)
        finally:
            stack.thaw_redis()
        answers = []
        while time.monotonic() < changed_at + BOUND + SLACK + 2:
            at = time.monotonic()
            widget = client.get(revoked["widget"])
            info = client.get(delivered["info"])
            answers.append((at - changed_at, widget.status_code, info.status_code, info.text))
            time.sleep(0.2)
        staff.close()
    load.check()
    load.check_webhooks()
    late = [answer for answer in answers if answer[0] > BOUND + SLACK]
    assert late, "no request after the bound"
    assert all(widget == 404 for _, widget, _, _ in late), late[:3]  # the revoked link stopped
    statuses = {(status, json.loads(text)["status"]) for _, _, status, text in late}
    assert statuses == {(200, "delivered")}, statuses  # the state change shows


OOM_NUMBER = "1ZOOM000000000001"


def test_redis_refusing_writes_still_answers_and_changes_still_show(stack):
    order = stack.data["orders"][3]
    client = stack.redis_client()
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", used)  # noeviction: every write is refused with OOM from now on
    try:
        with httpx.Client(base_url=stack.url(""), timeout=10) as http, Load(stack) as load:
            assert http.get(order["info"]).status_code == 200
            shipped = post_webhook(
                http, stack.data, "order.fulfilled", order["number"], trackingNumber=OOM_NUMBER
            )
            assert shipped.status_code == 200, shipped.text[:300]
            changed_at = time.monotonic()
            during(BOUND + SLACK)
            info = http.get(order["info"])
            assert info.status_code == 200 and OOM_NUMBER in info.text
            assert time.monotonic() - changed_at < BOUND + SLACK + 5
    finally:
        client.config_set("maxmemory", 0)
    load.check()
    load.check_webhooks()


# --- PostgreSQL restarting ---------------------------------------------------------------------------


def test_postgres_restart_answers_503_with_retry_after_and_recovers_without_a_worker_restart(stack):
    workers = stack.workers()
    with Load(stack, threads=4) as load:
        during(1.5)
        stack.pg_ctl("stop", "-m", "fast")
        down_at = time.monotonic()
        with httpx.Client(base_url=stack.url(""), timeout=10) as client:
            page = client.get("/track/?" + urlencode({"tracking_number": "1ZNOTHERE0000000"}))
            assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0
            assert "Order status unavailable" in page.text and "Traceback" not in page.text
            api = client.get("/v4/track/orders/info/?" + urlencode({"order_number": "NOT-CACHED"}),
                             headers={"X-API-Key": stack.data["key"]})  # fmt: skip
            assert api.status_code == 503 and api.json()["error"]["code"] == "service_unavailable"
            assert httpx.get(stack.url("/healthz")).status_code == 200
            assert httpx.get(stack.url("/readyz")).status_code == 503
        during(1.5)
        stack.pg_ctl("start")
        up_at = time.monotonic()
        during(3)
    load.check()
    load.check_webhooks()
    outage = [a for a in load.answers if down_at <= a.at <= up_at]
    assert any(a.status == 503 for a in outage), "the outage was not seen"
    settled = [a for a in load.answers if a.at > up_at + 1.5]
    assert settled and all(a.status == 200 for a in settled), [a for a in settled if a.status != 200][:3]
    assert stack.workers() == workers  # recovered by reconnecting, not by restarting
    log = stack.app_log.read_text(errors="replace")
    assert "Traceback" not in log, log[log.index("Traceback") - 500 :][:3000]
    assert re.search(r"database unavailable", log)


def test_the_single_machine_poller_and_applier_wait_out_a_postgres_restart(stack):
    """`poll_trackings` and `apply_webhooks` left running without a broker keep going through a
    PostgreSQL restart and work again after it, without being restarted by anyone."""
    carrier = f"http://127.0.0.1:{free_port()}"  # nobody listens: each poll is recorded as unavailable
    env = stack.env | {"UPS_CLIENT_ID": "faults", "UPS_CLIENT_SECRET": "faults", "UPS_API_URL": carrier}
    commands = {
        "poller": ["poll_trackings", "--carrier", "ups", "--interval", "0.3"],
        "applier": ["apply_webhooks", "--interval", "0.3"],
    }
    logs = {name: stack.folder / f"{name}.log" for name in commands}
    outputs = {name: path.open("w") for name, path in logs.items()}
    processes = {
        name: subprocess.Popen(
            [sys.executable, "manage.py", *arguments],
            cwd=ROOT,
            env=env,
            stdout=outputs[name],
            stderr=subprocess.STDOUT,
        )
        for name, arguments in commands.items()
    }

    def log(name: str) -> str:
        return logs[name].read_text(errors="replace")

    try:
        first_poll = re.compile(r"ups: [1-9]\d* polled \(unavailable [1-9]\d*\)")
        stack.wait_for(lambda: first_poll.search(log("poller")), "the first poll")
        stack.pg_ctl("stop", "-m", "fast")
        stack.wait_for(lambda: all("Database unavailable" in log(name) for name in commands), "the outage")
        stack.pg_ctl("start")
        stack.wait_for(lambda: all("Database available again" in log(name) for name in commands), "recovery")
        # Polling goes on: the backed-off shipments are not due, and the poller says so.
        stack.wait_for(
            lambda: "ups: 0 polled (nothing due)" in log("poller").split("Database available again")[-1],
            "a poll after the restart",
        )
        assert all(process.poll() is None for process in processes.values()), {n: log(n) for n in commands}
        assert not any("Traceback" in log(name) for name in commands), {n: log(n)[-3000:] for n in commands}
    finally:
        for process in processes.values():
            process.terminate()
            process.wait(timeout=10)
        for output in outputs.values():
            output.close()
