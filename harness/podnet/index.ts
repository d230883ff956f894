/** A test-only pod network for the local control plane: see docs/podnet.md. */
export * from "./network.ts";
export * from "./pod-agent.ts";
export {
  childPids,
  type ExitInfo,
  exitReport,
  POD_SHARE_DIR,
  type PodProcess,
  type PodProcessOptions,
  type PodRuntime,
  STUB_GATEWAY_FILE,
  startPodProcess,
} from "./pod-process.ts";
export { createSandbox, type Sandbox, sandboxNames } from "./sandbox.ts";
export { startStubGateway } from "./stub-gateway.ts";
export { type VolumeFile, writeConfigMapVolume } from "./volume.ts";
