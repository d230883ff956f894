/** Results: inline in status when small, otherwise in a ConfigMap owned by the Delegation. */
import type { V1ConfigMap } from "@kubernetes/client-node";
import { type Delegation, MAX_INLINE_RESULT_BYTES } from "../api/delegation.ts";
import { LABEL_DELEGATION, MANAGED_BY } from "../api/labels.ts";
import { DELEGATION_KIND } from "../api/registry.ts";
import type { KubeClient } from "../runtime/client.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../runtime/errors.ts";
import { describeConflict, isControlledBy, NotControlledError } from "../runtime/owned.ts";
import { resourcePath } from "../runtime/resource.ts";

/** Results longer than this are cut before they are stored anywhere (a ConfigMap holds at most 1 MiB). */
export const MAX_RESULT_BYTES = 1_000_000;
export const RESULT_KEY = "result";
export const ANNOTATION_ATTEMPT_ID = "clawcrew.io/attempt-id";

/** The longest prefix of `text` that is at most `maxBytes` of UTF-8, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return "";
  // Fast path: every UTF-16 unit is at most 3 bytes.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the character that does not fit.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8");
}

export function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/**
 * `<delegation>-result-<attempt number>-<attempt id>`: the random attempt id keeps two leaders that ran
 * the same attempt number apart, and a ConfigMap someone made in advance from matching. Delegation
 * names are at most 63 characters, so the name stays far below 253.
 */
export function resultConfigMapName(delegation: string, attemptNumber: number, attemptId: string): string {
  return `${delegation}-result-${attemptNumber}-${attemptId}`;
}

/** The ConfigMap holding a long result; GC removes it with its Delegation. */
export function resultConfigMap(d: Delegation, attemptNumber: number, text: string, attemptId: string): V1ConfigMap {
  const name = d.metadata.name!;
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: resultConfigMapName(name, attemptNumber, attemptId),
      namespace: d.metadata.namespace!,
      labels: { ...MANAGED_BY, [LABEL_DELEGATION]: name },
      annotations: { [ANNOTATION_ATTEMPT_ID]: attemptId },
      // blockOwnerDeletion would need update on delegations/finalizers under OwnerReferencesPermissionEnforcement.
      ownerReferences: [DELEGATION_KIND.ownerReference(d, { blockOwnerDeletion: false })],
    },
    data: { [RESULT_KEY]: text },
  };
}

export interface InlineResult {
  /** status.result: the whole text, or a prefix plus a pointer to the ConfigMap. */
  result: string;
  /** The whole text (already cut at MAX_RESULT_BYTES) when it does not fit inline. */
  overflow?: string;
  /** Set when the text was cut at MAX_RESULT_BYTES. */
  cutMessage?: string;
}

/** Splits a reply into what status.result holds and what goes to a ConfigMap. */
export function splitResult(text: string, configMapName: string): InlineResult {
  const size = byteLength(text);
  if (size <= MAX_INLINE_RESULT_BYTES) return { result: text };
  const full = size > MAX_RESULT_BYTES ? truncateUtf8(text, MAX_RESULT_BYTES) : text;
  const suffix = `\n…[truncated: full result in ConfigMap ${configMapName}]`;
  const budget = Math.min(MAX_INLINE_RESULT_BYTES - 64, MAX_INLINE_RESULT_BYTES - byteLength(suffix));
  return {
    result: truncateUtf8(full, budget) + suffix,
    overflow: full,
    ...(size > MAX_RESULT_BYTES && {
      cutMessage: `the result was ${size} bytes; only the first ${MAX_RESULT_BYTES} bytes were kept`,
    }),
  };
}

/** Where long results go; a fake in unit tests. */
export interface ResultStore {
  /** Stores the text and returns the key reference for status.resultRef. */
  save(d: Delegation, attemptNumber: number, attemptId: string, text: string): Promise<{ name: string; key: string }>;
  /** Removes a ConfigMap this attempt wrote, after its terminal write lost. */
  discard(d: Delegation, attemptNumber: number, attemptId: string): Promise<void>;
  /** Reads a stored result (pipeline stages pass the full text on). */
  read(namespace: string, ref: { name: string; key: string }): Promise<string | undefined>;
}

export class ConfigMapResultStore implements ResultStore {
  readonly #client: KubeClient;

  constructor(client: KubeClient) {
    this.#client = client;
  }

  async save(d: Delegation, attemptNumber: number, attemptId: string, text: string) {
    const cm = resultConfigMap(d, attemptNumber, text, attemptId);
    const ns = d.metadata.namespace!;
    const path = resourcePath({ group: "", version: "v1", plural: "configmaps" }, { namespace: ns });
    try {
      await this.#client.request("POST", path, { body: cm });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      // Only this attempt's own earlier write (its answer lost) counts; anything else is never overwritten.
      const existing = await this.#client.get<V1ConfigMap>(`${path}/${encodeURIComponent(cm.metadata!.name!)}`);
      const ours =
        isControlledBy(existing, d.metadata.uid) &&
        existing.metadata?.annotations?.[ANNOTATION_ATTEMPT_ID] === attemptId;
      if (!ours) throw new NotControlledError([describeConflict(existing)]);
    }
    return { name: cm.metadata!.name!, key: RESULT_KEY };
  }

  async discard(d: Delegation, attemptNumber: number, attemptId: string): Promise<void> {
    const ns = d.metadata.namespace!;
    const path = resourcePath(
      { group: "", version: "v1", plural: "configmaps" },
      { namespace: ns, name: resultConfigMapName(d.metadata.name!, attemptNumber, attemptId) },
    );
    try {
      const cm = await this.#client.get<V1ConfigMap>(path);
      if (!isControlledBy(cm, d.metadata.uid) || cm.metadata?.annotations?.[ANNOTATION_ATTEMPT_ID] !== attemptId)
        return;
      await this.#client.request("DELETE", path, {
        body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid: cm.metadata.uid } },
      });
    } catch (error) {
      if (isNotFound(error) || isConflict(error)) return;
      throw error;
    }
  }

  async read(namespace: string, ref: { name: string; key: string }): Promise<string | undefined> {
    const path = resourcePath({ group: "", version: "v1", plural: "configmaps" }, { namespace, name: ref.name });
    return (await this.#client.getIfExists<V1ConfigMap>(path))?.data?.[ref.key];
  }
}

/** A gateway's answer as a finished status carries it, and whether a ConfigMap now holds it. */
export interface StoredAnswer {
  result: string;
  resultRef?: { name: string; key: string };
  /** Set when the answer was cut, or could not be stored in full. */
  message?: string;
  /** True when a ConfigMap was written: it must go if the terminal write loses. */
  saved: boolean;
}

/** Puts what fits in status.result and the whole answer in this attempt's ConfigMap. */
export async function storeAnswer(
  results: ResultStore,
  d: Delegation,
  attemptNumber: number,
  attemptId: string,
  content: string,
  onStoreError: (error: unknown) => void,
): Promise<StoredAnswer> {
  const split = splitResult(content, resultConfigMapName(d.metadata.name!, attemptNumber, attemptId));
  const answer: StoredAnswer = { result: split.result, saved: false };
  if (split.overflow === undefined) return answer;
  try {
    answer.resultRef = await results.save(d, attemptNumber, attemptId, split.overflow);
    answer.saved = true;
  } catch (error) {
    onStoreError(error);
    answer.message = "the result was longer than status.result allows and could not be stored in full";
  }
  if (split.cutMessage) answer.message = split.cutMessage;
  return answer;
}
