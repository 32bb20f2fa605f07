/*
** approval: gate decisions. See approval.h.
*/
#include "approval.h"

#include <string.h>

#include <lauxlib.h>

#include "error.h"
#include "frame.h"
#include "json.h"
#include "vm.h"

#define SHORT_STRING 200

static const char cache_key = 'c';

/* The run table's field 'k'. [-0, +1] */
static int run_field(lua_State *L, const ld_gate *g, const char *k) {
  ld_frame_push(L, g->frame, LD_FRAME_RUN);
  lua_getfield(L, -1, k);
  lua_remove(L, -2);
  return lua_type(L, -1);
}

/* Pushes a permission error "Approval denied for <tool>: <note>". [-0, +1] */
static void push_denied(lua_State *L, const ld_gate *g, const char *note) {
  lua_pushfstring(L, "Approval denied for %s: %s", lua_tostring(L, g->name),
                  note && *note ? note : "no reason given");
  ld_error_push(L, "permission", lua_tostring(L, -1));
  lua_remove(L, -2);
}

static int blocked(lua_State *L, const ld_gate *g, const char *reason) {
  lua_pushfstring(L, "Blocked %s: %s", lua_tostring(L, g->name),
                  reason && *reason ? reason : "no reason given");
  ld_error_push(L, "permission", lua_tostring(L, -1));
  lua_remove(L, -2);
  return LD_DENIED;
}

/* Does the worker call carry attachments? (args.attachments non-empty) */
static int has_attachments(lua_State *L, const ld_gate *g) {
  int r = 0;
  if (!lua_istable(L, g->args)) return 0;
  if (lua_getfield(L, g->args, "attachments") == LUA_TTABLE)
    r = lua_rawlen(L, -1) > 0;
  else
    r = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return r;
}

/* worker_*_require_approval, overridden per worker (features §7.4). */
static int worker_rule(lua_State *L, const ld_gate *g, const char *global, const char *override) {
  int top = lua_gettop(L);
  run_field(L, g, global);
  int on = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (run_field(L, g, "worker_approval_overrides") == LUA_TTABLE &&
      lua_getfield(L, -1, lua_tostring(L, g->name)) == LUA_TTABLE &&
      lua_getfield(L, -1, override) == LUA_TBOOLEAN)
    on = lua_toboolean(L, -1);
  lua_settop(L, top);
  return on;
}

static int first(lua_State *L, const ld_gate *g) {
  lua_getfield(L, g->tool, "kind");
  int worker = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "worker") == 0;
  lua_pop(L, 1);
  if (worker) {
    if (worker_rule(L, g, "worker_calls_require_approval", "calls_require_approval")) return LD_REQUIRED;
    if (has_attachments(L, g) &&
        worker_rule(L, g, "worker_attachments_require_approval", "attachments_require_approval"))
      return LD_REQUIRED;
    return LD_APPROVED;
  }
  int t = lua_getfield(L, g->tool, "approval");
  int r = LD_REQUIRED; /* the secure default */
  if (t == LUA_TFUNCTION)
    r = LD_CALL_FN;
  else if (t == LUA_TSTRING && strcmp(lua_tostring(L, -1), "pre_approved") == 0)
    r = LD_APPROVED;
  lua_pop(L, 1);
  return r;
}

int ld_approval_first(lua_State *L, const ld_gate *g) {
  LD_STACK_ENTER(L);
  int r = first(L, g);
  LD_STACK_LEAVE(L, 0);
  return r;
}

static int after_fn(lua_State *L, const ld_gate *g, int nres) {
  int top = lua_gettop(L), first = top - nres + 1;
  const char *d = nres > 0 ? lua_tostring(L, first) : NULL;
  int r;
  if (d && strcmp(d, "pre_approved") == 0) {
    r = LD_APPROVED;
  } else if (d && strcmp(d, "required") == 0) {
    r = LD_REQUIRED;
  } else if (d && strcmp(d, "blocked") == 0) {
    const char *reason = nres > 1 ? lua_tostring(L, first + 1) : NULL;
    r = blocked(L, g, reason);
    lua_insert(L, first);
    lua_settop(L, first);
    return r;
  } else {
    lua_pushfstring(
        L,
        "the approval function of tool '%s' returned %s (expected \"pre_approved\", \"required\" or "
        "\"blocked\", reason)",
        lua_tostring(L, g->name), d ? d : luaL_typename(L, first));
    ld_error_push(L, "tool", lua_tostring(L, -1));
    lua_remove(L, -2);
    lua_insert(L, first);
    lua_settop(L, first);
    return LD_DENIED;
  }
  lua_settop(L, first - 1);
  return r;
}

/* Pushes the session-cache key: tool name + canonical JSON of the arguments. [-0, +1] */
static void push_cache_key(lua_State *L, const ld_gate *g) {
  lua_pushvalue(L, g->name);
  lua_pushliteral(L, "\n");
  ld_json_encode(L, g->args, LD_JSON_SORTED);
  lua_concat(L, 3);
}

static void push_cache(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &cache_key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &cache_key);
  }
}

/* A copy of the value at idx with long strings shortened, for display. [-0, +1] */
static void push_short(lua_State *L, int idx, int depth) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TSTRING) {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    if (n <= SHORT_STRING)
      lua_pushvalue(L, idx);
    else {
      size_t cut = SHORT_STRING;
      while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--;
      lua_pushlstring(L, s, cut);
      lua_pushfstring(L, "... (%d more bytes)", (int)(n - cut));
      lua_concat(L, 2);
    }
    return;
  }
  if (lua_type(L, idx) != LUA_TTABLE || depth > 16) {
    lua_pushvalue(L, idx);
    return;
  }
  luaL_checkstack(L, 6, "approval arguments");
  lua_newtable(L);
  if (lua_getmetatable(L, idx)) lua_setmetatable(L, -2);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    push_short(L, -1, depth + 1); /* copy k v short */
    lua_remove(L, -2);
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
}

/* The description: tool.describe(args) or "name(k='v', ...)". [-0, +1] */
static void push_description(lua_State *L, const ld_gate *g) {
  lua_getfield(L, g->tool, "kind");
  int worker = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "worker") == 0;
  lua_pop(L, 1);
  if (worker) {
    lua_pushfstring(L, "Call agent %s", lua_tostring(L, g->name));
    if (lua_istable(L, g->args) && lua_getfield(L, g->args, "attachments") == LUA_TTABLE &&
        lua_rawlen(L, -1) > 0) {
      int a = lua_gettop(L);
      lua_pushliteral(L, " with attachments: ");
      for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, a); i++) {
        if (i > 1) lua_pushliteral(L, ", ");
        lua_rawgeti(L, a, i);
        luaL_tolstring(L, -1, NULL);
        lua_remove(L, -2);
      }
      lua_concat(L, lua_gettop(L) - a);
      lua_remove(L, a);
      lua_concat(L, 2);
    } else if (lua_istable(L, g->args)) {
      lua_pop(L, 1);
    }
    return;
  }
  if (lua_getfield(L, g->tool, "describe") == LUA_TFUNCTION) {
    lua_pushvalue(L, g->args);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) return;
  }
  lua_pop(L, 1);
  /* name(k='v', n=1), keys sorted */
  int base = lua_gettop(L);
  int keys, n;
  lua_pushvalue(L, g->name);
  lua_pushliteral(L, "(");
  n = ld_vm_sorted_keys(L, g->args);
  keys = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, keys, i);
    const char *k = lua_tostring(L, -1);
    lua_getfield(L, g->args, k);
    push_short(L, -1, 0);
    lua_remove(L, -2);
    if (lua_type(L, -1) == LUA_TSTRING)
      lua_pushfstring(L, "%s%s='%s'", i > 1 ? ", " : "", k, lua_tostring(L, -1));
    else {
      ld_json_encode(L, -1, LD_JSON_SORTED);
      lua_pushfstring(L, "%s%s=%s", i > 1 ? ", " : "", k, lua_tostring(L, -1));
      lua_remove(L, -2);
    }
    lua_replace(L, -3); /* key value piece -> piece value */
    lua_pop(L, 1);
  }
  lua_remove(L, keys);
  lua_pushliteral(L, ")");
  lua_concat(L, lua_gettop(L) - base);
}

/* Pushes the text of the prompt for this call. [-0, +1] */
static void push_prompt_text(lua_State *L, const ld_gate *g) {
  ld_frame *f = ld_frame_check(L, g->frame);
  int base = lua_gettop(L);
  lua_getfield(L, g->frame, "worker");
  lua_pushfstring(L, "worker: %s (depth %d)\ntool:   %s\naction: ", lua_tostring(L, -1), f->depth,
                  lua_tostring(L, g->name));
  lua_remove(L, -2);
  push_description(L, g);
  lua_pushliteral(L, "\nargs:   ");
  push_short(L, g->args, 0);
  ld_json_encode(L, -1, LD_JSON_SORTED | LD_JSON_PRETTY);
  lua_remove(L, -2);
  luaL_gsub(L, lua_tostring(L, -1), "\n", "\n        ");
  lua_remove(L, -2);
  lua_concat(L, lua_gettop(L) - base);
}

int ld_approval_after_fn(lua_State *L, const ld_gate *g, int nres) {
  LD_STACK_ENTER(L);
  int r = after_fn(L, g, nres);
  LD_STACK_LEAVE(L, (r == LD_DENIED) - nres);
  return r;
}

static int mode(lua_State *L, const ld_gate *g, const char **by) {
  run_field(L, g, "approval_mode");
  const char *mode = lua_tostring(L, -1);
  int r;
  if (mode && strcmp(mode, "approve_all") == 0) {
    r = LD_APPROVED, *by = "approve_all";
  } else if (mode && strcmp(mode, "reject_all") == 0) {
    lua_pop(L, 1);
    push_denied(L, g, "--reject-all");
    *by = "reject_all";
    return LD_DENIED;
  } else {
    push_cache(L);
    push_cache_key(L, g);
    r = lua_rawget(L, -2) == LUA_TBOOLEAN ? LD_APPROVED : LD_PROMPT;
    *by = r == LD_APPROVED ? "session" : "person";
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  if (r == LD_PROMPT) push_prompt_text(L, g);
  return r;
}

int ld_approval_mode(lua_State *L, const ld_gate *g, const char **by) {
  LD_STACK_ENTER(L);
  int r = mode(L, g, by);
  LD_STACK_LEAVE(L, r == LD_DENIED || r == LD_PROMPT);
  return r;
}

static int answer(lua_State *L, const ld_gate *g) {
  const char *choice = lua_tostring(L, -2);
  if (choice && (strcmp(choice, "a") == 0 || strcmp(choice, "s") == 0)) {
    if (strcmp(choice, "s") == 0) { /* only "for this session" approvals are remembered */
      push_cache(L);
      push_cache_key(L, g);
      lua_pushboolean(L, 1);
      lua_rawset(L, -3);
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
    return LD_APPROVED;
  }
  const char *note = lua_tostring(L, -1);
  push_denied(L, g, note);
  lua_insert(L, -3);
  lua_pop(L, 2);
  return LD_DENIED;
}

int ld_approval_answer(lua_State *L, const ld_gate *g) {
  LD_STACK_ENTER(L);
  int r = answer(L, g);
  LD_STACK_LEAVE(L, (r == LD_DENIED) - 2);
  return r;
}
