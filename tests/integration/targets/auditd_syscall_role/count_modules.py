"""Count the remote module executions in the log of an ansible-playbook run made with
ANSIBLE_DEBUG=1 and ANSIBLE_PIPELINING=1 (connection local or ssh).

ansible-core's ActionBase prints, per command it runs on the host,
  `_low_level_execute_command(): executing: CMD`
and with pipelining a module run is one such command: the interpreter alone (`/bin/sh -c
'/usr/bin/python3 && sleep 0'`), the module on its stdin. Helper commands (`echo ~`, mkdir,
chmod, rm of a temporary directory) are other commands and are not counted. Each module run
also ends with `done with _execute_module (NAME, ARGS)`, which names the module: the two counts
must agree, or the log is not what this reader expects.

Usage: count_modules.py LOG INTERPRETER MAX
Prints the count and the modules; exits 1 if the count is above MAX or the two counts disagree.
"""
import re
import sys


def main(argv):
    log, interpreter, most = argv[1], argv[2], int(argv[3])
    quoted = re.escape(interpreter)
    run = re.compile(r": _low_level_execute_command\(\): executing: /bin/sh -c '?%s( && sleep 0)?'?\s*$" % quoted)
    done = re.compile(r": done with _execute_module \(([^,]+),")
    runs, modules, helpers = 0, [], 0
    with open(log, errors="replace") as f:
        for line in f:
            if run.search(line):
                runs += 1
            elif "_low_level_execute_command(): executing: " in line:
                helpers += 1
            m = done.search(line)
            if m:
                modules.append(m.group(1))
    print("remote module executions: %d (%s); other commands: %d" % (runs, ", ".join(modules), helpers))
    if runs != len(modules):
        print("FAIL: %d interpreter runs but %d modules done: not a pipelined debug log?" % (runs, len(modules)))
        return 1
    if runs == 0:
        print("FAIL: no module execution found (ANSIBLE_DEBUG and ANSIBLE_PIPELINING set?)")
        return 1
    if runs > most:
        print("FAIL: more than %d remote module executions" % most)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
