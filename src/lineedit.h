/*
** lineedit: reading a line from the terminal with editing and history
** (libedit), without blocking the loop: libedit's callback interface is fed
** a character whenever stdin becomes readable.
**
**   core.readline(prompt) -> line | nil (end of input: Ctrl-D)
*/
#ifndef LD_LINEEDIT_H
#define LD_LINEEDIT_H

#include <lua.h>

int l_lineedit_readline(lua_State *L);

/* Is a prompt waiting for a line? */
int ld_lineedit_active(void);

/* Ctrl-C at the prompt: drop the line typed so far and prompt again. */
void ld_lineedit_interrupt(void);

/* Leaves the terminal as it found it (before the loop closes). */
void ld_lineedit_close(void);

#endif
