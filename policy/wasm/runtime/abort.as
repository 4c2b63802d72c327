// Errors leave through OPA's env.opa_abort (the host throws the message).
@external("env", "opa_abort")
declare function opa_abort(addr: usize): void;

export function fail(msg: string): void {
  opa_abort(changetype<usize>(String.UTF8.encode(msg, true)));
  unreachable();
}

/** Replaces AS's own abort (asc --use abort=...) so that no env.abort import is needed. */
export function asAbort(message: string | null, file: string | null, line: u32, column: u32): void {
  fail("internal error: " + (message == null ? "" : message!) + " at " + (file == null ? "" : file!) + ":" + line.toString() + ":" + column.toString());
}
