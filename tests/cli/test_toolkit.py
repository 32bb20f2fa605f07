"""The toolset author's kit, the parts of the loop: `llmdo tool` calls one
tool through the tool plane with no model; `llmdo check --tools` prints each
worker's tool schemas; a tool's ctx reads and writes files beneath the
project root."""
from harness import Case, main, project, worker

TOOLS = r"""
local llmdo = require "llmdo"
local M = {}
M.kit = llmdo.toolset { factory = function()
  return { tools = {
    add = { approval = "pre_approved", description = "Adds two numbers.", params = { a = "number", b = "number" },
            fn = function(a) return { sum = a.a + a.b } end },
    files = { approval = "pre_approved", params = { path = "string" }, fn = function(a, ctx)
      ctx:write_file(a.path, "hello")
      return ctx:read_file(a.path) .. " " .. table.concat(ctx:list_files("out"), ",")
    end },
    gated = { description = "Needs approval.", fn = function() return "ran" end },
    flaky = { approval = "pre_approved", fn = function() llmdo.retry("try again with more care") end },
  }, cleanup = function() io.stderr:write("cleanup ran\n") end }
end }
M.entry_fn = llmdo.entry { main = function() return "entry" end }
return M
"""


def proj(runtime="approval_mode = 'approve_all'", lua_entry=False):
    files = {"project.lua": project(workers=("main.worker", "helper.worker"), lua=("t.lua",),
                                    rest=f"runtime = {{ {runtime} }}"),
             "main.worker": worker(model="test", extra="toolsets: [kit]", entry=not lua_entry),
             "helper.worker": worker(name="helper", model="test", entry=False), "t.lua": TOOLS}
    if not lua_entry:
        files["t.lua"] = TOOLS.replace('M.entry_fn = llmdo.entry { main = function() return "entry" end }\n', "")
    return files


CASES = [
    Case("llmdo tool: a call through the plane prints what the model would see; the cleanup runs",
         proj(), ["tool", ".", "add", "--args", '{"a": 2, "b": 3}'], stdout='{"sum":5}\n', stderr="cleanup ran\n"),
    Case("llmdo tool: arguments that do not fit the schema are a usage error",
         proj(), ["tool", ".", "add", "--args", '{"a": "two"}'], exit=2,
         stderr_re=r"^cleanup ran\nError: Invalid arguments for tool 'add': .*\n$"),
    Case("llmdo tool: a worker without a model needs none (no model is called)",
         {**proj(), "main.worker": worker(model=None, extra="toolsets: [kit]")},
         ["tool", ".", "add", "--args", '{"a": 2, "b": 3}'], stdout='{"sum":5}\n', stderr="cleanup ran\n"),
    Case("llmdo tool: a model that is given is still checked",
         {**proj(), "main.worker": worker(model=None, extra="toolsets: [kit]\ncompatible_models: ['anthropic:*']")},
         ["tool", ".", "add", "--model", "openai:gpt-4o", "--args", '{"a": 2, "b": 3}'], exit=2,
         stderr_has=["Model 'openai:gpt-4o' incompatible with 'main'"]),
    Case("llmdo tool: an unknown tool names the available ones", proj(), ["tool", ".", "sub"], exit=2,
         stderr="cleanup ran\nError: Unknown tool name: 'sub'. Available tools: 'add', 'files', 'flaky', 'gated'\n"),
    Case("llmdo tool: --args must be a JSON object", proj(), ["tool", ".", "add", "--args", "[1]"], exit=2,
         stderr="Error: --args must be a JSON object\n"),
    Case("llmdo tool: a gated tool under --reject-all is denied", proj(runtime="approval_mode = 'prompt'"),
         ["tool", ".", "gated", "--reject-all"], exit=1,
         stderr="cleanup ran\nError: Approval denied for gated: --reject-all\n"),
    Case("llmdo tool: a retry prompt is an error (exit 1)", proj(), ["tool", ".", "flaky"], exit=1,
         stderr="cleanup ran\nError: try again with more care\n"),
    Case("llmdo tool: a worker with no such tool", proj(), ["tool", ".", "add", "--worker", "helper"], exit=2,
         stderr="Error: Unknown tool name: 'add'. No tools available.\n"),
    Case("llmdo tool: --worker must name a worker", proj(), ["tool", ".", "add", "--worker", "nobody"], exit=2,
         stderr="Error: --worker: no worker 'nobody'. Workers: ['helper', 'main']\n"),
    Case("llmdo tool: a Lua entry needs --worker", proj(lua_entry=True), ["tool", ".", "add"], exit=2,
         stderr="Error: --worker NAME is needed: the entry 'entry_fn' is not a worker\n"),
    Case("ctx:write_file, read_file and list_files, beneath the project root",
         proj(), ["tool", ".", "files", "--args", '{"path": "out/a.txt"}'], stdout="hello a.txt\n"),
    Case("ctx file helpers refuse an escape", proj(), ["tool", ".", "files", "--args", '{"path": "../x.txt"}'],
         exit=1, stderr_has=["Path escapes the project root: ../x.txt"]),
    Case("llmdo check --tools prints every tool's schema, by worker", proj(), ["check", ".", "--tools"],
         stdout_re=r'^\{\n  "helper": \[\],\n  "main": \[\n    \{\n      "description": "Adds two numbers\.",\n'
                   r'      "name": "add",\n      "parameters": \{\n'),
]

main(CASES)
