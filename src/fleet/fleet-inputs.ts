import { readFileSync } from 'node:fs';
import { Inputs } from '../constants.js';
import { InputError } from '../errors.js';
import type { InputSource } from '../settings/input-source.js';
import { requirePath } from '../settings/validators.js';
import { resolveWorkspacePath } from '../workspace.js';
import type { FleetSettings } from './fleet-settings.js';
import { hostWindowId } from './host-settings.js';
import { parseInventory } from './inventory.js';
import { parseLimit } from './limits.js';
import { parseShard, selectShard } from './shard.js';

const WINDOW_ID_MAX = 128;

function readInventory(file: string): string {
  try {
    return readFileSync(resolveWorkspacePath(file), 'utf8');
  } catch (error) {
    throw new InputError(Inputs.inventory, file, `a readable file in the workspace is needed (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

/**
 * The fleet inputs (`hosts` or `inventory`, `max-concurrency`, `max-errors`, `shard`), or undefined for a
 * single-host run. Per-host values are validated as strictly as the `host` input.
 */
export function parseFleetInputs(source: InputSource, context: { username: string; port: number; windowId: string }): FleetSettings | undefined {
  const hostsText = source.get(Inputs.hosts);
  const inventoryFile = source.get(Inputs.inventory);
  const shardText = source.get(Inputs.shard);
  if (hostsText && inventoryFile)
    throw new InputError(Inputs.inventory, inventoryFile, 'give the hosts either inline (hosts) or in a file (inventory), not both');
  if (!hostsText && !inventoryFile) {
    if (shardText) throw new InputError(Inputs.shard, shardText, 'a shard needs hosts or an inventory to split');
    return undefined;
  }
  if (source.get(Inputs.host)) {
    throw new InputError(Inputs.host, source.get(Inputs.host), `host names one target; ${hostsText ? 'hosts' : 'inventory'} names a fleet: give one of them`);
  }
  const where = hostsText ? 'the hosts input' : `inventory ${requirePath(Inputs.inventory, inventoryFile)}`;
  const inventory = parseInventory(hostsText || readInventory(inventoryFile), where, { username: context.username, port: context.port });
  for (const host of inventory) {
    if (hostWindowId(context.windowId, host.label).length > WINDOW_ID_MAX) {
      throw new InputError(
        Inputs.windowId,
        context.windowId,
        `with host label ${host.label} (${where} line ${host.line}) the host's window id would pass ${WINDOW_ID_MAX} characters; shorten one`,
      );
    }
  }
  const shard = shardText ? parseShard(Inputs.shard, shardText) : undefined;
  return {
    source: where,
    inventorySize: inventory.length,
    hosts: selectShard(inventory, shard),
    maxConcurrency: parseLimit(Inputs.maxConcurrency, source.get(Inputs.maxConcurrency) || '1', 1),
    maxErrors: parseLimit(Inputs.maxErrors, source.get(Inputs.maxErrors) || '0', 0),
    shard,
  };
}
