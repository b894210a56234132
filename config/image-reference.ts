/**
 * Image references as Docker reads them, without a validation library: the functions that check where an
 * image comes from (ValidateInput, Preflight) share this, and only ValidateInput bundles zod.
 */

const REPOSITORY = String.raw`(?:[a-z0-9]+(?:[.-][a-z0-9]+)*(?::\d{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*`;

/** `registry[:port]/path`: an image reference without its tag or digest. */
export const IMAGE_REPOSITORY = new RegExp(`^${REPOSITORY}$`);

/** `registry[:port]/path[:tag][@sha256:digest]`, as Docker accepts it. */
export const IMAGE_REFERENCE = new RegExp(String.raw`^${REPOSITORY}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`);

/** The tag of an image reference (`repo:v1.4.2`, `repo:v1.4.2@sha256:…`), or null for one without (`repo@sha256:…`, `registry:5000/repo`). */
export function imageTag(image: string): string | null {
  const name = image.split('@')[0];
  const last = name.slice(name.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return colon === -1 || colon === last.length - 1 ? null : last.slice(colon + 1);
}

/** Where an image comes from, as the registry resolves it: Docker Hub defaults filled in, the host lower-cased. */
export interface ImageRepository {
  /** `123456789012.dkr.ecr.eu-west-1.amazonaws.com`, `docker.io`, `registry.example.com:5000`. */
  readonly registry: string;
  /** `shop-api`, `library/nginx`, `team/shop-api`. */
  readonly path: string;
}

/**
 * The repository of an image reference (`repo[:tag][@digest]`) or of a bare repository, resolved the way Docker
 * does: the first component is a registry only when it holds a `.` or a `:`, or is `localhost`; otherwise the
 * image is on Docker Hub, whose one-component names live under `library/`. Null when the text is not one.
 */
export function imageRepositoryOf(reference: string): ImageRepository | null {
  if (!IMAGE_REFERENCE.test(reference)) return null;
  const withoutDigest = reference.split('@')[0];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', slash + 1);
  const name = colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
  const [first, ...rest] = name.split('/');
  const hasRegistry = rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first.toLowerCase() : 'docker.io';
  const parts = hasRegistry ? rest : [first, ...rest];
  const path = registry === 'docker.io' && parts.length === 1 ? `library/${parts[0]}` : parts.join('/');
  return { registry: registry === 'index.docker.io' || registry === 'registry-1.docker.io' ? 'docker.io' : registry, path };
}

/** True when both references resolve to the same registry and repository. */
export function sameImageRepository(a: string, b: string): boolean {
  const left = imageRepositoryOf(a);
  const right = imageRepositoryOf(b);
  return left !== null && right !== null && left.registry === right.registry && left.path === right.path;
}
