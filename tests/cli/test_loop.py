"""The agent loop, call frames and toolset lifetimes (seeds 000-003)."""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, project, worker, main

def err(msg):
    return f"Error: {msg}\n"

# Seed 000: worker A calls itself three levels deep with a stateful toolset.
RECURSIVE_LUA = r"""
local llmdo = require "llmdo"
local M = {}
local next_id = 0
M.counter = llmdo.toolset { factory = function(ctx)
  next_id = next_id + 1
  local id, count = next_id, 0
  return {
    tools = { bump = { approval = "pre_approved", fn = function()
      count = count + 1
      return "instance " .. id .. " count " .. count
    end } },
    cleanup = function() io.stderr:write("cleanup instance ", id, " (count ", count, ")\n") end,
  }
end }
local function result_of(req, name)
  for i = #req.messages, 1, -1 do
    for _, p in ipairs(req.messages[i].parts) do
      if p.type == "tool_result" and p.name == name then return p.content end
    end
  end
end
M.rec = llmdo.model(function(req)
  local last = req.messages[#req.messages]
  if last.role == "user" then return { tool_calls = { { name = "bump", args = {} } } } end
  if last.parts[1].name == "bump" and req.depth < 3 then
    return { tool_calls = { { name = "A", args = { input = "deeper" } } } }
  end
  local text = "L" .. req.depth .. "[" .. result_of(req, "bump") .. "]"
  local inner = result_of(req, "A")
  if inner then text = text .. " > " .. inner end
  return { text = text }
end)
return M
"""

RECURSIVE = {
    "project.lua": project(workers=("a.worker",), lua=("t.lua",)),
    "a.worker": worker(name="A", model="lua:rec", extra="toolsets: [counter, A]"),
    "t.lua": RECURSIVE_LUA,
}

# Tools that fail, retry and misbehave, driven by a model that follows a script.
SCRIPT_LUA = r"""
local llmdo = require "llmdo"
local M = {}
M.calc = llmdo.toolset { factory = function()
  return {
    tools = {
      add = { params = { a = "number", b = "number" }, approval = "pre_approved",
              fn = function(a) return a.a + a.b end },
      picky = { params = { n = "integer" }, fn = function(a)
        if a.n < 10 then llmdo.retry("n must be at least 10, got " .. a.n) end
        return "ok " .. a.n
      end },
      boom = { fn = function() error("kaboom") end },
      with_default = { params = { size = { type = "integer", default = 10 } }, approval = "pre_approved",
                       fn = function(a) return "size=" .. tostring(a.size) end },
      info = { fn = function(_, ctx)
        return { depth = ctx.depth, max_depth = ctx.max_depth, worker = ctx.worker, tool = ctx.tool }
      end },
    },
    cleanup = function() io.stderr:write("cleanup calc\n") end,
  }
end }
return M
"""

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT_MODEL = open(os.path.join(HERE, "lua", "script_model.lua")).read()

def scripted(extra="toolsets: [calc]"):
    return {"project.lua": project(workers=("main.worker",), lua=("script_model.lua", "t.lua")),
            "main.worker": worker(model="lua:script", extra=extra), "t.lua": SCRIPT_LUA,
            "script_model.lua": SCRIPT_MODEL}

SCOPES_LUA = r"""
local llmdo = require "llmdo"
local M = {}
local made = { call = 0, run = 0, global = 0 }
for _, scope in ipairs { "call", "run", "global" } do
  M[scope .. "_ts"] = llmdo.toolset { scope = scope, factory = function()
    made[scope] = made[scope] + 1
    local n = made[scope]
    return { tools = { [scope .. "_id"] = { approval = "pre_approved", fn = function() return n end } },
             cleanup = function() io.stderr:write("cleanup ", scope, " #", n, "\n") end }
  end }
end
M.test_all = llmdo.model(function(req)
  local last = req.messages[#req.messages]
  if last.role == "user" then
    local calls = {}
    for i, t in ipairs(req.tools) do calls[i] = { name = t.name, args = {} } end
    return { tool_calls = calls }
  end
  local out = {}
  for _, p in ipairs(last.parts) do out[#out + 1] = p.name .. "=" .. p.content end
  return { text = table.concat(out, ",") }
end)
M.main = llmdo.entry { main = function(input, rt)
  return rt:call_agent("w", "one") .. " / " .. rt:call_agent("w", "two")
end }
return M
"""

SCOPES = {
    "project.lua": project(workers=("w.worker",), lua=("t.lua",)),
    "w.worker": worker(name="w", model="lua:test_all", entry=False, extra="toolsets: [call_ts, run_ts, global_ts]"),
    "t.lua": SCOPES_LUA,
}

TWO_RUNS = """
local llmdo = require "llmdo"
local p = llmdo.load_project(arg[1])
io.stderr:write("run 1: ", p:run("x"), "\\n")
io.stderr:write("run 2: ", p:run("x"), "\\n")
"""

HISTORY_LUA = r"""
local llmdo = require "llmdo"
local M = {}
M.count = llmdo.model(function(req)
  local texts = {}
  for _, m in ipairs(req.messages) do
    if m.role == "user" then texts[#texts + 1] = m.parts[1].text end
  end
  return { text = #req.messages .. " messages: " .. table.concat(texts, ",") }
end)
M.main = llmdo.entry { main = function(input, rt)
  return rt:call_agent("w", input[1] .. "-a") .. " | " .. rt:call_agent("w", input[1] .. "-b")
end }
return M
"""

HISTORY_SCRIPT = """
local llmdo = require "llmdo"
local p = llmdo.load_project(arg[1])
local r1, info = p:run("t1")
print(r1)
local r2 = p:run("t2", { history = info.messages })
print(r2)
"""

NAMED_LUA = r"""
local llmdo = require "llmdo"
local M = {}
M.fs = llmdo.toolset { factory = function(ctx)
  return { tools = {
    read_file = { approval = "pre_approved", fn = function() return "read from " .. ctx.config.base_path end },
  } }
end, tool_names = { "read_file" } }
M.names = llmdo.model(function(req)
  local last = req.messages[#req.messages]
  if last.role == "user" then
    return { tool_calls = { { name = "src_read_file", args = {} }, { name = "docs_read_file", args = {} } } }
  end
  local names = {}
  for i, t in ipairs(req.tools) do names[i] = t.name end
  return { text = table.concat(names, ",") .. ": " .. last.parts[1].content .. "; " .. last.parts[2].content }
end)
return M
"""

GOLDEN_V = """[main:0] You: add:{"a":1,"b":2};say

[main:1] Tool call: add
  Args: {"a":1,"b":2}

[main:1] Tool result: add
  3
[main:1] Generating response...

[main:1] Response:
  3
[main:1] [OK] Complete (end_turn)
cleanup calc
usage: 2 requests, 0 input / 0 output tokens
"""

GOLDEN_VVV = """{
  "seq": 1,
  "worker": "main",
  "depth": 1,
  "message": {
    "parts": [
      {
        "text": "add:{\\"a\\":1,\\"b\\":2};say",
        "type": "text"
      }
    ],
    "role": "user"
  }
}
{
  "seq": 2,
  "worker": "main",
  "depth": 1,
  "message": {
    "parts": [
      {
        "args": {
          "a": 1,
          "b": 2
        },
        "id": "call_1_1",
        "name": "add",
        "type": "tool_call"
      }
    ],
    "role": "assistant"
  }
}
{
  "seq": 3,
  "worker": "main",
  "depth": 1,
  "message": {
    "parts": [
      {
        "content": "3",
        "id": "call_1_1",
        "is_error": false,
        "name": "add",
        "type": "tool_result"
      }
    ],
    "role": "tool"
  }
}
{
  "seq": 4,
  "worker": "main",
  "depth": 1,
  "message": {
    "parts": [
      {
        "text": "3",
        "type": "text"
      }
    ],
    "role": "assistant"
  }
}
cleanup calc
"""

TESTMODEL_LUA = r"""
local llmdo = require "llmdo"
return { calc = llmdo.toolset { tools = {
  add = { params = { a = "number", b = { type = "integer", minimum = 5 } }, approval = "pre_approved",
          fn = function(a) return a.a + a.b end },
  shout = { params = { text = "string", level = { type = "string", enum = { "loud", "soft" } } },
            fn = function(a) return a.text:upper() .. " (" .. a.level .. ")" end },
} } }
"""

WORKER_TOOLS_LUA = r"""
local llmdo = require "llmdo"
local M = {}
M.Topic = llmdo.schema { fields = { topic = "string", depth = "integer?" } }
M.parent = llmdo.model(function(req)
  local last = req.messages[#req.messages]
  if last.role == "user" then
    local out = {}
    for _, t in ipairs(req.tools) do
      out[#out + 1] = t.name .. " | " .. t.description .. " | " .. llmdo.json.encode(t.parameters, "s")
    end
    io.stderr:write(table.concat(out, "\n"), "\n")
    return { tool_calls = { { name = "helper", args = { input = "sub task" } },
                            { name = "typed", args = { topic = "lua" } } } }
  end
  return { text = #req.messages .. " messages; " .. last.parts[1].content .. "; " .. last.parts[2].content }
end)
M.child = llmdo.model(function(req)
  return { text = req.worker .. " at depth " .. req.depth .. " saw " .. #req.messages .. " message(s): "
    .. req.messages[1].parts[1].text }
end)
return M
"""

LONG = "word " * 60

CASES = [
    Case("seed 000: recursion gets fresh instances, each cleaned once, innermost first", RECURSIVE,
         ["run", ".", "go"],
         stdout="L1[instance 1 count 1] > L2[instance 2 count 1] > L3[instance 3 count 1]\n",
         stderr="cleanup instance 3 (count 1)\ncleanup instance 2 (count 1)\ncleanup instance 1 (count 1)\n"),
    Case("max_depth bounds recursion", RECURSIVE, ["run", ".", "go", "--max-depth", "2"], exit=1,
         stderr_has=["Error: Tool 'A' failed: max_depth exceeded (depth=2, max_depth=2, caller='A', attempted='A')\n",
                     "cleanup instance 2 (count 1)\ncleanup instance 1 (count 1)\n"]),
    Case("runtime.max_depth bounds recursion",
         {**RECURSIVE, "project.lua": project(workers=("a.worker",), lua=("t.lua",), rest="runtime = { max_depth = 1, approval_mode = 'approve_all' }")},
         ["run", ".", "go"], exit=1,
         stderr_has=["max_depth exceeded (depth=1, max_depth=1, caller='A', attempted='A')"]),
    Case("tool results go back to the model", scripted(), ["run", ".", 'add:{"a":2,"b":3};say'], stdout="5\n",
         stderr="cleanup calc\n"),
    Case("ctx carries depth, worker and tool", scripted(), ["run", ".", "info:{};say"],
         stdout='{"depth":1,"max_depth":5,"tool":"info","worker":"main"}\n'),
    Case("invalid arguments: a retry prompt, then success", scripted(),
         ["run", ".", 'add:{"a":"x","b":1};add:{"a":1,"b":1};say'],
         stdout="E:Invalid arguments for tool 'add': a: expected number, got string\n\nFix the errors and try "
                "again. | 2\n"),
    Case("invalid arguments: budget exhausted", scripted(),
         ["run", ".", 'add:{"a":"x","b":1};add:{"b":1};say'], exit=1,
         stderr_has=["Error: Tool 'add' exceeded max retries count of 1 (last problem: Invalid arguments for tool "
                     "'add': a: required field is missing)\n", "cleanup calc\n"]),
    Case("unknown tool: a retry prompt listing the tools", scripted(), ["run", ".", "nope:{};say"],
         stdout="E:Unknown tool name: 'nope'. Available tools: 'add', 'boom', 'info', 'picky', 'with_default'\n\n"
                "Fix the errors "
                "and try again.\n"),
    Case("unknown tool with no tools at all", scripted(extra=""), ["run", ".", "nope:{};say"],
         stdout="E:Unknown tool name: 'nope'. No tools available.\n\nFix the errors and try again.\n"),
    Case("unknown tool twice exhausts the budget", scripted(), ["run", ".", "nope:{};nope:{};say"], exit=1,
         stderr_has=["Tool 'nope' exceeded max retries count of 1"]),
    Case("llmdo.retry sends the message back", scripted(), ["run", ".", 'picky:{"n":3};picky:{"n":12};say'],
         stdout="E:n must be at least 10, got 3\n\nFix the errors and try again. | ok 12\n"),
    Case("a turn without a failure starts the retry count again", scripted(),
         ["run", ".", 'picky:{"n":3};picky:{"n":12};picky:{"n":4};say'],
         stdout="E:n must be at least 10, got 3\n\nFix the errors and try again. | ok 12 | "
                "E:n must be at least 10, got 4\n\nFix the errors and try again.\n"),
    Case("a missing argument with a default gets it", scripted(), ["run", ".", 'with_default:{};say'],
         stdout="size=10\n"),
    Case("a scripted model's tool_calls must be a list",
         {**scripted(), "t.lua": SCRIPT_LUA.replace("return M", "M.bad = llmdo.model(function() return "
                                                    "{ tool_calls = { name = 'add' } } end)\nreturn M"),
          "main.worker": worker(model="lua:bad")}, ["run", ".", "x"], exit=1,
         stderr="Error: model 'lua:bad' returned an invalid response: tool_calls must be a list of {name=, args=}\n"),
    Case("llmdo.retry counts against the budget", scripted(),
         ["run", ".", 'picky:{"n":3};picky:{"n":4};say'], exit=1,
         stderr_has=["Tool 'picky' exceeded max retries count of 1 (last problem: n must be at least 10, got 4)"]),
    Case("a tool error fails the call, names the tool, still cleans up", scripted(), ["run", ".", "boom:{};say"],
         exit=1, stderr_re=r"^cleanup calc\nError: Tool 'boom' failed: t\.lua:\d+: kaboom\n$"),
    Case("a failing cleanup is a warning and does not mask the result",
         {**scripted(), "t.lua": SCRIPT_LUA.replace('io.stderr:write("cleanup calc\\n")', 'error("cleanup broke")')},
         ["run", ".", 'add:{"a":1,"b":1};say'], stdout="2\n",
         stderr_re=r"^warning: cleanup of toolset 'calc' failed: t\.lua:\d+: cleanup broke\n$"),
    Case("a failing cleanup does not mask the call's error",
         {**scripted(), "t.lua": SCRIPT_LUA.replace('io.stderr:write("cleanup calc\\n")', 'error("cleanup broke")')},
         ["run", ".", "boom:{};say"], exit=1,
         stderr_re=r"^warning: cleanup of toolset 'calc' failed: .*cleanup broke\nError: Tool 'boom' failed: .*kaboom\n$"),
    Case("scopes across two worker calls in one run", SCOPES, ["run", ".", "x"],
         stdout="call_id=1,run_id=1,global_id=1 / call_id=2,run_id=1,global_id=1\n",
         stderr="cleanup call #1\ncleanup call #2\ncleanup run #1\ncleanup global #1\n"),
    Case("scopes across two runs in one process", {**SCOPES, "two.lua": TWO_RUNS}, ["lua", "two.lua", "."],
         stderr="cleanup call #1\ncleanup call #2\ncleanup run #1\n"
                "run 1: call_id=1,run_id=1,global_id=1 / call_id=2,run_id=1,global_id=1\n"
                "cleanup call #3\ncleanup call #4\ncleanup run #2\n"
                "run 2: call_id=3,run_id=2,global_id=1 / call_id=4,run_id=2,global_id=1\n"
                "cleanup global #1\n"),
    Case("history: a fresh child history; the first depth-0 call takes the entry's history",
         {"project.lua": project(workers=("w.worker",), lua=("t.lua",)),
          "w.worker": worker(name="w", model="lua:count", entry=False), "t.lua": HISTORY_LUA,
          "h.lua": HISTORY_SCRIPT},
         ["lua", "h.lua", "."],
         stdout="1 messages: t1-a | 1 messages: t1-b\n3 messages: t1-a,t2-a | 1 messages: t2-b\n"),
    Case("project:run refuses a bad option, naming it",
         {**SCOPES, "bad.lua": 'local p = require("llmdo").load_project(arg[1])\n'
                               'local ok, e = pcall(p.run, p, "x", { approval_mode = "yes" })\n'
                               'print(e.kind .. ": " .. e.message)\n'
                               'p:run("x", { max_dept = 2 })\n'},
         ["lua", "bad.lua", "."], exit=2,
         stdout='usage: project:run: opts.approval_mode: expected one of "prompt", "approve_all", "reject_all", got "yes"\n',
         stderr_has=["project:run: opts.max_dept: unknown key"]),
    Case("named instances prefix their tools and get their config",
         {"project.lua": project(workers=("main.worker",), lua=("t.lua",)), "t.lua": NAMED_LUA,
          "main.worker": worker(model="lua:names", extra="toolsets:\n  - src: {toolset: fs, base_path: ./src}\n"
                                                         "  - docs: {toolset: fs, base_path: ./docs}")},
         ["run", ".", "go"], stdout="src_read_file,docs_read_file: read from ./src; read from ./docs\n"),
    Case("model: test calls every tool once with schema-made arguments",
         {"project.lua": project(workers=("main.worker",), lua=("t.lua",)), "t.lua": TESTMODEL_LUA,
          "main.worker": worker(model="test", extra="toolsets: [calc]")},
         ["run", ".", "go", "--approve-all"], stdout='{"add":"5","shout":"A (loud)"}\n'),
    Case("workers as tools: description, parameters, one call and one result in the parent",
         {"project.lua": project(workers=("main.worker", "helper.worker", "typed.worker"), lua=("t.lua",)),
          "t.lua": WORKER_TOOLS_LUA,
          "main.worker": worker(model="lua:parent", extra="toolsets: [helper, typed]"),
          "helper.worker": worker(name="helper", model="lua:child", entry=False, body=LONG),
          "typed.worker": worker(name="typed", model="lua:child", entry=False,
                                 extra="description: Explains a topic\nschema_in_ref: t.lua:Topic")},
         ["run", ".", "go"],
         stdout='3 messages; helper at depth 2 saw 1 message(s): sub task; typed at depth 2 saw 1 message(s): '
                '{"topic":"lua"}\n',
         stderr='helper | ' + LONG[:200] + '... | {"additionalProperties":false,"properties":{"attachments":'
                '{"items":{"type":"string"},"type":"array"},"input":{"type":"string"}},"required":["input"],'
                '"type":"object"}\n'
                'typed | Explains a topic | {"additionalProperties":false,"properties":{"depth":{"type":"integer"},'
                '"topic":{"type":"string"}},"required":["topic"],"type":"object"}\n'),
    Case("a worker tool with invalid arguments fails at once (budget 0)",
         {"project.lua": project(workers=("main.worker", "helper.worker"), lua=("script_model.lua", "t.lua")),
          "script_model.lua": SCRIPT_MODEL, "t.lua": SCRIPT_LUA,
          "main.worker": worker(model="lua:script", extra="toolsets: [helper]"),
          "helper.worker": worker(name="helper", model="lua:child", entry=False)},
         ["run", ".", 'helper:{"text":"x"};say'], exit=1,
         stderr_has=["Tool 'helper' exceeded max retries count of 0 (last problem: Invalid arguments for tool "
                     "'helper': input: required field is missing; text: unknown field)"]),
    Case("golden -v", scripted(), ["run", ".", 'add:{"a":1,"b":2};say', "-v", "--journal", "{root}/j.jsonl"],
         stdout="3\n", stderr=GOLDEN_V + "journal: {root}/j.jsonl\n"),
    Case("golden -vvv", scripted(), ["run", ".", 'add:{"a":1,"b":2};say', "-vvv"], stdout="3\n",
         stderr=GOLDEN_VVV),
]

main(CASES)
