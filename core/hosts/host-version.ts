/**
 * A version a host reports: the execution input's pattern (config/deployment-input.ts), since it is what a rollback
 * puts back into the rollback command's `{{version}}`.
 */
const HOST_VERSION = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

export function isHostVersion(text: string): boolean {
  return HOST_VERSION.test(text);
}
