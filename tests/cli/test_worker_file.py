""".worker files: frontmatter and every field (features.md §2)."""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, basic, worker, main

RUN = ["run", ".", "hi"]

def w(text):
    return basic(**{"main.worker": text})

def err(msg):
    return f"Error: main.worker: {msg}\n"

FIELDS = ("name, description, entry, model, compatible_models, schema_in_ref, toolsets, server_side_tools, "
          "max_requests, max_tool_calls, model_settings")

CASES = [
    Case("instructions are the stripped body",
         basic(**{"main.worker": "---\nname: main\nmodel: lua:echo\nentry: true\n---\n\n  Say hi.  \n\n",
                  "hello.lua": 'local llmdo = require "llmdo"\nreturn { echo = llmdo.model(function(req) '
                               'return { text = "[" .. req.instructions .. "]" } end) }\n'}),
         RUN, stdout="[Say hi.]\n"),
    Case("a UTF-8 byte order mark before the frontmatter is skipped",
         w("\ufeff---\nname: main\nmodel: lua:echo\nentry: true\n---\nBody\n"), RUN, stdout="echo: hi\n"),
    Case("leading blank lines and longer dashes",
         w("\n\n-----\nname: main\nmodel: lua:echo\nentry: true\n-----\nBody\n"), RUN, stdout="echo: hi\n"),
    Case("missing frontmatter", w("name: main\n"), RUN, exit=2,
         stderr=err("Invalid worker file format: missing frontmatter")),
    Case("empty frontmatter", w("---\n---\nbody\n"), RUN, exit=2,
         stderr=err("Invalid worker file format: missing frontmatter")),
    Case("frontmatter is a list", w("---\n- a\n- b\n---\nbody\n"), RUN, exit=2,
         stderr=err("Invalid worker file format: missing frontmatter")),
    Case("frontmatter not closed", w("---\nname: main\n"), RUN, exit=2,
         stderr=err("Invalid worker file format: frontmatter is not closed by a '---' line")),
    Case("YAML syntax error with file line", w("---\nname: main\n  model: x\n---\n"), RUN, exit=2,
         stderr_re=r"^Error: main\.worker: Invalid YAML frontmatter: line 3, column \d+: .+\n$"),
    Case("duplicate YAML key", w("---\nname: main\nname: other\n---\n"), RUN, exit=2,
         stderr=err("Invalid YAML frontmatter: line 3, column 1: duplicate key 'name'")),
    Case("name required", w("---\nmodel: lua:echo\n---\n"), RUN, exit=2,
         stderr=err("Worker file must have a 'name' field")),
    Case("name empty", w("---\nname:\nmodel: lua:echo\n---\n"), RUN, exit=2,
         stderr=err("Worker file must have a 'name' field")),
    Case("name not a string", w("---\nname: 123\n---\n"), RUN, exit=2,
         stderr=err("Invalid name: expected string, got an integer")),
    Case("name must be a tool name", w("---\nname: my worker\n---\n"), RUN, exit=2,
         stderr=err("Invalid name 'my worker': worker names are tool names and must match ^[a-zA-Z0-9_-]{1,64}$")),
    Case("unknown field", w("---\nname: main\ntemperature: 0.2\n---\n"), RUN, exit=2,
         stderr=err(f"Unknown field 'temperature' (known fields: {FIELDS})")),
    Case("description must be a string", w(worker(extra="description: [a]")), RUN, exit=2,
         stderr=err("Invalid description: expected string")),
    Case("model must be a string", w("---\nname: main\nmodel: 5\n---\n"), RUN, exit=2,
         stderr=err("Invalid model: expected string")),
    Case("entry must be boolean", w(worker(entry=False, extra="entry: maybe")), RUN, exit=2,
         stderr=err("Invalid entry: expected boolean")),
    Case("entry yes is a YAML boolean", w(worker(entry=False, extra="entry: yes")), RUN, stdout="echo: hi\n"),
    Case("compatible_models must be a list", w(worker(model=None, extra="compatible_models: '*'")), RUN, exit=2,
         stderr=err("Invalid compatible_models: expected YAML list")),
    Case("compatible_models items are strings", w(worker(model=None, extra="compatible_models: [1]")), RUN,
         exit=2, stderr=err("Invalid compatible_models entry: expected string, got an integer")),
    Case("schema_in_ref must be a string", w(worker(extra="schema_in_ref: [x]")), RUN, exit=2,
         stderr=err("Invalid schema_in_ref: expected string")),
    Case("schema_in_ref must not be empty", w(worker(extra="schema_in_ref: '  '")), RUN, exit=2,
         stderr=err("Invalid schema_in_ref: must not be empty")),
    Case("toolsets must be a list", w(worker(extra="toolsets: shell_readonly")), RUN, exit=2,
         stderr=err("Invalid toolsets: expected YAML list")),
    Case("toolset entry empty", w(worker(extra="toolsets: ['']")), RUN, exit=2,
         stderr=err("Invalid toolset entry: expected non-empty string")),
    Case("toolset entry null", w(worker(extra="toolsets: [~]")), RUN, exit=2,
         stderr=err("Invalid toolset entry: expected non-empty string")),
    Case("toolset entry a number", w(worker(extra="toolsets: [5]")), RUN, exit=2,
         stderr=err("Invalid toolset entry: expected non-empty string")),
    Case("duplicate toolset entry", w(worker(extra="toolsets: [shell_readonly, shell_readonly]")), RUN,
         exit=2, stderr=err("Duplicate toolset entry: shell_readonly")),
    Case("named instance needs toolset", w(worker(extra="toolsets:\n  - src: {base_path: ./src}")), RUN,
         exit=2, stderr=err("Invalid toolset entry 'src': expected {toolset: NAME, ...configuration}")),
    Case("named instance is one key", w(worker(extra="toolsets:\n  - {a: {toolset: x}, b: {toolset: y}}")),
         RUN, exit=2,
         stderr=err("Invalid toolset entry: a named instance is a mapping with one key, "
                    "like 'src: {toolset: filesystem, base_path: ./src}'")),
    Case("named instance name is a tool prefix", w(worker(extra="toolsets:\n  - 'my src': {toolset: filesystem}")),
         RUN, exit=2, stderr=err("Invalid toolset instance name 'my src': must match ^[a-zA-Z0-9_-]{1,64}$")),
    Case("duplicate instance names",
         w(worker(extra="toolsets:\n  - a: {toolset: filesystem}\n  - a: {toolset: filesystem_project}")),
         RUN, exit=2, stderr=err("Duplicate toolset entry: a")),
    Case("server_side_tools must be a list", w(worker(extra="server_side_tools: {tool_type: web_search}")), RUN,
         exit=2, stderr=err("Invalid server_side_tools: expected YAML list")),
    Case("server_side_tools needs tool_type", w(worker(extra="server_side_tools:\n  - max_uses: 3")), RUN,
         exit=2, stderr=err("server_side_tools entry must have 'tool_type'")),
    Case("server_side_tools unknown type", w(worker(extra="server_side_tools:\n  - tool_type: teleport")), RUN,
         exit=2,
         stderr=err("Unknown tool_type: teleport. Supported: web_search, web_fetch, code_execution, image_generation")),
    Case("server_side_tools empty is fine", w(worker(extra="server_side_tools:")), RUN, stdout="echo: hi\n"),
]

main(CASES)
