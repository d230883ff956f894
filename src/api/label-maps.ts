/**
 * Label and annotation maps whose keys (and label values) are checked as the API server checks them
 * on the pods they end up on, so a bad key is refused when the Agent is applied, not later with a 422
 * on the Deployment. Each check is a zod refinement and the same regular expression as a CEL rule.
 */
import { z } from "zod";
import { cel } from "./meta.ts";

// `[.]` rather than `\.`: the same text is a JavaScript and a CEL (RE2) regular expression, and CEL
// string literals have no `\.` escape.
const NAME = "([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]";
const SUBDOMAIN = "[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
/** apimachinery's IsQualifiedName, but for the prefix's length (PREFIX_LENGTH). */
const QUALIFIED_NAME = `^(${SUBDOMAIN}/)?${NAME}$`;
/** The prefix, when there is one, is at most 253 characters. */
const PREFIX_LENGTH = "^[^/]{1,253}/";
/** apimachinery's IsValidLabelValue. */
const LABEL_VALUE = `^(${NAME})?$`;

const MAX_KEY_LENGTH = 253 + 1 + 63;
const MAX_ENTRIES = 64;

const qualifiedName = new RegExp(QUALIFIED_NAME);
const prefixLength = new RegExp(PREFIX_LENGTH);
const labelValue = new RegExp(LABEL_VALUE);

/** Whether `key` is a valid label or annotation key. */
export function isQualifiedName(key: string): boolean {
  return qualifiedName.test(key) && (!key.includes("/") || prefixLength.test(key));
}

const QUALIFIED_NAME_SYNTAX =
  "a name of at most 63 letters, digits, '-', '_' or '.' that begins and ends with a letter or digit, optionally after a DNS-1123 subdomain of at most 253 characters and '/', such as example.com/pool";
const keyMessage = (field: string) => `${field} keys must be qualified names: ${QUALIFIED_NAME_SYNTAX}`;
const valueMessage = (field: string) =>
  `${field} values must be empty or at most 63 letters, digits, '-', '_' or '.' that begin and end with a letter or digit`;

/** CEL for isQualifiedName(`name`). */
const celQualifiedName = (name: string) =>
  `${name}.matches('${QUALIFIED_NAME}') && (!${name}.contains('/') || ${name}.matches('${PREFIX_LENGTH}'))`;
const celKeyRule = (field: string) => ({ rule: `self.all(k, ${celQualifiedName("k")})`, message: keyMessage(field) });

/** A taint key at `field`: empty (with operator Exists, every taint) or a qualified name. */
export function taintKey(field: string) {
  const message = `${field} must be empty or a qualified name: ${QUALIFIED_NAME_SYNTAX}`;
  return cel(
    z
      .string()
      .max(MAX_KEY_LENGTH)
      .refine((key) => key === "" || isQualifiedName(key), message),
    {
      rule: `self == '' || (${celQualifiedName("self")})`,
      message,
    },
  );
}

/** A map of up to 64 labels (keys and values) at `field`, the field's path in messages. */
export function labelMap(field: string) {
  const keys = keyMessage(field);
  const values = valueMessage(field);
  return cel(
    z
      .record(z.string().max(MAX_KEY_LENGTH), z.string().max(63))
      .superRefine((map, ctx) => {
        for (const [key, value] of Object.entries(map)) {
          if (!isQualifiedName(key)) ctx.addIssue({ code: "custom", message: keys, path: [key] });
          else if (!labelValue.test(value)) ctx.addIssue({ code: "custom", message: values, path: [key] });
        }
      })
      .meta({ maxProperties: MAX_ENTRIES }),
    celKeyRule(field),
    { rule: `self.all(k, self[k].matches('${LABEL_VALUE}'))`, message: values },
  );
}

/** A map of up to 64 annotations at `field`: the keys are checked, the values are free text. */
export function annotationMap(field: string) {
  const keys = keyMessage(field);
  return cel(
    z
      .record(z.string().max(MAX_KEY_LENGTH), z.string().max(65536))
      .superRefine((map, ctx) => {
        for (const key of Object.keys(map)) {
          if (!isQualifiedName(key)) ctx.addIssue({ code: "custom", message: keys, path: [key] });
        }
      })
      .meta({ maxProperties: MAX_ENTRIES }),
    celKeyRule(field),
  );
}
