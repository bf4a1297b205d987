// What a part of the server proposes: an InternalRaftRequest without the header
// and id, which EtcdServer.propose fills in. Its own module so that the parts
// that propose (the lease coordinator and expiry loop) need not import
// etcd-server.ts, which imports them.

import type { Encodable, InternalRaftRequest } from '../pb/types.js';

export type InternalRequestBody = Omit<Encodable<InternalRaftRequest>, 'header' | 'ID'>;
