import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { FieldViolation } from '@patchwork/errors';

/**
 * The `grpc-status-details-bin` trailer: a serialized `google.rpc.Status` whose `details` carry
 * `google.rpc.BadRequest` (field violations) and `google.rpc.ErrorInfo`. This is the richer error
 * model every gRPC language decodes, so grpcurl and non-Node clients see the violations too.
 * The four messages are small enough to encode by hand with the wire primitives of
 * @bufbuild/protobuf; the field numbers are those of google/rpc/status.proto and
 * google/rpc/error_details.proto.
 */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
export const BAD_REQUEST_TYPE_URL = 'type.googleapis.com/google.rpc.BadRequest';
export const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';

export interface ErrorInfo {
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

export interface StatusDetails {
  code: number;
  message: string;
  violations: FieldViolation[];
  errorInfo?: ErrorInfo;
}

function encodeBadRequest(violations: readonly FieldViolation[]): Uint8Array {
  const w = new BinaryWriter();
  for (const v of violations) {
    w.tag(1, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).string(v.field);
    w.tag(2, WireType.LengthDelimited).string(v.description);
    w.join();
  }
  return w.finish();
}

function encodeErrorInfo(info: ErrorInfo): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string(info.reason);
  w.tag(2, WireType.LengthDelimited).string(info.domain);
  for (const [key, value] of Object.entries(info.metadata)) {
    w.tag(3, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).string(key);
    w.tag(2, WireType.LengthDelimited).string(value);
    w.join();
  }
  return w.finish();
}

function writeAny(w: BinaryWriter, fieldNo: number, typeUrl: string, value: Uint8Array): void {
  w.tag(fieldNo, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).string(typeUrl);
  w.tag(2, WireType.LengthDelimited).bytes(value);
  w.join();
}

export function encodeStatusDetails(details: StatusDetails): Buffer {
  const w = new BinaryWriter();
  if (details.code !== 0) w.tag(1, WireType.Varint).int32(details.code);
  if (details.message !== '') w.tag(2, WireType.LengthDelimited).string(details.message);
  if (details.violations.length > 0) writeAny(w, 3, BAD_REQUEST_TYPE_URL, encodeBadRequest(details.violations));
  if (details.errorInfo) writeAny(w, 3, ERROR_INFO_TYPE_URL, encodeErrorInfo(details.errorInfo));
  return Buffer.from(w.finish());
}

/** Reads each field of a message, skipping unknown ones as protobuf requires. */
function readFields(bytes: Uint8Array, onField: (fieldNo: number, wireType: WireType, r: BinaryReader) => boolean): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [fieldNo, wireType] = r.tag();
    if (!onField(fieldNo, wireType, r)) r.skip(wireType, fieldNo);
  }
}

function readPair(bytes: Uint8Array): [string, string] {
  let first = '';
  let second = '';
  readFields(bytes, (no, wt, r) => {
    if (wt !== WireType.LengthDelimited) return false;
    if (no === 1) first = r.string();
    else if (no === 2) second = r.string();
    else return false;
    return true;
  });
  return [first, second];
}

function decodeBadRequest(bytes: Uint8Array): FieldViolation[] {
  const violations: FieldViolation[] = [];
  readFields(bytes, (no, wt, r) => {
    if (no !== 1 || wt !== WireType.LengthDelimited) return false;
    const [field, description] = readPair(r.bytes());
    violations.push({ field, description });
    return true;
  });
  return violations;
}

function decodeErrorInfo(bytes: Uint8Array): ErrorInfo {
  const info: ErrorInfo = { reason: '', domain: '', metadata: {} };
  readFields(bytes, (no, wt, r) => {
    if (wt !== WireType.LengthDelimited) return false;
    if (no === 1) info.reason = r.string();
    else if (no === 2) info.domain = r.string();
    else if (no === 3) {
      const [key, value] = readPair(r.bytes());
      info.metadata[key] = value;
    } else return false;
    return true;
  });
  return info;
}

/**
 * Decodes a `google.rpc.Status`; details of types other than BadRequest and ErrorInfo are ignored.
 * Throws on malformed bytes (the caller decides whether that matters).
 */
export function decodeStatusDetails(bytes: Uint8Array): StatusDetails {
  const result: StatusDetails = { code: 0, message: '', violations: [] };
  readFields(bytes, (no, wt, r) => {
    if (no === 1 && wt === WireType.Varint) result.code = r.int32();
    else if (no === 2 && wt === WireType.LengthDelimited) result.message = r.string();
    else if (no === 3 && wt === WireType.LengthDelimited) {
      let typeUrl = '';
      let value: Uint8Array = new Uint8Array(0);
      readFields(r.bytes(), (anyNo, anyWt, ar) => {
        if (anyWt !== WireType.LengthDelimited) return false;
        if (anyNo === 1) typeUrl = ar.string();
        else if (anyNo === 2) value = ar.bytes();
        else return false;
        return true;
      });
      if (typeUrl === BAD_REQUEST_TYPE_URL) result.violations.push(...decodeBadRequest(value));
      else if (typeUrl === ERROR_INFO_TYPE_URL) result.errorInfo = decodeErrorInfo(value);
    } else return false;
    return true;
  });
  return result;
}
