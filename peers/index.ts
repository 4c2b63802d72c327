// Real protocol peers that tests and benchmarks run against, started from
// Debian's packages: librdkafka's mock Kafka cluster (kcat) and a ClickHouse
// server. Not part of meshlens itself; any folder's tests may use them.
export { startKafkaMock, type KafkaMock } from './kafka-mock.ts';
export { startTestClickHouseServer, CLICKHOUSE_SERVER_BIN, type TestClickHouseServer, type TestClickHouseServerOptions } from './clickhouse-server.ts';
