/**
 * What a configuration may name before a rehearsal knows it, filled in once the rehearsal runs
 * (local/rehearsal/rehearsal-config.ts); on AWS they mean nothing, and config/kinds.ts refuses them there.
 */

/** In a `prometheus` metric's url, `http://{{prometheus.address}}`: the Prometheus the rehearsal starts, `127.0.0.1:<port>`. */
export const PROMETHEUS_ADDRESS = '{{prometheus.address}}';

/** In a `log-file` path or a target's env value, `{{workdir}}/app.log`: the rehearsal's own directory (`--workdir`). */
export const WORKDIR = '{{workdir}}';
