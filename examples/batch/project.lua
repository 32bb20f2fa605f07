-- One support ticket in, one label out: a job small enough to run ten
-- thousand times, one `llmdo run` each, under GNU parallel (run.sh), a
-- Kubernetes Indexed Job or a workflow engine (docs/scale.md).
return {
  workers = { "triage.worker" },
  lua = { "offline.lua" },
}
