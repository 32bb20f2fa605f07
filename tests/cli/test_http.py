"""Model I/O over HTTP, end to end against the mock provider (loopback)."""
import base64
import json
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from harness import Case, Custom, project, worker, main, mock_provider, run_case, SECRETS

def err(msg):
    return f"Error: {msg}\n"

TOOLS = """
local llmdo = require "llmdo"
return { calc = llmdo.toolset { tools = {
  add = { params = { a = "number", b = "number" }, approval = "pre_approved", fn = function(a) return a.a + a.b end },
} } }
"""

# a tool whose result is the model's own text, for what reaches the terminal
SAY_TOOLS = """
local llmdo = require "llmdo"
return { calc = llmdo.toolset { tools = {
  say = { params = { s = "string" }, approval = "pre_approved", fn = function(a) return a.s end },
} } }
"""
# terminal controls a provider or model might send: colour, title, bell, CSI (C1), right-to-left override
NASTY = "\x1b[31mred\x1b[0m\nline 2\x1b]0;title\x07 \u009b2J \u202eevil"
NASTY_SHOWN = "\\x1b[31mred\\x1b[0m\\nline 2\\x1b]0;title\\x07 \\u009b2J \\u202eevil"
RAW_CONTROLS = ("\x1b", "\x07", "\u009b", "\u202e")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PDF = b"%PDF-1.4\n%test\n"

def proj(model="anthropic:claude-test", extra="toolsets: [calc]", rest="", files=None):
    f = {"project.lua": project(lua=("t.lua",), rest=rest),
         "main.worker": worker(model=model, extra=extra, body="You are terse."),
         "t.lua": TOOLS, "pic.png": PNG, "doc.pdf": PDF, "notes.txt": "x"}
    f.update(files or {})
    return f

def expect(cond, msg):
    return [] if cond else [msg]

def uncached(v):
    """A request part without Anthropic's cache_control marks (test_outcomes_wire.py checks those)."""
    if isinstance(v, dict):
        return {k: uncached(x) for k, x in v.items() if k != "cache_control"}
    if isinstance(v, list):
        return [uncached(x) for x in v]
    return v

def check_anthropic_basic(reqs):
    if len(reqs) != 1:
        return [f"{len(reqs)} requests"]
    r = reqs[0]
    b = r["body"]
    return (expect(r["path"] == "/v1/messages", f"path {r['path']}")
            + expect(r["headers"].get("x-api-key") == SECRETS["ANTHROPIC_API_KEY"], "x-api-key")
            + expect(r["headers"].get("anthropic-version") == "2023-06-01", "anthropic-version")
            + expect(b["model"] == "claude-test", "model") + expect(b["max_tokens"] == 8192, "max_tokens")
            + expect(uncached(b["system"]) == [{"type": "text", "text": "You are terse."}], f"system {b.get('system')!r}")
            + expect(uncached(b["messages"]) == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                     f"messages {b['messages']}")
            + expect(uncached(b["tools"]) == [{"name": "add", "description": "", "input_schema": {
                "type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                "required": ["a", "b"], "additionalProperties": False}}], f"tools {b.get('tools')}")
            + expect("stream" not in b, "not streamed without -v"))

def check_anthropic_tool_round(reqs):
    if len(reqs) != 2:
        return [f"{len(reqs)} requests"]
    m = uncached(reqs[1]["body"]["messages"])
    want = [{"role": "user", "content": [{"type": "text", "text": "add them"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Adding."},
                                              {"type": "tool_use", "id": "toolu_x1", "name": "add",
                                               "input": {"a": 2, "b": 3}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x1", "content": "5",
                                          "is_error": False}]}]
    return expect(m == want, f"second request messages {json.dumps(m)}")

def check_openai_tool_round(reqs):
    if len(reqs) != 2:
        return [f"{len(reqs)} requests"]
    r = reqs[1]
    m = r["body"]["messages"]
    want = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "add them"},
            {"role": "assistant", "content": "Adding.", "tool_calls": [
                {"id": "call_x1", "type": "function", "function": {"name": "add", "arguments": '{"a":2,"b":3}'}}]},
            {"role": "tool", "tool_call_id": "call_x1", "content": "5"}]
    return (expect(r["path"] == "/v1/chat/completions", r["path"])
            + expect(r["headers"].get("authorization") == "Bearer " + SECRETS["OPENAI_API_KEY"], "bearer")
            + expect(m == want, f"second request messages {json.dumps(m)}")
            + expect(r["body"]["tools"][0] == {"type": "function", "function": {
                "name": "add", "description": "", "parameters": {
                    "type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                    "required": ["a", "b"], "additionalProperties": False}}}, "tools"))

def check_streamed(reqs):
    b = reqs[0]["body"]
    out = expect(b.get("stream") is True, "stream: true")
    if reqs[0]["path"].endswith("/chat/completions"):
        out += expect(b.get("stream_options") == {"include_usage": True}, "include_usage")
    return out

def check_count(n):
    return lambda reqs: expect(len(reqs) == n, f"{len(reqs)} requests, want {n}")

def check_attachments_anthropic(reqs):
    c = uncached(reqs[0]["body"]["messages"][0]["content"])
    return expect(c == [{"type": "text", "text": "look"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                     "data": base64.b64encode(PNG).decode()}},
                        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                                        "data": base64.b64encode(PDF).decode()}}],
                  f"content {json.dumps(c)[:300]}")

def check_attachments_openai(reqs):
    c = reqs[0]["body"]["messages"][1]["content"]
    return expect(c == [{"type": "text", "text": "look"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,"
                                                            + base64.b64encode(PNG).decode()}},
                        {"type": "file", "file": {"filename": "doc.pdf", "file_data": "data:application/pdf;base64,"
                                                  + base64.b64encode(PDF).decode()}}],
                  f"content {json.dumps(c)[:300]}")

def check_server_tools(reqs):
    tools = uncached(reqs[0]["body"]["tools"])
    out = expect({"type": "web_search_20250305", "name": "web_search", "max_uses": 3,
                  "allowed_domains": ["example.com"]} in tools, f"tools {tools}")
    if len(reqs) > 1:  # the server tool blocks go back in history
        blocks = uncached(reqs[1]["body"]["messages"][1]["content"])
        out += expect([b["type"] for b in blocks] == ["server_tool_use", "web_search_tool_result", "text", "tool_use"],
                      f"history blocks {blocks}")
        out += expect(blocks[1]["content"] == [], "an empty array stays an array")
    return out

def check_same_connection(reqs):
    return expect(len(reqs) == 2 and reqs[0]["client"] == reqs[1]["client"],
                  f"two requests on one connection: {[r['client'] for r in reqs]}")

ATTACH = '{"input": "look", "attachments": ["pic.png", "doc.pdf"]}'
TOOL_ROUND = [{"text": "Adding.", "tool_calls": [{"name": "add", "args": {"a": 2, "b": 3}, "id": "toolu_x1"}]},
              {"text": "The sum is 5.", "usage": {"input": 30, "output": 7}}]
OPENAI_ROUND = [{"text": "Adding.", "tool_calls": [{"name": "add", "args": {"a": 2, "b": 3}, "id": "call_x1"}]},
                {"text": "The sum is 5."}]
SEARCH_BLOCKS = [{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "llmdo"}},
                 {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}]

FAN = r"""
local llmdo = require "llmdo"
return { fan = llmdo.entry { main = function(input, rt)
  local items = {}
  for i = 1, 8 do items[i] = i end
  return table.concat(rt:map(items, function(i) return rt:call_agent("leaf", "call " .. i) end), ",")
end } }
"""


def limited_concurrency(binary):
    """runtime.max_concurrent_requests = 2: eight concurrent calls, never more than two requests at the mock."""
    files = {"project.lua": project(workers=("leaf.worker",), lua=("f.lua",),
                                    rest="runtime = { approval_mode = 'approve_all', max_concurrent_requests = 2 }"),
             "leaf.worker": worker(name="leaf", model="anthropic:claude-test", entry=False), "f.lua": FAN}
    case = Case("fan", files, ["run", ".", "go"], mock=[], mock_default={"text": "ok", "delay_ms": 150},
                stdout="ok,ok,ok,ok,ok,ok,ok,ok\n")
    problems = run_case(binary, case)
    if mock_provider().max_inflight != 2:
        problems.append(f"{mock_provider().max_inflight} requests at once at the mock, want 2")
    return problems


CASES = [
    Custom("runtime.max_concurrent_requests bounds the requests in flight", limited_concurrency),
    Case("anthropic: request content and answer", proj(), ["run", ".", "hi"], mock=[{"text": "Hello!"}],
         stdout="Hello!\n", check=check_anthropic_basic),
    Case("anthropic: a tool round", proj(), ["run", ".", "add them"], mock=TOOL_ROUND,
         stdout="The sum is 5.\n", check=check_anthropic_tool_round),
    Case("anthropic: a streamed tool round at -v, with usage", proj(), ["run", ".", "add them", "-v"], mock=TOOL_ROUND,
         stdout="The sum is 5.\n", check=lambda r: check_streamed(r) + check_anthropic_tool_round(r),
         stderr_has=["[main:1] Tool call: add\n  Args: {\"a\":2,\"b\":3}", "[main:1] Response:\n  The sum is 5.",
                     "usage: 2 requests, 40 input / 12 output tokens\n"]),
    Case("anthropic: -vv shows the text as it streams", proj(), ["run", ".", "hi", "-vv"],
         mock=[{"text": "Streaming along nicely."}], stdout="Streaming along nicely.\n",
         stderr_has=["[main:1] Generating response...\nStreaming along nicely.\n[main:1] [OK] Complete"],
         stderr_lacks=["Response:"]),
    Case("openai: a tool round", proj(model="openai:gpt-test"), ["run", ".", "add them"], mock=OPENAI_ROUND,
         stdout="The sum is 5.\n", check=check_openai_tool_round),
    Case("openai: a streamed tool round", proj(model="openai:gpt-test"), ["run", ".", "add them", "-v"],
         mock=OPENAI_ROUND, stdout="The sum is 5.\n",
         check=lambda r: check_streamed(r) + check_openai_tool_round(r)),
    Case("ollama: OLLAMA_BASE_URL, no key needed", proj(model="ollama:llama3"), ["run", ".", "hi"],
         mock=[{"text": "from ollama"}], env={"OPENAI_API_KEY": None}, stdout="from ollama\n",
         check=lambda r: expect("authorization" not in r[0]["headers"], "no key sent")),
    Case("a project provider with its key variable",
         proj(model="lab:small", rest='providers = { lab = { api = "openai", base_url = os.getenv("LAB_URL"), '
                                      'api_key_env = "LAB_KEY" } }'),
         ["run", ".", "hi"], mock=[{"text": "from lab"}], env={"LAB_URL": "{mock}", "LAB_KEY": "lab-key-123"},
         stdout="from lab\n", check=lambda r: expect(r[0]["headers"].get("authorization") == "Bearer lab-key-123",
                                                     "LAB_KEY sent")),
    Case("a missing key names the variable; nothing is sent", proj(), ["run", ".", "hi"], mock=[],
         env={"ANTHROPIC_API_KEY": None}, exit=2,
         stderr=err("ANTHROPIC_API_KEY is not set (worker 'main' uses anthropic:claude-test)"), check=check_count(0)),
    Case("a missing project-provider key",
         proj(model="lab:small", rest='providers = { lab = { api = "openai", base_url = "http://127.0.0.1:9/v1", '
                                      'api_key_env = "LAB_KEY" } }'),
         ["run", ".", "hi"], mock=[], exit=2, stderr=err("LAB_KEY is not set (worker 'main' uses lab:small)")),
    Case("429 with retry-after is retried", proj(), ["run", ".", "hi"],
         mock=[{"status": 429, "headers": {"retry-after": "0.05"},
                "body": {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}},
               {"text": "after the wait"}], stdout="after the wait\n", check=check_count(2)),
    Case("529 is retried with backoff", proj(), ["run", ".", "hi"],
         mock=[{"status": 529, "body": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}},
               {"text": "back"}], stdout="back\n", check=check_count(2)),
    Case("500s past max_retries fail with the provider's message", proj(rest="runtime = { max_retries = 1, "
                                                                         "approval_mode = 'approve_all' }"),
         ["run", ".", "hi"], mock=[{"status": 500, "headers": {"retry-after": "0"},
                                    "body": {"type": "error", "error": {"type": "api_error", "message": "boom"}}}] * 3,
         exit=75, stderr=err("Model API error (status 500) from anthropic:claude-test: boom"), check=check_count(2)),
    Case("other 4xx fail at once", proj(), ["run", ".", "hi"],
         mock=[{"status": 400, "body": {"type": "error", "error": {"type": "invalid_request_error",
                                                                   "message": "max_tokens: too large"}}}],
         exit=1, stderr=err("Model API error (status 400) from anthropic:claude-test: max_tokens: too large"),
         check=check_count(1)),
    Case("openai error body", proj(model="openai:gpt-test"), ["run", ".", "hi"],
         mock=[{"status": 401, "body": {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                                  "param": None, "code": "invalid_api_key"}}}],
         exit=1, stderr=err("Model API error (status 401) from openai:gpt-test: Incorrect API key provided")),
    Case("a flat error body (old vLLM)", proj(model="openai:gpt-test"), ["run", ".", "hi"],
         mock=[{"status": 400, "body": {"object": "error", "message": "bad model", "type": "BadRequestError"}}],
         exit=1, stderr=err("Model API error (status 400) from openai:gpt-test: bad model")),
    Case("a provider error with terminal controls is shown escaped, on one line", proj(), ["run", ".", "hi"],
         mock=[{"status": 400, "body": {"type": "error", "error": {"type": "invalid_request_error", "message": NASTY}}}],
         exit=1, stderr=err("Model API error (status 400) from anthropic:claude-test: " + NASTY_SHOWN)),
    Case("-v events escape the model's text and arguments; the result on stdout is byte-exact",
         proj(files={"t.lua": SAY_TOOLS}), ["run", ".", "hi", "-v"],
         mock=[{"tool_calls": [{"name": "say", "args": {"s": NASTY}, "id": "toolu_1"}]}, {"text": NASTY}],
         stdout=NASTY + "\n", stderr_lacks=RAW_CONTROLS,
         stderr_has=["Args: {\"s\":\"\\u001b[31mred\\u001b[0m\\nline 2\\u001b]0;title\\u0007 \\u009b2J \\u202eevil\"}",
                     "Tool result: say\n  " + NASTY_SHOWN.replace("\\nline", "\n  line"),
                     "Response:\n  " + NASTY_SHOWN.replace("\\nline", "\n  line")]),
    Case("-vv streamed text is escaped too", proj(), ["run", ".", "hi", "-vv"], mock=[{"text": NASTY}],
         stdout=NASTY + "\n", stderr_lacks=RAW_CONTROLS),
    Case("a connection reset mid-stream is retried", proj(), ["run", ".", "hi", "-v"],
         mock=[{"text": "first attempt text", "fault": "reset_mid_stream"}, {"text": "second attempt"}],
         stdout="second attempt\n", check=check_count(2)),
    Case("a connection reset mid-stream (openai)", proj(model="openai:gpt-test"), ["run", ".", "hi", "-v"],
         mock=[{"text": "first attempt text", "fault": "reset_mid_stream"}, {"text": "second attempt"}],
         stdout="second attempt\n", check=check_count(2)),
    Case("a reset before the response is retried", proj(), ["run", ".", "hi"],
         mock=[{"fault": "reset"}, {"text": "recovered"}], stdout="recovered\n", check=check_count(2)),
    Case("a reset on every attempt fails naming the provider",
         proj(rest="runtime = { max_retries = 1, approval_mode = 'approve_all' }"), ["run", ".", "hi"],
         mock=[{"fault": "reset"}] * 2, exit=75,
         stderr_re=r"^Error: Model request to anthropic:claude-test failed: .+ \(after retries\)\n$"),
    Case("a slow first byte is fine", proj(), ["run", ".", "hi"], mock=[{"text": "eventually", "delay_ms": 300}],
         stdout="eventually\n"),
    Case("the idle timeout (a streamed answer)",
         proj(rest="runtime = { max_retries = 0, idle_timeout = 1, approval_mode = 'approve_all' }"),
         ["run", ".", "hi", "-v"], mock=[{"text": "too late", "delay_ms": 2500}], exit=75,
         stderr_re=r"Error: Model request to anthropic:claude-test failed: .*[Tt]imeout.*\n$"),
    Case("a plain answer that takes longer than idle_timeout is waited for",
         proj(rest="runtime = { max_retries = 0, idle_timeout = 1, approval_mode = 'approve_all' }"),
         ["run", ".", "hi"], mock=[{"text": "worth the wait", "delay_ms": 1500}], stdout="worth the wait\n"),
    Case("retry-after-ms is honoured, and -v shows each retry", proj(), ["run", ".", "hi", "-v"],
         mock=[{"status": 529, "headers": {"retry-after-ms": "100"},
                "body": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}},
               {"text": "recovered"}],
         stdout="recovered\n", stderr_has=["retry 1/4 in 0.1 s: 529 overloaded_error\n"], check=check_count(2)),
    Case("x-should-retry: false stops retries of a retryable status", proj(), ["run", ".", "hi"],
         mock=[{"status": 529, "headers": {"x-should-retry": "false"},
                "body": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}},
               {"text": "too late"}], exit=75,
         stderr=err("Model API error (status 529) from anthropic:claude-test: Overloaded"), check=check_count(1)),
    Case("x-should-retry: true retries a status that is not retried by default", proj(), ["run", ".", "hi"],
         mock=[{"status": 409, "headers": {"x-should-retry": "true", "retry-after-ms": "10"},
                "body": {"type": "error", "error": {"type": "conflict", "message": "try again"}}},
               {"text": "second time"}],
         stdout="second time\n", check=check_count(2)),
    Case("request_timeout bounds a request across its retries",
         proj(rest="runtime = { max_retries = 50, idle_timeout = 1, request_timeout = 2, approval_mode = 'approve_all' }"),
         ["run", ".", "hi"], mock=[{"text": "too late", "delay_ms": 4000}] * 50, exit=75,
         stderr=err("Model request to anthropic:claude-test failed: timeout: no complete answer within 2 s, "
                    "retries included (runtime.request_timeout)"),
         check=lambda reqs: expect(len(reqs) <= 3, f"{len(reqs)} attempts within 2 s: retries went on")),
    Case("request_timeout also cuts one slow attempt short",
         proj(rest="runtime = { idle_timeout = 30, request_timeout = 1, approval_mode = 'approve_all' }"),
         ["run", ".", "hi"], mock=[{"text": "too late", "delay_ms": 6000}], exit=75,
         stderr=err("Model request to anthropic:claude-test failed: timeout: no complete answer within 1 s, "
                    "retries included (runtime.request_timeout)"), check=check_count(1)),
    Case("runtime.request_timeout is checked", proj(rest="runtime = { request_timeout = 0 }"), ["check", "."], exit=2,
         stderr_re=r"^Error: project\.lua: runtime\.request_timeout: .*\n$"),
    Case("malformed JSON", proj(), ["run", ".", "hi"], mock=[{"fault": "malformed_json"}], exit=1,
         stderr=err('Model API error (status 200) from anthropic:claude-test: the response is not JSON: '
                    '{"choices": [ not json')),
    Case("an in-band stream error (anthropic event: error)", proj(), ["run", ".", "hi", "-v"],
         mock=[{"fault": "stream_error", "message": "Overloaded"}], exit=75,
         stderr_has=["Error: Model API error (in stream) from anthropic:claude-test: overloaded_error: Overloaded\n"]),
    Case("an in-band stream error (openai error chunk on 200)", proj(model="openai:gpt-test"), ["run", ".", "hi", "-v"],
         mock=[{"fault": "stream_error", "message": "Token limit reached"}], exit=1,
         stderr_has=["Error: Model API error (in stream) from openai:gpt-test: Token limit reached\n"]),
    Case("attachments (anthropic): image and document blocks", proj(), ["run", ".", "--input-json", ATTACH],
         mock=[{"text": "seen"}], stdout="seen\n", check=check_attachments_anthropic),
    Case("attachments (openai): image_url and file parts", proj(model="openai:gpt-test"),
         ["run", ".", "--input-json", ATTACH], mock=[{"text": "seen"}], stdout="seen\n",
         check=check_attachments_openai),
    Case("an unsupported attachment type is refused", proj(), ["run", ".", "--input-json",
                                                             '{"input": "x", "attachments": ["notes.txt"]}'],
         mock=[], exit=1, stderr=err("Unsupported attachment type: {root}/notes.txt (supported: .pdf, .png, .jpg, "
                                     ".jpeg, .gif, .webp)")),
    Case("a missing attachment", proj(), ["run", ".", "--input-json", '{"input": "x", "attachments": ["gone.png"]}'],
         mock=[], exit=1, stderr=err("Attachment not found: {root}/gone.png")),
    Case("server-side tools reach the request; their blocks stay in history and show as events",
         proj(extra="toolsets: [calc]\nserver_side_tools:\n  - tool_type: web_search\n    max_uses: 3\n"
                    "    allowed_domains: [example.com]"),
         ["run", ".", "search", "-v"],
         mock=[{"blocks": SEARCH_BLOCKS, "text": "Found it.",
                "tool_calls": [{"name": "add", "args": {"a": 1, "b": 1}, "id": "toolu_s"}]}, {"text": "done"}],
         stdout="done\n", check=check_server_tools,
         stderr_has=["[main:1] Server tool: web_search\n  Args: {\"query\":\"llmdo\"}"]),
    Case("a provider without server-side tools fails at link time",
         proj(model="openai:gpt-test", extra="server_side_tools:\n  - tool_type: web_search"), ["check", "."], exit=2,
         stderr=err("main.worker: server_side_tools: web_search is not available with openai:gpt-test "
                    "(OpenAI-compatible chat completions have no server-side tools)")),
    Case("image_generation is not an Anthropic server tool",
         proj(extra="server_side_tools:\n  - tool_type: image_generation"), ["check", "."], exit=2,
         stderr_has=["image_generation is not available with anthropic:claude-test"]),
    Case("connections are reused", proj(), ["run", ".", "add them"], mock=TOOL_ROUND, stdout="The sum is 5.\n",
         check=check_same_connection),
    Case("keys never appear, even with -vvv and --debug on an error", proj(), ["run", ".", "hi", "-vvv", "--debug"],
         mock=[{"status": 400, "body": {"type": "error", "error": {"type": "invalid_request_error", "message": "no"}}}],
         exit=1, stderr_has=["Model API error (status 400)"]),
]

main(CASES)
