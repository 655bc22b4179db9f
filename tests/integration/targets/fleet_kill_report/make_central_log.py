"""Make a central log server's log from the real records of this test's kills.

Usage: make_central_log.py AUDIT_LOG KEY OUT_LOG OUT_NODES_TSV

Every record of every event that carries KEY (the SYSCALL, OBJ_PID and PROCTITLE records auditd
wrote here) is copied as it is, with "node=NAME " in front, as auditd writes the records it
receives from another machine (name_format set there). Events go to node1, node2, node3 in
turn. OUT_NODES_TSV says which: event id, node.
"""
import re
import sys

EVENT = re.compile(r"msg=audit\((\d+\.\d+:\d+)\)")


def main(log, key, out, nodes_out):
    with open(log, encoding="utf-8", errors="surrogateescape") as f:
        lines = f.read().split("\n")
    keyed = []
    for line in lines:
        if 'key="%s"' % key in line:
            match = EVENT.search(line)
            if match and match.group(1) not in keyed:
                keyed.append(match.group(1))
    node_of = {event: "node%d" % (i % 3 + 1) for i, event in enumerate(keyed)}
    written = 0
    with open(out, "w", encoding="utf-8", errors="surrogateescape") as f:
        for line in lines:
            match = EVENT.search(line)
            if match and match.group(1) in node_of and not line.startswith("node="):
                f.write("node=%s %s\n" % (node_of[match.group(1)], line))
                written += 1
    with open(nodes_out, "w") as f:
        for event in keyed:
            f.write("%s\t%s\n" % (event, node_of[event]))
    print("central log: %d events, %d records, nodes node1-node3" % (len(keyed), written))


if __name__ == "__main__":
    main(*sys.argv[1:])
