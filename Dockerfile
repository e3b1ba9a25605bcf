# syntax=docker/dockerfile:1
# newsnap: build with dev dependencies, then run with production ones only, as a non-root user.
# Two deployments: `docker run … newsnap crawl` from an outside scheduler, or the default `serve`.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
# Debian's Chromium (and a font) for the browser render fallback; playwright never downloads one.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-dejavu-core ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    NEWSNAP_STORAGE=/app/storage \
    NEWSNAP_RENDER_CHROMIUM_PATH=/usr/bin/chromium \
    NEWSNAP_SERVE_HOST=0.0.0.0 \
    NEWSNAP_SERVE_PORT=8787
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
RUN chmod +x /app/dist/cli/main.js \
 && ln -s /app/dist/cli/main.js /usr/local/bin/newsnap \
 && mkdir -p /app/storage \
 && chown node:node /app/storage
USER node
VOLUME ["/app/storage"]
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.NEWSNAP_SERVE_PORT||8787)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["newsnap"]
CMD ["serve"]
