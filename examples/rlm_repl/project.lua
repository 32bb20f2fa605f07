-- A recursive language model (RLM) over a Lua REPL: the document is not in
-- the prompt but in the REPL, as the variable `context`; the model inspects
-- it with code, and hands pieces to copies of itself.
return {
  workers = { "rlm.worker" },
  lua = { "repl.lua", "offline.lua" },
  entry = { input = "How many ERROR lines does the log have, and which service logged the most?" },
  runtime = { approval_mode = "reject_all", max_depth = 3 },
}
