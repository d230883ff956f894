/**
 * What an Agent's spec refers to, read for the reconciler: the soul ConfigMap, the credentials Secret,
 * the token Secret (created once, never taken over) and the agent's view of its teams; first
 * the operator's AgentPolicy is checked, and each referenced object against it.
 */
import { createHash, randomBytes } from "node:crypto";
import type { KubernetesObject, V1ConfigMap, V1Secret } from "@kubernetes/client-node";
import type { Agent } from "../api/agent.ts";
import { DELEGATION_TOKEN_ENV } from "../openclaw/pod-layout.ts";
import type { KubeClient } from "../runtime/client.ts";
import { isAlreadyExists } from "../runtime/errors.ts";
import type { Informer } from "../runtime/informer.ts";
import { describeConflict, isControlledBy, NotControlledError } from "../runtime/owned.ts";
import { DELEGATION_MCP_SERVER } from "../team/files.ts";
import { leadView } from "../team/lookup.ts";
import { DELEGATION_TOKEN_KEY, delegationTokenEnv, type ResolvedInputs, TOKEN_KEY, tokenSecret } from "./desired.ts";
import { agentObjectNames } from "./names.ts";
import { type AgentPolicy, checkAgentPolicy, checkReadable, DEFAULT_AGENT_POLICY } from "./policy.ts";

export interface InputSources {
  client: KubeClient;
  agents: Informer<KubernetesObject>;
  /**
   * The shared AgentTeam informer. With delegationEndpointUrl, an agent that delegates in a team gets
   * the roster, the delegation skill, the MCP client of the endpoint and the delegator pod label.
   */
  teams?: Informer<KubernetesObject>;
  /** URL of the operator's delegation MCP endpoint, as the agents' pods reach it (--delegation-url). */
  delegationEndpointUrl?: string;
  /** What the Agent may ask for; DEFAULT_AGENT_POLICY when unset. */
  policy?: AgentPolicy;
}

/** A referenced object is missing, or the spec cannot be rendered into a config OpenClaw accepts. */
export class ConfigProblemError extends Error {
  override name = "ConfigProblemError";
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Reads what the spec refers to. Missing objects become ConfigProblemErrors naming them. */
export async function resolveInputs(deps: InputSources, agent: Agent, signal: AbortSignal): Promise<ResolvedInputs> {
  const ns = agent.metadata.namespace!;
  const policy = deps.policy ?? DEFAULT_AGENT_POLICY;
  checkAgentPolicy(agent, policy);
  let soul = agent.spec.soul;
  const ref = agent.spec.soulFrom?.configMapKeyRef;
  if (ref) {
    const cm = await deps.client.getIfExists<V1ConfigMap>(`/api/v1/namespaces/${ns}/configmaps/${ref.name}`, {
      signal,
    });
    if (!cm)
      throw new ConfigProblemError(
        "SoulConfigMapNotFound",
        `ConfigMap ${ref.name} named in spec.soulFrom.configMapKeyRef does not exist`,
      );
    checkReadable(cm, `ConfigMap ${ref.name} named in spec.soulFrom.configMapKeyRef`, policy);
    soul = cm.data?.[ref.key];
    if (soul === undefined) {
      throw new ConfigProblemError(
        "SoulKeyNotFound",
        `ConfigMap ${ref.name} has no key ${ref.key} (spec.soulFrom.configMapKeyRef.key)`,
      );
    }
  }
  let credentialsVersion: string | undefined;
  let credentialKeys: string[] | undefined;
  const secretName = agent.spec.credentials?.secretRef.name;
  if (secretName) {
    const secret = await deps.client.getIfExists<V1Secret>(`/api/v1/namespaces/${ns}/secrets/${secretName}`, {
      signal,
    });
    if (!secret)
      throw new ConfigProblemError(
        "CredentialsSecretNotFound",
        `Secret ${secretName} named in spec.credentials.secretRef does not exist`,
      );
    checkReadable(secret, `Secret ${secretName} named in spec.credentials.secretRef`, policy);
    credentialsVersion = secret.metadata?.resourceVersion;
    credentialKeys = Object.keys(secret.data ?? {});
  }
  const tokens = await ensureTokenSecret(deps.client, agent, signal);
  const url = deps.delegationEndpointUrl;
  const team = deps.teams && url ? leadView(deps.teams, deps.agents, ns, agent.metadata.name!) : undefined;
  return {
    soul: soul ?? "",
    credentialsVersion,
    credentialKeys,
    tokenVersion: tokens.uid,
    // The lead authenticates to the endpoint with its delegation token, never with its gateway token:
    // only a delegator's pods get it.
    ...(team &&
      url && {
        team,
        mcpServers: { [DELEGATION_MCP_SERVER]: { url, tokenEnv: DELEGATION_TOKEN_ENV } },
        extraEnv: [delegationTokenEnv(agent.metadata.name!)],
        delegationTokenVersion: tokens.delegationVersion,
      }),
  };
}

/** 32 random bytes, as the operator makes both tokens. */
const newToken = () => randomBytes(32).toString("base64url");
/** A digest of a token as the Secret's data holds it (base64): it changes with the token and reveals nothing of it. */
const tokenVersion = (encoded: string) =>
  createHash("sha256").update(Buffer.from(encoded, "base64")).digest("hex").slice(0, 16);

/**
 * Creates the token Secret once, with a gateway token and a delegation token; an existing Secret is
 * never overwritten, and one the Agent does not control is never used (its values would become the
 * agent's tokens). A controlled Secret without a delegation token (made before there was one, or the key
 * deleted to rotate it) gets a new one. Returns the Secret's uid and a digest of the delegation token.
 */
async function ensureTokenSecret(
  client: KubeClient,
  agent: Agent,
  signal: AbortSignal,
): Promise<{ uid: string | undefined; delegationVersion: string }> {
  const ns = agent.metadata.namespace!;
  const name = agentObjectNames(agent.metadata.name!).tokenSecret;
  const path = `/api/v1/namespaces/${ns}/secrets/${name}`;
  const usable = async (secret: V1Secret) => {
    if (!isControlledBy(secret, agent.metadata.uid)) {
      throw new ConfigProblemError("NameConflict", new NotControlledError([describeConflict(secret)]).message);
    }
    if (!secret.data?.[TOKEN_KEY]) {
      throw new ConfigProblemError(
        "TokenSecretInvalid",
        `Secret ${name} exists but has no key ${TOKEN_KEY}; delete it to have a new token generated`,
      );
    }
    let delegation = secret.data[DELEGATION_TOKEN_KEY];
    if (!delegation) {
      // With the resourceVersion this is a compare-and-swap: a Secret changed or re-created since it
      // was read is a conflict, and the reconcile is retried.
      const patched = await client.request<V1Secret>("PATCH", path, {
        body: {
          metadata: { resourceVersion: secret.metadata?.resourceVersion },
          data: { [DELEGATION_TOKEN_KEY]: Buffer.from(newToken()).toString("base64") },
        },
        contentType: "application/merge-patch+json",
        signal,
      });
      delegation = patched.data?.[DELEGATION_TOKEN_KEY] ?? "";
    }
    return { uid: secret.metadata?.uid, delegationVersion: tokenVersion(delegation) };
  };
  const existing = await client.getIfExists<V1Secret>(path, { signal });
  if (existing) return usable(existing);
  try {
    const created = await client.request<V1Secret>("POST", `/api/v1/namespaces/${ns}/secrets`, {
      body: tokenSecret(agent, { gateway: newToken(), delegation: newToken() }),
      signal,
    });
    return {
      uid: created.metadata?.uid,
      delegationVersion: tokenVersion(created.data?.[DELEGATION_TOKEN_KEY] ?? ""),
    };
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    return usable(await client.get<V1Secret>(path, { signal }));
  }
}
