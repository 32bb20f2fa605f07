/*
** vm: the Lua state, its libraries, and protected calls into Lua.
*/
#ifndef LD_VM_H
#define LD_VM_H

#include <lua.h>

/* Debug builds (no NDEBUG: the sanitizer build) check that a C function
** keeps the stack effect its comment promises: LD_STACK_ENTER(L) first,
** then LD_STACK_LEAVE(L, d) where it returns, d being what it leaves pushed
** minus what it popped. */
#ifndef NDEBUG
#include <assert.h>
#define LD_STACK_ENTER(L)    const int ld_stack_top_ = lua_gettop(L)
#define LD_STACK_LEAVE(L, d) assert(lua_gettop(L) == ld_stack_top_ + (d))
#else
#define LD_STACK_ENTER(L)    ((void)0)
#define LD_STACK_LEAVE(L, d) ((void)0)
#endif

/* Creates a state with the standard libraries, cjson, llmdo.core, every
** embedded module preloaded and the prelude run. NULL when out of memory;
** on other failures prints to stderr and returns NULL. */
lua_State *ld_vm_new(void);

/* With debug on, errors caught by ld_vm_pcall carry a traceback. */
void ld_vm_set_debug(lua_State *L, int on);
int l_vm_set_debug(lua_State *L);
int ld_vm_debug(lua_State *L);

/* Pushes a list of the string keys of the table at idx (nothing else:
** an empty list), sorted. Returns how many. [-0, +1, may raise] */
int ld_vm_sorted_keys(lua_State *L, int idx);

/* The message handler itself, for lua_pcallk callers. */
int ld_vm_msghandler(lua_State *L);

/* lua_pcall through the message handler. [-(nargs+1), +(nres|1)] */
int ld_vm_pcall(lua_State *L, int nargs, int nres);

/* The message handler: adds a traceback under --debug. Exposed so the
** scheduler can decorate errors of dead coroutines the same way. */
void ld_vm_decorate(lua_State *L, lua_State *co, int level);

/* Pushes llmdo's own module 'name' (internal modules included), loading
** it on first use. [-0, +1, may raise] */
void ld_vm_require(lua_State *L, const char *name);

#endif
