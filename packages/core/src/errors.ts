/** One problem with one input field, as returned to API clients. */
export interface FieldIssue {
  readonly field: string;
  readonly code: string;
  readonly message: string;
}

/** Base for every error the domain raises on purpose; `status` is the HTTP mapping at the edge. */
export abstract class LeadflowError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  readonly fields: readonly FieldIssue[];

  constructor(message: string, fields: readonly FieldIssue[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.fields = fields;
  }
}

export class NotFoundError extends LeadflowError {
  readonly status = 404;
  readonly code = 'not_found';
}

/** A webhook whose signature or secret token does not match: nothing is stored. */
export class ForbiddenError extends LeadflowError {
  readonly status = 403;
  readonly code = 'forbidden';
}

export class ValidationError extends LeadflowError {
  readonly status = 422;
  readonly code = 'validation_failed';
}

export class MalformedBodyError extends LeadflowError {
  readonly status = 400;
  readonly code = 'malformed_body';
}

export class PayloadTooLargeError extends LeadflowError {
  readonly status = 413;
  readonly code = 'payload_too_large';
}

export class UnsupportedMediaTypeError extends LeadflowError {
  readonly status = 415;
  readonly code = 'unsupported_media_type';
}

/** The same Idempotency-Key was sent with a different request body (IETF idempotency-key draft: 422). */
export class IdempotencyKeyReuseError extends LeadflowError {
  readonly status = 422;
  readonly code = 'idempotency_key_reused';
}

/** A client over its per-minute limit: nothing is read or stored; it may retry after `retryAfterSeconds`. */
export class TooManyRequestsError extends LeadflowError {
  readonly status = 429;
  readonly code = 'rate_limited';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: ErrorOptions,
  ) {
    super(message, [], options);
  }
}

/**
 * Something this request needs is unavailable or misconfigured (a malformed channel secret, an
 * unreachable CAPTCHA provider): nothing is stored and the sender should retry later.
 */
export class ServiceUnavailableError extends LeadflowError {
  readonly status = 503;
  readonly code: string;
  constructor(
    message: string,
    code = 'unavailable',
    fields: readonly FieldIssue[] = [],
    options?: ErrorOptions,
  ) {
    super(message, fields, options);
    this.code = code;
  }
}

/** No token, or one that is expired, tampered with or signed by a key we do not trust. */
export class UnauthorizedError extends LeadflowError {
  readonly status = 401;
  readonly code = 'unauthorized';
}

/** The viewer's role lacks the right (a viewer who may not even see the item gets `NotFoundError`). */
export class RoleForbiddenError extends LeadflowError {
  readonly status = 403;
  readonly code = 'forbidden';
}

/** The state forbids the change (a closed lead, a merge already undone). */
export class ConflictError extends LeadflowError {
  readonly status = 409;
  readonly code: string;
  constructor(
    message: string,
    code = 'conflict',
    fields: readonly FieldIssue[] = [],
    options?: ErrorOptions,
  ) {
    super(message, fields, options);
    this.code = code;
  }
}

/** `If-Match` named a version that is no longer current: nothing changed. */
export class PreconditionFailedError extends LeadflowError {
  readonly status = 412;
  readonly code = 'precondition_failed';
}

/** A change that must name the version it was made from came without `If-Match`. */
export class PreconditionRequiredError extends LeadflowError {
  readonly status = 428;
  readonly code = 'precondition_required';
}
