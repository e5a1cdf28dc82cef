// Types for `cloudflare:workers` in the worker tests: the worker's bindings and its main module.
import type { Bindings } from "../../edge/env.ts";

declare global {
  namespace Cloudflare {
    interface Env extends Bindings {}
    interface GlobalProps {
      mainModule: typeof import("../../edge/index.ts");
    }
  }
}
