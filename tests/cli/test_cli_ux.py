"""The command line as a new user meets it: suggestions for typos, per-command
help, the config file and its precedence, model aliases, models, usage and
cost, the cost and token budgets, completion scripts, --output-json, and
the loose ends (fan-out errors, schema input, attachments, headless runs)."""
import json
import os
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, Custom, basic, project, worker, main, HELLO_LUA, write_files


def err(msg):
    return f"Error: {msg}\n"


CONFIG = ".config/llmdo/config.lua"

# Scripted models that say who they are, and one that reports a known usage.
MODELS_LUA = """
local llmdo = require "llmdo"
local M = {}
for _, name in ipairs { "a", "b", "c", "d", "echo" } do
  M[name] = llmdo.model(function(req)
    local last = req.messages[#req.messages]
    return { text = name .. ": " .. last.parts[1].text }
  end)
end
-- 3000 input tokens (1000 of them cache reads, 1000 cache writes), 1000 output
M.priced = llmdo.model(function(req)
  return { text = "done", usage = { input_tokens = 3000, output_tokens = 1000, cache_read = 1000, cache_write = 1000 } }
end)
M.calc = llmdo.toolset { tools = {
  add = { params = { a = "number", b = "number" }, fn = function(args) return args.a + args.b end },
} }
return M
"""

PRICE = ('prices = { ["lua:priced"] = { input = 1, output = 5, cache_read = 0.1, cache_write = 1.25 } }')
# (1000 * 1 + 1000 * 0.1 + 1000 * 1.25 + 1000 * 5) / 1e6 dollars
COST = 0.00735


def files(worker_text=None, manifest=None, config=None, extra=None):
    f = {"project.lua": manifest or project(lua=("m.lua",)), "main.worker": worker_text or worker(model="lua:a"),
         "m.lua": MODELS_LUA}
    if config is not None:
        f[CONFIG] = config
    f.update(extra or {})
    return f


# A project whose tool needs approval; `mode` is project.lua's approval_mode (None: not set).
def approval_project(mode=None, config=None):
    rt = f'runtime = {{ approval_mode = "{mode}" }}' if mode else ""
    return files(worker(model="lua:a", extra="toolsets: [calc]"),
                 manifest='return { workers = { "main.worker" }, lua = { "m.lua" }, ' + rt + " }\n", config=config)


TOOL = ["tool", ".", "add", "--args", '{"a": 2, "b": 3}']

# An entry that calls worker `main` `n` times (for the budgets).
def calls_entry(n, runtime):
    return {
        "project.lua": f'return {{ workers = {{ "main.worker" }}, lua = {{ "m.lua", "e.lua" }}, '
                       f'runtime = {{ approval_mode = "approve_all", {runtime} }} }}\n',
        "main.worker": worker(model="lua:priced", entry=False),
        "m.lua": MODELS_LUA,
        "e.lua": 'local llmdo = require "llmdo"\nreturn { e = llmdo.entry { main = function(input, rt)\n'
                 f'  for i = 1, {n} do rt:call_agent("main", "go " .. i) end\n  return "all done"\nend }} }}\n',
        CONFIG: "return { " + PRICE + " }\n",
    }


def completion_loads(binary):
    problems = []
    r = subprocess.run(["bash", "-c", f'source <("{binary}" completion bash) && complete -p llmdo'],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if r.returncode != 0 or "_llmdo" not in r.stdout:
        problems.append(f"bash completion did not load: {r.returncode} {r.stdout!r} {r.stderr!r}")
    # what bash would offer after 'llmdo ru' and 'llmdo run --mo'
    script = (f'source <("{binary}" completion bash); COMP_WORDS=(llmdo ru); COMP_CWORD=1; _llmdo; '
              'echo "${COMPREPLY[@]}"; COMP_WORDS=(llmdo run --mo); COMP_CWORD=2; _llmdo; echo "${COMPREPLY[@]}"')
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if r.stdout.split("\n")[:2] != ["run", "--model"]:
        problems.append(f"bash completion offers {r.stdout!r}, want 'run' and '--model'")
    for shell, marker in (("zsh", "#compdef llmdo"), ("fish", "complete -c llmdo")):
        r = subprocess.run([binary, "completion", shell], capture_output=True, text=True)
        if r.returncode != 0 or marker not in r.stdout:
            problems.append(f"{shell} completion lacks {marker!r}")
    return problems


def output_json(ok, check):
    """An after(root) check of out.json."""
    def after(root):
        try:
            with open(os.path.join(root, "out.json")) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            return [f"out.json: {e}"]
        return check(doc)
    return after


def check_ok_json(doc):
    problems = []
    if doc.get("status") != "ok" or doc.get("result") != "done" or doc.get("stop_reason") != "end_turn" \
            or doc.get("exit") != 0:
        problems.append(f"status/result/stop_reason: {doc}")
    if doc.get("usage") != {"requests": 1, "input_tokens": 3000, "output_tokens": 1000, "cache_read": 1000,
                            "cache_write": 1000}:
        problems.append(f"usage: {doc.get('usage')}")
    if abs((doc.get("cost") or 0) - COST) > 1e-12:
        problems.append(f"cost {doc.get('cost')}, want {COST}")
    return problems


def journals(root):
    d = os.path.join(root, "state", "llmdo", "runs")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def journal_count(n):
    def after(root):
        found = journals(root)
        return [] if len(found) == n else [f"{len(found)} journals, want {n}: {found}"]
    return after


def journal_has_cost(root):
    found = journals(root)
    if len(found) != 1:
        return [f"{len(found)} journals, want 1"]
    with open(os.path.join(root, "state", "llmdo", "runs", found[0])) as f:
        last = json.loads(f.read().splitlines()[-1])
    cost = last.get("usage", {}).get("cost")
    return [] if cost is not None and abs(cost - COST) < 1e-12 else [f"run_end usage: {last.get('usage')}"]


STATE = {"XDG_STATE_HOME": "{root}/state", "LLMDO_NO_LOG": None}


def check_error_json(doc):
    problems = []
    if doc.get("status") != "error" or "max_cost" not in doc.get("error", {}).get("message", "") \
            or doc.get("error", {}).get("kind") != "budget" or doc.get("exit") != 1:
        problems.append(f"status/error: {doc}")
    if doc.get("usage", {}).get("requests") != 2:
        problems.append(f"usage: {doc.get('usage')}")
    return problems


FANOUT_LUA = """local llmdo = require "llmdo"
return { e = llmdo.entry { main = function(input, rt)
  return table.concat(rt:map({ "a", "b", "c" }, function(x)
    if x == "b" then error("boom on " .. x) end
    return x
  end), ",")
end } }
"""

FANOUT_WORKER_LUA = """local llmdo = require "llmdo"
return { e = llmdo.entry { main = function(input, rt)
  return rt:map({ "ok", "fail" }, function(x) return rt:call_agent("main", x) end)
end }, m = llmdo.model(function(req)
  local text = req.messages[#req.messages].parts[1].text
  if text == "fail" then return { txt = "the model broke" } end
  return { text = text }
end) }
"""

SCHEMA_ENTRY = """local llmdo = require "llmdo"
local M = {}
M.Q = llmdo.schema { fields = { input = "string", tag = "string?" } }
M.R = llmdo.schema { fields = { input = "string", tag = "string" } }
M.e = llmdo.entry { schema_in = M.%s, main = function(args) return "input=" .. args.input .. " tag=" .. tostring(args.tag) end }
return M
"""

CASES = [
    # -- suggestions ---------------------------------------------------------
    Case("a typo'd command", {}, ["rn", "."], exit=2, stderr=err("unknown command 'rn'; did you mean 'run'?")),
    Case("a typo'd flag", files(), ["run", ".", "hi", "--modle", "lua:a"], exit=2,
         stderr=err("unknown option '--modle'; did you mean '--model'? (see llmdo run --help)")),
    Case("a typo'd flag, --opt=value", files(), ["run", ".", "hi", "--aprove-all"], exit=2,
         stderr=err("unknown option '--aprove-all'; did you mean '--approve-all'? (see llmdo run --help)")),
    Case("a flag of another command", files(), ["check", ".", "--chat"], exit=2,
         stderr=err("option '--chat' does not apply to 'check' (it is an option of run)")),
    Case("a typo'd manifest key", files(manifest='return { workers = { "main.worker" }, lua = { "m.lua" }, '
                                                 'runtime = { aproval_mode = "approve_all" } }\n'),
         ["run", ".", "hi"], exit=2,
         stderr=err("project.lua: runtime.aproval_mode: unknown key; did you mean 'approval_mode'?")),
    Case("a typo'd top-level manifest key", files(manifest='return { worker = { "main.worker" }, lua = { "m.lua" } }\n'),
         ["check", "."], exit=2, stderr=err("project.lua: worker: unknown key; did you mean 'workers'?")),
    Case("a typo'd worker field", files(worker("main", model="lua:a", extra="toolset: [calc]")), ["run", ".", "hi"],
         exit=2, stderr_has=["main.worker: Unknown field 'toolset'; did you mean 'toolsets'? (known fields: "]),
    Case("a typo'd toolset name", files(worker("main", model="lua:a", extra="toolsets: [calk]")), ["check", "."],
         exit=2, stderr_has=["main.worker: Unknown toolset 'calk' for worker 'main'; did you mean 'calc'? Available: "]),
    Case("a typo'd tool name", files(worker("main", model="lua:a", extra="toolsets: [calc]")),
         ["tool", ".", "ad", "--args", '{"a": 1, "b": 2}'], exit=2,
         stderr=err("Unknown tool name: 'ad'; did you mean 'add'? Available tools: 'add'")),
    Case("a typo'd worker name", {"project.lua": project(lua=("m.lua", "e.lua")),
                                  "main.worker": worker(model="lua:a", entry=False), "m.lua": MODELS_LUA,
                                  "e.lua": 'local llmdo = require "llmdo"\nreturn { e = llmdo.entry { main = '
                                           'function(i, rt) return rt:call_agent("mian", i) end } }\n'},
         ["run", ".", "hi"], exit=1, stderr=err("Agent 'mian' not found; did you mean 'main'? Available: ['main']")),
    Case("a typo'd provider", files(worker(model="antropic:claude-haiku-4-5")), ["check", "."], exit=2,
         stderr_has=["Unknown provider 'antropic'; did you mean 'anthropic'? Known providers: "]),
    Case("nothing close: no suggestion", {}, ["zzzzzz"], exit=2,
         stderr_has=["unknown command 'zzzzzz' (commands: run, check"]),
    # -- help and version ----------------------------------------------------
    Case("run --help: its own options and examples", {}, ["run", "--help"],
         stdout_has=["usage: llmdo run PROJECT [PROMPT] [options]", "--output-json FILE", "--chat", "examples:",
                     "llmdo run examples/greeter"]),
    Case("check --help: only check's options", {}, ["check", "-h"],
         stdout_has=["usage: llmdo check PROJECT", "--tools", "llmdo check ./proj --tools"], stderr=""),
    Case("tool --help", {}, ["tool", "--help"], stdout_has=["usage: llmdo tool PROJECT TOOL", "--worker NAME"]),
    Case("help COMMAND is COMMAND --help", {}, ["help", "models"], stdout_has=["usage: llmdo models [--json]"]),
    Case("help of an unknown command", {}, ["help", "chekc"], exit=2,
         stderr=err("help: unknown command 'chekc'; did you mean 'check'?")),
    Case("-V", {}, ["-V"], stdout_re=r"^llmdo \d+\.\d+\.\d+ \(Lua 5\.4\.\d+\)\n$"),
    Case("a bad option before --help is still an error", {}, ["run", "--bogus", "--help"], exit=2,
         stderr_has=["unknown option '--bogus'"]),
    # -- config file -----------------------------------------------------------
    Case("config path", {}, ["config", "path"], stdout="{root}/.config/llmdo/config.lua\n"),
    Case("LLMDO_CONFIG names another file", {"c.lua": "return { model = 'lua:a' }\n"}, ["config", "path"],
         env={"LLMDO_CONFIG": "{root}/c.lua"}, stdout="{root}/c.lua\n"),
    Case("config show", {CONFIG: 'return { model = "fast", aliases = { fast = "lua:b" }, log = false }\n'},
         ["config", "show"], stdout_has=['"aliases": {\n    "fast": "lua:b"\n  }', '"log": false', '"model": "fast"']),
    Case("config show without a file", {}, ["config", "show"], stdout_has=["# no config file at {root}/.config"]),
    Case("a config key is strict", files(config='return { modle = "lua:a" }\n'), ["run", ".", "hi"], exit=2,
         stderr=err("{root}/.config/llmdo/config.lua: modle: unknown key; did you mean 'model'?")),
    Case("a config value is checked", files(config='return { approval_mode = "yes" }\n'), ["run", ".", "hi"], exit=2,
         stderr_has=['config.lua: approval_mode: expected one of "prompt", "approve_all", "reject_all", got "yes"']),
    Case("an alias must name a provider:model", files(config='return { aliases = { fast = "haiku" } }\n'),
         ["run", ".", "hi"], exit=2, stderr_has=["aliases.fast: expected a model string provider:model, got 'haiku'"]),
    # model: flag > env > config (a worker's own model: beats them all)
    Case("config model is the default", files(worker(model=None), config='return { model = "lua:d" }\n'),
         ["run", ".", "hi"], stdout="d: hi\n"),
    Case("env beats config model", files(worker(model=None), config='return { model = "lua:d" }\n'),
         ["run", ".", "hi"], env={"LLMDO_MODEL": "lua:c"}, stdout="c: hi\n"),
    Case("flag beats env model", files(worker(model=None), config='return { model = "lua:d" }\n'),
         ["run", ".", "hi", "--model", "lua:b"], env={"LLMDO_MODEL": "lua:c"}, stdout="b: hi\n"),
    # approval mode: flag > env > project > config
    Case("config approval mode applies", approval_project(None, 'return { approval_mode = "approve_all" }\n'), TOOL,
         stdout="5\n"),
    Case("project beats config approval mode",
         approval_project("reject_all", 'return { approval_mode = "approve_all" }\n'), TOOL, exit=1,
         stderr_has=["denied"]),
    Case("env beats project approval mode",
         approval_project("reject_all", 'return { approval_mode = "reject_all" }\n'), TOOL,
         env={"LLMDO_APPROVAL_MODE": "approve_all"}, stdout="5\n"),
    Case("flag beats env approval mode",
         approval_project("approve_all", 'return { approval_mode = "approve_all" }\n'), TOOL + ["--reject-all"],
         env={"LLMDO_APPROVAL_MODE": "approve_all"}, exit=1, stderr_has=["denied"]),
    Case("a bad LLMDO_APPROVAL_MODE", approval_project(), TOOL, env={"LLMDO_APPROVAL_MODE": "aprove_all"}, exit=2,
         stderr=err("LLMDO_APPROVAL_MODE: expected prompt, approve_all or reject_all, got 'aprove_all'; "
                    "did you mean 'approve_all'?")),
    # -- aliases, wherever a model is accepted -------------------------------
    Case("an alias in a worker's model", files(worker(model="quick"), config='return { aliases = { quick = "lua:c" } }\n'),
         ["run", ".", "hi"], stdout="c: hi\n"),
    Case("an alias in --model", files(worker(model=None), config='return { aliases = { quick = "lua:c" } }\n'),
         ["run", ".", "hi", "--model", "quick"], stdout="c: hi\n"),
    Case("an alias in LLMDO_MODEL", files(worker(model=None), config='return { aliases = { quick = "lua:c" } }\n'),
         ["run", ".", "hi"], env={"LLMDO_MODEL": "quick"}, stdout="c: hi\n"),
    Case("an alias as the config's model", files(worker(model=None),
                                                 config='return { model = "quick", aliases = { quick = "lua:c" } }\n'),
         ["run", ".", "hi"], stdout="c: hi\n"),
    Case("check shows what an alias resolves to", files(worker(model="quick"),
                                                       config='return { aliases = { quick = "lua:c" } }\n'),
         ["check", "."], stdout_has=["  model:    lua:c\n"]),
    Case("an alias meets compatible_models as its model",
         files(worker(model=None, extra="compatible_models: ['lua:c']"), config='return { aliases = { quick = "lua:c" } }\n'),
         ["run", ".", "hi", "--model", "quick"], stdout="c: hi\n"),
    Case("a provider from the config",
         files(worker(model="lab:m1"), config='return { providers = { lab = { api = "openai", base_url = '
                                               '"http://127.0.0.1:9/v1", api_key_env = "LAB_KEY" } } }\n'),
         ["run", ".", "hi"], exit=2, stderr=err("LAB_KEY is not set (worker 'main' uses lab:m1)")),
    # logging: --no-log > LLMDO_NO_LOG > config's log > on
    Case("config log = false: no journal", files(config="return { log = false }\n"), ["run", ".", "hi"], env=STATE,
         stdout="a: hi\n", after=journal_count(0)),
    Case("LLMDO_NO_LOG=0 beats config log = false", files(config="return { log = false }\n"), ["run", ".", "hi"],
         env={**STATE, "LLMDO_NO_LOG": "0"}, stdout="a: hi\n", after=journal_count(1)),
    Case("--no-log beats config log = true", files(config="return { log = true }\n"), ["run", ".", "hi", "--no-log"],
         env=STATE, stdout="a: hi\n", after=journal_count(0)),
    Case("the journal's run_end has the cost", files(worker(model="lua:priced"), config="return { " + PRICE + " }\n"),
         ["run", ".", "hi"], env=STATE, stdout="done\n", after=journal_has_cost),
    Case("a typo'd journal flag", files(), ["run", ".", "hi", "--replya", "x.jsonl"], exit=2,
         stderr=err("unknown option '--replya'; did you mean '--replay'? (see llmdo run --help)")),
    # -- models ------------------------------------------------------------
    Case("models lists providers, keys, prices and aliases", {CONFIG: 'return { aliases = { fast = "anthropic:claude-haiku-4-5" } }\n'},
         ["models"], env={"ANTHROPIC_API_KEY": "x", "OPENAI_API_KEY": ""},
         stdout_has=["ANTHROPIC_API_KEY set", "OPENAI_API_KEY not set", "anthropic:claude-haiku-4-5",
                     "fast         anthropic:claude-haiku-4-5"]),
    Case("models --json", {CONFIG: 'return { model = "fast", aliases = { fast = "anthropic:claude-haiku-4-5" } }\n'},
         ["models", "--json"], env={"ANTHROPIC_API_KEY": "x"},
         stdout_has=['"aliases": {\n    "fast": "anthropic:claude-haiku-4-5"\n  }', '"key_set": true',
                     '"resolved": "anthropic:claude-haiku-4-5"', '"model": "anthropic:claude-haiku-4-5"']),
    # -- usage and cost --------------------------------------------------------
    Case("-v prints the run's tokens and cost", files(worker(model="lua:priced"), config="return { " + PRICE + " }\n"),
         ["run", ".", "hi", "-v"], stdout="done\n",
         stderr_has=["usage: 1 requests, 3000 input / 1000 output tokens (cache: 1000 read, 1000 written)\n",
                     "cost: $0.007350\n"]),
    Case("a price given under an alias prices its model", files(worker(model="cheap"),
         config='return { aliases = { cheap = "lua:priced" }, prices = { cheap = { input = 1, output = 5, '
                'cache_read = 0.1, cache_write = 1.25 } } }\n'),
         ["run", ".", "hi", "-v"], stdout="done\n", stderr_has=["cost: $0.007350\n"]),
    Case("a price key that is no model string", files(worker(model="lua:priced"),
         config='return { prices = { ["claude-haiku"] = { input = 1, output = 5 } } }\n'),
         ["run", ".", "hi"], exit=2, stderr_re=r"config\.lua: prices\[\"claude-haiku\"\]: expected a model string "
                                              r"provider:model \(or an alias\)\n$"),
    Case("-v: the cost of a provider's answer", files(worker(model="anthropic:claude-haiku-4-5")), ["run", ".", "hi", "-v"],
         mock=[{"text": "hello", "usage": {"input": 1000, "output": 1000}}], stdout="hello\n",
         stderr_has=["usage: 1 requests, 1000 input / 1000 output tokens\n", "cost: $0.006000\n"]),
    Case("-v: a model with no price has no cost", files(worker(model="anthropic:claude-nonesuch-9")),
         ["run", ".", "hi", "-v"], mock=[{"text": "hello", "usage": {"input": 10, "output": 5}}], stdout="hello\n",
         stderr_has=["cost: unknown (no price for anthropic:claude-nonesuch-9; add one under prices in the config "
                     "file)\n"]),
    Case("--output-json: result, stop reason, usage, cost",
         files(worker(model="lua:priced"), config="return { " + PRICE + " }\n"),
         ["run", ".", "hi", "--output-json", "out.json"], stdout="done\n", after=output_json(True, check_ok_json)),
    Case("--output-json that cannot be written costs no run",
         files(worker(model="lua:priced"), config="return { " + PRICE + " }\n"),
         ["run", ".", "hi", "--output-json", "no/such/dir/out.json"], exit=2, stdout="",
         stderr=err("--output-json: cannot write no/such/dir/out.json: No such file or directory")),
    Case("max_cost stops the run with the budget's message", calls_entry(5, "max_cost = 0.01"),
         ["run", ".", "x", "--output-json", "out.json"], exit=1,
         stderr=err("Budget exceeded: max_cost = $0.0100 for this run ($0.0147 spent)"),
         after=output_json(False, check_error_json)),
    Case("a spent budget refuses later requests before they are sent",
         {**calls_entry(1, "max_tokens_total = 6000"), "e.lua": 'local llmdo = require "llmdo"\n'
          'return { e = llmdo.entry { main = function(input, rt)\n  local out = {}\n'
          '  for i = 1, 5 do out[i] = tostring((pcall(rt.call_agent, rt, "main", "go " .. i))) end\n'
          '  return table.concat(out, " ")\nend } }\n'},
         ["run", ".", "x", "-v"], stdout="true false false false false\n",
         stderr_has=["usage: 2 requests, 6000 input / 2000 output tokens"]),
    Case("max_cost not reached", calls_entry(1, "max_cost = 0.01"), ["run", ".", "x"], stdout="all done\n"),
    Case("max_tokens_total counts nested calls", calls_entry(5, "max_tokens_total = 10000"), ["run", ".", "x"], exit=1,
         stderr=err("Budget exceeded: max_tokens_total = 10000 for this run (12000 tokens used)")),
    Case("max_cost needs a price for every model",
         {**calls_entry(1, "max_cost = 1"), "main.worker": worker(model="lab:m1", entry=False),
          CONFIG: 'return { providers = { lab = { api = "openai", base_url = "http://127.0.0.1:9/v1", '
                  'api_key_env = "LAB_KEY" } } }\n'},
         ["run", ".", "x"], env={"LAB_KEY": "k"}, exit=2,
         stderr=err("project.lua: runtime.max_cost needs the price of every model, and lab:m1 (worker 'main') has "
                    "none; add it under prices in the config file (llmdo config path)")),
    # -- loose ends --------------------------------------------------------
    Custom("completion scripts load (bash) and name llmdo (zsh, fish)", completion_loads),
    Case("a fan-out error names the failed call", {"project.lua": project(workers=(), lua=("e.lua",)), "e.lua": FANOUT_LUA},
         ["run", ".", "x"], exit=1, stderr=err('map: item 2 of 3 ("b") failed: e.lua:4: boom on b')),
    Case("a fan-out error names the worker", {"project.lua": project(lua=("e.lua",)),
                                              "main.worker": worker(model="lua:m", entry=False), "e.lua": FANOUT_WORKER_LUA},
         ["run", ".", "x"], exit=1, stderr=err('map: item 2 of 2 ("fail"), worker \'main\' failed: model \'lua:m\' returned an invalid '
                    "response: unknown key 'txt'")),
    Case("a bad argument to an rt method points at the user's line",
         {"project.lua": project(workers=(), lua=("e.lua",)),
          "e.lua": 'local llmdo = require "llmdo"\nreturn { e = llmdo.entry { main = function(input, rt)\n'
                   '  local text = rt:read_file(nil)\n  return text\nend } }\n'},
         ["run", ".", "x"], exit=1, stderr=err("e.lua:3: bad argument #2 to 'read' (string expected, got nil)")),
    Case("a prompt to a schema entry is {input = PROMPT}", {"project.lua": project(workers=(), lua=("e.lua",)),
                                                           "e.lua": SCHEMA_ENTRY % "Q"},
         ["run", ".", "hello"], stdout="input=hello tag=nil\n"),
    Case("standard input to a schema entry too", {"project.lua": project(workers=(), lua=("e.lua",)),
                                                 "e.lua": SCHEMA_ENTRY % "Q"},
         ["run", "."], stdin="from stdin\n", stdout="input=from stdin tag=nil\n"),
    Case("a prompt that lacks a required field says how it maps",
         {"project.lua": project(workers=(), lua=("e.lua",)), "e.lua": SCHEMA_ENTRY % "R"}, ["run", ".", "hello"],
         exit=2, stderr=err('Invalid input: tag: required field is missing (a PROMPT or standard input is passed as '
                            '{"input": TEXT}; give the other fields with --input-json)')),
    Case("a missing attachment is an input error", files(),
         ["run", ".", "--input-json", '{"input": "x", "attachments": ["gone.pdf"]}'], exit=2,
         stderr=err("Attachment not found: {root}/gone.pdf")),
    Case("--chat without a terminal, whatever the approval mode", approval_project("prompt"), ["run", ".", "--chat"],
         exit=2, stderr=err("Chat mode requires a terminal (stdin and stdout must be a TTY)")),
    Case("headless, nothing can ask: runs without --approve-all",
         files(manifest='return { workers = { "main.worker" }, lua = { "m.lua" } }\n'), ["run", ".", "hi", "--headless"],
         stdout="a: hi\n"),
    Case("headless, a tool may ask: refused", approval_project("prompt"), ["run", ".", "hi", "--headless"], exit=2,
         stderr=err("Headless mode cannot prompt for approvals; use --approve-all or --reject-all")),
]

main(CASES)
