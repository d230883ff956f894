/** What the API server checks of names and labels, as expectations on the objects the operator renders. */
import { expect } from "vitest";

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** apimachinery's IsQualifiedName: an optional DNS-1123 subdomain prefix and a name of at most 63. */
export function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}

/** apimachinery's IsValidLabelValue. */
export function isLabelValue(value: string): boolean {
  return value === "" || (value.length <= 63 && LABEL_NAME.test(value));
}

export function expectValidLabels(labels: Record<string, string> | undefined, where: string): void {
  for (const [key, value] of Object.entries(labels ?? {})) {
    expect(isLabelKey(key), `${where}: label key ${JSON.stringify(key)}`).toBe(true);
    expect(isLabelValue(value), `${where}: label ${key}=${JSON.stringify(value)}`).toBe(true);
  }
}

interface Meta {
  name?: string | undefined;
  namespace?: string | undefined;
  labels?: Record<string, string> | undefined;
}

/** A name within 63 characters that is a DNS-1123 label, and valid labels. */
export function expectWellFormedMeta(meta: Meta | undefined, where: string): void {
  const name = meta?.name ?? "";
  expect(name.length, `${where}: name ${name}`).toBeLessThanOrEqual(63);
  expect(DNS1123_LABEL.test(name), `${where}: name ${name} is a DNS-1123 label`).toBe(true);
  expect(meta?.namespace, `${where}: namespace`).toBeTruthy();
  expectValidLabels(meta?.labels, where);
}
