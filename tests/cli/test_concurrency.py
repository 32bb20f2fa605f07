"""Concurrency, cancellation and budgets (issue: one thread, every wait overlapped).

No case measures wall-clock time (the machine may be busy): overlap shows in
the order of events (every wait started before the first one ended), and
cancellation in what never happens (a wait that never wakes up)."""
import os, signal, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, project, worker, main, SECRETS, mock_provider

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = open(os.path.join(HERE, "lua", "script_model.lua")).read()

TOOLS = r"""
local llmdo = require "llmdo"
local M = {}
local log = {}
local function note(s) log[#log + 1] = s end
M.slow = llmdo.toolset { factory = function()
  return { tools = {
    wait = { params = { ms = "integer", tag = "string" }, approval = "pre_approved",
             fn = function(a) note("start " .. a.tag); llmdo.sleep(a.ms); note("end " .. a.tag); return a.tag end },
    alone = { params = { ms = "integer", tag = "string" }, approval = "pre_approved", sequential = true,
              fn = function(a) note("start " .. a.tag); llmdo.sleep(a.ms); note("end " .. a.tag); return a.tag end },
    log = { approval = "pre_approved", fn = function() return table.concat(log, ", ") end },
  } }
end }
return M
"""

FOREVER = r"""
local llmdo = require "llmdo"
return {
  noop = llmdo.toolset { tools = { noop = { approval = "pre_approved", fn = function() return "" end } } },
  forever = llmdo.model(function() return { tool_calls = { { name = "noop", args = {} } } } end),
}
"""

def proj(extra="toolsets: [slow]", rest=""):
    return {"project.lua": project(workers=("main.worker",), lua=("script_model.lua", "t.lua"), rest=rest),
            "main.worker": worker(model="lua:script", extra=extra), "script_model.lua": SCRIPT, "t.lua": TOOLS}

ENTRY = r"""
local llmdo = require "llmdo"
local M = {}
local cleanups = 0
local stalling = false
M.child_ts = llmdo.toolset { factory = function()
  return { tools = { stall = { approval = "pre_approved", fn = function()
             stalling = true
             llmdo.sleep(3000)
             io.stderr:write("the stall was not cancelled\n")
             return "late"
           end } },
           cleanup = function() cleanups = cleanups + 1; io.stderr:write("child cleanup ", cleanups, "\n") end }
end }
M.stall_model = llmdo.model(function(req)
  if req.messages[#req.messages].role == "user" then return { tool_calls = { { name = "stall", args = {} } } } end
  return { text = "done" }
end)
M.main = llmdo.entry { main = function(input, rt)
  local mode = input[1]
  if mode == "order" then
    local started, at_first_end = 0, nil
    local function branch(ms, result)
      return function()
        started = started + 1
        llmdo.sleep(ms)
        at_first_end = at_first_end or started
        return result
      end
    end
    local a, b, c = rt:parallel(branch(150, "first"), branch(50, "second"), branch(100, "third"))
    return a .. "," .. b .. "," .. c .. " (" .. at_first_end .. " started before the first ended)"
  elseif mode == "fail" then
    return rt:parallel(
      function() return rt:call_agent("staller", "go") end,
      function()
        while not stalling do llmdo.sleep(5) end -- fail once the other branch is surely waiting
        error("branch two failed")
      end)
  elseif mode == "map" then
    local running, peak = 0, 0
    local out = rt:map({ 5, 4, 3, 2, 1 }, function(x, i)
      running = running + 1
      if running > peak then peak = running end
      llmdo.sleep(20 * x)
      running = running - 1
      return x * 10 + i
    end, 2)
    return table.concat(out, ",") .. " peak=" .. peak
  elseif mode == "empty" then
    return select("#", rt:parallel()) .. " " .. #rt:map({}, print)
  end
end }
return M
"""

ENTRY_PROJECT = {"project.lua": project(workers=("staller.worker",), lua=("e.lua",)), "e.lua": ENTRY,
                 "staller.worker": worker(name="staller", model="lua:stall_model", entry=False,
                                          extra="toolsets: [child_ts]")}

SCOPED = r"""
local llmdo = require "llmdo"
local M = {}
for _, scope in ipairs { "call", "run", "global" } do
  M[scope] = llmdo.toolset { scope = scope, factory = function()
    return { tools = { [scope .. "_sleep"] = { approval = "pre_approved",
      fn = function() io.stderr:write("asleep ", scope, "\n"); llmdo.sleep(60000); return "woke" end } },
      cleanup = function() io.stderr:write("cleanup ", scope, "\n") end }
  end }
end
M.all = llmdo.model(function(req)
  if req.messages[#req.messages].role == "user" then
    local calls = {}
    for i, t in ipairs(req.tools) do calls[i] = { name = t.name, args = {} } end
    return { tool_calls = calls }
  end
  return { text = "finished" }
end)
M.slow_cleanup = llmdo.toolset { factory = function()
  return { tools = { nap = { approval = "pre_approved",
                             fn = function() io.stderr:write("napping\n"); llmdo.sleep(60000) end } },
           cleanup = function()
             io.stderr:write("slow cleanup starts\n")
             llmdo.sleep(60000)
             io.stderr:write("slow cleanup ends\n")
           end }
end }
return M
"""

# The interrupted runs wait for 60 s unless cancelled; a run that has not
# stopped GUARD seconds after its Ctrl-C was not cancelled (or hangs).
GUARD = 30


class Stderr:
    """Collects a child's stderr on a thread, so the test can wait for a line."""

    def __init__(self, pipe):
        self.text, self.cond = "", threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe):
        for chunk in iter(lambda: pipe.read1(4096), b""):
            with self.cond:
                self.text += chunk.decode(errors="replace")
                self.cond.notify_all()

    def wait_for(self, ready):
        """Waits until ready(text) holds; polled, as it may look elsewhere too."""
        deadline = time.monotonic() + GUARD
        with self.cond:
            while not ready(self.text):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.05))
        return True


def check_interrupt(binary, files, args, want_stderr_parts, steps, env=None):
    """Runs llmdo and sends one Ctrl-C per step, each once the step's
    condition holds: a list of lines on stderr, or a function of nothing."""
    with tempfile.TemporaryDirectory(prefix="llmdo-int-") as root:
        for path, content in files.items():
            with open(os.path.join(root, path), "w") as f:
                f.write(content)
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.Popen([binary] + args, cwd=root, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        err = Stderr(p.stderr)
        problems = []
        for step in steps:
            if callable(step):
                ready = lambda text: step()
            else:
                ready = lambda text: all(line in text for line in step)
            if not err.wait_for(ready):
                problems.append(f"not ready for Ctrl-C after {GUARD} s: stderr {err.text!r}")
                break
            p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=GUARD)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return problems + [f"did not stop within {GUARD} s of Ctrl-C: stderr {err.text!r}"]
        err.thread.join(timeout=GUARD)
        if p.returncode != 130:
            problems.append(f"exit status {p.returncode}, want 130; stderr {err.text!r}")
        for part in want_stderr_parts:
            if err.text.count(part) != 1:
                problems.append(f"want {part!r} exactly once in stderr: {err.text!r}")
        return problems

def interrupt_case(name, files, args, parts, **kw):
    class C(Case):
        pass
    c = C(name, files, args)
    c.run = lambda binary: check_interrupt(binary, files, args, parts, **kw)
    return c

CASES = [
    Case("two 300 ms tools overlap, results keep call order", proj(),
         ["run", ".", 'wait:{"ms":300,"tag":"a"}&wait:{"ms":250,"tag":"b"};log:{};say'],
         stdout_re=r"^a \| b \| start a, start b, (end a, end b|end b, end a)\n$"),
    Case("sequential tools run alone, after the others", proj(),
         ["run", ".", 'alone:{"ms":50,"tag":"s1"}&wait:{"ms":100,"tag":"c"}&alone:{"ms":10,"tag":"s2"};log:{};say'],
         stdout="s1 | c | s2 | start c, end c, start s1, end s1, start s2, end s2\n"),
    Case("rt:parallel returns results in order, overlapping the waits", ENTRY_PROJECT, ["run", ".", "order"],
         stdout="first,second,third (3 started before the first ended)\n"),
    Case("rt:parallel: a failure cancels the others, whose cleanups run; the first error propagates",
         ENTRY_PROJECT, ["run", ".", "fail"], exit=1,
         stderr_re=r"^child cleanup 1\nError: parallel: function 2 of 2 failed: e\.lua:\d+: branch two failed\n$"),
    Case("rt:map bounds concurrency and keeps order", ENTRY_PROJECT, ["run", ".", "map"],
         stdout="51,42,33,24,15 peak=2\n"),
    Case("empty parallel and map", ENTRY_PROJECT, ["run", ".", "empty"], stdout="0 0\n"),
    Case("max_requests per call (runtime)", proj(rest="runtime = { max_requests = 2, approval_mode = 'approve_all' }"),
         ["run", ".", 'log:{};log:{};say'], exit=1,
         stderr=f"Error: Budget exceeded: max_requests = 2 for the call of worker 'main'\n"),
    Case("a worker file lowers max_requests", proj(extra="toolsets: [slow]\nmax_requests: 1"),
         ["run", ".", 'log:{};say'], exit=1,
         stderr=f"Error: Budget exceeded: max_requests = 1 for the call of worker 'main'\n"),
    Case("a worker cannot raise a budget", proj(extra="toolsets: [slow]\nmax_requests: 60"), ["check", "."], exit=2,
         stderr="Error: main.worker: max_requests: 60 is above runtime.max_requests (50); a worker can only lower "
                "its budgets\n"),
    Case("max_tool_calls per call", proj(extra="toolsets: [slow]\nmax_tool_calls: 2"),
         ["run", ".", 'log:{}&log:{};log:{};say'], exit=1,
         stderr="Error: Budget exceeded: max_tool_calls = 2 for the call of worker 'main'\n"),
    Case("max_total_requests per run",
         proj(rest="runtime = { max_total_requests = 1, approval_mode = 'approve_all' }"),
         ["run", ".", 'log:{};say'], exit=1, stderr="Error: Budget exceeded: max_total_requests = 1 for this run\n"),
    Case("a child never exceeds what its parent has left",
         {"project.lua": project(workers=("main.worker", "helper.worker"), lua=("script_model.lua", "f.lua")),
          "main.worker": worker(model="lua:script", extra="toolsets: [helper]\nmax_requests: 3"),
          "helper.worker": worker(name="helper", model="lua:forever", entry=False, extra="toolsets: [noop]"),
          "script_model.lua": SCRIPT, "f.lua": FOREVER},
         ["run", ".", 'helper:{"input":"go"};say'], exit=1,
         stderr="Error: Budget exceeded: max_requests = 3 for the call of worker 'main' (nested calls count "
                "towards it)\n"),
    interrupt_case("Ctrl-C: exit 130, every cleanup once",
                   {"project.lua": project(workers=("main.worker",), lua=("s.lua",)),
                    "main.worker": worker(model="lua:all", extra="toolsets: [call, run, global]"), "s.lua": SCOPED},
                   ["run", ".", "go"], ["cleanup call\n", "cleanup run\n", "cleanup global\n", "Aborted by user\n"],
                   steps=[["asleep call\n", "asleep run\n", "asleep global\n"]]),
    interrupt_case("Ctrl-C during an HTTP request",
                   {"project.lua": project(workers=("main.worker",), lua=()),
                    "main.worker": worker(model="anthropic:claude-test")},
                   ["run", ".", "go"], ["Aborted by user\n"], steps=[lambda: len(mock_provider().requests) > 0],
                   env=dict(SECRETS, ANTHROPIC_BASE_URL=mock_provider().url)),
    interrupt_case("a second Ctrl-C leaves at once",
                   {"project.lua": project(workers=("main.worker",), lua=("s.lua",)),
                    "main.worker": worker(model="lua:all", extra="toolsets: [slow_cleanup]"), "s.lua": SCOPED},
                   ["run", ".", "go"], ["slow cleanup starts\n", "Aborted by user\n"],
                   steps=[["napping\n"], ["slow cleanup starts\n"]]),
]

# the HTTP case needs a mock that answers too late for it
mock_provider().reset([], {"text": "too late", "delay_ms": 60000})
main(CASES)
