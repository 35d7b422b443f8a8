# One image for every Evently process; the command picks which one:
#   bun run start:api | bun run migrate | bun run worker:<name> | bun run create-admin
# Production dependencies are installed in one stage and the dashboard is built in another, so
# no build tooling, dev dependency or package cache reaches the image that runs.
FROM oven/bun:1.4.5 AS deps
WORKDIR /app
COPY package.json bun.lock ./
COPY packages/client/package.json packages/client/
COPY packages/dashboard/package.json packages/dashboard/
RUN bun install --frozen-lockfile --production --ignore-scripts

# The admin dashboard's static files (served at /admin), built with its dev dependencies here.
FROM oven/bun:1.4.5 AS dashboard
WORKDIR /app
COPY package.json bun.lock ./
COPY packages ./packages
RUN bun install --frozen-lockfile --ignore-scripts && bun run build

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
COPY --from=dashboard /app/packages/dashboard/dist ./packages/dashboard/dist
# The official image's unprivileged user (uid 1000).
USER bun
EXPOSE 3000
# Checks this container's API (/health, no dependencies). Worker containers serve no HTTP:
# compose turns the check off for them.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["bun", "scripts/healthcheck.ts"]
CMD ["bun", "run", "start:api"]
