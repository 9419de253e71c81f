#!/bin/sh
# Apache Kafka for docker-compose.yml: one KRaft node (broker and controller) that admits only authenticated
# clients (SASL/SCRAM-SHA-512: the password never crosses the wire) and gives each only what its ACLs allow
# (StandardAuthorizer, deny by default). Principals: `admin` (the broker itself and the one-shot `topics` setup,
# deploy/kafka/setup.sh) and `videoflix-workers` (the stream workers: the pipeline's topics and group only).
# The web tier holds no Kafka credentials: it writes the outbox in PostgreSQL, and the workers' relay publishes it.
#
# The controller listener stays on the container's loopback (9093): its PLAINTEXT peer is the broker in this same
# process, the anonymous principal the authorizer must let act for the cluster; nothing else can reach it.
# Credentials are written into the metadata log when it is first formatted: to change a password later, use
# kafka-configs.sh --alter --add-config 'SCRAM-SHA-512=[password=...]' --entity-type users --entity-name NAME.
set -eu
# the passwords: compose secrets, files mounted into this container only (docker-compose.yml)
KAFKA_ADMIN_PASSWORD=$(cat /run/secrets/kafka_admin_password)
KAFKA_WORKER_PASSWORD=$(cat /run/secrets/kafka_worker_password)
: "${KAFKA_ADMIN_PASSWORD:?the kafka_admin_password secret is empty}" "${KAFKA_WORKER_PASSWORD:?the kafka_worker_password secret is empty}"

config=/tmp/server.properties
login="org.apache.kafka.common.security.scram.ScramLoginModule required"
cat > "$config" <<PROPERTIES
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@localhost:9093
listeners=SASL_PLAINTEXT://:9092,CONTROLLER://localhost:9093
advertised.listeners=SASL_PLAINTEXT://kafka:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
inter.broker.listener.name=SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=$login username="admin" password="$KAFKA_ADMIN_PASSWORD";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:ANONYMOUS
auto.create.topics.enable=false
num.partitions=16
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
log.dirs=/var/lib/kafka/data
PROPERTIES

# the admin's client settings, for the healthcheck (kafka-broker-api-versions.sh --command-config)
printf '%s\n' "security.protocol=SASL_PLAINTEXT" "sasl.mechanism=SCRAM-SHA-512" \
  "sasl.jaas.config=$login username=\"admin\" password=\"$KAFKA_ADMIN_PASSWORD\";" > /tmp/admin.properties

/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id EsbVjANIR120meAcNPdOcA --config "$config" \
  --add-scram "SCRAM-SHA-512=[name=admin,password=$KAFKA_ADMIN_PASSWORD]" \
  --add-scram "SCRAM-SHA-512=[name=videoflix-workers,password=$KAFKA_WORKER_PASSWORD]"
exec /opt/kafka/bin/kafka-server-start.sh "$config"
