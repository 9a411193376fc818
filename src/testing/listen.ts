import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A test server listening on loopback: where to reach it, and how to stop it at once. */
export interface Listening {
  readonly url: string;
  readonly port: number;
  /** Stops the server, destroying open connections: a keep-alive client must not hold a test's teardown. */
  readonly close: () => Promise<void>;
}

/**
 * Starts `server` on `host:port` (default 127.0.0.1, an ephemeral port) and
 * tracks its sockets so `close` ends them; shared by the fake API, the
 * cassette server and the recording proxy.
 */
export async function listen(server: Server, options: { readonly port?: number | undefined; readonly host?: string | undefined }): Promise<Listening> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
