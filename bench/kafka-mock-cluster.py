#!/usr/bin/env python3
# librdkafka's mock cluster (the one kcat starts for the tests, see
# ingest/testing/kafka-mock.ts) with topics created up front with as many
# partitions as asked: the mock has no CreateTopics and auto-creates
# topics with 4 partitions, and keeps only ~5 MB per partition, so the
# bench spreads its traffic over more. Debian's librdkafka, through ctypes.
#
#   kafka-mock-cluster.py BROKERS PARTITIONS TOPIC...
# prints "bootstrap.servers=host:port,..." and runs until stdin closes.
import ctypes, sys

lib = ctypes.CDLL('librdkafka.so.1')
lib.rd_kafka_conf_new.restype = ctypes.c_void_p
lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_new.restype = ctypes.c_void_p
lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
lib.rd_kafka_mock_topic_create.restype = ctypes.c_int
lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]

brokers, partitions, topics = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
err = ctypes.create_string_buffer(512)
rk = lib.rd_kafka_new(0, lib.rd_kafka_conf_new(), err, 512)  # a producer handle, only to own the cluster
if not rk:
    sys.exit(f'rd_kafka_new: {err.value.decode()}')
cluster = lib.rd_kafka_mock_cluster_new(rk, brokers)
if not cluster:
    sys.exit('rd_kafka_mock_cluster_new failed')
for t in topics:
    rc = lib.rd_kafka_mock_topic_create(cluster, t.encode(), partitions, min(3, brokers))
    if rc != 0:
        sys.exit(f'rd_kafka_mock_topic_create {t}: error {rc}')
print('bootstrap.servers=' + lib.rd_kafka_mock_cluster_bootstraps(cluster).decode(), flush=True)
sys.stdin.read()  # until the parent goes away
