/** `clawcrew cancel`: sets the cancel annotation; the operator stops the task and records Cancelled. */

import { requestCancel } from "../../delegation/delegation-object.ts";
import { CONNECTION_HELP, CONNECTION_OPTIONS, onePositional, parse } from "../args.ts";
import type { Command } from "../command.ts";
import { getDelegation } from "../delegations.ts";
import { EXIT_SUCCEEDED } from "../errors.ts";
import { connect } from "../kube.ts";
import { isFinished, outcome } from "../progress.ts";

export const cancel: Command = {
  name: "cancel",
  summary: "cancel a Delegation",
  help: `Usage: clawcrew cancel DELEGATION [flags]

Asks the operator to cancel the Delegation (annotation clawcrew.io/cancel=true). It stops the running
attempt and any sub-tasks, and keeps the Delegation as Failed with reason Cancelled.

Flags:
${CONNECTION_HELP}`,

  async run(argv, out) {
    const { values, positionals } = parse("cancel", argv, CONNECTION_OPTIONS);
    const name = onePositional("cancel", positionals, "DELEGATION");
    const cluster = connect(values);
    const d = await getDelegation(cluster, name);
    if (isFinished(d)) {
      out.line(`delegation.clawcrew.io/${name} already finished: ${outcome(d)}`);
      return EXIT_SUCCEEDED;
    }
    await requestCancel(cluster.client, cluster.namespace, name);
    out.line(`delegation.clawcrew.io/${name} cancel requested`);
    return EXIT_SUCCEEDED;
  },
};
