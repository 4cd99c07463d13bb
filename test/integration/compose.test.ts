/**
 * The compose bundle checked by the real tools: Debian's docker-compose accepts the file (with
 * and without the demo profile), and the Prometheus and Alertmanager configs it mounts pass
 * promtool / amtool. Nothing is started; no daemon is needed.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { requireBinary } from '../harness/require-binary';

jest.setTimeout(60_000);

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');

async function tool(bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(bin, args, { cwd: root, timeout: 30_000, env: { ...process.env, GRAFANA_ADMIN_PASSWORD: 'test-only' } });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: err });
  }
}

describe('docker-compose config', () => {
  const compose = requireBinary('docker-compose', 'apt-get install -y docker-compose');

  it('accepts docker-compose.yml; only the demo services carry the demo profile', async () => {
    await tool(compose, ['-f', 'docker-compose.yml', 'config', '-q']);
    // docker-compose 1.29 lists every service in `config`, with its profiles; `up` without
    // --profile starts only the services that have none.
    const { stdout } = await tool(compose, ['-f', 'docker-compose.yml', 'config']);
    const resolved = YAML.parse(stdout) as { services: Record<string, { profiles?: string[] }> };
    const byProfile = Object.entries(resolved.services).map(([n, s]) => [n, (s.profiles ?? []).join(',')]).sort();
    expect(byProfile).toEqual([
      ['alert-webhook', 'demo'], ['alertmanager', ''], ['demo-backend', 'demo'], ['demo-traffic', 'demo'], ['docker-socket-proxy', ''],
      ['grafana', ''], ['mosquitto', ''], ['prometheus', ''], ['proxy', 'demo'], ['stackwatch', ''],
    ]);
  });

  it('accepts it with --profile demo, which adds the demo backend and the alert webhook', async () => {
    const { stdout } = await tool(compose, ['-f', 'docker-compose.yml', '--profile', 'demo', 'config']);
    const resolved = YAML.parse(stdout) as { services: Record<string, { environment?: Record<string, string> }> };
    expect(Object.keys(resolved.services).sort()).toEqual(
      ['alert-webhook', 'alertmanager', 'demo-backend', 'demo-traffic', 'docker-socket-proxy', 'grafana', 'mosquitto', 'prometheus', 'proxy', 'stackwatch'],
    );
    // Variables are resolved (defaults or the environment), none left empty.
    expect(resolved.services.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD).toBe('test-only');
    expect(resolved.services['demo-backend']!.environment!.DEMO_CRASH_AFTER).toBe('25m');
  });
});

describe('configs the compose file mounts', () => {
  it('prometheus/prometheus.yml (with its rule and alert files) passes promtool check config', async () => {
    const promtool = requireBinary('promtool', 'apt-get install -y prometheus');
    const { stdout, stderr } = await tool(promtool, ['check', 'config', 'prometheus/prometheus.yml']);
    const out = stdout + stderr;
    expect(out).toMatch(/SUCCESS: prometheus\/prometheus.yml is valid/);
    // The rule files were found and checked too (globs relative to the config, as in the container).
    const found = /SUCCESS: (\d+) rule files found/.exec(out);
    expect(found).not.toBeNull();
    expect(Number(found![1])).toBeGreaterThan(0);
  });

  it('prometheus/alertmanager/alertmanager.yml passes amtool check-config', async () => {
    const amtool = requireBinary('amtool', 'apt-get install -y prometheus-alertmanager');
    const { stdout } = await tool(amtool, ['check-config', 'prometheus/alertmanager/alertmanager.yml']);
    expect(stdout).toMatch(/SUCCESS/);
  });

  it('examples/compose/stackwatch.yml passes stackwatch --check-config', async () => {
    // Through the CLI as a user runs it (ts-node keeps this independent of a stale dist/).
    const { stdout, stderr } = await tool(process.execPath, [
      '-r', 'ts-node/register/transpile-only', 'src/main.ts', '--check-config', '--config', 'examples/compose/stackwatch.yml',
    ]);
    expect(stdout + stderr).toMatch(/configuration is valid/);
  });
});
