-- Pitch deck evaluation, orchestrated by a model: main lists the decks,
-- hands each PDF to the pitch_evaluator worker as an attachment, and writes
-- one report per deck with filesystem_project. approve_all: this is a batch
-- job whose only writes are its reports.
return {
  workers = { "main.worker", "pitch_evaluator.worker" },
  lua = { "offline.lua" },
  entry = { input = "Evaluate every pitch deck in input/." },
  runtime = { approval_mode = "approve_all" },
}
