// Real protocol peers that tests and benchmarks run against, started from
// Debian's packages: librdkafka's mock Kafka cluster (kcat), a ClickHouse
// server, ZooKeeper, and a sharded, replicated ClickHouse cluster on those
// two. Not part of meshlens itself; any folder's tests may use them.
export { startKafkaMock, type KafkaMock } from './kafka-mock.ts';
export { startTestClickHouseServer, freePort, CLICKHOUSE_SERVER_BIN, type TestClickHouseServer, type TestClickHouseServerOptions } from './clickhouse-server.ts';
export { startTestZooKeeper, ZOOKEEPER_JAR, type TestZooKeeper } from './zookeeper.ts';
export {
  startTestClickHouseCluster, clickhouseQuery, type ClusterNode, type TestClickHouseCluster, type TestClickHouseClusterOptions,
} from './clickhouse-cluster.ts';
