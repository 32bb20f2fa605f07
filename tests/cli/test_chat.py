"""llmdo run --chat, driven through a pseudo-terminal."""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from harness import project, worker
from pty_harness import Session, run_tests

CHAT_LUA = r"""
local llmdo = require "llmdo"
local M = {}
M.tools = llmdo.toolset { tools = {
  mul = { params = { a = "number", b = "number" }, fn = function(a) return a.a * a.b end },
  nap = { approval = "pre_approved", fn = function() io.stderr:write("napping\n"); llmdo.sleep(60000); return "rested" end },
} }
M.chat = llmdo.model(function(req)
  local users = {}
  for _, m in ipairs(req.messages) do
    if m.role == "user" then users[#users + 1] = m.parts[1].text end
  end
  local last = req.messages[#req.messages]
  if last.role == "user" then
    local text = last.parts[1].text
    local a, b = text:match("^mul (%d+) (%d+)$")
    if a then return { tool_calls = { { name = "mul", args = { a = tonumber(a), b = tonumber(b) } } } } end
    if text == "slow" then return { tool_calls = { { name = "nap", args = {} } } } end
    return { text = "turn " .. #users .. ": you said " .. text .. " (history: " .. table.concat(users, " / ") .. ")" }
  end
  return { text = "turn " .. #users .. ": result " .. last.parts[1].content }
end)
return M
"""

def files(approval="prompt"):
    return {"project.lua": project(workers=("main.worker",), lua=("c.lua",),
                                   rest=f"runtime = {{ approval_mode = '{approval}' }}"),
            "main.worker": worker(model="lua:chat", extra="toolsets: [tools]"), "c.lua": CHAT_LUA}

def check(cond, what):
    if not cond:
        raise AssertionError(what)

def two_turns_history_and_session_approval(binary):
    s = Session(binary, ["run", ".", "--chat"], files())
    s.expect("you> ")
    s.send("mul 2 3\r")
    s.expect(r"--- approval 1 of 1 ---")
    s.expect("> ")
    s.send("s\r")
    s.expect(r"turn 1: result 6\n")
    s.expect("you> ")
    s.send("mul 2 3\r")
    m = s.expect(r"turn 2: result 6\n")
    check("approval" not in s.out[s.out.rfind("you> "):m.start()], "the second turn asked again:\n" + s.out)
    s.expect("you> ")
    s.send("hello\r")
    s.expect(r"turn 3: you said hello \(history: mul 2 3 / mul 2 3 / hello\)\n")
    s.expect("you> ")
    s.send("\x04")
    check(s.finish() == 0, "Ctrl-D leaves with status 0")

def ctrl_c_stops_only_the_turn(binary):
    s = Session(binary, ["run", ".", "--chat"], files("approve_all"))
    s.expect("you> ")
    s.send("slow\r")
    s.expect("napping")  # the tool waits 60 s: a stop within expect's 10 s is the Ctrl-C's doing
    s.send("\x03")
    s.expect(r"\(stopped\)\n")
    s.expect("you> ")
    s.send("still here\r")  # the stopped turn left nothing in the history
    s.expect(r"turn 1: you said still here \(history: still here\)")
    s.expect("you> ")
    s.send("half a line\x03")
    s.expect(r"\^C\n")
    s.expect("you> ")
    s.send("\x04")
    check(s.finish() == 0, "exit status 0")

def first_turn_from_the_prompt_argument(binary):
    s = Session(binary, ["run", ".", "first words", "--chat"], files("approve_all"))
    s.expect(r"turn 1: you said first words")
    s.expect("you> ")
    s.send("\x04")
    check(s.finish() == 0, "exit status 0")

def line_editing_and_history(binary):
    s = Session(binary, ["run", ".", "--chat"], files("approve_all"))
    s.expect("you> ")
    s.send("hellp\x7fo there\r")  # a backspace edits the line
    s.expect(r"you said hello there")
    s.expect("you> ")
    s.send("\x1b[A\r")  # up arrow: the previous line again
    s.expect(r"turn 2: you said hello there")
    s.expect("you> ")
    s.send("\x04")
    check(s.finish() == 0, "exit status 0")

run_tests([
    ("two turns: the second sees the first; a session approval holds", two_turns_history_and_session_approval),
    ("Ctrl-C stops only the current turn; at the prompt it clears the line", ctrl_c_stops_only_the_turn),
    ("a prompt argument is the first turn", first_turn_from_the_prompt_argument),
    ("line editing and history", line_editing_and_history),
])
