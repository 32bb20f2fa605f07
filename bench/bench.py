#!/usr/bin/env python3
"""llmdo benchmarks (not tests). Prints medians of repeated runs.

    python3 bench/bench.py [path/to/llmdo] [--runs N] [--quick]

Everything runs against the tests' mock provider on loopback
(tests/mock_provider.py, Anthropic API, plain requests):

  1. cold run    `llmdo run` of a worker that makes one tool round (2 requests)
  2. peak RSS    of that process
  3. per round   (time of 21 rounds - time of 1 round) / 20
  4. fan-out     10 worker calls at 200 ms mock latency, concurrent vs serial
  5. 1000 calls  1000 concurrent worker calls: wall time and peak RSS
  6. the floor   the same HTTP requests made by one curl process with keep-alive

Targets (ratios to the floor measured in the same run): cold run <= 1.5x,
per round <= 0.5 ms above the floor's, fan-out <= 1.1x one call's latency,
1000 concurrent calls under 200 MiB.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from mock_provider import MockProvider, tool_rounds  # noqa: E402

KEY = "bench-key"

PROJECT = """return {
  workers = { "main.worker", "leaf.worker" }, lua = { "tools.lua" },
  runtime = { approval_mode = "approve_all", max_requests = 100 },
}
"""
MAIN = """---
name: main
entry: true
model: anthropic:bench
toolsets: [noop]
---
Call noop when asked.
"""
LEAF = """---
name: leaf
model: anthropic:bench
---
Answer.
"""
TOOLS = """
local llmdo = require "llmdo"
return { noop = llmdo.toolset { tools = { noop = { approval = "pre_approved", fn = function() return "ok" end } } } }
"""
FAN = """
local llmdo = require "llmdo"
local M = {}
M.fan = llmdo.entry { main = function(input, rt)
  local n, mode = tonumber(input[1]:match("%d+")), input[1]:match("%a+")
  if mode == "serial" then
    for i = 1, n do rt:call_agent("leaf", "call " .. i) end
    return "done"
  end
  local items = {}
  for i = 1, n do items[i] = i end
  rt:map(items, function(i) return rt:call_agent("leaf", "call " .. i) end)
  return "done"
end }
return M
"""


def median_time(cmd, runs, env, cwd):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t0)
        if p.returncode != 0:
            sys.exit(f"benchmark command failed: {' '.join(cmd)}\n{p.stderr.decode()}")
    return statistics.median(times)


def build_helper(build_dir):
    """Compiles bench/spawn_rss.c (a tiny launcher that reports a child's peak RSS)."""
    exe = os.path.join(build_dir, "spawn_rss")
    src = os.path.join(ROOT, "bench", "spawn_rss.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        subprocess.run(["cc", "-O2", "-o", exe, src], check=True)
    return exe


def peak_rss_mib(helper, cmd, env, cwd, runs=3):
    vals = []
    for _ in range(runs):
        out = subprocess.run([helper] + cmd, env=env, cwd=cwd, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"benchmark command failed: {' '.join(cmd)}\n{out.stderr}")
        vals.append(int(out.stdout.split()[-1]) / 1024)
    return statistics.median(vals)


def curl_cmd(url, bodies, body_dir):
    cmd = ["curl", "-s", "-o", "/dev/null"]
    for i, b in enumerate(bodies):
        path = os.path.join(body_dir, f"body{i}.json")
        with open(path, "w") as f:
            json.dump(b, f)
        if i:
            cmd.append("--next")
        cmd += ["-o", "/dev/null", "-H", "content-type: application/json", "-H", f"x-api-key: {KEY}",
                "-H", "anthropic-version: 2023-06-01", "--data-binary", "@" + path, url + "/v1/messages"]
    return cmd


def main():
    args = sys.argv[1:]
    runs = 20
    quick = "--quick" in args
    if quick:
        args.remove("--quick")
        runs = 5
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i:i + 2]
    llmdo = os.path.abspath(args[0] if args else os.path.join(ROOT, "build", "llmdo"))
    helper = build_helper(os.path.dirname(llmdo))
    mock = MockProvider()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMDO_")}
    env.update(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=mock.url)
    results = {}
    with tempfile.TemporaryDirectory(prefix="llmdo-bench-") as d:
        for name, text in (("project.lua", PROJECT), ("main.worker", MAIN), ("leaf.worker", LEAF),
                           ("tools.lua", TOOLS)):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        fan_dir = os.path.join(d, "fan")
        os.mkdir(fan_dir)
        fan_project = PROJECT.replace('"main.worker", ', '').replace('{ "tools.lua" }', '{ "tools.lua", "fan.lua" }')
        for name, text in (("project.lua", fan_project), ("leaf.worker", LEAF), ("tools.lua", TOOLS),
                           ("fan.lua", FAN)):
            with open(os.path.join(fan_dir, name), "w") as f:
                f.write(text)
        run = [llmdo, "run", d, "go"]

        # 1, 2 and 6: one tool round, cold
        mock.reset([], tool_rounds(1))
        subprocess.run(run, env=env, stdout=subprocess.DEVNULL)  # warm caches; record the requests
        bodies1 = [r["body"] for r in mock.requests]
        cold = median_time(run, runs, env, d)
        rss = peak_rss_mib(helper, run, env, d)
        floor1 = median_time(curl_cmd(mock.url, bodies1, d), runs, env, d)
        results["cold_run_ms"] = cold * 1000
        results["curl_floor_2_requests_ms"] = floor1 * 1000
        results["cold_ratio"] = cold / floor1
        results["peak_rss_mib"] = rss

        # 3: per round, 21 rounds vs 1
        mock.reset([], tool_rounds(21))
        subprocess.run(run, env=env, stdout=subprocess.DEVNULL)
        bodies21 = [r["body"] for r in mock.requests]
        t21 = median_time(run, runs, env, d)
        floor21 = median_time(curl_cmd(mock.url, bodies21, d), runs, env, d)
        results["per_round_ms"] = (t21 - cold) / 20 * 1000
        results["curl_per_request_ms"] = (floor21 - floor1) / 20 * 1000
        results["per_round_above_floor_ms"] = results["per_round_ms"] - results["curl_per_request_ms"]

        # 4: fan-out at 200 ms latency
        mock.reset([], tool_rounds(0, 200))
        one = median_time([llmdo, "run", d, "go"], max(3, runs // 4), env, d)
        conc = median_time([llmdo, "run", fan_dir, "10 parallel"], max(3, runs // 4), env, fan_dir)
        serial = median_time([llmdo, "run", fan_dir, "10 serial"], 3, env, fan_dir)
        results["one_call_200ms_ms"] = one * 1000
        results["fan_out_10_concurrent_ms"] = conc * 1000
        results["fan_out_10_serial_ms"] = serial * 1000
        results["fan_out_ratio"] = conc / one

        # 5: 1000 concurrent worker calls
        mock.reset([], tool_rounds(0))
        big = [llmdo, "run", fan_dir, "1000 parallel"]
        results["calls_1000_ms"] = median_time(big, 3, env, fan_dir) * 1000
        results["calls_1000_peak_rss_mib"] = peak_rss_mib(helper, big, env, fan_dir, runs=1)
    mock.close()

    print(f"1. cold run (1 tool round, 2 requests): {results['cold_run_ms']:.2f} ms  "
          f"(curl floor {results['curl_floor_2_requests_ms']:.2f} ms, ratio {results['cold_ratio']:.2f}x; "
          f"target <= 1.5x)")
    print(f"2. peak RSS of that run: {results['peak_rss_mib']:.2f} MiB")
    print(f"3. per tool round: {results['per_round_ms']:.3f} ms  (curl per request {results['curl_per_request_ms']:.3f}"
          f" ms; {results['per_round_above_floor_ms']:+.3f} ms above the floor; target <= +0.5 ms)")
    print(f"4. fan-out, 10 calls at 200 ms: concurrent {results['fan_out_10_concurrent_ms']:.1f} ms, serial "
          f"{results['fan_out_10_serial_ms']:.1f} ms, one call {results['one_call_200ms_ms']:.1f} ms "
          f"(ratio {results['fan_out_ratio']:.3f}x; target <= 1.1x)")
    print(f"5. 1000 concurrent calls: {results['calls_1000_ms']:.0f} ms, peak RSS "
          f"{results['calls_1000_peak_rss_mib']:.1f} MiB (target < 200 MiB)")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
