"""Busy Lua can be stopped: Ctrl-C (and SIGTERM) stop a tool, a scripted model
or an entry stuck in `while true do end`, and the cleanups still run; a tool's
`timeout` stops it whether it waits or computes, and the model is told."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, Custom, main, project, signalled, worker

SPIN = r"""
local llmdo = require "llmdo"
local M = {}
local function spin()
  io.stderr:write("spinning\n")
  local n = 0
  while true do n = n + 1; pcall(function() error("swallowed") end) end
end
M.tools = llmdo.toolset { factory = function()
  return { tools = {
    spin = { approval = "pre_approved", fn = spin },
    spin_limited = { approval = "pre_approved", timeout = 0.2, fn = spin },
    nap_limited = { approval = "pre_approved", timeout = 0.2, fn = function() llmdo.sleep(30000) end },
    quick = { approval = "pre_approved", timeout = 30, params = { x = "integer" },
              fn = function(a) return "quick " .. a.x end },
  }, cleanup = function() io.stderr:write("cleanup ran\n") end }
end }
M.calls_spin = llmdo.model(function(req)
  if #req.messages == 1 then return { tool_calls = { { name = "spin", args = {} } } } end
  return { text = "never" }
end)
M.spins = llmdo.model(function() spin() end)
M.limited = llmdo.model(function(req)
  if #req.messages == 1 then
    return { tool_calls = { { name = "spin_limited", args = {} }, { name = "nap_limited", args = {} },
                            { name = "quick", args = { x = 1 } } } }
  end
  local out = {}
  for _, p in ipairs(req.messages[#req.messages].parts) do out[#out + 1] = p.content:match("^[^\n]*") end
  return { text = table.concat(out, " | ") }
end)
-- a retry loop that catches every error around a wait
M.retrying = llmdo.model(function()
  io.stderr:write("spinning\n")
  while true do pcall(llmdo.sleep, 10) end
end)
M.spin = spin
return M
"""


ENTRY = 'local llmdo = require "llmdo"\nlocal s = require "s"\nreturn { main = llmdo.entry { main = s.spin } }\n'


def files(model=None, entry=False):
    if entry:
        return {"project.lua": project(workers=(), lua=("e.lua",)), "s.lua": SPIN, "e.lua": ENTRY}
    return {"project.lua": project(workers=("main.worker",), lua=("s.lua",)),
            "main.worker": worker(model=model, extra="toolsets: [tools]"), "s.lua": SPIN}


def stopped(files, signum, want_status, want_cleanup=True):
    def run(binary):
        # the marker means it is busy now: the loop cannot run
        status, err = signalled(binary, files, ["run", ".", "go"], b"spinning\n", signum)
        if status is None:
            return ["still running 20 s after the signal"]
        problems = []
        if status != want_status:
            problems.append(f"exit {status}, want {want_status}: {err!r}")
        if want_cleanup and err.count("cleanup ran\n") != 1:
            problems.append(f"want the cleanup once: {err!r}")
        return problems
    return run


CASES = [
    Custom("Ctrl-C stops a tool in a busy loop; the cleanup runs",
           stopped(files("lua:calls_spin"), signal.SIGINT, 130)),
    Custom("SIGTERM stops a tool in a busy loop", stopped(files("lua:calls_spin"), signal.SIGTERM, 143)),
    Custom("Ctrl-C stops a scripted model in a busy loop", stopped(files("lua:spins"), signal.SIGINT, 130)),
    Custom("Ctrl-C stops an entry in a busy loop", stopped(files(entry=True), signal.SIGINT, 130, want_cleanup=False)),
    Custom("Ctrl-C stops a retry loop that catches every error around a wait",
           stopped(files("lua:retrying"), signal.SIGINT, 130)),
    Case("a tool's timeout stops it computing or waiting; the model is told, other calls go on",
         files("lua:limited"), ["run", ".", "go"],
         stdout="Tool 'spin_limited' timed out after 0.2 s | Tool 'nap_limited' timed out after 0.2 s | quick 1\n",
         stderr="spinning\ncleanup ran\n"),
    Case("a tool's timeout is checked", {"project.lua": project(workers=(), lua=("t.lua",)),
         "t.lua": 'local llmdo = require "llmdo"\nreturn { t = llmdo.toolset { tools = { a = { timeout = 0, '
                  'fn = function() end } } } }\n'},
         ["check", "."], exit=2, stderr_re=r"^Error: t\.lua:2: llmdo\.toolset: tools\.a\.timeout: expected a number "),
]

main(CASES)
