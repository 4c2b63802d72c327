// The ingest error catalogue: every INGEST_ERR_* code with the HTTP status the
// collector answers and whether a sender should retry the same batch.
// ingest/bus/embedded.ts treats 400/409/413 as final and anything else as
// retriable, so `retriable` and `status` here must agree with that.

export const INGEST_ERRORS = {
  /** Request body is not JSON. */
  INGEST_ERR_NOT_JSON: { status: 400, retriable: false },
  /** Request body is over the size cap. */
  INGEST_ERR_TOO_LARGE: { status: 413, retriable: false },
  /** Batch shape or an event is invalid (names the field and event). */
  INGEST_ERR_MALFORMED: { status: 400, retriable: false },
  /** Batch schema version this collector does not read. */
  INGEST_ERR_SCHEMA_VERSION: { status: 400, retriable: false },
  /** Events do not match the batch: wrong proxy, seq not contiguous. */
  INGEST_ERR_SEQ: { status: 400, retriable: false },
  /** Hash chain broken: altered batch, wrong prev_hash, batch gap, conflicting resend. */
  INGEST_ERR_CHAIN: { status: 409, retriable: false },
  /**
   * The batch is not signed by its own proxy: unsigned where the collector
   * requires signatures, a certificate that does not chain to the trust
   * bundle or names another proxy, a signature that does not cover the
   * frame's hash. 400, not 403: the embedded bus resends anything but
   * 400/409/413, and resending the same frame cannot fix its signature.
   */
  INGEST_ERR_SIGNATURE: { status: 400, retriable: false },
  /** The frame names another proxy than the one the transport authenticated (the mTLS peer of POST /v1/taps). */
  INGEST_ERR_SENDER: { status: 400, retriable: false },
  /** A signed batch with an event whose own side (callee inbound, caller outbound) is not the signer's service. */
  INGEST_ERR_FOREIGN_SERVICE: { status: 400, retriable: false },
  /** The store failed; nothing was acknowledged, the same batch may be resent. */
  INGEST_ERR_STORE: { status: 503, retriable: true },
  /** The store or collector is closed (shutting down). */
  INGEST_ERR_CLOSED: { status: 503, retriable: true },
  /** Another store already owns chdb in this process. */
  INGEST_ERR_STORE_BUSY: { status: 503, retriable: true },
  /** The bus (Kafka) failed or refused a batch; PublishResult.retriable says whether to resend. */
  INGEST_ERR_BUS: { status: 503, retriable: true },
  /** A component was configured with invalid options. */
  INGEST_ERR_CONFIG: { status: 500, retriable: false },
} as const;

export type IngestErrorCode = keyof typeof INGEST_ERRORS;

export class IngestError extends Error {
  readonly code: IngestErrorCode;
  readonly status: number;
  readonly retriable: boolean;

  constructor(code: IngestErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'IngestError';
    this.code = code;
    this.status = INGEST_ERRORS[code].status;
    this.retriable = INGEST_ERRORS[code].retriable;
  }
}

/** Any thrown value as an IngestError; unknown failures are store failures (retriable). */
export function asIngestError(e: unknown, context: string): IngestError {
  if (e instanceof IngestError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new IngestError('INGEST_ERR_STORE', `${context}: ${msg}`, { cause: e });
}
