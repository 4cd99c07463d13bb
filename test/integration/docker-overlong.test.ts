/**
 * Docker events the collector cannot read must not freeze a container's state: a container with
 * a 1.1 MB label makes every one of its event lines longer than the 1 MB line cap. The lines are
 * dropped, and each drop forces a resync from a list, so start, kill and rm are still reflected
 * (before, a killed container stayed running/up and a removed one stayed as a ghost).
 * A real dockerd started by the harness.
 */
import http from 'node:http';
import { IMAGE } from '../harness/dockerd';
import { DockerRig, containerState as stateOf } from '../harness/docker-rig';
import { waitFor } from '../harness/wait';

jest.setTimeout(120_000);

let rig: DockerRig;

beforeAll(async () => {
  rig = await DockerRig.start();
}, 120_000);

afterAll(() => rig?.stop(), 60_000);

/** POST /containers/create with a body the docker CLI cannot send (its label files cap lines at 64 KiB). */
function createWithHugeLabel(name: string, labelBytes: number): Promise<void> {
  const body = JSON.stringify({ Image: IMAGE, Cmd: ['sleep', '1000'], Labels: { 'test.huge': 'x'.repeat(labelBytes) }, HostConfig: { NetworkMode: 'none' } });
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: rig.d.socket, method: 'POST', path: `/containers/create?name=${name}`, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`create answered ${res.statusCode}: ${text.slice(0, 300)}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('start, kill and rm of a container whose event lines exceed 1 MB are reflected through resyncs', async () => {
  await waitFor('events stream open', async () => (await rig.exp.scrape()).get('stackwatch_docker_events_stream_up') === 1, 20_000);
  await createWithHugeLabel('huge', 1100 * 1024);
  await rig.d.ok(['start', 'huge']);
  const m = await waitFor('huge running and up', async () => {
    const s = await rig.exp.scrape();
    return stateOf(s, 'huge') === 'running' && s.get('stackwatch_target_up', { kind: 'container', target: 'huge' }) === 1 ? s : undefined;
  }, 30_000, 200);
  expect(m.get('stackwatch_docker_event_errors_total')).toBeGreaterThanOrEqual(1);

  await rig.d.ok(['kill', 'huge']);
  await waitFor('huge exited and down', async () => {
    const s = await rig.exp.scrape();
    return stateOf(s, 'huge') === 'exited' && s.get('stackwatch_target_up', { kind: 'container', target: 'huge' }) === 0;
  }, 30_000, 200);

  await rig.d.ok(['rm', 'huge']);
  await waitFor('huge gone from the output', async () => {
    const s = await rig.exp.scrape();
    return s.all('stackwatch_container_state', { container: 'huge' }).length === 0 && s.get('stackwatch_target_up', { kind: 'container', target: 'huge' }) === undefined;
  }, 30_000, 200);
  // The stream came back after each resync.
  await waitFor('events stream open again', async () => (await rig.exp.scrape()).get('stackwatch_docker_events_stream_up') === 1, 20_000);
});
