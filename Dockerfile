# syntax=docker/dockerfile:1
# The confcom image: one bundled CLI (dist/bundle/confcom.mjs, `npm run bundle`) that runs the device
# plugin, the quote helper and the admission webhook, as the add-on's manifests invoke it.
#
# Users: the image defaults to the unprivileged 65532. The add-on's manifests run the webhook as
# 65532, and the device plugin and quote helper as uid 0 with every capability dropped: the plugin
# must create its socket in the kubelet's root-owned /var/lib/kubelet/device-plugins, and the quote
# helper owns its socket in the host's /var/run/aesmd and opens /dev/sgx_provision (0660 root:sgx_prv).
# Neither is privileged. The root filesystem can be read-only: nothing is written outside the mounts.

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-fund --no-audit
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
RUN npx tsc -p tsconfig.json && node scripts/bundle.mjs
# dist/bundle is the whole payload: the code-split CLI, the worker entry points, and koffi (the FFI used
# to load Intel's libsgx_dcap_ql) with this platform's prebuilt binary package, in node_modules.
RUN cp -r dist/bundle /out

FROM node:20-slim AS runtime
# Intel's DCAP quote library and its default PCCS provider library, for `quote-helper --backend dcap`.
# Set WITH_DCAP=false for an image without them (the simulated backend and the other daemons need none).
ARG WITH_DCAP=true
ADD --chmod=644 https://download.01.org/intel-sgx/sgx_repo/ubuntu/intel-sgx-deb.key /etc/apt/keyrings/intel-sgx.asc
RUN if [ "$WITH_DCAP" = "true" ]; then \
      echo "deb [signed-by=/etc/apt/keyrings/intel-sgx.asc arch=amd64] https://download.01.org/intel-sgx/sgx_repo/ubuntu jammy main" > /etc/apt/sources.list.d/intel-sgx.list \
      && apt-get update \
      && apt-get install -y --no-install-recommends libsgx-dcap-ql libsgx-dcap-default-qpl \
      && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /opt/confcom
COPY --from=build /out/ ./
RUN printf '#!/bin/sh\nexec node /opt/confcom/confcom.mjs "$@"\n' > /usr/local/bin/confcom && chmod 755 /usr/local/bin/confcom \
    && node /opt/confcom/confcom.mjs --version
USER 65532:65532
ENTRYPOINT ["confcom"]
CMD ["--help"]
