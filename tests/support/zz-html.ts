import { writeFileSync } from 'node:fs';
import { renderHtml } from '../../src/report/html.js';
import * as f from './report-fixtures.js';
const which = process.argv[2] as 'successResult';
writeFileSync(`/tmp/mwx/${which}.html`, renderHtml((f as any)[which](), { history: f.fixtureHistory(), generatedAt: new Date('2026-11-29T02:42:00Z') }));
