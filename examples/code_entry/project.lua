-- A code entry (the reference doc's "Example: Code Entry Point"): Lua
-- decides what to do - one evaluation per PDF in input/, one report per
-- file in evaluations/ - and a worker does the reasoning on each file.
return {
  workers = { "evaluator.worker" },
  lua = { "entry.lua", "reviewer.lua" },
  entry = { input = "start" },
  runtime = { approval_mode = "approve_all" },
}
