/**
 * One entry per clawcrew kind with what code outside the CRD needs of it: its resource (for paths and
 * informers), its parsed type, its owner reference and the labels of the objects derived from it.
 *
 * Informers cache the objects as the API server sent them; `parse` is the one way to a typed object.
 * Admission validates with the same schemas, so a mismatch means a CRD older than the operator.
 */
import type { KubernetesObject, V1OwnerReference } from "@kubernetes/client-node";
import type { z } from "zod";
import { type OwnerReferenceOptions, ownerReference } from "../runtime/apply.ts";
import type { Informer } from "../runtime/informer.ts";
import type { GroupVersionResource } from "../runtime/resource.ts";
import { keyOf, type NamedObject } from "../runtime/store.ts";
import { Agent } from "./agent.ts";
import { Delegation } from "./delegation.ts";
import { AGENT, AGENT_TEAM, DELEGATION, type KindDefinition } from "./kinds.ts";
import {
  CLAWCREW,
  LABEL_AGENT,
  LABEL_COMPONENT,
  LABEL_DELEGATION,
  LABEL_INSTANCE,
  LABEL_NAME,
  LABEL_PART_OF,
  LABEL_TEAM,
  MANAGED_BY,
} from "./labels.ts";
import { API_VERSION, GROUP, VERSION } from "./meta.ts";
import { AgentTeam } from "./team.ts";

export type ClawcrewObject = Agent | AgentTeam | Delegation;

/** One field that failed, as `spec.model.primary: must have the form provider/model`. */
export interface SchemaIssue {
  /** Dotted path from the object's root, such as `spec.members.0.agent`; "" for the object itself. */
  field: string;
  message: string;
}

/** An object does not match its kind's schema. */
export class ObjectSchemaError extends Error {
  override readonly name = "ObjectSchemaError";
  readonly kind: string;
  readonly namespace: string;
  readonly objectName: string;
  /** The first failing field; `issues` has all of them. */
  readonly field: string;
  readonly issues: readonly SchemaIssue[];

  constructor(kind: string, obj: unknown, error: z.ZodError) {
    const namespace = metadataText(obj, "namespace");
    const objectName = metadataText(obj, "name");
    const issues = error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
    super(
      `${kind} ${keyOf({ namespace, name: objectName }) || "(unnamed)"} does not match the schema: ${describe(issues)}`,
    );
    this.kind = kind;
    this.namespace = namespace;
    this.objectName = objectName;
    this.field = issues[0]?.field ?? "";
    this.issues = issues;
  }

  /** The failing fields and why, without the object's name: for an event or condition on the object itself. */
  get details(): string {
    return describe(this.issues);
  }
}

function metadataText(obj: unknown, field: "name" | "namespace"): string {
  const metadata = typeof obj === "object" && obj !== null ? (obj as { metadata?: unknown }).metadata : undefined;
  const value = typeof metadata === "object" && metadata !== null ? (metadata as Record<string, unknown>)[field] : "";
  return typeof value === "string" ? value : "";
}

function describe(issues: readonly SchemaIssue[]): string {
  return issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join("; ");
}

/** Where cached objects are looked up by key: an informer, or a stand-in in tests. */
export type ObjectCache = Pick<Informer<KubernetesObject>, "get">;

export interface ClawcrewKind<T extends ClawcrewObject> {
  readonly kind: T["kind"];
  readonly apiVersion: string;
  readonly gvr: GroupVersionResource;
  /** What the CRD is generated from. */
  readonly definition: KindDefinition;
  /** The object as parsed: defaults applied, unknown fields outside metadata dropped. */
  parse(obj: unknown): T;
  /**
   * `parse`, remembered per object and undefined when it does not match (`onMismatch` hears of it the
   * first time). Only for objects nobody mutates, such as an informer's: it replaces them on change.
   */
  parseCached(obj: KubernetesObject, onMismatch?: (error: ObjectSchemaError) => void): T | undefined;
  /**
   * The object itself, typed, when it matches the schema (remembered per object, like parseCached);
   * undefined otherwise. No second copy is kept: for caches of many objects (Delegations), where the
   * CRD, generated from the same schema, has applied the same defaults already.
   */
  checkedCached(obj: KubernetesObject, onMismatch?: (error: ObjectSchemaError) => void): T | undefined;
  /** The parsed object cached under namespace/name; undefined when absent or not matching. */
  lookup(cache: ObjectCache, namespace: string, name: string): T | undefined;
  /** A reference to `owner` (read from the API: it needs name and uid). Controller and blockOwnerDeletion by default. */
  ownerReference(owner: NamedObject, options?: OwnerReferenceOptions): V1OwnerReference;
  /** The labels on every object derived from the object named `name`. */
  labels(name: string): Record<string, string>;
}

function defineKind<T extends ClawcrewObject>(
  definition: KindDefinition,
  schema: z.ZodType<T>,
  labels: (name: string) => Record<string, string>,
  /** lookup() returns the cached object itself (checkedCached) instead of a parsed copy. */
  lookupWithoutCopy = false,
): ClawcrewKind<T> {
  const kind = definition.kind as T["kind"];
  const parsed = new WeakMap<object, T | ObjectSchemaError>();
  const parse = (obj: unknown): T => {
    const result = schema.safeParse(obj);
    if (!result.success) throw new ObjectSchemaError(kind, obj, result.error);
    return result.data;
  };
  const parseCached = (obj: KubernetesObject, onMismatch?: (error: ObjectSchemaError) => void): T | undefined => {
    let result = parsed.get(obj);
    if (result === undefined) {
      const attempt = schema.safeParse(obj);
      result = attempt.success ? attempt.data : new ObjectSchemaError(kind, obj, attempt.error);
      parsed.set(obj, result);
      if (result instanceof ObjectSchemaError) onMismatch?.(result);
    }
    return result instanceof ObjectSchemaError ? undefined : result;
  };
  const checked = new WeakMap<object, ObjectSchemaError | true>();
  const checkedCached = (obj: KubernetesObject, onMismatch?: (error: ObjectSchemaError) => void): T | undefined => {
    let result = checked.get(obj);
    if (result === undefined) {
      const attempt = schema.safeParse(obj);
      result = attempt.success ? true : new ObjectSchemaError(kind, obj, attempt.error);
      checked.set(obj, result);
      if (result !== true) onMismatch?.(result);
    }
    return result === true ? (obj as unknown as T) : undefined;
  };
  return {
    kind,
    apiVersion: API_VERSION,
    gvr: { group: GROUP, version: VERSION, plural: definition.plural },
    definition,
    parse,
    parseCached,
    checkedCached,
    lookup(cache, namespace, name) {
      const obj = cache.get(keyOf({ namespace, name }));
      return obj && (lookupWithoutCopy ? checkedCached(obj) : parseCached(obj));
    },
    // The kind's own apiVersion, not the object's: owner references name the version the operator serves.
    ownerReference: (owner, options) => ownerReference({ ...owner, apiVersion: API_VERSION, kind }, options),
    labels,
  };
}

const partOfClawcrew = { ...MANAGED_BY, [LABEL_PART_OF]: CLAWCREW };

export const AGENT_KIND = defineKind<Agent>(AGENT, Agent, (agent) => ({
  [LABEL_NAME]: "openclaw",
  [LABEL_INSTANCE]: agent,
  [LABEL_COMPONENT]: "agent",
  ...partOfClawcrew,
  [LABEL_AGENT]: agent,
}));

/** The managed-by label on a team's NetworkPolicies puts them in the operator's cache. */
export const AGENT_TEAM_KIND = defineKind<AgentTeam>(AGENT_TEAM, AgentTeam, (team) => ({
  [LABEL_COMPONENT]: "team",
  ...partOfClawcrew,
  [LABEL_TEAM]: team,
}));

/**
 * On a Delegation's result ConfigMaps. Tens of thousands may be cached: lookups check them without
 * keeping a parsed copy of each.
 */
export const DELEGATION_KIND = defineKind<Delegation>(
  DELEGATION,
  Delegation,
  (delegation) => ({ ...MANAGED_BY, [LABEL_DELEGATION]: delegation }),
  true,
);
