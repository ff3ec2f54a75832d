"""The loop of the long-running commands (orders/management/loop.py): a database outage is waited
out and reported, with --once it is an error, and any other database error stops the command."""

from __future__ import annotations

import io

import pytest
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, OperationalError

from orders.management import loop


class Stop(Exception):
    """Ends a loop that would otherwise run until stopped."""


def command() -> BaseCommand:
    return BaseCommand(stdout=io.StringIO(), stderr=io.StringIO())


def steps(*outcomes):
    """A step that raises or returns each outcome in turn, then stops the loop."""
    pending = list(outcomes)
    calls = []

    def step() -> bool:
        calls.append(1)
        if not pending:
            raise Stop
        outcome = pending.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return step, calls


def test_an_outage_is_waited_out_and_its_end_reported():
    cmd = command()
    step, calls = steps(OperationalError("connection refused"), OperationalError("still down"), True, False)
    with pytest.raises(Stop):
        loop.run(cmd, step, once=False, interval=0.01)
    assert len(calls) == 5  # both failures retried, then work, then the stop
    errors = cmd.stderr._out.getvalue()
    assert errors.count("Database unavailable, retrying in 0.01 s: ") == 2 and "still down" in errors
    assert cmd.stdout._out.getvalue().count("Database available again") == 1


def test_with_once_an_outage_is_an_error_and_work_waiting_is_done_first():
    step, calls = steps(True, True, False)
    loop.run(command(), step, once=True, interval=0.01)
    assert len(calls) == 3  # ran while more waited, then returned
    step, _ = steps(OperationalError("connection refused"))
    with pytest.raises(CommandError, match="Database unavailable: connection refused"):
        loop.run(command(), step, once=True, interval=0.01)


def test_a_database_error_that_is_no_outage_stops_the_command():
    step, calls = steps(IntegrityError("duplicate key"))
    with pytest.raises(IntegrityError):
        loop.run(command(), step, once=False, interval=0.01)
    assert len(calls) == 1


def test_summary_names_each_outcome_once_in_order():
    assert loop.summary({"rejected": 1, "applied": 3}) == "applied 3, rejected 1"
    assert loop.summary({}) == ""
