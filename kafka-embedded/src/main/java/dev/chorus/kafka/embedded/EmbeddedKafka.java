package dev.chorus.kafka.embedded;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A real single-node Kafka (KRaft: broker and controller in one), in this process, on free ports,
 * for tests and the local run. The data directory survives a restart, topics and offsets included,
 * so a second start on the same directory sees the same log.
 */
public final class EmbeddedKafka implements AutoCloseable {
    private static final String HOST = "127.0.0.1";

    private final KafkaRaftServer server;
    private final String bootstrapServers;

    private EmbeddedKafka(KafkaRaftServer server, String bootstrapServers) {
        this.server = server;
        this.bootstrapServers = bootstrapServers;
    }

    /** Formats {@code dataDir} on first use, then starts the broker on a free port; returns once it accepts clients. */
    public static EmbeddedKafka start(Path dataDir) {
        return start(dataDir, 0);
    }

    /** As {@link #start(Path)}, on {@code port} (0: any free one). */
    public static EmbeddedKafka start(Path dataDir, int clientPort) {
        return start(dataDir, clientPort, null);
    }

    /**
     * As {@link #start(Path)}, but clients must authenticate (SASL PLAIN as {@code user}/{@code password}, over
     * plaintext): {@link #bootstrapServers()} is that listener; the brokers' own traffic stays on another.
     */
    public static EmbeddedKafka startAuthenticated(Path dataDir, String user, String password) {
        return start(dataDir, 0, new String[] {user, password});
    }

    private static EmbeddedKafka start(Path dataDir, int clientPort, String[] login) {
        int port = clientPort == 0 ? freePort() : clientPort;
        int controllerPort = freePort();
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the Kafka data directory " + dataDir, e);
        }
        Properties props = brokerProperties(dataDir, port, controllerPort);
        if (login != null) {
            authenticated(props, port, freePort(), login[0], login[1]);
        }
        KafkaConfig config = KafkaConfig.fromProps(props, false);
        format(dataDir);
        KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
        server.startup();
        return new EmbeddedKafka(server, HOST + ":" + port);
    }

    private static Properties brokerProperties(Path dataDir, int port, int controllerPort) {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@" + HOST + ":" + controllerPort);
        p.put("listeners", "PLAINTEXT://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + port);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", dataDir.toAbsolutePath().toString());
        // One node: every internal topic has one replica.
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "5");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "false"); // topics come from the catalogue, with their configs
        // The log cleaner preallocates its dedupe buffer (128 MiB by default); compaction here is small.
        p.put("log.cleaner.dedupe.buffer.size", Integer.toString(2 * 1024 * 1024));
        p.put("log.cleaner.threads", "1");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "2");
        return p;
    }

    /** Clients on a SASL PLAIN listener at {@code port}; the broker talks to itself on {@code internalPort}. */
    private static void authenticated(Properties p, int port, int internalPort, String user, String password) {
        p.put("listeners", "SASL_PLAINTEXT://" + HOST + ":" + port + ",PLAINTEXT://" + HOST + ":" + internalPort + ","
                + "CONTROLLER://" + p.getProperty("controller.quorum.voters").substring(2));
        p.put("advertised.listeners", "SASL_PLAINTEXT://" + HOST + ":" + port + ",PLAINTEXT://" + HOST + ":" + internalPort);
        p.put("listener.security.protocol.map", "SASL_PLAINTEXT:SASL_PLAINTEXT,PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("sasl.enabled.mechanisms", "PLAIN");
        p.put("listener.name.sasl_plaintext.plain.sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required "
                + "user_" + user + "=\"" + password + "\";");
    }

    /** Writes meta.properties and the bootstrap metadata unless the directory is already formatted. */
    private static void format(Path dataDir) {
        if (Files.exists(dataDir.resolve("meta.properties"))) {
            return; // a restart: keep the cluster id and the log
        }
        try (PrintStream quiet = new PrintStream(PrintStream.nullOutputStream())) {
            new Formatter()
                    .setPrintStream(quiet)
                    .setNodeId(1)
                    .setClusterId(Uuid.randomUuid().toString())
                    .setDirectories(List.of(dataDir.toAbsolutePath().toString()))
                    .setMetadataLogDirectory(dataDir.toAbsolutePath().toString())
                    .setControllerListenerName("CONTROLLER")
                    .setReleaseVersion(MetadataVersion.latestProduction())
                    .run();
        } catch (Exception e) {
            throw new IllegalStateException("cannot format the Kafka data directory " + dataDir + ": " + e.getMessage(), e);
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port for the embedded Kafka broker", e);
        }
    }

    /** host:port for clients' bootstrap.servers. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Controlled shutdown: the log is flushed and closed cleanly, so a restart does no recovery. */
    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
    }
}
