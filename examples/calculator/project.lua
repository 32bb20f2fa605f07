-- A calculator: the model does the talking, Lua does the arithmetic.
-- Every tool is pre-approved, so the run needs no approval at all: the
-- project even sets reject_all, which only refuses calls that would ask.
return {
  workers = { "main.worker" },
  lua = { "calc.lua", "offline.lua" },
  entry = { input = "What is 20 factorial, and the 50th Fibonacci number?" },
  runtime = { approval_mode = "reject_all" },
}
