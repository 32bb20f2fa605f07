/*
** lua_core: the internal modules of C primitives. See lua_core.h.
*/
#include "lua_core.h"

#include <lauxlib.h>

#include "chan.h"
#include "error.h"
#include "events.h"
#include "frame.h"
#include "frontmatter.h"
#include "fs.h"
#include "glob.h"
#include "http.h"
#include "io.h"
#include "join.h"
#include "journal.h"
#include "json.h"
#include "lineedit.h"
#include "proc.h"
#include "prompt.h"
#include "sched.h"
#include "schema.h"
#include "sysutil.h"
#include "term.h"
#include "vm.h"
#include "toolplane.h"

static int open_error(lua_State *L) {
  static const luaL_Reg fns[] = {{"new", l_error_new},
                                 {"is", l_error_is},
                                 {"status", l_error_status},
                                 {"msghandler", ld_vm_msghandler},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}

static int open_json(lua_State *L) {
  static const luaL_Reg fns[] = {{"encode", l_json_encode}, {"array", l_json_array}, {NULL, NULL}};
  luaL_newlib(L, fns);
  ld_json_open(L);
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  return 1;
}

static int open_sys(lua_State *L) {
  static const luaL_Reg fns[] = {{"realpath", l_sys_realpath},
                                 {"stat", l_sys_stat},
                                 {"cwd", l_sys_cwd},
                                 {"isatty", l_sys_isatty},
                                 {"now", l_sys_now},
                                 {"base64", l_sys_base64},
                                 {"read_stdin", l_io_read_stdin},
                                 {"set_debug", l_vm_set_debug},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_pushliteral(L, LLMDO_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushliteral(L, LUA_RELEASE);
  lua_setfield(L, -2, "lua_release");
  return 1;
}

static int open_fs(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"read", l_fs_read}, {"write", l_fs_write}, {"list", l_fs_list}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}

static int open_proc(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"spawn", l_proc_spawn}, {"open", l_chan_open}, {"environ", l_proc_environ}, {NULL, NULL}};
  luaL_newlib(L, fns);
  ld_chan_init(L);
  return 1;
}

static int open_http(lua_State *L) {
  lua_newtable(L);
  ld_http_open(L);
  return 1;
}

static int open_task(lua_State *L) {
  static const luaL_Reg fns[] = {{"sleep", l_io_sleep}, {"parallel", l_join_parallel}, {"map", l_join_map},
                                 {"turn", l_join_turn}, {"timeout", l_join_timeout},   {NULL, NULL}};
  luaL_newlib(L, fns);
  ld_sched_open(L);
  ld_sched_push_sentinel(L);
  lua_setfield(L, -2, "YIELD");
  return 1;
}

static int open_frame(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"root", l_frame_root},           {"new", l_frame_new},     {"get", l_frame_get},
      {"set_tools", l_frame_set_tools}, {"count", l_frame_count}, {"add_usage", l_frame_add_usage},
      {"usage", l_frame_usage},         {"close", l_frame_close}, {NULL, NULL}};
  luaL_newlib(L, fns);
  ld_frame_open(L);
  lua_setfield(L, -2, "methods");
  return 1;
}

static int open_tool(lua_State *L) {
  static const luaL_Reg fns[] = {{"invoke", l_toolplane_invoke},
                                 {"gate_agent", l_toolplane_gate_agent},
                                 {"result", l_toolplane_result},
                                 {"on_decision", l_toolplane_on_decision},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  ld_toolplane_open(L);
  lua_setfield(L, -2, "ctx_meta");
  return 1;
}

static int open_term(lua_State *L) {
  static const luaL_Reg fns[] = {{"event", l_events_emit},
                                 {"set_verbosity", l_events_set_verbosity},
                                 {"chat_stream", l_events_chat_stream},
                                 {"readline", l_lineedit_readline},
                                 {"has_terminal", l_prompt_available},
                                 {"escape", l_term_escape},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}

static int open_text(lua_State *L) {
  static const luaL_Reg fns[] = {{"yaml_load", l_yaml_load},
                                 {"frontmatter", l_frontmatter_split},
                                 {"glob_match", l_glob_match},
                                 {"schema_validate", l_schema_validate},
                                 {"schema_fill_defaults", l_schema_fill_defaults},
                                 {"schema_check_pattern", l_schema_check_pattern},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}

void ld_core_install(lua_State *L, int idx) {
  static const luaL_Reg modules[] = {{"llmdo.core.error", open_error},
                                     {"llmdo.core.json", open_json},
                                     {"llmdo.core.sys", open_sys},
                                     {"llmdo.core.fs", open_fs},
                                     {"llmdo.core.proc", open_proc},
                                     {"llmdo.core.http", open_http},
                                     {"llmdo.core.task", open_task},
                                     {"llmdo.core.frame", open_frame},
                                     {"llmdo.core.tool", open_tool},
                                     {"llmdo.core.term", open_term},
                                     {"llmdo.core.text", open_text},
                                     {"llmdo.core.journal", ld_journal_open_module},
                                     {NULL, NULL}};
  lua_pushvalue(L, idx);
  luaL_setfuncs(L, modules, 0);
  lua_pop(L, 1);
}
