import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imageRepositoryOf, imageTag, sameImageRepository } from '../../config/image-reference';

const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api';
const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('imageTag', () => {
  it.each([
    [`${REPO}:v1.4.2`, 'v1.4.2'],
    [`${REPO}:v1.4.2@sha256:${'a'.repeat(64)}`, 'v1.4.2'],
    [`${REPO}@sha256:${'b'.repeat(64)}`, null],
    ['registry.local:5000/team/app', null],
    ['registry.local:5000/team/app:2025.06.01', '2025.06.01'],
    ['nginx', null],
    ['nginx:1.27-alpine', '1.27-alpine'],
  ])('reads the tag of %s', (image, tag) => {
    expect(imageTag(image)).toBe(tag);
  });

  it('returns whatever tag follows a repository, with or without a registry port', () => {
    const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
    const repository = fc.constantFrom('app', 'team/app', 'registry.local:5000/team/app', REPO);
    fc.assert(fc.property(repository, tag, (repo, t) => imageTag(`${repo}:${t}`) === t));
  });
});

describe('imageRepositoryOf', () => {
  it.each([
    [`${REPO}:v1.4.2`, { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', path: 'shop-api' }],
    [`${REPO}@${DIGEST}`, { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', path: 'shop-api' }],
    ['registry.example.com:5000/team/app:v1', { registry: 'registry.example.com:5000', path: 'team/app' }],
    ['localhost/app:v1', { registry: 'localhost', path: 'app' }],
    ['nginx:1.27', { registry: 'docker.io', path: 'library/nginx' }],
    ['docker.io/library/nginx', { registry: 'docker.io', path: 'library/nginx' }],
    ['team/app:v1', { registry: 'docker.io', path: 'team/app' }],
  ])('resolves %s the way a registry does', (reference, repository) => {
    expect(imageRepositoryOf(reference)).toEqual(repository);
  });

  it('is null for what is not an image reference', () => {
    expect(imageRepositoryOf('not an image')).toBeNull();
    expect(imageRepositoryOf('HTTPS://evil.example.com/app')).toBeNull();
  });
});

describe('sameImageRepository', () => {
  it('compares where images come from, not how the reference is spelt', () => {
    expect(sameImageRepository('nginx:1.27', 'docker.io/library/nginx')).toBe(true);
    expect(sameImageRepository(`${REPO}:v2@${DIGEST}`, REPO)).toBe(true);
  });

  it.each([
    [`${REPO}-evil:v2`, 'a repository whose name only starts the same'],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example.com/shop-api:v2', 'another registry whose host only starts the same'],
    ['evil.example.com/123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api:v2', 'another registry holding the same path'],
    ['shop-api:v2', 'Docker Hub instead of ECR'],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-api:v2', 'the same repository name in another region'],
  ])('refuses %s: %s', (image) => {
    expect(sameImageRepository(image, REPO)).toBe(false);
  });

  it('never matches images of repositories with different paths', () => {
    const segment = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    fc.assert(fc.property(segment, segment, (a, b) => a === b || !sameImageRepository(`registry.example.com/${a}:v1`, `registry.example.com/${b}`)));
  });
});
