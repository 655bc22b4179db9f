"""A large real-world rule set, composed at test time from what this host has.

A site's audit rules are rarely one file: they are the audit package's sample files, CIS-style
rules someone wrote for the site's binaries and configuration files, and exclusions of noisy
daemons, concatenated. compose() builds such a set here, with no rule text copied from anywhere:

- every sample rule file of the host's own audit package, found by the collection's preset
  discovery (_presets.available, _presets.read), in augenrules' order (file names sorted),
  without its control lines (-D, -b, -f, -c, -i, --loginuid-immutable, ...), which the module
  refuses in rule text or takes as `controls` (and which would conflict between the files);
- rules this project writes itself, in the style of CIS benchmark and community sets:
  privileged-command rules for every setuid and setgid program found on this host (and for the
  programs such sets name that this host may lack), watches of common configuration files and
  directories (some of which do not exist here), rules on users and groups (some of which do
  not exist here), rules on every syscall with -F path/dir, -F arch pairs, syscalls only one ABI
  or only a newer auditctl has, exit,never exclusions, and a few lines with the mistakes such
  sets contain (which auditctl refuses on every host).

What loads here and what does not is not written down anywhere: the tests ask auditctl, line by
line, on this host. Keys of the project's own rules start with `afcs-`; the composition is the
same in every run on the same host (sorted, no randomness).
"""
import functools
import os
import stat

from ansible_collections.auditfleet.auditd.plugins.module_utils import _presets

KEY = "afcs"
MISTAKES = "mistakes such sets contain (auditctl refuses them on every host)"
# Where setuid/setgid programs are looked for (not following symlinks: /bin is /usr/bin on
# merged-/usr systems, and each program is found once).
PROGRAM_ROOTS = ("/usr", "/opt", "/bin", "/sbin")
MAX_WALKED = 500000

# Programs that CIS-style sets list as privileged commands; a host has some of them.
PRIVILEGED_PROGRAMS = (
    "/usr/bin/sudo", "/usr/bin/sudoedit", "/usr/bin/pkexec", "/usr/bin/crontab", "/usr/bin/at",
    "/usr/bin/newuidmap", "/usr/bin/newgidmap", "/usr/bin/fusermount", "/usr/bin/fusermount3",
    "/usr/bin/write", "/usr/bin/wall", "/usr/bin/ksu", "/usr/bin/staprun", "/usr/bin/chcon",
    "/usr/bin/setfacl", "/usr/bin/chacl", "/usr/bin/ping", "/usr/sbin/pam_timestamp_check",
    "/usr/sbin/usernetctl", "/usr/sbin/postdrop", "/usr/sbin/postqueue", "/usr/sbin/userhelper",
    "/usr/sbin/semanage", "/usr/sbin/setsebool", "/usr/sbin/usermod", "/usr/sbin/useradd",
    "/usr/sbin/userdel", "/usr/sbin/groupadd", "/usr/sbin/groupmod", "/usr/sbin/exim4",
    "/usr/libexec/openssh/ssh-keysign", "/usr/libexec/utempter/utempter",
    "/usr/libexec/dbus-1/dbus-daemon-launch-helper", "/usr/lib/snapd/snap-confine",
    "/usr/lib/eject/dmcrypt-get-device", "/usr/lib/xorg/Xorg.wrap",
)

# (key, paths) of configuration files and directories such sets watch for writes.
WATCHED = (
    ("identity", ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow",
                  "/etc/security/opasswd", "/etc/nsswitch.conf", "/etc/subuid", "/etc/subgid")),
    ("sudoers", ("/etc/sudoers", "/etc/sudoers.d/")),
    ("network", ("/etc/hosts", "/etc/hostname", "/etc/issue", "/etc/issue.net",
                 "/etc/resolv.conf", "/etc/network/interfaces", "/etc/network/",
                 "/etc/sysconfig/network", "/etc/sysconfig/network-scripts/",
                 "/etc/NetworkManager/", "/etc/netplan/")),
    ("logins", ("/var/log/lastlog", "/var/log/faillog", "/var/log/tallylog", "/var/log/wtmp",
                "/var/log/btmp", "/var/run/utmp", "/var/run/faillock/")),
    ("pam", ("/etc/pam.d/", "/etc/security/limits.conf", "/etc/security/pam_env.conf",
             "/etc/security/namespace.conf", "/etc/security/access.conf")),
    ("sshd", ("/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/", "/root/.ssh/authorized_keys")),
    ("cron", ("/etc/crontab", "/etc/cron.allow", "/etc/cron.deny", "/etc/cron.d/",
              "/etc/cron.daily/", "/etc/cron.hourly/", "/etc/cron.weekly/", "/etc/cron.monthly/",
              "/var/spool/cron/", "/etc/anacrontab")),
    ("libpath", ("/etc/ld.so.conf", "/etc/ld.so.conf.d/", "/etc/ld.so.preload")),
    ("kernel-cfg", ("/etc/sysctl.conf", "/etc/sysctl.d/", "/etc/modprobe.d/",
                    "/etc/modules-load.d/", "/etc/modules")),
    ("mac", ("/etc/selinux/", "/usr/share/selinux/", "/etc/apparmor/", "/etc/apparmor.d/")),
    ("audit-cfg", ("/etc/audit/", "/etc/libaudit.conf", "/etc/audisp/", "/usr/sbin/auditctl",
                   "/usr/sbin/auditd", "/usr/sbin/augenrules", "/usr/sbin/ausearch")),
    ("init", ("/etc/systemd/", "/etc/inittab", "/etc/init.d/", "/etc/rc.local")),
    ("mail", ("/etc/aliases", "/etc/postfix/", "/etc/exim4/")),
    ("packages", ("/etc/apt/sources.list", "/etc/apt/sources.list.d/", "/etc/yum.repos.d/",
                  "/etc/dnf/", "/etc/zypp/")),
    ("containers", ("/etc/docker/", "/etc/containerd/", "/etc/kubernetes/", "/etc/containers/")),
    ("agents", ("/etc/puppetlabs/", "/etc/salt/", "/etc/chef/", "/opt/afcs-vendor/agent/etc/")),
    ("shells", ("/etc/profile", "/etc/profile.d/", "/etc/bash.bashrc", "/etc/shells",
                "/etc/environment", "/root/.bashrc", "/root/.profile")),
    ("time", ("/etc/localtime", "/etc/timezone", "/etc/chrony/", "/etc/ntp.conf")),
)

# (key, b64 syscalls, b32 syscalls, extra fields): rules written once per ABI.
ARCH_PAIRS = (
    ("time", "adjtimex,settimeofday", "adjtimex,settimeofday,stime", ""),
    ("time", "clock_settime", "clock_settime", "-F a0=0x0"),
    ("hostname", "sethostname,setdomainname", "sethostname,setdomainname", ""),
    ("mounts", "mount,umount2", "mount,umount,umount2", "-F auid>=1000 -F auid!=unset"),
    ("perm", "chmod,fchmod,fchmodat", "chmod,fchmod,fchmodat", "-F auid>=1000 -F auid!=unset"),
    ("owner", "chown,fchown,fchownat,lchown", "chown,fchown,fchownat,lchown",
     "-F auid>=1000 -F auid!=-1"),
    ("xattr", "setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr",
     "setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr",
     "-F auid>=1000 -F auid!=4294967295"),
    ("access", "creat,open,openat,truncate,ftruncate", "creat,open,openat,truncate,ftruncate",
     "-F exit=-EACCES -F auid>=1000 -F auid!=unset"),
    ("access", "creat,open,openat,truncate,ftruncate", "creat,open,openat,truncate,ftruncate",
     "-F exit=-EPERM -F auid>=1000 -F auid!=unset"),
    ("delete", "unlink,unlinkat,rename,renameat,rmdir", "unlink,unlinkat,rename,renameat,rmdir",
     "-F auid>=1000 -F auid!=unset"),
    ("modules", "init_module,finit_module,delete_module", "init_module,finit_module,delete_module",
     ""),
    ("kexec", "kexec_load,kexec_file_load", "kexec_load", ""),
    ("ptrace", "ptrace", "ptrace", "-F a0=0x10"),
    ("ptrace", "ptrace", "ptrace", "-F a0=0x4"),
    ("sockets", "socket", "socket", "-F a0=10"),
    ("sockets", "socket", "socket", "-F a0=2"),
    ("connect", "connect", "connect", "-F a2=16 -F success=1"),
    ("memfd", "memfd_create", "memfd_create", ""),
    ("bpf", "bpf", "bpf", ""),
    ("perf", "perf_event_open", "perf_event_open", ""),
    ("personality", "personality", "personality", ""),
    ("handles", "open_by_handle_at,name_to_handle_at", "open_by_handle_at,name_to_handle_at", ""),
    ("vm-write", "process_vm_writev", "process_vm_writev", ""),
    ("swap", "swapon,swapoff", "swapon,swapoff", "-F auid!=unset"),
    ("ipc", "msgget,semget,shmget", "msgget,semget,shmget", ""),
    ("rootcmd", "execve", "execve", "-F euid=0 -F auid>=1000 -F auid!=-1"),
    ("newer", "openat2,clone3,pidfd_getfd", "openat2,clone3,pidfd_getfd", ""),
)

# Each alone on its line: a syscall that a newer kernel brought (which an older auditctl does
# not know), or that one ABI lacks (a b32 line copied as b64, and back). Alone, because with
# other syscalls on its line the module leaves out just that syscall and loads the rest, where
# auditctl -c drops the whole line (on purpose: docs/rule-sets.md, "A syscall that cannot be
# audited is left out of its rule"); the differential test compares whole lines.
SINGLE_SYSCALLS = (
    ("b64", "cachestat"), ("b64", "map_shadow_stack"), ("b64", "futex_wake"),
    ("b64", "listmount"), ("b64", "mseal"), ("b64", "setxattrat"), ("b64", "open_tree_attr"),
    ("b64", "io_uring_setup"), ("b64", "landlock_create_ruleset"), ("b64", "memfd_secret"),
    ("b64", "stime"), ("b64", "socketcall"), ("b64", "ipc"), ("b32", "arch_prctl"),
    ("b32", "mount_setattr"), ("b32", "kexec_file_load"),
)

# Users and groups of daemons that such sets exclude or watch; a host has some of them.
SERVICE_USERS = ("root", "daemon", "www-data", "nobody", "systemd-timesync", "messagebus",
                 "ntp", "chrony", "_chrony", "postfix", "Debian-exim", "nginx", "apache",
                 "mysql", "postgres", "zabbix", "nagios", "prometheus")
GROUPS = ("root", "adm", "shadow", "sudo", "utmp", "wheel", "docker", "libvirt", "lxd")


def setuid_programs(roots=PROGRAM_ROOTS, limit=MAX_WALKED):
    """Sorted paths of the regular setuid or setgid files under ROOTS (symlinks not followed,
    at most LIMIT entries looked at)."""
    found = set()
    seen = 0
    for root in roots:
        if os.path.islink(root) or not os.path.isdir(root):
            continue
        for top, dirs, files in os.walk(root, followlinks=False):
            dirs.sort()
            for name in files:
                seen += 1
                if seen > limit:
                    return sorted(found)
                path = os.path.join(top, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                    found.add(path)
    return sorted(found)


def own_sections(programs=None):
    """[(section name, [lines])] of the rules the project writes itself (each line a rule)."""
    if programs is None:
        programs = setuid_programs()
    sections = []
    priv = []
    for path in programs:
        priv.append("-a always,exit -F path=%s -F perm=x -F auid>=1000 -F auid!=unset -k %s-privileged"
                    % (path, KEY))
        priv.append("-a always,exit -F arch=b64 -S execve -F path=%s -F auid>=1000 -F auid!=-1 "
                    "-F key=%s-priv-exec" % (path, KEY))
        priv.append("-a always,exit -F arch=b32 -F path=%s -F perm=x -F auid>=500 "
                    "-F auid!=4294967295 -F key=%s-priv32" % (path, KEY))
    sections.append(("privileged commands: every setuid/setgid program of this host", priv))
    listed = ["-a always,exit -F path=%s -F perm=x -F auid>=1000 -F auid!=unset -k %s-privileged"
              % (path, KEY) for path in PRIVILEGED_PROGRAMS if path not in programs]
    sections.append(("privileged commands CIS-style sets name (some are not on this host)", listed))

    watches = []
    for key, paths in WATCHED:
        for path in paths:
            watches.append("-w %s -p wa -k %s-%s" % (path, KEY, key))
    sections.append(("watches of configuration files and directories", watches))
    rules = []
    for key, paths in WATCHED[:6]:
        for path in paths:
            field = "dir" if path.endswith("/") else "path"
            rules.append("-a always,exit -F arch=b64 -F %s=%s -F perm=wa -F auid>=1000 -F auid!=unset "
                         "-F key=%s-%s-user" % (field, path, KEY, key))
    rules.extend([
        "-a always,exit -F path=/etc/shadow -F perm=r -F auid>=1000 -F auid!=unset -F key=%s-shadow-read" % KEY,
        "-a always,exit -S all -F path=/etc/gshadow -F perm=r -F key=%s-shadow-read" % KEY,
        "-a always,exit -F dir=/etc/ssh/ -F perm=wa -F key=%s-sshd-dir" % KEY,
        "-a always,exit -F dir=/etc/cron.d -p wa -F key=%s-cron-dir" % KEY,
        "-a always,exit -F arch=b32 -S all -F dir=/etc/pam.d -F perm=wa -F key=%s-pam32" % KEY,
        "-a always,exit -F dir=/home -F uid=0 -F auid>=1000 -F auid!=unset -C auid!=obj_uid "
        "-F key=%s-root-in-home" % KEY,
        "-a always,exit -F dir=/var/www/ -F perm=wa -F key=%s-webroot" % KEY,
        "-a always,exit -F dir=/srv/afcs-data/ -F perm=wa -F key=%s-data" % KEY,
        "-a always,exit -F path=/usr/bin/curl -F perm=x -F key=%s-download" % KEY,
        "-a always,exit -F path=/usr/bin/wget -F perm=x -F key=%s-download" % KEY,
        "-a always,exit -F path=/usr/bin/nc -F perm=x -F key=%s-netcat" % KEY,
        "-a always,exit -F path=/usr/bin/ncat -F perm=x -F key=%s-netcat" % KEY,
        "-a always,exit -F path=/usr/bin/base64 -F perm=x -F key=%s-encode" % KEY,
        "-a always,exit -F path=/usr/bin/xxd -F perm=x -F key=%s-encode" % KEY,
        "-a always,exit -F path=/usr/bin/gzip -F perm=x -F auid>=1000 -F key=%s-compress" % KEY,
        "-a always,exit -F path=/usr/bin/zstd -F perm=x -F auid>=1000 -F key=%s-compress" % KEY,
        "-a always,exit -F path=/usr/sbin/tcpdump -F perm=x -F key=%s-sniff" % KEY,
        "-a always,exit -F path=/usr/local/bin/kubectl -F perm=x -F key=%s-k8s" % KEY,
        "-a always,exit -F path=/opt/afcs-vendor/bin/agent -F perm=x -F key=%s-agent" % KEY,
    ])
    sections.append(("rules on every syscall with -F path and -F dir", rules))

    pairs = []
    for key, b64, b32, extra in ARCH_PAIRS:
        for arch, names in (("b64", b64), ("b32", b32)):
            words = ("-a always,exit -F arch=%s -S %s" % (arch, names), extra, "-F key=%s-%s" % (KEY, key))
            pairs.append(" ".join(x for x in words if x))
    sections.append(("syscall rules, one per ABI", pairs))
    single = ["-a always,exit -F arch=%s -S %s -F key=%s-new-syscall" % (arch, name, KEY)
              for arch, name in SINGLE_SYSCALLS]
    sections.append(("a syscall a newer kernel brought, or one ABI lacks", single))

    users = []
    for name in SERVICE_USERS:
        users.append("-a never,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -F uid=%s" % name)
        users.append("-a always,exit -F arch=b64 -S execve -F euid=%s -F auid>=1000 -F key=%s-as-%s"
                     % (name, KEY, name))
    for name in GROUPS:
        users.append("-a always,exit -F arch=b64 -S execve -F egid=%s -F key=%s-group-%s" % (name, KEY, name))
    users.extend([
        "-a always,exit -F arch=b64 -S execve -F euid=33 -F key=%s-web-exec" % KEY,
        "-a always,exit -F arch=b64 -S connect -F uid=65534 -F success=1 -F key=%s-nobody-net" % KEY,
    ])
    sections.append(("rules on users and groups (some are not on this host)", users))

    never = [
        "-a exit,never -F arch=b64 -S all -F exe=/usr/sbin/cron",
        "-a exit,never -F arch=b64 -S adjtimex -F exe=/usr/sbin/chronyd",
        "-a never,exit -F arch=b64 -S connect -F exe=/opt/afcs-vendor/bin/agent",
        "-a never,exit -F arch=b64 -S openat -F dir=/var/lib/afcs-cache/ -F success=0",
        "-a never,exit -F arch=b64 -S all -F subj_type=ntpd_t",
        "-a never,user -F subj_type=sshd_t",
        "-a always,exclude -F msgtype=CRYPTO_SESSION",
        "-a never,exclude -F msgtype=CWD -F auid=%d" % 4000000000,
    ]
    sections.append(("exclusions of noisy daemons", never))

    sections.append(("rules given again (a section above has them)", [
        "-a always,exit -F arch=b64 -S memfd_create -F key=%s-memfd" % KEY,
        "-w /etc/hosts -p wa -k %s-network" % KEY,
    ]))
    sections.append((MISTAKES, [
        # a key without its value, before a field: the field's value becomes a stray word
        "-a always,exit -F path=/usr/bin/chage -F perm=x -k -F %s-typo" % KEY,
        # a relative directory, and a field name that does not exist
        "-a always,exit -F arch=b64 -S connect -F dir=opt/agent -F key=%s-typo" % KEY,
        "-a always,exit -F arch=b64 -S connect -F dir=/opt -F obj=/usr/sbin/sshd -F key=%s-typo" % KEY,
    ]))
    return sections


def _is_kept(line):
    """A rule, a comment or a blank line (not a control line)."""
    return not line.strip() or line.strip().startswith(("#", "-a ", "-w "))


def _samples():
    """[(path, lines)] of every sample file of the host's audit package, sorted by file name as
    augenrules sorts rules.d ([] when the package keeps no samples here)."""
    presets = _presets.available()
    return [(path, text.split("\n")) for text, path, dummy in
            (_presets.read(name) for name in sorted(presets, key=lambda n: os.path.basename(presets[n])))]


def sample_sections():
    """[(file, [lines])]: every sample file, without its control lines (lines that are neither
    rules nor comments)."""
    return [(path, [line for line in lines if _is_kept(line)]) for path, lines in _samples()]


def control_lines():
    """The lines sample_sections() left out, as (file, line)."""
    return [(path, line) for path, lines in _samples() for line in lines if not _is_kept(line)]


class Composed(object):
    """The composed text and where each of its lines came from."""

    def __init__(self, sections):
        self.lines = []
        self.origin = []      # per line: ("sample", file) or ("own", section)
        for kind, name, lines in sections:
            self.lines.append("## from %s" % name if kind == "sample" else "## the project's own: %s" % name)
            self.origin.append((kind, name))
            for line in lines:
                self.lines.append(line)
                self.origin.append((kind, name))
        self.text = "\n".join(self.lines) + "\n"

    def rule_numbers(self, kind=None, section=None):
        """Line numbers (1-based) of the rule lines (of KIND: 'sample' or 'own'; of SECTION)."""
        return [n for n, (line, origin) in enumerate(zip(self.lines, self.origin, strict=True), 1)
                if line.strip().startswith(("-a ", "-w ")) and kind in (None, origin[0])
                and section in (None, origin[1])]


@functools.lru_cache(maxsize=None)
def compose(with_mistakes=True):
    """The composed set (a Composed). with_mistakes=False leaves out the section of lines that
    no auditctl loads on any host (for tests that need text without syntax errors)."""
    own = [(name, lines) for name, lines in own_sections() if with_mistakes or name != MISTAKES]
    return Composed([("sample", path, lines) for path, lines in sample_sections()]
                    + [("own", name, lines) for name, lines in own])
