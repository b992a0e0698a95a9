# syntax=docker/dockerfile:1
# The confcom image: one bundled CLI that runs the device plugin, the quote helper, the admission webhook,
# the PCCS and the sample attestation app, as the add-on's manifests invoke it (`confcom ...`).
#
# Its content is one tree, made by scripts/image-root.mjs (`npm run image:root -- DIR`, what the tests
# run): /opt/confcom (the bundle, koffi's binary; the working directory), /usr/local/bin/confcom (the
# entrypoint), and /etc/passwd and /etc/group with the unprivileged user and group 65532 ("nonroot").
#
# Users: the image defaults to 65532:65532, which exist in its passwd and group. The add-on's manifests
# run the webhook as 65532, and the device plugin and quote helper as uid 0 with every capability
# dropped: the plugin must create its socket in the kubelet's root-owned /var/lib/kubelet/device-plugins,
# and the quote helper owns its socket in the host's /var/run/aesmd and opens /dev/sgx_provision (0660
# root:sgx_prv). Neither is privileged. The root filesystem can be read-only: nothing is written outside
# the mounts.

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-fund --no-audit
COPY tsconfig.json ./
COPY src ./src
COPY examples ./examples
COPY scripts ./scripts
# The build stage is the same base image, so its /etc/passwd and /etc/group are the runtime's.
RUN npx tsc -p tsconfig.json && node scripts/image-root.mjs /image-root

FROM node:20-slim AS runtime
COPY --from=build /image-root/ /
# Intel's DCAP quote library and its default PCCS provider library, for `quote-helper --backend dcap`.
# Set WITH_DCAP=false for an image without them (the simulated backend and the other daemons need none).
# After the COPY, so users and groups the packages add stay in /etc/passwd and /etc/group.
ARG WITH_DCAP=true
ADD --chmod=644 https://download.01.org/intel-sgx/sgx_repo/ubuntu/intel-sgx-deb.key /etc/apt/keyrings/intel-sgx.asc
RUN if [ "$WITH_DCAP" = "true" ]; then \
      echo "deb [signed-by=/etc/apt/keyrings/intel-sgx.asc arch=amd64] https://download.01.org/intel-sgx/sgx_repo/ubuntu jammy main" > /etc/apt/sources.list.d/intel-sgx.list \
      && apt-get update \
      && apt-get install -y --no-install-recommends libsgx-dcap-ql libsgx-dcap-default-qpl \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
    && confcom --version
WORKDIR /opt/confcom
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/confcom"]
CMD ["--help"]
