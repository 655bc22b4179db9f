"""Helpers for the event source tests (tests/unit/extensions/eda): a log file written, rotated
and truncated as auditd and logrotate do, and main(queue, args) run as a task with a consumer
that a test can hold back."""
import asyncio
import os
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGIN = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "audit_log.py")


class Log(object):
    """A log file that a test writes, rotates and truncates as auditd and logrotate do."""

    def __init__(self, path):
        self.path = path
        open(path, "ab").close()

    def append(self, lines):
        with open(self.path, "ab") as f:
            f.write(b"".join(line + b"\n" for line in lines))

    def _shift(self):
        n = 1
        while os.path.exists("%s.%d" % (self.path, n)):
            n += 1
        for i in range(n - 1, 0, -1):
            os.rename("%s.%d" % (self.path, i), "%s.%d" % (self.path, i + 1))

    def rotate(self):
        """auditd's rotation: audit.log -> audit.log.1 (.1 -> .2 ...), then a new audit.log."""
        self._shift()
        os.rename(self.path, self.path + ".1")
        open(self.path, "ab").close()

    def copytruncate(self):
        """logrotate's copytruncate: copy to audit.log.1, then truncate audit.log in place."""
        self._shift()
        with open(self.path, "rb") as src, open(self.path + ".1", "wb") as dst:
            dst.write(src.read())
        with open(self.path, "r+b") as f:
            f.truncate(0)


class Run(object):
    """main(queue, args) as a task, with a consumer that a test can hold back: hold() (it
    takes at most the item it is already waiting for), allow(n) more, release()."""

    def __init__(self, plugin, args, maxsize=1):
        self.main = plugin["main"]
        self.args = args
        self.queue = asyncio.Queue(maxsize)
        self.got = []
        self.budget = None  # how many more items the consumer may take; None: no limit
        self.wake = asyncio.Event()
        self.task = self.consumer = None

    async def __aenter__(self):
        self.task = asyncio.ensure_future(self.main(self.queue, self.args))
        self.consumer = asyncio.ensure_future(self._consume())
        return self

    def hold(self):
        self.budget = 0

    def allow(self, count):
        self.budget = (self.budget or 0) + count
        self.wake.set()

    def release(self):
        self.budget = None
        self.wake.set()

    async def _consume(self):
        while True:
            while self.budget is not None and self.budget <= 0:
                self.wake.clear()
                await self.wake.wait()
            item = await self.queue.get()
            self.got.append(item)
            if self.budget is not None:
                self.budget -= 1

    async def wait_for(self, count, timeout=30.0):
        deadline = time.monotonic() + timeout
        while len(self.got) < count:
            if self.task.done():
                self.task.result()  # raises what main raised
                raise AssertionError("main() returned after %d of %d events" % (len(self.got), count))
            if time.monotonic() > deadline:
                raise AssertionError("%d of %d events after %.0f s: %s" % (len(self.got), count, timeout, self.ids()))
            await asyncio.sleep(0.01)

    async def stop(self):
        """Cancel main() as ansible-rulebook does at shutdown; events it put count as sent."""
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        self.consumer.cancel()
        try:
            await self.consumer
        except asyncio.CancelledError:
            pass
        while not self.queue.empty():
            self.got.append(self.queue.get_nowait())

    async def __aexit__(self, *exc):
        if not self.task.done() or not self.consumer.done():
            await self.stop()

    def ids(self):
        out = []
        for item in self.got:
            body = item["auditd"]
            out.append(body["report"]["event_id"] if body["type"] == "kill" else body["event"]["event_id"])
        return out
