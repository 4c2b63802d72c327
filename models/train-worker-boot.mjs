// Worker entry: registers tsx in this thread (a worker gets no loader from
// its parent when the CLI registered tsx through its API) and loads the
// TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./train-worker.ts', import.meta.url).href);
