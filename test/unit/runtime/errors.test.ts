import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  errorFromResponse,
  errorFromWatchStatus,
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  KubeApiError,
  toKubeApiError,
} from "../../../src/runtime/errors.ts";

const status = (code: number, reason: string, message: string) => ({
  kind: "Status",
  apiVersion: "v1",
  status: "Failure",
  code,
  reason,
  message,
});

describe("toKubeApiError", () => {
  it("converts client-node's ApiException with a Status body (object or JSON text)", () => {
    const fromObject = toKubeApiError(
      new ApiException(404, "Unknown API Status Code!", status(404, "NotFound", 'configmaps "x" not found'), {}),
      { verb: "GET", path: "/api/v1/namespaces/ns/configmaps/x" },
    );
    expect(fromObject).toBeInstanceOf(KubeApiError);
    expect(fromObject).toMatchObject({ statusCode: 404, reason: "NotFound", verb: "GET" });
    expect(fromObject.statusMessage).toBe('configmaps "x" not found');
    expect(fromObject.message).toBe('404 NotFound: configmaps "x" not found (GET /api/v1/namespaces/ns/configmaps/x)');

    const fromText = toKubeApiError(
      new ApiException(409, "x", JSON.stringify(status(409, "AlreadyExists", "exists")), { "retry-after": "3" }),
    );
    expect(fromText).toMatchObject({ statusCode: 409, reason: "AlreadyExists", retryAfterSeconds: 3 });
  });

  it("falls back to the HTTP status when the body is no Status", () => {
    const error = errorFromResponse(503, "upstream connect error", { verb: "GET", path: "/readyz" });
    expect(error).toMatchObject({
      statusCode: 503,
      reason: "ServiceUnavailable",
      statusMessage: "upstream connect error",
    });
  });

  it("turns network failures and aborts into statusCode 0 with a transport reason", () => {
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    expect(toKubeApiError(reset)).toMatchObject({ statusCode: 0, reason: "ConnectionFailed" });
    expect(toKubeApiError(new TypeError("fetch failed", { cause: reset }))).toMatchObject({
      reason: "ConnectionFailed",
    });
    const timeout = AbortSignal.timeout(0);
    return new Promise<void>((resolve) => {
      timeout.addEventListener("abort", () => {
        expect(toKubeApiError(timeout.reason)).toMatchObject({ statusCode: 0, reason: "Timeout" });
        expect(toKubeApiError(new DOMException("aborted", "AbortError"))).toMatchObject({ reason: "Aborted" });
        resolve();
      });
    });
  });

  it("keeps a KubeApiError as is and never returns a non-Error", () => {
    const error = errorFromResponse(500, "", {});
    expect(toKubeApiError(error)).toBe(error);
    expect(toKubeApiError("a string")).toBeInstanceOf(KubeApiError);
  });
});

describe("predicates", () => {
  const err = (code: number, reason: string) => errorFromResponse(code, status(code, reason, reason), {});

  it("classify by code and reason", () => {
    expect(isNotFound(err(404, "NotFound"))).toBe(true);
    expect(isNotFound(new ApiException(404, "", undefined, {}))).toBe(true);
    expect(isConflict(err(409, "Conflict"))).toBe(true);
    expect(isConflict(err(409, "AlreadyExists"))).toBe(false);
    expect(isAlreadyExists(err(409, "AlreadyExists"))).toBe(true);
    expect(isGone(err(410, "Expired"))).toBe(true);
    expect(isGone(err(500, "InternalError"))).toBe(false);
    expect(isNotFound(new Error("404"))).toBe(false);
  });

  it("reads a watch ERROR event's Status (too old resource version)", () => {
    const error = errorFromWatchStatus(status(410, "Expired", "too old resource version: 5 (100)"), {
      verb: "WATCH",
      path: "/api/v1/configmaps",
    });
    expect(isGone(error)).toBe(true);
    expect(error.statusMessage).toBe("too old resource version: 5 (100)");
  });
});
