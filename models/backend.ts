// Picks the TensorFlow.js backend once per process: the native binding
// (@tensorflow/tfjs-node, an optional dependency) when it loads, otherwise the
// WebAssembly backend with its .wasm files read from node_modules, so nothing
// is ever fetched from the network. The model code is the same either way.

import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';

let ready: Promise<string> | undefined;

async function pick(): Promise<string> {
  const nativeName = '@tensorflow/tfjs-node'; // a variable, so the type checker does not need it installed
  if (process.env.MESHLENS_TF_BACKEND !== 'wasm') {
    try {
      await import(nativeName);
      if (tf.findBackend('tensorflow') && (await tf.setBackend('tensorflow'))) return 'tensorflow';
    } catch {
      // not installed or no prebuilt binary for this platform: fall through to WASM
    }
  }
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  setWasmPaths(dist + sep);
  if (!(await tf.setBackend('wasm'))) throw new Error(`tensorflow.js: the wasm backend did not initialise from ${dist}`);
  await tf.ready();
  return 'wasm';
}

/** Resolves to the backend in use ('tensorflow' or 'wasm'). */
export function tfBackend(): Promise<string> {
  ready ??= pick();
  return ready;
}

export { tf };
