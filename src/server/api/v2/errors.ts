// The v2 API's errors (etcd's api/v2error): a numeric code, its fixed message,
// a cause (usually the key), the store index when it happened, and the HTTP
// status etcd answers with. Encoded as {"errorCode","message","cause","index"}.

export const V2_ERROR_MESSAGES = {
  100: 'Key not found',
  101: 'Compare failed',
  102: 'Not a file',
  104: 'Not a directory',
  105: 'Key already exists',
  107: 'Root is read only',
  108: 'Directory not empty',
  110: 'The request requires user authentication',
  201: 'PrevValue is Required in POST form',
  202: 'The given TTL in POST form is not a number',
  203: 'The given index in POST form is not a number',
  209: 'Invalid field',
  210: 'Invalid POST form',
  211: 'Value provided on refresh',
  212: 'A TTL must be provided on refresh',
  300: 'Raft Internal Error',
  301: 'During Leader Election',
  400: 'watcher is cleared due to etcd recovery',
  401: 'The event in requested index is outdated and cleared',
} as const;

export type V2ErrorCode = keyof typeof V2_ERROR_MESSAGES;

export const EcodeKeyNotFound = 100;
export const EcodeTestFailed = 101;
export const EcodeNotFile = 102;
export const EcodeNotDir = 104;
export const EcodeNodeExist = 105;
export const EcodeRootROnly = 107;
export const EcodeDirNotEmpty = 108;
export const EcodePrevValueRequired = 201;
export const EcodeTTLNaN = 202;
export const EcodeIndexNaN = 203;
export const EcodeInvalidField = 209;
export const EcodeInvalidForm = 210;
export const EcodeRefreshValue = 211;
export const EcodeRefreshTTLRequired = 212;
export const EcodeRaftInternal = 300;
export const EcodeEventIndexCleared = 401;

/** etcd's errorStatus table; every other code is 400 Bad Request. */
const STATUS: Partial<Record<V2ErrorCode, number>> = {
  100: 404,
  102: 403,
  108: 403,
  110: 401,
  101: 412,
  105: 412,
  300: 500,
  301: 500,
};

export class V2Error extends Error {
  constructor(
    readonly errorCode: V2ErrorCode,
    override readonly cause: string,
    /** The store index when the error happened (0 for request errors, as etcd). */
    readonly index: number,
  ) {
    super(V2_ERROR_MESSAGES[errorCode]);
  }

  get status(): number {
    return STATUS[this.errorCode] ?? 400;
  }

  /** etcd's JSON: cause omitted when empty, then a newline. */
  toJSON(): { errorCode: number; message: string; cause?: string; index: number } {
    return {
      errorCode: this.errorCode,
      message: this.message,
      ...(this.cause !== '' ? { cause: this.cause } : {}),
      index: this.index,
    };
  }
}

/** A request that fails validation (index 0, as etcd's NewRequestError). */
export function requestError(code: V2ErrorCode, cause: string): V2Error {
  return new V2Error(code, cause, 0);
}
