-- A data pipeline with per-tool approvals: reading and computing are
-- pre-approved, sending a notification asks (the secure default), and a
-- refusal goes back to the model instead of failing the run.
return {
  workers = { "main.worker" },
  lua = { "data.lua", "offline.lua" },
  entry = { input = "Summarise the amounts in input/sales.csv and notify #sales." },
  runtime = {
    approval_mode = "prompt",          -- the default, spelled out: whatever asks, asks you
    return_permission_errors = true,   -- a denied notification is reported, the summary still printed
  },
}
