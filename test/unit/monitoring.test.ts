// The chart's alerting rules and Grafana dashboard query only metrics the operator exports, with
// labels those metrics have: a renamed metric or label fails here, not silently on a dashboard.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { createDelegationMetrics } from "../../src/operator/delegation-metrics.ts";
import { createMetrics } from "../../src/operator/metrics.ts";

const chart = join(import.meta.dirname, "../../charts/clawcrew");

/** Every exported series name and its labels: a histogram's _bucket (with le), _sum and _count. */
function exported(): Map<string, Set<string>> {
  const { registry } = createMetrics();
  createDelegationMetrics(registry);
  const out = new Map<string, Set<string>>();
  for (const metric of registry.getMetricsAsArray()) {
    const m = metric as unknown as { name: string; labelNames?: string[]; type?: string };
    const labels = m.labelNames ?? [];
    if (String(m.type) === "histogram") {
      out.set(`${m.name}_bucket`, new Set([...labels, "le"]));
      out.set(`${m.name}_sum`, new Set(labels));
      out.set(`${m.name}_count`, new Set(labels));
    } else out.set(m.name, new Set(labels));
  }
  return out;
}

const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
]);
/** Labels Prometheus adds to every scraped series (the target's), and Grafana's variables' values. */
const TARGET_LABELS = new Set(["job", "instance", "pod", "service", "endpoint", "container"]);

interface Query {
  metrics: string[];
  /** Labels in matchers and in by/without/on/ignoring lists. */
  labels: string[];
}

/** The metric names and labels a PromQL expression uses (a tokenizer, enough for these queries). */
function parsePromql(expr: string): Query {
  const metrics: string[] = [];
  const labels: string[] = [];
  let rest = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings
    .replace(/\[[^\]]*\]/g, "") // ranges, Grafana's $__rate_interval among them
    .replace(/\$\w+/g, "");
  rest = rest.replace(/([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g, (_, name: string | undefined, matchers: string) => {
    if (name) metrics.push(name);
    for (const m of matchers.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.push(m[1]!);
    return " ";
  });
  rest = rest.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, _k, list: string) => {
    for (const l of list.split(",")) if (l.trim()) labels.push(l.trim());
    return " ";
  });
  for (const m of rest.matchAll(/([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, word, call] = m;
    if (call || KEYWORDS.has(word!) || /^\d/.test(word!)) continue;
    metrics.push(word!);
  }
  return { metrics, labels };
}

interface Target {
  where: string;
  expr: string;
}

function ruleQueries(): Target[] {
  const file = yaml.load(readFileSync(join(chart, "monitoring/rules.yaml"), "utf8")) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  return file.groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${r.alert}`, expr: r.expr })));
}

function dashboardQueries(): Target[] {
  const dashboard = JSON.parse(readFileSync(join(chart, "dashboards/clawcrew.json"), "utf8")) as {
    panels: { title: string; targets: { expr: string }[] }[];
    templating: { list: { name: string; definition?: string }[] };
  };
  const panels = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `panel ${p.title}`, expr: t.expr })));
  const variables = dashboard.templating.list.flatMap((v) => {
    const m = v.definition && /^label_values\((\w+),\s*(\w+)\)$/.exec(v.definition);
    return m ? [{ where: `variable ${v.name}`, expr: `${m[1]}{${m[2]}=""}` }] : [];
  });
  return [...panels, ...variables];
}

describe("parsePromql", () => {
  it("finds metrics and labels, not functions, keywords, strings or ranges", () => {
    const q = parsePromql(
      'histogram_quantile(0.95, sum by (le, team) (rate(a_bucket{namespace=~"$namespace",x!="y{z}"}[$__rate_interval]))) / on (team) b > 0 and absent(c)',
    );
    expect(q.metrics.sort()).toEqual(["a_bucket", "b", "c"]);
    expect(q.labels.sort()).toEqual(["le", "namespace", "team", "team", "x"]);
  });
});

describe.each([
  ["the PrometheusRule", ruleQueries()],
  ["the Grafana dashboard", dashboardQueries()],
])("%s", (_, queries) => {
  const series = exported();

  it("has queries", () => {
    expect(queries.length).toBeGreaterThan(2);
  });

  it.each(queries.map((q) => [q.where, q.expr]))("%s queries exported metrics and their labels", (where, expr) => {
    const { metrics, labels } = parsePromql(expr);
    expect(metrics.length, where).toBeGreaterThan(0);
    for (const metric of metrics) expect(series.has(metric), `${where}: ${metric} is not exported`).toBe(true);
    const known = new Set(metrics.flatMap((m) => [...(series.get(m) ?? [])]));
    for (const label of labels) {
      expect(known.has(label) || TARGET_LABELS.has(label), `${where}: no queried metric has label ${label}`).toBe(true);
    }
  });
});
