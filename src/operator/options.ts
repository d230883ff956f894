import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { z } from "zod";
import { DEFAULT_CALLER_LIMITS } from "../delegation-endpoint/caller-limits.ts";

/** Raised for a bad flag or environment value; main prints its message on one line and exits 2. */
export class OptionsError extends Error {
  override name = "OptionsError";
}

const address = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[0-9.]*|[A-Za-z0-9.-]*):\d{1,5}$/, "must be host:port or :port")
  .refine((a) => Number(a.slice(a.lastIndexOf(":") + 1)) <= 65535, "port must be at most 65535");

/** `k=v,k2=v2`, as a label selector of equality terms. */
const labelMap = z
  .string()
  .regex(/^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*(,[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*)*$/, "must be key=value[,key=value...]")
  .transform((s) => Object.fromEntries(s.split(",").map((kv) => kv.split("=") as [string, string])));

const jsonArray = z.string().transform((s, ctx) => {
  try {
    const value: unknown = JSON.parse(s);
    if (Array.isArray(value)) return value as Record<string, unknown>[];
  } catch {}
  ctx.addIssue({ code: "custom", message: "must be a JSON array of NetworkPolicyEgressRule objects" });
  return z.NEVER;
});

const boolFlag = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]);

export const OperatorOptions = z.object({
  metricsBindAddress: address.default(":8080"),
  healthProbeBindAddress: address.default(":8081"),
  leaderElect: boolFlag.default(true),
  leaderElectionNamespace: z.string().min(1).max(63).default("clawcrew-system"),
  leaderElectionId: z.string().min(1).max(63).default("clawcrew-operator"),
  leaseDurationSeconds: z.coerce.number().int().min(2).max(300).default(15),
  identity: z.string().min(1).max(253),
  watchNamespace: z.string().max(63).default(""),
  concurrency: z.coerce.number().int().min(1).max(64).default(4),
  /** Per calling agent on the delegation endpoint: new Delegations per second, burst, unfinished ones. */
  delegationRatePerSecond: z.coerce.number().min(0.01).max(10000).default(DEFAULT_CALLER_LIMITS.ratePerSecond),
  delegationBurst: z.coerce.number().int().min(1).max(100000).default(DEFAULT_CALLER_LIMITS.burst),
  delegationMaxOutstanding: z.coerce.number().int().min(1).max(1000000).default(DEFAULT_CALLER_LIMITS.maxOutstanding),
  /** How long a new leader waits for its caches before it gives up, releases the Lease and exits. */
  cacheSyncTimeoutSeconds: z.coerce.number().int().min(1).max(3600).default(120),
  /**
   * All of shutdown (controllers, the Lease, the servers) fits in this; past it the process exits 1.
   * The chart's terminationGracePeriodSeconds is this plus 5, so the kubelet never kills it mid-write.
   */
  gracefulShutdownTimeoutSeconds: z.coerce.number().int().min(2).max(3600).default(25),
  logLevel: z.enum(["trace", "debug", "info", "warn", "error"]).default("info"),
  kubeconfig: z.string().optional(),
  delegationBindAddress: z.union([address, z.literal("")]).default(":8082"),
  /** Where agents reach the delegation endpoint; defaults to its in-cluster Service. */
  delegationUrl: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, "must be an http(s) URL")
    .optional(),
  operatorNamespace: z.string().min(1).max(63).optional(),
  operatorPodLabels: labelMap.default({
    "app.kubernetes.io/name": "clawcrew",
    "app.kubernetes.io/component": "operator",
  }),
  agentEgress: jsonArray.optional(),
});
export type OperatorOptions = z.infer<typeof OperatorOptions>;

const FLAGS = {
  "metrics-bind-address": "metricsBindAddress",
  "health-probe-bind-address": "healthProbeBindAddress",
  "leader-elect": "leaderElect",
  "leader-election-namespace": "leaderElectionNamespace",
  "leader-election-id": "leaderElectionId",
  "lease-duration-seconds": "leaseDurationSeconds",
  identity: "identity",
  namespace: "watchNamespace",
  concurrency: "concurrency",
  "cache-sync-timeout-seconds": "cacheSyncTimeoutSeconds",
  "graceful-shutdown-timeout-seconds": "gracefulShutdownTimeoutSeconds",
  "delegation-rate-per-second": "delegationRatePerSecond",
  "delegation-burst": "delegationBurst",
  "delegation-max-outstanding": "delegationMaxOutstanding",
  "log-level": "logLevel",
  kubeconfig: "kubeconfig",
  "delegation-bind-address": "delegationBindAddress",
  "delegation-url": "delegationUrl",
  "operator-namespace": "operatorNamespace",
  "operator-pod-labels": "operatorPodLabels",
  "agent-egress": "agentEgress",
} as const satisfies Record<string, keyof OperatorOptions>;

type FlagName = keyof typeof FLAGS;
const envName = (flag: string) => `CLAWCREW_${flag.toUpperCase().replaceAll("-", "_")}`;

/** Reads options from flags, then CLAWCREW_* environment variables, then defaults. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): OperatorOptions {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: "string" as const }])),
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new OptionsError((err as Error).message);
  }
  const raw: Record<string, unknown> = {
    identity: env.POD_NAME ?? `${hostname()}-${process.pid}`,
    leaderElectionNamespace: env.POD_NAMESPACE,
    operatorNamespace: env.POD_NAMESPACE,
    kubeconfig: env.KUBECONFIG,
  };
  for (const [flag, key] of Object.entries(FLAGS) as [FlagName, keyof OperatorOptions][]) {
    const value = values[flag] ?? env[envName(flag)];
    if (value !== undefined) raw[key] = value;
  }
  for (const key of Object.keys(raw)) if (raw[key] === undefined) delete raw[key];
  const result = OperatorOptions.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0]);
    const flag = Object.entries(FLAGS).find(([, k]) => k === key)?.[0] ?? key;
    throw new OptionsError(`invalid --${flag} (or ${envName(flag)}): ${issue.message}`);
  }
  return result.data;
}

/** The port of --delegation-bind-address (8082 when the endpoint is disabled, for NetworkPolicies). */
export function delegationPort(options: OperatorOptions): number {
  const a = options.delegationBindAddress;
  return a ? Number(a.slice(a.lastIndexOf(":") + 1)) : 8082;
}

/** The namespace of the operator's pods: --operator-namespace, else the leader-election namespace. */
export function operatorNamespace(options: OperatorOptions): string {
  return options.operatorNamespace ?? options.leaderElectionNamespace;
}

/** The URL agents call: --delegation-url, else the in-cluster Service the Helm chart creates. */
export function delegationUrl(options: OperatorOptions): string {
  return (
    options.delegationUrl ??
    `http://clawcrew-delegation.${operatorNamespace(options)}.svc.cluster.local:${delegationPort(options)}/mcp`
  );
}
