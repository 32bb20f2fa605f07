"""A fast mock model provider for the benchmarks: loopback only, standard
library only, one asyncio thread.

tests/mock_provider.py parses every request as JSON and starts a thread per
connection; at 800 tool rounds (request bodies of 150 KB, 60 MB in all) or
10 000 concurrent calls the mock, not llmdo, would set the pace. This one
never parses a body: it counts tool results with a byte search (llmdo's
bodies are compact JSON with sorted keys), renders small answers from
templates and caches big ones, so each request costs it a few microseconds
plus one pass over the body.

It speaks the Anthropic Messages API (/v1/messages) and OpenAI Chat
Completions (/v1/chat/completions), plain or streamed (SSE, chunked) as the
request asks ("stream":true). What it answers is set by configure():

  rounds      tool rounds (a call of `tool`) before the answer   (0)
  tool        the tool the model calls                           ("noop")
  text        the answer                                         ("done")
  delay_ms    delay before each response (a timer: no thread sleeps)
  delta_bytes text bytes per streamed delta event                (16)

Requests are counted, and recorded (path and raw body) after record(True).
"""
import asyncio
import collections
import json
import socket
import threading


def _sse(data, name=None):
    return ((f"event: {name}\n" if name else "") + "data: " + json.dumps(data, separators=(",", ":")) + "\n\n").encode()


def _pieces(text, n):
    return [text[i:i + n] for i in range(0, len(text), n)]


def _anthropic(text, call, stream, delta):
    usage = {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
    stop = "tool_use" if call else "end_turn"
    if not stream:
        content = [{"type": "tool_use", "id": call[1], "name": call[0], "input": {}}] if call else \
            [{"type": "text", "text": text}]
        return json.dumps({"id": "msg_mock", "type": "message", "role": "assistant", "model": "mock",
                           "content": content, "stop_reason": stop, "stop_sequence": None, "usage": usage},
                          separators=(",", ":")).encode()
    out = [_sse({"type": "message_start", "message": {
        "id": "msg_mock", "type": "message", "role": "assistant", "model": "mock", "content": [],
        "stop_reason": None, "usage": dict(usage, output_tokens=1)}}, "message_start")]
    if call:
        out.append(_sse({"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": call[1], "name": call[0], "input": {}}}, "content_block_start"))
        out.append(_sse({"type": "content_block_delta", "index": 0,
                         "delta": {"type": "input_json_delta", "partial_json": "{}"}}, "content_block_delta"))
    else:
        out.append(_sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                        "content_block_start"))
        for p in _pieces(text, delta):
            out.append(_sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
                            "content_block_delta"))
    out.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    out.append(_sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                     "usage": {"output_tokens": 5}}, "message_delta"))
    out.append(_sse({"type": "message_stop"}, "message_stop"))
    return b"".join(out)


def _openai(text, call, stream, delta):
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
             "prompt_tokens_details": {"cached_tokens": 0}}
    stop = "tool_calls" if call else "stop"
    if not stream:
        msg = {"role": "assistant", "content": None if call else text, "refusal": None}
        if call:
            msg["tool_calls"] = [{"id": call[1], "type": "function", "function": {"name": call[0], "arguments": "{}"}}]
        return json.dumps({"id": "chatcmpl-mock", "object": "chat.completion", "model": "mock",
                           "choices": [{"index": 0, "message": msg, "finish_reason": stop}], "usage": usage},
                          separators=(",", ":")).encode()

    def chunk(d, finish=None):
        return _sse({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "model": "mock",
                     "choices": [{"index": 0, "delta": d, "finish_reason": finish}], "usage": None})
    out = [chunk({"role": "assistant", "content": ""})]
    if call:
        out.append(chunk({"tool_calls": [{"index": 0, "id": call[1], "type": "function",
                                          "function": {"name": call[0], "arguments": "{}"}}]}))
    else:
        out += [chunk({"content": p}) for p in _pieces(text, delta)]
    out.append(chunk({}, stop))
    out.append(_sse({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "model": "mock", "choices": [],
                     "usage": usage}))
    out.append(b"data: [DONE]\n\n")
    return b"".join(out)


def _http(body, stream):
    if not stream:
        return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    parts = [b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"]
    for i in range(0, len(body), 16384):
        piece = body[i:i + 16384]
        parts.append(b"%x\r\n%s\r\n" % (len(piece), piece))
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


class _Conn(asyncio.Protocol):
    def __init__(self, mock):
        self.mock = mock
        self.buf = bytearray()
        self.need = None
        self.path = b""
        self.out = collections.deque()  # pieces of answers not yet handed to the transport
        self.paused = False

    def connection_made(self, transport):
        self.t = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=1 << 18)

    # A big answer goes to the transport piece by piece as the client reads: asyncio's
    # own buffer drops what was sent from its front, which is quadratic for 30 MB.
    def send(self, data):
        view = memoryview(data)
        self.out.extend(view[i:i + 65536] for i in range(0, len(view), 65536))
        self.push()

    def push(self):
        while self.out and not self.paused and not self.t.is_closing():
            self.t.write(self.out.popleft())

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False
        self.push()

    def data_received(self, data):
        self.buf += data
        while True:
            if self.need is None:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(self.buf[:end]).lower()
                del self.buf[:end + 4]
                self.path = head.split(b" ", 2)[1]
                i = head.find(b"content-length:")
                self.need = int(head[i + 15:].split(b"\r\n", 1)[0]) if i >= 0 else 0
                if b"expect: 100-continue" in head:  # curl asks before sending a body over 1 MiB
                    self.t.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if len(self.buf) < self.need:
                return
            body = bytes(self.buf[:self.need])
            del self.buf[:self.need]
            self.need = None
            self.mock._answer(self, self.path, body)


class FastMock:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            self.loop.create_server(lambda: _Conn(self), "127.0.0.1", 0, backlog=4096))
        self.port = self.server.sockets[0].getsockname()[1]
        self.cfg = {}
        self.cache = {}
        self.requests = 0
        self.recorded = None
        self.configure()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.tid = self.thread.native_id

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def configure(self, rounds=0, tool="noop", text="done", delay_ms=0, delta_bytes=16):
        self.cfg = {"rounds": rounds, "tool": tool, "text": text, "delay": delay_ms / 1000, "delta": delta_bytes}
        # rendered answers; a big one is rendered now, not inside a measured run
        self.cache = {(a, s): _http((_anthropic if a else _openai)(text, None, s, delta_bytes), s)
                      for a in (True, False) for s in (True, False)} if len(text) > 65536 else {}

    def record(self, on):
        self.recorded = [] if on else None

    def _answer(self, conn, path, body):
        cfg = self.cfg
        self.requests += 1
        if self.recorded is not None:
            self.recorded.append((path.decode(), body))
        anthropic = path.startswith(b"/v1/messages")
        stream = b'"stream":true' in body
        done = body.count(b'"type":"tool_result"' if anthropic else b'"role":"tool"')
        render = _anthropic if anthropic else _openai
        if done < cfg["rounds"]:
            data = _http(render(None, (cfg["tool"], f"t{done}"), stream, cfg["delta"]), stream)
        else:
            key = (anthropic, stream)
            data = self.cache.get(key)
            if data is None:
                data = self.cache[key] = _http(render(cfg["text"], None, stream, cfg["delta"]), stream)
        if cfg["delay"]:
            self.loop.call_later(cfg["delay"], conn.send, data)
        else:
            conn.send(data)

    def cpu_ns(self):
        """CPU time the mock's thread has used so far, in ns."""
        with open(f"/proc/self/task/{self.tid}/schedstat") as f:
            return int(f.read().split()[0])

    def close(self):
        def stop():
            self.server.close()
            self.loop.stop()
        self.loop.call_soon_threadsafe(stop)
        self.thread.join()
