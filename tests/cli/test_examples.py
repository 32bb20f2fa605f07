"""The examples in examples/, run offline: each is copied into a fresh
directory and run with its scripted model (--model lua:offline, as its
README says), or against a loopback server for the web ones, and the test
checks what it printed and wrote. Nothing in an example is changed for the
test, so an example that rots fails here.

    python3 tests/cli/test_examples.py path/to/llmdo [case-name-part]
"""
import json
import os
import sys

import harness
from harness import Case, Custom

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OFFLINE = ["--model", "lua:offline"]


def example(name, at=""):
    """The files of examples/NAME as {path: bytes}, under the prefix `at`."""
    base = os.path.join(ROOT, "examples", name)
    files = {}
    for dirpath, _, names in os.walk(base):
        for n in names:
            full = os.path.join(dirpath, n)
            with open(full, "rb") as f:
                files[os.path.join(at, os.path.relpath(full, base))] = f.read()
    return files


def read(root, path):
    try:
        with open(os.path.join(root, path), encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        return f"<{e}>"


def file_has(path, *texts):
    """An `after` check: the run wrote `path` (relative to the case's
    directory) and it holds every one of `texts`."""
    def check(root):
        got = read(root, path)
        return [f"{path} lacks {t!r}: {got!r}" for t in texts if t not in got]
    return check


def checks(*fns):
    return lambda root: [p for fn in fns for p in (fn(root) or [])]


CASES = [
    # calculator: pre-approved Lua tools, under reject_all
    Case("calculator_default_input", example("calculator"), ["run", "."] + OFFLINE,
         stdout="factorial(20) = 2432902008176640000\nfibonacci(50) = 12586269025\n"),
    Case("calculator_schema_refuses", example("calculator"), ["run", "."] + OFFLINE + ["What is 21! and 6 * 7?"],
         stdout_has=["factorial(21) = Invalid arguments for tool 'factorial': n: must be <= 20, got 21",
                     "multiply(6, 7) = 42"]),
]

if __name__ == "__main__":
    harness.main(CASES)
