import { describe, expect, it } from "vitest";
import { OptionsError, parseOptions } from "../../../src/operator/options.ts";

describe("--namespace", () => {
  it("is every namespace when unset or empty", () => {
    expect(parseOptions([], {}).watchNamespaces).toEqual([]);
    expect(parseOptions(["--namespace="], {}).watchNamespaces).toEqual([]);
  });

  it("takes a comma-separated list, from the flag or CLAWCREW_NAMESPACE, without repeats", () => {
    expect(parseOptions(["--namespace=team-a,team-b, team-a"], {}).watchNamespaces).toEqual(["team-a", "team-b"]);
    expect(parseOptions([], { CLAWCREW_NAMESPACE: "solo" }).watchNamespaces).toEqual(["solo"]);
  });

  it("refuses a name that is no namespace, naming the flag", () => {
    expect(() => parseOptions(["--namespace=team-a,Team_B"], {})).toThrow(OptionsError);
    expect(() => parseOptions(["--namespace=team-a,,b"], {})).toThrow(/--namespace/);
  });
});
