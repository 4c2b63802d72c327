// The LSTM sequence-to-sequence autoencoder over sliding windows.
//
//   input  [window, F + 2]  scaled features (gaps at the centre, 0) + sin/cos time of day
//   LSTM(units)             encoder, last state is the code
//   RepeatVector(window)
//   LSTM(units, seq)        decoder
//   TimeDistributed(Dense(F)) reconstruction of the F features (not the clock)
//
// Trained with MSE on normal windows; a window it cannot reconstruct is unusual.

import { tf } from './backend.ts';
import type { ScaledRows } from './features.ts';
import { seededRandom } from './random.ts';

export interface ArchitectureOptions { window: number; units: number; features: number; seed?: number }

export function buildAutoencoder(a: ArchitectureOptions): tf.LayersModel {
  const seed = a.seed ?? 1;
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  const m = tf.sequential();
  m.add(tf.layers.lstm({ units: a.units, inputShape: [a.window, a.features + 2], kernelInitializer: init(1), recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 2 }) }));
  m.add(tf.layers.repeatVector({ n: a.window }));
  m.add(tf.layers.lstm({ units: a.units, returnSequences: true, kernelInitializer: init(3), recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 4 }) }));
  m.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: a.features, kernelInitializer: init(5) }) }));
  return m;
}

/**
 * The model sees its input clipped to ±INPUT_CLIP robust standard deviations
 * while the target keeps the full range (±CLIP in features.ts). Without this
 * an LSTM autoencoder learns to copy a slowly moving level through its code
 * and then copies a traffic drop just as well; with it, whatever lies beyond
 * the range normal data reaches can never be reconstructed and always counts.
 */
export const INPUT_CLIP = 4;

/** Window ends: rows i such that the window [i − window + 1, i] lies in the series. */
export function windowEnds(from: number, to: number, window: number, stride: number): number[] {
  const out: number[] = [];
  for (let i = Math.max(from, window - 1); i < to; i += stride) out.push(i);
  return out;
}

/** Input [n, window, F+2] and target [n, window, F] for windows ending at `ends`. */
export function windowTensors(x: ScaledRows, ends: number[], window: number): { input: tf.Tensor3D; target: tf.Tensor3D } {
  const F = x.values[0]?.length ?? 0;
  const { inp, tgt } = windowArrays(x, ends, window);
  return { input: tf.tensor3d(inp, [ends.length, window, F + 2]), target: tf.tensor3d(tgt, [ends.length, window, F]) };
}

/** The same as flat row-major arrays. */
export function windowArrays(x: ScaledRows, ends: number[], window: number): { inp: Float32Array; tgt: Float32Array } {
  const F = x.values[0]?.length ?? 0;
  const inp = new Float32Array(ends.length * window * (F + 2));
  const tgt = new Float32Array(ends.length * window * F);
  ends.forEach((end, n) => {
    for (let s = 0; s < window; s++) {
      const r = end - window + 1 + s;
      const row = x.values[r];
      const bi = (n * window + s) * (F + 2), bt = (n * window + s) * F;
      for (let j = 0; j < F; j++) {
        const v = Number.isFinite(row[j]) ? row[j] : 0;
        inp[bi + j] = Math.max(-INPUT_CLIP, Math.min(INPUT_CLIP, v));
        tgt[bt + j] = v;
      }
      inp[bi + F] = x.tod[r][0];
      inp[bi + F + 1] = x.tod[r][1];
    }
  });
  return { inp, tgt };
}

export interface FitOptions {
  epochs: number;
  patience: number;
  batchSize: number;
  learningRate: number;
  seed?: number;
  onEpoch?: (epoch: number, loss: number, valLoss: number) => void;
}

export interface FitResult { epochs: number; bestValLoss: number; losses: number[] }

/** Adam on MSE with early stopping on the validation windows, keeping the best weights. */
export async function fitAutoencoder(
  model: tf.LayersModel, train: { input: tf.Tensor3D; target: tf.Tensor3D }, val: { input: tf.Tensor3D; target: tf.Tensor3D }, o: FitOptions,
): Promise<FitResult> {
  model.compile({ optimizer: tf.train.adam(o.learningRate), loss: 'meanSquaredError' });
  // Shuffle with our own seeded order: tfjs's shuffle uses Math.random, and a
  // detector trained twice on the same rows should get the same threshold.
  const rng = seededRandom(o.seed ?? 1);
  const n = train.input.shape[0];
  let best = Infinity, bestWeights: tf.Tensor[] | undefined, since = 0, epochs = 0;
  const losses: number[] = [];
  for (let e = 0; e < o.epochs; e++) {
    const order = Array.from({ length: n }, (_, k) => k);
    for (let k = n - 1; k > 0; k--) { const j = rng.int(0, k + 1); [order[k], order[j]] = [order[j], order[k]]; }
    const idx = tf.tensor1d(order, 'int32');
    const xs = tf.gather(train.input, idx), ys = tf.gather(train.target, idx);
    const h = await model.fit(xs, ys, { epochs: 1, batchSize: o.batchSize, shuffle: false, verbose: 0 });
    tf.dispose([idx, xs, ys]);
    const valLoss = tf.tidy(() => (model.evaluate(val.input, val.target, { batchSize: 512 }) as tf.Scalar).dataSync()[0]);
    const loss = Number(h.history.loss[0]);
    losses.push(loss);
    epochs = e + 1;
    o.onEpoch?.(epochs, loss, valLoss);
    if (valLoss < best - 1e-4) {
      best = valLoss; since = 0;
      bestWeights?.forEach((w) => w.dispose());
      bestWeights = model.getWeights().map((w) => w.clone());
    } else if (++since >= o.patience) break;
  }
  if (bestWeights) { model.setWeights(bestWeights); bestWeights.forEach((w) => w.dispose()); }
  return { epochs, bestValLoss: best, losses };
}

/** Reconstructions for the given windows, as one flat array [n × window × F]. */
export function reconstruct(model: tf.LayersModel, input: tf.Tensor3D): Float32Array {
  return tf.tidy(() => (model.predict(input, { batchSize: 512 }) as tf.Tensor).dataSync() as Float32Array);
}
