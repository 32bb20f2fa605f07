#!/usr/bin/env python3
"""Counts what one extra tool round costs inside llmdo (not a test).

    python3 bench/crossings.py [path/to/llmdo ...]

Runs a worker that makes 1 and then 21 tool rounds against the tests' mock
provider under valgrind's callgrind, and prints per extra round (the 21-round
run minus the 1-round run, divided by 20): coroutine resumes (lua_resume),
task spawns (ld_sched_spawn), JSON decodes (l_json_decode), Lua calls made
from C (lua_pcallk + lua_callk) and instructions executed. Instruction
counts do not depend on the machine's load, so two binaries can be compared
on a busy machine. Give several binaries to compare them side by side.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from mock_provider import MockProvider, tool_rounds  # noqa: E402
from bench import KEY, PROJECT, MAIN, LEAF, TOOLS  # noqa: E402

FUNCS = {"resumes": "lua_resume", "spawns": "ld_sched_spawn", "json decodes": "l_json_decode",
         "calls from C": ("lua_pcallk", "lua_callk")}


def profile(llmdo, project, rounds, mock, env):
    mock.reset([], tool_rounds(rounds))
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, llmdo, "run", project, "go"],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        text = subprocess.run(["callgrind_annotate", "--threshold=100", out],
                              capture_output=True, text=True, check=True).stdout
        with open(out) as f:
            raw = f.read()
    counts = {"instructions": 0}
    m = re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", text)
    if m:
        counts["instructions"] = int(m.group(1).replace(",", ""))
    calls = {}
    names = {}
    target = None
    for line in raw.splitlines():
        if line.startswith("cfn="):
            m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line)
            if m.group(2):
                names[m.group(1)] = m.group(2)
            target = names.get(m.group(1))
        elif line.startswith("fn="):
            m = re.match(r"fn=\((\d+)\)(?: (.*))?", line)
            if m and m.group(2):
                names[m.group(1)] = m.group(2)
        elif line.startswith("calls=") and target:
            calls[target] = calls.get(target, 0) + int(line[6:].split()[0])
            target = None
    for label, fns in FUNCS.items():
        fns = fns if isinstance(fns, tuple) else (fns,)
        counts[label] = sum(calls.get(f, 0) for f in fns)
    return counts


def main():
    binaries = [os.path.abspath(b) for b in sys.argv[1:]] or [os.path.join(ROOT, "build", "llmdo")]
    mock = MockProvider()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMDO_")}
    env.update(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=mock.url)
    with tempfile.TemporaryDirectory(prefix="llmdo-cross-") as d:
        for name, text in (("project.lua", PROJECT), ("main.worker", MAIN), ("leaf.worker", LEAF),
                           ("tools.lua", TOOLS)):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        for b in binaries:
            one = profile(b, d, 1, mock, env)
            many = profile(b, d, 21, mock, env)
            print(b)
            for k in ("resumes", "spawns", "json decodes", "calls from C", "instructions"):
                per = (many[k] - one[k]) / 20
                print(f"  per extra tool round: {k:13s} {per:12.1f}   (1-round run: {one[k]})")
    mock.close()


if __name__ == "__main__":
    main()
