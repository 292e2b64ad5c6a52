package dev.chorus.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.chorus.kafka.embedded.EmbeddedKafka;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TopicsTest {
    @Test
    void theCatalogueIsCreatedOnceWithItsConfigs(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir);
                Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            Topics.ensure(admin, (short) 1);
            Topics.ensure(admin, (short) 1); // idempotent
            ConfigResource adapters = new ConfigResource(ConfigResource.Type.TOPIC, "chorus.adapters");
            ConfigResource feedback = new ConfigResource(ConfigResource.Type.TOPIC, "chorus.feedback");
            Map<ConfigResource, Config> configs = admin.describeConfigs(List.of(adapters, feedback)).all().get();
            assertEquals("compact", configs.get(adapters).get("cleanup.policy").value());
            assertEquals("delete", configs.get(feedback).get("cleanup.policy").value());
            assertEquals("604800000", configs.get(feedback).get("retention.ms").value());
            ConfigResource examples = new ConfigResource(ConfigResource.Type.TOPIC, "chorus.training-examples");
            assertEquals("compact", admin.describeConfigs(List.of(examples)).all().get().get(examples).get("cleanup.policy").value());
            ConfigResource jobs = new ConfigResource(ConfigResource.Type.TOPIC, "chorus.training-jobs");
            assertEquals("compact", admin.describeConfigs(List.of(jobs)).all().get().get(jobs).get("cleanup.policy").value());
            assertEquals(3, admin.describeTopics(List.of("chorus.feedback")).allTopicNames().get().get("chorus.feedback").partitions().size());
            assertEquals(java.util.Set.of("chorus.adapters", "chorus.feedback", "chorus.training-examples", "chorus.training-jobs",
                    "chorus.dead-letter"),
                    listed(admin));
        }
    }

    @Test
    void configuredNamesAreCreatedWithTheCatalogueConfigs(@TempDir Path dir) throws Exception {
        TopicNames staging = new TopicNames("staging.adapters", "staging.feedback", "staging.training-examples", "staging.training-jobs",
                "staging.dead-letter");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir);
                Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            Topics.ensure(admin, (short) 1, staging);
            assertEquals(java.util.Set.of("staging.adapters", "staging.feedback", "staging.training-examples", "staging.training-jobs",
                    "staging.dead-letter"),
                    listed(admin));
            ConfigResource adapters = new ConfigResource(ConfigResource.Type.TOPIC, "staging.adapters");
            assertEquals("compact", admin.describeConfigs(List.of(adapters)).all().get().get(adapters).get("cleanup.policy").value());
            assertEquals(staging.feedback(), staging.of(Topics.FEEDBACK));
        }
    }

    /** The broker's topic list once it shows what was created: a new topic reaches its metadata cache shortly after the controller made it. */
    private static java.util.Set<String> listed(Admin admin) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        java.util.Set<String> names = admin.listTopics().names().get();
        while (names.size() < 5 && System.nanoTime() < deadline) {
            Thread.sleep(50);
            names = admin.listTopics().names().get();
        }
        return names;
    }
}
