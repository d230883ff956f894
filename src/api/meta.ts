import { z } from "zod";

/** API group and version served by every clawcrew kind. */
export const GROUP = "clawcrew.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A CEL rule for `x-kubernetes-validations`. */
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  /** FieldValueDuplicate is left out on purpose: the API server drops the message for it. */
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired";
}

/** Attaches CEL validation rules to a schema; they are copied into the generated CRD. */
export function cel<T extends z.ZodType>(schema: T, ...rules: CelRule[]): T {
  return schema.meta({ "x-kubernetes-validations": rules });
}

/**
 * Text limited in bytes of UTF-8, as etcd and ConfigMaps count, not in characters (a 4-byte character
 * counts as one in maxLength): maxLength keeps CEL's cost estimate bounded, the rule counts bytes.
 */
export function utf8Text(maxBytes: number) {
  const message = `must be at most ${maxBytes} bytes of UTF-8`;
  return cel(
    z
      .string()
      .max(maxBytes)
      .refine((text) => Buffer.byteLength(text, "utf8") <= maxBytes, message),
    { rule: `bytes(self).size() <= ${maxBytes}`, message },
  );
}

/** A free-form object kept as written (`x-kubernetes-preserve-unknown-fields`). */
export function freeFormObject(description: string) {
  return z.record(z.string(), z.unknown()).meta({ "x-kubernetes-preserve-unknown-fields": true, description });
}

/** The longest name of an object whose name others are derived from (see docs/naming.md). */
export const MAX_DERIVING_NAME_LENGTH = 50;

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A reference to an Agent (or AgentTeam) by name: a DNS-1035 label short enough to derive names from. */
export const agentRef = z
  .string()
  .min(1)
  .max(MAX_DERIVING_NAME_LENGTH)
  .regex(DNS1035_LABEL, "must be a lowercase DNS-1035 label")
  .describe("Name of an Agent in the same namespace.");

/** The name of any object in the namespace, such as a ConfigMap or Secret. */
export const objectName = z.string().min(1).max(253).regex(DNS1123_SUBDOMAIN, "must be a DNS-1123 subdomain");

/** A short lowercase identifier (skill names, capabilities, group names). */
export const identifier = z.string().min(1).max(63).regex(DNS1123_LABEL, "must be a lowercase DNS-1123 label");

/** A Kubernetes resource quantity such as `500m` or `2Gi`. */
export const quantity = z.union([z.int().min(0), z.string().max(64)]).meta({
  "x-kubernetes-int-or-string": true,
  pattern:
    "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
});

const resourceList = z.record(z.string().max(253), quantity).meta({ maxProperties: 16 });

/** core/v1 ResourceRequirements (requests and limits). */
export const ResourceRequirements = z.object({
  requests: resourceList
    .optional()
    .describe("Resources the scheduler reserves, by name (cpu in cores such as 500m, memory in bytes such as 1280Mi)."),
  limits: resourceList
    .optional()
    .describe("Most of each resource the container may use, by name (cpu in cores, memory in bytes such as 2Gi)."),
});

/** status.observedGeneration, as every Kubernetes controller reports it. */
export const observedGeneration = z
  .int()
  .min(0)
  .optional()
  .describe(
    "The metadata.generation this status was computed from; behind metadata.generation while a change is in progress.",
  );

/** metav1.Condition, the standard status condition. */
export const Condition = z.object({
  type: z
    .string()
    .max(316)
    .regex(
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
    )
    .describe("Kind of condition in CamelCase, such as Ready."),
  status: z.enum(["True", "False", "Unknown"]).describe("Whether the condition holds: True, False or Unknown."),
  observedGeneration: z
    .int()
    .min(0)
    .optional()
    .describe("The metadata.generation the condition was computed from; older than the object's means it is stale."),
  lastTransitionTime: z.string().meta({ format: "date-time" }).describe("When status last changed (RFC 3339)."),
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
    .describe("Why the condition is in its status, as one CamelCase word a program can match on."),
  message: z.string().max(32768).describe("Why the condition is in its status, for people."),
});
export type Condition = z.infer<typeof Condition>;

/** A list of conditions keyed by type, as `kubectl wait` and kstatus expect. */
export const conditions = z
  .array(Condition)
  .max(16)
  .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
  .describe("The latest observations of the object's state, one per type; kubectl wait --for=condition reads them.");

/** The parts of ObjectMeta the operator reads. The API server validates the rest. */
export const ObjectMeta = z.looseObject({
  name: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.int().optional(),
  resourceVersion: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  deletionTimestamp: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
});
