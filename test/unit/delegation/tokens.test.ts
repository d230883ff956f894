import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { TokenStore } from "../../../src/delegation/tokens.ts";
import type { Informer, InformerEvents } from "../../../src/runtime/informer.ts";
import { objectKey } from "../../../src/runtime/store.ts";

type Events = InformerEvents<KubernetesObject>;

/** The informer surface TokenStore uses: a store, and handlers a test fires. */
class SecretCache {
  readonly #store = new Map<string, KubernetesObject>();
  readonly #handlers: { [E in keyof Events]: Events[E][] } = { add: [], update: [], delete: [] };
  on<E extends keyof Events>(event: E, handler: Events[E]) {
    this.#handlers[event].push(handler);
    return () => undefined;
  }
  get(key: string) {
    return this.#store.get(key);
  }
  put(secret: KubernetesObject) {
    const old = this.#store.get(objectKey(secret));
    this.#store.set(objectKey(secret), secret);
    if (old) for (const h of this.#handlers.update) h(old, secret);
    else for (const h of this.#handlers.add) h(secret);
  }
  remove(secret: KubernetesObject) {
    this.#store.delete(objectKey(secret));
    for (const h of this.#handlers.delete) h(secret);
  }
  asInformer() {
    return this as unknown as Informer<KubernetesObject>;
  }
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

function tokenSecret(agent: string, data: { token?: string; delegation?: string }, uid = `${agent}-uid`) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: `${agent}-token`,
      namespace: "ns",
      labels: { "clawcrew.io/agent": agent },
      ownerReferences: [{ apiVersion: "clawcrew.io/v1alpha1", kind: "Agent", name: agent, uid, controller: true }],
    },
    data: {
      ...(data.token && { token: b64(data.token) }),
      ...(data.delegation && { "delegation-token": b64(data.delegation) }),
    },
  } as KubernetesObject;
}

describe("TokenStore", () => {
  it("gives the gateway token to call an agent, and authenticates only its delegation token", () => {
    const cache = new SecretCache();
    const store = new TokenStore(cache.asInformer());
    cache.put(tokenSecret("ceo", { token: "gateway-ceo", delegation: "delegation-ceo" }));
    expect(store.tokenOf("ns", "ceo")).toBe("gateway-ceo");
    expect(store.authenticate("delegation-ceo")).toEqual({ namespace: "ns", agent: "ceo" });
    expect(store.authenticate("gateway-ceo")).toBeUndefined();
    expect(store.authenticate("")).toBeUndefined();
    expect(store.authenticate("delegation-ce")).toBeUndefined();
  });

  it("authenticates nobody with a Secret that has no delegation token yet, and the new one once it is added", () => {
    const cache = new SecretCache();
    const store = new TokenStore(cache.asInformer());
    cache.put(tokenSecret("ceo", { token: "gateway-ceo" }));
    expect(store.tokenOf("ns", "ceo")).toBe("gateway-ceo");
    expect(store.authenticate("gateway-ceo")).toBeUndefined();
    cache.put(tokenSecret("ceo", { token: "gateway-ceo", delegation: "delegation-ceo" }));
    expect(store.authenticate("delegation-ceo")).toEqual({ namespace: "ns", agent: "ceo" });
  });

  it("refuses a rotated-away delegation token and a deleted Secret's", () => {
    const cache = new SecretCache();
    const store = new TokenStore(cache.asInformer());
    cache.put(tokenSecret("ceo", { token: "g", delegation: "old" }));
    cache.put(tokenSecret("ceo", { token: "g", delegation: "new" }));
    expect(store.authenticate("old")).toBeUndefined();
    expect(store.authenticate("new")).toEqual({ namespace: "ns", agent: "ceo" });
    cache.remove(tokenSecret("ceo", { token: "g", delegation: "new" }));
    expect(store.authenticate("new")).toBeUndefined();
    expect(store.tokenOf("ns", "ceo")).toBeUndefined();
  });

  it("authenticates no one with a delegation token that several agents' Secrets share", () => {
    const cache = new SecretCache();
    const store = new TokenStore(cache.asInformer());
    cache.put(tokenSecret("ceo", { token: "g1", delegation: "same" }));
    cache.put(tokenSecret("cto", { token: "g2", delegation: "same" }));
    expect(store.authenticate("same")).toBeUndefined();
    cache.remove(tokenSecret("cto", { token: "g2", delegation: "same" }));
    expect(store.authenticate("same")).toEqual({ namespace: "ns", agent: "ceo" });
  });

  it("trusts only a Secret its Agent owns: the owner's uid must be the Agent's", () => {
    const cache = new SecretCache();
    const agents = new Map([["ns/ceo", "ceo-uid"]]);
    const store = new TokenStore(cache.asInformer(), (ns, agent) => agents.get(`${ns}/${agent}`));
    cache.put(tokenSecret("ceo", { token: "g", delegation: "d" }, "someone-else"));
    expect(store.authenticate("d")).toBeUndefined();
    expect(store.tokenOf("ns", "ceo")).toBeUndefined();
    cache.put(tokenSecret("ceo", { token: "g", delegation: "d" }));
    expect(store.authenticate("d")).toEqual({ namespace: "ns", agent: "ceo" });
    // The Agent re-created under another uid: its old Secret no longer speaks for it.
    agents.set("ns/ceo", "new-uid");
    expect(store.authenticate("d")).toBeUndefined();
  });
});
