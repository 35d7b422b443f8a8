# One image for every Evently process; the command picks which one:
#   bun run start:api | bun run migrate | bun run worker:<name> | bun run create-admin
# Two stages: production dependencies are installed in the first, so no build tooling, dev
# dependency or package cache reaches the image that runs.
FROM oven/bun:1.4.5 AS deps
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production --ignore-scripts

FROM oven/bun:1.4.5 AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    PORT=3000
# Owned by root and read-only for the app user: a compromised process cannot rewrite its code.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bun.lock tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY scripts ./scripts
COPY migrations ./migrations
# The official image's unprivileged user (uid 1000).
USER bun
EXPOSE 3000
# Checks this container's API (/health, no dependencies). Worker containers serve no HTTP:
# compose turns the check off for them.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["bun", "scripts/healthcheck.ts"]
CMD ["bun", "run", "start:api"]
