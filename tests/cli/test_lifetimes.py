"""Lifetimes and boundaries: cleanups of every scope finish after Ctrl-C,
even when they wait, and a project's Lua sees only the documented `llmdo`
module, never llmdo's internals."""
import signal

from harness import Case, Custom, main, project, signalled, worker

SCOPED = r"""
local llmdo = require "llmdo"
local M = {}
for _, scope in ipairs { "call", "run", "global" } do
  M[scope] = llmdo.toolset { scope = scope, factory = function()
    return { tools = { [scope .. "_sleep"] = { approval = "pre_approved",
      fn = function() io.stderr:write("started\n"); llmdo.sleep(20000); return "woke" end } },
      -- a cleanup that waits (closing a connection, say) must still finish
      cleanup = function() llmdo.sleep(30); io.stderr:write("cleanup ", scope, " done\n") end }
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
return M
"""


def interrupted_cleanups(binary):
    files = {"project.lua": project(workers=("main.worker",), lua=("s.lua",)),
             "main.worker": worker(model="lua:all", extra="toolsets: [call, run, global]"), "s.lua": SCOPED}
    # wait until all three tools run (ordering, not a clock)
    status, err = signalled(binary, files, ["run", ".", "go"], b"started\n", signal.SIGINT, count=3)
    if status is None:
        return ["still running 20 s after Ctrl-C"]
    problems = []
    if status != 130:
        problems.append(f"exit status {status}, want 130; stderr {err!r}")
    for scope in ("call", "run", "global"):
        if err.count(f"cleanup {scope} done\n") != 1:
            problems.append(f"want 'cleanup {scope} done' once: {err!r}")
    if "warning" in err:
        problems.append(f"a cleanup failed: {err!r}")
    return problems


PEEK = r"""
local ok, err = pcall(require, "%s")
local llmdo = require "llmdo"
return { main = llmdo.entry { main = function()
  return tostring(ok) .. " " .. tostring(package.loaded["%s"]) .. " " .. tostring(package.preload["%s"]) .. " | " .. tostring(err)
end } }
"""

def peek(module):
    return Case(f"a project cannot require {module}",
                {"project.lua": project(workers=(), lua=("e.lua",)), "e.lua": PEEK % (module, module, module)},
                ["run", ".", "x"],
                stdout=f"false nil nil | module '{module}' is internal to llmdo; project code uses require \"llmdo\" "
                       "(see docs/lua-api.md)\n")


CASES = [
    Custom("Ctrl-C: cleanups of every scope finish, even when they wait", interrupted_cleanups),
    peek("llmdo.core.frame"),
    peek("llmdo.core.tool"),
    peek("llmdo.agent"),
    peek("llmdo.runtime"),
    Case("a direct require of an internal module names the file and line",
         {"project.lua": project(workers=(), lua=("e.lua",)), "e.lua": 'local c = require "llmdo.core.json"\n'},
         ["check", "."], exit=2,
         stderr="Error: e.lua:1: module 'llmdo.core.json' is internal to llmdo; project code uses require \"llmdo\" "
                "(see docs/lua-api.md)\n"),
    Case("the public module still loads, with its documented API",
         {"project.lua": project(workers=(), lua=("e.lua",)),
          "e.lua": 'local llmdo = require "llmdo"\nreturn { main = llmdo.entry { main = function() '
                   'return llmdo.json.encode({ a = 1 }) .. " " .. type(llmdo.sleep) end } }\n'},
         ["run", ".", "x"], stdout='{"a":1} function\n'),
]

main(CASES)
