// etcd-ts's own version, and the etcd API version it speaks (what clients see in
// Status, /version and `etcdctl endpoint status`).
export const ETCD_TS_VERSION = '0.1.0';
export const ETCD_API_VERSION = '3.4.0';
export const ETCD_CLUSTER_VERSION = '3.4.0';
