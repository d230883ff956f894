// Property tests: generated Agent, AgentTeam and Delegation objects, valid and invalid, through the
// kinds' parse and the pure desired and status functions. CLAWCREW_FUZZ_RUNS sets the cases per property.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AgentStatus } from "../../../src/api/agent.ts";
import { DelegationStatus } from "../../../src/api/delegation.ts";
import { ObjectSchemaError } from "../../../src/api/registry.ts";
import { AgentTeamStatus } from "../../../src/api/team.ts";
import {
  agentObject,
  delegationObject,
  invalidAgent,
  invalidDelegation,
  invalidTeam,
  teamObject,
  text,
} from "../../fuzz/arbitraries.ts";
import {
  agentProblemStatus,
  isAgentConfigError,
  parseAgent,
  parseDelegation,
  parseTeam,
  renderAgent,
  renderDelegation,
  renderTeam,
  type Step,
  type World,
} from "../../fuzz/pipelines.ts";
import { fuzzParameters, fuzzTimeoutMs } from "../../fuzz/runs.ts";
import { expectValidLabels, expectWellFormedMeta } from "../../fuzz/well-formed.ts";

const CONFIGMAP_LIMIT_BYTES = 1024 * 1024;

const world = fc
  .record({
    agents: fc.array(agentObject(), { maxLength: 4 }),
    teams: fc.array(teamObject(), { maxLength: 3 }),
    delegations: fc.array(delegationObject(), { maxLength: 3 }),
  })
  .map(
    (w): World => ({
      agents: w.agents.map(parseAgent),
      teams: w.teams.map(parseTeam),
      delegations: w.delegations.map(parseDelegation),
    }),
  );

const steps: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant("queued" as const), ahead: fc.integer({ min: -3, max: 100_000 }) }),
    fc.record({ kind: fc.constant("started" as const), pod: fc.constantFrom("p-1", "p-2", "x".repeat(253)) }),
    fc.record({ kind: fc.constant("running" as const) }),
    fc.record({
      kind: fc.constant("failed" as const),
      message: text(20_000),
      maxAttempts: fc.integer({ min: 1, max: 10 }),
      nearDeadline: fc.boolean(),
    }),
    fc.record({ kind: fc.constant("interrupted" as const) }),
    fc.record({
      kind: fc.constant("finished" as const),
      ending: fc.constantFrom("Completed" as const, "TimedOut" as const, "AgentError" as const, "Cancelled" as const),
      result: text(20_000),
    }),
  ),
  { maxLength: 40 },
);

/** The status would be accepted by the status subresource: it matches the CRD's schema. */
function expectStatusAccepted(
  schema: { safeParse(v: unknown): { success: boolean; error?: unknown } },
  status: unknown,
) {
  const result = schema.safeParse(status);
  expect(result.success, `status rejected: ${JSON.stringify(result.error)}`).toBe(true);
}

/** A parse failure names a field of the object (or the object itself), and nothing else escapes. */
function expectSchemaError(error: unknown): void {
  expect(error).toBeInstanceOf(ObjectSchemaError);
  const e = error as ObjectSchemaError;
  expect(e.issues.length).toBeGreaterThan(0);
  const first = e.field.split(".")[0]!;
  if (e.field) expect(["apiVersion", "kind", "metadata", "spec", "status"]).toContain(first);
  expect(e.message).toContain(e.field);
}

describe("valid specs, through the pure desired and status functions", () => {
  it(
    "Agent: every owned object is well formed, and OpenClaw's schema accepts openclaw.json",
    () => {
      fc.assert(
        fc.property(agentObject(), world, text(4096, 1), (raw, w, soul) => {
          const agent = parseAgent(raw);
          const { objects, status } = renderAgent(agent, { ...w, agents: [agent, ...w.agents] }, soul);
          const all = [objects.configMap, objects.serviceAccount, objects.service, objects.workload.object];
          if (objects.podDisruptionBudget) all.push(objects.podDisruptionBudget);
          for (const obj of all) expectWellFormedMeta(obj.metadata, obj.kind!);
          const template = objects.workload.object.spec!.template;
          expectValidLabels(template.metadata?.labels, "pod template");
          expectValidLabels(objects.workload.object.spec!.selector.matchLabels, "selector");
          const bytes = Object.entries(objects.configMap.data!).reduce(
            (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
            0,
          );
          expect(bytes).toBeLessThanOrEqual(CONFIGMAP_LIMIT_BYTES);
          for (const key of Object.keys(objects.configMap.data!)) expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);
          expectStatusAccepted(AgentStatus, status);
        }),
        fuzzParameters(),
      );
    },
    fuzzTimeoutMs(20),
  );

  it(
    "AgentTeam: NetworkPolicies are well formed and the status fits the CRD",
    () => {
      fc.assert(
        fc.property(teamObject(), world, fc.array(fc.boolean(), { maxLength: 8 }), (raw, w, readiness) => {
          const team = parseTeam(raw);
          const { policies, status } = renderTeam(team, w, readiness);
          for (const policy of policies) {
            expectWellFormedMeta(policy.metadata, "NetworkPolicy");
            for (const e of policy.spec?.podSelector?.matchExpressions ?? []) {
              for (const v of e.values ?? []) expectValidLabels({ [e.key]: v }, "podSelector");
            }
          }
          expectStatusAccepted(AgentTeamStatus, status);
        }),
        fuzzParameters(),
      );
    },
    fuzzTimeoutMs(10),
  );

  it(
    "Delegation: admission decides, every status on the way fits the CRD, and stage children are valid Delegations",
    () => {
      fc.assert(
        fc.property(delegationObject(), world, steps, (raw, w, path) => {
          const d = parseDelegation(raw);
          const { verdict, statuses, stageChildren } = renderDelegation(d, w, path);
          if (!verdict.ok) expect(verdict.message.length).toBeGreaterThan(0);
          for (const status of statuses) expectStatusAccepted(DelegationStatus, status);
          for (const child of stageChildren) expectWellFormedMeta(child.metadata, "stage child");
        }),
        fuzzParameters(),
      );
    },
    fuzzTimeoutMs(10),
  );
});

describe("invalid objects: a typed error or a condition, never a crash", () => {
  it(
    "Agent",
    () => {
      fc.assert(
        fc.property(invalidAgent, world, (raw, w) => {
          let agent: ReturnType<typeof parseAgent>;
          try {
            agent = parseAgent(raw);
          } catch (error) {
            expectSchemaError(error);
            return;
          }
          try {
            renderAgent(agent, { ...w, agents: [agent, ...w.agents] }, "# soul");
          } catch (error) {
            if (!isAgentConfigError(error)) throw error;
            expectStatusAccepted(AgentStatus, agentProblemStatus(agent, error as Error));
          }
        }),
        fuzzParameters(),
      );
    },
    fuzzTimeoutMs(20),
  );

  it(
    "AgentTeam",
    () => {
      fc.assert(
        fc.property(invalidTeam, world, (raw, w) => {
          let team: ReturnType<typeof parseTeam>;
          try {
            team = parseTeam(raw);
          } catch (error) {
            expectSchemaError(error);
            return;
          }
          expectStatusAccepted(AgentTeamStatus, renderTeam(team, w, [true]).status);
        }),
        fuzzParameters(),
      );
    },
    fuzzTimeoutMs(10),
  );

  it(
    "Delegation",
    () => {
      fc.assert(
        fc.property(invalidDelegation, world, steps, (raw, w, path) => {
          let d: ReturnType<typeof parseDelegation>;
          try {
            d = parseDelegation(raw);
          } catch (error) {
            expectSchemaError(error);
            return;
          }
          for (const status of renderDelegation(d, w, path).statuses) expectStatusAccepted(DelegationStatus, status);
        }),
        fuzzParameters(),
      );
    },
    fuzzTimeoutMs(10),
  );
});
