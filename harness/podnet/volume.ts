/** The pod's config volume on the host, in kubelet's layout, from the pod spec and its ConfigMap. */
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import type { V1ConfigMap, V1Volume } from "@kubernetes/client-node";
import { PodSpecError } from "../errors.ts";

export interface VolumeFile {
  path: string;
  content: string;
}

/** The files of a ConfigMap volume: `items` map keys to paths; without items every key is a file. */
export function configMapVolumeFiles(volume: V1Volume, configMap: V1ConfigMap): VolumeFile[] {
  const data = configMap.data ?? {};
  const items = volume.configMap?.items ?? Object.keys(data).map((key) => ({ key, path: key }));
  return items.map(({ key, path }) => {
    const content = data[key];
    if (content === undefined) {
      throw new PodSpecError(`ConfigMap ${configMap.metadata?.name} has no key ${key} (volume ${volume.name})`);
    }
    if (normalize(path).startsWith("..") || path.startsWith("/")) {
      throw new PodSpecError(`volume ${volume.name}: item path ${path} leaves the volume`);
    }
    return { path, content };
  });
}

/** Writes files as kubelet serves a ConfigMap volume: a timestamped dir, `..data`, and top-level symlinks. */
export function writeConfigMapVolume(dir: string, files: readonly VolumeFile[]): void {
  const version = "..2026_01_01_00_00_00.000000001";
  mkdirSync(join(dir, version), { recursive: true });
  for (const { path, content } of files) {
    mkdirSync(dirname(join(dir, version, path)), { recursive: true });
    writeFileSync(join(dir, version, path), content, { mode: 0o644 });
  }
  symlinkSync(version, join(dir, "..data"));
  for (const top of readdirSync(join(dir, version))) symlinkSync(join("..data", top), join(dir, top));
}
