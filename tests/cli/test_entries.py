"""Lua entries, input schemas and call_agent (features.md §3.3, §4; reference doc sections)."""
import os, shutil, sys
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, project, worker, main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

WORKERS = r"""
local llmdo = require "llmdo"
local M = {}
M.Topic = llmdo.schema { fields = { topic = "string", depth = { type = "integer", minimum = 1, optional = true } },
  prompt = function(a) return "Explain " .. a.topic .. " at depth " .. (a.depth or 1) end, name = "Topic" }
M.Other = llmdo.schema { fields = { x = "string" } }  -- named as exported
-- the model echoes what it received: the text parts and attachment names
M.echo = llmdo.model(function(req)
  local out = {}
  for _, p in ipairs(req.messages[#req.messages].parts) do
    out[#out + 1] = p.type == "text" and p.text or ("[" .. p.media_type .. " " .. p.path:match("[^/]+$") .. "]")
  end
  return { text = req.worker .. "@" .. req.depth .. ": " .. table.concat(out, " + ") }
end)
return M
"""

def entry_project(body, extra_workers=""):
    lua = "local llmdo = require 'llmdo'\nlocal S = require 'schemas'\nlocal M = {}\n" + body + "\nreturn M\n"
    return {"project.lua": project(workers=("plain.worker", "typed.worker"), lua=("schemas.lua", "e.lua")),
            "plain.worker": worker(name="plain", model="lua:echo", entry=False),
            "typed.worker": worker(name="typed", model="lua:echo", entry=False, extra="schema_in_ref: schemas.lua:Topic"),
            "schemas.lua": WORKERS, "e.lua": lua, "pic.png": b"\x89PNG\r\n"}

def call(expr):
    return entry_project("M.main = llmdo.entry { main = function(input, rt) return " + expr + " end }")

def err(msg):
    return f"Error: {msg}\n"

CASES = [
    Case("call_agent with a string", call('rt:call_agent("plain", "hi")'), ["run", ".", "x"], stdout="plain@1: hi\n"),
    Case("call_agent with {input=, attachments=}", call('rt:call_agent("plain", { input = "see", attachments = { "pic.png" } })'),
         ["run", ".", "x"], stdout="plain@1: see + [image/png pic.png]\n"),
    Case("call_agent with a list of prompt parts", call('rt:call_agent("plain", { "a", llmdo.attachment("pic.png"), "b" })'),
         ["run", ".", "x"], stdout="plain@1: a + [image/png pic.png] + b\n"),
    Case("call_agent with a table for a schema worker", call('rt:call_agent("typed", { topic = "tides", depth = 2 })'),
         ["run", ".", "x"], stdout="typed@1: Explain tides at depth 2\n"),
    Case("call_agent with a schema instance", call('rt:call_agent("typed", S.Topic { topic = "moons" })'),
         ["run", ".", "x"], stdout="typed@1: Explain moons at depth 1\n"),
    Case("schema input is validated before the worker runs, naming the field",
         call('rt:call_agent("typed", { topic = "tides", depth = 0 })'), ["run", ".", "x"], exit=1,
         stderr=err("Invalid input: depth: must be >= 1, got 0")),
    Case("an instance of another schema", call('rt:call_agent("typed", S.Other { x = "y" })'), ["run", ".", "x"],
         exit=1, stderr=err("Expected input for schema Topic; got an instance of Other")),
    Case("a list of prompt parts skips schema validation (as upstream)", call('rt:call_agent("typed", { "raw text" })'),
         ["run", ".", "x"], stdout="typed@1: raw text\n"),
    Case("a table without input", call('rt:call_agent("plain", { text = "x" })'), ["run", ".", "x"], exit=1,
         stderr=err("Input object must have an 'input' field")),
    Case("a bad list item", call('rt:call_agent("plain", { "a", 42 })'), ["run", ".", "x"], exit=1,
         stderr=err("Message list items must be strings or llmdo.attachment(path); got an integer")),
    Case("a bad input type", call('rt:call_agent("plain", 42)'), ["run", ".", "x"], exit=1,
         stderr=err("Worker input must be a string, a list of prompt parts, a table with 'input', or a schema "
                    "instance; got an integer")),
    Case("an unknown agent", call('rt:call_agent("ghost", "x")'), ["run", ".", "x"], exit=1,
         stderr=err("Agent 'ghost' not found. Available: ['plain', 'typed']")),
    Case("a pcall'd failure leaves the entry in control",
         call('select(2, pcall(rt.call_agent, rt, "ghost", "x")).message'), ["run", ".", "x"],
         stdout="Agent 'ghost' not found. Available: ['plain', 'typed']\n"),
    Case("the entry frame: depth 0, max_depth, its name, the project root",
         call('rt.depth .. " " .. rt.max_depth .. " " .. rt.worker .. " " .. (rt.project_root == os.getenv("PWD") '
              'and "root" or rt.project_root)'),
         ["run", ".", "x", "--max-depth", "7"], env={"PWD": "{root}"}, stdout="0 7 main root\n"),
    Case("entry with schema_in receives the instance",
         entry_project('M.main = llmdo.entry { schema_in = S.Topic, main = function(args, rt) '
                       'return rt:call_agent("typed", args) end }'),
         ["run", ".", "--input-json", '{"topic": "rain"}'], stdout="typed@1: Explain rain at depth 1\n"),
    Case("entry with schema_in: invalid CLI input is a usage error",
         entry_project('M.main = llmdo.entry { schema_in = S.Topic, main = function(args) return args.topic end }'),
         ["run", ".", "--input-json", '{"topic": 5}'], exit=2, stderr=err("Invalid input: topic: expected string, got integer")),
    Case("a bad schema instance in entry code is a run failure",
         call('S.Topic { topic = 5 }'), ["run", ".", "x"], exit=1,
         stderr=err("Invalid input for schema Topic: topic: expected string, got integer")),
    Case("a schema without a name is named as exported",
         call('S.Other { y = 1 }'), ["run", ".", "x"], exit=1,
         stderr=err("Invalid input for schema Other: x: required field is missing; y: unknown field")),
    Case("require finds project modules beneath the root, once per process, from any directory",
         {"p/project.lua": project(workers=(), lua=("e.lua", "schemas.lua")),
          "p/schemas.lua": "local n = (N or 0) + 1; N = n\nreturn { loads = n }\n",
          "p/lib/fmt.lua": "return { shout = function(s) return s:upper() .. ' (schemas loaded ' .. "
                           "require('schemas').loads .. 'x)' end }\n",
          "p/e.lua": "local llmdo = require 'llmdo'\nlocal fmt = require 'lib.fmt'\n"
                     "return { main = llmdo.entry { main = function(input) return fmt.shout(input[1]) end } }\n"},
         ["run", "p", "hi"], stdout="HI (schemas loaded 1x)\n"),
    Case("require of a missing module names the project root it searched",
         {"project.lua": project(workers=(), lua=("e.lua",)),
          "e.lua": "require 'nope'\nreturn {}\n"},
         ["run", ".", "x"], exit=2, stderr_re=r"^Error: e.lua:1: module 'nope' not found \(looked beneath /\S+ and in package.path/cpath\)\n$"),
    Case("empty lists are JSON arrays", call('{ rt:map({}, print), rt:list_files("nowhere") }'), ["run", ".", "x"],
         stdout="[\n  [],\n  []\n]\n"),
    Case("entries may run files beneath the project root",
         call('(function() rt:write_file("out/r.txt", "report") return rt:read_file("out/r.txt") .. " " '
              '.. table.concat(rt:list_files(".", "**/*.txt"), ",") end)()'),
         ["run", ".", "x"], stdout="report out/r.txt\n"),
    Case("entry file helpers stay beneath the root", call('rt:read_file("../../etc/passwd")'), ["run", ".", "x"],
         exit=1, stderr=err("Path escapes the project root: ../../etc/passwd")),
    Case("the code-entry example: one worker call per input file, reports written",
         {os.path.relpath(os.path.join(dp, f), os.path.join(ROOT, "examples", "code_entry")):
              open(os.path.join(dp, f), "rb").read()
          for dp, _, fs in os.walk(os.path.join(ROOT, "examples", "code_entry")) for f in fs
          if "evaluations" not in dp},
         ["run", "."],
         stdout="Evaluated 2 pitch deck(s): acme-rockets, globex\n"),
]

main(CASES)
