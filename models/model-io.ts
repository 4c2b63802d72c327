// Saving and loading a tfjs LayersModel as files without tfjs-node (whose
// file:// handler is the only built-in one for Node): model.json holds the
// topology and the weights manifest, weights.bin the concatenated weights.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from './backend.ts';

export async function saveModelFiles(model: tf.LayersModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (a) => {
    if (!a.weightData || !a.weightSpecs) throw new Error('model save: tensorflow.js gave no weights');
    const weights = Buffer.concat((Array.isArray(a.weightData) ? a.weightData : [a.weightData]).map((b) => Buffer.from(b)));
    const modelJson = {
      format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy ?? null,
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    };
    await writeFile(join(dir, 'weights.bin'), weights);
    await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length } };
  }));
}

export async function loadModelFiles(dir: string): Promise<tf.LayersModel> {
  const path = join(dir, 'model.json');
  let json: { modelTopology?: object; weightsManifest?: { weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`model ${path}: ${(e as Error).message}`);
  }
  if (!json.modelTopology || !json.weightsManifest?.[0]) throw new Error(`model ${path}: no topology or weights manifest`);
  const bin = await readFile(join(dir, 'weights.bin'));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
}
