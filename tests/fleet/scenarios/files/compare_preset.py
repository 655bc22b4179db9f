#!/usr/bin/env python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of 68-presets: does what audit_rule loaded for a preset match what auditctl
itself loads of the same file on that host (preset_reference.py)?

Reads one JSON object on stdin: {name, ref: the preset's entry of preset_reference.py, result:
the module's result of the first run (with --diff, whose kernel diff has `auditctl -l` before and
after)}. Prints a JSON verdict {ok, problems, loaded, skipped, failed} and exits 1 when they do
not match. The rules:

- Every line auditctl refuses is in the module's skipped_rules.
- A line the module left out but auditctl loads is one of the module's own decisions, each
  named in its reason: an ABI the kernel does not run (auditctl takes -F arch=b32 on a kernel
  without 32-bit programs, the kernel keeps a rule nothing can match), or a syscall the running
  kernel is older than.
- The rules the module added are exactly what auditctl added for the lines both loaded, in the
  same order, plus one rule per ABI of each line whose rule the module loaded without some of
  its syscalls (auditctl refuses such a line whole).
"""
import json
import re
import sys

LINE = re.compile(r"\bline ([0-9]+)\b")
OWN_DECISIONS = ("does not run 32-bit programs", "has no b64 ABI", "older than Linux")
PARTIAL = "left out of the rule, which is loaded with"


def kernel_lists(result):
    for d in result.get("diff") or []:
        if d.get("before_header", "").startswith("kernel rules"):
            return d["before"].splitlines(), d["after"].splitlines()
    raise SystemExit("the module result has no kernel diff (run it with --diff / diff: true)")


def main():
    data = json.load(sys.stdin)
    ref, result = data["ref"], data["result"]
    problems = []
    failed = set(ref["failed"])
    added = dict((int(k), v) for k, v in ref["added"].items())
    entries = result.get("skipped_rules") or []
    skipped = {}
    for e in entries:
        m = LINE.search(e["where"])
        if not m:
            problems.append("skipped_rules entry without a line: %r" % e)
            continue
        skipped.setdefault(int(m.group(1)), []).append(e)
    if ref["whole"] != ref["reference"]:
        problems.append("auditctl -R of the whole file and line by line differ")
    for n in sorted(failed - set(skipped)):
        problems.append("line %d: auditctl refuses it, the module did not leave it out" % n)
    for n in sorted(set(skipped) - failed):
        own = [e for e in skipped[n] if any(k in e["reason"] for k in OWN_DECISIONS)]
        if len(own) != len(skipped[n]):
            problems.append("line %d: left out by the module, loaded by auditctl: %s" % (n, skipped[n]))
    before, after = kernel_lists(result)
    new = [line for line in after if line not in before]
    both = [rule for n in sorted(added) if n not in skipped for rule in added[n]]
    it = iter(new)
    if not all(rule in it for rule in both):     # both is a subsequence of new, in order
        problems.append("the rules auditctl loaded are not all in the kernel after the module, in "
                        "order: missing %s" % [r for r in both if r not in new])
    partial = sum(1 for e in entries if PARTIAL in e["reason"])
    extra = [r for r in new if r not in both]
    if len(extra) != partial:
        problems.append("the module added %d rule(s) auditctl did not (%s); %d rule(s) were loaded "
                        "without some syscalls" % (len(extra), extra, partial))
    for n, es in sorted(skipped.items()):
        if n in added and not any(PARTIAL in e["reason"] for e in es):
            leaked = [r for r in added[n] if r in new]
            if leaked:
                problems.append("line %d was left out, yet its rules are loaded: %s" % (n, leaked))
    print(json.dumps({"name": data.get("name"), "ok": not problems, "problems": problems,
                      "loaded": len(new), "skipped": sorted(skipped), "failed": sorted(failed)}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
