import { quote } from '../../remote/shell.js';
import type { Finding } from '../step.js';
import { splitSections } from './probe-sections.js';

export const SSHD_CONFIG = '/etc/ssh/sshd_config';

/**
 * Prints sshd's effective settings (`sshd -T`, as root) or, failing that, the config file with the files its
 * Include lines name, each after an @@ header, for parseSshdProbe. The path is a parameter for tests only.
 */
export function sshdScript(configPath = SSHD_CONFIG): string {
  return `cfg=${quote(configPath)}
bin=$(command -v sshd 2>/dev/null || { [ -x /usr/sbin/sshd ] && echo /usr/sbin/sshd; })
if [ "$(id -u)" -eq 0 ] && [ -n "$bin" ] && out=$("$bin" -T -f "$cfg" 2>&1); then
  echo '@@sshd -T'; printf '%s\\n' "$out"
else
  if [ "$(id -u)" -ne 0 ]; then echo '@@sshd -T unavailable'; echo 'not root'
  elif [ -z "$bin" ]; then echo '@@sshd -T unavailable'; echo 'sshd is not installed'
  else echo '@@sshd -T unavailable'; printf '%s\\n' "$out" | tail -n 3; fi
  if [ -r "$cfg" ]; then
    echo "@@file $cfg"; cat "$cfg"
    for pattern in $(sed -n 's/^[[:space:]]*[Ii][Nn][Cc][Ll][Uu][Dd][Ee][[:space:]=]*//p' "$cfg"); do
      case "$pattern" in /*) ;; *) pattern="/etc/ssh/$pattern" ;; esac
      echo "@@pattern $pattern"
      for f in $pattern; do [ -r "$f" ] && { echo "@@include $f"; cat "$f"; }; done
    done
  else
    echo "@@unreadable $cfg"
  fi
fi`;
}

export interface SshdSettings {
  /** Where the settings come from. */
  source: string;
  /** Lower-case keyword → value, first one wins (as sshd reads them); defaults filled for what the checks need. */
  settings: Record<string, string>;
  /** Why sshd -T was not used, when it was not. */
  note?: string;
}

/** sshd's built-in defaults for the keywords the audit checks (OpenSSH 8/9). */
const DEFAULTS: Record<string, string> = {
  permitrootlogin: 'prohibit-password',
  passwordauthentication: 'yes',
  kbdinteractiveauthentication: 'yes',
  permitemptypasswords: 'no',
  usepam: 'no',
};

/** Keyword and value of a config line ("Key value", "Key=value"); undefined for blanks and comments. */
function keywordOf(line: string): [string, string] | undefined {
  const match = /^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*?)\s*$/.exec(line);
  if (!match || line.trimStart().startsWith('#')) return undefined;
  return [match[1]!.toLowerCase(), match[2]!.replace(/^"(.*)"$/, '$1')];
}

/**
 * The global settings of an sshd_config: the first value of each keyword wins; Include lines are replaced by the
 * files they name (in the order given); a Match block ends the global part (of an included file: until its end).
 */
export function parseSshdConfigText(main: string, includes: { pattern: string; files: { path: string; text: string }[] }[]): Record<string, string> {
  const settings: Record<string, string> = {};
  const queue = [...includes];
  const read = (text: string, included: boolean) => {
    for (const line of text.split('\n')) {
      const entry = keywordOf(line);
      if (!entry) continue;
      const [keyword, value] = entry;
      if (keyword === 'match') return included ? undefined : 'stop';
      if (keyword === 'include') {
        const patterns = value.split(/\s+/).filter(Boolean).length;
        for (let count = 0; count < patterns; count++) for (const file of queue.shift()?.files ?? []) read(file.text, true);
        continue;
      }
      settings[keyword] ??= value;
    }
    return undefined;
  };
  read(main, false);
  return settings;
}

/** Reads sshdScript's output. */
export function parseSshdProbe(stdout: string): SshdSettings | { unreadable: string; note: string } {
  const sections = splitSections(stdout);
  const effective = sections.find((entry) => entry.header === 'sshd -T');
  if (effective) {
    const settings: Record<string, string> = {};
    for (const line of effective.body.split('\n')) {
      const [keyword, ...value] = line.trim().split(/\s+/);
      if (keyword) settings[keyword.toLowerCase()] ??= value.join(' ');
    }
    return { source: 'sshd -T', settings: { ...DEFAULTS, ...settings } };
  }
  const note = `sshd -T not used: ${sections.find((entry) => entry.header === 'sshd -T unavailable')?.body.trim() || 'no output'}`;
  const unreadable = sections.find((entry) => entry.header.startsWith('unreadable '));
  if (unreadable) return { unreadable: unreadable.header.slice('unreadable '.length), note };
  const file = sections.find((entry) => entry.header.startsWith('file '));
  const includes: { pattern: string; files: { path: string; text: string }[] }[] = [];
  for (const entry of sections) {
    if (entry.header.startsWith('pattern ')) includes.push({ pattern: entry.header.slice('pattern '.length), files: [] });
    if (entry.header.startsWith('include ')) includes.at(-1)?.files.push({ path: entry.header.slice('include '.length), text: entry.body });
  }
  const path = file?.header.slice('file '.length) ?? SSHD_CONFIG;
  return { source: path, settings: { ...DEFAULTS, ...parseSshdConfigText(file?.body ?? '', includes) }, note };
}

/** Root login with a password is critical; root login by key, password logins in general, are warnings. */
export function sshdFindings(sshd: SshdSettings): Finding[] {
  const { settings, source } = sshd;
  const findings: Finding[] = [];
  const passwords = settings.passwordauthentication === 'yes' || (settings.kbdinteractiveauthentication === 'yes' && settings.usepam === 'yes');
  const how = `${settings.passwordauthentication === 'yes' ? 'PasswordAuthentication yes' : 'KbdInteractiveAuthentication yes with UsePAM yes'}`;
  const evidence = (keys: string[]) => `${source}: ${keys.map((key) => `${key} ${settings[key]}`).join(', ')}`;
  const reload = 'then check with `sshd -t` and reload sshd (systemctl reload ssh), keeping this session open until a new key login works';
  if (settings.permitemptypasswords === 'yes') {
    findings.push({
      severity: 'critical',
      title: 'sshd accepts empty passwords',
      evidence: evidence(['permitemptypasswords']),
      action: `Set PermitEmptyPasswords no, ${reload}.`,
    });
  }
  if (settings.permitrootlogin === 'yes') {
    findings.push(
      passwords
        ? {
            severity: 'critical',
            title: 'root can log in over SSH with a password',
            evidence: `${evidence(['permitrootlogin', 'passwordauthentication', 'kbdinteractiveauthentication', 'usepam'])} (${how})`,
            action: `Set PermitRootLogin prohibit-password (or no) and PasswordAuthentication no, ${reload}.`,
          }
        : {
            severity: 'warning',
            title: 'root can log in over SSH',
            evidence: evidence(['permitrootlogin']),
            action: `Set PermitRootLogin prohibit-password (keys only) or no, ${reload}.`,
          },
    );
  }
  if (passwords && !(settings.permitrootlogin === 'yes')) {
    findings.push({
      severity: 'warning',
      title: 'sshd accepts password logins',
      evidence: `${evidence(['passwordauthentication', 'kbdinteractiveauthentication', 'usepam'])} (${how})`,
      action: `Set PasswordAuthentication no and KbdInteractiveAuthentication no (a drop-in in /etc/ssh/sshd_config.d/ read first wins over later lines), ${reload}.`,
    });
  }
  return findings;
}
