import { SshTarget } from './src/remote/ssh-target.ts';
import { startSandbox } from './tests/sandbox/sandbox.ts';
const sb = await startSandbox({ app: false });
const t = new SshTarget({ host: sb.ssh.host, port: sb.ssh.port, username: sb.ssh.username, privateKey: sb.ssh.privateKey, connectTimeoutMs: 5000, hostKeys: { strict: true, knownHosts: sb.ssh.knownHosts, warn: console.log } });
try {
  await t.exec('true');
  const t0 = Date.now();
  const r = await t.exec('sleep 300', { timeoutMs: 500 });
  console.log(r.signal, Date.now() - t0);
} finally { await t.close(); await sb.stop(); }
