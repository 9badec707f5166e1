// A loopback port nobody listens on, for a server a test starts on a port of its choosing.
import net from 'node:net';

/** A port of 127.0.0.1 that was free a moment ago: the system's pick for a listener closed at once. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
