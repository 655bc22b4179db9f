#!/usr/bin/env bash
# The role auditfleet.auditd.auditd_syscall end to end on localhost, on the real auditd:
#   1. apply (rule sets + an auditd.conf change, so auditd is restarted the allowed way): changed;
#   2. apply again: changed=0 (idempotence); and once more with ANSIBLE_DEBUG and pipelining:
#      at most 2 remote module executions on the converged host (count_modules.py);
#   3. check mode with other settings: reports changes, changes nothing (rules.d, auditd.conf and
#      `auditctl -l` compared before/after); check mode on a host where a package is missing;
#   4. the kill rules are in the kernel and really fire (a kill found by the collection's lookup);
#   5. the assembled module arguments for controls and immutable mode; immutable mode in check
#      mode only (it is never applied here: it cannot be undone without a reboot);
#   6. removal of unmanaged rule files (check mode first, then for real); then, without the
#      distribution's audit.rules, kernel controls (-b, -f, --backlog_wait_time) for real;
#   7. state absent: the test's rule sets are removed and unloaded.
# setup_auditd runs it under the guard: the machine-wide test lock held, and rules.d, auditd.conf,
# audit.rules, the kernel's rules and settings and auditd's state put back and checked after.
set -euo pipefail
source "$(dirname "$0")/../setup_auditd/setup.sh"

RULES_D=/etc/audit/rules.d
CONF=/etc/audit/auditd.conf
WORK=$(mktemp -d /tmp/afit-role.XXXXXX)
LOGS=$WORK/logs
mkdir -p "$LOGS" "$WORK/orig"

say() { printf '\n==== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
status_field() { LC_ALL=C auditctl -s | awk -v k="$1" '$1 == k {print $2}'; }
auditd_pid() { status_field pid; }

# What the test compares with and needs again (the guard, not this, puts the host back).
cp -a "$RULES_D" "$WORK/orig/rules.d"
cp -a "$CONF" "$WORK/orig/auditd.conf"
orig_backlog_limit=$(status_field backlog_limit)

finish() {
    local rc=$?
    if ((rc == 0)); then rm -rf "$WORK"; else echo "logs of the failed run: $LOGS"; fi
    exit "$rc"
}
trap finish EXIT

# A fingerprint of everything check mode must leave alone.
fingerprint() {
    (cd "$RULES_D" && find . -mindepth 1 -printf '%p %m %u %s\n' | sort && find . -type f -exec md5sum {} + | sort)
    md5sum "$CONF" /etc/audit/audit.rules 2>/dev/null
    auditctl -l
    echo "auditd pid $(auditd_pid)"
}

# Run a playbook, keep its output, echo it; sets LAST_LOG, LAST_CHANGED and LAST_SECONDS.
play() {
    local name=$1
    shift
    LAST_LOG="$LOGS/$name.log"
    local start end
    start=$(date +%s.%N)
    ansible-playbook -i localhost, -c local "$@" >"$LAST_LOG" 2>&1 || { cat "$LAST_LOG"; fail "$name: ansible-playbook failed"; }
    end=$(date +%s.%N)
    cat "$LAST_LOG"
    LAST_SECONDS=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')
    LAST_CHANGED=$(sed -nE 's/^localhost +: .*changed=([0-9]+).*/\1/p' "$LAST_LOG" | tail -n 1)
    [[ -n "$LAST_CHANGED" ]] || fail "$name: no play recap"
    printf -- '---- %s: changed=%s in %ss\n' "$name" "$LAST_CHANGED" "$LAST_SECONDS"
}

max_log_file=$(awk -F= 'tolower($1) ~ /^[ \t]*max_log_file[ \t]*$/ {gsub(/[ \t]/, "", $2); print $2}' "$CONF" | tail -n 1)
new_max_log_file=$(( ${max_log_file:-8} + 1 ))

# ---- 1. first run -----------------------------------------------------------------------------
say "1. apply the role (kill rules, a watch rule set, auditd.conf max_log_file=$new_max_log_file)"
pid_before=$(auditd_pid)
play apply-1 apply.yml -e test_max_log_file="$new_max_log_file"
first_seconds=$LAST_SECONDS
((LAST_CHANGED > 0)) || fail "the first run changed nothing"
grep -q "RUNNING HANDLER \[auditfleet.auditd.auditd_syscall : Restart auditd" "$LAST_LOG" || fail "auditd.conf changed but the restart handler did not run"
grep -qE "^max_log_file = $new_max_log_file\$" "$CONF" || fail "auditd.conf has no max_log_file = $new_max_log_file"
[[ "$(auditd_pid)" != 0 && "$(auditd_pid)" != "$pid_before" ]] || fail "auditd was not restarted (pid $pid_before -> $(auditd_pid))"
diff <(grep -v '^max_log_file' "$WORK/orig/auditd.conf") <(grep -v '^max_log_file' "$CONF") || fail "auditd.conf: other lines changed"
grep -q "systemctl restart auditd" "$LAST_LOG" && fail "the role ran systemctl restart auditd"

# ---- 2. second run ----------------------------------------------------------------------------
say "2. apply again: nothing may change"
play apply-2 apply.yml -e test_max_log_file="$new_max_log_file"
second_seconds=$LAST_SECONDS
((LAST_CHANGED == 0)) || fail "the second run changed $LAST_CHANGED task(s)"

say "2b. the converged run: at most 2 remote module executions (pipelining, ANSIBLE_DEBUG)"
ANSIBLE_DEBUG=1 ANSIBLE_PIPELINING=1 play apply-debug apply.yml -e test_max_log_file="$new_max_log_file" >/dev/null
((LAST_CHANGED == 0)) || fail "the converged run (debug) changed $LAST_CHANGED task(s)"
python3 "$(dirname "$0")/count_modules.py" "$LAST_LOG" "$ANSIBLE_PYTHON_INTERPRETER" 2 \
    || fail "the converged run made more than 2 remote module executions (log: $LAST_LOG)"

# ---- 3. check mode ----------------------------------------------------------------------------
say "3. check mode with other settings: reports changes, changes nothing"
fingerprint >"$WORK/fp-before"
play check-1 apply.yml --check --diff -e test_max_log_file=$((new_max_log_file + 1)) \
    -e '{"auditd_syscall_kill_rules_fields": ["auid>=1000", "auid!=unset"]}'
((LAST_CHANGED > 0)) || fail "check mode reported no change"
grep -q '+-a always,exit -F arch=b64 -S kill,rt_sigqueueinfo,tkill,tgkill,rt_tgsigqueueinfo,pidfd_send_signal -F auid>=1000 -F auid!=-1 -F key=afit_role_kill' "$LAST_LOG" \
    || fail "check mode --diff does not show the new kill rule"
play check-2 apply.yml --check -e test_state=absent
((LAST_CHANGED > 0)) || fail "check mode (absent) reported no change"
fingerprint >"$WORK/fp-after"
diff "$WORK/fp-before" "$WORK/fp-after" || fail "check mode changed the host"

candidate=$( { command -v apt-cache >/dev/null && apt-cache policy audispd-plugins 2>/dev/null | sed -n 's/^ *Candidate: //p'; } || true)
if [[ -n "$candidate" && "$candidate" != "(none)" ]] && ! dpkg -s audispd-plugins >/dev/null 2>&1; then
    # The packages are only looked at where the rule-sets call reports auditd not ready: here
    # auditd.conf differs (max_log_file), so the package task runs and would install one.
    say "3b. check mode where a package is not installed yet: the rest of the role is skipped"
    play check-missing apply.yml --check -e test_max_log_file=$((new_max_log_file + 1)) \
        -e '{"__auditd_syscall_packages": ["auditd", "audispd-plugins"]}'
    grep -q "would be installed first" "$LAST_LOG" || fail "no message about the skipped tasks"
    grep -q "^included: .*/tasks/auditd_conf.yml for localhost" "$LAST_LOG" \
        && fail "auditd.conf was checked although a package is missing"
    grep -q "^included: .*/tasks/service.yml for localhost" "$LAST_LOG" \
        && fail "the service was checked although a package is missing"
    fingerprint >"$WORK/fp-after"
    diff "$WORK/fp-before" "$WORK/fp-after" || fail "check mode changed the host"
    dpkg -s audispd-plugins >/dev/null 2>&1 && fail "check mode installed a package"
else
    say "3b. skipped: no apt, or audispd-plugins installed or not available here"
fi

# ---- 4. the rules fire ------------------------------------------------------------------------
say "4. the kill rules are loaded and fire"
play verify verify.yml

# ---- 5. controls and immutable: the module arguments ------------------------------------------
say "5. controls and immutable mode: the rule sets the role passes to the module"
play assemble assemble.yml
# check_only NAME VARIABLE DIFF_LINE WHAT: an irreversible setting in check mode only (never
# applied here): the run reports a change, its diff shows DIFF_LINE, the host is unchanged
check_only() {
    fingerprint >"$WORK/fp-before"
    play "$1" apply.yml --check --diff -e "$2=true"
    ((LAST_CHANGED > 0)) || fail "check mode with $4 reported no change"
    grep -qxF -- "+$3" "$LAST_LOG" || fail "the diff does not show $3"
    fingerprint >"$WORK/fp-after"
    diff "$WORK/fp-before" "$WORK/fp-after" || fail "check mode changed the host"
}
say "5b. immutable mode in check mode only (never applied here): reported, nothing changed"
check_only check-immutable auditd_syscall_immutable "-e 2" "immutable mode"
[[ "$(status_field enabled)" == 1 ]] || fail "kernel audit is not enabled 1"
say "5c. immutable login uids in check mode only (never applied here): reported, nothing changed"
check_only check-loginuid auditd_syscall_loginuid_immutable "--loginuid-immutable" "immutable login uids"
[[ "$(status_field loginuid_immutable)" == 0 ]] || fail "login uids are immutable on this machine"

# ---- 6. unmanaged rule files ------------------------------------------------------------------
say "6. remove rule files this collection does not manage"
printf '%s\n' '-w /etc/hosts -p wa -k afit_role_foreign' >"$RULES_D/afit-role-foreign.rules"
chmod 0640 "$RULES_D/afit-role-foreign.rules"
augenrules --load >/dev/null
auditctl -l | grep -q afit_role_foreign || fail "the foreign rule did not load"
mapfile -t unmanaged < <(grep -L '^## Managed by auditfleet\.auditd' "$RULES_D"/*.rules | sort)
expect=$(printf '%s\n' "${unmanaged[@]}" | python3 -c 'import json, sys; print(json.dumps({"test_expect_removed": sys.stdin.read().split()}))')
echo "unmanaged: ${unmanaged[*]}"
fingerprint >"$WORK/fp-before"
play unmanaged-check apply.yml --check -e test_remove_unmanaged=true -e "$expect"
((LAST_CHANGED > 0)) || fail "check mode reported no removal"
fingerprint >"$WORK/fp-after"
diff "$WORK/fp-before" "$WORK/fp-after" || fail "check mode changed the host"
play unmanaged apply.yml -e test_remove_unmanaged=true -e "$expect"
for f in "${unmanaged[@]}"; do [[ ! -e "$f" ]] || fail "$f is still there"; done
auditctl -l | grep -q afit_role_foreign && fail "the removed file's rule is still loaded"
auditctl -l | grep -q 'key=afit_role_kill' || fail "the managed kill rules were unloaded"
play unmanaged-2 apply.yml -e test_remove_unmanaged=true -e '{"test_expect_removed": []}'
((LAST_CHANGED == 0)) || fail "the second run with remove_unmanaged changed $LAST_CHANGED task(s)"

# Without the distribution's audit.rules (its -b, -f, --backlog_wait_time would override
# them: the module refuses that) the role's controls take effect.
new_backlog=$(( orig_backlog_limit == 16384 ? 12288 : 16384 ))
say "6b. kernel controls through the module: -b $new_backlog -f 1 --backlog_wait_time 60000"
controls=(-e "auditd_syscall_buffer_size=$new_backlog" -e auditd_syscall_failure_mode=printk
          -e auditd_syscall_backlog_wait_time=60000)
play controls-check apply.yml --check --diff "${controls[@]}"
((LAST_CHANGED > 0)) || fail "check mode with controls reported no change"
grep -q "^+-b $new_backlog\$" "$LAST_LOG" || fail "the diff does not show -b $new_backlog"
[[ ! -e "$RULES_D/10-auditfleet-base.rules" ]] || fail "check mode wrote 10-auditfleet-base.rules"
play controls apply.yml "${controls[@]}"
((LAST_CHANGED > 0)) || fail "controls changed nothing"
[[ "$(status_field backlog_limit)" == "$new_backlog" ]] || fail "auditctl -s: backlog_limit $(status_field backlog_limit), not $new_backlog"
[[ "$(status_field failure)" == 1 ]] || fail "auditctl -s: failure $(status_field failure), not 1"
head -n 1 "$RULES_D/10-auditfleet-base.rules" | grep -q '^## Managed by auditfleet.auditd' || fail "10-auditfleet-base.rules has no managed header"
play controls-2 apply.yml "${controls[@]}"
((LAST_CHANGED == 0)) || fail "the second run with controls changed $LAST_CHANGED task(s)"
play controls-off apply.yml
[[ ! -e "$RULES_D/10-auditfleet-base.rules" ]] || fail "without controls 10-auditfleet-base.rules is still there"
# the rest of the test needs the distribution's rules back (it has the -D line)
cp -a "$WORK/orig/rules.d/." "$RULES_D/"
augenrules --load >/dev/null

# ---- 7. state absent --------------------------------------------------------------------------
say "7. state absent: the test's rule sets are removed and unloaded"
play absent apply.yml -e test_state=absent
((LAST_CHANGED > 0)) || fail "state absent changed nothing"
compgen -G "$RULES_D/*afit-role*" >/dev/null && fail "rule files of the test are left: $(compgen -G "$RULES_D/*afit-role*")"
auditctl -l | grep -q afit_role && fail "rules of the test are still loaded"
play absent-2 apply.yml -e test_state=absent
((LAST_CHANGED == 0)) || fail "state absent is not idempotent"

say "PASS: first run ${first_seconds}s, second run ${second_seconds}s (changed=0)"
