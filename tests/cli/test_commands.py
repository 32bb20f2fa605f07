"""The command line itself: usage errors, --help, --version, check, exit statuses."""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, basic, project, worker, main, HELLO_LUA

def err(msg):
    return f"Error: {msg}\n"

FAILING_LUA = """
local llmdo = require "llmdo"
local M = {}
M.main = llmdo.entry { main = function(input, rt) error("entry exploded") end }
return M
"""

CHECK_LUA = HELLO_LUA.replace("return {", "return {\n calc = llmdo.toolset { tools = { add = { fn = function() end },"
                              " mul = { fn = function() end } } },\n lazy = llmdo.toolset { factory = function() return { tools = {} } end },")

CASES = [
    Case("no command", {}, [], exit=2, stderr=err("missing command (run, check or lua; see llmdo --help)")),
    Case("unknown command", {}, ["frob"], exit=2, stderr=err("unknown command 'frob' (expected run, check, tool, logs or lua)")),
    Case("unknown option", basic(), ["run", ".", "--frob"], exit=2, stderr=err("unknown option '--frob'")),
    Case("missing option value", basic(), ["run", ".", "--model"], exit=2,
         stderr=err("option '--model' needs a value")),
    Case("missing project", {}, ["run"], exit=2,
         stderr=err("run: missing PROJECT (a project.lua, its directory, or a .worker file)")),
    Case("bad --max-depth", basic(), ["run", ".", "x", "--max-depth", "deep"], exit=2,
         stderr=err("--max-depth: expected an integer from 1 to 1000, got 'deep'")),
    Case("approve and reject", basic(), ["run", ".", "x", "--approve-all", "--reject-all"], exit=2,
         stderr=err("--approve-all and --reject-all cannot be combined")),
    Case("--help", {}, ["--help"], stdout_has=["usage: llmdo run PROJECT [PROMPT] [options]", "exit status: 0 success"]),
    Case("run --help", {}, ["run", "--help"], stdout_has=["usage: llmdo run PROJECT"]),
    Case("--version", {}, ["--version"], stdout_has=["llmdo 0.1.0 (Lua 5.4"]),
    Case("check lists workers, models, toolsets and tools",
         {"project.lua": project(workers=("main.worker", "helper.worker")), "hello.lua": CHECK_LUA,
          "main.worker": worker(extra="description: Top\ntoolsets:\n  - helper\n  - calc\n  - lazy\n"
                                      "  - src: {toolset: filesystem, base_path: ./src}\n  - shell_readonly"),
          "helper.worker": worker(name="helper", model="test", entry=False,
                                  extra="server_side_tools:\n  - tool_type: web_search")},
         ["check", "."],
         stdout="project: project.lua\n"
                "entry:   main (worker)\n"
                "\n"
                "worker main  [entry]\n"
                "  file:     main.worker\n"
                "  model:    lua:echo\n"
                "  toolsets: helper (worker), calc (lua, hello.lua), lazy (lua, hello.lua), "
                "src = filesystem (built-in), shell_readonly (built-in)\n"
                "  tools:    helper, add, mul, src_read_file, src_write_file, src_list_files, shell; "
                "plus the tools lazy's factory returns\n"
                "\n"
                "worker helper\n"
                "  file:     helper.worker\n"
                "  model:    test\n"
                "  toolsets: (none)\n"
                "  tools:    (none)\n"
                "  server-side tools: web_search\n"),
    Case("check exits 2 on a project error", basic(**{"main.worker": worker(extra="toolsets: [nope]")}),
         ["check", "."], exit=2, stderr_has=["Unknown toolset 'nope'"]),
    Case("check works from another directory", {"sub/x": "", **{f"p/{k}": v for k, v in basic().items()}},
         ["check", "../p"], cwd="sub", stdout_has=["project: {root}/p/project.lua", "  file:     {root}/p/main.worker"]),
    Case("run works from another directory", {"sub/x": "", **{f"p/{k}": v for k, v in basic().items()}},
         ["run", "{root}/p", "hi"], cwd="sub", stdout="echo: hi\n"),
    Case("an error in entry code fails the run with 1", {"project.lua": project(workers=(), lua=("e.lua",)),
                                                         "e.lua": FAILING_LUA},
         ["run", ".", "x"], exit=1, stderr=err("e.lua:4: entry exploded")),
    Case("--debug adds a traceback", {"project.lua": project(workers=(), lua=("e.lua",)), "e.lua": FAILING_LUA},
         ["run", ".", "x", "--debug"], exit=1, stderr_re=r"^Error: e\.lua:4: entry exploded\nstack traceback:\n"),
    Case("a model error fails the run with 1",
         basic(**{"hello.lua": 'local llmdo = require "llmdo"\nreturn { echo = llmdo.model(function() '
                               'error("rate limited, try later") end) }\n'}),
         ["run", ".", "x"], exit=1, stderr=err("hello.lua:2: rate limited, try later")),
    Case("an invalid scripted response is reported",
         basic(**{"hello.lua": 'local llmdo = require "llmdo"\nreturn { echo = llmdo.model(function() '
                               'return { txt = "x" } end) }\n'}),
         ["run", ".", "x"], exit=1,
         stderr=err("model 'lua:echo' returned an invalid response: unknown key 'txt'")),
    Case("a table result prints as JSON",
         {"project.lua": project(workers=(), lua=("e.lua",)),
          "e.lua": 'local llmdo = require "llmdo"\nreturn { m = llmdo.entry { main = function() '
                   'return { b = 1, a = { "x" } } end } }\n'},
         ["run", ".", "x"], stdout_has=['"a": [\n    "x"\n  ]', '"b": 1']),
    Case("a nil result prints nothing",
         {"project.lua": project(workers=(), lua=("e.lua",)),
          "e.lua": 'local llmdo = require "llmdo"\nreturn { m = llmdo.entry { main = function() end } }\n'},
         ["run", ".", "x"], stdout=""),
    Case("--chat needs a terminal", basic(), ["run", ".", "--chat"], exit=2,
         stderr=err("Chat mode requires a terminal (stdin and stdout must be a TTY)")),
    Case("llmdo lua runs a script with arguments", {"s.lua": "return 'args: ' .. table.concat(arg, ',') .. ' ' .. arg[0]"},
         ["lua", "s.lua", "a", "b"], stdout="args: a,b s.lua\n"),
    Case("llmdo lua: missing script", {}, ["lua", "nope.lua"], exit=2, stderr_has=["cannot open nope.lua"]),
]

main(CASES)
