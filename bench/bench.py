#!/usr/bin/env python3
"""llmdo benchmarks (not tests): start-up, per-round cost, concurrency, and
how the costs scale with the length of a conversation, the number of calls in
flight and the size of an answer.

Every figure is the median of repeated runs with its spread (p10-p90 over
the runs). Contenders alternate run by run, in a shuffled order each round
(llmdo, the curl floor, a second llmdo binary if given), so a change in the
machine's load hits them alike. CPU time is the llmdo process's own (user + sys from wait4, threads
included), so the mock provider's work never counts; wall time does include
the mock's answers. Everything runs on loopback against bench/fastmock.py,
started inside this process.

Cases (names for --only):
  cold       `llmdo run` of a worker that makes one tool round (2 requests):
             wall, CPU, peak RSS; the curl floor sends the same 2 bodies
  round      per tool round: (21 rounds - 1 round) / 20, and curl's per request
  fanout     10 worker calls at 200 ms mock latency: rt:map vs a loop vs one call
  calls1000  1 000 concurrent worker calls (rt:map), no latency: wall, peak RSS
  scaling    runs of 10, 20, 50 ... 800 tool rounds: CPU per round over rounds
             11-20, 51-100, 201-400 and 401-800, each (cpu(N) - cpu(N/2)) / (N/2)
             from runs made side by side; total CPU(400) / CPU(100) (linear: 4x;
             budget <= 5x); per round at 401-800 / per round at 11-20 (budget
             <= 1.5x). --instructions adds the same from instruction counts
             (callgrind), which do not depend on the machine's load
  chat       `llmdo run --chat` on a pty for --chat-turns turns (each turn one
             streamed answer): CPU per turn over turns 6-15 and over the last 10,
             from the process's CPU clock (schedstat) read at every `you> ` prompt
  calls10k   --calls worker calls (rt:map) at 20 ms mock latency, at most 100,
             1 000 and all of them in flight: wall, peak RSS, CPU per call, and
             the time from the entry's return (a marker line it writes to stderr)
             to the process's exit, with the CPU spent in that time
  stream     a 5 MiB answer from the Anthropic and the OpenAI wire, streamed
             (16-byte text deltas) to a pty, streamed with -v to a pipe (parsed
             but not shown until the end), and plain: CPU, sys, peak RSS
  bigtool    a Lua tool returning 10 MiB (with quotes, backslashes, tabs and
             newlines to escape), sent back to the model: CPU, peak RSS
"""
import argparse
import datetime
import fcntl
import glob
import json
import os
import platform
import random
import re
import selectors
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from fastmock import FastMock  # noqa: E402

KEY = "bench-key"
CASES = ("cold", "round", "fanout", "calls1000", "scaling", "chat", "calls10k", "stream", "bigtool")
MARKER = b"BENCH-END "

PROJECT = """return {
  workers = { "main.worker", "leaf.worker" }, lua = { "tools.lua" },
  runtime = { approval_mode = "approve_all", max_requests = 1000 },
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
# "N parallel [LIMIT]" or "N serial"; the marker line goes out just before the entry returns
FAN = """
local llmdo = require "llmdo"
local M = {}
M.fan = llmdo.entry { main = function(input, rt)
  local n, mode, limit = input[1]:match("^(%d+) (%a+) ?(%d*)$")
  n, limit = tonumber(n), tonumber(limit)
  if mode == "serial" then
    for i = 1, n do rt:call_agent("leaf", "call " .. i) end
  else
    local items = {}
    for i = 1, n do items[i] = i end
    rt:map(items, function(i) return rt:call_agent("leaf", "call " .. i) end, limit)
  end
  io.stderr:write("BENCH-END ", string.format("%.6f", os.clock()), "\\n")
  io.stderr:flush()
  return "done"
end }
return M
"""
# a 10 MiB result of 64-byte lines with quotes, a backslash and a tab to escape
BIG = """
local llmdo = require "llmdo"
local line = 'tool output with "quotes", a back\\\\slash and a\\ttab '
line = line .. string.rep(".", 63 - #line) .. "\\n"
return { big = llmdo.toolset { tools = { big = { approval = "pre_approved",
  fn = function() return string.rep(line, 10 * 1024 * 1024 // 64) end } } } }
"""


# --- statistics -------------------------------------------------------------------


def spread(values):
    """(median, p10, p90) of a list of numbers."""
    v = sorted(values)
    if len(v) == 1:
        return v[0], v[0], v[0]
    q = statistics.quantiles(v, n=10, method="inclusive")
    return statistics.median(v), q[0], q[8]


def fmt(values, unit="", digits=2, scale=1.0):
    m, lo, hi = spread([x * scale for x in values])
    if len(values) == 1:
        return f"{m:.{digits}f}{unit} (one run)"
    return f"{m:.{digits}f}{unit} [{lo:.{digits}f}–{hi:.{digits}f}]"


class Load:
    """Samples the machine's load average (1 min) every 5 s while the benchmark runs."""

    def __init__(self):
        self.samples = [os.getloadavg()[0]]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.wait(5):
            self.sample()

    def sample(self):
        self.samples.append(os.getloadavg()[0])

    def text(self):
        self.stop.set()
        m, lo, hi = spread(self.samples)
        return (f"{self.samples[0]:.2f} at the start, {self.samples[-1]:.2f} at the end, median {m:.2f} "
                f"[p10 {lo:.2f} – p90 {hi:.2f}] over {len(self.samples)} samples")


# --- running a process --------------------------------------------------------------


def build_helper(build_dir):
    """Compiles bench/spawn_rss.c (a tiny launcher that reports a child's resources)."""
    exe = os.path.join(build_dir, "spawn_rss")
    src = os.path.join(ROOT, "bench", "spawn_rss.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        subprocess.run(["cc", "-O2", "-o", exe, src], check=True)
    return exe


def task_cpu_ns(pid):
    """CPU time so far of every thread of pid, in ns (schedstat: not tick-rounded)."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


class Runner:
    def __init__(self, helper, env, mock):
        self.helper = helper
        self.env = env
        self.mock = mock

    def run(self, cmd, cwd, tty=False, interact=None, keep_stdout=False):
        """Runs cmd under the launcher. Returns a dict: wall, cpu, user, sys (s), rss (MiB),
        out (bytes of stdout), stdout (if kept), marker_s (stderr marker to exit), marker_cpu
        (os.clock() at the marker), mock_cpu (s used by the mock meanwhile). interact(data, write,
        pid) sees stdout as it arrives."""
        mock0 = self.mock.cpu_ns()
        rfd, wfd = os.pipe()
        if tty:
            master, slave = os.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
            stdin = stdout = slave
            argv = [self.helper, str(wfd), "-t"] + cmd
        else:
            stdin, stdout = subprocess.DEVNULL, subprocess.PIPE
            argv = [self.helper, str(wfd)] + cmd
        p = subprocess.Popen(argv, cwd=cwd, env=self.env, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                             pass_fds=(wfd,))
        os.close(wfd)
        out_fd = master if tty else p.stdout.fileno()
        if tty:
            os.close(slave)
        sel = selectors.DefaultSelector()
        for fd in (out_fd, p.stderr.fileno(), rfd):
            sel.register(fd, selectors.EVENT_READ)
        res = {"out": 0, "pid": None}
        kept, err, report = [], b"", b""
        marker_ns = None

        def write(data):
            os.write(out_fd, data)
        while sel.get_map():
            for key, _ in sel.select():
                fd = key.fd
                try:
                    data = os.read(fd, 1 << 16)
                except OSError:  # a pty's master reads EIO once the slave side is gone
                    data = b""
                now = time.monotonic_ns()
                if not data:
                    sel.unregister(fd)
                    continue
                if fd == rfd:
                    report += data
                    m = re.search(rb"pid (\d+)\n", report)
                    if m and res["pid"] is None:
                        res["pid"] = int(m.group(1))
                elif fd == out_fd:
                    res["out"] += len(data)
                    if keep_stdout:
                        kept.append(data)
                    if interact:
                        interact(data, write, res["pid"])
                else:
                    err += data
                    if marker_ns is None and MARKER in err:
                        marker_ns = now
        p.wait()
        os.close(rfd)
        if tty:
            os.close(master)
        m = re.search(rb"exit (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", report)
        if not m:
            sys.exit(f"the launcher reported nothing for: {' '.join(cmd)}\n{err.decode(errors='replace')}")
        status, rss, user, syst, t0, t1 = (int(x) for x in m.groups())
        if status != 0:
            sys.exit(f"benchmark command failed ({status}): {' '.join(cmd)}\n{err.decode(errors='replace')}")
        res.update(mock_cpu=(self.mock.cpu_ns() - mock0) / 1e9, wall=(t1 - t0) / 1e9, user=user / 1e6,
                   sys=syst / 1e6, cpu=(user + syst) / 1e6, rss=rss / 1024)
        if keep_stdout:
            res["stdout"] = b"".join(kept)
        if marker_ns is not None:
            res["marker_s"] = (t1 - marker_ns) / 1e9
            res["marker_cpu"] = float(err[err.index(MARKER) + len(MARKER):].split(b"\n", 1)[0])
        return res


def interleave(runs, contenders):
    """Runs each contender (name, fn) once per round, in a new random order each round (seeded, so
    a rerun makes the same orders): no contender always follows the same one."""
    out = {name: [] for name, _ in contenders}
    rng = random.Random(1)
    for _ in range(runs):
        order = list(contenders)
        rng.shuffle(order)
        for name, fn in order:
            out[name].append(fn())
    return out


def curl_cmd(url, bodies, body_dir, tag):
    cmd = ["curl", "-s", "-o", "/dev/null"]
    for i, (path, body) in enumerate(bodies):
        f = os.path.join(body_dir, f"{tag}{i}.json")
        with open(f, "wb") as fh:
            fh.write(body)
        if i:
            cmd += ["--next", "-o", "/dev/null"]
        cmd += ["-H", "content-type: application/json", "-H", f"x-api-key: {KEY}",
                "-H", "anthropic-version: 2023-06-01", "--data-binary", "@" + f, url + path]
    return cmd


def big_text(size):
    """size bytes of text with lines, quotes and a backslash (JSON has escapes to do)."""
    words = ["alpha", "beta", 'say "hi"', "gamma", "C:\\path", "delta", "epsilon", "zeta", "eta", "theta"]
    out, n, i = [], 0, 0
    while n < size:
        w = words[i % len(words)] + ("\n" if i % 12 == 11 else " ")
        out.append(w)
        n += len(w)
        i += 1
    return "".join(out)[:size]


# --- the cases ------------------------------------------------------------------------


class Bench:
    def __init__(self, args, binaries, mock, runner, d):
        self.a = args
        self.bins = binaries
        self.mock = mock
        self.r = runner
        self.d = d
        self.res = {}   # case -> figure -> contender -> list of values
        self.rows = []  # (case title, figure, cells, note) for the Markdown table
        self.title = self.sub = ""

    def names(self):
        return [f"llmdo{'' if len(self.bins) == 1 else ' ' + 'AB'[i]}" for i in range(len(self.bins))]

    def put(self, case, figure, per_name):
        self.res.setdefault(case, {})[figure] = per_name

    def say(self, text):
        print(text, flush=True)

    def section(self, title, how):
        """Starts a case: title names it in the Markdown table, how says how it ran."""
        self.title, self.sub = title, ""
        self.say(f"{title}: {how}")

    def subsection(self, sub):
        self.sub = sub
        self.say(f"  {sub}:")

    def show(self, case, figure, label, unit, digits=2, scale=1.0, extra=""):
        vals = self.res[case][figure]
        parts = [f"{n} {fmt(v, unit, digits, scale)}" for n, v in vals.items() if v]
        names = [n for n in vals if n != "curl"]
        # B/A: the median of the ratios of runs made side by side (not for figures that can be <= 0)
        two = len(names) == 2 and len(vals[names[0]]) == len(vals[names[1]]) and \
            all(x > 0 for n in names for x in vals[n])
        if two:
            ratio = statistics.median(b / a for a, b in zip(vals[names[0]], vals[names[1]]))
            parts.append(f"B/A {ratio:.2f}x")
        self.say(f"  {'  ' if self.sub else ''}{label}: " + "; ".join(parts) + (f"  {extra}" if extra else ""))
        self.rows.append((self.title, (self.sub + ", " if self.sub else "") + label,
                          {n: fmt(v, unit, digits, scale) for n, v in vals.items() if v},
                          "; ".join(x for x in (parts[-1] if two else "", extra) if x)))

    def markdown(self):
        cols = [n for n in self.names() + ["curl"] if any(n in cells for _, _, cells, _ in self.rows)]
        out = ["| case | figure | " + " | ".join(cols) + " | note |",
               "|---|---|" + "---|" * len(cols) + "---|"]
        last = None
        for title, label, cells, note in self.rows:
            out.append(f"| {title if title != last else ''} | {label} | "
                       + " | ".join(cells.get(n, "—") for n in cols) + f" | {note} |")
            last = title
        return "\n".join(out)

    def bins_named(self):
        return list(zip(self.names(), self.bins))

    # 1, 2, 3, 6: one round and 21 rounds, interleaved with curl sending the same bodies
    def cold_and_round(self, want_round):
        d, m = self.d, self.mock
        proj = os.path.join(d, "one")
        bodies = {}
        for n in (1, 21):
            m.configure(rounds=n)
            m.record(True)
            self.r.run([self.bins[0], "run", proj, "go"], proj)
            bodies[n] = m.recorded
            m.record(False)
        curl = {n: curl_cmd(m.url, bodies[n], d, f"r{n}-") for n in (1, 21)}
        sizes = (1, 21) if want_round else (1,)
        contenders = []
        for name, b in self.bins_named():
            for n in sizes:
                contenders.append(((name, n), lambda b=b, n=n: self.llmdo_rounds(b, proj, n)))
        for n in sizes:
            contenders.append((("curl", n), lambda n=n: self.r.run(curl[n], d)))
        self.section("cold run, 1 tool round (2 requests)",
                     f"{self.a.runs} interleaved runs{' (with 21-round runs)' if want_round else ''}")
        got = interleave(self.a.runs, contenders)
        names = self.names()
        self.put("cold", "wall_ms", {n: [r["wall"] * 1000 for r in got[(n, 1)]] for n in names + ["curl"]})
        self.put("cold", "cpu_ms", {n: [r["cpu"] * 1000 for r in got[(n, 1)]] for n in names + ["curl"]})
        self.put("cold", "rss_mib", {n: [r["rss"] for r in got[(n, 1)]] for n in names})
        self.put("cold", "ratio_to_curl", {n: [a["wall"] / c["wall"] for a, c in zip(got[(n, 1)], got[("curl", 1)])]
                                           for n in names})
        self.show("cold", "wall_ms", "wall", " ms")
        self.show("cold", "ratio_to_curl", "wall / curl floor (same round)", "x", extra="target <= 1.5x")
        self.show("cold", "cpu_ms", "CPU (user+sys)", " ms")
        self.show("cold", "rss_mib", "peak RSS", " MiB")
        if not want_round:
            return
        per = {n: [(b["wall"] - a["wall"]) / 20 * 1000 for a, b in zip(got[(n, 1)], got[(n, 21)])]
               for n in names + ["curl"]}
        cpu = {n: [(b["cpu"] - a["cpu"]) / 20 * 1000 for a, b in zip(got[(n, 1)], got[(n, 21)])] for n in names}
        above = {n: [x - c for x, c in zip(per[n], per["curl"])] for n in names}
        self.put("round", "wall_ms", per)
        self.put("round", "cpu_ms", cpu)
        self.put("round", "above_curl_ms", above)
        self.section("per tool round", "(21 rounds - 1 round) / 20, from the same runs")
        self.show("round", "wall_ms", "wall", " ms", 3)
        self.show("round", "above_curl_ms", "above curl's per request (same round)", " ms", 3,
                  extra="target <= +0.5 ms")
        self.show("round", "cpu_ms", "CPU", " ms", 3)

    def llmdo_rounds(self, b, proj, n):
        self.mock.configure(rounds=n)
        return self.r.run([b, "run", proj, "go"], proj)

    def fanout(self):
        m, fan, one = self.mock, os.path.join(self.d, "fan"), os.path.join(self.d, "one")
        runs = max(3, self.a.runs // 4)
        self.section("fan-out, 10 calls at 200 ms latency", f"{runs} interleaved runs")
        m.configure(rounds=0, delay_ms=200)
        contenders = []
        for name, b in self.bins_named():
            contenders += [((name, "one"), lambda b=b: self.r.run([b, "run", one, "go"], one)),
                           ((name, "map"), lambda b=b: self.r.run([b, "run", fan, "10 parallel"], fan)),
                           ((name, "loop"), lambda b=b: self.r.run([b, "run", fan, "10 serial"], fan))]
        got = interleave(runs, contenders)
        names = self.names()
        for key in ("one", "map", "loop"):
            self.put("fanout", key + "_ms", {n: [r["wall"] * 1000 for r in got[(n, key)]] for n in names})
        self.put("fanout", "ratio", {n: [a["wall"] / o["wall"] for a, o in zip(got[(n, "map")], got[(n, "one")])]
                                     for n in names})
        self.show("fanout", "one_ms", "one call", " ms", 1)
        self.show("fanout", "map_ms", "10 with rt:map", " ms", 1)
        self.show("fanout", "loop_ms", "10 in a loop", " ms", 1)
        self.show("fanout", "ratio", "rt:map / one call", "x", 3, extra="target <= 1.1x")

    def calls1000(self):
        fan = os.path.join(self.d, "fan")
        runs = 5 if not self.a.quick else 3
        self.section("1 000 concurrent calls, no latency", f"{runs} interleaved runs")
        self.mock.configure(rounds=0)
        got = interleave(runs, [(n, lambda b=b: self.r.run([b, "run", fan, "1000 parallel"], fan))
                                for n, b in self.bins_named()])
        self.put("calls1000", "wall_ms", {n: [r["wall"] * 1000 for r in v] for n, v in got.items()})
        self.put("calls1000", "rss_mib", {n: [r["rss"] for r in v] for n, v in got.items()})
        self.put("calls1000", "cpu_ms", {n: [r["cpu"] * 1000 for r in v] for n, v in got.items()})
        self.show("calls1000", "wall_ms", "wall", " ms", 0)
        self.show("calls1000", "cpu_ms", "CPU", " ms", 0)
        self.show("calls1000", "rss_mib", "peak RSS", " MiB", 1, extra="target < 200 MiB")

    def scaling(self):
        proj = os.path.join(self.d, "one")
        top = self.a.max_rounds
        sizes = sorted({n for n in (10, 20, 50, 100, 200, 400, 800, top, top // 2) if n <= top})
        runs = self.a.scaling_runs
        self.section("long conversations: tool rounds", f"runs of {', '.join(map(str, sizes))} rounds, {runs} "
                     "interleaved runs of each")
        contenders = [((name, n), lambda b=b, n=n: self.llmdo_rounds(b, proj, n))
                      for name, b in self.bins_named() for n in sizes]
        got = interleave(runs, contenders)
        windows = [n for n in (20, 100, 400, 800) if n in sizes and n // 2 in sizes]
        for n in sizes:
            self.put("scaling", f"cpu_total_{n}_ms", {name: [r["cpu"] * 1000 for r in got[(name, n)]]
                                                      for name in self.names()})
            self.show("scaling", f"cpu_total_{n}_ms", f"total CPU, {n} rounds", " ms", 0)
        for n in windows:
            self.put("scaling", f"per_round_{n}_ms", {
                name: [(b["cpu"] - a["cpu"]) / (n // 2) * 1000 for a, b in zip(got[(name, n // 2)], got[(name, n)])]
                for name in self.names()})
            self.show("scaling", f"per_round_{n}_ms", f"CPU per round, rounds {n // 2 + 1}–{n}", " ms", 3)
        if 100 in sizes and 400 in sizes:
            self.put("scaling", "cpu400_over_cpu100", {
                name: [b["cpu"] / a["cpu"] for a, b in zip(got[(name, 100)], got[(name, 400)])]
                for name in self.names()})
            self.show("scaling", "cpu400_over_cpu100", "total CPU(400) / CPU(100)", "x", 2,
                      extra="linear 4x; budget <= 5x")
        if windows and windows[-1] != 20 and 20 in windows:
            hi = windows[-1]
            self.put("scaling", f"per_round_{hi}_over_20", {
                name: [h / lo for h, lo in zip(self.res["scaling"][f"per_round_{hi}_ms"][name],
                                               self.res["scaling"]["per_round_20_ms"][name])]
                for name in self.names()})
            self.show("scaling", f"per_round_{hi}_over_20", f"per round, rounds {hi // 2 + 1}–{hi} / rounds 11–20",
                      "x", 2,
                      extra="budget <= 1.5x")
        self.put("scaling", "wall_top_ms", {name: [r["wall"] * 1000 for r in got[(name, top)]]
                                            for name in self.names()})
        self.put("scaling", "rss_top_mib", {name: [r["rss"] for r in got[(name, top)]] for name in self.names()})
        self.show("scaling", "wall_top_ms", f"wall of the {top}-round run", " ms", 0)
        self.show("scaling", "rss_top_mib", f"peak RSS of the {top}-round run", " MiB", 1)

    def instructions(self):
        proj = os.path.join(self.d, "one")
        sizes = [n for n in (10, 20, 50, 100, 200, 400, 800) if n <= self.a.max_rounds]
        self.section("instructions per tool round (callgrind)", f"one run of {', '.join(map(str, sizes))} rounds")
        counts = {}
        for name, b in self.bins_named():
            counts[name] = {}
            for n in sizes:
                self.mock.configure(rounds=n)
                with tempfile.TemporaryDirectory() as t:
                    out = os.path.join(t, "cg.out")
                    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, b, "run", proj,
                                    "go"], cwd=proj, env=self.r.env, check=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                    with open(out) as f:
                        counts[name][n] = int(re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M).group(1))
        c = counts
        windows = [n for n in sizes if n // 2 in sizes]
        for n in windows:
            self.put("instructions", f"per_round_{n}", {nm: [(c[nm][n] - c[nm][n // 2]) / (n // 2)] for nm in c})
            self.show("instructions", f"per_round_{n}", f"per round, rounds {n // 2 + 1}–{n}", "M", 2, 1e-6)
        if 100 in sizes and 400 in sizes:
            self.put("instructions", "total400_over_total100", {nm: [c[nm][400] / c[nm][100]] for nm in c})
            self.show("instructions", "total400_over_total100", "total(400) / total(100)", "x", 2,
                      extra="linear 4x; budget <= 5x")
        if 20 in windows and windows[-1] > 100:
            hi = windows[-1]
            r = self.res["instructions"]
            self.put("instructions", f"per_round_{hi}_over_20", {nm: [r[f"per_round_{hi}"][nm][0] /
                                                                      r["per_round_20"][nm][0]] for nm in c})
            self.show("instructions", f"per_round_{hi}_over_20",
                      f"per round, rounds {hi // 2 + 1}–{hi} / rounds 11–20", "x", 2,
                      extra="budget <= 1.5x")
        self.res["instructions"]["totals"] = counts

    def chat(self):
        proj = os.path.join(self.d, "one")
        turns, runs = self.a.chat_turns, self.a.chat_runs
        self.section(f"chat, {turns} turns", f"llmdo run --chat on a pty, {runs} interleaved sessions")
        self.mock.configure(rounds=0, text="ok")
        early = list(range(5, min(15, turns)))  # turns 6..15 (0-based index of the turn)
        late = list(range(max(0, turns - 10), turns))

        def one(b):
            samples = []
            state = {"buf": b"", "turn": 0}

            def interact(data, write, pid):
                state["buf"] = (state["buf"] + data)[-64:]
                if b"you> " not in state["buf"]:
                    return
                state["buf"] = b""
                samples.append(task_cpu_ns(pid))
                if state["turn"] < turns:
                    state["turn"] += 1
                    write(b"hello, this is turn %d\r" % state["turn"])
                else:
                    write(b"\x04")
            r = self.r.run([b, "run", proj, "--chat"], proj, tty=True, interact=interact)
            if len(samples) != turns + 1:
                sys.exit(f"chat: saw {len(samples) - 1} of {turns} turns")
            r["per_turn"] = [(samples[i + 1] - samples[i]) / 1e6 for i in range(turns)]
            return r
        got = interleave(runs, [(n, lambda b=b: one(b)) for n, b in self.bins_named()])
        self.put("chat", "turn_10_ms", {n: [r["per_turn"][i] for r in v for i in early] for n, v in got.items()})
        self.put("chat", "turn_last_ms", {n: [r["per_turn"][i] for r in v for i in late] for n, v in got.items()})
        self.put("chat", "last_over_10", {n: [statistics.median([r["per_turn"][i] for i in late]) /
                                              statistics.median([r["per_turn"][i] for i in early]) for r in v]
                                          for n, v in got.items()})
        self.put("chat", "cpu_s", {n: [r["cpu"] for r in v] for n, v in got.items()})
        self.put("chat", "wall_s", {n: [r["wall"] for r in v] for n, v in got.items()})
        self.put("chat", "rss_mib", {n: [r["rss"] for r in v] for n, v in got.items()})
        self.show("chat", "turn_10_ms", f"CPU per turn, turns {early[0] + 1}–{early[-1] + 1} (all runs' turns)",
                  " ms", 3)
        self.show("chat", "turn_last_ms", f"CPU per turn, turns {late[0] + 1}–{late[-1] + 1}", " ms", 3)
        self.show("chat", "last_over_10", "ratio (per run, of medians)", "x", 2)
        self.show("chat", "cpu_s", "CPU of the whole session", " s", 2)
        self.show("chat", "wall_s", "wall of the whole session", " s", 2)
        self.show("chat", "rss_mib", "peak RSS", " MiB", 1)

    def calls10k(self):
        fan = os.path.join(self.d, "fan")
        n, runs = self.a.calls, self.a.calls_runs
        limits = [x for x in (100, 1000) if x < n] + [n]
        self.section(f"{n} worker calls, 20 ms latency", f"rt:map with at most {', '.join(map(str, limits))} in "
                     f"flight, {runs} interleaved runs of each")
        self.mock.configure(rounds=0, delay_ms=20)
        contenders = [((name, lim), lambda b=b, lim=lim: self.r.run([b, "run", fan, f"{n} parallel {lim}"], fan))
                      for name, b in self.bins_named() for lim in limits]
        got = interleave(runs, contenders)
        for lim in limits:
            key = f"{lim}"
            self.put("calls10k", f"wall_s_{key}", {nm: [r["wall"] for r in got[(nm, lim)]] for nm in self.names()})
            self.put("calls10k", f"cpu_per_call_us_{key}", {nm: [r["cpu"] / n * 1e6 for r in got[(nm, lim)]]
                                                            for nm in self.names()})
            self.put("calls10k", f"rss_mib_{key}", {nm: [r["rss"] for r in got[(nm, lim)]] for nm in self.names()})
            self.put("calls10k", f"exit_ms_{key}", {nm: [r["marker_s"] * 1000 for r in got[(nm, lim)]]
                                                    for nm in self.names()})
            self.put("calls10k", f"exit_cpu_ms_{key}", {nm: [(r["cpu"] - r["marker_cpu"]) * 1000
                                                             for r in got[(nm, lim)]] for nm in self.names()})
            self.put("calls10k", f"mock_cpu_s_{key}", {nm: [r["mock_cpu"] for r in got[(nm, lim)]]
                                                       for nm in self.names()})
            self.subsection(f"{lim} in flight")
            self.show("calls10k", f"wall_s_{key}", "wall", " s", 2)
            self.show("calls10k", f"cpu_per_call_us_{key}", "CPU per call", " µs", 0)
            self.show("calls10k", f"rss_mib_{key}", "peak RSS", " MiB", 1)
            self.show("calls10k", f"exit_ms_{key}", "entry's return to exit", " ms", 1)
            self.show("calls10k", f"exit_cpu_ms_{key}", "CPU after the entry's return", " ms", 1)
            self.show("calls10k", f"mock_cpu_s_{key}", "the mock's CPU during these runs", " s", 2)

    STREAM_MODES = (("pty", "streamed to a pty"), ("v", "streamed, -v"), ("plain", "plain"))

    def stream(self):
        runs = self.a.size_runs
        size = self.a.stream_mib * 1024 * 1024
        self.section(f"a {self.a.stream_mib} MiB answer", f"{runs} interleaved runs; streamed as 16-byte deltas to a "
                     "pty "
                     "(shown as it arrives) or with -v and stdout a pipe (not shown until the end), or plain JSON")
        self.mock.configure(rounds=0, text=big_text(size), delta_bytes=16)
        contenders = []
        for name, b in self.bins_named():
            for api in ("anthropic", "openai"):
                proj = os.path.join(self.d, "one" if api == "anthropic" else "one-openai")
                for mode, _ in self.STREAM_MODES:
                    cmd = [b, "run", proj, "go"] + (["-v"] if mode == "v" else [])
                    contenders.append(((name, api, mode),
                                       lambda c=cmd, p=proj, t=mode == "pty": self.r.run(c, p, tty=t)))
        got = interleave(runs, contenders)
        for (name, api, mode), v in got.items():
            short = [r for r in v if r["out"] < size]
            if short:
                sys.exit(f"stream: {name} {api} {mode} printed {short[0]['out']} bytes, not {size}")
        for api in ("anthropic", "openai"):
            for mode, how in self.STREAM_MODES:
                key = f"{api}_{mode}"
                g = {n: got[(n, api, mode)] for n in self.names()}
                self.put("stream", f"cpu_ms_{key}", {n: [r["cpu"] * 1000 for r in v] for n, v in g.items()})
                self.put("stream", f"sys_ms_{key}", {n: [r["sys"] * 1000 for r in v] for n, v in g.items()})
                self.put("stream", f"wall_ms_{key}", {n: [r["wall"] * 1000 for r in v] for n, v in g.items()})
                self.put("stream", f"rss_mib_{key}", {n: [r["rss"] for r in v] for n, v in g.items()})
                self.put("stream", f"mock_cpu_ms_{key}", {n: [r["mock_cpu"] * 1000 for r in v] for n, v in g.items()})
                self.subsection(f"{api}, {how}")
                self.show("stream", f"cpu_ms_{key}", "CPU (user+sys)", " ms", 0)
                self.show("stream", f"sys_ms_{key}", "of which sys", " ms", 0)
                self.show("stream", f"wall_ms_{key}", "wall", " ms", 0)
                self.show("stream", f"rss_mib_{key}", "peak RSS", " MiB", 1)
                self.show("stream", f"mock_cpu_ms_{key}", "the mock's CPU during these runs", " ms", 0)

    def bigtool(self):
        runs = self.a.size_runs
        proj = os.path.join(self.d, "big")
        self.section("a 10 MiB tool result", f"sent back to the model, {runs} interleaved runs")
        self.mock.configure(rounds=1, tool="big")
        got = interleave(runs, [(n, lambda b=b: self.r.run([b, "run", proj, "go"], proj))
                                for n, b in self.bins_named()])
        self.put("bigtool", "cpu_ms", {n: [r["cpu"] * 1000 for r in v] for n, v in got.items()})
        self.put("bigtool", "wall_ms", {n: [r["wall"] * 1000 for r in v] for n, v in got.items()})
        self.put("bigtool", "rss_mib", {n: [r["rss"] for r in v] for n, v in got.items()})
        self.show("bigtool", "cpu_ms", "CPU", " ms", 0)
        self.show("bigtool", "wall_ms", "wall", " ms", 0)
        self.show("bigtool", "rss_mib", "peak RSS", " MiB", 1)


def write_projects(d):
    def put(sub, files):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
        for name, text in files.items():
            with open(os.path.join(d, sub, name), "w") as f:
                f.write(text)
    put("one", {"project.lua": PROJECT, "main.worker": MAIN, "leaf.worker": LEAF, "tools.lua": TOOLS})
    put("one-openai", {"project.lua": PROJECT, "main.worker": MAIN.replace("anthropic:", "openai:"),
                       "leaf.worker": LEAF.replace("anthropic:", "openai:"), "tools.lua": TOOLS})
    put("fan", {"project.lua": PROJECT.replace('"main.worker", ', "").replace('{ "tools.lua" }',
                                                                               '{ "tools.lua", "fan.lua" }'),
                "leaf.worker": LEAF, "tools.lua": TOOLS, "fan.lua": FAN})
    put("big", {"project.lua": PROJECT.replace('"tools.lua"', '"big.lua"'),
                "main.worker": MAIN.replace("[noop]", "[big]").replace("noop", "big"), "leaf.worker": LEAF,
                "big.lua": BIG})


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), {model}, Linux {platform.release()}"


QUICK = {"runs": 5, "max_rounds": 400, "scaling_runs": 3, "chat_turns": 200, "chat_runs": 1, "calls": 2000,
         "calls_runs": 1, "stream_mib": 2, "size_runs": 3}


def parse_args(argv):
    ap = argparse.ArgumentParser(
        usage="python3 bench/bench.py [options] [LLMDO [LLMDO_B]]",
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="--quick sets: " + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in QUICK.items())
        + " (options given explicitly win).")

    def positive(text):
        v = int(text)
        if v < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
        return v
    ap.add_argument("binaries", nargs="*", metavar="LLMDO",
                    help="llmdo binaries; two are compared run by run (default: build/llmdo)")
    ap.add_argument("--quick", action="store_true", help="a fast mode, under 2 minutes on an idle 2-core machine")
    ap.add_argument("--only", default=",".join(CASES), metavar="CASES",
                    help="comma-separated cases to run (default: all)")
    ap.add_argument("--instructions", action="store_true",
                    help="also count instructions per tool round under valgrind's callgrind, one run of each size "
                         "(slow: about 8 minutes at 800 rounds)")
    ap.add_argument("--runs", type=positive, default=20, help="runs of cold and round (default: %(default)s); "
                    "fanout makes runs/4, at least 3")
    ap.add_argument("--max-rounds", type=positive, default=800,
                    help="the longest scaling run, in tool rounds (default: %(default)s)")
    ap.add_argument("--scaling-runs", type=positive, default=5,
                    help="runs of each scaling size (default: %(default)s)")
    ap.add_argument("--chat-turns", type=positive, default=1000, help="turns of a chat session (default: %(default)s)")
    ap.add_argument("--chat-runs", type=positive, default=3, help="chat sessions per binary (default: %(default)s)")
    ap.add_argument("--calls", type=positive, default=10000, help="worker calls in calls10k (default: %(default)s)")
    ap.add_argument("--calls-runs", type=positive, default=3,
                    help="runs of each calls10k limit (default: %(default)s)")
    ap.add_argument("--stream-mib", type=positive, default=5,
                    help="size of the answer in stream, in MiB (default: %(default)s)")
    ap.add_argument("--size-runs", type=positive, default=5,
                    help="runs of each stream variant and of bigtool (default: %(default)s)")
    ap.add_argument("--json", metavar="FILE", help="also write every measured value to FILE")
    if "--quick" in argv:
        ap.set_defaults(**QUICK)
    a = ap.parse_args(argv)
    a.only = [c.strip() for c in a.only.split(",") if c.strip()]
    for c in a.only:
        if c not in CASES:
            ap.error(f"--only: unknown case '{c}' (cases: {', '.join(CASES)})")
    if len(a.binaries) > 2:
        ap.error("give at most two llmdo binaries")
    if a.chat_turns < 20:
        ap.error("--chat-turns must be at least 20")
    if a.max_rounds < 20:
        ap.error("--max-rounds must be at least 20")
    return a


def main():
    a = parse_args(sys.argv[1:])
    bins = [os.path.abspath(b) for b in a.binaries] or [os.path.join(ROOT, "build", "llmdo")]
    for b in bins:
        if not os.access(b, os.X_OK):
            sys.exit(f"not an executable: {b}")
    helper = build_helper(os.path.dirname(bins[0]))
    mock = FastMock()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMDO_")}
    env.update(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=mock.url, OPENAI_API_KEY=KEY,
               OPENAI_BASE_URL=mock.url + "/v1", TERM="xterm")
    load = Load()
    started = time.monotonic()
    print(f"{datetime.date.today()}  {machine()}")
    for i, b in enumerate(bins):
        print(f"binary{' ' + 'AB'[i] if len(bins) > 1 else ''}: {b}")
    with tempfile.TemporaryDirectory(prefix="llmdo-bench-") as d:
        write_projects(d)
        bench = Bench(a, bins, mock, Runner(helper, env, mock), d)
        if "cold" in a.only or "round" in a.only:
            bench.cold_and_round("round" in a.only)
        for case in ("fanout", "calls1000", "scaling", "chat", "calls10k", "stream", "bigtool"):
            if case in a.only:
                getattr(bench, case)()
        if a.instructions:
            bench.instructions()
    mock.close()
    loadtext = load.text()
    print(f"load average (1 min): {loadtext}; {time.monotonic() - started:.0f} s in all")
    print()
    print(f"{datetime.date.today()}, {machine()}, load average (1 min) {loadtext}:")
    print()
    print(bench.markdown())
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"date": str(datetime.date.today()), "machine": machine(), "binaries": bins,
                       "load": load.samples, "results": bench.res}, f, indent=1)


if __name__ == "__main__":
    main()
