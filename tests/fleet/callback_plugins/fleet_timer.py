# Copyright: auditfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print how long each task and play took: emulated VMs make every task cost seconds,
and the fleet stage has a time budget in CI. Enabled by the ansible.cfg fleet.sh writes.

With FLEET_TIMER_JSON=PATH in the environment it also writes, at the end of the run, a JSON
file with the recap of every host (ok, changed, failures, unreachable, skipped, rescued,
ignored), the hosts that reported a change in each task, and the time of every task. The
fleet scenarios read it to assert "changed=0 on every host" from the recap itself, and
bench/bench_fleet.py reads it to say where the time goes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: fleet_timer
    type: aggregate
    short_description: wall time per task and per play, for the fleet harness
    description:
      - Prints one line per finished task with its wall time, and a summary of the slowest tasks.
      - With the environment variable E(FLEET_TIMER_JSON) set to a path, also writes the recap
        of every host, the changed hosts of each task and the task times there as JSON.
"""


# The keys of a task result kept in the JSON file (the audit_rule module's outcome among them).
RESULT_KEYS = ("changed", "failed", "skipped", "msg", "rc", "drift", "reboot_required", "pending", "loaded",
               "missing", "rolled_back", "load_error", "path", "rules", "load_method", "sets")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "fleet_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._task = None
        self._task_start = None
        self._play_start = None
        self._run_start = time.time()
        self._times = []
        # per task (in order): name, seconds, hosts changed / failed in it
        self._tasks = []
        self._current = None

    def _end_task(self):
        if self._task is not None:
            took = time.time() - self._task_start
            self._times.append((took, self._task))
            if self._current is not None:
                self._current["seconds"] = round(took, 2)
                self._tasks.append(self._current)
                self._current = None
            self._display.display("[fleet_timer] %6.1fs  %s" % (took, self._task))
            self._task = None

    def _start_task(self, task):
        self._end_task()
        self._task = task.get_name().strip()
        self._task_start = time.time()
        self._current = {"name": self._task, "action": task.action, "changed": [], "failed": [], "results": {}}

    def _record(self, result, failed=False, item=False):
        """Note the host as changed/failed in the current task and keep the result's
        outcome keys (for loops: per item), so that a scenario can assert on them."""
        if self._current is None:
            return
        host = result._host.get_name()
        res = result._result
        if res.get("changed", False) and host not in self._current["changed"]:
            self._current["changed"].append(host)
        if failed and host not in self._current["failed"]:
            self._current["failed"].append(host)
        kept = dict((k, res[k]) for k in RESULT_KEYS if k in res)
        if isinstance(kept.get("msg"), str) and len(kept["msg"]) > 2000:
            kept["msg"] = kept["msg"][:2000] + "..."
        if failed:
            kept["failed"] = True
        entry = self._current["results"].setdefault(host, {})
        if item:
            kept["item"] = res.get("_ansible_item_label", res.get("item"))
            entry.setdefault("items", []).append(kept)
        else:
            entry.update(kept)

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_item_on_ok(self, result):
        self._record(result, item=True)

    def v2_runner_item_on_failed(self, result):
        self._record(result, failed=True, item=True)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, failed=True)

    def v2_playbook_on_play_start(self, play):
        self._end_task()
        self._play_start = time.time()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start_task(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start_task(task)

    def v2_playbook_on_stats(self, stats):
        self._end_task()
        if self._times:
            total = sum(took for took, dummy in self._times)
            slow = sorted(self._times, reverse=True)[:5]
            self._display.display(
                "[fleet_timer] tasks: %d, %.1fs in all; slowest: %s"
                % (len(self._times), total, "; ".join("%.1fs %s" % (t, n) for t, n in slow))
            )
        path = os.environ.get("FLEET_TIMER_JSON")
        if path:
            recap = {}
            for host in sorted(stats.processed.keys()):
                recap[host] = stats.summarize(host)
            data = {"recap": recap, "tasks": self._tasks,
                    "seconds": round(time.time() - self._run_start, 2)}
            with open(path, "w") as f:
                json.dump(data, f, indent=1, sort_keys=True)
            self._display.display("[fleet_timer] recap and task times written to %s" % path)
