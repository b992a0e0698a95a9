// MAA's documented default SGX policy, verbatim: permits every enclave and copies the x-ms-* claims to
// the legacy names older relying parties read.
export const DEFAULT_SGX_POLICY = `version= 1.1;
configurationrules{ => issueproperty(type="x-ms-sgx-tcbidentifier", value="azuredefault"); };
authorizationrules{ => permit(); };
issuancerules{
 c:[type=="x-ms-sgx-is-debuggable"] => issue(type="is-debuggable", value=c.value);
 c:[type=="x-ms-sgx-mrsigner"] => issue(type="sgx-mrsigner", value=c.value);
 c:[type=="x-ms-sgx-mrenclave"] => issue(type="sgx-mrenclave", value=c.value);
 c:[type=="x-ms-sgx-product-id"] => issue(type="product-id", value=c.value);
 c:[type=="x-ms-sgx-svn"] => issue(type="svn", value=c.value);
 c:[type=="x-ms-attestation-type"] => issue(type="tee", value=c.value);
};
`;
