"""Kill reports for the fleet report tests, made by the collection's own parser.

kill_event() writes the records auditd writes for one kill event (RAW, or ENRICHED when names
are given), for x86_64, i386 or aarch64 programs; reports_for() runs them through the
kill_reports filter, so every report has exactly the shape the parser gives. demo_fleet() is
a mixed fleet (x86_64, aarch64 and i386 hosts, a host whose auditd is stopped, an unreachable
host, hostile process names) as hostvars look after audit_facts.
"""

import random

from ansible_collections.auditfleet.auditd.plugins.filter.kill_reports import kill_reports

GS = "\x1d"
BASE = 1795653000
ARCHES = {"x86_64": ("c000003e", {"kill": 62, "tkill": 200, "tgkill": 234}),
          "i386": ("40000003", {"kill": 37, "tkill": 238, "tgkill": 270}),
          "aarch64": ("c00000b7", {"kill": 129, "tkill": 130, "tgkill": 131})}
# What a local user can name a process with prctl(PR_SET_NAME) (15 bytes) or argv: a
# spreadsheet formula, a terminal escape sequence (set the window title, 8-bit CSI), markup.
FORMULA = "=cmd|' /C calc'!A0"
ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b31m"
SCRIPT = "<script>alert(1)</script>"


def hexed(argv):
    return "\0".join(argv).encode("utf-8").hex().upper()


def comm_field(comm):
    """comm as auditd writes it: quoted, or hex when it holds a space, a quote or a control char."""
    if any(c in comm for c in ' "') or any(ord(c) < 0x21 or ord(c) > 0x7e for c in comm):
        return comm.encode("utf-8").hex().upper()
    return '"%s"' % comm


def kill_event(serial, at, signal=9, target=4242, auid=1000, uid=0, comm="kill",
               argv=("kill", "-9", "4242"), target_comm="sleep", success=True, login=None,
               user=None, key="kill_rule", syscall="kill", tid=None, errno=1, arch="x86_64", node=None):
    """The records of one kill event. LOGIN/USER given: ENRICHED format, else RAW."""
    sec = "%d.%03d:%d" % (BASE + int(at), int(round((at % 1) * 1000)), serial)
    arch_hex, numbers = ARCHES[arch]
    exit_code = 0 if success else -errno
    args = "a0=%x a1=%x a2=0" % (target & 0xFFFFFFFF, signal)
    if syscall == "tgkill":
        args = "a0=%x a1=%x a2=%x" % (target, tid, signal)
    prefix = "node=%s " % node if node else ""
    syscall_line = (
        '%stype=SYSCALL msg=audit(%s): arch=%s syscall=%d success=%s exit=%d %s a3=0 items=0 '
        'ppid=1 pid=%d auid=%d uid=%d gid=0 euid=%d suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts1 '
        'ses=3 comm=%s exe="/usr/bin/kill" key="%s"'
        % (prefix, sec, arch_hex, numbers[syscall], "yes" if success else "no", exit_code, args, 5000 + serial,
           4294967295 if auid is None else auid, uid, uid, comm_field(comm), key))
    if login is not None or user is not None:
        syscall_line += '%sARCH=%s SYSCALL=%s AUID="%s" UID="%s"' % (
            GS, arch, syscall, login or "unset", user or "root")
    lines = [syscall_line]
    if success or errno == 1:         # EPERM: the kernel recorded the target before refusing
        lines.append('%stype=OBJ_PID msg=audit(%s): opid=%d oauid=-1 ouid=0 oses=-1 ocomm=%s'
                     % (prefix, sec, target if syscall != "tgkill" else tid, comm_field(target_comm)))
    lines.append("%stype=PROCTITLE msg=audit(%s): proctitle=%s" % (prefix, sec, hexed(argv)))
    return "\n".join(lines) + "\n"


def reports_for(host, *events):
    reports = kill_reports("".join(events))
    for report in reports:
        report["host"] = host
    return reports


def status(pid=812, lost=0, enabled=1, available=True, daemon_running=None):
    out = {"enabled": enabled, "failure": 1, "pid": pid, "backlog": 0, "backlog_limit": 8192, "lost": lost,
           "rate_limit": 0, "available": available, "immutable": False, "message": ""}
    if daemon_running is not None:
        out["daemon_running"] = daemon_running
    return out


def host_vars(reports, auditd=None, arch=None, truncated=False, total=None):
    facts = {"auditd_kill_reports": reports, "auditd_status": auditd or status(),
             "auditd_log_summary": {"truncated": truncated,
                                    "total_kill_reports": len(reports) if total is None else total}}
    if arch:
        facts["architecture"] = arch
    return {"ansible_facts": facts, "gather": {"changed": False}}


USERS = (("alice", 1000, "root", 0), ("bob", 1001, "bob", 1001), ("carol", 1002, "root", 0),
         (None, None, "root", 0))
SIGNALS = (15, 15, 9, 9, 1, 2, 10)
TARGETS = ("nginx", "php-fpm8.2", "postgres", "java", "sleep", "redis-server")


def demo_fleet(kills=300, seed=7, span_hours=36):
    """hostvars of a mixed fleet after audit_facts, and the list of hosts asked."""
    rng = random.Random(seed)
    hosts = {"web1": ("x86_64", "x86_64"), "web2": ("x86_64", None), "arm1": ("aarch64", "aarch64"),
             "legacy32": ("i386", "i386"), "db1": ("x86_64", "x86_64")}
    events = {name: [] for name in hosts}
    names = sorted(hosts)
    for serial in range(1, kills + 1):
        host = names[int(rng.random() ** 1.6 * len(names))]
        arch = hosts[host][0]
        if host == "web2" and rng.random() < 0.3:
            arch = "i386"             # 32-bit programs on a 64-bit host
        login, auid, user, uid = rng.choice(USERS)
        signal = rng.choice(SIGNALS)
        target = rng.choice(TARGETS)
        pid = rng.randrange(300, 400000)
        success = rng.random() > 0.08
        comm = rng.choice(("kill", "kill", "pkill", "systemctl"))
        argv = (comm, "-%d" % signal, str(pid)) if comm != "systemctl" else (comm, "restart", target)
        at = rng.random() * span_hours * 3600
        events[host].append(kill_event(serial, at, signal=signal, target=pid, auid=auid, uid=uid, comm=comm,
                                       argv=argv, target_comm=target, success=success, login=login or None,
                                       user=user, arch=arch, errno=1))
    serial = kills
    many = tuple(str(123457 + 1111 * i) for i in range(40))      # a long command line full of numbers
    for comm, argv, target in ((FORMULA[:15], (FORMULA,), "nginx"), ("evil", ("sh", "-c", "echo " + ESCAPES), "nginx"),
                               ("<b>x</b>", ("perl", "-e", SCRIPT + " | x"), "postgres"),
                               ("kill", ("kill", "-9") + many, "java")):
        serial += 1
        events["web1"].append(kill_event(serial, 100.0 + serial, signal=9, target=31337, auid=1003, comm=comm,
                                         argv=argv, target_comm=target, login="mallory", user="root"))
    data = {}
    for host, (_arch, fact_arch) in hosts.items():
        auditd = status(pid=0, daemon_running=False) if host == "db1" else status()
        data[host] = host_vars(reports_for(host, *events[host]), auditd=auditd, arch=fact_arch)
    data["ghost"] = {"gather": {"unreachable": True, "msg": "Failed to connect to the host via ssh: Connection refused"}}
    return data, sorted(data)
