/**
 * The ONNX model of one float32 product `c = op(a) · op(b)` (op = identity or a swap of the last
 * two axes), encoded by hand: a protobuf writer for the dozen fields involved is smaller than a
 * dependency on an ONNX or protobuf package. Every axis is symbolic, so one session serves every
 * shape of the same ranks; onnxruntime's optimiser folds a Transpose feeding MatMul into its
 * transposing GEMM, so the swap costs no copy.
 * Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
 * ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).
 */

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTRIBUTE_INTS = 7; // AttributeProto.AttributeType.INTS
const IR_VERSION = 8;
const OPSET = 13;

type Bytes = number[];

function varint(value: number): Bytes {
  const out: Bytes = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function int(field: number, value: number): Bytes {
  return [...varint((field << 3) | WIRE_VARINT), ...varint(value)];
}

function message(field: number, body: Bytes): Bytes {
  return [...varint((field << 3) | WIRE_BYTES), ...varint(body.length), ...body];
}

function text(field: number, value: string): Bytes {
  return message(field, [...Buffer.from(value, 'utf8')]);
}

/** A float32 tensor input whose axes are all symbolic (`<name>0`, `<name>1`, ...). */
function floatInput(name: string, rank: number): Bytes {
  const dims = Array.from({ length: rank }, (_, i) => message(1, text(2, `${name}${i}`))).flat();
  const tensorType = [...int(1, FLOAT), ...message(2, dims)];
  return [...text(1, name), ...message(2, message(1, tensorType))];
}

/** A float32 output of unspecified shape (onnxruntime infers it). */
function floatOutput(name: string): Bytes {
  return [...text(1, name), ...message(2, message(1, int(1, FLOAT)))];
}

function node(op: string, inputs: string[], output: string, attributes: Bytes[] = []): Bytes {
  return [...inputs.flatMap((i) => text(1, i)), ...text(2, output), ...text(4, op), ...attributes.flatMap((a) => message(5, a))];
}

function swapLastTwo(rank: number): Bytes {
  const perm = Array.from({ length: rank }, (_, i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i));
  return [...text(1, 'perm'), ...perm.flatMap((p) => int(8, p)), ...int(20, ATTRIBUTE_INTS)];
}

export interface ProductModelSpec {
  rankA: number;
  rankB: number;
  transposeA: boolean;
  transposeB: boolean;
}

/** Inputs `a`, `b`, output `c`; MatMul semantics (numpy broadcasting of the batch axes). */
export function productModel({ rankA, rankB, transposeA, transposeB }: ProductModelSpec): Uint8Array {
  const nodes: Bytes[] = [];
  let left = 'a';
  let right = 'b';
  if (transposeA) {
    nodes.push(node('Transpose', ['a'], 'at', [swapLastTwo(rankA)]));
    left = 'at';
  }
  if (transposeB) {
    nodes.push(node('Transpose', ['b'], 'bt', [swapLastTwo(rankB)]));
    right = 'bt';
  }
  nodes.push(node('MatMul', [left, right], 'c'));
  const graph = [...nodes.flatMap((n) => message(1, n)), ...text(2, 'product'), ...message(11, floatInput('a', rankA)), ...message(11, floatInput('b', rankB)), ...message(12, floatOutput('c'))];
  return Uint8Array.from([...int(1, IR_VERSION), ...text(2, 'patchwork'), ...message(8, int(2, OPSET)), ...message(7, graph)]);
}
