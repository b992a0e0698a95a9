// Quote verification collateral in the JSON shape of ../shared/data/intel-sgx-sample/collateral.json:
// the signed TCB Info and QE Identity bodies as exact strings (their signatures cover these bytes),
// signatures as hex r||s, issuer chains as PEM (signer first, then root), CRLs as hex DER.
export interface Collateral {
  pck_crl_issuer_chain: string;
  root_ca_crl: string;
  pck_crl: string;
  tcb_info_issuer_chain: string;
  tcb_info: string;
  tcb_info_signature: string;
  qe_identity_issuer_chain: string;
  qe_identity: string;
  qe_identity_signature: string;
}
