/*
** schema: JSON Schema validation of Lua values.
**
** Supported keywords (draft 7 / 2019-09 / 2020-12 semantics where they
** agree): type, enum, const, properties, required, additionalProperties,
** patternProperties, propertyNames, minProperties, maxProperties, items
** (schema or tuple), prefixItems, additionalItems, minItems, maxItems,
** uniqueItems, contains, minLength, maxLength, pattern, minimum, maximum,
** exclusiveMinimum, exclusiveMaximum (numbers, as in draft 6 and later),
** multipleOf, allOf, anyOf, oneOf, not, if/then/else, $ref to "#..."
** JSON pointers, and boolean schemas. Unknown keywords (format, title,
** description, ...) are ignored, as the specification says.
**
** Lua has one table type, so an empty table is both an empty array and an
** empty object unless its metatable says __jsontype = "array"/"object".
** null is core.null (the NULL light userdata) or nil.
*/
#ifndef LD_SCHEMA_H
#define LD_SCHEMA_H

#include <lua.h>

/* core.schema_validate(schema, value) -> true | false, "path: message; ..." */
int l_schema_validate(lua_State *L);

#endif
