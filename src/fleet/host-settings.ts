import path from 'node:path';
import type { MaintenanceConfig } from '../settings/config.js';
import type { Settings } from '../settings/settings.js';
import type { FleetHost } from './fleet-settings.js';

/** In the config's state-dir, replaced by the host's label: for hosts that share one filesystem (test rigs). */
export const HOST_PLACEHOLDER = '{host}';

/** Per host, so that each host's journal, and so its resume, is its own. */
export function hostWindowId(windowId: string, label: string): string {
  return `${windowId}-${label}`;
}

/** A fleet run's settings narrowed to one host: its target, window id and report dir `<report-dir>/<label>`. */
export function hostSettings(settings: Settings, host: FleetHost, reportDir: string): Settings {
  return {
    ...settings,
    target: host.endpoint,
    windowId: hostWindowId(settings.windowId, host.label),
    reportDir: path.join(reportDir, host.label),
    fleet: undefined,
  };
}

/**
 * The config for one host. The state dir (lock, journal, history) is the same path on every host, as in a
 * single-host run, so both kinds of run share one lock per host; only an explicit `{host}` makes it differ.
 */
export function hostConfig(config: MaintenanceConfig, label: string): MaintenanceConfig {
  return config.stateDir.includes(HOST_PLACEHOLDER) ? { ...config, stateDir: config.stateDir.split(HOST_PLACEHOLDER).join(label) } : config;
}
