"""Concurrency, cancellation and budgets (issue: one thread, every wait overlapped)."""
import os, signal, subprocess, sys, tempfile, time
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
M.child_ts = llmdo.toolset { factory = function()
  return { tools = { stall = { approval = "pre_approved", fn = function() llmdo.sleep(3000); return "late" end } },
           cleanup = function() cleanups = cleanups + 1; io.stderr:write("child cleanup ", cleanups, "\n") end }
end }
M.stall_model = llmdo.model(function(req)
  if req.messages[#req.messages].role == "user" then return { tool_calls = { { name = "stall", args = {} } } } end
  return { text = "done" }
end)
M.main = llmdo.entry { main = function(input, rt)
  local mode = input[1]
  if mode == "order" then
    local a, b, c = rt:parallel(
      function() llmdo.sleep(150); return "first" end,
      function() llmdo.sleep(50); return "second" end,
      function() llmdo.sleep(100); return "third" end)
    return a .. "," .. b .. "," .. c
  elseif mode == "fail" then
    return rt:parallel(
      function() return rt:call_agent("staller", "go") end,
      function() llmdo.sleep(100); error("branch two failed") end)
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
      fn = function() llmdo.sleep(10000); return "woke" end } },
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
  return { tools = { nap = { approval = "pre_approved", fn = function() llmdo.sleep(10000) end } },
           cleanup = function() io.stderr:write("slow cleanup starts\n"); llmdo.sleep(10000) end }
end }
return M
"""

def check_interrupt(binary, files, args, want_stderr_parts, signals=1, env=None, gap=0.3, wait=0.3):
    with tempfile.TemporaryDirectory(prefix="llmdo-int-") as root:
        for path, content in files.items():
            with open(os.path.join(root, path), "w") as f:
                f.write(content)
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.Popen([binary] + args, cwd=root, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        time.sleep(wait)
        t0 = time.monotonic()
        for i in range(signals):
            if i:
                time.sleep(gap)
            p.send_signal(signal.SIGINT)
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            return ["did not exit after Ctrl-C"]
        elapsed = time.monotonic() - t0
        err = err.decode()
        problems = []
        if p.returncode != 130:
            problems.append(f"exit status {p.returncode}, want 130; stderr {err!r}")
        for part in want_stderr_parts:
            if err.count(part) != 1:
                problems.append(f"want {part!r} exactly once in stderr: {err!r}")
        if elapsed > 2.0 + gap * signals:
            problems.append(f"took {elapsed:.2f} s to stop")
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
         stdout="a | b | start a, start b, end b, end a\n", max_time=0.55),
    Case("sequential tools run alone, after the others", proj(),
         ["run", ".", 'alone:{"ms":50,"tag":"s1"}&wait:{"ms":100,"tag":"c"}&alone:{"ms":10,"tag":"s2"};log:{};say'],
         stdout="s1 | c | s2 | start c, end c, start s1, end s1, start s2, end s2\n"),
    Case("rt:parallel returns results in order, overlapping the waits", ENTRY_PROJECT, ["run", ".", "order"],
         stdout="first,second,third\n", max_time=0.4),
    Case("rt:parallel: a failure cancels the others, whose cleanups run; the first error propagates",
         ENTRY_PROJECT, ["run", ".", "fail"], exit=1, max_time=1.5,
         stderr_re=r"^child cleanup 1\nError: e\.lua:\d+: branch two failed\n$"),
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
                   ["run", ".", "go"], ["cleanup call\n", "cleanup run\n", "cleanup global\n", "Aborted by user\n"]),
    interrupt_case("Ctrl-C during an HTTP request",
                   {"project.lua": project(workers=("main.worker",), lua=()),
                    "main.worker": worker(model="anthropic:claude-test")},
                   ["run", ".", "go"], ["Aborted by user\n"],
                   env=dict(SECRETS, ANTHROPIC_BASE_URL=mock_provider().url)),
    interrupt_case("a second Ctrl-C leaves at once",
                   {"project.lua": project(workers=("main.worker",), lua=("s.lua",)),
                    "main.worker": worker(model="lua:all", extra="toolsets: [slow_cleanup]"), "s.lua": SCOPED},
                   ["run", ".", "go"], ["slow cleanup starts\n", "Aborted by user\n"], signals=2),
]

# the HTTP case needs a mock that answers slowly
mock_provider().reset([], {"text": "too late", "delay_ms": 5000})
main(CASES)
