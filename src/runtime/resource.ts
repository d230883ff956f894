/** Group/version/resource naming and REST paths. */

/** group "" is the core API (`/api/v1`). */
export interface GroupVersionResource {
  group: string;
  version: string;
  plural: string;
}

export interface PathOptions {
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** `/api/v1/namespaces/ns/configmaps/name` or `/apis/group/version/...`. */
export function resourcePath(gvr: GroupVersionResource, options: PathOptions = {}): string {
  const base = gvr.group ? `/apis/${gvr.group}/${gvr.version}` : `/api/${gvr.version}`;
  const ns = options.namespace ? `/namespaces/${encodeURIComponent(options.namespace)}` : "";
  const name = options.name ? `/${encodeURIComponent(options.name)}` : "";
  const sub = options.name && options.subresource ? `/${options.subresource}` : "";
  return `${base}${ns}/${gvr.plural}${name}${sub}`;
}

/** Splits `apps/v1` into group and version; `v1` is the core group. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}
