-- The built-in toolsets' semantics (features.md §7.2-7.3) and their attack
-- lists, calling the toolsets the way a worker call builds them.
local here = arg[0]:match("^(.*)/") or "."
local T = dofile(here .. "/t.lua")
local core = require "llmdo.core"
local fs = require("llmdo.toolsets.filesystem").spec
local shell_mod = require "llmdo.toolsets.shell"
local shell = shell_mod.spec

-- A scratch project: root/base holds the files; root/outside is beyond it.
local root = os.tmpname()
os.remove(root)
assert(os.execute("mkdir -p " .. root .. "/base/sub/deep " .. root .. "/outside"))
local function write(path, text)
  local f = assert(io.open(root .. "/" .. path, "wb"))
  f:write(text)
  f:close()
end
write("base/a.txt", "hello world")
write("base/sub/b.md", "# title\n")
write("base/sub/deep/c.txt", "deep")
write("base/.hidden", "dot")
write("base/utf.txt", "héllo wörld ✓")
write("base/bin.dat", "\0\1\2binary")
write("outside/secret.txt", "TOP SECRET")
assert(os.execute("ln -s " .. root .. "/outside/secret.txt " .. root .. "/base/link_out"))
assert(os.execute("ln -s " .. root .. "/outside " .. root .. "/base/dir_out"))
assert(os.execute("ln -s a.txt " .. root .. "/base/link_in"))

local function tools_of(spec, config)
  return spec.factory({ config = config, project_root = root, cwd = root, worker = "t", depth = 1 }).tools
end

-- Calls a tool's fn: res() returns its result (failing the test on an
-- error); failure() returns the error's message and kind (nil if it worked).
local function res(tool, args)
  local ok, r = pcall(tool.fn, args, {})
  if not ok then error("unexpected error: " .. tostring(core.is_error(r) and r.message or r), 2) end
  return r
end

local function failure(tool, args)
  local ok, r = pcall(tool.fn, args, {})
  if ok then return nil end
  if core.is_error(r) then return r.message, r.kind end
  return tostring(r), "error"
end

local fsw = tools_of(fs, { base_path = "base" })

-- read_file
local r = res(fsw.read_file, { path = "a.txt" })
T.eq(r.content, "hello world", "content")
T.eq(r.total_chars, 11, "total_chars")
T.eq(r.truncated, false, "not truncated")
T.eq(r.chars_read, 11, "chars_read")
r = res(fsw.read_file, { path = "a.txt", max_chars = 5 })
T.eq(r.content, "hello", "max_chars")
T.eq(r.truncated, true, "truncated")
T.eq(r.chars_read, 5, "chars_read when cut")
r = res(fsw.read_file, { path = "a.txt", offset = 6, max_chars = 3 })
T.eq(r.content, "wor", "offset")
T.eq(r.offset, 6, "offset echoed")
T.eq(r.truncated, true, "offset + max_chars")
r = res(fsw.read_file, { path = "a.txt", offset = 50 })
T.eq(r.content, "", "offset past the end")
T.eq(r.truncated, false, "past the end: not truncated")
r = res(fsw.read_file, { path = "utf.txt", offset = 1, max_chars = 4 })
T.eq(r.content, "éllo", "characters, not bytes")
T.eq(r.total_chars, 13, "total characters of UTF-8 text")
r = res(fsw.read_file, { path = "sub/../sub/b.md" })
T.eq(r.content, "# title\n", "a .. that stays inside")
r = res(fsw.read_file, { path = "link_in" })
T.eq(r.content, "hello world", "a symlink that stays inside")
local msg, kind
msg, kind = failure(fsw.read_file, { path = "nope.txt" })
T.eq(msg, "File not found: nope.txt", "missing file")
T.eq(kind, "retry", "missing file is a retry prompt")
msg = failure(fsw.read_file, { path = "sub" })
T.eq(msg, "Not a file: sub", "a directory")
msg = failure(fsw.read_file, { path = "bin.dat" })
T.eq(msg, "Not a UTF-8 text file: bin.dat (pass binary files as attachments instead)", "binary")

-- write_file: creates parent directories, overwrites, counts characters
r = res(fsw.write_file, { path = "new/dir/x.txt", content = "über" })
T.eq(r, "Written 4 characters to new/dir/x.txt", "write")
r = res(fsw.read_file, { path = "new/dir/x.txt" })
T.eq(r.content, "über", "written content")
res(fsw.write_file, { path = "new/dir/x.txt", content = "second" })
r = res(fsw.read_file, { path = "new/dir/x.txt" })
T.eq(r.content, "second", "overwritten")
msg = failure(fsw.write_file, { path = "sub", content = "x" })
T.eq(msg, "Not a file: sub", "writing over a directory")
msg = failure(fsw.write_file, { path = "a.txt/x", content = "x" })
T.ok(msg ~= nil, "a file as a parent directory")

-- list_files
r = res(fsw.list_files, {})
T.eq(table.concat(r, ","), ".hidden,a.txt,bin.dat,new/dir/x.txt,sub/b.md,sub/deep/c.txt,utf.txt",
  "every file, dotfiles too, no symlinks")
r = res(fsw.list_files, { pattern = "*.txt" })
T.eq(table.concat(r, ","), "a.txt,utf.txt", "top level only")
r = res(fsw.list_files, { path = "sub", pattern = "**/*.txt" })
T.eq(table.concat(r, ","), "deep/c.txt", "relative to the listed directory")
r = res(fsw.list_files, { path = "missing" })
T.eq(core.json_encode(r), "[]", "a missing directory lists nothing")

-- the attack list: every one is refused as a permission error
local attacks = {
  root .. "/outside/secret.txt", "/etc/passwd", "../outside/secret.txt", "sub/../../outside/secret.txt",
  "sub/deep/../../../outside/secret.txt", "link_out", "dir_out/secret.txt", "a.txt\0.png",
  string.rep("a/", 3000) .. "x", "..",
}
for _, path in ipairs(attacks) do
  for _, tool in ipairs { "read_file", "write_file", "list_files" } do
    msg, kind = failure(fsw[tool], { path = path, content = "pwned" })
    local want = "Path escapes base directory: " .. path:gsub("%z", "\\x00")
    T.ok(kind == "permission" and msg == want,
      tool .. " refuses " .. path:sub(1, 40) .. ": " .. tostring(msg))
  end
end
local f = assert(io.open(root .. "/outside/secret.txt"))
T.eq(f:read("a"), "TOP SECRET", "nothing outside was written")
f:close()

-- approvals and descriptions of the built-in configurations
local function decision(tool, args) return tool.approval(args) end
T.eq(decision(fsw.read_file, { path = "a" }), "pre_approved", "reads are pre-approved")
T.eq(decision(fsw.write_file, { path = "a", content = "x" }), "required", "writes need approval")
local fsa = tools_of(fs, { base_path = "base", read_approval = true, write_approval = false })
T.eq(decision(fsa.read_file, { path = "a" }), "required", "read_approval")
T.eq(decision(fsa.list_files, {}), "required", "read_approval covers list_files")
T.eq(decision(fsa.write_file, { path = "a", content = "x" }), "pre_approved", "write_approval = false")
T.eq(fsw.read_file.describe({ path = "a.txt" }), "Read from a.txt", "read description")
T.eq(fsw.write_file.describe({ path = "a.txt", content = "héllo" }), "Write 5 chars to a.txt", "write description")
T.eq(fsw.list_files.describe({ path = "d", pattern = "*.md" }), "List files matching *.md in d", "list description")

local ro = tools_of(fs, { base_path = "base", read_only = true })
T.ok(ro.write_file.hidden, "read-only: write_file is not offered")
local d, why = ro.write_file.approval({ path = "x", content = "y" })
T.eq(d .. ": " .. why, "blocked: write_file is disabled for read-only filesystem", "read-only: blocked")
msg, kind = failure(ro.write_file, { path = "x", content = "y" })
T.eq(kind .. ": " .. msg, "permission: write_file is disabled for read-only filesystem", "read-only: direct call")

T.eq(fs.validate_config({ bas_path = "x" }),
  "unknown option 'bas_path' (options: base_path, read_only, read_approval, write_approval)", "bad option")
T.eq(fs.validate_config({ read_only = "yes" }), "read_only: expected a boolean, got a string", "bad type")

-- shell: rule semantics
local check = shell_mod.check
local function verdict(cmd, rules, default)
  local v, a = check(cmd, rules, default)
  if v == "blocked" then return "blocked: " .. a end
  return a and "ask" or "run"
end
local rules = { { pattern = "git status", approval_required = false }, { pattern = "git", approval_required = true },
  { pattern = "ls", approval_required = false }, { pattern = "find", approval_required = false,
    approval_required_if_args = { "-exec", "-delete" } } }
T.eq(verdict("git status -s", rules), "run", "first match wins")
T.eq(verdict("git commit -m x", rules), "ask", "multi-token pattern does not over-match")
T.eq(verdict("gitx status", rules), "blocked: Command not in whitelist: gitx status", "git is not gitx")
T.eq(verdict("git-foo", rules), "blocked: Command not in whitelist: git-foo", "git is not git-foo")
T.eq(verdict("find . -name x", rules), "run", "find without -exec")
T.eq(verdict("find . -exec rm {} +", rules), "ask", "find -exec needs approval")
T.eq(verdict("find . -execdir x", rules), "run", "if_args compares whole tokens")
T.eq(verdict("rm -rf x", rules, { approval_required = true }), "ask", "default allows, asking")
T.eq(verdict("rm -rf x", rules, { approval_required = false }), "run", "default without approval")
T.eq(verdict("echo x", { { pattern = "echo" } }), "ask", "approval_required defaults to true")
T.eq(verdict("", rules), "blocked: Empty command", "empty")
T.eq(verdict("ls 'unclosed", rules), "blocked: Cannot parse command: No closing quotation", "unclosed quote")
T.eq(table.concat(shell_mod.split([[a 'b c' "d \"e\" $f" g\ h '']]), "|"), 'a|b c|d "e" $f|g h|', "shlex")

-- shell: the attack list - every one refused
local ro_rules = shell_mod.presets.readonly
local shell_attacks = {
  { "ls | sh", "|" }, { "cat x > /etc/passwd", ">" }, { "cat < /etc/shadow", "<" }, { "ls; rm -rf /", ";" },
  { "ls && rm x", "&" }, { "ls & rm x", "&" }, { "echo `rm x`", "`" }, { "cat $(rm x)", "$(" },
  { "cat ${HOME}", "${" }, { "ls\nrm -rf /", "\\n" }, { "ls\rrm", "\\r" }, { "grep 'a|b' f", "|" },
  { "cat \"x;y\"", ";" },
}
for _, a in ipairs(shell_attacks) do
  T.eq(verdict(a[1], ro_rules), "blocked: Command contains blocked metacharacter '" .. a[2] .. "'.",
    "metacharacter in " .. a[1]:gsub("\n", "\\n"))
end
T.eq(verdict("rm -rf /", ro_rules), "blocked: Command not in whitelist: rm -rf /", "unknown command")
T.eq(verdict("find . -exec rm {} +", ro_rules), "ask", "find -exec is not pre-approved")
T.eq(verdict("git status", ro_rules), "run", "git status is read-only")
T.eq(verdict("git push", ro_rules), "blocked: Command not in whitelist: git push", "git push is not")
T.eq(verdict("mv a b", shell_mod.presets.file_ops), "ask", "file_ops: mv asks")
T.eq(verdict("ls", shell_mod.presets.file_ops), "run", "file_ops: ls runs")
T.eq(verdict("rm a", shell_mod.presets.file_ops), "blocked: Command not in whitelist: rm a", "file_ops: rm blocked")

-- shell: execution
local sh = tools_of(shell, { rules = { { pattern = "echo" }, { pattern = "sleep" }, { pattern = "env" },
  { pattern = "cat" }, { pattern = "./hang.sh" }, { pattern = "./noexec.sh" }, { pattern = "ls" },
  { pattern = "definitely-not-a-command" } } }).shell
r = res(sh, { command = "echo hi 'there you'" })
T.eq(r.stdout, "hi there you\n", "argv, no shell")
T.eq(r.exit_code, 0, "exit code")
r = res(sh, { command = "ls" })
T.ok(r.stdout:find("base") and r.stdout:find("outside"), "runs in the project root: " .. r.stdout)
r = res(sh, { command = "definitely-not-a-command x" })
T.eq(r.exit_code, 127, "not found: 127")
T.eq(r.stderr, "Command not found: definitely-not-a-command", "not found message")
write("noexec.sh", "#!/bin/sh\necho no\n")
r = res(sh, { command = "./noexec.sh" })
T.eq(r.exit_code, 126, "not executable: 126")
T.eq(r.stderr, "Permission denied: ./noexec.sh", "permission message")
local big = string.rep("0123456789", 7000)
write("big.txt", big)
r = res(sh, { command = "cat big.txt" })
T.eq(#r.stdout, 51200 + #"\n... (output truncated)", "stdout capped at 50 KiB")
T.ok(r.stdout:sub(-23) == "\n... (output truncated)", "truncation marker")
T.eq(r.truncated, true, "truncated flag")
write("hang.sh", "#!/bin/sh\nsleep 37.25 &\nsleep 37.25\n")
assert(os.execute("chmod +x " .. root .. "/hang.sh"))
-- No wall-clock limits (the machine may be busy): the command would run for
-- 37.25 s, so returning, and its processes going, well before that is the
-- timeout's doing.
local function hanging()
  local p = io.popen("pgrep -f '^sleep 37[.]25$'")
  local found = p:read("a"):match("%d")
  p:close()
  return found
end
local t0 = core.now()
r = res(sh, { command = "./hang.sh", timeout = 1 })
T.ok(core.now() - t0 < 37250, "the timeout stops it")
T.eq(r.exit_code, -1, "timeout: -1")
T.eq(r.stderr, "Command timed out after 1 seconds", "timeout message")
while hanging() and core.now() - t0 < 30000 do core.sleep(50) end
T.ok(not hanging(), "the whole process group was killed")
r = res(sh, { command = "sleep 0", timeout = 0 })
T.eq(r.exit_code, 0, "timeout clamped up to 1 s")
msg, kind = failure(sh, { command = "echo a; rm b" })
T.eq(kind .. ": " .. msg, "permission: Command contains blocked metacharacter ';'.", "checked again at execution")

-- the child's environment has no secrets
local env_tool = tools_of(shell, { rules = { { pattern = "env" } } }).shell
r = res(env_tool, { command = "env" })
T.ok(r.stdout:find("PATH=", 1, true), "the environment is passed")
for _, var in ipairs { "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GITHUB_TOKEN", "MY_SECRET", "SOME_API_KEY" } do
  T.ok(not r.stdout:find(var .. "=", 1, true), var .. " is not passed")
end
T.ok(not r.stdout:find("sk-leak", 1, true), "no key value in the output")

assert(os.execute("rm -rf " .. root))
return T.done("builtins")
