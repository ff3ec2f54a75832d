"""Carrier polling: trackings polled per second by one worker, and the dispatcher's claim at scale.

Run: ``.venv/bin/python bench/polling_throughput.py [N]`` (needs PostgreSQL on 127.0.0.1:5432).

1. Throughput: N UPS and N FedEx trackings, the sandbox carriers in their own process on
   localhost, one poller process (``polling.dispatch`` + ``polling.poll``: claim, HTTP, parse,
   lifecycle writes). Baseline in the same run: the same carrier requests made bare (the adapter's
   client alone, no database). The ratio says what our side costs on top of the carrier's
   round trips. 3 rounds: the first poll of each parcel stores its first event, later rounds find
   nothing new (the common case).
2. Scale: 1.2 M trackings (1 M open) in a second database by set-based SQL, then EXPLAIN ANALYZE
   of the dispatcher's claim query: it must use the partial index ``tracking_poll_due_idx``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import PYTHON, ROOT, environment, fresh_database, manage

SITE = str(ROOT / "bench" / "_polling_site.py")
ROUNDS = 3


def site(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([str(PYTHON), SITE, *args], env=env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"_polling_site {' '.join(args)} failed")
    return result.stdout.strip()


def rate(output: str) -> float:
    count, seconds = output.split()
    return int(count) / float(seconds)


def throughput(n: int) -> None:
    with fresh_database("bench_polling") as database:
        env = environment(database)
        manage(env, "migrate", "--noinput")
        sandbox = subprocess.Popen(
            [str(PYTHON), str(ROOT / "bench" / "_sandbox_server.py")],
            env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            url = sandbox.stdout.readline().strip()
            for api in ("UPS", "FEDEX"):
                env[f"{api}_API_URL"] = f"{url}/{api.lower()}"
                env[f"{api}_CLIENT_ID"], env[f"{api}_CLIENT_SECRET"] = "bench", "bench"
            env["CARRIER_CALLS_PER_MINUTE"] = "ups=100000,fedex=100000"
            site(env, "setup", str(n))
            print(
                f"{n} UPS (1 number per request) and {n} FedEx (30 per request) trackings; one worker process"
            )
            for api in ("ups", "fedex"):
                polled, bare = [], []
                for _ in range(ROUNDS):
                    manage(env, "shell", "-c", "from orders.models import Tracking; from django.utils import "
                           "timezone; Tracking.objects.update(next_poll_at=timezone.now())")  # fmt: skip
                    bare.append(rate(site(env, "fetch", api)))
                    polled.append(rate(site(env, "poll", api)))
                ratios = [p / b for p, b in zip(polled, bare, strict=True)]
                print(
                    f"RESULT {api:5}  polled {statistics.median(polled):7.1f} trackings/s "
                    f"(rounds: {', '.join(f'{p:.0f}' for p in polled)}); bare carrier calls "
                    f"{statistics.median(bare):7.1f}/s; ratio {statistics.median(ratios):.2f} "
                    f"(spread {min(ratios):.2f}–{max(ratios):.2f}; first round stores new events)"
                )
        finally:
            sandbox.stdin.close()
            sandbox.wait(timeout=10)


def scale() -> None:
    with fresh_database("bench_polling_scale") as database:
        env = environment(database)
        manage(env, "migrate", "--noinput")
        print(site(env, "million"))
        plan = site(env, "explain")
        print(plan)
        claimed = plan.strip().splitlines()[-1]  # "claimed N rows in T ms"
        print(f"RESULT claim of due trackings among 1 M open ones: {claimed}, tracking_poll_due_idx")
        if "tracking_poll_due_idx" not in plan:
            raise SystemExit("the claim query does not use tracking_poll_due_idx")


if __name__ == "__main__":
    throughput(int(sys.argv[1]) if len(sys.argv) > 1 else 150)
    scale()
