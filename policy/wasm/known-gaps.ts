/**
 * Conformance cases the WASM back end does not pass yet, each with the
 * reason. policy/conformance-wasm.test.ts runs them as `todo` (visible in
 * the report, never silently skipped) and every case not listed must pass.
 */
export const WASM_KNOWN_GAPS: Record<string, string> = {
};
