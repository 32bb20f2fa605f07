-- Properties checked by the libFuzzer targets (tests/fuzz/fuzz_*.c) that
-- are easier to say in Lua. Each function gets the fuzzer's bytes and one
-- integer; a broken property raises, and the C side aborts so that
-- libFuzzer keeps the input. Errors the code under test raises on bad
-- input are expected and caught here.
--
-- fz: the C functions under test, from their public headers (fuzz.c).
local fz = ...
local cjson = require "cjson"
local shell = require "llmdo.toolsets.shell"

local P = {}

local function check(cond, fmt, ...)
  if not cond then error(string.format(fmt, ...), 2) end
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  local ok, s = pcall(cjson.encode, v)
  return ok and s or tostring(v)
end

-- Deep equality of decoded JSON values: numbers by value (3 == 3.0, and
-- NaN is NaN), tables by their keys and values, metatables ignored.
local function same(a, b, depth)
  depth = depth or 0
  if type(a) == "number" and type(b) == "number" then -- cjson reads integers past 2^53 as floats
    return a == b or (a ~= a and b ~= b) or a + 0.0 == b + 0.0
  end
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  if depth > 200 then return true end
  for k, v in pairs(a) do
    if not same(v, rawget(b, k), depth + 1) then return false end
  end
  for k in pairs(b) do
    if rawget(a, k) == nil then return false end
  end
  return true
end

-- Does v hold (in a key or a value) a string that is not valid UTF-8? The
-- encoder replaces such bytes with U+FFFD, so those values do not round-trip.
local function has_bad_utf8(v, depth)
  depth = depth or 0
  if type(v) == "string" then return utf8.len(v) == nil end
  if type(v) ~= "table" or depth > 200 then return false end
  for k, x in pairs(v) do
    if has_bad_utf8(k, depth + 1) or has_bad_utf8(x, depth + 1) then return true end
  end
  return false
end

-- What core.json_decode reads, cjson reads too, to the same values (the
-- decoder is stricter - RFC 8259 only, valid UTF-8, no NaN, bounded
-- nesting - so cjson may read more); whatever it returns that encodes,
-- decodes back to itself and encodes to the same text again. The first
-- byte picks the encoder's options besides sorting.
function P.json(bytes)
  local flags = bytes:byte(1) or 0
  local text = bytes:sub(2)
  local opts = "s" .. (flags & 1 ~= 0 and "p" or "") .. (flags & 2 ~= 0 and "a" or "")
  local ok, v = pcall(fz.json_decode, text)
  local rok, r = pcall(cjson.decode, text)
  if not ok then return end
  check(rok, "json_decode accepts what cjson refuses: %s", show(text))
  check(same(v, r), "json_decode(%s) is %s, cjson reads %s", show(text), show(v), show(r))
  local eok, e1 = pcall(fz.json_encode, v, opts)
  if not eok then
    check(type(e1) == "string", "json_encode raised a %s", type(e1))
    return
  end
  if opts:find("a", 1, true) then check(not e1:find("[\128-\255]"), "ASCII output has other bytes: %s", show(e1)) end
  local dok, w = pcall(fz.json_decode, e1)
  check(dok, "json_encode's output does not decode (%s): %s", tostring(w), show(e1))
  if not has_bad_utf8(v) then
    check(same(v, w), "round trip changed the value: %s -> %s -> %s", show(text), show(e1), show(w))
  end
  local e2 = fz.json_encode(w, opts)
  check(e1 == e2, "encoding is not stable: %s then %s", show(e1), show(e2))
end

-- core.schema_validate(schema, value): the schema is the first line, the
-- value the rest. It answers true, or false and a message; it may raise on
-- a bad schema, but only with a string; the same call gives the same answer.
function P.schema(bytes)
  local nl = bytes:find("\n", 1, true)
  if not nl then return end
  local sok, schema = pcall(fz.json_decode, bytes:sub(1, nl - 1))
  local vok, value = pcall(fz.json_decode, bytes:sub(nl + 1))
  if not (sok and vok) then return end
  local ok, r, msg = pcall(fz.schema_validate, schema, value)
  if not ok then
    check(type(r) == "string", "schema_validate raised a %s", type(r))
    return
  end
  check(r == true and msg == nil or r == false and type(msg) == "string" and msg ~= "",
    "schema_validate returned %s, %s", show(r), show(msg))
  if schema == true then check(r, "the schema true refused %s", show(value)) end
  if schema == false then check(not r, "the schema false accepted %s", show(value)) end
  local ok2, r2, msg2 = pcall(fz.schema_validate, schema, value)
  check(ok2 and r2 == r and msg2 == msg, "a second call answered differently: %s, %s", show(r2), show(msg2))
end

-- core.yaml_load(text, first_line): a value, or an error "line L, column C:
-- problem" with L at or after first_line.
function P.yaml(text, first_line)
  local ok, v = pcall(fz.yaml_load, text, first_line)
  if ok then return end
  check(type(v) == "string", "yaml_load raised a %s", type(v))
  local line = v:match("^line (%-?%d+), column %d+: .")
  check(line or v == "not enough memory", "unexpected yaml_load error: %s", v)
  check(not line or tonumber(line) >= first_line, "error line %s is before the first line %d: %s", line, first_line, v)
end

local METACHARS = { "|", ">", "<", ";", "&", "`", "$(", "${", "\n", "\r" }

local function quote(word) return "'" .. word:gsub("'", [['"'"']]) .. "'" end

local function same_list(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

-- The shell toolset's word splitting and rules. The bytes are a command
-- line, optionally followed by a NUL and a rule pattern; 'extra' picks the
-- rule set and whether commands outside it are allowed.
function P.shell(bytes, extra)
  local command, pattern = bytes:match("^([^\0]*)\0(.*)$")
  command = command or bytes
  local words, why = shell.split(command)
  if not words then
    check(type(why) == "string", "split gave neither words nor a reason")
  else
    for _, w in ipairs(words) do check(type(w) == "string", "split gave a %s", type(w)) end
    local quoted = {}
    for i, w in ipairs(words) do quoted[i] = quote(w) end
    local again = shell.split(table.concat(quoted, " "))
    check(again and same_list(words, again), "quoting and splitting again changed %s into %s", show(words),
      show(again))
    if not command:find("['\"\\]") then
      local plain = {}
      for w in command:gmatch("%S+") do plain[#plain + 1] = w end
      check(same_list(words, plain), "unquoted %s split into %s", show(command), show(words))
    end
  end

  local rules = extra & 1 ~= 0 and shell.presets.readonly or {}
  if pattern then rules = { { pattern = pattern, approval_required = extra & 4 ~= 0 } } end
  local default = extra & 2 ~= 0 and { approval_required = extra & 4 ~= 0 } or nil
  local verdict, a, argv = shell.check(command, rules, default)
  if verdict == "blocked" then
    check(type(a) == "string" and a ~= "", "blocked without a reason")
    return
  end
  check(verdict == "allowed", "check answered %s", show(verdict))
  check(type(a) == "boolean", "needs_approval is a %s", type(a))
  for _, m in ipairs(METACHARS) do
    check(not command:find(m, 1, true), "allowed a command with %s: %s", show(m), show(command))
  end
  -- a read-only git runs with its safety options first (toolsets/shell_args.lua): the split follows them
  local run = argv
  if argv[1] == "git" and #argv > #words then
    run = { "git" }
    for i = #argv - #words + 2, #argv do run[#run + 1] = argv[i] end
    for i = 2, #argv - #words + 1 do
      check(argv[i]:sub(1, 1) == "-" or argv[i - 1] == "-c", "git safety option %s is not an option", show(argv[i]))
    end
  end
  check(words and #words > 0 and same_list(run, words), "argv %s is not the split %s", show(argv), show(words))
  argv = run
  if default then return end
  local matched = false
  for _, r in ipairs(rules) do
    local tokens = shell.split(r.pattern) or { r.pattern }
    local prefix = #tokens > 0 and #tokens <= #argv
    for i = 1, #tokens do prefix = prefix and argv[i] == tokens[i] end
    matched = matched or prefix
  end
  check(matched, "allowed %s, which no rule matches and no default allows", show(command))
end

return P
