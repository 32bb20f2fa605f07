"""The interactive approval prompt, driven through a pseudo-terminal."""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from harness import project, worker
from pty_harness import Session, run_tests

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = open(os.path.join(HERE, "lua", "script_model.lua")).read()
TOOLS = open(os.path.join(HERE, "lua", "approval_tools.lua")).read()

def files(runtime="approval_mode = 'prompt'"):
    return {
        "project.lua": project(workers=("main.worker", "helper.worker"), lua=("script_model.lua", "approval_tools.lua"),
                               rest=f"runtime = {{ {runtime} }}"),
        "main.worker": worker(model="lua:script", extra="toolsets: [ops, helper]"),
        "helper.worker": worker(name="helper", model="lua:child", entry=False),
        "script_model.lua": SCRIPT, "approval_tools.lua": TOOLS, "a.pdf": b"%PDF-1.4\n",
    }

def check(cond, what):
    if not cond:
        raise AssertionError(what)

def approve_once(binary):
    s = Session(binary, ["run", ".", 'mul:{"a":2,"b":3};say'], files())
    s.expect(r"--- approval 1 of 1 ---\nworker: main \(depth 1\)\ntool:   mul\naction: mul\(a=2, b=3\)\n"
             r"args:   \{\n          \"a\": 2,\n          \"b\": 3\n        \}\n"
             r"\[a\] approve once  \[s\] approve for this session  \[d\] deny\n> ")
    s.send("a\n")
    s.expect(r"\n6\n")
    check(s.finish() == 0, "exit status 0")

def approve_for_session(binary):
    s = Session(binary, ["run", ".", 'mul:{"a":2,"b":3};mul:{"b":3,"a":2};mul:{"a":5,"b":3};say'], files())
    s.expect(r"approval 1 of 1 ---\n[^>]*\naction: mul\(a=2, b=3\)")
    s.expect("> ")
    s.send("s\n")
    # the identical second call (keys in another order) is not asked again; the different third one is
    s.expect(r"approval 1 of 1 ---\n[^>]*\naction: mul\(a=5, b=3\)")
    s.expect("> ")
    s.send("a\n")
    s.expect(r"\n6 \| 6 \| 15\n")
    check(s.finish() == 0, "exit status 0")
    check(s.out.count("--- approval") == 2, f"two prompts, saw:\n{s.out}")

def deny_with_note(binary):
    s = Session(binary, ["run", ".", 'mul:{"a":2,"b":3};say'], files())
    s.expect("> ")
    s.send("d\n")
    s.expect(r"note \(optional, Enter to skip\): ")
    s.send("too risky\n")
    s.expect(r"Error: Approval denied for mul: too risky\n")
    check(s.finish() == 1, "exit status 1")

def deny_without_note(binary):
    s = Session(binary, ["run", ".", 'mul:{"a":2,"b":3};say'], files())
    s.expect("> ")
    s.send("x\n")
    s.expect(r"please answer a, s or d\n> ")
    s.send("D\n")
    s.expect("note")
    s.send("\n")
    s.expect(r"Error: Approval denied for mul: no reason given\n")
    check(s.finish() == 1, "exit status 1")

def queue_of_three(binary):
    s = Session(binary, ["run", ".", 'mul:{"a":1,"b":1}&mul:{"a":2,"b":2}&mul:{"a":3,"b":3};say'], files())
    for i in (1, 2, 3):
        s.expect(rf"--- approval {i} of 3 ---\n[^>]*\naction: mul\(a={i}, b={i}\)")
        s.expect("> ")
        s.send("a\n")
    s.expect(r"\n1 \| 4 \| 9\n")
    check(s.finish() == 0, "exit status 0")

def describe_and_worker_calls(binary):
    s = Session(binary, ["run", ".", 'guarded:{"path":"a.txt","n":50};helper:{"input":"x","attachments":["a.pdf"]};say'],
                files("approval_mode = 'prompt', worker_attachments_require_approval = true"))
    s.expect(r"tool:   guarded\naction: Guarded op on a\.txt\n")
    s.expect("> ")
    s.send("a\n")
    s.expect(r"worker: main \(depth 1\)\ntool:   helper\naction: Call agent helper with attachments: a\.pdf\n")
    s.expect("> ")
    s.send("a\n")
    s.expect(r"\nguarded a\.txt \| child got x\n")
    check(s.finish() == 0, "exit status 0")

def multiline_description(binary):
    # the description's later lines stay in its column, as the args do
    s = Session(binary, ["run", ".", 'plan:{"steps":2};say'], files())
    s.expect(r"tool:   plan\naction: Run a plan of 2 steps:\n        1\. fetch\n        2\. build\nargs:   ")
    s.expect("> ")
    s.send("a\n")
    s.expect(r"\nplanned 2\n")
    check(s.finish() == 0, "exit status 0")

def denial_returned_to_model(binary):
    s = Session(binary, ["run", ".", 'mul:{"a":2,"b":3};say'],
                files("approval_mode = 'prompt', return_permission_errors = true"))
    s.expect("> ")
    s.send("d\n")
    s.expect("note")
    s.send("not now\n")
    s.expect(r'\{"error":"Approval denied for mul: not now","error_type":"permission","tool_name":"mul"\}\n')
    check(s.finish() == 0, "exit status 0")

def model_controls_escaped(binary):
    # the model's path holds an escape, a NUL and a right-to-left override: shown
    # escaped, and the NUL does not cut off the rest of the prompt
    s = Session(binary, ["run", ".", 'guarded:{"path":"a\\u001b[2J\\u0000b\\u202ec","n":50};say'], files())
    s.expect(r"action: Guarded op on a\\x1b\[2J\\x00b\\u202ec\nargs:   \{\n.*\n.*\"path\": \"a\\u001b\[2J\\u0000b\\u202ec\"")
    s.expect("> ")
    shown = s.out[:s.pos]
    check(not any(c in shown for c in "\x1b\x00\u202e"), f"raw controls on the terminal:\n{shown!r}")
    s.send("d\n")
    s.expect("note")
    s.send("\n")
    check(s.finish() == 1, "exit status 1")

def headless_with_a_terminal(binary):
    s = Session(binary, ["run", ".", "say", "--headless"], files())
    s.expect("Headless mode cannot prompt for approvals; use --approve-all or --reject-all")
    check(s.finish() == 2, "exit status 2")

run_tests([
    ("approve once", approve_once),
    ("approve for the session: identical call not asked again, different one is", approve_for_session),
    ("deny with a note", deny_with_note),
    ("deny without a note after an invalid key", deny_without_note),
    ("a queue of three, numbered", queue_of_three),
    ("describe() and worker-call descriptions", describe_and_worker_calls),
    ("a description of several lines keeps its column", multiline_description),
    ("a denial returned to the model", denial_returned_to_model),
    ("--headless refuses prompt mode even with a terminal", headless_with_a_terminal),
    ("the model's terminal controls are escaped in the prompt", model_controls_escaped),
])
