/*
** lua_core: assembles 'llmdo.core'. See lua_core.h.
*/
#include "lua_core.h"

#include <lauxlib.h>

#include "agent.h"
#include "error.h"
#include "events.h"
#include "frame.h"
#include "frontmatter.h"
#include "fs.h"
#include "glob.h"
#include "http.h"
#include "io.h"
#include "join.h"
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

int luaopen_llmdo_core(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"error", l_error_new},
      {"is_error", l_error_is},
      {"yaml_load", l_yaml_load},
      {"frontmatter", l_frontmatter_split},
      {"glob_match", l_glob_match},
      {"json_encode", l_json_encode},
      {"json_array", l_json_array},
      {"realpath", l_sys_realpath},
      {"stat", l_sys_stat},
      {"cwd", l_sys_cwd},
      {"isatty", l_sys_isatty},
      {"now", l_sys_now},
      {"base64", l_sys_base64},
      {"msghandler", ld_vm_msghandler},
      {"sleep", l_io_sleep},
      {"read_stdin", l_io_read_stdin},
      {"set_hooks", l_agent_set_hooks},
      {"schema_validate", l_schema_validate},
      {"schema_check_pattern", l_schema_check_pattern},
      {"event", l_events_emit},
      {"set_verbosity", l_events_set_verbosity},
      {"chat_stream", l_events_chat_stream},
      {"term_escape", l_term_escape},
      {"call_tool", l_toolplane_call},
      {"approve_agent", l_toolplane_gate_agent},
      {"parallel", l_join_parallel},
      {"turn", l_join_turn},
      {"readline", l_lineedit_readline},
      {"fs_read", l_fs_read},
      {"fs_write", l_fs_write},
      {"fs_list", l_fs_list},
      {"spawn", l_proc_spawn},
      {"environ", l_proc_environ},
      {"map", l_join_map},
      {"has_terminal", l_prompt_available},
      {NULL, NULL},
  };
  luaL_newlib(L, fns);
  ld_frame_open(L);
  ld_json_open(L);
  ld_http_open(L);
  ld_sched_open(L);
  ld_sched_push_sentinel(L);
  lua_setfield(L, -2, "YIELD");
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  lua_pushliteral(L, LLMDO_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
