"""Live: ansible-rulebook runs the example rulebook (auditfleet.auditd.kill_watch) with the
audit_log source on this machine's real audit log; the test loads a kill rule under a key of its
own, kills a process, and checks what the rule's action (the playbook
auditfleet.auditd.eda_kill_context) wrote: the right killer, target and signal.

Needs root, a running auditd, .venv/ansible-rulebook (tools/testenv.sh builds it from
tests/requirements/ansible-rulebook.txt) and Java 17; skips saying which is missing.
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from tests.lib import liveaudit
from tests.lib.auditlock import audit_test_lock
from tests.lib.env import COLLECTION_LINK, COLLECTIONS, target_python
from tests.lib.eventsource import ROOT

RULEBOOK_VENV = os.path.join(ROOT, ".venv", "ansible-rulebook")
RULEBOOK = os.path.join(RULEBOOK_VENV, "bin", "ansible-rulebook")
USER = "afut-eda"


def java_problem():
    java = shutil.which("java", path=os.path.join(os.environ.get("JAVA_HOME", "/nonexistent"), "bin")) or shutil.which("java")
    if java is None:
        return "no java in PATH or JAVA_HOME (Debian: apt-get install openjdk-17-jre-headless)"
    res = subprocess.run([java, "-version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=60, check=False)
    m = re.search(r'version "(\d+)', res.stdout)
    if m is None or int(m.group(1)) < 17:
        return "ansible-rulebook needs Java 17 or newer, %s says: %s" % (java, res.stdout.strip()[:200])
    return None


def skip_reason():
    reason = liveaudit.audit_available()
    if reason:
        return "real auditd needed: %s" % reason
    if not os.access(RULEBOOK, os.X_OK):
        notrun = RULEBOOK_VENV + ".notrun"
        why = open(notrun).read().strip() if os.path.exists(notrun) else "not built"
        return "no %s (%s; tools/testenv.sh builds it)" % (RULEBOOK, why)
    return java_problem()


REASON = skip_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))


def wait_for(predicate, timeout, what, proc=None, output=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.2)
    tail = open(output, errors="replace").read()[-6000:] if output else ""
    raise AssertionError("%s: not after %d s (ansible-rulebook %s)\n%s" % (
        what, timeout, "exited %s" % proc.returncode if proc and proc.poll() is not None else "running", tail))


def test_rulebook_fires_on_a_real_sigkill_by_a_login_user(tmp_path):
    key = liveaudit.new_key("afeda")
    reports = tmp_path / "reports"
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                         "      ansible_python_interpreter: %s\n" % target_python())
    variables = tmp_path / "vars.yml"
    variables.write_text(json.dumps({"kill_watch_log": liveaudit.log_file(), "kill_watch_keys": [key],
                                     "kill_watch_report_dir": str(reports)}))
    output = str(tmp_path / "ansible-rulebook.out")
    env = dict(os.environ, LC_ALL="C.UTF-8", ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               PATH=os.path.join(RULEBOOK_VENV, "bin") + os.pathsep + os.environ.get("PATH", ""),
               HOME=str(tmp_path))  # ansible-runner and ansible write under HOME
    assert os.path.islink(COLLECTION_LINK)
    user, created = liveaudit.ensure_user(USER)
    sleepers = []
    proc = None
    try:
        with audit_test_lock(), open(output, "w") as out:
            reason = liveaudit.audit_available()  # checked again now that no other test can restart auditd
            if reason is not None:
                pytest.skip("real auditd needed: %s" % reason)
            with liveaudit.kill_rules(key, syscalls=("kill",), fields=("ppid=%d" % os.getpid(),)):
                proc = subprocess.Popen(
                    [RULEBOOK, "--rulebook", "auditfleet.auditd.kill_watch", "-i", str(inventory),
                     "--vars", str(variables), "-v"],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=str(tmp_path),
                    start_new_session=True)
                wait_for(lambda: "audit_log: following %s" % liveaudit.log_file() in open(output).read(), 120,
                         "the source started following the log", proc, output)
                victims = []
                tail = liveaudit.LogTail()
                for sig in ("TERM", "KILL"):  # SIGTERM does not match the rule, SIGKILL does
                    victim = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL)
                    sleepers.append(victim)
                    killer = subprocess.Popen(["kill", "-s", sig, str(victim.pid)], env=liveaudit.ENV,
                                              preexec_fn=liveaudit.as_user(loginuid=user.pw_uid))
                    assert killer.wait(timeout=30) == 0
                    victims.append((victim.pid, killer.pid, sig))
                try:
                    found = wait_for(lambda: glob.glob(str(reports / "kill-*.md")), 180,  # written last
                                     "the rule's playbook wrote its report", proc, output)
                except AssertionError as exc:
                    logged = [line for line in tail.read().decode("utf-8", "replace").split("\n") if key in line]
                    raise AssertionError("%s\nthe audit log has, for key %s:\n%s" % (exc, key, "\n".join(logged)))
                time.sleep(1)  # a second report, if the SIGTERM had fired the rule, would be there by now
                found = glob.glob(str(reports / "kill-*.json"))
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for sleeper in sleepers:
            if sleeper.poll() is None:
                sleeper.kill()
            sleeper.wait()
        if created:
            liveaudit.remove_user(USER)
    print(open(output, errors="replace").read()[-3000:])
    assert len(found) == 1, found  # the SIGTERM fired no rule
    with open(found[0]) as f:
        written = json.load(f)
    victim_pid, killer_pid, _sig = victims[1]
    kill = written["kill"]
    assert written["rule"] == "SIGKILL to a watched command by a login user"
    assert kill["key"] == key and kill["syscall"] == "kill"
    assert kill["signal"] == 9 and kill["signal_name"] == "SIGKILL" and kill["success"] is True
    assert kill["killer"]["pid"] == killer_pid and kill["killer"]["ppid"] == os.getpid()
    assert kill["killer"]["auid"] == user.pw_uid and kill["killer"]["login_user"] == USER
    # (not argv: the kernel may still show the parent's command line right after an exec)
    assert kill["killer"]["comm"] == "kill" and kill["killer"]["exe"].endswith("/kill")
    assert kill["target_pid"] == victim_pid and kill["targets"][0]["pid"] == victim_pid
    assert kill["targets"][0]["comm"] == "sleep"
    # the context audit_facts gathered: both kills by this login user, the SIGTERM first
    before = written["same_login_user_before"]
    assert [(r["killer"]["pid"], r["signal_name"]) for r in before if r["key"] == key] == [
        (victims[0][1], "SIGTERM"), (killer_pid, "SIGKILL")]
    markdown = open(found[0][:-len(".json")] + ".md").read()
    assert "SIGKILL" in markdown and str(victim_pid) in markdown and USER in markdown, markdown
