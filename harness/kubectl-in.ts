/** kubectl against one namespace of the test cluster, for tests that read objects back as JSON. */
import type { Obj } from "./kube.ts";
import { kubectl, kubectlOk } from "./kubectl.ts";

export function kubectlIn(kubeconfig: string, ns: string) {
  const k = (...args: string[]) => kubectlOk(kubeconfig, ["-n", ns, ...args]);
  return {
    /** `kubectl -n ns ARGS`, throwing with stderr on failure. */
    k,
    /** The object as JSON, or undefined when it does not exist. */
    getJson: async (ref: string): Promise<Obj | undefined> => {
      const r = await kubectl(kubeconfig, ["-n", ns, "get", ref, "-o", "json"]);
      return r.code === 0 ? JSON.parse(r.stdout) : undefined;
    },
    applyObj: (obj: Obj) => kubectlOk(kubeconfig, ["-n", ns, "apply", "-f", "-"], obj),
    mergePatch: (ref: string, patch: Obj) => k("patch", ref, "--type=merge", "-p", JSON.stringify(patch)),
  };
}

/** The status condition of `type`, if the object has one. */
export const condition = (obj: Obj | undefined, type: string): Obj | undefined =>
  (obj?.status?.conditions as Obj[] | undefined)?.find((c) => c.type === type);
