/** A container's environment as kubelet would build it: envFrom, then env (Secrets and ConfigMaps read through the API). */
import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from "@kubernetes/client-node";
import type { KubeClient } from "../../src/runtime/client.ts";
import { isNotFound } from "../../src/runtime/errors.ts";
import { PodSpecError } from "../errors.ts";

const decode = (data: Record<string, string> | undefined) =>
  Object.fromEntries(
    Object.entries(data ?? {}).map(([key, value]) => [key, Buffer.from(value, "base64").toString("utf8")]),
  );

export async function resolveContainerEnv(
  client: KubeClient,
  pod: V1Pod,
  container: V1Container,
): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? "default";
  const secrets = new Map<string, Promise<Record<string, string> | undefined>>();
  const configMaps = new Map<string, Promise<Record<string, string> | undefined>>();
  const readOptional = async <T>(path: string): Promise<T | undefined> => {
    try {
      return await client.get<T>(path);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  const secret = (name: string) => {
    let value = secrets.get(name);
    if (!value) {
      value = readOptional<V1Secret>(`/api/v1/namespaces/${namespace}/secrets/${name}`).then((s) =>
        s ? decode(s.data) : undefined,
      );
      secrets.set(name, value);
    }
    return value;
  };
  const configMap = (name: string) => {
    let value = configMaps.get(name);
    if (!value) {
      value = readOptional<V1ConfigMap>(`/api/v1/namespaces/${namespace}/configmaps/${name}`).then((c) =>
        c ? { ...c.data } : undefined,
      );
      configMaps.set(name, value);
    }
    return value;
  };
  const missing = (what: string) => new PodSpecError(`pod ${namespace}/${pod.metadata?.name}: ${what} not found`);

  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const ref = source.secretRef ?? source.configMapRef;
    if (!ref) throw new PodSpecError(`unsupported envFrom source ${JSON.stringify(source)}`);
    const data = source.secretRef ? await secret(ref.name!) : await configMap(ref.name!);
    if (!data) {
      if (ref.optional) continue;
      throw missing(`${source.secretRef ? "Secret" : "ConfigMap"} ${ref.name} (envFrom)`);
    }
    for (const [key, value] of Object.entries(data)) env[`${source.prefix ?? ""}${key}`] = value;
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (!from) {
      env[variable.name] = variable.value ?? "";
      continue;
    }
    const keyRef = from.secretKeyRef ?? from.configMapKeyRef;
    if (keyRef) {
      const data = from.secretKeyRef ? await secret(keyRef.name!) : await configMap(keyRef.name!);
      const value = data?.[keyRef.key];
      if (value === undefined) {
        if (keyRef.optional) continue;
        throw missing(
          `key ${keyRef.key} of ${from.secretKeyRef ? "Secret" : "ConfigMap"} ${keyRef.name} (env ${variable.name})`,
        );
      }
      env[variable.name] = value;
    } else if (from.fieldRef) {
      const fields: Record<string, string | undefined> = {
        "metadata.name": pod.metadata?.name,
        "metadata.namespace": namespace,
        "metadata.uid": pod.metadata?.uid,
        "spec.nodeName": pod.spec?.nodeName,
        "spec.serviceAccountName": pod.spec?.serviceAccountName,
        "status.podIP": pod.status?.podIP,
        "status.hostIP": pod.status?.hostIP,
      };
      const value = fields[from.fieldRef.fieldPath];
      if (value === undefined)
        throw new PodSpecError(`unsupported fieldRef ${from.fieldRef.fieldPath} (env ${variable.name})`);
      env[variable.name] = value;
    } else {
      throw new PodSpecError(`unsupported valueFrom of env ${variable.name}: ${JSON.stringify(from)}`);
    }
  }
  return env;
}
