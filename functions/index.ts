// The Function App's entry module (package.json "main"): telemetry first, then every function, each
// of which registers itself with `app`.
import "./telemetry.js";
import "./onResourceEvent.js";
import "./sweep.js";
import "./cleanup.js";
import "./health.js";
import "./identities.js";
import "./report.js";
