// Public surface of access/: the operator token (made once, kept 0600 in the
// data dir) and the check every operator endpoint runs on a request (Host,
// Origin, then the token by bearer header or cookie). Framework-agnostic: the
// web UI (Express) and the control plane (plain node http) use the same check.

export {
  ACCESS_ERRORS, AccessError, newToken, operatorToken, readTokenFile, TOKEN_FILE_NAME,
  type AccessErrorCode, type OperatorToken,
} from './token-file.ts';
export {
  ACCESS_REFUSALS, accessPolicy, describeRequest, hostNameProblems, judgeRequest, loginUrl, NO_CREDENTIALS_MESSAGE, normalizeHost,
  SAFE_METHODS, sameToken, servedHosts, servedOrigins,
  type AccessPolicy, type AccessRefusal, type AccessVerdict,
} from './request-check.ts';
