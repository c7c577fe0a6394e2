import { mkdir, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Target } from '../remote/target.js';
import type { Journal } from './journal.js';
import { maskValue, secretForms } from '../report/secret-mask.js';

/** The journal lives on the host (the checkpoint) and in the local report dir (so nothing is lost if the host goes away). */
export class JournalStore {
  private readonly secretForms: string[];

  constructor(
    private readonly target: Target,
    private readonly stateDir: string,
    private readonly windowId: string,
    private readonly localDir: string,
    secrets: readonly string[],
  ) {
    this.secretForms = secretForms(secrets);
  }

  get remotePath(): string {
    return `${this.stateDir}/windows/${this.windowId}.json`;
  }

  async load(): Promise<Journal | undefined> {
    const text = await this.target.readFile(this.remotePath);
    if (text === undefined || text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as Journal;
    } catch {
      throw new Error(`the journal ${this.remotePath} on ${this.target.description} is not valid JSON; move it away to start this window over`);
    }
  }

  /** Writes both copies; a failing host write is retried once, then raised (the local copy is written first). */
  async save(journal: Journal): Promise<void> {
    journal.updatedAt = new Date().toISOString();
    const text = JSON.stringify(maskValue(journal, this.secretForms), null, 2) + '\n';
    await this.saveLocal(text);
    try {
      await this.target.writeFileAtomic(this.remotePath, text, 0o600);
    } catch {
      await this.target.writeFileAtomic(this.remotePath, text, 0o600);
    }
  }

  async saveLocal(text: string): Promise<void> {
    await mkdir(this.localDir, { recursive: true });
    const file = path.join(this.localDir, 'window.json');
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
  }

  /** Measured step durations of earlier windows on this host, to judge what fits before the deadline. */
  async loadDurations(): Promise<Record<string, number>> {
    const text = await this.target.readFile(`${this.stateDir}/durations.json`).catch(() => undefined);
    try {
      return text ? (JSON.parse(text) as Record<string, number>) : {};
    } catch {
      return {};
    }
  }

  async saveDurations(durations: Record<string, number>): Promise<void> {
    await this.target.writeFileAtomic(`${this.stateDir}/durations.json`, JSON.stringify(durations) + '\n', 0o600);
  }
}
