-- Lua-level tests of the runtime's building blocks: tasks and waits, the
-- coroutine wrappers, strict validation, schemas and JSON.
local here = arg[0]:match("^(.*)/") or "."
local T = dofile(here .. "/t.lua")
local llmdo = require "llmdo"
local json = require "llmdo.core.json"
local sys = require "llmdo.core.sys"
local txt = require "llmdo.core.text"
local term = require "llmdo.core.term"
local V = require "llmdo.validate"
local schema = require "llmdo.schema"

-- sleeping suspends the task, not the process
local t0 = sys.now()
llmdo.sleep(30)
T.ok(sys.now() - t0 >= 29, "sleep waited")

-- a host wait inside a user coroutine (an iterator) is passed to the scheduler
local gen = coroutine.wrap(function()
  for i = 1, 3 do
    llmdo.sleep(1)
    coroutine.yield(i * 10)
  end
end)
T.eq(gen(), 10, "first value")
T.eq(gen(), 20, "second value")
T.eq(gen(), 30, "third value")

local co = coroutine.create(function(a)
  local b = coroutine.yield(a + 1)
  llmdo.sleep(1)
  return b * 2
end)
local ok, v = coroutine.resume(co, 1)
T.ok(ok and v == 2, "resume yields the user value")
ok, v = coroutine.resume(co, 21)
T.ok(ok and v == 42, "resume after a host wait")
T.eq(coroutine.status(co), "dead", "coroutine finished")

-- pcall is transparent to host waits
ok, v = pcall(function()
  llmdo.sleep(1)
  return "after"
end)
T.ok(ok and v == "after", "pcall across a wait")
local msg = T.raises(function() llmdo.sleep(-1) end)
T.ok(msg:find("non%-negative"), "negative sleep refused: " .. msg)

-- a host wait where the task cannot yield (a sort comparator) is refused, not
-- stranded, also when it is made inside a user coroutine
msg = T.raises(table.sort, { 3, 1, 2 }, function(a, b)
  llmdo.sleep(1)
  return a < b
end)
T.ok(msg:find("cannot wait here"), "wait in a comparator: " .. msg)
local waiter = coroutine.wrap(function() llmdo.sleep(1) return true end)
msg = T.raises(table.sort, { 3, 1, 2 }, function(a, b)
  waiter()
  return a < b
end)
T.ok(msg:find("cannot wait here"), "wait in a coroutine in a comparator: " .. msg)
llmdo.sleep(1)
T.ok(true, "the task still waits normally afterwards")

-- strict validation names the key path
local shape = V.record({ runtime = V.record { max_depth = V.integer { min = 1 } }, list = V.list(V.string) })
T.eq(shape({ runtime = { max_depht = 1 } }, ""), "runtime.max_depht: unknown key; did you mean 'max_depth'?",
  "unknown key")
T.eq(shape({ zzz = 1 }, ""), "zzz: unknown key", "unknown key, nothing near")
T.eq(shape({ runtime = { max_depth = 0 } }, ""), "runtime.max_depth: expected an integer >= 1, got 0", "minimum")
T.eq(shape({ list = { "a", 2 } }, ""), "list[2]: expected a string, got an integer", "list item")
T.eq(shape({ list = "a" }, ""), "list: expected a list, got a string", "list")
T.eq(shape({ ["odd key"] = 1 }, ""), '["odd key"]: unknown key', "quoted key")
T.eq(shape({ runtime = { max_depth = 2 }, list = {} }, ""), nil, "valid")

-- schema shorthand
local js = schema.to_json_schema({
  a = "number", b = "string?", tags = "string[]", n = { type = "integer", default = 1 },
})
T.eq(json.encode(js, "s"),
  '{"additionalProperties":false,"properties":{"a":{"type":"number"},"b":{"type":"string"},'
  .. '"n":{"default":1,"type":"integer"},"tags":{"items":{"type":"string"},"type":"array"}},'
  .. '"required":["a","tags"],"type":"object"}', "shorthand")
T.eq(json.encode(schema.to_json_schema(nil), "s"), '{"properties":{},"required":[],"type":"object"}', "no params")
local _, err = schema.to_json_schema({ a = "strnig" })
T.ok(err and err:find('params.a: unknown type "strnig"'), "bad type: " .. tostring(err))

-- patterns are ECMA-262 regular expressions, searched, not anchored
local function matches(pattern, value)
  return (txt.schema_validate({ type = "string", pattern = pattern }, value))
end
T.eq(matches("^[\\d]+$", "12"), true, "\\d inside a class")
T.eq(matches("^(?=.*\\d)", "abc"), false, "lookahead rejects")
T.eq(matches("^(?=.*\\d)", "a1"), true, "lookahead accepts")
T.eq(matches("^\\p{L}+$", "caf\u{e9}"), true, "\\p{L} letters")
T.eq(matches("^\\p{L}+$", "a1"), false, "\\p{L} rejects a digit")
T.eq(matches("b", "abc"), true, "not anchored")
T.eq(matches("^a$", "a\n"), false, "$ only at the end, as in ECMA-262")
T.eq(matches("^\\d$", "\u{663}"), false, "\\d is ASCII, as in ECMA-262")
T.eq(matches("^\\u00e9$", "\u{e9}"), true, "\\uhhhh escapes")
T.eq(matches("^a.c$", "a\xffc"), false, "invalid UTF-8 matches nothing")
-- a pattern that does not compile fails closed when validating...
ok, msg = txt.schema_validate({ type = "object", properties = { q = { type = "string", pattern = "(?=x" } } },
  { q = "x" })
T.eq(ok, false, "bad pattern rejects")
T.ok(msg:find("q: invalid pattern '(?=x': missing closing parenthesis", 1, true), "bad pattern named: " .. msg)
ok, msg = txt.schema_validate({ type = "object", patternProperties = { ["a("] = { type = "string" } } }, { ab = 1 })
T.eq(ok, false, "bad patternProperties key rejects")
T.ok(msg:find("invalid pattern 'a('", 1, true), "bad key named: " .. msg)
-- ...and is an error where a schema is declared
_, err = schema.to_json_schema({ q = { type = "string", pattern = "(?=x" } })
T.ok(err and err:find("params.q.pattern: invalid pattern '(?=x'", 1, true), "declared pattern: " .. tostring(err))
_, err = schema.to_json_schema({ type = "object", properties = { a = { type = "array", items = {
  type = "object", patternProperties = { ["[z-a]"] = {} } } } } }, "tools.t.params")
T.ok(err and err:find("tools.t.params.properties.a.items.patternProperties: invalid pattern '[z-a]'", 1, true),
  "nested patternProperties: " .. tostring(err))
T.eq(select(2, schema.to_json_schema({ e = { enum = { { pattern = "(" } } } })), nil, "enum values are not patterns")
msg = T.raises(llmdo.toolset, { tools = { t = { params = { q = { type = "string", pattern = "\\p{Nope}" } },
  fn = function() end } } })
T.ok(msg:find("tools.t.params.q.pattern: invalid pattern", 1, true), "toolset declaration: " .. msg)
msg = T.raises(llmdo.schema, { fields = { q = { type = "string", pattern = "*" } } })
T.ok(msg:find("fields.q.pattern: invalid pattern '*'", 1, true), "schema declaration: " .. msg)

local S = llmdo.schema { fields = { input = "string", n = "integer" } }
local inst = S { input = "x", n = 2 }
T.eq(schema.schema_of(inst), S, "instance is marked")
msg = T.raises(S, { input = "x" })
T.ok(msg:find("n: required field is missing"), msg)

-- JSON round trips keep integers
local d = json.decode('{"n": 3, "f": 2.5, "list": [1, 2.0], "s": "x"}')
T.eq(math.type(d.n), "integer", "integer kept")
T.eq(d.f, 2.5, "float kept")
T.eq(math.type(d.list[2]), "integer", "2.0 becomes 2")
T.eq(llmdo.json.decode("7"), 7, "top-level number")
-- empty arrays survive a round trip (provider blocks are sent back as received)
T.eq(json.encode(json.decode('{"a":[],"b":[ ],"c":"[]","d":[[]],"e":{}}'), "s"),
  '{"a":[],"b":[],"c":"[]","d":[[]],"e":{}}', "empty arrays")

-- a table whose keys collide once stringified cannot become a JSON object
msg = T.raises(json.encode, { [1] = "a", ["1"] = "b", x = 1 })
T.ok(msg:find('both 1 and "1"'), "colliding keys: " .. msg)

-- text for the terminal: controls and bytes that are not UTF-8 escaped, newlines kept only when asked
T.eq(term.escape("a\rb\xff\tc\0\27[1m\u{9b}\u{202e}\u{e9}\n"), "a\\rb\\xff\tc\\x00\\x1b[1m\\u009b\\u202e\u{e9}\\n",
  "one line")
T.eq(term.escape("a\nb\r\n", true), "a\nb\\r\n", "lines")

-- declared objects
T.eq(llmdo.kind(llmdo.toolset { tools = {} }), "toolset", "toolset kind")
T.eq(llmdo.kind(llmdo.model(function() end)), "model", "model kind")
T.eq(llmdo.kind({}), nil, "plain table")
msg = T.raises(llmdo.toolset, { factory = function() end, tools = {} })
T.ok(msg:find("exactly one of 'factory'"), msg)
msg = T.raises(llmdo.toolset, { tools = { add = { params = {} } } })
T.ok(msg:find("tools.add.fn: is required"), msg)
msg = T.raises(llmdo.entry, { name = "x" })
T.ok(msg:find("llmdo.entry: main: is required"), msg)

return T.done("core")
