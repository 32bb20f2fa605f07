-- llmdo.exec's defaults: the project it runs for, the scrubbed environment
-- (ctest sets ANTHROPIC_API_KEY and MY_SECRET in this test's environment).
local here = arg[0]:match("^(.*)/") or "."
local T = dofile(here .. "/t.lua")
local llmdo = require "llmdo"
local sys = require "llmdo.core.sys"
local task = require "llmdo.core.task"
local process = require "llmdo.process"

local tmp = os.tmpname()
os.remove(tmp)
local function write(path, text)
  assert(os.execute("mkdir -p '" .. (tmp .. "/" .. path):match("^(.*)/") .. "'"))
  local f = assert(io.open(tmp .. "/" .. path, "wb"))
  f:write(text)
  f:close()
end

-- Outside a run: the current directory, and the scrubbed environment.
local r = llmdo.exec { argv = { "pwd" } }
T.eq(r.stdout, sys.cwd() .. "\n", "no project: the current directory")
T.eq(r.status, 0, "status")
local env = table.concat(process.env(nil, { "MY_SECRET" }, "/x"), "\n")
T.ok(not env:find("sk-exec", 1, true), "no key, no secret: " .. env)
T.ok(("\n" .. env .. "\n"):find("\nPWD=/x\n", 1, true), "PWD is the child's directory")
T.ok(("\n" .. env):find("\nPATH=", 1, true), "PATH is kept")
r = llmdo.exec { argv = { "env" } }
T.ok(not r.stdout:find("sk-exec-lua-1", 1, true), "a provider's key does not reach the child")
T.ok(not r.stdout:find("sk-exec-lua-2", 1, true), "nor a variable off the allow-list")

-- A project's run: its root.
local PROJECT = [[return { lua = { "e.lua" }, runtime = { approval_mode = "approve_all" } }]]
local ENTRY = [[local llmdo = require "llmdo"
return { main = llmdo.entry { main = function(input)
  local r = llmdo.exec { argv = { "sh", "-c", "pwd; env" } }
  if input[1] == "wait" then llmdo.sleep(200) end
  return r.stdout
end } }]]
for _, p in ipairs { "a", "b" } do
  write(p .. "/project.lua", PROJECT)
  write(p .. "/e.lua", ENTRY)
end
local a = llmdo.load_project(tmp .. "/a")
local out = a:run("go")
T.eq(out:match("^[^\n]*"), sys.realpath(tmp .. "/a"), "a run: the project root")
T.ok(not out:find("sk-exec", 1, true), "no secret in a project's run either")
r = llmdo.exec { argv = { "pwd" } }
T.eq(r.stdout, sys.realpath(tmp .. "/a") .. "\n", "after the run: the last project's root (a global cleanup)")

-- Runs of two projects at once: exec cannot tell whose it is.
local b = llmdo.load_project(tmp .. "/b")
local ok, err = pcall(task.parallel, function() return a:run("wait") end, function() return b:run("go") end)
T.ok(not ok and tostring(err):find("llmdo.exec: runs of several projects are going on", 1, true),
  "two projects at once: " .. tostring(err))
r = llmdo.exec { argv = { "pwd" }, cwd = "/", env = {} }
T.eq(r.stdout, "/\n", "an absolute cwd and an explicit env need no project")

assert(os.execute("rm -rf '" .. tmp .. "'"))
print(T.done("test_exec"))
