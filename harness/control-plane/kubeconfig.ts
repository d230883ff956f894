import { writeFileSync } from "node:fs";
import { dump } from "js-yaml";

export interface KubeconfigSpec {
  server: string;
  caCertPem: string;
  token: string;
  clusterName?: string;
  userName?: string;
  namespace?: string;
}

/** A kubeconfig (YAML) with the CA embedded, so the file stays valid wherever it is copied. */
export function renderKubeconfig(spec: KubeconfigSpec): string {
  const cluster = spec.clusterName ?? "clawcrew-local";
  const user = spec.userName ?? "admin";
  return dump({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: cluster,
        cluster: {
          server: spec.server,
          "certificate-authority-data": Buffer.from(spec.caCertPem).toString("base64"),
        },
      },
    ],
    users: [{ name: user, user: { token: spec.token } }],
    contexts: [{ name: cluster, context: { cluster, user, namespace: spec.namespace ?? "default" } }],
    "current-context": cluster,
    preferences: {},
  });
}

/** Writes the kubeconfig with mode 0600 (it holds a cluster-admin token). */
export function writeKubeconfig(path: string, spec: KubeconfigSpec): void {
  writeFileSync(path, renderKubeconfig(spec), { mode: 0o600 });
}
