import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { tokenSecretOnly } from "../../../src/operator/operator.ts";

const secret = (name: string, data: Record<string, string>, agent = "scout"): KubernetesObject =>
  ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace: "ns",
      labels: { "app.kubernetes.io/managed-by": "clawcrew", "clawcrew.io/agent": agent },
      ownerReferences: [{ apiVersion: "clawcrew.io/v1alpha1", kind: "Agent", name: agent, uid: "u", controller: true }],
    },
    type: "Opaque",
    data,
  }) as KubernetesObject;

describe("the cache of owned Secrets", () => {
  it("keep an Agent's token Secret's two tokens and no other key, and no data of any other Secret", () => {
    const token = Buffer.from("t".repeat(43)).toString("base64");
    const delegation = Buffer.from("d".repeat(43)).toString("base64");
    expect(
      (
        tokenSecretOnly(secret("scout-token", { token, "delegation-token": delegation, extra: "c2VjcmV0" })) as {
          data?: unknown;
        }
      ).data,
    ).toEqual({ token, "delegation-token": delegation });
    expect((tokenSecretOnly(secret("scout-token", { token, extra: "c2VjcmV0" })) as { data?: unknown }).data).toEqual({
      token,
    });
    // An oversized delegation token is dropped, the gateway token kept.
    expect(
      (tokenSecretOnly(secret("scout-token", { token, "delegation-token": "A".repeat(4096) })) as { data?: unknown })
        .data,
    ).toEqual({ token });
    // Labelled and owned like one, but not named <agent>-token.
    expect((tokenSecretOnly(secret("scout-keys", { token })) as { data?: unknown }).data).toBeUndefined();
    // A token far larger than the operator makes.
    expect(
      (tokenSecretOnly(secret("scout-token", { token: "A".repeat(4096) })) as { data?: unknown }).data,
    ).toBeUndefined();
    expect(tokenSecretOnly(secret("scout-token", { token })).metadata?.ownerReferences).toHaveLength(1);
  });
});
