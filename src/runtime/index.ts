/** The controller runtime: API client and errors, informers, workqueue, controllers, apply, leader election, events. */
export * from "./apply.ts";
export * from "./backoff.ts";
export * from "./client.ts";
export * from "./conditions.ts";
export * from "./controller.ts";
export * from "./errors.ts";
export * from "./events.ts";
export * from "./informer.ts";
export * from "./leader-election.ts";
export * from "./log.ts";
export * from "./metrics.ts";
export * from "./ratelimiter.ts";
export * from "./resource.ts";
export * from "./restmapper.ts";
export * from "./store.ts";
export * from "./time.ts";
export * from "./workqueue.ts";
