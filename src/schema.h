/*
** schema: JSON Schema validation of Lua values.
**
** Draft 7, checked against the official test suite (tests/lua/
** test_schema_suite.lua): type, enum, const, properties, required,
** additionalProperties, patternProperties, propertyNames, minProperties,
** maxProperties, dependencies, items (schema or tuple), additionalItems,
** prefixItems, minItems, maxItems, uniqueItems, contains, minLength,
** maxLength, pattern (ECMA-262 through PCRE2, see schema.c), minimum, maximum,
** exclusiveMinimum, exclusiveMaximum, multipleOf, allOf, anyOf, oneOf, not,
** if/then/else, boolean schemas and $ref to "#..." JSON pointers (which
** replaces its sibling keywords). Remote and $id-based references are not
** resolved. Unknown keywords (format, title, description, ...) are ignored.
**
** Lua has one table type, so an empty table is both an empty array and an
** empty object unless its metatable says __jsontype = "array"/"object".
** null is core.null (the NULL light userdata) or nil.
**
** A pattern (or patternProperties key) that does not compile fails closed:
** every value checked against it is rejected, with a message naming it.
** Declarations find such patterns first, with core.schema_check_pattern.
*/
#ifndef LD_SCHEMA_H
#define LD_SCHEMA_H

#include <lua.h>

/* core.schema_validate(schema, value) -> true | false, "path: message; ..." */
int l_schema_validate(lua_State *L);

/* Arguments left out that the schema's properties give a default get it,
** as pydantic does. Pushes the arguments: those at args, or with copy set
** and a default to fill, a copy (so a recorded tool call stays what the
** model sent). [-0, +1] */
void ld_schema_fill_defaults(lua_State *L, int schema, int args, int copy);
int l_schema_fill_defaults(lua_State *L);

/* core.schema_check_pattern(p) -> nil | "invalid pattern 'p': why" */
int l_schema_check_pattern(lua_State *L);

#endif
