-- Tidy the file names of the directory you are in. Listing is free; every
-- rename (mv) asks; everything else is blocked. The names come from a
-- deterministic Lua tool, so the same folder always gets the same names.
return {
  workers = { "main.worker" },
  lua = { "names.lua", "offline.lua" },
  entry = { input = "Tidy up the file names in this folder." },
  runtime = {
    approval_mode = "prompt",
    return_permission_errors = true, -- a refused mv is reported, the others still happen
  },
}
