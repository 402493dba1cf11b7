import type { Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import type { BlockSchema, RoleLinear } from './block-schema';
import type { PrunePlan } from './prune-plan';
import { sliceBias, sliceRole, sliceVector } from './role-matrix';
import type { SideDims } from './side-network';

function values(model: Model, key: string): Float32Array {
  return (model.weights.get(key) as tf.Tensor).dataSync() as Float32Array;
}

/** `[rows, cols]` with 1 at `(a, index[a])`: keeps the selected dimensions of a vector. */
function selection(index: Int32Array, cols: number): Float32Array {
  const out = new Float32Array(index.length * cols);
  index.forEach((c, a) => (out[a * cols + c] = 1));
  return out;
}

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}

/**
 * Initial side-network values from the pruned backbone (LST's initialisation): side block i is
 * backbone block i restricted to the kept residual, attention and feed-forward channels; every
 * downsample is the selection of the kept residual dimensions (zero bias) and the upsample its
 * transpose (zeros in the dropped dimensions), so the ladders start by passing the backbone's
 * residual stream through unchanged, restricted to the kept dimensions.
 */
export function prunedInit(model: Model, schema: BlockSchema, dims: SideDims, plan: PrunePlan, gateAlpha: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const R = plan.residual;
  const ds = dims.sideHidden;
  const lin = (name: string, role: RoleLinear, rows: Int32Array, cols: Int32Array) => {
    out.set(`${name}.weight`, sliceRole(values(model, role.spec.weightKey), role, rows, cols));
    out.set(`${name}.bias`, role.spec.biasKey === undefined ? new Float32Array(rows.length) : sliceBias(values(model, role.spec.biasKey), role, rows));
  };
  const norm = (name: string, keys: { weight: string; bias: string }) => {
    out.set(`${name}.weight`, sliceVector(values(model, keys.weight), R));
    out.set(`${name}.bias`, sliceVector(values(model, keys.bias), R));
  };
  const down = selection(R, dims.hidden);
  for (const j of [0, ...dims.layers.map((i) => i + 1)]) {
    out.set(`downsample.${j}.weight`, down);
    out.set(`downsample.${j}.bias`, new Float32Array(ds));
  }
  for (const i of dims.layers) {
    const b = schema.blocks[i];
    const A = plan.attention[i];
    const F = plan.ffn[i];
    out.set(`gate.${i}`, Float32Array.of(gateAlpha));
    lin(`block.${i}.attn.q`, b.q, A, R);
    lin(`block.${i}.attn.k`, b.k, A, R);
    lin(`block.${i}.attn.v`, b.v, A, R);
    lin(`block.${i}.attn.o`, b.o, R, A);
    norm(`block.${i}.ln_1`, b.ln1);
    lin(`block.${i}.mlp.fc_in`, b.fcIn, F, R);
    lin(`block.${i}.mlp.fc_out`, b.fcOut, R, F);
    norm(`block.${i}.ln_2`, b.ln2);
  }
  if (dims.finalNorm && schema.finalNorm !== undefined) norm('final_norm', schema.finalNorm);
  out.set('upsample.weight', transpose(down, ds, dims.hidden));
  out.set('upsample.bias', new Float32Array(dims.hidden));
  return out;
}

/**
 * torch's defaults for a freshly built side network: Linear weights and biases U(±1/√in),
 * LayerNorm weight 1 and bias 0; gates at `gateAlpha`. Seeded.
 */
export function randomInit(shapes: ReadonlyMap<string, readonly number[]>, gateAlpha: number, seed: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let s = seed;
  for (const [name, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (name.startsWith('gate.')) out.set(name, new Float32Array(size).fill(gateAlpha));
    else if (/(ln_\d|final_norm)\.weight$/.test(name)) out.set(name, new Float32Array(size).fill(1));
    else if (/(ln_\d|final_norm)\.bias$/.test(name)) out.set(name, new Float32Array(size));
    else {
      const fanIn = (shapes.get(name.replace(/\.bias$/, '.weight')) as readonly number[])[1];
      const bound = 1 / Math.sqrt(fanIn);
      out.set(name, tf.tidy(() => tf.randomUniform([...shape], -bound, bound, 'float32', s++).dataSync() as Float32Array));
    }
  }
  return out;
}
