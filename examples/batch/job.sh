#!/usr/bin/env bash
# job.sh INPUT.json OUT_DIR: one job, one stateless `llmdo run`.
#   OUT_DIR/ID.json      the outcome (--output-json): result, status, usage, journal
#   OUT_DIR/ID.jsonl     the run's journal (--journal)
# A job whose journal exists without an end (its node died mid-run) is
# resumed from it: finished model answers and tool results are not redone.
# Exit status: llmdo's. 75 means "transient, run me again later" (rate
# limit, overload, network); run.sh has GNU parallel retry only that.
set -u
in=$1 out=$2
id=$(basename "$in" .json)
here=$(cd "$(dirname "$0")" && pwd)
llmdo=${LLMDO:-llmdo}
journal="$out/$id.jsonl"
resume=()
if [ -s "$journal" ] && ! tail -n 1 "$journal" | grep -q '"type":"run_end"'; then
  mv "$journal" "$out/$id.died.jsonl"
  resume=(--resume "$out/$id.died.jsonl")
fi
"$llmdo" run "$here" --input-json "$(cat "$in")" --output-json "$out/$id.json" --journal "$journal" \
  "${resume[@]}" ${BATCH_MODEL:+--model "$BATCH_MODEL"} >/dev/null
status=$?
# only a transient failure is worth a retry; any other failure is final:
# its outcome file says why, and the job is done
[ "$status" -eq 75 ] && exit 75
exit 0
