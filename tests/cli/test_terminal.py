"""A plain run on a terminal: the entry worker's answer streams to stdout as
it arrives and is shown once (not again as the result); off a terminal the
result is printed whole, as always."""
import os
import sys
sys.path.insert(0, os.path.dirname(__file__))
from harness import SECRETS, mock_provider, project, worker
from pty_harness import Session, run_tests

FILES = {"project.lua": project(workers=("main.worker",), lua=()),
         "main.worker": worker(model="anthropic:claude-test")}
TEXT = "Streaming to the terminal, word by word."


def env():
    return dict(SECRETS, ANTHROPIC_BASE_URL=mock_provider().url)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def streams_once(binary, args):
    mock_provider().reset([{"text": TEXT, "chunk_delay_ms": 20}])
    s = Session(binary, ["run", ".", "hi"] + args, FILES, env())
    s.expect("word by word.")
    status = s.finish()
    check(status == 0, f"exit status {status}")
    check(s.out.count(TEXT) == 1, f"the answer shown {s.out.count(TEXT)} times:\n{s.out}")
    check(mock_provider().requests[-1]["body"].get("stream") is True, "the request was not streamed")


run_tests([
    ("a plain run streams the answer to the terminal, once", lambda b: streams_once(b, [])),
    ("-v: the answer once, not again as a Response block", lambda b: streams_once(b, ["-v"])),
    ("-vv: the answer once", lambda b: streams_once(b, ["-vv"])),
])
