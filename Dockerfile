# etcd-ts in a container: `docker build -t etcd-ts .`, then run it as you would run
# etcd (flags after the image name, or ETCD_* environment variables for any flag).
#   docker run -p 2379:2379 -p 2380:2380 -v etcd-data:/etcd-data etcd-ts \
#     --name s1 --listen-client-urls http://0.0.0.0:2379 --advertise-client-urls http://127.0.0.1:2379 \
#     --listen-peer-urls http://0.0.0.0:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
#     --initial-cluster s1=http://127.0.0.1:2380
# compose.yaml runs a three-member cluster from it.

# Build stage: dev dependencies for tsc and esbuild (the /ui dashboard), then only the runtime ones are kept.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY proto ./proto
COPY src ./src
COPY ui ./ui
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY proto ./proto
COPY bin ./bin
# Data: give --data-dir /etcd-data (or ETCD_DATA_DIR), etcd's convention in containers,
# and mount a volume there. Without it the default <name>.etcd lands in the working
# directory, which is that same volume. (No ENV ETCD_DATA_DIR here: a --data-dir flag
# given to `docker run` would then conflict with it, as etcd refuses both.)
RUN mkdir -p /etcd-data && chown node:node /etcd-data
VOLUME /etcd-data
WORKDIR /etcd-data
USER node
EXPOSE 2379 2380
ENTRYPOINT ["/app/bin/etcd-ts"]
