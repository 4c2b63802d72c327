// The trained autoencoder's forward pass in plain JavaScript, for scoring one
// window at a time. The live path scores every service every 10 s, one window
// each; through tensorflow.js that is ~350 tiny ops (12 steps × 2 LSTM cells)
// and costs 4–8 ms on the WASM backend, almost all dispatch overhead, while
// the arithmetic is ~40k multiply-adds (≈0.05 ms here). Batch scoring and
// training stay in tensorflow.js; this reads the same weights, and a test
// checks it agrees with model.predict.
//
// Semantics follow tfjs-layers' LSTMCell: z = x·W + h·U + b split into gates
// (i, f, c, o); recurrent activation hardSigmoid(x) = clip(0.2x + 0.5, 0, 1);
// activation tanh; then RepeatVector and a TimeDistributed Dense (linear).

import type { tf } from './backend.ts';

interface Lstm { W: Float32Array; U: Float32Array; b: Float32Array; inDim: number; units: number }
export interface ForwardWeights { enc: Lstm; dec: Lstm; dense: { K: Float32Array; b: Float32Array; inDim: number; out: number }; window: number }

export function forwardWeights(model: tf.LayersModel, window: number): ForwardWeights {
  const w = model.getWeights();
  if (w.length !== 8) throw new Error(`forward pass: expected 8 weight tensors (2 LSTM + dense), got ${w.length}`);
  const data = w.map((t) => t.dataSync() as Float32Array);
  const lstm = (k: number): Lstm => ({ W: data[k], U: data[k + 1], b: data[k + 2], inDim: w[k].shape[0], units: w[k + 1].shape[0] });
  return { enc: lstm(0), dec: lstm(3), dense: { K: data[6], b: data[7], inDim: w[6].shape[0], out: w[7].shape[0] }, window };
}

const hardSigmoid = (x: number) => Math.max(0, Math.min(1, 0.2 * x + 0.5));

/** One LSTM step in place: h and c are updated. */
function step(l: Lstm, x: ArrayLike<number>, h: Float64Array, c: Float64Array, z: Float64Array): void {
  const G = 4 * l.units;
  for (let g = 0; g < G; g++) z[g] = l.b[g];
  for (let i = 0; i < l.inDim; i++) { const xi = x[i]; if (xi !== 0) for (let g = 0; g < G; g++) z[g] += xi * l.W[i * G + g]; }
  for (let i = 0; i < l.units; i++) { const hi = h[i]; if (hi !== 0) for (let g = 0; g < G; g++) z[g] += hi * l.U[i * G + g]; }
  const u = l.units;
  for (let k = 0; k < u; k++) {
    const ig = hardSigmoid(z[k]), fg = hardSigmoid(z[u + k]), og = hardSigmoid(z[3 * u + k]);
    c[k] = fg * c[k] + ig * Math.tanh(z[2 * u + k]);
    h[k] = og * Math.tanh(c[k]);
  }
}

/** Reconstruction [window × out] of one input window [window × inDim] (row-major). */
export function reconstructWindow(fw: ForwardWeights, input: Float32Array): Float32Array {
  const { enc, dec, dense, window } = fw;
  let h = new Float64Array(enc.units), c = new Float64Array(enc.units), z = new Float64Array(4 * enc.units);
  for (let s = 0; s < window; s++) step(enc, input.subarray(s * enc.inDim, (s + 1) * enc.inDim), h, c, z);
  const code = h;
  h = new Float64Array(dec.units); c = new Float64Array(dec.units); z = new Float64Array(4 * dec.units);
  const out = new Float32Array(window * dense.out);
  for (let s = 0; s < window; s++) {
    step(dec, code, h, c, z);
    for (let o = 0; o < dense.out; o++) {
      let v = dense.b[o];
      for (let i = 0; i < dense.inDim; i++) v += h[i] * dense.K[i * dense.out + o];
      out[s * dense.out + o] = v;
    }
  }
  return out;
}
