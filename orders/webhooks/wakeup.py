"""Waking the batch applier after an event was stored (WEBHOOK_APPLY=async).

A request only sets a flag; a background thread of the process sends one `apply_pending` task
to the broker for everything stored since its last send, at most every WAKE_INTERVAL seconds.
So the broker costs the request nothing, and a broker that is down or frozen can neither slow it
down nor fail it: the events are stored, and the next wake-up or beat's periodic sweep applies
them. Without a broker (tasks would run eagerly, i.e. in the request), nothing is sent at all:
`manage.py apply_webhooks` applies the events in its own process.
"""

from __future__ import annotations

import logging
import os
import threading
import time

logger = logging.getLogger(__name__)

WAKE_INTERVAL = 0.2  # seconds between two wake-ups sent by one process
RETRY_AFTER = 5.0  # seconds before trying a broker that failed again


class Waker:
    def __init__(self) -> None:
        self.wanted = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.pid = 0

    def request(self) -> None:
        if self.wanted.is_set() and self.pid == os.getpid() and self.thread.is_alive():
            return  # asked for already: this process's thread sends it (once per event is costly)
        if _eager():
            return
        self.wanted.set()
        if self.thread is None or self.pid != os.getpid() or not self.thread.is_alive():
            with self.lock:  # one thread per process (a forked worker starts its own)
                if self.thread is None or self.pid != os.getpid() or not self.thread.is_alive():
                    self.pid = os.getpid()
                    self.thread = threading.Thread(target=self._run, name="webhook-wakeup", daemon=True)
                    self.thread.start()

    def _run(self) -> None:
        while True:
            self.wanted.wait()
            self.wanted.clear()  # anything stored from now on gets another send
            if _eager():
                continue  # the broker was configured away meanwhile: nothing to send to
            if send():
                time.sleep(WAKE_INTERVAL)
            else:
                self.wanted.set()
                time.sleep(RETRY_AFTER)


def _eager() -> bool:
    from statuspage.celery import app

    return bool(app.conf.task_always_eager)


def send() -> bool:
    """One `apply_pending` task to the broker; False (logged) when the broker is away."""
    from orders.webhooks import tasks

    try:  # one attempt (kombu's retry=False still retries connecting for seconds)
        tasks.apply_pending.apply_async(retry=True, retry_policy={"max_retries": 0})
    except Exception:  # any broker failure: the events wait for the next send or the sweep
        logger.warning("Could not wake the webhook applier; stored events wait", exc_info=True)
        return False
    return True


waker = Waker()


def request_batch() -> None:
    """Ask for a batch soon (called after an event was stored and committed)."""
    waker.request()
