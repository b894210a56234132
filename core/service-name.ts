/** The Powertools service name of every function: their logs, traces and metrics carry it. */
export const SERVICE_NAME = 'deploy-runbook';
