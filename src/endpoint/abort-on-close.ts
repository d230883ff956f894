import type { ServerResponse } from "node:http";

/** A signal aborted when the caller goes away before its answer was sent (not after every answer). */
export function abortOnClose(res: ServerResponse): AbortSignal {
  const abort = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) abort.abort();
  });
  return abort.signal;
}
