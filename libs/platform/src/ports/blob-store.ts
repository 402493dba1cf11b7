/**
 * Content-addressed blob storage: a blob's name is the sha256 (hex) of its bytes. Writes are
 * atomic (a reader never sees a partial blob) and reads verify the digest at the end, throwing
 * PatchworkError DATA_LOSS on mismatch. Production: NATS Object Store. Embedded: local disk
 * (temp file + rename).
 */
export interface BlobInfo {
  digest: string;
  size: number;
}

export interface BlobStore {
  /** Stores a local file; returns its digest. Storing an existing blob is a cheap no-op. */
  putFile(path: string): Promise<BlobInfo>;
  putBytes(bytes: Uint8Array): Promise<BlobInfo>;
  /** Streams a blob's bytes; the iterator throws DATA_LOSS at the end if the digest does not match. */
  read(digest: string): AsyncIterable<Uint8Array>;
  /** Writes a blob to `path` atomically (temp + rename), verifying its digest. */
  getToFile(digest: string, path: string): Promise<BlobInfo>;
  stat(digest: string): Promise<BlobInfo | null>;
  delete(digest: string): Promise<void>;
  close(): Promise<void>;
}
