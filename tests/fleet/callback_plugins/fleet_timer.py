# Copyright: auditfleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print how long each task and play took: emulated VMs make every task cost seconds,
and the fleet stage has a time budget in CI. Enabled by the ansible.cfg fleet.sh writes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: fleet_timer
    type: aggregate
    short_description: wall time per task and per play, for the fleet harness
    description:
      - Prints one line per finished task with its wall time, and a summary of the slowest tasks.
"""


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
        self._times = []

    def _end_task(self):
        if self._task is not None:
            took = time.time() - self._task_start
            self._times.append((took, self._task))
            self._display.display("[fleet_timer] %6.1fs  %s" % (took, self._task))
            self._task = None

    def _start_task(self, task):
        self._end_task()
        self._task = task.get_name().strip()
        self._task_start = time.time()

    def v2_playbook_on_play_start(self, play):
        self._end_task()
        self._play_start = time.time()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start_task(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start_task(task)

    def v2_playbook_on_stats(self, stats):
        self._end_task()
        if not self._times:
            return
        total = sum(took for took, dummy in self._times)
        slow = sorted(self._times, reverse=True)[:5]
        self._display.display(
            "[fleet_timer] tasks: %d, %.1fs in all; slowest: %s"
            % (len(self._times), total, "; ".join("%.1fs %s" % (t, n) for t, n in slow))
        )
