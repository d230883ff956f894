/**
 * One error type for every failed call to the Kubernetes API, whichever client made it, plus the
 * predicates controllers branch on (like k8s.io/apimachinery/pkg/api/errors).
 */

/** The fields of a metav1.Status body that callers use. */
export interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
  };
}

/** Where the failed request went; both optional when the error did not come from this runtime's client. */
export interface RequestInfo {
  verb?: string;
  path?: string;
}

/** Reasons used when no HTTP response was received (statusCode 0). */
export const TRANSPORT_REASONS = ["ConnectionFailed", "Timeout", "Aborted"] as const;

/**
 * A failed API request. `statusCode` is the HTTP status, or 0 when no response arrived (network
 * failure, timeout, abort); `reason` is the Status reason (`NotFound`, `Conflict`, `Expired`, ...) or
 * one of TRANSPORT_REASONS.
 */
export class KubeApiError extends Error {
  override readonly name: string = "KubeApiError";
  readonly statusCode: number;
  readonly reason: string;
  /** The message of the Status body (or the failure) alone, without code and request. */
  readonly statusMessage: string;
  readonly verb: string | undefined;
  readonly path: string | undefined;
  readonly status: ApiStatus | undefined;
  /** From a Retry-After header or Status details, in seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(args: {
    statusCode: number;
    reason: string;
    message: string;
    verb?: string;
    path?: string;
    status?: ApiStatus;
    retryAfterSeconds?: number;
    cause?: unknown;
  }) {
    const where = args.verb || args.path ? ` (${[args.verb, args.path].filter(Boolean).join(" ")})` : "";
    const code = args.statusCode ? `${args.statusCode} ${args.reason}` : args.reason;
    super(`${code}: ${args.message}${where}`, { cause: args.cause });
    this.statusCode = args.statusCode;
    this.reason = args.reason;
    this.statusMessage = args.message;
    this.verb = args.verb;
    this.path = args.path;
    this.status = args.status;
    this.retryAfterSeconds = args.retryAfterSeconds;
  }
}

/**
 * The API server refused an object's fields (unknown, duplicate, or not in the schema): sending
 * the same object again cannot succeed. Server-side apply reports some of these as 500.
 */
export class FieldValidationError extends KubeApiError {
  override readonly name: string = "FieldValidationError";
}

const FIELD_VALIDATION_MESSAGE = /field not declared in schema|unknown field|duplicate field|strict decoding error/i;

/** Re-types a response error that is a field-validation failure as FieldValidationError. */
export function asFieldValidationError(error: KubeApiError): KubeApiError {
  if (error instanceof FieldValidationError || !FIELD_VALIDATION_MESSAGE.test(error.statusMessage)) return error;
  return new FieldValidationError({
    statusCode: error.statusCode,
    reason: error.reason,
    message: error.statusMessage,
    verb: error.verb,
    path: error.path,
    status: error.status,
    cause: error,
  });
}

const REASON_BY_CODE: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  406: "NotAcceptable",
  409: "Conflict",
  410: "Expired",
  413: "RequestEntityTooLarge",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

function isApiStatus(value: unknown): value is ApiStatus {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "Status";
}

function parseStatus(body: unknown): ApiStatus | undefined {
  if (isApiStatus(body)) return body;
  if (typeof body === "string" && body.startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(body);
      return isApiStatus(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/** Builds the error for an HTTP response that is not 2xx. */
export function errorFromResponse(
  statusCode: number,
  body: unknown,
  request: RequestInfo,
  headers: Record<string, string | string[] | undefined> = {},
): KubeApiError {
  const status = parseStatus(body);
  const retryAfterHeader = headers["retry-after"];
  const text = typeof body === "string" ? body.trim().slice(0, 512) : "";
  return new KubeApiError({
    statusCode,
    reason: status?.reason || REASON_BY_CODE[statusCode] || "Unknown",
    message: status?.message || text || `HTTP ${statusCode}`,
    status,
    retryAfterSeconds: parseRetryAfter(Array.isArray(retryAfterHeader) ? retryAfterHeader[0] : retryAfterHeader),
    ...request,
  });
}

/** Builds the error for a `{"type":"ERROR","object":<Status>}` watch event. */
export function errorFromWatchStatus(object: unknown, request: RequestInfo): KubeApiError {
  const status = parseStatus(object) ?? {};
  const statusCode = status.code ?? 500;
  return new KubeApiError({
    statusCode,
    reason: status.reason || REASON_BY_CODE[statusCode] || "Unknown",
    message: status.message || "watch error event",
    status,
    ...request,
  });
}

/**
 * client-node's ApiException (`code`, `body`, `headers`), recognised by its shape: importing the
 * class would load all of @kubernetes/client-node (~85 MiB) into the operator.
 */
interface ApiExceptionLike extends Error {
  code: number;
  body: unknown;
  headers: Record<string, string> | undefined;
}

function isApiException(error: unknown): error is ApiExceptionLike {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === "number" &&
    "body" in error &&
    "headers" in error
  );
}

function transportReason(error: Error): (typeof TRANSPORT_REASONS)[number] {
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const names = [error.name, cause?.name];
  if (names.includes("TimeoutError")) return "Timeout";
  if (names.includes("AbortError")) return "Aborted";
  return "ConnectionFailed";
}

/**
 * Converts anything a Kubernetes call can throw (client-node's ApiException, this runtime's
 * KubeApiError, fetch/socket errors, aborts) into a KubeApiError. `request` fills in the verb/path
 * where the original error does not carry them.
 */
export function toKubeApiError(error: unknown, request: RequestInfo = {}): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (isApiException(error)) {
    return errorFromResponse(error.code, error.body, request, error.headers ?? {});
  }
  // client-node's Watch reports a non-200 response as Error with a statusCode property.
  if (error instanceof Error && typeof (error as { statusCode?: unknown }).statusCode === "number") {
    const statusCode = (error as unknown as { statusCode: number }).statusCode;
    return new KubeApiError({
      statusCode,
      reason: REASON_BY_CODE[statusCode] ?? "Unknown",
      message: error.message,
      cause: error,
      ...request,
    });
  }
  if (error instanceof Error) {
    return new KubeApiError({
      statusCode: 0,
      reason: transportReason(error),
      message: error.message || error.name,
      cause: error,
      ...request,
    });
  }
  return new KubeApiError({ statusCode: 0, reason: "ConnectionFailed", message: String(error), ...request });
}

function asApiError(error: unknown): KubeApiError | undefined {
  if (error instanceof KubeApiError) return error;
  if (isApiException(error)) return toKubeApiError(error);
  return undefined;
}

export function isNotFound(error: unknown): boolean {
  return asApiError(error)?.statusCode === 404;
}

export function isAlreadyExists(error: unknown): boolean {
  const e = asApiError(error);
  return e?.statusCode === 409 && e.reason === "AlreadyExists";
}

/** A write lost an optimistic-concurrency race (stale resourceVersion), not AlreadyExists. */
export function isConflict(error: unknown): boolean {
  const e = asApiError(error);
  return e?.statusCode === 409 && e.reason !== "AlreadyExists";
}

/** The request was refused for its content (400, 422, or a field-validation failure). */
export function isInvalid(error: unknown): boolean {
  const e = asApiError(error);
  return e instanceof FieldValidationError || e?.statusCode === 400 || e?.statusCode === 422;
}

/** 410: the requested resourceVersion (or continue token) is too old; relist. */
export function isGone(error: unknown): boolean {
  const e = asApiError(error);
  return e?.statusCode === 410 || e?.reason === "Expired" || e?.reason === "Gone";
}
