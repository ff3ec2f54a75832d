"""Throughput ratios against the honest baseline, for every benchmark that serves HTTP.

The server is gunicorn (sync workers, DEBUG=0) loading bench/_site_wsgi.py: the production site
and, under /bench/, a one-line view behind Django's default middleware (the baseline) in the same
processes. Each repetition loads the baseline, then a scenario, then the baseline again, … with
wrk for the same time and connections, so every scenario sits between two baseline measurements
of its own repetition: its ratio is its rate over their mean, which shrugs off drift in the load
of a shared machine. The figure quoted is the median ratio over the repetitions, with their
spread (min–max).

Every figure a benchmark wants in `bench/run`'s final summary is printed by `result_line`, on a
line starting with MARKER.
"""

from __future__ import annotations

import ast
import http.client
import json
import os
import re
import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import _server

MARKER = "RESULT"
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
# A Redis database the test suite never uses (it takes 1–12, 14 and 15); flushed by each run.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
WSGI_APP = "bench._site_wsgi:application"
GUNICORN_CONFIG = "bench/_gunicorn.conf.py"
BASELINE_PATH = "/bench/trivial"


def startproject_middleware() -> list[str]:
    """MIDDLEWARE as `django-admin startproject` writes it, read from the installed Django."""
    import django

    template = Path(django.__file__).parent / "conf" / "project_template" / "project_name" / "settings.py-tpl"
    listing = re.search(r"^MIDDLEWARE = (\[.*?\])", template.read_text(), re.MULTILINE | re.DOTALL)
    return ast.literal_eval(listing[1])


@dataclass
class Scenario:
    name: str
    path: str
    content_type: str  # the answer's Content-Type must start with this
    contains: bytes = b""  # and its body hold this (proof it is the answer meant)
    lacks: bytes = b""  # and not this (e.g. personal data on a limited answer)
    headers: dict[str, str] = field(default_factory=dict)
    target: float | None = None


@dataclass
class Figures:
    rates: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)


def require_tools() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found (apt-get install wrk): the Python client would cap both sides")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).flushdb()  # the benchmark's own db
    except redis.RedisError as exc:
        raise SystemExit(f"no Redis at BENCH_REDIS_URL={REDIS_URL}: {exc}") from None


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def check_baseline(port: int) -> None:
    """The baseline runs Django's default middleware and nothing of ours; the site runs ours."""
    status, _, body = get(port, "/bench/middleware")
    if status != 200:
        raise SystemExit(f"/bench/middleware answered {status}: is the server loading {WSGI_APP}?")
    chains = json.loads(body)
    if chains["baseline"] != startproject_middleware():
        raise SystemExit(f"the baseline's middleware is not startproject's list: {chains['baseline']}")
    status, headers, body = get(port, BASELINE_PATH)
    if status != 200 or body != b"ok" or headers.get("x-frame-options") != "DENY":
        raise SystemExit(f"{BASELINE_PATH} answered {status} {headers}: not the default-middleware view")
    if "x-request-id" in headers:
        raise SystemExit(f"{BASELINE_PATH} carries X-Request-Id: the project's middleware ran on it")
    status, headers, _ = get(port, "/healthz")
    if status != 200 or "x-request-id" not in headers:
        raise SystemExit(f"/healthz answered {status} without X-Request-Id: not the production site")


def check(port: int, scenario: Scenario) -> None:
    """Fail loudly unless the scenario answers 200 with the expected content (wrk only counts
    status codes, and a fast error page would flatter any ratio)."""
    status, headers, body = get(port, scenario.path, scenario.headers)
    content_type = headers.get("content-type", "")
    problems = []
    if status != 200:
        problems.append(f"status {status}")
    if not content_type.startswith(scenario.content_type):
        problems.append(f"Content-Type {content_type!r}, expected {scenario.content_type}")
    if scenario.contains and scenario.contains not in body:
        problems.append(f"no {scenario.contains!r} in the body")
    if scenario.lacks and scenario.lacks in body:
        problems.append(f"{scenario.lacks!r} in the body")
    if problems:
        excerpt = body[:600].decode("utf-8", "replace")
        raise SystemExit(f"{scenario.name} ({scenario.path}): {', '.join(problems)}\n{excerpt}")


def load(port: int, path: str, headers: dict[str, str] | None = None, seconds: float = SECONDS) -> float:
    url = f"http://127.0.0.1:{port}{path}"
    return _server.wrk(url, seconds=seconds, connections=CONNECTIONS, headers=headers)


def measure(port: int, scenarios: list[Scenario]) -> tuple[list[float], dict[str, Figures]]:
    """Baseline, scenario, baseline, scenario, … REPS times; each scenario's ratio is its rate
    over the mean of the two baseline measurements around it."""
    for scenario in scenarios:
        check(port, scenario)
        load(port, scenario.path, scenario.headers, seconds=1)  # warm-up: both workers, caches
    load(port, BASELINE_PATH, seconds=1)
    baselines: list[float] = []
    figures = {scenario.name: Figures() for scenario in scenarios}
    for _ in range(REPS):
        before = load(port, BASELINE_PATH)
        baselines.append(before)
        for scenario in scenarios:
            rate = load(port, scenario.path, scenario.headers)
            after = load(port, BASELINE_PATH)
            baselines.append(after)
            figures[scenario.name].rates.append(rate)
            figures[scenario.name].ratios.append(rate / ((before + after) / 2))
            before = after
    return baselines, figures


def result_line(
    name: str,
    ratios: list[float],
    *,
    rate: float | None = None,
    unit: str = "req/s",
    target: float | None = None,
) -> str:
    """`RESULT <name> <rate> ratio <median> (<min>–<max>) target ≥ <target> ok|MISS`."""
    median = statistics.median(ratios)
    rate_text = f"{rate:8.0f} {unit}" if rate is not None else " " * (9 + len(unit))
    spread = f"({min(ratios):.2f}–{max(ratios):.2f})"
    verdict = ""
    if target is not None:
        verdict = f"target ≥ {target:.2f} {'ok' if median >= target else 'MISS'}"
    return f"{MARKER} {name:<50} {rate_text}  ratio {median:.2f} {spread:<11}  {verdict}".rstrip()


def report(scenarios: list[Scenario], baselines: list[float], figures: dict[str, Figures]) -> None:
    print(
        f"baseline {BASELINE_PATH} (default middleware): {statistics.median(baselines):.0f} req/s median "
        f"({min(baselines):.0f}–{max(baselines):.0f}) over {len(baselines)} measurements"
    )
    for scenario in scenarios:
        f = figures[scenario.name]
        print(result_line(scenario.name, f.ratios, rate=statistics.median(f.rates), target=scenario.target))
