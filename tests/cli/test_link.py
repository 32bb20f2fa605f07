"""Linking: name spaces, entries and toolset references (features.md §3)."""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, basic, project, worker, main, HELLO_LUA

RUN = ["run", ".", "hi"]

def err(msg):
    return f"Error: {msg}\n"

ENTRY_LUA = """
local llmdo = require "llmdo"
local M = {}
M.main = llmdo.entry { main = function(input, rt)
  return "entry got " .. input[1] .. " at depth " .. rt.depth .. "; " .. rt:call_agent("helper", "x")
end }
M.echo = llmdo.model(function(req) return { text = "helper says " .. req.messages[1].parts[1].text } end)
return M
"""

TOOLS_LUA = HELLO_LUA.replace("return {", "local M = {\n calc = llmdo.toolset { tools = { add = { fn = function(a) return a.a + a.b end } } },\n").replace(
    "end) }", "end) }\nreturn M", 1).replace("local M = {", "local M = {", 1)
# a simpler, explicit version:
TOOLS_LUA = """
local llmdo = require "llmdo"
local M = {}
M.echo = llmdo.model(function(req) return { text = "echo: " .. req.messages[#req.messages].parts[1].text } end)
M.calc = llmdo.toolset { tools = { add = { params = { a = "number", b = "number" },
  fn = function(args) return args.a + args.b end } } }
M.other = llmdo.toolset { tools = { add = { fn = function() return 0 end } } }
M.stateful = llmdo.toolset { factory = function(ctx) return { tools = {} } end }
return M
"""

def with_tools(**over):
    files = basic(**{"hello.lua": TOOLS_LUA})
    files.update(over)
    return files

CASES = [
    Case("lua entry runs at depth 0 and calls a worker",
         {"project.lua": project(workers=("helper.worker",), lua=("entry.lua",)),
          "helper.worker": worker(name="helper", entry=False), "entry.lua": ENTRY_LUA},
         RUN, stdout="entry got hi at depth 0; helper says x\n"),
    Case("no workers and no entry",
         {"project.lua": project(workers=(), lua=("hello.lua",)), "hello.lua": HELLO_LUA}, RUN, exit=2,
         stderr=err("project.lua: At least one .worker file or llmdo.entry is required")),
    Case("two lua entries",
         {"project.lua": project(workers=(), lua=("a.lua", "b.lua")),
          "a.lua": "local llmdo = require 'llmdo'\nreturn { one = llmdo.entry { main = function() end } }\n",
          "b.lua": "local llmdo = require 'llmdo'\nreturn { two = llmdo.entry { main = function() end } }\n"},
         RUN, exit=2,
         stderr=err("project.lua: Multiple llmdo.entry definitions found: ['one', 'two']. Only one entry is allowed.")),
    Case("duplicate worker name",
         basic(**{"project.lua": project(workers=("main.worker", "copy.worker")),
                  "copy.worker": worker(entry=False)}), RUN, exit=2,
         stderr=err("copy.worker: Duplicate worker name: main (also in main.worker)")),
    Case("worker name clashes with lua entry",
         {"project.lua": project(workers=("helper.worker",), lua=("entry.lua",)),
          "helper.worker": worker(name="main", entry=False), "entry.lua": ENTRY_LUA}, RUN, exit=2,
         stderr=err("helper.worker: Worker name 'main' conflicts with Lua entry (in entry.lua)")),
    Case("lua entry and entry worker",
         {"project.lua": project(workers=("helper.worker",), lua=("entry.lua",)),
          "helper.worker": worker(name="helper", entry=True), "entry.lua": ENTRY_LUA}, RUN, exit=2,
         stderr=err("project.lua: Entry conflict: found llmdo.entry 'main' and entry worker(s) ['helper'].")),
    Case("two entry workers",
         basic(**{"project.lua": project(workers=("main.worker", "b.worker")),
                  "b.worker": worker(name="b", entry=True)}), RUN, exit=2,
         stderr=err("project.lua: Multiple workers marked entry: ['b', 'main']. Only one entry worker is allowed.")),
    Case("worker named like a built-in toolset",
         basic(**{"project.lua": project(workers=("main.worker", "s.worker")),
                  "s.worker": worker(name="shell_readonly", entry=False)}), RUN, exit=2,
         stderr=err("s.worker: Duplicate toolset name: shell_readonly (the worker and a built-in toolset)")),
    Case("worker named like a lua toolset",
         with_tools(**{"project.lua": project(workers=("main.worker", "c.worker")),
                       "c.worker": worker(name="calc", entry=False)}), RUN, exit=2,
         stderr=err("c.worker: Duplicate toolset name: calc (the worker and a Lua toolset in hello.lua)")),
    Case("lua toolset named like a built-in",
         basic(**{"hello.lua": HELLO_LUA.replace("return {", "return { filesystem = llmdo.toolset { tools = {} },")}),
         RUN, exit=2, stderr=err("hello.lua: Duplicate toolset name: filesystem (a built-in toolset has this name)")),
    Case("same toolset name in two lua files",
         basic(**{"project.lua": project(lua=("hello.lua", "t2.lua")),
                  "hello.lua": HELLO_LUA.replace("return {", "return { t = llmdo.toolset { tools = {} },"),
                  "t2.lua": "local llmdo = require 'llmdo'\nreturn { t = llmdo.toolset { tools = {} } }\n"}),
         RUN, exit=2, stderr=err("project.lua: Duplicate toolset name: t (in hello.lua and t2.lua)")),
    Case("unknown toolset lists what is available",
         basic(**{"main.worker": worker(extra="toolsets: [nope]")}), RUN, exit=2,
         stderr=err("main.worker: Unknown toolset 'nope' for worker 'main'. Available: ['filesystem', "
                    "'filesystem_cwd', 'filesystem_cwd_ro', 'filesystem_project', 'filesystem_project_ro', "
                    "'main', 'mcp', 'shell', 'shell_file_ops', 'shell_readonly']")),
    Case("self reference is allowed", basic(**{"main.worker": worker(extra="toolsets: [main]")}),
         ["check", "."], stdout_has=["  tools:    main\n"]),
    Case("two toolsets providing one tool name",
         with_tools(**{"main.worker": worker(extra="toolsets: [calc, other]")}), RUN, exit=2,
         stderr=err("main.worker: toolsets 'calc' and 'other' both provide tool 'add'; give them instance "
                    "names, e.g. '- a: {toolset: calc}' and '- b: {toolset: other}'")),
    Case("instance names resolve the conflict",
         with_tools(**{"main.worker": worker(extra="toolsets:\n  - x: {toolset: calc}\n  - y: {toolset: other}")}),
         ["check", "."], stdout_has=["  tools:    x_add, y_add\n"]),
    Case("filesystem twice needs instance names",
         basic(**{"main.worker": worker(extra="toolsets: [filesystem_cwd, filesystem_project]")}), RUN, exit=2,
         stderr=err("main.worker: toolsets 'filesystem_cwd' and 'filesystem_project' both provide tool "
                    "'read_file'; give them instance names, e.g. '- a: {toolset: filesystem_cwd}' and "
                    "'- b: {toolset: filesystem_project}'")),
    Case("worker tool clashing with another tool",
         with_tools(**{"project.lua": project(workers=("main.worker", "add.worker")),
                       "add.worker": worker(name="add", entry=False),
                       "main.worker": worker(extra="toolsets: [calc, add]")}), RUN, exit=2,
         stderr=err("main.worker: toolsets 'calc' and 'add' both provide tool 'add'; rename the worker or give "
                    "the other toolset an instance name")),
    Case("a worker cannot take configuration",
         basic(**{"project.lua": project(workers=("main.worker", "h.worker")), "h.worker": worker(name="h", entry=False),
                  "main.worker": worker(extra="toolsets:\n  - helper: {toolset: h}")}), RUN, exit=2,
         stderr=err("main.worker: toolset instance 'helper' names worker 'h'; workers take no configuration "
                    "(list it as '- h')")),
    Case("no entry", basic(**{"main.worker": worker(entry=False)}), RUN, exit=2,
         stderr=err("project.lua: No entry found. Mark one worker with entry: true or define one llmdo.entry "
                    "in a Lua file.")),
    Case("a single .worker file is its own project and entry",
         {"solo.worker": worker(name="solo", model="test", entry=False)}, ["run", "solo.worker", "hi", "--approve-all"],
         stdout="success (no tool calls)\n"),
    Case("missing .worker project", {}, ["run", "gone.worker", "hi"], exit=2,
         stderr=err("Worker file not found: gone.worker (resolved: {root}/gone.worker)")),
    Case("lua file must return a table", basic(**{"hello.lua": "return 1\n"}), RUN, exit=2,
         stderr=err("hello.lua: must return a table of exports (got an integer)")),
    Case("error while loading a lua file", basic(**{"hello.lua": "local x = nil\nreturn x.y\n"}), RUN, exit=2,
         stderr=err("hello.lua:2: attempt to index a nil value (local 'x')")),
    Case("bad llmdo.toolset call names its line",
         basic(**{"hello.lua": "local llmdo = require 'llmdo'\nreturn { t =\n llmdo.toolset { scop = 'call', tools = {} } }\n"}),
         RUN, exit=2, stderr=err("hello.lua:3: llmdo.toolset: scop: unknown key; did you mean 'scope'?")),
    Case("schema_in_ref resolves relative to the worker file",
         {"project.lua": project(workers=("w/main.worker",)), "hello.lua": HELLO_LUA,
          "w/main.worker": worker(extra="schema_in_ref: ../schemas.lua:Topic"),
          "schemas.lua": "local llmdo = require 'llmdo'\nreturn { Topic = llmdo.schema { fields = { input = 'string' } } }\n"},
         ["check", "."], stdout_has=["  input:    ../schemas.lua:Topic\n"]),
    Case("schema_in_ref file missing",
         basic(**{"main.worker": worker(extra="schema_in_ref: nope.lua:X")}), RUN, exit=2,
         stderr=err("main.worker: Schema file not found: nope.lua (resolved: {root}/nope.lua)")),
    Case("schema_in_ref name missing",
         basic(**{"main.worker": worker(extra="schema_in_ref: hello.lua:X")}), RUN, exit=2,
         stderr=err("main.worker: Schema 'X' not found in 'hello.lua'")),
    Case("schema_in_ref not a schema",
         basic(**{"main.worker": worker(extra="schema_in_ref: hello.lua:echo")}), RUN, exit=2,
         stderr=err("main.worker: 'hello.lua:echo' did not resolve to a schema made with llmdo.schema")),
    Case("schema_in_ref bad syntax",
         basic(**{"main.worker": worker(extra="schema_in_ref: 'schemas.Topic'")}), RUN, exit=2,
         stderr=err("main.worker: schema_in_ref must use 'file.lua:Name' syntax or name a schema exported by a "
                    "Lua file (got 'schemas.Topic')")),
    Case("a static tool name is checked where it is declared",
         basic(**{"hello.lua": "local llmdo = require 'llmdo'\nreturn { t =\n llmdo.toolset { tools = { ['a.b'] = "
                               "{ fn = function() end } } } }\n"}),
         ["check", "."], exit=2,
         stderr=err("hello.lua:3: llmdo.toolset: tools.a.b: tool names must match ^[a-zA-Z0-9_-]{1,64}$")),
    Case("static tool params are checked where they are declared",
         basic(**{"hello.lua": "local llmdo = require 'llmdo'\nreturn { t = llmdo.toolset { tools = { a = "
                               "{ params = { n = 'int' }, fn = function() end } } } }\n"}),
         ["check", "."], exit=2, stderr_has=['hello.lua:2: llmdo.toolset: tools.a.params.n: unknown type "int"']),
    Case("a prefixed tool name over 64 characters",
         basic(**{"main.worker": worker(extra="toolsets:\n  - " + "p" * 60 + ": {toolset: filesystem}")}),
         ["check", "."], exit=2, stderr_re=r"^Error: main\.worker: tool name 'p{60}_read_file' .* is longer than 64"),
    Case("a read-only variant stays read-only",
         basic(**{"main.worker": worker(extra="toolsets:\n  - ro: {toolset: filesystem_project_ro, read_only: false}")}),
         ["check", "."], stdout_has=["  tools:    ro_read_file, ro_list_files\n"]),
    Case("a hidden tool gives way to a real one of the same name",
         basic(**{"main.worker": worker(model="test", extra="toolsets: [filesystem_project_ro, w]"),
                  "hello.lua": HELLO_LUA.replace("return {", "return { w = llmdo.toolset { tools = { write_file = "
                                                 "{ approval = 'pre_approved', fn = function() return 'mine' end } } },")}),
         ["run", ".", "x"], stdout_has=['"write_file":"mine"']),
    Case("a shell rule's approval_required_if_args must be a list",
         basic(**{"main.worker": worker(extra="toolsets:\n  - sh: {toolset: shell, rules: [{pattern: find, "
                                              "approval_required_if_args: -exec}]}")}),
         ["check", "."], exit=2,
         stderr=err("main.worker: toolset 'sh' (shell): rules[1].approval_required_if_args: expected a list of words")),
    Case("entry.input must fit the entry",
         basic(**{"project.lua": project(rest="entry = { input = { foo = 1 } }")}), ["check", "."], exit=2,
         stderr=err("project.lua: entry.input: Input object must have an 'input' field")),
    Case("lua files load once", basic(**{
        "project.lua": project(lua=("hello.lua", "./hello.lua")),
        "hello.lua": "COUNT = (COUNT or 0) + 1\nassert(COUNT == 1, 'loaded twice')\n" + HELLO_LUA}),
         RUN, stdout="echo: hi\n"),
]

main(CASES)
