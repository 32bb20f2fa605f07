-- Approvals on the terminal: reading the log is free, every write asks.
return {
  workers = { "main.worker" },
  lua = { "offline.lua" },
  runtime = { approval_mode = "prompt" },
}
