#!/usr/bin/env bash
# run.sh [N] [JOBS]: N tickets (default 300) through llmdo under GNU
# parallel, JOBS at a time (default: the number of cores), one stateless
# `llmdo run` per ticket (job.sh), then a summary of the outcomes.
#
#   BATCH_DIR=DIR     keep inputs, outcomes, journals and the joblog in DIR;
#                     run again with the same DIR to finish a batch that was
#                     cut short: parallel --resume-failed skips what is done
#   BATCH_MODEL=M     the model (default: anthropic:claude-haiku-4-5 against
#                     a loopback mock, tests/mock_provider.py, started here
#                     unless ANTHROPIC_BASE_URL is set; lua:offline: no HTTP)
#   BATCH_LATENCY_MS  the mock's delay before each answer (default 0)
#   LLMDO             the llmdo binary (default: llmdo on PATH)
set -euo pipefail
n=${1:-300}
jobs=${2:-$(nproc)}
here=$(cd "$(dirname "$0")" && pwd)
work=${BATCH_DIR:-$(mktemp -d /tmp/llmdo-batch.XXXXXX)}
mkdir -p "$work/out"
[ -d "$work/in" ] || python3 "$here/make_inputs.py" "$n" "$work/in"

mock_pid=
if [ -z "${BATCH_MODEL:-}" ]; then
  export BATCH_MODEL=anthropic:claude-haiku-4-5
  if [ -z "${ANTHROPIC_BASE_URL:-}" ]; then
    coproc MOCK { exec python3 "$here/../../tests/mock_provider.py" --latency-ms "${BATCH_LATENCY_MS:-0}"; }
    mock_pid=$MOCK_PID
    read -r ANTHROPIC_BASE_URL <&"${MOCK[0]}"
    export ANTHROPIC_BASE_URL ANTHROPIC_API_KEY=sk-mock-key
  fi
fi
trap '[ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; true' EXIT

started=$(date +%s.%N)
# --retries: a job that exits 75 (transient) runs again, up to 3 times;
# job.sh exits 0 for a final failure, whose outcome file says why
parallel --jobs "$jobs" --joblog "$work/joblog" --retries 3 --resume-failed \
  "$here/job.sh" {} "$work/out" ::: "$work"/in/*.json || true
ended=$(date +%s.%N)

python3 - "$work" "$n" "$jobs" "$started" "$ended" <<'PY'
import glob, json, os, sys
work, n, jobs, t0, t1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
status, labels, tokens = {}, {}, 0
outcomes = sorted(glob.glob(os.path.join(work, "out", "*.json")))
if len(outcomes) < n:
    status["none"] = n - len(outcomes)  # the job never wrote one: a usage error, or it is still to run
for path in outcomes:
    o = json.load(open(path))
    status[o.get("status")] = status.get(o.get("status"), 0) + 1
    if o.get("status") == "ok":
        labels[o.get("result")] = labels.get(o.get("result"), 0) + 1
    tokens += (o.get("usage") or {}).get("input_tokens", 0) + (o.get("usage") or {}).get("output_tokens", 0)
with open(os.path.join(work, "joblog")) as f:
    rows = [l.split("\t") for l in f.read().splitlines()[1:]]
retried = sum(1 for r in rows if r[6] != "0")
wall = t1 - t0
print(json.dumps({"dir": work, "inputs": n, "jobs": jobs, "outcomes": status, "labels": labels,
                  "tokens": tokens, "attempts": len(rows), "attempts_failed": retried,
                  "wall_s": round(wall, 2), "jobs_per_s": round(n / wall, 1)}, sort_keys=True))
PY
