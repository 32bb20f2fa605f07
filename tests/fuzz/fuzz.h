/*
** fuzz: what the libFuzzer targets under tests/fuzz share.
**
** Each target is one fuzz_<area>.c defining LLVMFuzzerTestOneInput. A
** broken property aborts with a message, so libFuzzer saves the input as
** a crash. Properties that are easier to say in Lua live in props.lua and
** run in one Lua state per process, made by ld_vm_new; props.lua receives
** the C functions under test, taken from their public headers.
*/
#ifndef LD_FUZZ_H
#define LD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a broken property on stderr and aborts. */
void fuzz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Calls props.lua's function 'name' with the bytes and 'extra', and fails
** if it raises (a broken property, or an error the code under test should
** not have let out). */
void fuzz_property(const char *name, const char *bytes, size_t n, lua_Integer extra);

#endif
