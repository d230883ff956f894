/**
 * Tokens from the cached `<agent>-token` Secrets (labelled `clawcrew.io/agent`, owned by the Agent):
 * the gateway token to send to an agent, and which agent a presented delegation token belongs to. The
 * endpoint accepts only delegation tokens: a gateway token (which whoever calls the gateway holds) does
 * not delegate. Lookups compare sha256 digests, so nothing depends on a secret's prefix.
 */
import { createHash } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import { DELEGATION_TOKEN_KEY, TOKEN_KEY } from "../agent/desired.ts";
import { agentObjectNames, LABEL_AGENT } from "../agent/names.ts";
import type { Informer } from "../runtime/informer.ts";
import { keyOf, objectKey } from "../runtime/store.ts";

export interface Caller {
  namespace: string;
  agent: string;
}

export interface TokenSource {
  tokenOf(namespace: string, agent: string): string | undefined;
}

interface SecretLike extends KubernetesObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** The agent whose token Secret this is, or undefined when it is not one of ours. */
export function tokenSecretAgent(secret: KubernetesObject): string | undefined {
  const agent = secret.metadata?.labels?.[LABEL_AGENT];
  if (!agent || secret.metadata?.name !== agentObjectNames(agent).tokenSecret) return undefined;
  const owned = secret.metadata.ownerReferences?.some((r) => r.kind === "Agent" && r.name === agent);
  return owned ? agent : undefined;
}

/** One of the token Secret's tokens: TOKEN_KEY (the gateway token) or DELEGATION_TOKEN_KEY. */
export function secretToken(secret: KubernetesObject, key: string): string | undefined {
  const s = secret as SecretLike;
  const encoded = s.data?.[key];
  if (encoded !== undefined) return Buffer.from(encoded, "base64").toString("utf8");
  return s.stringData?.[key];
}

export class TokenStore implements TokenSource {
  readonly #secrets: Informer<KubernetesObject>;
  readonly #agentUid: ((namespace: string, agent: string) => string | undefined) | undefined;
  /** secret key → delegation token digest, and digest → callers. */
  readonly #digestOf = new Map<string, { digest: string; caller: Caller }>();
  readonly #callers = new Map<string, Map<string, Caller>>();
  readonly #unsubscribe: (() => void)[];

  /** `agentUid` (from the Agents cache) makes the owner check exact: the owner's uid must match. */
  constructor(
    secrets: Informer<KubernetesObject>,
    agentUid?: (namespace: string, agent: string) => string | undefined,
  ) {
    this.#secrets = secrets;
    this.#agentUid = agentUid;
    this.#unsubscribe = [
      secrets.on("add", (s) => this.#index(s)),
      secrets.on("update", (_old, s) => this.#index(s)),
      secrets.on("delete", (s) => this.#forget(objectKey(s))),
    ];
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }

  /** The agent's gateway token, to call its gateway with. */
  tokenOf(namespace: string, agent: string): string | undefined {
    return this.#token(namespace, agent, TOKEN_KEY);
  }

  /** The agent a delegation token belongs to; undefined when unknown or shared by several agents. */
  authenticate(bearer: string): Caller | undefined {
    if (!bearer) return undefined;
    const callers = this.#callers.get(sha256(bearer));
    if (callers?.size !== 1) return undefined;
    const [caller] = callers.values();
    // Re-check against the cache: the owner may have changed since the Secret was indexed.
    return caller && this.#token(caller.namespace, caller.agent, DELEGATION_TOKEN_KEY) === bearer ? caller : undefined;
  }

  #token(namespace: string, agent: string, key: string): string | undefined {
    const secret = this.#secrets.get(keyOf({ namespace, name: agentObjectNames(agent).tokenSecret }));
    if (!secret || !this.#valid(secret)) return undefined;
    return secretToken(secret, key);
  }

  #valid(secret: KubernetesObject): boolean {
    const agent = tokenSecretAgent(secret);
    if (!agent) return false;
    if (!this.#agentUid) return true;
    const uid = this.#agentUid(secret.metadata?.namespace ?? "", agent);
    return (
      uid !== undefined && secret.metadata?.ownerReferences?.some((r) => r.kind === "Agent" && r.uid === uid) === true
    );
  }

  #index(secret: KubernetesObject): void {
    const key = objectKey(secret);
    this.#forget(key);
    const agent = tokenSecretAgent(secret);
    const token = agent ? secretToken(secret, DELEGATION_TOKEN_KEY) : undefined;
    if (!agent || !token) return;
    const caller = { namespace: secret.metadata?.namespace ?? "", agent };
    const digest = sha256(token);
    this.#digestOf.set(key, { digest, caller });
    let callers = this.#callers.get(digest);
    if (!callers) {
      callers = new Map();
      this.#callers.set(digest, callers);
    }
    callers.set(key, caller);
  }

  #forget(key: string): void {
    const entry = this.#digestOf.get(key);
    if (!entry) return;
    this.#digestOf.delete(key);
    const callers = this.#callers.get(entry.digest);
    callers?.delete(key);
    if (callers?.size === 0) this.#callers.delete(entry.digest);
  }
}
