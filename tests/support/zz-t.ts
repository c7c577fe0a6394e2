import { hostFactsScript } from '../../src/report/host-facts-script.js';
import { parseConfig } from '../../src/settings/load-config.js';
process.stdout.write(hostFactsScript(parseConfig('', 'x')));
