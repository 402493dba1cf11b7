/**
 * kubernetes-models ships its JSON schemas compiled into validator functions, without the schema
 * objects, and those validators accept any property a schema does not name. What a compiled
 * validator does do is read every property its schema names (`data.x === undefined || check(...)`)
 * and enumerate the keys of maps (`additionalProperties`). Running it over a Proxy that records
 * those reads recovers, for every object in a manifest, the property names the schema knows; a key
 * the validator never looked at is one the schema does not have: a misspelling, or a field of
 * another API version.
 */

interface NodeRecord {
  value: object;
  read: Set<string>;
  enumerated: boolean;
}

function recordingProxy(root: object): { proxy: object; nodes: Map<string, NodeRecord> } {
  const nodes = new Map<string, NodeRecord>();
  const wrap = (value: unknown, at: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    let node = nodes.get(at);
    if (!node) nodes.set(at, (node = { value, read: new Set(), enumerated: false }));
    const record = node;
    return new Proxy(value, {
      get(target, key, receiver) {
        const result: unknown = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return result;
        record.read.add(key);
        return wrap(result, `${at}/${key}`);
      },
      has(target, key) {
        if (typeof key === 'string') record.read.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        record.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
  };
  return { proxy: wrap(root, '') as object, nodes };
}

/**
 * Paths (`/spec/template/spec/containers/0/livenessProbe/grpcc`) of keys in `data` that the schema
 * behind `validate` does not define. Run it on data the validator accepts: a schema error can stop
 * the validator before it reads the rest.
 */
export function unknownKeys(data: object, validate: (data: object) => unknown): string[] {
  const { proxy, nodes } = recordingProxy(data);
  try {
    validate(proxy);
  } catch {
    // Schema errors are the caller's other check; the reads made so far are still recorded.
  }
  const unknown: string[] = [];
  for (const [at, node] of nodes) {
    // Arrays are checked item by item; maps accept any key; an object whose schema names no
    // properties at all is free-form (x-kubernetes-preserve-unknown-fields).
    if (Array.isArray(node.value) || node.enumerated || node.read.size === 0) continue;
    for (const key of Object.keys(node.value)) if (!node.read.has(key)) unknown.push(`${at}/${key}`);
  }
  return unknown.sort();
}
