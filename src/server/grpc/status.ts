// gRPC statuses as they go on the wire: the code numbers, the error a handler
// answers with, and the trailer fields (grpc-status, grpc-message) that carry
// them. grpc-message is percent-encoded as the gRPC HTTP/2 spec asks: every
// byte of its UTF-8 form outside printable ASCII (0x20–0x7E), and '%' itself.

/** The gRPC status codes (same numbers in every gRPC implementation). */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** What a handler fails a call with (grpc-js's ServiceError has the same fields). */
export interface StatusError {
  code: number;
  details: string;
  /** Extra trailer fields (lowercase names), sent after grpc-status and grpc-message. */
  trailers?: Readonly<Record<string, string>>;
}

/** A StatusError that is also an Error (stack, message) for code that throws or logs it. */
export function statusError(code: number, details: string): StatusError & Error {
  return Object.assign(new Error(details), { code, details });
}

const HEX = '0123456789ABCDEF';

function needsEscape(byte: number): boolean {
  return byte < 0x20 || byte > 0x7e || byte === 0x25;
}

/** grpc-message's percent-encoding (the spec's, not encodeURI's). */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += needsEscape(byte) ? `%${HEX[byte >> 4]}${HEX[byte & 15]}` : String.fromCharCode(byte);
  }
  return out;
}

/** The trailer fields of a status (Node's HTTP/2 header object form). */
export function statusTrailers(err: StatusError): Record<string, string> {
  const out: Record<string, string> = { 'grpc-status': String(err.code) };
  if (err.details) out['grpc-message'] = encodeGrpcMessage(err.details);
  if (err.trailers) Object.assign(out, err.trailers);
  return out;
}
