-- pitchdeck_eval, stabilized: what must come out the same every time (which
-- files, which slugs, where the reports go) moved from the prompt into a Lua
-- tool. The model still orchestrates and evaluates.
return {
  workers = { "main.worker", "pitch_evaluator.worker" },
  lua = { "decks.lua", "offline.lua" },
  entry = { input = "Evaluate every pitch deck." },
  runtime = { approval_mode = "approve_all" },
}
