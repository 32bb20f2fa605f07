#!/usr/bin/env python3
"""llmdo benchmarks (not tests): prints medians of repeated runs.

    python3 bench/bench.py [path/to/llmdo] [--runs N]

Measured now:
  cold   a cold `llmdo run` of examples/greeter (a scripted model, one call):
         wall time, and peak RSS of the process.
"""
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_once(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(cmd)}\n{p.stderr.decode()}")
    return dt


def peak_rss_kib(cmd, helper):
    out = subprocess.run([helper] + cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(cmd)}\n{out.stderr}")
    return int(out.stdout.split()[-1])


def build_helper(build_dir):
    """Compiles bench/spawn_rss.c (a tiny launcher that reports a child's peak RSS)."""
    exe = os.path.join(build_dir, "spawn_rss")
    src = os.path.join(ROOT, "bench", "spawn_rss.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        subprocess.run(["cc", "-O2", "-o", exe, src], check=True)
    return exe


def main():
    args = sys.argv[1:]
    runs = 30
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i:i + 2]
    llmdo = os.path.abspath(args[0] if args else os.path.join(ROOT, "build", "llmdo"))
    cmd = [llmdo, "run", os.path.join(ROOT, "examples", "greeter")]
    run_once(cmd)  # warm the page cache
    times = [run_once(cmd) for _ in range(runs)]
    helper = build_helper(os.path.dirname(llmdo))
    rss = [peak_rss_kib(cmd, helper) for _ in range(5)]
    print(f"cold run (examples/greeter): median {statistics.median(times) * 1000:.2f} ms "
          f"(min {min(times) * 1000:.2f}, max {max(times) * 1000:.2f}, {runs} runs)")
    print(f"peak RSS: median {statistics.median(rss) / 1024:.2f} MiB")


if __name__ == "__main__":
    main()
