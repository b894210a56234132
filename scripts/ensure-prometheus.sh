#!/usr/bin/env bash
# Makes sure the Prometheus the rehearsal starts is installed; `npm test` and `npm run rehearse` run this first.
# Present: nothing to do. Missing: root with apt-get installs the Debian package `prometheus` quietly;
# anyone else gets one line saying how, and the rest still runs (only what needs Prometheus fails, naming it).
# PROMETHEUS_BIN names the program as local/prometheus/binary.ts reads it (a name on PATH, or a path).
set -uo pipefail

program="${PROMETHEUS_BIN:-prometheus}"

found() {
  if [[ "$program" == */* ]]; then
    [[ -x "$program" ]]
  else
    # command -v also names a file it cannot execute, when nothing better is on PATH.
    local path
    path="$(command -v "$program" 2>/dev/null)" && [[ -x "$path" ]] || [[ -x "/usr/bin/$program" ]]
  fi
}

found && exit 0

instruction="deploy-runbook: Prometheus is not installed; the rehearsal and its tests need it: run \`sudo apt-get install prometheus\` (Debian/Ubuntu) or set PROMETHEUS_BIN to its path"
if [[ "$program" != "prometheus" ]]; then
  # The package installs /usr/bin/prometheus, which would not be the program asked for.
  echo "deploy-runbook: PROMETHEUS_BIN=$program is not an executable program; the rehearsal and its tests need Prometheus there (or unset PROMETHEUS_BIN)" >&2
  exit 0
fi
if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "$instruction" >&2
  exit 0
fi

log="$(mktemp "${TMPDIR:-/tmp}/deploy-runbook-apt-prometheus.XXXXXX")"
apt_install() {
  # Without recommends: node-exporter and friends are not needed. The package's own service (port 9090)
  # may start with it where an init system runs; nothing here uses that one.
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >>"$log" 2>&1
}

echo "deploy-runbook: installing Prometheus for the rehearsal (apt-get install prometheus, log: $log)" >&2
# A fresh machine (a CI container) may have no package lists yet, or stale ones: fetch them once, then try again.
apt_install || { DEBIAN_FRONTEND=noninteractive apt-get update >>"$log" 2>&1 && apt_install; }

if found; then
  rm -f "$log"
  exit 0
fi
echo "deploy-runbook: installing Prometheus failed; the end of $log:" >&2
tail -n 15 "$log" >&2
echo "$instruction" >&2
exit 0
