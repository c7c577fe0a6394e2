import { renderSummary } from '../../src/report/markdown.js';
import * as f from '../../tests/support/report-fixtures.js';
const which = process.argv[2] as 'successResult';
console.log(renderSummary((f as any)[which]()));
