"""Approvals without a person: decision order, modes, worker calls, outcomes (features.md §8, §7.4)."""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, project, worker, main

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = open(os.path.join(HERE, "lua", "script_model.lua")).read()
TOOLS = open(os.path.join(HERE, "lua", "approval_tools.lua")).read()

CHILD_TOOLS = """
local llmdo = require "llmdo"
return { child_ts = llmdo.toolset { factory = function()
  io.stderr:write("child toolsets built\\n")
  return { tools = {} }
end } }
"""

def proj(runtime="approval_mode = 'approve_all'", main_toolsets="[ops, helper]"):
    return {
        "project.lua": project(workers=("main.worker", "helper.worker"),
                               lua=("script_model.lua", "approval_tools.lua", "child.lua"),
                               rest=f"runtime = {{ {runtime} }}"),
        "main.worker": worker(model="lua:script", extra=f"toolsets: {main_toolsets}"),
        "helper.worker": worker(name="helper", model="lua:child", entry=False, extra="toolsets: [child_ts]"),
        "script_model.lua": SCRIPT, "approval_tools.lua": TOOLS, "child.lua": CHILD_TOOLS,
        "a.pdf": b"%PDF-1.4 test\n",
    }

REJECT = "approval_mode = 'reject_all'"
PROMPT = "approval_mode = 'prompt'"

def err(msg):
    return f"Error: {msg}\n"

CASES = [
    Case("secure default: a tool without approval config needs approval", proj(REJECT),
         ["run", ".", 'mul:{"a":2,"b":3};say'], exit=1, stderr=err("Approval denied for mul: --reject-all")),
    Case("approve_all runs it", proj(), ["run", ".", 'mul:{"a":2,"b":3};say'], stdout="6\n"),
    Case("pre_approved runs under reject_all", proj(REJECT), ["run", ".", 'add:{"a":2,"b":3};say'], stdout="5\n"),
    Case("approval = required asks the mode", proj(REJECT), ["run", ".", 'must_ask:{"n":1};say'], exit=1,
         stderr=err("Approval denied for must_ask: --reject-all")),
    Case("--approve-all overrides reject_all", proj(REJECT), ["run", ".", 'mul:{"a":2,"b":3};say', "--approve-all"],
         stdout="6\n"),
    Case("--reject-all overrides approve_all", proj(), ["run", ".", 'mul:{"a":2,"b":3};say', "--reject-all"], exit=1,
         stderr=err("Approval denied for mul: --reject-all")),
    Case("blocked beats --approve-all", proj(), ["run", ".", 'guarded:{"path":"/etc/passwd","n":1};say', "--approve-all"],
         exit=1, stderr=err("Blocked guarded: absolute paths are not allowed")),
    Case("approval function: pre_approved beats reject_all", proj(REJECT),
         ["run", ".", 'guarded:{"path":"a.txt","n":1};say'], stdout="guarded a.txt\n"),
    Case("approval function: required follows the mode (reject)", proj(REJECT),
         ["run", ".", 'guarded:{"path":"a.txt","n":50};say'], exit=1, stderr=err("Approval denied for guarded: --reject-all")),
    Case("approval function: required follows the mode (approve)", proj(),
         ["run", ".", 'guarded:{"path":"a.txt","n":50};say'], stdout="guarded a.txt\n"),
    Case("approval function with a bad answer", proj(), ["run", ".", "confused:{};say"], exit=1,
         stderr=err('the approval function of tool \'confused\' returned maybe (expected "pre_approved", '
                    '"required" or "blocked", reason)')),
    Case("return_permission_errors sends the denial to the model",
         proj(REJECT + ", return_permission_errors = true"), ["run", ".", 'mul:{"a":2,"b":3};add:{"a":1,"b":1};say'],
         stdout='{"error":"Approval denied for mul: --reject-all","error_type":"permission","tool_name":"mul"} | 2\n'),
    Case("return_permission_errors covers blocked calls",
         proj("return_permission_errors = true, approval_mode = 'approve_all'"),
         ["run", ".", 'guarded:{"path":"/x","n":1};say'],
         stdout='{"error":"Blocked guarded: absolute paths are not allowed","error_type":"permission",'
                '"tool_name":"guarded"}\n'),
    Case("worker calls are pre-approved by default", proj(REJECT), ["run", ".", 'helper:{"input":"hi"};say'],
         stdout="child got hi\n", stderr="child toolsets built\n"),
    Case("worker_calls_require_approval; a denied call never builds the child's toolsets",
         proj(REJECT + ", worker_calls_require_approval = true"), ["run", ".", 'helper:{"input":"hi"};say'], exit=1,
         stderr=err("Approval denied for helper: --reject-all")),
    Case("worker_attachments_require_approval with attachments",
         proj(REJECT + ", worker_attachments_require_approval = true"),
         ["run", ".", 'helper:{"input":"hi","attachments":["a.pdf"]};say'], exit=1,
         stderr=err("Approval denied for helper: --reject-all")),
    Case("worker_attachments_require_approval without attachments",
         proj(REJECT + ", worker_attachments_require_approval = true"), ["run", ".", 'helper:{"input":"hi"};say'],
         stdout="child got hi\n", stderr="child toolsets built\n"),
    Case("worker_approval_overrides can require one worker",
         proj(REJECT + ", worker_approval_overrides = { helper = { calls_require_approval = true } }"),
         ["run", ".", 'helper:{"input":"hi"};say'], exit=1, stderr=err("Approval denied for helper: --reject-all")),
    Case("worker_approval_overrides can free one worker",
         proj(REJECT + ", worker_calls_require_approval = true, worker_approval_overrides = "
              "{ helper = { calls_require_approval = false } }"),
         ["run", ".", 'helper:{"input":"hi"};say'], stdout="child got hi\n", stderr="child toolsets built\n"),
    Case("no bypass: ctx:call_tool passes the gate", proj(REJECT), ["run", ".", "calls_mul:{};say"], exit=1,
         stderr=err("Approval denied for mul: --reject-all")),
    Case("no bypass: ctx:call_agent passes the worker-call gate",
         proj(REJECT + ", worker_calls_require_approval = true"), ["run", ".", "calls_agent:{};say"], exit=1,
         stderr=err("Approval denied for helper: --reject-all")),
    Case("ctx:call_agent allowed by default", proj(REJECT), ["run", ".", "calls_agent:{};say"],
         stdout="child got from a tool\n", stderr="child toolsets built\n"),
    Case("prompt mode without a terminal fails before anything runs", proj(PROMPT),
         ["run", ".", 'add:{"a":1,"b":1};say'], exit=2,
         stderr=err("Headless mode cannot prompt for approvals; use --approve-all or --reject-all")),
    Case("prompt mode is the default", {**proj(), "project.lua": project(
        workers=("main.worker", "helper.worker"), lua=("script_model.lua", "approval_tools.lua", "child.lua"),
        rest="runtime = { max_depth = 3 }")},
         ["run", ".", "say"], exit=2, stderr_has=["Headless mode cannot prompt"]),
    Case("--headless refuses prompt mode", proj(PROMPT), ["run", ".", "say", "--headless"], exit=2,
         stderr_has=["Headless mode cannot prompt"]),
]

main(CASES)
