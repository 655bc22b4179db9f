#!/usr/bin/env bash
# Run one named test stage and record PASS / FAIL / NOT RUN with its wall time, so that a make
# target can run every stage (a failure does not hide the stages after it) and end with a summary.
#
#   tools/stage.sh --reset                       forget earlier results
#   tools/stage.sh NAME TOOLCHAIN -- COMMAND...  run COMMAND as stage NAME; TOOLCHAIN is X.Y or '-'
#   tools/stage.sh --summary                     print the table; exit 1 if any stage failed
#
# A stage whose toolchain could not be built (.venv/ansible-X.Y.notrun, written by tools/testenv.sh)
# is recorded as NOT RUN with the reason, never skipped silently.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS=${STAGE_RESULTS:-$ROOT/build/stages.tsv}
mkdir -p "$(dirname "$RESULTS")"

case "${1:-}" in
    --reset)
        rm -f "$RESULTS"
        exit 0
        ;;
    --summary)
        [[ -f "$RESULTS" ]] || { echo "no stage was run"; exit 1; }
        printf '\n==== summary ====\n'
        awk -F'\t' '{ printf "%-28s %-8s %6ss  %s\n", $1, $2, $3, $4 }' "$RESULTS"
        pass=$(awk -F'\t' '$2 == "PASS"' "$RESULTS" | wc -l)
        fail=$(awk -F'\t' '$2 == "FAIL"' "$RESULTS" | wc -l)
        notrun=$(awk -F'\t' '$2 == "NOT RUN"' "$RESULTS" | wc -l)
        total=$(awk -F'\t' '{ s += $3 } END { print s + 0 }' "$RESULTS")
        if ((fail)); then verdict=FAIL; else verdict=PASS; fi
        echo "stages: PASS $pass, FAIL $fail, NOT RUN $notrun, ${total}s in all => $verdict"
        ((notrun == 0)) || echo "NOT RUN stages above did not test anything: see their reasons."
        rm -f "$RESULTS"
        ((fail == 0))
        exit
        ;;
esac

if (($# < 4)) || [[ "$3" != "--" ]]; then
    echo "usage: $0 NAME TOOLCHAIN -- COMMAND..." >&2
    exit 2
fi
name=$1 toolchain=$2
shift 3

record() { printf '%s\t%s\t%s\t%s\n' "$name" "$1" "$2" "${3:-}" >>"$RESULTS"; }

printf '\n==== %s ====\n' "$name"
if [[ "$toolchain" != - && -f "$ROOT/.venv/ansible-$toolchain.notrun" ]]; then
    reason=$(cat "$ROOT/.venv/ansible-$toolchain.notrun")
    echo "NOT RUN: $name (ansible-core $toolchain) because $reason"
    record "NOT RUN" 0 "$reason"
    exit 0
fi

start=$SECONDS
status=0
"$@" || status=$?
elapsed=$((SECONDS - start))
if ((status == 0)); then
    record PASS "$elapsed"
    echo "---- $name: PASS (${elapsed}s)"
else
    record FAIL "$elapsed" "exit status $status"
    echo "---- $name: FAIL (exit status $status, ${elapsed}s)"
fi
