"""Honest outcomes, the loop's side: why a model stopped decides what the
user sees and the exit status (refusals and filters fail, a cut-off answer
is kept but exits 3, a pause continues), malformed tool arguments become a
retry prompt, model settings reach the model, rt:call_agent reports the
stop reason and usage. Scripted models play the provider's part here; the
wire side is tested against the mock provider."""
import json

from harness import Case, main, project, worker

MODELS = r"""
local llmdo = require "llmdo"
local M = {}
local function turn(req)
  local n = 0
  for _, m in ipairs(req.messages) do if m.role == "assistant" then n = n + 1 end end
  return n
end
M.refuse = llmdo.model(function() return { stop_reason = "refusal", refusal = "I can't help with that." } end)
M.filtered = llmdo.model(function() return { text = "partial", stop_reason = "content_filter" } end)
M.full = llmdo.model(function() return { stop_reason = "context_window" } end)
M.cut = llmdo.model(function() return { text = "an answer cut sho", stop_reason = "max_tokens" } end)
M.cut_args = llmdo.model(function()
  return { tool_calls = { { name = "add", args = '{"a": 1, "b":' } }, stop_reason = "max_tokens" }
end)
-- malformed arguments first, good ones after the retry prompt
M.fumble = llmdo.model(function(req)
  local t = turn(req)
  if t == 0 then return { tool_calls = { { name = "add", args = '{"a": 1 "b": 2}' } } } end
  if t == 1 then
    local r = req.messages[#req.messages].parts[1]
    return { tool_calls = { { name = "add", args = '{"a": 1, "b": 2}' } }, text = r.is_error and r.content or "?" }
  end
  return { text = "sum " .. req.messages[#req.messages].parts[1].content }
end)
-- a server-side pause: the partial turn is sent back, and the model goes on
M.pause = llmdo.model(function(req)
  if turn(req) == 0 then return { text = "searching", stop_reason = "pause_turn" } end
  local last = req.messages[#req.messages]
  return { text = "resumed after " .. last.role .. ": " .. last.parts[1].text }
end)
M.settings = llmdo.model(function(req)
  local keys = {}
  for k, v in pairs(req.settings) do keys[#keys + 1] = k .. "=" .. llmdo.json.encode(v) end
  table.sort(keys)
  return { text = table.concat(keys, " ") }
end)
M.calc = llmdo.toolset { tools = { add = { approval = "pre_approved", params = { a = "number", b = "number" },
  fn = function(a) return a.a + a.b end } } }
M.counted = llmdo.model(function() return { text = "ok", usage = { input_tokens = 7, output_tokens = 2 } } end)
return M
"""


ENTRY = r"""
local llmdo = require "llmdo"
return { main = llmdo.entry { main = function(input, rt)
  local text, info = rt:call_agent("w", input)
  return string.format("%s | %s | %d request(s), %d in", text, info.stop_reason, info.usage.requests,
    info.usage.input_tokens)
end } }
"""


def proj(model, extra="", rest="", workers=("main.worker",), files=None):
    rest = (rest + ", " if rest else "") + "runtime = { approval_mode = 'approve_all' }" if "runtime" not in rest \
        else rest
    out = {"project.lua": project(workers=workers, lua=("m.lua",), rest=rest),
           "main.worker": worker(model=model, extra=extra), "m.lua": MODELS}
    out.update(files or {})
    return out


def err(msg):
    return f"Error: {msg}\n"


def http(model, mock, args=("run", ".", "hi"), toolsets=False, **kw):
    """The same outcomes end to end: llmdo run against the mock provider."""
    files = proj(model, extra="toolsets: [calc]" if toolsets else "")
    return dict(files=files, args=list(args), mock=mock, **kw)


def second_request_has(text):
    def check(reqs):
        body = json.dumps(reqs[1]["body"]) if len(reqs) > 1 else ""
        return [] if text in body else [f"the second request lacks {text!r}: {body[:300]}"]
    return check


ANT, OAI = "anthropic:claude-test", "openai:gpt-test"
WIRE = [
    ("http: anthropic max_tokens: printed, warned, exit 3", http(ANT, [{"text": "cut sho", "stop_reason": "max_tokens"}],
     exit=3, stdout="cut sho\n", stderr_has=["was cut at the max_tokens limit"])),
    ("http: openai length: exit 3", http(OAI, [{"text": "cut sho", "stop_reason": "length"}], exit=3,
     stdout="cut sho\n")),
    ("http: anthropic refusal", http(ANT, [{"text": "No.", "stop_reason": "refusal"}], exit=1,
     stderr="Error: Model stopped (refusal) in worker 'main' (anthropic:claude-test): the model refused: No.\n")),
    ("http: openai refusal text", http(OAI, [{"refusal": "I can't help with that.", "stop_reason": "stop"}], exit=1,
     stderr_has=["the model refused: I can't help with that."])),
    ("http: openai content_filter", http(OAI, [{"text": "partial", "stop_reason": "content_filter"}], exit=1,
     stderr_has=["Model stopped (content_filter)"])),
    ("http: pause_turn, then end_turn", http(ANT, [{"text": "searching", "stop_reason": "pause_turn"},
                                                  {"text": "found it"}],
     stdout="found it\n", check=second_request_has("searching"))),
    ("http: malformed tool arguments, then good ones", http(OAI, [
        {"tool_calls": [{"name": "add", "raw_args": '{"a": 1, "b": '}]},
        {"tool_calls": [{"name": "add", "args": {"a": 1, "b": 2}}]},
        {"text": "sum 3"}], toolsets=True, stdout="sum 3\n",
     check=second_request_has("Invalid arguments for tool 'add': not valid JSON ("))),
]

CASES = [Case(name, **kw) for name, kw in WIRE] + [
    Case("a refusal fails, showing the refusal", proj("lua:refuse"), ["run", ".", "hi"], exit=1,
         stderr=err("Model stopped (refusal) in worker 'main' (lua:refuse): the model refused: I can't help with "
                    "that.")),
    Case("a content filter fails", proj("lua:filtered"), ["run", ".", "hi"], exit=1,
         stderr=err("Model stopped (content_filter) in worker 'main' (lua:filtered): the provider's content filter "
                    "stopped the answer: partial")),
    Case("a full context window fails", proj("lua:full"), ["run", ".", "hi"], exit=1,
         stderr=err("Model stopped (context_window) in worker 'main' (lua:full): the conversation no longer fits "
                    "the model's context window")),
    Case("an answer cut at max_tokens is printed, with a warning and exit 3", proj("lua:cut"), ["run", ".", "hi"],
         exit=3, stdout="an answer cut sho\n",
         stderr="warning: the answer of worker 'main' was cut at the max_tokens limit (the provider's default "
                "max_tokens); raise model_settings.max_tokens, or set model_settings.allow_truncated = true\n"),
    Case("the warning names the setting in force",
         proj("lua:cut", extra="model_settings: {max_tokens: 20}"), ["run", ".", "hi"], exit=3,
         stderr_has=["(model_settings.max_tokens = 20)"]),
    Case("allow_truncated makes a cut answer a success",
         proj("lua:cut", extra="model_settings: {allow_truncated: true}"), ["run", ".", "hi"],
         stdout="an answer cut sho\n", stderr=""),
    Case("tool arguments cut at max_tokens are an error naming the limit",
         proj("lua:cut_args", extra="toolsets: [calc]"), ["run", ".", "hi"], exit=1,
         stderr=err("Model output was cut at the max_tokens limit in the arguments of tool 'add' (worker 'main', "
                    "the provider's default max_tokens): raise model_settings.max_tokens")),
    Case("malformed tool arguments go back as a retry prompt, then the call goes through",
         proj("lua:fumble", extra="toolsets: [calc]"), ["run", ".", "hi", "-v"],
         stdout="sum 3\n",
         stderr_has=["[main:1] Tool error: add\n  Invalid arguments for tool 'add': not valid JSON "
                     "(expected ',' or '}' at byte 9): {\"a\": 1 \"b\": 2}\n"]),
    Case("pause_turn resends the partial turn and goes on", proj("lua:pause"), ["run", ".", "hi"],
         stdout="resumed after assistant: searching\n"),
    Case("a pause counts against max_requests",
         proj("lua:pause", rest="runtime = { approval_mode = 'approve_all', max_requests = 1 }"),
         ["run", ".", "hi"], exit=1, stderr=err("Budget exceeded: max_requests = 1 for the call of worker 'main'")),
    Case("rt:call_agent returns the text and {stop_reason, usage}",
         {"project.lua": project(workers=("w.worker",), lua=("m.lua", "e.lua")),
          "w.worker": worker(name="w", model="lua:counted", entry=False), "m.lua": MODELS, "e.lua": ENTRY},
         ["run", ".", "hi"], stdout="ok | end_turn | 1 request(s), 7 in\n"),
    Case("-v shows why the model stopped", proj("lua:cut", extra="model_settings: {allow_truncated: true}"),
         ["run", ".", "hi", "-v"], stderr_has=["[main:1] [OK] Complete (max_tokens)\n"]),
    Case("model settings reach the model; a worker's keys win over the project's",
         proj("lua:settings", extra="model_settings: {temperature: 0.5, stop: [END]}",
              rest="runtime = { approval_mode = 'approve_all', model_settings = { temperature = 1, seed = 7 } }"),
         ["run", ".", "hi"], stdout='seed=7 stop=["END"] temperature=0.5\n'),
    Case("an unknown model setting is a link error naming the key",
         proj("lua:settings", extra="model_settings: {temprature: 0.5}"), ["check", "."], exit=2,
         stderr=err("main.worker: Invalid model_settings.temprature: unknown key; did you mean 'temperature'?")),
    Case("a model setting of the wrong type is a link error",
         proj("lua:settings", extra="model_settings: {max_tokens: lots}"), ["check", "."], exit=2,
         stderr_re=r"^Error: main\.worker: Invalid model_settings\.max_tokens: expected an integer >= 1, got .*\n$"),
    Case("a setting the provider does not take is a link error naming the provider",
         proj("anthropic:claude-haiku-4-5", extra="model_settings: {seed: 7}"), ["check", "."], exit=2,
         stderr=err("main.worker: model_settings.seed is not supported by provider 'anthropic' "
                    "(anthropic:claude-haiku-4-5)")),
    Case("the same from runtime.model_settings names the runtime key",
         proj("openai:gpt-4o-mini", rest="runtime = { model_settings = { thinking = { budget_tokens = 2048 } } }"),
         ["check", "."], exit=2,
         stderr=err("main.worker: runtime.model_settings.thinking is not supported by provider 'openai' "
                    "(openai:gpt-4o-mini)")),
    Case("a table result is printed with sorted keys, the same in every process",
         {"project.lua": project(workers=(), lua=("t.lua",)),
          "t.lua": 'local llmdo = require "llmdo"\nreturn { main = llmdo.entry { main = function()\n'
                   '  local t = {}\n  for i = 1, 20 do t["k" .. string.char(96 + i)] = i end\n'
                   '  return t\nend } }\n'},
         ["run", ".", "x"],
         stdout_re="^{\n" + "".join(f'  "k{chr(96 + i)}": {i},?\n' for i in range(1, 21)) + "}\n$"),
    Case("runtime.model_settings is checked too",
         proj("lua:settings", rest="runtime = { model_settings = { top_p = 3 } }"), ["check", "."], exit=2,
         stderr_re=r"^Error: project\.lua: runtime\.model_settings\.top_p: .*\n$"),
]

main(CASES)
