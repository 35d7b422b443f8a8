import { config } from "../src/config";

/** The image's HEALTHCHECK: exit 0 when this container's API answers /health within 2 s. */
const res = await fetch(`http://127.0.0.1:${config.PORT}/health`, { signal: AbortSignal.timeout(2_000) }).catch(
  () => undefined,
);
process.exit(res?.ok ? 0 : 1);
