import net from 'node:net';
import { freePort } from '../free-port';

export { freePort };

/** Whether something already listens on the port. */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The preferred port if free, else any free one. */
export async function preferredPort(preferred: number): Promise<number> {
  return (await portInUse(preferred)) ? freePort() : preferred;
}
