"""Input: precedence and errors (features.md §4 and §10)."""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, basic, project, worker, main

def err(msg):
    return f"Error: {msg}\n"

def proj(rest):
    return basic(**{"project.lua": project(rest=rest)})

SCHEMA_LUA = """
local llmdo = require "llmdo"
local M = {}
M.Tagged = llmdo.schema { fields = { input = "string", tag = "string", n = "integer?" },
  prompt = function(a) return a.input .. ":" .. a.tag end }
M.main = llmdo.entry { schema_in = M.Tagged, main = function(args, rt)
  return "tag=" .. args.tag .. " n=" .. tostring(args.n) end }
return M
"""

INSPECT_LUA = """
local llmdo = require "llmdo"
return { main = llmdo.entry { main = function(input, rt)
  local out = {}
  for i, p in ipairs(input) do out[i] = type(p) == "string" and p or ("attachment:" .. p.path) end
  return table.concat(out, "|")
end } }
"""

def entry_project(lua):
    return {"project.lua": project(workers=(), lua=("e.lua",)), "e.lua": lua}

CASES = [
    Case("prompt argument", basic(), ["run", ".", "from prompt"], stdout="echo: from prompt\n"),
    Case("prompt after flags", basic(), ["run", "-v", ".", "--debug", "late prompt"], stdout="echo: late prompt\n"),
    Case("entry.input from project.lua", proj('entry = { input = "from manifest" }'), ["run", "."],
         stdout="echo: from manifest\n"),
    Case("prompt beats entry.input", proj('entry = { input = "from manifest" }'), ["run", ".", "cli"],
         stdout="echo: cli\n"),
    Case("--input-json beats entry.input", proj('entry = { input = "from manifest" }'),
         ["run", ".", "--input-json", '{"input": "json"}'], stdout="echo: json\n"),
    Case("entry.input table", proj('entry = { input = { input = "tbl" } }'), ["run", "."], stdout="echo: tbl\n"),
    Case("stdin when nothing else", basic(), ["run", "."], stdin="  piped text \n", stdout="echo: piped text\n"),
    Case("entry.input beats stdin", proj('entry = { input = "manifest" }'), ["run", "."], stdin="piped",
         stdout="echo: manifest\n"),
    Case("no input at all", basic(), ["run", "."], exit=2,
         stderr=err("No input provided (use a prompt argument, --input-json, entry.input in project.lua, or "
                    "standard input)")),
    Case("empty stdin is no input", basic(), ["run", "."], stdin=" \n\n", exit=2,
         stderr_has=["No input provided"]),
    Case("allow_cli_input false refuses a prompt", proj('entry = { input = "m", allow_cli_input = false }'),
         ["run", ".", "cli"], exit=2,
         stderr=err("CLI input not allowed by project (entry.allow_cli_input is false)")),
    Case("allow_cli_input false refuses --input-json", proj('entry = { input = "m", allow_cli_input = false }'),
         ["run", ".", "--input-json", "{}"], exit=2,
         stderr=err("CLI input not allowed by project (entry.allow_cli_input is false)")),
    Case("allow_cli_input false still runs entry.input", proj('entry = { input = "m", allow_cli_input = false }'),
         ["run", "."], stdout="echo: m\n"),
    Case("prompt and --input-json", basic(), ["run", ".", "p", "--input-json", '{"input": "j"}'], exit=2,
         stderr=err("Cannot combine prompt argument and --input-json")),
    Case("--input-json invalid", basic(), ["run", ".", "--input-json", "{nope"], exit=2,
         stderr_re=r"^Error: Invalid JSON in --input-json: .+\n$"),
    Case("--input-json not an object", basic(), ["run", ".", "--input-json", "[1, 2]"], exit=2,
         stderr=err("--input-json must be a JSON object")),
    Case("--input-json a string", basic(), ["run", ".", "--input-json", '"hi"'], exit=2,
         stderr=err("--input-json must be a JSON object")),
    Case("--input-json without input", basic(), ["run", ".", "--input-json", '{"text": "x"}'], exit=2,
         stderr=err("Input object must have an 'input' field")),
    Case("--input-json input must be a string", basic(), ["run", ".", "--input-json", '{"input": 5}'], exit=2,
         stderr=err("Input field 'input' must be a string, got an integer")),
    Case("--input-json with attachments", entry_project(INSPECT_LUA),
         ["run", ".", "--input-json", '{"input": "look", "attachments": ["a.png", "b.pdf"]}'],
         stdout="look|attachment:a.png|attachment:b.pdf\n"),
    Case("lua entry receives the prompt parts", entry_project(INSPECT_LUA), ["run", ".", "hello"],
         stdout="hello\n"),
    Case("typed fields reach a schema entry",
         entry_project(SCHEMA_LUA), ["run", ".", "--input-json", '{"input": "x", "tag": "t1", "n": 3}'],
         stdout="tag=t1 n=3\n"),
    Case("schema entry input is validated, naming the field",
         entry_project(SCHEMA_LUA), ["run", ".", "--input-json", '{"input": "x", "tag": 5}'], exit=2,
         stderr=err("Invalid input: tag: expected string, got integer")),
    Case("schema entry: missing field",
         entry_project(SCHEMA_LUA), ["run", ".", "--input-json", '{"input": "x"}'], exit=2,
         stderr=err("Invalid input: tag: required field is missing")),
    Case("schema entry: unknown field",
         entry_project(SCHEMA_LUA), ["run", ".", "--input-json", '{"input": "x", "tag": "t", "zzz": 1}'], exit=2,
         stderr=err("Invalid input: zzz: unknown field")),
    Case("blank prompt becomes (no input)", basic(), ["run", ".", "   "], stdout="echo: (no input)\n"),
]

main(CASES)
