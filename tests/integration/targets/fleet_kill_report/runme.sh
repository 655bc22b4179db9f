#!/usr/bin/env bash
# The fleet kill report on this machine's real auditd: a kill rule keyed for this run, real
# kills (by root; by a user created for the test, with its own login uid; by root carrying that
# user's login uid, as after sudo; a probe; a refused kill), then the kill_report playbook on
# localhost (plus an unreachable host), and checks that every kill is in kill_report.json,
# .csv, .md and .html with its host, login user, user, target and signal. Two processes name
# themselves with prctl like an attacker would (a spreadsheet formula, a terminal escape
# sequence): the files must neutralise both. Then the same real records as a central log
# server's log of three machines (node=), read by the playbook with kill_report_node_as_host.
# setup_auditd runs it under the guard (the machine-wide test lock, the host's audit state put
# back and checked after); the script removes its own rule, user and processes.
set -euo pipefail
source "$(dirname "$0")/../setup_auditd/setup.sh"

suffix=$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n')
key="afrep_$suffix"
user="afrep_$suffix"
work=$(mktemp -d /tmp/afint-fleet_kill_report.XXXXXX)
arches=(b64)
if [[ $(uname -m) == x86_64 || $(uname -m) == aarch64 ]]; then arches+=(b32); fi
loaded=()
sleepers=()

cleanup() {
    local status=$?
    for arch in "${loaded[@]}"; do
        auditctl -d always,exit -F "arch=$arch" -S kill,tkill,tgkill -k "$key" >/dev/null || status=1
    done
    for pid in "${sleepers[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    if id "$user" >/dev/null 2>&1; then userdel "$user" || status=1; fi
    if auditctl -l | grep -q -- "$key"; then
        echo "fleet_kill_report: rules with key $key are still loaded" >&2
        status=1
    fi
    if ((status == 0)); then rm -rf "$work"; else echo "fleet_kill_report: work files kept in $work" >&2; fi
    exit "$status"
}
trap cleanup EXIT

useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
uid=$(id -u "$user")
gid=$(id -g "$user")
for arch in "${arches[@]}"; do
    auditctl -a always,exit -F "arch=$arch" -S kill,tkill,tgkill -k "$key" >/dev/null
    loaded+=("$arch")
done

# Who this shell is for the kernel: its login uid, and that uid's name ("" when unset).
own_auid=$(cat /proc/self/loginuid)
own_login=""
if [[ $own_auid != 4294967295 ]]; then own_login=$(getent passwd "$own_auid" | cut -d: -f1 || true); fi

start_sleep() {   # start_sleep [setpriv args...]: a sleep of root, or of the user; prints its pid
    "$@" sleep 300 >/dev/null 2>&1 &
    local pid=$!
    # signalled before its exec, the target would still be the forked shell (comm "bash")
    for _ in $(seq 100); do [[ $(cat "/proc/$pid/comm" 2>/dev/null) == sleep ]] && break; sleep 0.05; done
    echo "$pid"
}
as_user=(setpriv --reuid="$uid" --regid="$gid" --clear-groups)
expected="$work/expected.tsv"   # target_pid signal login_user user killer_comm target_comm success

# 1. root (with this shell's login uid) terminates a sleep of root
p=$(start_sleep); sleepers+=("$p")
/usr/bin/kill -TERM "$p"
printf '%s\t15\t%s\troot\tkill\tsleep\ttrue\n' "$p" "$own_login" >>"$expected"

# 2. the test user, logged in as itself (its own login uid), kills its own sleep
p=$(start_sleep "${as_user[@]}"); sleepers+=("$p")
sh -c 'echo "$1" > /proc/self/loginuid && shift && exec "$@"' sh "$uid" "${as_user[@]}" /usr/bin/kill -KILL "$p"
printf '%s\t9\t%s\t%s\tkill\tsleep\ttrue\n' "$p" "$user" "$user" >>"$expected"

# 3. root carrying the user's login uid (what sudo leaves behind) hangs up a sleep of root
p=$(start_sleep); sleepers+=("$p")
sh -c 'echo "$1" > /proc/self/loginuid && shift && exec /usr/bin/kill -HUP "$@"' sh "$uid" "$p"
printf '%s\t1\t%s\troot\tkill\tsleep\ttrue\n' "$p" "$user" >>"$expected"

# 4. a probe (signal 0) by root, and 5. the user trying to kill root's sleep: refused (EPERM)
p=$(start_sleep); sleepers+=("$p")
/usr/bin/kill -0 "$p"
printf '%s\t0\t%s\troot\tkill\tsleep\ttrue\n' "$p" "$own_login" >>"$expected"
if sh -c 'echo "$1" > /proc/self/loginuid && shift && exec "$@"' sh "$uid" "${as_user[@]}" /usr/bin/kill -USR1 "$p" 2>/dev/null; then
    echo "fleet_kill_report: the test user could signal a process of root" >&2
    exit 1
fi
printf '%s\t10\t%s\t%s\tkill\tsleep\tfalse\n' "$p" "$user" "$user" >>"$expected"

# 6. a killer that named itself like a spreadsheet formula, as any local user can: comm with
#    prctl(PR_SET_NAME) (15 bytes kept), the command line with argv[0]
p=$(start_sleep); sleepers+=("$p")
formula="=cmd|' /C calc'!A0"
bash -c 'exec -a "$1" /usr/bin/python3 -c "
import ctypes, os, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
os.kill(int(sys.argv[2]), 15)" "$1" "$2"' sh "$formula" "$p"
printf '%s\t15\t%s\troot\t%s\tsleep\ttrue\n' "$p" "$own_login" "${formula:0:15}" >>"$expected"

# 7. a target that named itself with a terminal escape sequence (set the title, colour, bell)
escape=$'\e]0;pwned\a\e[31m'
/usr/bin/python3 -c "
import ctypes, sys, time
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
time.sleep(300)" "$escape" >/dev/null 2>&1 &
p=$!; sleepers+=("$p")
for _ in $(seq 50); do [[ $(cat "/proc/$p/comm") == "$escape" ]] && break; sleep 0.1; done
/usr/bin/kill -TERM "$p"
printf '%s\t15\t%s\troot\tkill\t%s\ttrue\n' "$p" "$own_login" "$escape" >>"$expected"

# auditd writes asynchronously: wait until every kill is in the log
log_file=$(sed -n 's/^[[:space:]]*log_file[[:space:]]*=[[:space:]]*//p' /etc/audit/auditd.conf | tail -n 1)
log_file=${log_file:-/var/log/audit/audit.log}
want=$(wc -l <"$expected")
for _ in $(seq 100); do
    have=$(grep -c "key=\"$key\"" "$log_file" || true)
    ((have >= want)) && break
    sleep 0.2
done
((have >= want)) || { echo "fleet_kill_report: auditd wrote $have of $want kills" >&2; exit 1; }

# ansible-core runs as root here; become with sudo when there is one, else su (root needs no password)
become_method=sudo
command -v sudo >/dev/null || become_method=su
cat >"$work/inventory.ini" <<INV
[fleet]
localhost ansible_connection=local ansible_become_method=$become_method
ghost ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1 ansible_ssh_common_args='-o ConnectTimeout=5 -o BatchMode=yes'
INV

set +e
ansible-playbook auditfleet.auditd.kill_report -i "$work/inventory.ini" \
    -e "{\"kill_report_keys\": [\"$key\"], \"kill_report_dir\": \"$work/report\", \"kill_report_since\": \"1h\"}" \
    >"$work/playbook.log" 2>&1
rc=$?
set -e
cat "$work/playbook.log"
# The unreachable host makes the run fail at its end (kill_report_fail_on_missing_hosts), after the files are written.
if ((rc != 2)); then echo "fleet_kill_report: ansible-playbook exited $rc, expected 2 (ghost unreachable)" >&2; exit 1; fi
grep -q "1 of 2 hosts did not answer: ghost" "$work/playbook.log"

python3 check_report.py "$work/report" "$expected" localhost ghost

# A central log server: the same real records, as a log server that receives them from three
# machines writes them (auditd puts "node=NAME " before each record it receives). The playbook
# reads that file on localhost with kill_report_node_as_host: one host per node.
python3 make_central_log.py "$log_file" "$key" "$work/central.log" "$work/nodes.tsv"
set +e
ansible-playbook auditfleet.auditd.kill_report -i "$work/inventory.ini" \
    -e "{\"kill_report_hosts\": \"localhost\", \"kill_report_keys\": [\"$key\"], \"kill_report_dir\": \"$work/central\",
         \"kill_report_paths\": [\"$work/central.log\"], \"kill_report_node_as_host\": true}" \
    >"$work/central.log.out" 2>&1
rc=$?
set -e
cat "$work/central.log.out"
if ((rc != 0)); then echo "fleet_kill_report: the central-log run exited $rc" >&2; exit 1; fi
python3 check_central.py "$work/central" "$expected" "$work/nodes.tsv" localhost
