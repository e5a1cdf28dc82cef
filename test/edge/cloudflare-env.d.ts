// Types for `cloudflare:workers` in the worker tests: the worker's bindings and its main module.
import type { Bindings } from "../../edge/env.ts";

declare global {
  namespace Cloudflare {
    interface Env extends Bindings {
      /** Test only: a loopback port that accepts connections and never answers. */
      TEST_BLACKHOLE_PORT: string;
    }
    interface GlobalProps {
      mainModule: typeof import("../../edge/index.ts");
    }
  }
}
