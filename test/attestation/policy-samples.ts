// MAA's documented policies, verbatim (learn.microsoft.com/azure/attestation/policy-examples), as data.

/** The sample custom SGX policy, with its <product-id>, <mrsigner> and <custom-name> placeholders. */
export const SAMPLE_CUSTOM_POLICY = `version= 1.0;
authorizationrules
{
  [ type=="x-ms-sgx-is-debuggable", value==false ]
  && [ type=="x-ms-sgx-product-id", value==<product-id> ]
  && [ type=="x-ms-sgx-svn", value>= 0 ]
  && [ type=="x-ms-sgx-mrsigner", value=="<mrsigner>"]
  => permit();
};
issuancerules {
c:[type=="x-ms-sgx-mrsigner"] => issue(type="<custom-name>", value=c.value);
};
`;

/** The sample with its placeholders filled in, as a user does. */
export function customPolicy(productId: number, mrSigner: string, customName = "custom-mrsigner"): string {
  return SAMPLE_CUSTOM_POLICY.replace("<product-id>", String(productId)).replace("<mrsigner>", mrSigner).replace("<custom-name>", customName);
}
