"""Throughput ratios against the honest baseline, for every benchmark that serves HTTP.

The server is gunicorn (sync workers, DEBUG=0) loading bench/_site_wsgi.py: the production site
and, under /bench/, a one-line view behind Django's default middleware (the baseline) in the same
processes. Each repetition loads the baseline, then a scenario, then the baseline again, … with
wrk for the same time and connections, so every scenario sits between two baseline measurements
of its own repetition: its ratio is its rate over their mean, which shrugs off drift in the load
of a shared machine. The figure quoted is the median ratio over the repetitions, with their
spread (min–max). Alongside: the gunicorn processes' CPU time per request (from /proc; without
PostgreSQL's, Redis' and wrk's) and the same ratio computed from it (the baseline's CPU time per
request over the scenario's), which other work on the machine disturbs far less than throughput
and which wrk, sharing the cores, cannot push towards 1; it misses work moved into PostgreSQL or
Redis, so a target is met only when both ratios reach it.

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
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

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
    cpu_ms: list[float] = field(default_factory=list)
    cpu_ratios: list[float] = field(default_factory=list)  # baseline's CPU per request over ours

    def add(self, measured: Load, around: tuple[Load, Load] | None = None) -> None:
        """One measurement; `around`: the baseline measurements before and after it."""
        self.rates.append(measured.rate)
        if measured.cpu_ms is not None:
            self.cpu_ms.append(measured.cpu_ms)
        if around is not None:
            self.ratios.append(measured.rate / statistics.mean(b.rate for b in around))
            if measured.cpu_ms and all(b.cpu_ms for b in around):
                self.cpu_ratios.append(statistics.mean(b.cpu_ms for b in around) / measured.cpu_ms)

    def cpu_text(self) -> str:
        if not self.cpu_ms:
            return ""
        text = f"CPU {statistics.median(self.cpu_ms):.1f} ms/req"
        if self.cpu_ratios:
            text += f", CPU ratio {statistics.median(self.cpu_ratios):.2f} {spread(self.cpu_ratios)}"
        return text


def spread(values: list[float]) -> str:
    return f"({min(values):.2f}–{max(values):.2f})"


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


@dataclass
class Load:
    rate: float  # requests per second
    cpu_ms: float | None  # the server processes' CPU time per request (not PostgreSQL's or Redis')


def server_processes(port: int) -> list[int]:
    """The gunicorn serving `port`: the process started with that address and its children."""
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        processes[int(entry.name)] = (ppid, cmdline)
    masters = {
        pid
        for pid, (_, cmdline) in processes.items()
        if b"gunicorn" in cmdline and f"127.0.0.1:{port}".encode() in cmdline
    }
    return sorted(masters | {pid for pid, (ppid, _) in processes.items() if ppid in masters})


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # a worker restarted meanwhile: its time is lost, so the figure errs low
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(url: str, *, seconds: float, headers: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Requests per second and requests made; fails on any 4xx or 5xx answer."""
    command = ["wrk", f"-t{min(2, CONNECTIONS)}", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"{url}: {errors[1]} error responses\n{output}")
    requests = int(re.search(r"(\d+) requests in", output)[1])
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]), requests, output


def load(port: int, path: str, headers: dict[str, str] | None = None, seconds: float = SECONDS) -> Load:
    pids = server_processes(port)
    before = cpu_seconds(pids)
    rate, requests, _ = wrk(f"http://127.0.0.1:{port}{path}", seconds=seconds, headers=headers)
    cpu = cpu_seconds(pids) - before
    return Load(rate, cpu * 1000 / requests if pids and requests else None)


def measure(port: int, scenarios: list[Scenario]) -> tuple[Figures, dict[str, Figures]]:
    """Baseline, scenario, baseline, scenario, … REPS times; each scenario's ratio is its rate
    over the mean of the two baseline measurements around it (its CPU ratio: their CPU time per
    request over its own)."""
    for scenario in scenarios:
        check(port, scenario)
        load(port, scenario.path, scenario.headers, seconds=1)  # warm-up: both workers, caches
    load(port, BASELINE_PATH, seconds=1)
    baseline = Figures()
    figures = {scenario.name: Figures() for scenario in scenarios}
    for _ in range(REPS):
        before = load(port, BASELINE_PATH)
        baseline.add(before)
        for scenario in scenarios:
            measured = load(port, scenario.path, scenario.headers)
            after = load(port, BASELINE_PATH)
            baseline.add(after)
            figures[scenario.name].add(measured, around=(before, after))
            before = after
    return baseline, figures


def result_line(
    name: str,
    ratios: list[float],
    *,
    rate: float | None = None,
    unit: str = "req/s",
    target: float | None = None,
    note: str = "",
    also: list[float] | None = None,
) -> str:
    """`RESULT <name> <rate> ratio <median> (<min>–<max>) target ≥ <target> ok|MISS <note>`.

    `ok` needs the median of `ratios` and, when given, of `also` (the CPU ratios) at the target;
    "noisy" when the best repetition's ratio is over 1.5 times the worst's."""
    median = statistics.median(ratios)
    rate_text = f"{rate:8.0f} {unit}" if rate is not None else " " * (9 + len(unit))
    verdict = ""
    if target is not None:
        met = median >= target and (not also or statistics.median(also) >= target)
        verdict = f"target ≥ {target:.2f} {'ok' if met else 'MISS'}"
    if max(ratios) > 1.5 * min(ratios):
        verdict += ", noisy" if verdict else "noisy"
    line = f"{MARKER} {name:<44} {rate_text}  ratio {median:.2f} {spread(ratios):<11}  {verdict:<24} {note}"
    return line.rstrip()


def report(scenarios: list[Scenario], baseline: Figures, figures: dict[str, Figures]) -> None:
    rates = baseline.rates
    print(
        f"baseline {BASELINE_PATH} (default middleware): {statistics.median(rates):.0f} req/s median "
        f"({min(rates):.0f}–{max(rates):.0f}) over {len(rates)} measurements, {baseline.cpu_text()}"
    )
    for scenario in scenarios:
        f = figures[scenario.name]
        line = result_line(
            scenario.name,
            f.ratios,
            rate=statistics.median(f.rates),
            target=scenario.target,
            note=f.cpu_text(),
            also=f.cpu_ratios,
        )
        print(line)
