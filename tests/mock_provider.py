"""A mock model provider for tests and benchmarks: loopback only, standard
library only. It speaks the Anthropic Messages API (/v1/messages) and the
OpenAI Chat Completions API (/v1/chat/completions), streaming or not, and
plays a script of responses in order.

A scripted response is a dict:
  {"text": "...", "tool_calls": [{"name": ..., "args": {...}, "id": ...}],
   "usage": {"input": 10, "output": 5}}      a model turn, rendered for the
                                            endpoint and the request's "stream"
  A turn may add: "texts": [...] (several text blocks, Anthropic), "stop_reason" (the raw
  stop_reason / finish_reason to report), "refusal" (OpenAI message.refusal), usage
  "cache_read" / "cache_write" (OpenAI: cached_tokens), and per tool call "raw_args"
  (the arguments text verbatim, which need not be JSON; streams and OpenAI only).
  {"status": 429, "body": {...} | "text", "headers": {"retry-after": "0.05"}}
  {"fault": "reset_mid_stream"}   a 200 stream cut by a TCP reset after a few events
  {"fault": "reset"}              the connection reset before any response
  {"fault": "malformed_json"}     a 200 whose body is not JSON
  {"fault": "stream_error", "message": "Overloaded", "error_type": "overloaded_error"}
                                  an in-band error on a 200 stream
  {"fault": "no_terminal", "cut_after": N}   a 200 stream that ends cleanly without its
                                  terminal event (Anthropic message_stop; OpenAI
                                  finish_reason and [DONE]), after N events if given
  {"fault": "json_for_stream", "content_type": ...}   a streaming request answered with
                                  the non-streamed JSON body (content type application/json
                                  unless given); "body" replaces the rendered body
  {"raw_body": "...", "status": 200} or {"raw_sse": "..."}   bytes as recorded
Any response may add "delay_ms" (before the status line) and "chunk_delay_ms"
(between stream events). When the script runs out, every request gets the
"default" response (a text turn "ok" unless set). Requests are recorded:
{"path", "headers" (lower-case names), "body" (parsed JSON), "raw" (the bytes), "client" (port)}.

Run standalone: python3 mock_provider.py [--latency-ms N] [--rounds N] prints
its URL and answers every conversation with N rounds of a "noop" tool call,
then the text "done".
"""
import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _chunks(s, n):
    return [s[i:i + n] for i in range(0, len(s), n)] or [""]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's
        # algorithm and the client's delayed ACK add 40 ms to every response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def do_POST(self):
        mock = self.server.mock
        with mock.lock:
            mock.inflight += 1
            mock.max_inflight = max(mock.max_inflight, mock.inflight)
        try:
            self._post(mock)
        finally:
            with mock.lock:
                mock.inflight -= 1

    def _post(self, mock):
        length = int(self.headers.get("content-length", "0"))
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        mock.record({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                     "raw": raw, "client": self.client_address[1]})
        resp = mock.next_response(body)
        if resp.get("delay_ms"):
            time.sleep(resp["delay_ms"] / 1000)
        kind = "anthropic" if self.path.startswith("/v1/messages") else "openai"
        stream = bool(body and body.get("stream"))
        fault = resp.get("fault")
        if fault == "reset":
            self._reset()
            return
        if fault == "malformed_json":
            self._send(200, "application/json", b'{"choices": [ not json')
            return
        if "status" in resp and resp["status"] != 200 or "raw_body" in resp:
            b = resp.get("raw_body", resp.get("body", ""))
            if not isinstance(b, str):
                b = json.dumps(b)
            self._send(resp.get("status", 200), "application/json", b.encode(), resp.get("headers"))
            return
        if "raw_sse" in resp:
            self._stream_start()
            self._chunk(resp["raw_sse"].encode())
            self._chunk(b"")
            return
        if fault == "json_for_stream":
            out = resp.get("body") or (self._anthropic_body(resp) if kind == "anthropic" else self._openai_body(resp))
            self._send(200, resp.get("content_type", "application/json"), json.dumps(out).encode())
            return
        if fault == "stream_error":
            self._stream_start()
            msg = resp.get("message", "Overloaded")
            if kind == "anthropic":
                self._chunk(_sse(self._anthropic_events({"text": "partial"})[0][1], "message_start"))
                self._chunk(_sse({"type": "error", "error": {"type": resp.get("error_type", "overloaded_error"),
                                                             "message": msg}}, "error"))
            else:
                self._chunk(_sse({"error": {"message": msg, "code": 400}}))
            self._chunk(b"")
            return
        if stream:
            events = self._anthropic_events(resp) if kind == "anthropic" else self._openai_events(resp)
            terminal = fault != "no_terminal"
            if not terminal:  # no message_stop; no finish_reason, usage chunk or [DONE]
                events = events[:-1] if kind == "anthropic" else events[:-2]
                events = events[:resp.get("cut_after", len(events))]
            self._stream_start()
            for i, (name, data) in enumerate(events):
                if fault == "reset_mid_stream" and i == 3:
                    self.wfile.flush()
                    self._reset()
                    return
                if resp.get("chunk_delay_ms") and i:
                    time.sleep(resp["chunk_delay_ms"] / 1000)
                self._chunk(_sse(data, name))
            if kind == "openai" and terminal:
                self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")
            return
        if fault == "reset_mid_stream":  # a non-streamed request cut half-way
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "1000")
            self.end_headers()
            self.wfile.write(b'{"partial": ')
            self.wfile.flush()
            self._reset()
            return
        out = self._anthropic_body(resp) if kind == "anthropic" else self._openai_body(resp)
        self._send(200, "application/json", json.dumps(out).encode())

    # --- transport ---------------------------------------------------------------
    def _send(self, status, ctype, data, headers=None):
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _stream_start(self):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _reset(self):
        s = self.connection
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        self.close_connection = True

    # --- Anthropic -----------------------------------------------------------------
    def _anthropic_body(self, r):
        content = []
        for t in _texts(r):
            content.append({"type": "text", "text": t})
        for i, tc in enumerate(r.get("tool_calls", [])):
            content.append({"type": "tool_use", "id": tc.get("id", f"toolu_{i:04d}"), "name": tc["name"],
                            "input": tc.get("args", {})})
        for b in r.get("blocks", []):
            content.append(b)
        return {"id": "msg_mock", "type": "message", "role": "assistant", "model": "mock", "content": content,
                "stop_reason": _anthropic_stop(r), "stop_sequence": r.get("stop_sequence"),
                "usage": _anthropic_usage(r)}

    def _anthropic_events(self, r):
        u = r.get("usage", {})
        ev = [("message_start", {"type": "message_start", "message": {
            "id": "msg_mock", "type": "message", "role": "assistant", "model": "mock", "content": [],
            "stop_reason": None, "usage": dict(_anthropic_usage(r), output_tokens=1)}})]
        idx = 0
        for b in r.get("blocks", []):
            ev.append(("content_block_start", {"type": "content_block_start", "index": idx, "content_block": b}))
            ev.append(("content_block_stop", {"type": "content_block_stop", "index": idx}))
            idx += 1
        for text in _texts(r):
            ev.append(("content_block_start", {"type": "content_block_start", "index": idx,
                                                "content_block": {"type": "text", "text": ""}}))
            for piece in _chunks(text, 5):
                ev.append(("content_block_delta", {"type": "content_block_delta", "index": idx,
                                                    "delta": {"type": "text_delta", "text": piece}}))
            ev.append(("content_block_stop", {"type": "content_block_stop", "index": idx}))
            idx += 1
        for i, tc in enumerate(r.get("tool_calls", [])):
            ev.append(("content_block_start", {"type": "content_block_start", "index": idx, "content_block": {
                "type": "tool_use", "id": tc.get("id", f"toolu_{i:04d}"), "name": tc["name"], "input": {}}}))
            for piece in _chunks(_args_text(tc), 4):
                ev.append(("content_block_delta", {"type": "content_block_delta", "index": idx,
                                                    "delta": {"type": "input_json_delta", "partial_json": piece}}))
            ev.append(("content_block_stop", {"type": "content_block_stop", "index": idx}))
            idx += 1
        ev.append(("message_delta", {"type": "message_delta", "delta": {
            "stop_reason": _anthropic_stop(r), "stop_sequence": r.get("stop_sequence")},
            "usage": {"output_tokens": u.get("output", 5)}}))
        ev.append(("message_stop", {"type": "message_stop"}))
        return ev

    # --- OpenAI ----------------------------------------------------------------------
    def _openai_body(self, r):
        msg = {"role": "assistant", "content": r.get("text"), "refusal": r.get("refusal")}
        if r.get("tool_calls"):
            msg["tool_calls"] = [{"id": tc.get("id", f"call_{i:04d}"), "type": "function",
                                  "function": {"name": tc["name"], "arguments": _args_text(tc)}}
                                 for i, tc in enumerate(r["tool_calls"])]
        return {"id": "chatcmpl-mock", "object": "chat.completion", "model": "mock",
                "choices": [{"index": 0, "message": msg, "finish_reason": _openai_stop(r)}],
                "usage": _openai_usage(r)}

    def _openai_events(self, r):
        base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "model": "mock"}

        def chunk(delta, finish=None, usage=None, choices=True):
            c = dict(base)
            c["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []
            c["usage"] = usage
            return (None, c)
        ev = [chunk({"role": "assistant", "content": ""})]
        for piece in _chunks(r.get("text") or "", 5) if r.get("text") else []:
            ev.append(chunk({"content": piece}))
        for piece in _chunks(r.get("refusal") or "", 5) if r.get("refusal") else []:
            ev.append(chunk({"refusal": piece}))
        for i, tc in enumerate(r.get("tool_calls", [])):
            ev.append(chunk({"tool_calls": [{"index": i, "id": tc.get("id", f"call_{i:04d}"), "type": "function",
                                             "function": {"name": tc["name"], "arguments": ""}}]}))
            for piece in _chunks(_args_text(tc), 4):
                ev.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
        ev.append(chunk({}, _openai_stop(r)))
        ev.append(chunk(None, usage=_openai_usage(r), choices=False))
        return ev


class _Server(ThreadingHTTPServer):
    request_queue_size = 4096  # the benchmark opens 1000 connections at once
    daemon_threads = True


def tool_rounds(n, latency_ms=0):
    """A default response: n rounds of one tool call ("noop"), then "done"."""
    def respond(body):
        results = 0
        for m in (body or {}).get("messages", []):
            c = m.get("content")
            if m.get("role") == "tool":
                results += 1
            elif isinstance(c, list):
                results += sum(1 for b in c if isinstance(b, dict) and b.get("type") == "tool_result")
        r = {"text": "done"} if results >= n else {"tool_calls": [{"name": "noop", "args": {}, "id": f"t{results}"}]}
        r["delay_ms"] = latency_ms
        return r
    return respond


def _texts(r):
    return r.get("texts") or ([r["text"]] if r.get("text") else [])


def _args_text(tc):
    return tc["raw_args"] if "raw_args" in tc else json.dumps(tc.get("args", {}))


def _anthropic_stop(r):
    return r.get("stop_reason") or ("tool_use" if r.get("tool_calls") else "end_turn")


def _openai_stop(r):
    return r.get("stop_reason") or ("tool_calls" if r.get("tool_calls") else "stop")


def _anthropic_usage(r):
    u = r.get("usage", {})
    return {"input_tokens": u.get("input", 10), "output_tokens": u.get("output", 5),
            "cache_read_input_tokens": u.get("cache_read", 0), "cache_creation_input_tokens": u.get("cache_write", 0)}


def _openai_usage(r):
    u = r.get("usage", {})
    return {"prompt_tokens": u.get("input", 10), "completion_tokens": u.get("output", 5),
            "total_tokens": u.get("input", 10) + u.get("output", 5),
            "prompt_tokens_details": {"cached_tokens": u.get("cache_read", 0)}}


def _sse(data, name=None):
    text = data if isinstance(data, str) else json.dumps(data)
    return ((f"event: {name}\n" if name else "") + f"data: {text}\n\n").encode()


class MockProvider:
    def __init__(self, default=None):
        self.lock = threading.Lock()
        self.script = []
        self.requests = []
        self.inflight = self.max_inflight = 0  # requests being answered, and the most at once
        self.default = default or {"text": "ok"}
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.mock = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self, script, default=None):
        with self.lock:
            self.script = list(script)
            self.requests = []
            self.inflight = self.max_inflight = 0
            self.default = default or {"text": "ok"}

    def next_response(self, body=None):
        with self.lock:
            if self.script:
                return self.script.pop(0)
            default = self.default
        return default(body) if callable(default) else dict(default)

    def record(self, req):
        with self.lock:
            self.requests.append(req)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="serve scripted model responses on 127.0.0.1")
    ap.add_argument("--latency-ms", type=int, default=0, help="delay before every response")
    ap.add_argument("--rounds", type=int, default=0, help="tool rounds (a 'noop' call) before the answer")
    a = ap.parse_args()
    m = MockProvider(tool_rounds(a.rounds, a.latency_ms))
    print(m.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
