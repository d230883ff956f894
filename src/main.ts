#!/usr/bin/env node
/** clawcrew-operator: runs the clawcrew controllers, leading through a Lease. */
import type { Server } from "node:http";
import { createDelegationServer, shuttingDownError } from "./delegation-endpoint/server.ts";
import { createDelegationMetrics } from "./operator/delegation-metrics.ts";
import { address, listen, serveMetrics, serveProbes } from "./operator/http.ts";
import { createMetrics } from "./operator/metrics.ts";
import { Operator } from "./operator/operator.ts";
import {
  agentPolicy,
  delegationPort,
  delegationUrl,
  OptionsError,
  operatorNamespace,
  parseOptions,
} from "./operator/options.ts";
import { KubeClient } from "./runtime/client.ts";
import { EventRecorder } from "./runtime/events.ts";
import { KubeConfigError } from "./runtime/kubeconfig.ts";
import { LeaderElector } from "./runtime/leader-election.ts";
import { createLogger, errorFields } from "./runtime/log.ts";
import { ScalingMetrics } from "./scaling/metrics.ts";
import { startTracing, type Tracing, TracingConfigError } from "./tracing/sdk.ts";

/** Of the shutdown budget, kept for releasing the Lease and closing the servers after the controllers. */
const SHUTDOWN_RESERVE_SECONDS = 3;

/** The controllers of a new leader could not start (their caches did not sync in time). */
class ControllersStartError extends Error {
  override readonly name = "ControllersStartError";
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof OptionsError) {
      process.stderr.write(`clawcrew-operator: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const logger = createLogger("clawcrew-operator", options.logLevel);
  let tracing: Tracing | undefined;
  try {
    tracing = await startTracing(process.env, logger);
  } catch (error) {
    if (error instanceof TracingConfigError) {
      process.stderr.write(`clawcrew-operator: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  let client: KubeClient;
  try {
    // --kubeconfig, else $KUBECONFIG, else ~/.kube/config, else the pod's service account. parseOptions
    // defaults kubeconfig to $KUBECONFIG, which is a path list: leave that to the loader's KUBECONFIG rule.
    const explicit = options.kubeconfig === process.env.KUBECONFIG ? undefined : options.kubeconfig;
    client = KubeClient.load({ kubeconfig: explicit });
  } catch (error) {
    if (error instanceof KubeConfigError) {
      process.stderr.write(`clawcrew-operator: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const metrics = createMetrics();
  const delegationMetrics = createDelegationMetrics(metrics.registry);
  const events = new EventRecorder({ client, reportingInstance: options.identity, logger });
  const operator = new Operator({
    client,
    events,
    metrics: metrics.controllers,
    scalingMetrics: new ScalingMetrics(metrics.registry),
    delegationMetrics,
    logger,
    namespaces: options.watchNamespaces,
    concurrency: options.concurrency,
    delegationEndpointUrl: delegationUrl(options),
    operatorNamespace: operatorNamespace(options),
    operatorPodLabels: options.operatorPodLabels,
    delegationPort: delegationPort(options),
    agentEgress: options.agentEgress,
    // What is left of the shutdown budget after the Lease's release and the servers' close.
    stopGraceMs: Math.max(1, options.gracefulShutdownTimeoutSeconds - SHUTDOWN_RESERVE_SECONDS) * 1000,
    agentPolicy: agentPolicy(options),
    callerLimits: {
      ratePerSecond: options.delegationRatePerSecond,
      burst: options.delegationBurst,
      maxOutstanding: options.delegationMaxOutstanding,
    },
  });

  metrics.observeLoads(() => operator.loads());
  delegationMetrics.observeAgents(operator);
  operator.startCaches();
  const endpointShutdown = new AbortController();
  const servers: Server[] = [
    // Ready once the caches are warm, on the leader and on a standby alike: both serve the endpoint.
    await serveProbes(options.healthProbeBindAddress, () => operator.synced()),
    await serveMetrics(options.metricsBindAddress, metrics.registry),
  ];
  if (options.delegationBindAddress) {
    const endpoint = createDelegationServer(operator.service, logger, { shutdown: endpointShutdown.signal });
    servers.push(await listen(endpoint, options.delegationBindAddress));
  }
  logger.info(
    {
      identity: options.identity,
      leaderElect: options.leaderElect,
      probes: address(servers[0]!),
      metrics: address(servers[1]!),
      ...(servers[2] && { delegation: address(servers[2]) }),
    },
    "operator starting",
  );

  // Like controller-runtime's CacheSyncTimeout: a leader whose caches never sync (RBAC, a missing CRD)
  // must not hold the Lease with nothing running. It releases the Lease and exits for a restart.
  const lead = async () => {
    metrics.setLeader(true);
    const timeoutMs = options.cacheSyncTimeoutSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ControllersStartError(`caches did not sync within ${options.cacheSyncTimeoutSeconds} s`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([operator.startControllers(), timedOut]);
    } catch (error) {
      logger.error(errorFields(error), "controllers failed to start; releasing the lease and exiting");
      process.exitCode = 1;
      void shutdown();
      return;
    } finally {
      clearTimeout(timer);
    }
    logger.info("controllers started");
  };
  const elector = options.leaderElect
    ? new LeaderElector({
        client,
        namespace: options.leaderElectionNamespace,
        name: options.leaderElectionId,
        identity: options.identity,
        leaseDurationMs: options.leaseDurationSeconds * 1000,
        renewDeadlineMs: Math.floor(options.leaseDurationSeconds * 1000 * (2 / 3)),
        retryPeriodMs: Math.max(500, Math.floor(options.leaseDurationSeconds * 1000 * (2 / 15))),
        onStartedLeading: lead,
        onStoppedLeading: async () => {
          metrics.setLeader(false);
          await operator.stop();
          if (!stopping) {
            // Like controller-runtime: a process that lost its lease exits, and is restarted as a standby.
            logger.error("leader election lost; exiting");
            process.exitCode = 1;
            void shutdown();
          }
        },
        logger,
      })
    : undefined;

  let stopping = false;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down: finishing in-flight work and releasing the lease");
    // Like controller-runtime's GracefulShutdownTimeout: a phase that hangs must not run into the
    // kubelet's SIGKILL with the Lease still held; exit, and the Lease expires for the next leader.
    setTimeout(() => {
      logger.error(
        { timeoutSeconds: options.gracefulShutdownTimeoutSeconds },
        "shutdown did not finish in time; exiting",
      );
      process.exit(1);
    }, options.gracefulShutdownTimeoutSeconds * 1000).unref();
    // Long polls would hold the endpoint's close until their Delegations finish: answer them 503 now.
    endpointShutdown.abort(shuttingDownError());
    try {
      if (elector) await elector.stop();
      else await operator.stop();
    } catch (error) {
      logger.error(errorFields(error), "error during shutdown");
    }
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    client.close();
    await tracing?.shutdown();
    done();
  };
  process.once("SIGTERM", () => void shutdown());
  process.once("SIGINT", () => void shutdown());

  if (elector) {
    void elector.run().catch((error: unknown) => {
      logger.error(errorFields(error), "leader election failed");
      process.exitCode = 1;
      void shutdown();
    });
  } else {
    await lead();
  }
  await finished;
  logger.info("stopped");
  return Number(process.exitCode ?? 0);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `clawcrew-operator: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
