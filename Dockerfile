# The operator image: docker build -t ghcr.io/clawcrew/clawcrew-operator:0.1.0 .
# BASE_IMAGE is any Node 24 image; hack/images.sh passes one it builds from Debian packages.
ARG BASE_IMAGE=node:24-slim
FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM ${BASE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
# Two malloc arenas instead of one per thread (V8's GC helpers and libuv's pool each grow their own).
ENV MALLOC_ARENA_MAX=2
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532:65532
# A small young generation and slow heap growth keep the operator's memory near what it holds
# (docs/benchmarks.md: peak RSS with 14,000 Delegations cached), for a little more GC time.
# bench/delegation-routing.ts runs the operator with exactly this line.
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=10", "dist/main.js"]
