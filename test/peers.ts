// The real protocol peers the scaled-out tests run against: librdkafka's mock
// Kafka cluster (Debian kcat) and a ClickHouse server (Debian clickhouse-server).
export { startKafkaMock, type KafkaMock } from '../ingest/testing/kafka-mock.ts';
export { startTestClickHouseServer, type TestClickHouseServer } from '../ingest/testing/clickhouse-server.ts';
