#!/bin/sh
# One-shot setup of docker-compose.yml's Kafka, as its `admin`: the pipeline's topics, with as many partitions as
# the most workers you will run (a partition is consumed by one worker of the group at a time), and the ACLs of
# the workers' principal: the pipeline's topics (videos.*), Faust's own (videoflix-workers-*, its assignor's
# leader topic) and its consumer group, nothing else. Idempotent: it runs on every `docker compose up`.
set -eu
KAFKA_ADMIN_PASSWORD=$(cat /run/secrets/kafka_admin_password)  # a compose secret (docker-compose.yml)
: "${KAFKA_ADMIN_PASSWORD:?the kafka_admin_password secret is empty}"
bin=/opt/kafka/bin
client=/tmp/admin.properties
printf '%s\n' "security.protocol=SASL_PLAINTEXT" "sasl.mechanism=SCRAM-SHA-512" \
  "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$KAFKA_ADMIN_PASSWORD\";" \
  > "$client"

for topic in videos.uploaded videos.progress videos.processed videos.parts videos.ladder-parts videos.captions videos.dead-letter; do
  "$bin/kafka-topics.sh" --bootstrap-server kafka:9092 --command-config "$client" --create --if-not-exists \
    --topic "$topic" --partitions 16 --replication-factor 1
done

workers="--bootstrap-server kafka:9092 --command-config $client --add --allow-principal User:videoflix-workers"
# shellcheck disable=SC2086  # $workers is a list of arguments
"$bin/kafka-acls.sh" $workers --resource-pattern-type prefixed --topic videos. \
  --operation Read --operation Write --operation Describe --operation DescribeConfigs --operation Create
"$bin/kafka-acls.sh" $workers --resource-pattern-type prefixed --topic videoflix-workers- --operation All
"$bin/kafka-acls.sh" $workers --resource-pattern-type prefixed --group videoflix-workers --operation Read \
  --operation Describe
