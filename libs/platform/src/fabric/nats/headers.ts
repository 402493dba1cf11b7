import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { isReservedHeader } from '../names';

export function toNatsHeaders(record: Record<string, string> | undefined): MsgHdrs {
  const h = natsHeaders();
  for (const [name, value] of Object.entries(record ?? {})) h.set(name, value);
  return h;
}

/** The application's headers of a message: broker (`Nats-*`) and dead-letter headers dropped. */
export function fromNatsHeaders(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const name of h.keys()) {
    if (!isReservedHeader(name)) out[name] = h.get(name);
  }
  return out;
}
