import type { ServerResponse } from "node:http";

/**
 * A signal aborted when the caller goes away before its answer was sent (not after every answer), or
 * when `shutdown` aborts: then a pending long poll is answered with shutdown's reason.
 */
export function abortOnClose(res: ServerResponse, shutdown?: AbortSignal): AbortSignal {
  const abort = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) abort.abort();
  });
  return shutdown ? AbortSignal.any([abort.signal, shutdown]) : abort.signal;
}
