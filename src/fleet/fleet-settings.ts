import type { HostEndpoint } from '../settings/settings.js';

/** One host of an inventory: where it is, the name it goes by in ids, paths and reports, and its line. */
export interface FleetHost {
  endpoint: HostEndpoint;
  /** Unique in the inventory; part of the host's window id, report dir and (with `{host}`) state dir. */
  label: string;
  /** 1-based line of the `hosts` input or the inventory file. */
  line: number;
}

/** A count of hosts, or a percentage of this job's hosts. */
export type Limit = { kind: 'count'; value: number } | { kind: 'percent'; value: number };

/** Shard `index` (1-based) of `count`: this job's contiguous part of the inventory. */
export interface Shard {
  index: number;
  count: number;
}

/** A window across many hosts in one run: what `hosts` / `inventory` and their companion inputs asked for. */
export interface FleetSettings {
  /** Where the hosts came from, for messages: "the hosts input" or the inventory file. */
  source: string;
  /** Hosts in the whole inventory, before sharding. */
  inventorySize: number;
  /** This job's hosts (its shard), in inventory order. */
  hosts: FleetHost[];
  /** Hosts in flight at once. */
  maxConcurrency: Limit;
  /** Failed hosts tolerated; one more and no new host starts. */
  maxErrors: Limit;
  shard?: Shard;
}
