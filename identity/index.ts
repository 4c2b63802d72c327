// Workload identity: SPIFFE ids, X.509 SVIDs and the trust bundle they chain
// to, the mesh's certificate authority, join tokens for a workload's first
// certificate, and key + CSR generation on the workload's side. Used by the
// control plane (issuing), the sidecars (presenting and checking peers) and
// the collectors (checking who signed a tap batch).

export { DEFAULT_NAMESPACE, DEFAULT_TRUST_DOMAIN, formatSpiffeId, parseSpiffeId, spiffeProblems, isName, type SpiffeId } from './spiffe.ts';
export { certificatesFromPem, expectPeer, IdentityError, PEER_IDENTITY_MISMATCH, peerIdentity, readSvid, TrustBundle, uriSans, verifiedPeer, type PeerResult, type Svid } from './svid.ts';
export { CertificateAuthority, DEFAULT_SVID_TTL_MS, type IssuedSvid, type SignRequest } from './certificate-authority.ts';
export { JoinTokens, DEFAULT_JOIN_TOKEN_TTL_MS, type JoinGrant } from './join-tokens.ts';
export { newKeyAndCsr, type KeyAndCsr } from './csr.ts';
