import { healthFromListStatus } from '../../src/collectors/docker';

describe('health from the container list\'s Status text', () => {
  it.each([
    ['Up 5 seconds (healthy)', 'healthy'],
    ['Up 2 minutes (unhealthy)', 'unhealthy'],
    ['Up 1 second (health: starting)', 'starting'],
    ['Up 3 hours', 'none'],
    ['Exited (3) 2 seconds ago', 'none'],
    [undefined, 'none'],
  ])('%s -> %s', (status, health) => {
    expect(healthFromListStatus(status)).toBe(health);
  });
});
