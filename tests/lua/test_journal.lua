-- Lua-level tests of the journal's C side: secrets added at run time are
-- redacted, and a request body is never split inside a secret (the part
-- before the split was written, redacted, in an earlier line).
local here = arg[0]:match("^(.*)/") or "."
local T = dofile(here .. "/t.lua")
local J = require "llmdo.core.journal"

J.add_secret("LAB_PAT", "SECRETVALUE123")
T.ok(J.has_secret('{"a":"xSECRETVALUE123x"}'), "a secret added at run time is known")
T.ok(not J.has_secret('{"a":"SECRETVALUE12"}'), "a part of it is not the secret")

local t = J.tracker()
local hash1, keep1, rest1 = t:feed('{"m":["hello","SECRETVALUE123 and more"]}')
T.eq(#hash1, 64, "a SHA-256 in hex")
T.eq(keep1, 0, "the first body is written whole")
T.eq(rest1, nil, "the first body has no rest")
-- the next body shares a prefix that ends inside the secret
local _, keep2, rest2 = t:feed('{"m":["hello","SECRETVALUE1 and other things"]}')
T.eq(keep2, #'{"m":["hello","', "the split moves back to before the secret")
T.eq(rest2, 'SECRETVALUE1 and other things"]}', "the rest starts where the secret began")
-- an ordinary shared prefix is kept as it is
local _, keep3 = t:feed('{"m":["hello","SECRETVALUE1 and other things"],"x":1}')
T.eq(keep3, #'{"m":["hello","SECRETVALUE1 and other things"]', "a shared prefix with no secret at its end")

-- a journal line redacts the secret and its JSON-escaped form
J.add_secret("QUOTED_PW", 'pa"ss\\word99')
local path = os.tmpname()
local j = assert(J.open(path))
j:write('{"a":"', 'pa\\"ss\\\\word99', '","b":"SECRETVALUE123"}')
j:close()
local f = assert(io.open(path))
local line = f:read("a")
f:close()
os.remove(path)
T.eq(line, '{"a":"[redacted:QUOTED_PW]","b":"[redacted:LAB_PAT]"}\n', "both forms are redacted")

return T.done("journal")
