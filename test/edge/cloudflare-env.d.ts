// Types for `cloudflare:workers` in the worker tests: the worker's bindings and its main module.
import type { Bindings } from "../../edge/env.ts";

declare global {
  namespace Cloudflare {
    interface Env extends Bindings {
      /** Test only: a loopback port that accepts connections and never answers. */
      TEST_BLACKHOLE_PORT: string;
      /** Test only: fault proxies in front of Postgres and Redis (see test/global-setup.ts). */
      TEST_FAULT_CONTROL_URL: string;
      TEST_FAULT_DATABASE_URL: string;
      TEST_FAULT_UPSTASH_URL: string;
    }
    interface GlobalProps {
      mainModule: typeof import("../../edge/index.ts");
    }
  }
}
