"""The loop of the long-running commands (`poll_trackings`, `apply_webhooks`): a database outage
is waited out, not fatal, so a process left running on a machine needs no supervisor to restart
it when PostgreSQL restarts; with `--once` (cron) it is an error, and cron runs it again."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError, connections

# What a database that is down, restarting or unreachable raises (a lost or refused connection);
# any other database error is a bug, and stops the command with its traceback.
OUTAGE = (OperationalError, InterfaceError)


def summary(outcomes: Mapping[str, int]) -> str:
    """ "applied 3, rejected 1": the outcomes of a round, by name."""
    return ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items()))


def run(command: BaseCommand, step: Callable[[], bool], *, once: bool, interval: float) -> None:
    """Call `step` until stopped; it returns True while more work waits (then it runs again at
    once), else the loop sleeps `interval`. `once`: return when nothing more waits."""
    unavailable = False
    while True:
        try:
            more = step()
        except OUTAGE as exc:
            if once:
                raise CommandError(f"Database unavailable: {exc}") from exc
            command.stderr.write(f"Database unavailable, retrying in {interval:g} s: {exc}")
            connections.close_all()  # a broken connection is never reused: the next step reconnects
            unavailable, more = True, False
        else:
            if unavailable:
                command.stdout.write("Database available again")
                unavailable = False
        if once and not more:
            return
        if not more:
            time.sleep(interval)
