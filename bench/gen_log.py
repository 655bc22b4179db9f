"""Generate a realistic Linux audit log, deterministically and in constant memory.

The output looks like what auditd 3.x writes to /var/log/audit/audit.log on a busy fleet
(aggregated with node= prefixes): kill/tkill/tgkill events (what kill reports are built from),
execve, openat/connect/unlinkat, PAM and systemd USER_* records, LOGIN, AppArmor AVC,
CONFIG_CHANGE, BPF and DAEMON_START, in RAW and ENRICHED format, some events interleaved.
The same arguments always give the same bytes. A summary goes to stderr; its last line is
`summary-json: {...}`.

    python bench/gen_log.py --size 100M --out bench/out/audit.log
    python bench/gen_log.py --append --size 1% --out bench/out/audit.log
"""

import argparse
import collections
import itertools
import json
import os
import re
import random
import sys
import time

GS = "\x1d"  # auditd ENRICHED format: separates raw fields from their interpretations
UNSET = 4294967295  # auid/ses of processes outside any login session
MAX_PID = 4194304  # pid_max of 64-bit Linux
DEFAULT_START = 1767225600  # 2026-01-01T00:00:00Z; fixed so that output is reproducible
TAIL_BYTES = 4 << 20  # how much of an existing log --append reads to continue it

USERS = {0: "root", 33: "www-data", 105: "postgres", 998: "node_exporter",
         1000: "alice", 1001: "deploy", 1002: "bob"}
LOGIN_USERS = (1000, 1001, 1002, 0)

X86_64, I386 = "c000003e", "40000003"
ARCH_NAME = {X86_64: "x86_64", I386: "i386"}
SYSCALL_NR = {
    X86_64: {"kill": 62, "tkill": 200, "tgkill": 234, "execve": 59, "openat": 257,
             "connect": 42, "unlinkat": 263, "write": 1, "sendto": 44},
    I386: {"kill": 37, "tkill": 238, "tgkill": 270},
}

NODE_NAMES = ("web01.prod.example.net", "db01.prod.example.net", "ci-runner-3",
              "edge-gw.dmz.example.net", "mail", "k8s-worker-12")

SIGNALS = (15, 15, 15, 15, 9, 9, 1, 2, 10, 12, 18, 19)  # SIGTERM most, then SIGKILL, ...
SIGURG = 23  # Go runtimes preempt their own threads with tgkill(SIGURG)

# Who sends signals: comm, exe, uid (None: the session's user), in a login session?, argv.
KILLERS = (
    ("kill", "/usr/bin/kill", None, True, ("kill", "-{sig}", "{pid}")),
    ("bash", "/usr/bin/bash", None, True, ("-bash",)),
    ("pkill", "/usr/bin/pkill", None, True, ("pkill", "-f", "worker.py")),
    ("systemd", "/usr/lib/systemd/systemd", 0, False,
     ("/lib/systemd/systemd", "--system", "--deserialize", "31")),
    ("timeout", "/usr/bin/timeout", 1001, False, ("timeout", "300", "./run-tests.sh")),
    ("containerd-shim", "/usr/bin/containerd-shim-runc-v2", 0, False,
     ("/usr/bin/containerd-shim-runc-v2", "-namespace", "moby", "-id", "4f1c0ffee2d1")),
    ("supervisord", "/usr/bin/python3.11", 0, False,
     ("/usr/bin/python3", "/usr/bin/supervisord", "-n", "-c", "/etc/supervisor/supervisord.conf")),
    ("node", "/usr/bin/node", 33, False, ("node", "/srv/app/server.js")),
    ("Web Content", "/usr/lib/firefox-esr/firefox-esr", 1002, True,
     ("/usr/lib/firefox-esr/firefox-esr", "-contentproc", "-childID", "3")),
    ("agent", "/opt/acme/bin/agent (deleted)", 0, False, ("/opt/acme/bin/agent", "--daemon")),
    ("sshd", "/usr/sbin/sshd", 0, False, ("sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",)),
)
# Threaded runtimes signalling their own threads: comm, exe, uid, thread comm.
THREAD_KILLERS = (
    ("node_exporter", "/usr/bin/prometheus-node-exporter", 998, "node_exporter"),
    ("dockerd", "/usr/sbin/dockerd", 0, "dockerd"),
    ("java", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", 1001, "C2 CompilerThre"),
    ("postgres", "/usr/lib/postgresql/15/bin/postgres", 105, "postgres"),
)
I386_KILLERS = (
    ("monitor32", "/opt/legacy/bin/monitor32", 0, False, ("/opt/legacy/bin/monitor32", "-d")),
    ("steam", "/home/bob/.steam/ubuntu12_32/steam", 1002, True, ("steam",)),
)
VICTIMS = (("sleep", 1000), ("nginx", 33), ("python3", 1001), ("postgres", 105),
           ("java", 1001), ("worker", 33), ("bash", 1000), ("Isolated Web Co", 1002),
           ("chrome", 1002), ("cat", 0), ("tail", 0))

DIRS = ("/root", "/home/alice", "/home/bob/my projects", "/", "/var/www/html", "/srv/app",
        "/tmp", "/home/deploy/releases/20260101")
SERVICES = ("nginx", "postgresql", "cron", "ssh", "docker", "logrotate", "apt-daily",
            "man-db", "systemd-tmpfiles-clean", "fstrim", "unattended-upgrades")
# execve commands: comm, exe (what the PATH record shows), argv with {placeholders}, script?
COMMANDS = (
    ("ls", "/usr/bin/ls", ("ls", "--color=auto", "-la", "{dir}"), False),
    ("grep", "/usr/bin/grep", ("grep", "-rn", "TODO", "{dir}"), False),
    ("systemctl", "/usr/bin/systemctl", ("systemctl", "restart", "{svc}"), False),
    ("sh", "/usr/bin/dash", ("/bin/sh", "-c", "cd {dir} && ./deploy.sh --env prod"), False),
    ("python3", "/usr/bin/python3.11", ("/usr/bin/python3", "/srv/app/manage.py", "migrate"), False),
    ("curl", "/usr/bin/curl", ("curl", "-fsS", "https://status.example.org/ping?id={n}"), False),
    ("git", "/usr/bin/git", ("git", "commit", "-m", "fix: handle {n} edge cases"), False),
    ("ps", "/usr/bin/ps", ("ps", "-eo", "pid,ppid,comm"), False),
    ("cat", "/usr/bin/cat", ("cat", "/etc/os-release"), False),
    ("find", "/usr/bin/find", ("find", "/var/log", "-name", "*.gz", "-mtime", "+7", "-delete"), False),
    ("awk", "/usr/bin/mawk", ("awk", "{{print $1}}", "/var/log/nginx/access.log"), False),
    ("kill", "/usr/bin/kill", ("kill", "-TERM", "{n}"), False),
    ("sleep", "/usr/bin/sleep", ("sleep", "{n}"), False),
    ("mv", "/usr/bin/mv", ("mv", "/home/bob/My Documents/report.pdf", "/tmp/"), False),
    ("echo", "/usr/bin/echo", ("echo", "d\u00e9j\u00e0 vu \"quoted\""), False),
    ("sessionclean", "/usr/lib/php/sessionclean", ("/bin/sh", "-e", "/usr/lib/php/sessionclean"), True),
    ("backup.sh", "/usr/local/bin/backup.sh", ("/bin/bash", "/usr/local/bin/backup.sh", "--full"), True),
    ("apt-get", "/usr/bin/apt-get", ("apt-get", "-qq", "update"), False),
)
SHELLS = (("bash", "/usr/bin/bash", ("-bash",)), ("cron", "/usr/sbin/cron", ("/usr/sbin/CRON", "-f")),
          ("sshd", "/usr/sbin/sshd", ("sshd: deploy@notty",)), ("make", "/usr/bin/make", ("make", "-j2")))
INTERPRETERS = {"/usr/lib/php/sessionclean": "/usr/bin/dash", "/usr/local/bin/backup.sh": "/usr/bin/bash"}
LD_SO = "/lib64/ld-linux-x86-64.so.2"

# openat: path, flags, key, readers (comm, exe, uid)
OPENS = (
    ("/etc/shadow", 0x80000, "identity", ("unix_chkpwd", "/usr/sbin/unix_chkpwd", 0)),
    ("/etc/passwd", 0x80000, "identity", ("sshd", "/usr/sbin/sshd", 0)),
    ("/etc/sudoers", 0x80000, "sudoers", ("sudo", "/usr/bin/sudo", 0)),
    ("/etc/nginx/nginx.conf", 0x0, "etc_watch", ("nginx", "/usr/sbin/nginx", 0)),
    ("/etc/hosts", 0x80000, None, ("curl", "/usr/bin/curl", 1000)),
    ("/etc/ssl/private/site.key", 0x0, "etc_watch", ("python3", "/usr/bin/python3.11", 33)),
    ("/var/lib/app/state file.db", 0x42, None, ("python3", "/usr/bin/python3.11", 1001)),
)
CREATES = ("/etc/cron.d/backup", "/etc/ld.so.cache~", "/etc/passwd+", "/tmp/tmp.x3fQk2")

# AppArmor AVC: head with profile, comm, exe, operation fields, name= (or None), has fsuid/ouid
AVCS = (
    ('apparmor="DENIED" operation="open" class="file" profile="/usr/sbin/cupsd"', "cupsd",
     "/usr/sbin/cupsd", ' requested_mask="r" denied_mask="r"', "/etc/ssl/private/", True),
    ('apparmor="DENIED" operation="open" class="file" profile="/usr/sbin/ntpd"', "ntpd",
     "/usr/sbin/ntpd", ' requested_mask="r" denied_mask="r"', "/proc/sys/kernel/random/boot_id", True),
    ('apparmor="ALLOWED" operation="open" class="file" profile="/usr/bin/man"', "man",
     "/usr/bin/man", ' requested_mask="wc" denied_mask="wc"', "/home/bob/My Files/notes.txt", True),
    ('apparmor="DENIED" operation="capable" class="cap" profile="/usr/sbin/ntpd"', "ntpd",
     "/usr/sbin/ntpd", '  capability=12  capname="net_admin"', None, False),
    ('apparmor="DENIED" operation="ptrace" class="ptrace" profile="docker-default"', "ps",
     "/usr/bin/ps", ' requested_mask="read" denied_mask="read" peer="unconfined"', None, False),
    ('apparmor="STATUS" operation="profile_replace" info="same as current profile, skipping" '
     'profile="unconfined"', "apparmor_parser", "/usr/sbin/apparmor_parser", "",
     "snap.lxd.daemon", False),
)


def hexu(b):
    return b.hex().upper()


def needs_hex(b):
    # The kernel and libaudit hex-encode a value holding a space, '"', control or non-ASCII byte.
    return any(c < 0x21 or c > 0x7e or c == 0x22 for c in b)


_ENC = {}


def enc(s):
    """A value as auditd writes an untrusted string: "quoted" or hex."""
    v = _ENC.get(s)
    if v is None:
        b = s.encode()
        v = hexu(b) if needs_hex(b) else '"%s"' % s
        if len(_ENC) < 8192:  # bounded: values with random numbers would grow it forever
            _ENC[s] = v
    return v


def proctitle(argv):
    # The kernel keeps at most 128 bytes of the NUL-separated command line.
    b = "\0".join(argv).encode()[:128]
    return hexu(b) if needs_hex(b) else '"%s"' % b.decode()


def key_field(key):
    return "(null)" if key is None else enc(key)


def uname(uid):
    return "unset" if uid == UNSET else USERS[uid]


IDS_ENR = {uid: " ".join('%s="%s"' % (f, name) for f in
                         ("UID", "GID", "EUID", "SUID", "FSUID", "EGID", "SGID", "FSGID"))
           for uid, name in USERS.items()}


def parse_size(text, existing):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGkmg%]?)i?[Bb]?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError("bad size %r (e.g. 100M, 1G, 4096, 1%%)" % text)
    n, unit = float(m.group(1)), m.group(2).upper()
    if unit == "%":
        if existing is None:
            raise argparse.ArgumentTypeError("a size in %% needs --append to an existing file")
        return int(existing * n / 100)
    return int(n * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[unit])


class Proc:
    __slots__ = ("pid", "ppid", "comm", "exe", "uid", "auid", "ses", "tty", "argv", "subj")

    def __init__(self, pid, ppid, comm, exe, uid, auid, ses, tty, argv, subj):
        self.pid, self.ppid, self.comm, self.exe = pid, ppid, comm, exe
        self.uid, self.auid, self.ses, self.tty, self.argv, self.subj = uid, auid, ses, tty, argv, subj


class Node:
    def __init__(self, index, name, enriched, rng):
        self.name = name
        self.prefix = "node=%s " % name if name else ""
        self.enriched = enriched
        self.apparmor = index % 3 != 2  # the others run without an LSM: no subj= fields
        self.serial = rng.randrange(20000, 900000)
        self.next_pid = rng.randrange(3000, 400000)
        self.next_ses = rng.randrange(3, 400)
        # (auid, ses, tty) of open login sessions; sshd logins replace them
        self.sessions = [(uid, self.next_ses + i, "pts%d" % i) for i, uid in enumerate(LOGIN_USERS)]
        self.next_ses += len(self.sessions)
        self.recent = collections.deque(maxlen=64)  # (pid, comm, uid, auid, ses) of execs


class Gen:
    """Builds events: (node, kind, tags, gap_ms, [(type, body, enriched_part), ...])."""

    def __init__(self, rng, nodes, kill_key):
        self.r = rng
        self.nodes = nodes
        self.kill_key = kill_key
        self.kill32_key = kill_key + "\x01kill32"  # the b32 rule has two -k: hex on disk
        weights = (("execve", 28), ("openat", 18), ("kill", 16), ("connect", 6), ("unlink", 3),
                   ("avc", 5), ("service", 4), ("bpf", 2), ("sudo", 2), ("cron", 1.5),
                   ("ssh_login", 0.5), ("ssh_fail", 2), ("config_reload", 0.03))
        self.scenarios = [getattr(self, "sc_" + name) for name, share in weights]
        self.cum = list(itertools.accumulate(share for name, share in weights))
        self.choices = rng.choices

    # ---- helpers -------------------------------------------------------------------------
    def ptr(self, base=0x7ff000000000):
        return base | self.r.getrandbits(36)

    def new_pid(self, node):
        node.next_pid += self.r.randrange(1, 40)
        if node.next_pid >= MAX_PID:
            node.next_pid = 300
        return node.next_pid

    def session(self, node, interactive):
        if interactive:
            return self.r.choice(node.sessions)
        return UNSET, UNSET, "(none)"

    def proc(self, node, comm, exe, uid, interactive, argv, subj="unconfined"):
        auid, ses, tty = self.session(node, interactive)
        if uid is None:
            uid = auid
        pid = self.new_pid(node)
        return Proc(pid, max(1, pid - self.r.randrange(1, 300)), comm, exe, uid, auid, ses, tty,
                    argv, subj)

    def syscall(self, node, p, arch, name, ok, exitv, a, items, key):
        body = ("arch=%s syscall=%d success=%s exit=%d a0=%x a1=%x a2=%x a3=%x items=%d ppid=%d "
                "pid=%d auid=%d uid=%d gid=%d euid=%d suid=%d fsuid=%d egid=%d sgid=%d fsgid=%d "
                "tty=%s ses=%d comm=%s exe=%s%s key=%s") % (
            arch, SYSCALL_NR[arch][name], "yes" if ok else "no", exitv, a[0], a[1], a[2], a[3],
            items, p.ppid, p.pid, p.auid, p.uid, p.uid, p.uid, p.uid, p.uid, p.uid, p.uid, p.uid,
            p.tty, p.ses, enc(p.comm), enc(p.exe),
            " subj=" + p.subj if node.apparmor else "", key_field(key))
        enr = 'ARCH=%s SYSCALL=%s AUID="%s" %s' % (ARCH_NAME[arch], name, uname(p.auid), IDS_ENR[p.uid])
        return ("SYSCALL", body, enr)

    def path(self, item, name, nametype, uid=0, mode=0o100755):
        if nametype == "UNKNOWN":  # the object does not exist: no inode data
            return ("PATH", "item=%d name=%s nametype=UNKNOWN cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 "
                    "cap_frootid=0" % (item, enc(name)), None)
        body = ("item=%d name=%s inode=%d dev=fe:01 mode=%07o ouid=%d ogid=%d rdev=00:00 nametype=%s "
                "cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0") % (
            item, enc(name), self.r.randrange(2, 9000000), mode, uid, uid, nametype)
        return ("PATH", body, 'OUID="%s" OGID="%s"' % (USERS[uid], USERS[uid]))

    def cwd(self, d):
        return ("CWD", "cwd=%s" % enc(d), None)

    def title(self, argv):
        return ("PROCTITLE", "proctitle=" + proctitle(argv), None)

    def user_rec(self, node, typ, pid, uid, auid, ses, msg, extra_enr=""):
        body = "pid=%d uid=%d auid=%d ses=%d%s msg='%s'" % (
            pid, uid, auid, ses, " subj=unconfined" if node.apparmor else "", msg)
        return (typ, body, 'UID="%s" AUID="%s"%s' % (uname(uid), uname(auid), extra_enr))

    def events(self):
        """One scenario: a list of events of one node."""
        node = self.r.choice(self.nodes)
        return self.events_for(node)

    def events_for(self, node):
        return self.choices(self.scenarios, cum_weights=self.cum)[0](node)

    # ---- scenarios -----------------------------------------------------------------------
    def sc_kill(self, node):
        r = self.r
        tags = ["kill"]
        arch = X86_64
        tcomm = None  # set when a threaded runtime signals one of its own threads
        x = r.random()
        if x < 0.05:
            arch = I386
            comm, exe, uid, inter, argv = r.choice(I386_KILLERS)
            p = self.proc(node, comm, exe, uid, inter, argv)
            name = r.choice(("kill", "kill", "tkill", "tgkill"))
            key = self.kill32_key
        elif x < 0.27:
            comm, exe, uid, tcomm = r.choice(THREAD_KILLERS)
            p = self.proc(node, comm, exe, uid, False, (exe,))
            name = "tgkill" if r.random() < 0.8 else "tkill"
            key = self.kill_key
        else:
            comm, exe, uid, inter, argv = r.choice(KILLERS)
            p = self.proc(node, comm, exe, uid, inter, argv)
            name = "kill"
            y = r.random()
            key = self.kill_key if y < 0.9 else ("sigmon" if y < 0.95 else None)
        if arch == X86_64 and name != "kill":
            sig = SIGURG if r.random() < 0.7 else r.choice(SIGNALS)
        else:
            sig = 0 if r.random() < 0.15 else r.choice(SIGNALS)
        targets = []  # (opid, ocomm, ouid, oauid, oses)
        a0 = None
        ok, exitv = True, 0
        y = r.random()
        if name == "kill" and y < 0.07:
            tags.append("process_group")
            pgid = r.randrange(300, 400000)
            a0 = -pgid & 0xffffffff
            opid = pgid
            for _i in range(r.randrange(2, 7)):
                targets.append((opid, r.choice(VICTIMS)[0], p.uid, p.auid, p.ses))
                opid += r.randrange(1, 5)
        elif name == "kill" and y < 0.08 and p.uid != 0:
            tags.append("kill_all")
            a0 = 0xffffffff  # kill(-1, sig): every process the sender may signal
            for _i in range(r.randrange(3, 11)):
                targets.append((r.randrange(300, MAX_PID), r.choice(VICTIMS)[0], p.uid, p.auid, p.ses))
        elif y < 0.16:
            tags.append("failed_esrch")  # no such process: nothing signalled, no OBJ_PID
            ok, exitv = False, -3
            a0 = r.randrange(300, MAX_PID)
        else:
            if name == "kill" and node.recent and r.random() < 0.6:
                opid, ocomm, ouid, oauid, oses = r.choice(node.recent)
            elif tcomm is not None:
                opid, ocomm, ouid, oauid, oses = p.pid, tcomm, p.uid, p.auid, p.ses
            else:
                ocomm, ouid = r.choice(VICTIMS)
                opid, oauid, oses = r.randrange(300, MAX_PID), UNSET, UNSET
            if y > 0.95 and p.uid != 0 and ouid != p.uid:
                tags.append("failed_eperm")  # audited before the permission check: OBJ_PID kept
                ok, exitv = False, -1
            targets.append((opid, ocomm, ouid, oauid, oses))
            a0 = opid
        if sig == 0:
            tags.append("signal0")
        if name == "kill":
            a = (a0, sig, r.choice((0, self.ptr(0x550000000000))), self.ptr())
        elif name == "tkill":
            a = (a0, sig, 0, self.ptr())
        else:
            a = (a0, a0 + r.randrange(0, 40), sig, self.ptr())
        if arch == I386:  # 32-bit registers
            a = (a[0], a[1], a[2] & 0xffffffff, r.getrandbits(32))
        recs = [self.syscall(node, p, arch, name, ok, exitv, a, 0, key)]
        for opid, ocomm, ouid, oauid, oses in targets:
            recs.append(("OBJ_PID", "opid=%d oauid=%d ouid=%d oses=%d%s ocomm=%s" % (
                opid, -1 if oauid == UNSET else oauid, ouid, -1 if oses == UNSET else oses,
                " obj=unconfined" if node.apparmor else "", enc(ocomm)),
                'OAUID="%s" OUID="%s"' % (uname(oauid), USERS[ouid])))
        if p.argv == ("kill", "-{sig}", "{pid}"):
            argv = ("kill", "-%d" % sig, str(a0 if a0 < 0x80000000 else a0 - (1 << 32)))
        else:
            argv = p.argv
        recs.append(self.title(argv))
        tags += ["sys_" + name, ARCH_NAME[arch]]
        if key in (self.kill_key, self.kill32_key):
            tags += ["has_kill_key", "kill_with_key"]
        tags.append("obj_pid=%d" % len(targets))
        return [(node, "kill", tags, self.gap(), recs)]

    def sc_execve(self, node):
        r = self.r
        comm, exe, argv, script = r.choice(COMMANDS)
        scomm, sexe, sargv = r.choice(SHELLS)
        parent = self.proc(node, scomm, sexe, None if scomm == "bash" else 0, scomm == "bash", sargv)
        d = r.choice(DIRS)
        argv = tuple(a.format(dir=d, svc=r.choice(SERVICES), n=r.randrange(1, 100000)) for a in argv)
        p = Proc(self.new_pid(node), parent.pid, comm, exe, parent.uid, parent.auid, parent.ses,
                 parent.tty, argv, parent.subj)
        key = "exec_log" if r.random() < 0.75 else None
        a = (self.ptr(0x550000000000), self.ptr(0x550000000000), self.ptr(0x550000000000),
             r.randrange(0, 9))
        if r.random() < 0.03:  # command not found: no EXECVE record, the old image in SYSCALL
            recs = [self.syscall(node, parent, X86_64, "execve", False, -2, a, 1, key),
                    self.cwd(d), self.path(0, "/usr/local/bin/" + comm, "UNKNOWN"), self.title(sargv)]
            return [(node, "execve", ("execve", "execve_failed"), self.gap(), recs)]
        if r.random() < 0.003:
            argv = argv + ("--payload=" + " ".join("chunk%d" % i for i in range(r.randrange(900, 1400))),)
        node.recent.append((p.pid, comm, p.uid, p.auid, p.ses))
        names = [exe]
        if script:
            names.append(INTERPRETERS[exe])
        names.append(LD_SO)
        recs = [self.syscall(node, p, X86_64, "execve", True, 0, a, len(names), key)]
        recs += self.execve_records(argv)
        recs.append(self.cwd(d))
        recs += [self.path(i, n, "NORMAL") for i, n in enumerate(names)]
        recs.append(self.title(argv))
        return [(node, "execve", ("execve",), self.gap(), recs)]

    @staticmethod
    def execve_records(argv):
        """EXECVE records; like the kernel, a long hex argument is cut into a%d[%d] pieces
        spread over several records of at most ~7500 bytes."""
        limit = 7500
        recs, cur = [], ["argc=%d" % len(argv)]
        size = len(cur[0])
        for i, arg in enumerate(argv):
            v = enc(arg)
            if size + len(v) < limit:
                cur.append("a%d=%s" % (i, v))
                size += len(v) + 5
                continue
            h = hexu(arg.encode())
            cur.append("a%d_len=%d" % (i, len(h)))
            size += 12
            part = 0
            while h:
                room = max(limit - size, 1000) & ~1  # whole bytes: an even number of hex digits
                cur.append("a%d[%d]=%s" % (i, part, h[:room]))
                h = h[room:]
                part += 1
                recs.append(("EXECVE", " ".join(cur), None))
                cur, size = [], 0
        if cur:
            recs.append(("EXECVE", " ".join(cur), None))
        return recs

    def sc_openat(self, node):
        r = self.r
        path, flags, key, (comm, exe, uid) = r.choice(OPENS)
        p = self.proc(node, comm, exe, uid, uid >= 1000, (exe,))
        d = r.choice(DIRS)
        a = [0xffffff9c, self.ptr(), flags, 0]  # AT_FDCWD
        x = r.random()
        if x < 0.1:  # create: PARENT + CREATE items
            path = r.choice(CREATES)
            a[2], a[3] = 0x241, 0o644
            recs = [self.syscall(node, p, X86_64, "openat", True, r.randrange(3, 40), a, 2, "etc_watch"),
                    self.cwd(d), self.path(0, os.path.dirname(path) + "/", "PARENT", 0, 0o40755),
                    self.path(1, path, "CREATE", uid, 0o100644)]
        elif x < 0.2:
            recs = [self.syscall(node, p, X86_64, "openat", False, -13, a, 1, key),
                    self.cwd(d), self.path(0, path, "NORMAL", 0, 0o100640)]
        elif x < 0.25:
            recs = [self.syscall(node, p, X86_64, "openat", False, -2, a, 1, key),
                    self.cwd(d), self.path(0, path + ".dpkg-new", "UNKNOWN")]
        else:
            recs = [self.syscall(node, p, X86_64, "openat", True, r.randrange(3, 40), a, 1, key),
                    self.cwd(d), self.path(0, path, "NORMAL", 0, 0o100644)]
        recs.append(self.title(p.argv))
        return [(node, "openat", ("openat",), self.gap(), recs)]

    def sc_connect(self, node):
        r = self.r
        p = self.proc(node, "curl", "/usr/bin/curl", None, True, ("curl", "-s", "https://example.org/"))
        if r.random() < 0.5:
            ip = (203, 0, 113, r.randrange(1, 255))
            port = r.choice((443, 80, 5432, 53))
            saddr = "0002%04X%02X%02X%02X%02X0000000000000000" % ((port,) + ip)
            enr = "SADDR={ saddr_fam=inet laddr=%d.%d.%d.%d lport=%d }" % (ip + (port,))
            alen, exitv = 0x10, r.choice((0, 0, -115, -111))
        else:
            sock = "/run/systemd/journal/socket"
            saddr = "0100" + hexu(sock.encode())
            enr = "SADDR={ saddr_fam=local path=%s }" % sock
            alen, exitv = 0x6e, 0
        recs = [self.syscall(node, p, X86_64, "connect", exitv == 0, exitv,
                             (r.randrange(3, 30), self.ptr(), alen, 0), 0,
                             "network" if r.random() < 0.5 else None),
                ("SOCKADDR", "saddr=" + saddr, enr), self.title(p.argv)]
        return [(node, "connect", ("connect",), self.gap(), recs)]

    def sc_unlink(self, node):
        p = self.proc(node, "rm", "/usr/bin/rm", None, True, ("rm", "-f", "/tmp/build.lock"))
        recs = [self.syscall(node, p, X86_64, "unlinkat", True, 0,
                             (0xffffff9c, self.ptr(0x550000000000), 0, 0), 2, "delete"),
                self.cwd("/tmp"), self.path(0, "/tmp/", "PARENT", 0, 0o41777),
                self.path(1, "/tmp/build.lock", "DELETE", p.uid, 0o100644),
                self.title(p.argv)]
        return [(node, "unlink", ("unlinkat",), self.gap(), recs)]

    def sc_avc(self, node):
        if not node.apparmor:  # no AppArmor on this node
            return self.sc_openat(node)
        r = self.r
        head, comm, exe, extra, name, ids = r.choice(AVCS)
        p = self.proc(node, comm, exe, 0, False, (exe,), head.split('profile="')[1].split('"')[0]
                      + " (enforce)")
        body = "%s%s pid=%d comm=%s%s" % (head, " name=%s" % enc(name) if name else "", p.pid,
                                          enc(comm), extra)
        enr = None
        if ids:
            body += " fsuid=0 ouid=0"
            enr = 'FSUID="root" OUID="root"'
        recs = [("AVC", body, enr)]
        # With syscall rules loaded the kernel adds the SYSCALL and PROCTITLE of the denied call.
        if r.random() < 0.6:
            recs.append(self.syscall(node, p, X86_64, "openat", False, -13,
                                     (0xffffff9c, self.ptr(), 0x80000, 0), 1 if name else 0, None))
            recs.append(self.title(p.argv))
        return [(node, "avc", ("avc",), self.gap(), recs)]

    def sc_service(self, node):
        svc = self.r.choice(SERVICES)
        out = []
        for typ in ("SERVICE_START", "SERVICE_STOP"):
            rec = self.user_rec(node, typ, 1, 0, UNSET, UNSET,
                                'unit=%s comm="systemd" exe="/usr/lib/systemd/systemd" hostname=? '
                                'addr=? terminal=? res=%s' % (svc, "success" if self.r.random() < 0.97
                                                              else "failed"))
            out.append((node, "user", ("user",), self.gap() if typ == "SERVICE_START" else
                        self.r.randrange(5, 3000), [rec]))
        return out

    def sc_bpf(self, node):
        rec = ("BPF", "prog-id=%d op=%s" % (self.r.randrange(10, 900), self.r.choice(("LOAD", "UNLOAD"))),
               None)
        return [(node, "bpf", ("bpf",), self.gap(), [rec])]

    def pam(self, node, typ, pid, uid, auid, ses, op, acct, exe, term, res="success",
            host="?", grantors="pam_permit"):
        return self.user_rec(node, typ, pid, uid, auid, ses,
                             'op=PAM:%s grantors=%s acct=%s exe="%s" hostname=%s addr=%s terminal=%s '
                             'res=%s' % (op, grantors if res == "success" else "?", enc(acct), exe,
                                         host, host, term, res))

    def login(self, node, pid, ppid, comm, exe, argv, auid, ses):
        """LOGIN (loginuid written) comes first, then the SYSCALL write() that did it."""
        p = Proc(pid, ppid, comm, exe, 0, auid, ses, "(none)", argv, "unconfined")
        body = "pid=%d uid=0%s old-auid=4294967295 auid=%d tty=(none) old-ses=4294967295 ses=%d res=1" % (
            pid, " subj=unconfined" if node.apparmor else "", auid, ses)
        return [("LOGIN", body, 'UID="root" OLD-AUID="unset" AUID="%s"' % uname(auid)),
                self.syscall(node, p, X86_64, "write", True, len(str(auid)),
                             (self.r.randrange(3, 12), self.ptr(), len(str(auid)), 0), 0, None),
                self.title(argv)]

    def sc_sudo(self, node):
        r = self.r
        auid, ses, tty = r.choice(node.sessions)
        pid = self.new_pid(node)
        svc = r.choice(SERVICES)
        cmd = "systemctl restart %s" % svc
        exe, term = "/usr/bin/sudo", "/dev/" + tty.replace("pts", "pts/")
        ev = []
        seq = [self.pam(node, "USER_ACCT", pid, auid, auid, ses, "accounting", "root", exe, term),
               self.user_rec(node, "USER_CMD", pid, auid, auid, ses,
                             'cwd=%s cmd=%s exe="%s" terminal=%s res=success' % (
                                 enc(r.choice(DIRS)), hexu(cmd.encode()), exe, tty)),
               self.pam(node, "CRED_REFR", pid, 0, auid, ses, "setcred", "root", exe, term),
               self.pam(node, "USER_START", pid, 0, auid, ses, "session_open", "root", exe, term,
                        grantors="pam_limits,pam_permit,pam_unix"),
               self.pam(node, "USER_END", pid, 0, auid, ses, "session_close", "root", exe, term,
                        grantors="pam_limits,pam_permit,pam_unix"),
               self.pam(node, "CRED_DISP", pid, 0, auid, ses, "setcred", "root", exe, term)]
        for i, rec in enumerate(seq):
            ev.append((node, "user", ("user",), self.gap() if i == 0 else r.randrange(0, 4), [rec]))
        return ev

    def sc_cron(self, node):
        r = self.r
        pid, cron = self.new_pid(node), "/usr/sbin/cron"
        ses = node.next_ses
        node.next_ses += 1
        argv = ("/usr/sbin/CRON", "-f")
        ev = [(node, "user", ("user",), self.gap(),
               [self.pam(node, "USER_ACCT", pid, 0, UNSET, UNSET, "accounting", "root", cron, "cron",
                         grantors="pam_access,pam_permit")]),
              (node, "user", ("user",), 0,
               [self.pam(node, "CRED_ACQ", pid, 0, UNSET, UNSET, "setcred", "root", cron, "cron")]),
              (node, "login", ("login",), 0,
               self.login(node, pid, pid - r.randrange(1, 9), "cron", cron, argv, 0, ses)),
              (node, "user", ("user",), 1,
               [self.pam(node, "USER_START", pid, 0, 0, ses, "session_open", "root", cron, "cron",
                         grantors="pam_loginuid,pam_env,pam_permit,pam_unix,pam_limits")])]
        for typ, op in (("CRED_DISP", "setcred"), ("USER_END", "session_close")):
            ev.append((node, "user", ("user",), r.randrange(1, 40),
                       [self.pam(node, typ, pid, 0, 0, ses, op, "root", cron, "cron")]))
        return ev

    def sc_ssh_login(self, node):
        r = self.r
        uid = r.choice(LOGIN_USERS)
        pid, sshd = self.new_pid(node), "/usr/sbin/sshd"
        ses = node.next_ses
        node.next_ses += 1
        host = "198.51.100.%d" % r.randrange(1, 255)
        tty = "pts%d" % r.randrange(0, 8)
        node.sessions[r.randrange(len(node.sessions))] = (uid, ses, tty)
        acct = USERS[uid]
        ev = []
        for typ, op in (("USER_AUTH", "authentication"), ("USER_ACCT", "accounting"),
                        ("CRED_ACQ", "setcred")):
            ev.append((node, "user", ("user",), self.gap() if not ev else r.randrange(0, 30),
                       [self.pam(node, typ, pid, 0, UNSET, UNSET, op, acct, sshd, "ssh", host=host)]))
        ev.append((node, "login", ("login",), 1,
                   self.login(node, pid, 1, "sshd", sshd, ("sshd: %s [priv]" % acct,), uid, ses)))
        ev.append((node, "user", ("user",), 2,
                   [self.pam(node, "USER_START", pid, 0, uid, ses, "session_open", acct, sshd, "ssh",
                             host=host, grantors="pam_selinux,pam_loginuid,pam_keyinit,pam_unix")]))
        ev.append((node, "user", ("user",), 3,
                   [self.user_rec(node, "CRYPTO_KEY_USER", pid, 0, uid, ses,
                                  'op=destroy kind=server fp=SHA256:%s direction=? spid=%d suid=0  '
                                  'exe="%s" hostname=? addr=? terminal=? res=success' % (
                                      hexu(r.getrandbits(64).to_bytes(8, "big")).lower(), pid + 1, sshd),
                                  ' SUID="root"')]))
        ev.append((node, "user", ("user",), 20,
                   [self.user_rec(node, "USER_LOGIN", pid, 0, uid, ses,
                                  'op=login id=%d exe="%s" hostname=%s addr=%s terminal=/dev/%s '
                                  'res=success' % (uid, sshd, host, host, tty.replace("pts", "pts/")),
                                  ' ID="%s"' % acct)]))
        return ev

    def sc_ssh_fail(self, node):
        r = self.r
        pid, sshd = self.new_pid(node), "/usr/sbin/sshd"
        host = "192.0.2.%d" % r.randrange(1, 255)
        acct = r.choice(("root", "admin", "ubuntu", "oracle", "o'brien", "test user", "(invalid user)"))
        ev = [(node, "user", ("user",), self.gap(),
               [self.pam(node, "USER_AUTH", pid, 0, UNSET, UNSET, "authentication", acct, sshd, "ssh",
                         res="failed", host=host)]),
              (node, "user", ("user",), r.randrange(1000, 3000),
               [self.user_rec(node, "USER_LOGIN", pid, 0, UNSET, UNSET,
                              'op=login acct=%s exe="%s" hostname=? addr=%s terminal=ssh res=failed' % (
                                  enc(acct), sshd, host))])]
        return ev

    def sc_config_reload(self, node):
        """augenrules --load: one CONFIG_CHANGE + SYSCALL + SOCKADDR + PROCTITLE per rule."""
        p = self.proc(node, "auditctl", "/sbin/auditctl", 0, False, ("/sbin/auditctl", "-R", "/etc/audit/audit.rules"))
        ev = []
        keys = (self.kill_key, self.kill32_key, "sigmon", "exec_log", "identity", "sudoers",
                "etc_watch", "network", "delete")
        for i, (op, key) in enumerate([("remove_rule", k) for k in keys] + [("add_rule", k) for k in keys]):
            body = "auid=4294967295 ses=4294967295%s op=%s key=%s list=4 res=1" % (
                " subj=unconfined" if node.apparmor else "", op, enc(key))
            recs = [("CONFIG_CHANGE", body, 'AUID="unset"'),
                    self.syscall(node, p, X86_64, "sendto", True, 1072,
                                 (4, self.ptr(), 0x430, 0), 0, None),
                    ("SOCKADDR", "saddr=100000000000000000000000",
                     "SADDR={ saddr_fam=netlink nlnk-fam=16 nlnk-pid=0 }"),
                    self.title(p.argv)]
            tags = ("config_change", "has_kill_key") if key in (self.kill_key, self.kill32_key) \
                else ("config_change",)
            ev.append((node, "config_change", tags, self.gap() if i == 0 else 0, recs))
        return ev

    def gap(self):
        # Busy server: ~8 events/s in all, Poisson arrivals, several can share a millisecond.
        return int(self.r.expovariate(1 / 120.0))


def daemon_start(node, pid):
    body = ("op=start ver=3.0.9 format=%s kernel=6.1.0-28-amd64 auid=4294967295 pid=%d uid=0 "
            "ses=4294967295%s res=success") % (
        "enriched" if node.enriched else "raw", pid, " subj=unconfined" if node.apparmor else "")
    return ("DAEMON_START", body, 'AUID="unset" UID="root"')


TAIL_RE = re.compile(rb"^(?:node=(\S+) )?type=\S+ msg=audit\((\d+)\.(\d{3}):(\d+)\)", re.M)


def scan_tail(path):
    """Last time (ms) and highest serial per node name in the end of an existing log."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        f.seek(max(0, size - TAIL_BYTES))
        data = f.read()
    last_ms, serials = 0, {}
    for m in TAIL_RE.finditer(data):
        node = (m.group(1) or b"").decode()
        last_ms = max(last_ms, int(m.group(2)) * 1000 + int(m.group(3)))
        serials[node] = max(serials.get(node, 0), int(m.group(4)))
    if not last_ms:
        sys.exit("gen_log: no audit record found in the last %d bytes of %s" % (TAIL_BYTES, path))
    return last_ms, serials


def node_names(n):
    if n == 0:
        return [""]
    return [NODE_NAMES[i] if i < len(NODE_NAMES) else "host%03d" % i for i in range(n)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    ap.add_argument("--size", default="100M",
                    help="bytes to write: 4096, 512K, 100M, 1G; with --append also N%% of the file")
    ap.add_argument("--out", default="-", help="output file (default: stdout)")
    ap.add_argument("--format", choices=("raw", "enriched", "mixed"), default="mixed",
                    help="mixed: even-numbered nodes ENRICHED, odd ones RAW (one node: ENRICHED)")
    ap.add_argument("--nodes", type=int, default=3, help="node= prefixes (0: none, a single host)")
    ap.add_argument("--interleave", type=float, default=0.10,
                    help="share of multi-record events whose records interleave with the next event")
    ap.add_argument("--kill-key", default="kill_rule")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=DEFAULT_START, help="epoch of the first event")
    ap.add_argument("--append", action="store_true",
                    help="add events to --out, continuing its times and serials")
    args = ap.parse_args(argv)
    if args.nodes < 0:
        ap.error("--nodes must be >= 0")
    if args.append and args.out == "-":
        ap.error("--append needs --out FILE")
    existing = os.path.getsize(args.out) if args.append and os.path.exists(args.out) else None
    try:
        target = parse_size(args.size, existing)
    except argparse.ArgumentTypeError as e:
        ap.error(str(e))

    names = node_names(args.nodes)
    if existing:
        last_ms, serials = scan_tail(args.out)
        # A different seed per append point: appended chunks differ from the original start.
        rng = random.Random("%d:append:%d" % (args.seed, existing))
    else:
        last_ms, serials = args.start * 1000, {}
        rng = random.Random(args.seed)
    nodes = []
    for i, name in enumerate(names):
        enriched = args.format == "enriched" or (args.format == "mixed" and (i % 2 == 0))
        node = Node(i, name, enriched, rng)
        if existing:
            node.serial = serials.get(name, max(serials.values()))
        nodes.append(node)
    gen = Gen(rng, nodes, args.kill_key)

    kinds = collections.Counter()
    tags = collections.Counter()
    rtypes = collections.Counter()
    per_node = collections.Counter()
    written = interleaved = 0
    t_ms = last_ms
    first_ms = None
    started = time.monotonic()
    if args.out == "-":
        out = sys.stdout
    else:
        out = open(args.out, "a" if args.append else "w", encoding="ascii", newline="\n")
    buf = []
    buffered = 0

    def stamp(node, gap):
        nonlocal t_ms, first_ms
        t_ms += gap
        if first_ms is None:
            first_ms = t_ms
        # The kernel serial counts every record batch, also the ones no rule logged: gaps.
        node.serial += 1 if rng.random() < 0.9 else rng.randrange(2, 6)
        return "%d.%03d:%d" % (t_ms // 1000, t_ms % 1000, node.serial)

    def count(ev):
        node, kind, etags, recs = ev[0], ev[1], ev[2], ev[4]
        kinds[kind] += 1
        per_node[node.name] += 1
        for t in etags:
            tags[t] += 1
        for rec in recs:
            rtypes[rec[0]] += 1

    def line(node, st, rec):
        typ, body, enr = rec
        if enr and node.enriched:
            return "%stype=%s msg=audit(%s): %s%s%s\n" % (node.prefix, typ, st, body, GS, enr)
        return "%stype=%s msg=audit(%s): %s\n" % (node.prefix, typ, st, body)

    queue = collections.deque()
    if not existing:
        for node in nodes:
            queue.append((node, "daemon", ("daemon",), 0, [daemon_start(node, rng.randrange(300, 3000))]))
    while written + buffered < target:
        if not queue:
            queue.extend(gen.events())
        ev = queue.popleft()
        node, gap, recs = ev[0], ev[3], ev[4]
        st = stamp(node, gap)
        count(ev)
        if len(recs) > 1 and rng.random() < args.interleave:
            # Concurrent syscalls on two CPUs: the next event of the same node starts before
            # this one is complete, so within milliseconds (auparse and ausearch close an event
            # once records 2 s newer arrive). Each event keeps its own record order.
            if not queue:
                queue.extend(gen.events_for(node))
            ev2 = queue.popleft()
            st2 = stamp(node, rng.randrange(0, 4))
            count(ev2)
            interleaved += 1
            recs2 = ev2[4]
            lines = []
            for i in range(max(len(recs), len(recs2))):
                if i < len(recs):
                    lines.append(line(node, st, recs[i]))
                if i < len(recs2):
                    lines.append(line(node, st2, recs2[i]))
        else:
            lines = [line(node, st, rec) for rec in recs]
        for text in lines:
            buf.append(text)
            buffered += len(text)
        if buffered >= 1 << 20:
            out.write("".join(buf))
            written += buffered
            buf, buffered = [], 0
    out.write("".join(buf))
    written += buffered
    if out is not sys.stdout:
        out.close()
    else:
        out.flush()

    secs = time.monotonic() - started
    summary = {
        "out": args.out, "append": bool(existing), "bytes": written,
        "events": sum(kinds.values()), "records": sum(rtypes.values()),
        "kill_key": args.kill_key,
        "kill_events": tags["kill"],
        "kill_events_with_key": tags["kill_with_key"],
        "events_with_kill_key": tags["has_kill_key"],
        "interleaved_pairs": interleaved,
        "first_time": first_ms / 1000.0 if first_ms else None, "last_time": t_ms / 1000.0,
        "events_by_kind": dict(sorted(kinds.items())),
        "tags": dict(sorted(tags.items())),
        "records_by_type": dict(sorted(rtypes.items())),
        "nodes": {n.name or "(none)": {"format": "enriched" if n.enriched else "raw",
                                       "apparmor": n.apparmor, "events": per_node[n.name],
                                       "last_serial": n.serial} for n in nodes},
        "seconds": round(secs, 2),
    }
    err = sys.stderr
    err.write("gen_log: %s %s bytes (%.1f MiB) in %.1f s (%.1f MiB/s)\n" % (
        "appended" if existing else "wrote", written, written / 2**20, secs, written / 2**20 / max(secs, 1e-9)))
    err.write("  events %d, records %d, interleaved pairs %d\n" % (
        summary["events"], summary["records"], interleaved))
    err.write("  by kind: %s\n" % ", ".join("%s=%d" % kv for kv in sorted(kinds.items())))
    err.write("  kill events %d, with key %r %d; events carrying the key (ausearch -k) %d\n" % (
        summary["kill_events"], args.kill_key, summary["kill_events_with_key"],
        summary["events_with_kill_key"]))
    detail = ("sys_kill", "sys_tkill", "sys_tgkill", "x86_64", "i386", "failed_esrch", "failed_eperm",
              "signal0", "process_group", "kill_all")
    err.write("  kill detail: %s\n" % ", ".join("%s=%d" % (k, tags[k]) for k in detail))
    err.write("summary-json: %s\n" % json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
