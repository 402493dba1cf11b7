/**
 * Where each port lives on JetStream. `prefix` namespaces everything (tests, or several
 * deployments sharing one account); production uses ''. These names are a deployment contract:
 * the KEDA ScaledObject targets `queueConsumerName(prefix, queue)` on `jobsStreamName(prefix)`.
 */

/** The work-queue stream holding every job queue. */
export const jobsStreamName = (prefix: string) => `${prefix}JOBS`;

/** The subject jobs of `queue` are published on. */
export const queueSubject = (prefix: string, queue: string) => `${prefix}jobs.${queue}`;

/** The durable pull consumer of `queue`: one per queue, shared by every worker replica. */
export const queueConsumerName = (prefix: string, queue: string) => `${prefix}jobs-${queue}`;

/** The limits stream keeping dead letters of every queue. */
export const dlqStreamName = (prefix: string) => `${prefix}DLQ`;

export const dlqSubject = (prefix: string, queue: string) => `${prefix}dlq.${queue}`;

/** The NATS KV bucket behind the port's bucket `name` (its stream is `KV_<bucket>`). */
export const kvBucketName = (prefix: string, name: string) => `${prefix}${name}`;

/** The NATS object store holding blobs (its stream is `OBJ_<store>`). */
export const blobStoreName = (prefix: string) => `${prefix}blobs`;

/** The advisory JetStream publishes when a message of `consumer` runs out of deliveries. */
export const maxDeliveriesAdvisory = (stream: string, consumer: string) =>
  `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`;

/** Every stream a fabric with `prefix` may create: what a test cleanup deletes. */
export const streamNamePrefixes = (prefix: string) => [prefix, `KV_${prefix}`, `OBJ_${prefix}`];
