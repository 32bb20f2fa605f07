"""The provider side of honest outcomes, end to end against the mock provider:
stop reasons, refusals, malformed tool arguments, stream integrity, prompt
caching, settings on the wire and deterministic request bodies. Each case runs
one request through models.request (tests/cli/lua/wire_probe.lua) and checks
the canonical response it wrote, and the request the mock received."""
import json
import os
import sys
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, Custom, project, worker, main, mock_provider, run_case

PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lua", "wire_probe.lua")
ANT, OAI = "anthropic:claude-test", "openai:gpt-test"
ADD_TOOL = {"name": "add", "description": "Adds.", "parameters": {
    "type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}}


def read_out(root):
    try:
        with open(os.path.join(root, "out.json")) as f:
            return json.load(f), []
    except (OSError, ValueError) as e:
        return None, [f"no canonical response written: {e}"]


def probe(name, model, mock, want=None, req=None, ctx=None, check=None, exit=0, stderr=None, stderr_has=()):
    """A case: one request; want maps canonical fields (dotted paths) to values."""
    ctx = dict({"stream": False, "max_retries": 1}, **(ctx or {}))

    def after(root):
        if exit != 0:
            return []
        out, problems = read_out(root)
        if out is None:
            return problems
        for path, value in (want or {}).items():
            got = out
            for k in path.split("."):
                got = got[int(k)] if isinstance(got, list) else (got or {}).get(k)
            if got != value:
                problems.append(f"{path}: got {got!r}, want {value!r}")
        return problems

    return Case(name, {}, ["lua", PROBE, model, json.dumps(req or {}), json.dumps(ctx), "{root}/out.json"],
                env={"LLMDO_INTERNALS": "1"}, mock=mock, check=check, after=after, exit=exit, stderr=stderr,
                stderr_has=stderr_has)


def both_ways(name, model, resp, want, **kw):
    """The same response, non-streamed and streamed."""
    return [probe(f"{name} ({how})", model, [resp], want, ctx={"stream": stream}, **kw)
            for how, stream in (("plain", False), ("stream", True))]


def expect(cond, msg):
    return [] if cond else [msg]


def count(n):
    return lambda reqs: expect(len(reqs) == n, f"{len(reqs)} requests, want {n}")


CASES = []

# --- stop reasons -------------------------------------------------------------------
for raw, canon in [("end_turn", "end_turn"), ("max_tokens", "max_tokens"), ("stop_sequence", "stop_sequence"),
                   ("pause_turn", "pause_turn"), ("refusal", "refusal"),
                   ("model_context_window_exceeded", "context_window")]:
    CASES += both_ways(f"anthropic stop_reason {raw}", ANT, {"text": "Some text", "stop_reason": raw},
                       {"stop_reason": canon, "stop_detail": raw, "text": "Some text"})
CASES += both_ways("anthropic stop_reason tool_use", ANT, {"tool_calls": [{"name": "add", "args": {"a": 1, "b": 2}}]},
                   {"stop_reason": "tool_use", "stop_detail": "tool_use", "tool_calls.0.args": {"a": 1, "b": 2}})
for raw, canon in [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "content_filter")]:
    CASES += both_ways(f"openai finish_reason {raw}", OAI, {"text": "Some text", "stop_reason": raw},
                       {"stop_reason": canon, "stop_detail": raw, "text": "Some text"})
for raw in ("tool_calls", "function_call"):
    CASES += both_ways(f"openai finish_reason {raw}", OAI, {"tool_calls": [{"name": "add", "args": {"a": 1}}],
                                                            "stop_reason": raw},
                       {"stop_reason": "tool_use", "stop_detail": raw, "tool_calls.0.name": "add"})
CASES += both_ways("openai: a refusal", OAI, {"refusal": "I can't help with that.", "stop_reason": "stop"},
                   {"stop_reason": "refusal", "refusal": "I can't help with that.", "text": None})
CASES += both_ways("openai: length with a tool call is max_tokens, not a tool turn", OAI,
                   {"tool_calls": [{"name": "add", "raw_args": '{"a": 1, "b'}], "stop_reason": "length"},
                   {"stop_reason": "max_tokens", "tool_calls.0.args": {},
                    "tool_calls.0.args_error": "not valid JSON "
                                               "(unterminated string at byte 12): {\"a\": 1, \"b"})

# --- text blocks, tool arguments ----------------------------------------------------------
CASES += both_ways("anthropic: text blocks joined by a blank line; whitespace blocks dropped", ANT,
                   {"texts": ["First.", " \n", "Second."]}, {"text": "First.\n\nSecond.",
                                                             "parts.1.text": "Second."})
for model in (ANT, OAI):
    CASES.append(probe(f"{model.split(':')[0]}: malformed streamed tool arguments become args_error", model,
                       [{"tool_calls": [{"name": "add", "raw_args": '{"a": 1,, "b": 2}'}]}],
                       {"stop_reason": "tool_use", "tool_calls.0.args": {}, "tool_calls.0.name": "add",
                        "tool_calls.0.args_error": "not valid JSON "
                                                   "(expected a string key at byte 9): {\"a\": 1,, \"b\": 2}"},
                       ctx={"stream": True}))
CASES.append(probe("openai: non-object tool arguments become args_error", OAI,
                   [{"tool_calls": [{"name": "add", "raw_args": "[1, 2]"}]}],
                   {"tool_calls.0.args": {},
                    "tool_calls.0.args_error": "not a JSON object: [1, 2]"}))


def no_whitespace_blocks(reqs):
    blocks = [b for m in reqs[0]["body"]["messages"] for b in m["content"]]
    return expect([b["type"] for b in blocks] == ["text", "tool_use", "tool_result"], f"blocks {blocks}")


CASES.append(probe("anthropic: whitespace-only text blocks are not echoed back", ANT, [{"text": "ok"}], {"text": "ok"},
                   req={"messages": [
                       {"role": "user", "parts": [{"type": "text", "text": "hi"}]},
                       {"role": "assistant", "parts": [{"type": "text", "text": "\n\n"},
                                                       {"type": "tool_call", "id": "t1", "name": "add", "args": {}}]},
                       {"role": "tool", "parts": [{"type": "tool_result", "id": "t1", "content": "3"}]}]},
                   check=no_whitespace_blocks))

# --- stream integrity -------------------------------------------------------------------------
for model, name in ((ANT, "anthropic"), (OAI, "openai")):
    CASES.append(probe(f"{name}: a JSON answer to a streaming request", model,
                       [{"fault": "json_for_stream", "text": "not streamed"}],
                       {"text": "not streamed", "stop_reason": "end_turn"}, ctx={"stream": True}, check=count(1)))
    CASES.append(probe(f"{name}: a JSON body labelled as an event stream", model,
                       [{"fault": "json_for_stream", "text": "sniffed", "content_type": "text/event-stream"}],
                       {"text": "sniffed"}, ctx={"stream": True}, check=count(1)))
    CASES.append(probe(f"{name}: a stream without its terminal event is retried", model,
                       [{"fault": "no_terminal", "text": "cut short"}, {"text": "whole"}],
                       {"text": "whole", "resets": 1, "deltas": "cut shortwhole"}, ctx={"stream": True},
                       check=count(2)))
CASES.append(probe("anthropic: a stream cut inside a tool call is retried", ANT,
                   [{"fault": "no_terminal", "cut_after": 4, "tool_calls": [{"name": "add", "args": {"a": 1}}]},
                    {"text": "whole"}], {"text": "whole", "resets": 1}, ctx={"stream": True}, check=count(2)))
CASES.append(probe("anthropic: a stream that keeps ending early fails after the retries", ANT,
                   [{"fault": "no_terminal", "text": "cut"}] * 2, ctx={"stream": True}, exit=75, check=count(2),
                   stderr="Error: Model request to anthropic:claude-test failed: stream ended early (no message_stop)\n"))
CASES.append(probe("openai: a stream that keeps ending early fails after the retries", OAI,
                   [{"fault": "no_terminal", "text": "cut"}] * 2, ctx={"stream": True}, exit=75, check=count(2),
                   stderr="Error: Model request to openai:gpt-test failed: stream ended early "
                          "(no finish_reason or [DONE])\n"))
CASES.append(probe("anthropic: an error body answering a streaming request is the provider's error", ANT,
                   [{"fault": "json_for_stream", "body": {"type": "error", "error": {"type": "overloaded_error",
                                                                                      "message": "Overloaded"}}}],
                   ctx={"stream": True}, exit=1,
                   stderr="Error: Model API error (status 200) from anthropic:claude-test: Overloaded\n"))
CASES.append(probe("anthropic: an error event in a 200 stream names its type", ANT,
                   [{"fault": "stream_error", "message": "Overloaded"}], ctx={"stream": True}, exit=75,
                   stderr="Error: Model API error (in stream) from anthropic:claude-test: overloaded_error: "
                          "Overloaded\n"))

# --- prompt caching ------------------------------------------------------------------------------
EPH = {"type": "ephemeral"}
HISTORY = {"instructions": "Be brief.", "tools": [ADD_TOOL], "messages": [
    {"role": "user", "parts": [{"type": "text", "text": "add"}]},
    {"role": "assistant", "parts": [{"type": "tool_call", "id": "t1", "name": "add", "args": {"a": 1, "b": 2}}]},
    {"role": "tool", "parts": [{"type": "tool_result", "id": "t1", "content": "3"}]}]}


def cache_marks(reqs):
    b = reqs[0]["body"]
    marks = sorted(path for path, v in walk(b, "") if path.endswith("cache_control"))
    return (expect(b["system"] == [{"type": "text", "text": "Be brief.", "cache_control": EPH}], f"system {b['system']}")
            + expect(marks == ["messages.2.content.0.cache_control", "system.0.cache_control",
                               "tools.0.cache_control"], f"marks {marks}"))


def walk(v, path):
    if isinstance(v, dict):
        for k, x in v.items():
            yield (path + k, x)
            yield from walk(x, path + k + ".")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from walk(x, f"{path}{i}.")


CASES.append(probe("anthropic: cache breakpoints on the system prompt, the last tool and the last block", ANT,
                   [{"text": "ok", "usage": {"input": 20, "cache_read": 1000, "cache_write": 300}}],
                   {"usage": {"input_tokens": 1320, "output_tokens": 5, "cache_read": 1000, "cache_write": 300}},
                   req=HISTORY, check=cache_marks))
CASES.append(probe("anthropic: cache usage from a stream", ANT,
                   [{"text": "ok", "usage": {"input": 20, "cache_read": 1000, "cache_write": 300}}],
                   {"usage": {"input_tokens": 1320, "output_tokens": 5, "cache_read": 1000, "cache_write": 300}},
                   req=HISTORY, ctx={"stream": True}))
CASES += both_ways("openai: cached prompt tokens are cache_read", OAI,
                   {"text": "ok", "usage": {"input": 1200, "output": 9, "cache_read": 1024}},
                   {"usage": {"input_tokens": 1200, "output_tokens": 9, "cache_read": 1024, "cache_write": 0}})

# --- settings on the wire --------------------------------------------------------------------------
SETTINGS = {"max_tokens": 1234, "temperature": 0.25, "top_p": 0.5, "stop": ["END", "STOP"], "seed": 7,
            "parallel_tool_calls": False, "thinking": {"budget_tokens": 1024}, "reasoning_effort": "low",
            "cache": True, "allow_truncated": True}


def wire_has(want, lacks=()):
    def check(reqs):
        b = reqs[0]["body"]
        out = [f"{k}: {b.get(k)!r}, want {v!r}" for k, v in want.items() if b.get(k) != v]
        return out + [f"{k} sent" for k in lacks if k in b]
    return check


ANT_SETTINGS = dict(SETTINGS)
del ANT_SETTINGS["seed"], ANT_SETTINGS["reasoning_effort"]
CASES.append(probe("anthropic: settings reach the wire", ANT, [{"text": "ok"}], {"text": "ok"},
                   req={"tools": [ADD_TOOL], "settings": ANT_SETTINGS},
                   check=wire_has({"max_tokens": 1234, "temperature": 0.25, "top_p": 0.5,
                                   "stop_sequences": ["END", "STOP"],
                                   "thinking": {"type": "enabled", "budget_tokens": 1024},
                                   "tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
                                  lacks=("stop", "seed", "allow_truncated", "cache", "parallel_tool_calls"))))
CASES.append(probe("anthropic: max_tokens defaults to the model's output limit", "anthropic:claude-sonnet-4-5-20250929",
                   [{"text": "ok"}], {"text": "ok"}, check=wire_has({"max_tokens": 64000}, lacks=("tool_choice",))))
OAI_SETTINGS = dict(SETTINGS)
del OAI_SETTINGS["thinking"]
CASES.append(probe("openai: settings reach the wire", OAI, [{"text": "ok"}], {"text": "ok"},
                   req={"tools": [ADD_TOOL], "settings": OAI_SETTINGS},
                   check=wire_has({"max_completion_tokens": 1234, "temperature": 0.25, "top_p": 0.5,
                                   "stop": ["END", "STOP"], "seed": 7, "parallel_tool_calls": False,
                                   "reasoning_effort": "low"},
                                  lacks=("max_tokens", "thinking", "allow_truncated", "cache"))))
CASES.append(probe("ollama: max_tokens, and no parallel_tool_calls without tools", "ollama:llama3", [{"text": "ok"}],
                   {"text": "ok"}, req={"settings": {"max_tokens": 99, "parallel_tool_calls": False}},
                   check=wire_has({"max_tokens": 99}, lacks=("max_completion_tokens", "parallel_tool_calls"))))


# --- deterministic request bodies ----------------------------------------------------------------------
WIDE = """
local llmdo = require "llmdo"
return { wide = llmdo.toolset { tools = {
  pick = { description = "Picks.", params = { alpha = "string", bravo = "number", charlie = "boolean", delta = "string",
    echo = "number", foxtrot = "string", golf = "integer", hotel = "string", india = "number", juliet = "string" },
    approval = "pre_approved", fn = function() return "x" end },
} } }
"""


def same_bytes(model):
    def run(binary):
        files = {"project.lua": project(lua=("t.lua",)), "t.lua": WIDE,
                 "main.worker": worker(model=model, extra="toolsets: [wide]", body="Pick well.")}
        bodies = []
        for _ in range(2):
            case = Case("run", files, ["run", ".", "hi"], mock=[{"text": "done"}], stdout="done\n")
            problems = run_case(binary, case)
            if problems:
                return problems
            bodies.append([r["raw"] for r in mock_provider().requests])
        return expect(len(bodies[0]) == 1 and bodies[0] == bodies[1],
                      f"request bodies differ between processes:\n  {bodies[0]}\n  {bodies[1]}")
    return run


CASES.append(Custom("anthropic: two processes send byte-identical request bodies", same_bytes(ANT)))
CASES.append(Custom("openai: two processes send byte-identical request bodies", same_bytes(OAI)))

main(CASES)
