import { expect, test } from 'vitest';
import { parseDockerSize, parsePruneOutput, parseSystemDf } from '../../src/steps/docker/docker-cli.js';
import { parseComposeServices, parseServiceImages } from '../../src/steps/docker/update-images.js';

test.each([
  ['0B', 0],
  ['27B', 27],
  ['22.67kB', 22670],
  ['2.131MB', 2131000],
  ['1.2GB (50%)', 1.2e9],
  ['576KiB', 589824],
  ['-2.131e+06B', undefined],
  ['N/A', undefined],
])('parseDockerSize(%j)', (text, bytes) => {
  expect(parseDockerSize(text)).toBe(bytes);
});

test('parsePruneOutput counts deletions, not untagged names, and sums the reclaimed space', () => {
  const images = 'Deleted Images:\nuntagged: localhost/old:1\ndeleted: sha256:d05a05fc5eed\ndeleted: sha256:4ee57e6ac3ad\n\nTotal reclaimed space: 22.67kB\n';
  expect(parsePruneOutput(images)).toEqual({ removed: ['sha256:d05a05fc5eed', 'sha256:4ee57e6ac3ad'], reclaimedBytes: 22670 });
  expect(parsePruneOutput('Deleted Networks:\nmw-unused\n\n')).toEqual({ removed: ['mw-unused'], reclaimedBytes: 0 });
  expect(parsePruneOutput('Total reclaimed space: 0B\n')).toEqual({ removed: [], reclaimedBytes: 0 });
});

test('parseSystemDf sums the sizes docker reports, ignoring the ones it cannot (Podman: a negative reclaimable)', () => {
  const text = [
    '{"Active":"1","Reclaimable":"-2.131e+06B","Size":"0B","TotalCount":"1","Type":"Images"}',
    '{"Active":"2","Reclaimable":"0B (0%)","Size":"27B","TotalCount":"2","Type":"Containers"}',
    '{"Active":"0","Reclaimable":"0B","Size":"1.5kB","TotalCount":"1","Type":"Local Volumes"}',
  ].join('\n');
  const parsed = parseSystemDf(text);
  expect(parsed.totalBytes).toBe(1527);
  expect(parsed.rows[0]).toEqual({ type: 'Images', totalCount: 1, active: 1, sizeBytes: 0, reclaimableBytes: undefined });
});

test('parseServiceImages keeps one image per service, a running container first', () => {
  const text = [
    'api\tsha256:aaa\tlocalhost/app:latest\tfalse',
    'api\tsha256:bbb\tlocalhost/app:latest\ttrue',
    'worker\tsha256:ccc\tlocalhost/worker:1\tfalse',
    '\tsha256:ddd\tnot-compose\ttrue',
  ].join('\n');
  expect(parseServiceImages(text)).toEqual([
    { service: 'api', imageId: 'sha256:bbb', ref: 'localhost/app:latest', running: true },
    { service: 'worker', imageId: 'sha256:ccc', ref: 'localhost/worker:1', running: false },
  ]);
});

test('parseComposeServices tells pulled images from built ones', () => {
  const yaml =
    'services:\n  api:\n    image: localhost/app:latest\n  web:\n    build:\n      context: .\n    image: registry/web:2\n  db:\n    image: postgres:15\nversion: "2.4"\n';
  expect(parseComposeServices(yaml)).toEqual([
    { service: 'api', image: 'localhost/app:latest', build: false },
    { service: 'web', image: 'registry/web:2', build: true },
    { service: 'db', image: 'postgres:15', build: false },
  ]);
});
