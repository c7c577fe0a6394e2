import { randomUUID } from 'node:crypto';
import { quote } from '../remote/shell.js';
import type { Target } from '../remote/target.js';

export interface LockOwner {
  token: string;
  windowId: string;
  repository: string;
  runId: string;
  runAttempt: number;
  startedAt: string;
  /** Epoch seconds by the host's clock. */
  expiresAt: number;
}

export class LockHeldError extends Error {
  constructor(
    readonly host: string,
    readonly owner: LockOwner | undefined,
  ) {
    const who = owner
      ? `window ${owner.windowId} of ${owner.repository} run ${owner.runId} (attempt ${owner.runAttempt}), started ${owner.startedAt}, lock expires ${new Date(owner.expiresAt * 1000).toISOString()}`
      : 'an unreadable owner';
    super(`another maintenance window holds the lock on ${host}: ${who}`);
    this.name = 'LockHeldError';
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    return JSON.parse(text) as LockOwner;
  } catch {
    return undefined;
  }
}

/** One window per host: a lock file created atomically (hard link), owner and expiry inside, judged by the host's clock. */
export class HostLock {
  readonly token = randomUUID();
  private held = false;

  constructor(
    private readonly target: Target,
    private readonly stateDir: string,
    private readonly owner: Omit<LockOwner, 'token' | 'expiresAt'>,
    private readonly log: (message: string) => void,
  ) {}

  private get path(): string {
    return `${this.stateDir}/lock`;
  }

  private ownerJson(ttlSeconds: number): string {
    // expiresAt is filled in by the host so that its own clock decides.
    const body = JSON.stringify({ ...this.owner, token: this.token });
    return `printf '%s' ${quote(body.slice(0, -1))}',"expiresAt":'$(( $(date +%s) + ${Math.ceil(ttlSeconds)} ))'}'`;
  }

  /** Takes the lock, or takes over an expired one (or one left by an earlier attempt of this same window). */
  async acquire(ttlSeconds: number): Promise<{ tookOver?: LockOwner }> {
    const lock = quote(this.path);
    const script = [
      `mkdir -p ${quote(this.stateDir)} && chmod 700 ${quote(this.stateDir)} || exit 9`,
      `tmp=${lock}.new.$$`,
      `${this.ownerJson(ttlSeconds)} > "$tmp" || exit 9`,
      `if ln "$tmp" ${lock} 2>/dev/null; then rm -f "$tmp"; echo ACQUIRED; exit 0; fi`,
      `rm -f "$tmp"; echo "HELD $(date +%s)"; cat ${lock} 2>/dev/null; exit 3`,
    ].join('\n');
    const result = await this.target.exec(script);
    if (result.code === 0) {
      this.held = true;
      return {};
    }
    if (result.code !== 3)
      throw new Error(`cannot create the lock ${this.path} on ${this.target.description}: ${result.stderr.trim() || `exit ${result.code}`}`);
    const [head, ...rest] = result.stdout.split('\n');
    const hostNow = Number(head.split(' ')[1]);
    const current = rest.join('\n');
    const owner = parseOwner(current);
    const sameWindow = owner && owner.windowId === this.owner.windowId && owner.repository === this.owner.repository && owner.runId === this.owner.runId;
    const expired = owner ? owner.expiresAt < hostNow : false;
    if (!sameWindow && !expired) throw new LockHeldError(this.target.description, owner);
    await this.takeOver(current, ttlSeconds, owner);
    this.log(
      sameWindow
        ? `took over the lock left by attempt ${owner!.runAttempt} of this window (it did not finish)`
        : `took over an expired lock of window ${owner?.windowId} (expired ${owner ? new Date(owner.expiresAt * 1000).toISOString() : '?'})`,
    );
    return { tookOver: owner };
  }

  private async takeOver(expected: string, ttlSeconds: number, owner: LockOwner | undefined): Promise<void> {
    const lock = quote(this.path);
    const mutex = quote(`${this.path}.takeover`);
    // The mutex dir makes takeover exclusive: of two windows taking over one expired lock, one wins.
    const script = [
      `find ${mutex} -maxdepth 0 -mmin +1 -exec rmdir {} \\; 2>/dev/null`,
      `mkdir ${mutex} 2>/dev/null || exit 3`,
      `trap 'rmdir ${mutex}' EXIT`,
      `current=$(cat ${lock} 2>/dev/null)`,
      `[ "$current" = ${quote(expected)} ] || exit 3`,
      `tmp=${lock}.new.$$`,
      `${this.ownerJson(ttlSeconds)} > "$tmp" && mv -f "$tmp" ${lock}`,
    ].join('\n');
    const result = await this.target.exec(script);
    if (result.code !== 0) throw new LockHeldError(this.target.description, owner);
    this.held = true;
  }

  /** Extends the expiry; fails if someone else holds the lock now. */
  async refresh(ttlSeconds: number): Promise<void> {
    const lock = quote(this.path);
    const script = [
      `grep -q ${quote(`"token":"${this.token}"`)} ${lock} || exit 3`,
      `tmp=${lock}.new.$$`,
      `${this.ownerJson(ttlSeconds)} > "$tmp" && mv -f "$tmp" ${lock}`,
    ].join('\n');
    const result = await this.target.exec(script);
    if (result.code === 3) throw new Error(`the lock on ${this.target.description} was taken by someone else while this window ran`);
    if (result.code !== 0) throw new Error(`cannot refresh the lock on ${this.target.description}: ${result.stderr.trim()}`);
  }

  async release(): Promise<void> {
    if (!this.held) return;
    const lock = quote(this.path);
    await this.target.exec(`grep -q ${quote(`"token":"${this.token}"`)} ${lock} && rm -f ${lock}; true`);
    this.held = false;
  }

  get isHeld(): boolean {
    return this.held;
  }
}

/** Removes a lock by token (the post step, when main died). */
export async function releaseLockByToken(target: Target, stateDir: string, token: string): Promise<boolean> {
  const lock = quote(`${stateDir}/lock`);
  const result = await target.exec(`grep -q ${quote(`"token":"${token}"`)} ${lock} && rm -f ${lock}`);
  return result.code === 0;
}
