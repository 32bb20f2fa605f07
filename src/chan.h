/*
** chan: a long-lived child spoken to in JSON-RPC lines - an MCP server
** over stdio (lua/llmdo/mcp.lua). The child runs as llmdo.exec's do (argv
** only, its own process group, the environment given), but its pipes stay
** open for the life of the handle, and any number of tasks may wait on it
** at once, each for the response that carries its own request id.
**
**   ch, err, code = core.proc.open{ argv =, cwd =, env = { "K=V", ... },
**                                   name = "gh" }
**   line | nil, why, kind = ch:call(id, text)
**       sends text (one JSON-RPC request; the newline is added) and waits
**       for the line whose top-level "id" is the integer id. kind:
**       "exited" (the server closed its output), "malformed" (it wrote a
**       line that is no JSON-RPC message: every waiting call fails), or
**       "closed" (ch:close). When the waiting task is cancelled, the server
**       is sent notifications/cancelled for the id.
**   true | nil, why = ch:send(text)          a notification: no wait
**   status, signal = ch:close(term_ms, kill_ms)
**       stdin closed; SIGTERM to the group if it has not ended term_ms
**       later, SIGKILL kill_ms after that; waits until the child is gone
**   ch:alive(), ch:pid(), ch:why() ("exited with status 1", or nil while
**   it runs), ch:stderr() (the last 2 KB it wrote to stderr)
**
** Requests the server sends are answered here: ping with {}, anything else
** with "method not found" (llmdo offers no client capabilities). At -vv the
** server's stderr and notifications are shown, one line each, tagged
** [mcp NAME]; they never reach stdout. Collecting the handle kills the
** group at once.
*/
#ifndef LD_CHAN_H
#define LD_CHAN_H

#include <lua.h>

/* [-1, +1 or +3] */
int l_chan_open(lua_State *L);

/* Makes the handle's metatable. [-0, +0] */
void ld_chan_init(lua_State *L);

#endif
