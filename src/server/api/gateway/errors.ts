// How grpc-gateway (1.x, as etcd 3.4.23 runs it) reports a failed call: the
// HTTP status it maps from the gRPC code, the body of a unary error
// {"error","message","code"}, and the error object that ends a stream
// {"error":{"grpc_code","http_code","message","http_status"}}.

import { STATUS_CODES } from 'node:http';
import { Status } from '../../grpc/status.js';
import { goJsonString } from './go-json.js';

const HTTP_BY_CODE: Record<number, number> = {
  [Status.OK]: 200,
  [Status.CANCELLED]: 408,
  [Status.UNKNOWN]: 500,
  [Status.INVALID_ARGUMENT]: 400,
  [Status.DEADLINE_EXCEEDED]: 504,
  [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409,
  [Status.PERMISSION_DENIED]: 403,
  [Status.UNAUTHENTICATED]: 401,
  [Status.RESOURCE_EXHAUSTED]: 429,
  [Status.FAILED_PRECONDITION]: 412,
  [Status.ABORTED]: 409,
  [Status.OUT_OF_RANGE]: 400,
  [Status.UNIMPLEMENTED]: 501,
  [Status.INTERNAL]: 500,
  [Status.UNAVAILABLE]: 503,
  [Status.DATA_LOSS]: 500,
};

/** grpc-gateway's HTTPStatusFromCode. */
export function httpStatusOf(code: number): number {
  return HTTP_BY_CODE[code] ?? 500;
}

/** The body of a failed unary call (and of a stream that failed before its first message). */
export function errorBody(code: number, message: string): string {
  const m = goJsonString(message);
  return `{"error":${m},"message":${m},"code":${code}}`;
}

/** The chunk that ends a stream with an error. */
export function streamErrorChunk(code: number, message: string): string {
  const http = httpStatusOf(code);
  const fields = [
    code !== 0 ? `"grpc_code":${code}` : '',
    `"http_code":${http}`,
    message !== '' ? `"message":${goJsonString(message)}` : '',
    `"http_status":${goJsonString(STATUS_CODES[http] ?? '')}`,
  ].filter((f) => f !== '');
  return `{"error":{${fields.join(',')}}}`;
}
