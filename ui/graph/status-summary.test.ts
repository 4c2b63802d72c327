import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeMeshStatus } from './index.ts';

const text = (control: unknown) => summarizeMeshStatus(control).map((p) => `${p.label} ${p.value}${p.tone === 'bad' ? '!' : ''}`);

test('without a control plane the summary says it is not attached', () => {
  assert.deepEqual(text(null), ['control plane not attached']);
  assert.deepEqual(text('up'), ['control plane not attached']);
});

test('summarizes config version, services and sidecars of a healthy mesh', () => {
  const control = {
    version: 4,
    services: { web: [{}], cart: [{}, {}] },
    proxies: [
      { proxy: 'web-1', connected: true, acked_version: 4 },
      { proxy: 'cart-1', connected: true, acked_version: 4 },
    ],
  };
  assert.deepEqual(text(control), ['config v4', 'services 2', 'sidecars 2/2 connected']);
});

test('flags disconnected sidecars, sidecars behind the config version and NACKs', () => {
  const control = {
    version: 5,
    services: {},
    proxies: [
      { proxy: 'web-1', connected: true, acked_version: 5 },
      { proxy: 'cart-1', connected: false, acked_version: 4 },
      { proxy: 'pay-1', connected: true, acked_version: 4, nack: { version: 5, error: 'bad route' } },
    ],
  };
  assert.deepEqual(text(control), ['config v5', 'services 0', 'sidecars 2/3 connected!', 'behind 2!', 'NACK 1!']);
});

test('shows other top-level scalars as they are, and skips nested values it does not know', () => {
  assert.deepEqual(text({ mode: 'embedded', taps_accepted: 120, detail: { a: 1 } }), ['mode embedded', 'taps accepted 120']);
});

test('shows tap loss from the store, flagged when any tap was lost', () => {
  assert.deepEqual(text({ version: 1, tap_lost_events: 0 }), ['config v1', 'tap loss 0']);
  assert.deepEqual(text({ version: 1, tap_lost_events: 17 }), ['config v1', 'tap loss 17!']);
  assert.deepEqual(text({ version: 1, tap_rejected_frames: 0 }), ['config v1', 'taps refused 0']);
  assert.deepEqual(text({ version: 1, tap_rejected_frames: 3 }), ['config v1', 'taps refused 3!'], 'refused (forged or broken) tap batches are shown as trouble');
});
