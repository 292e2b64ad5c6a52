package dev.chorus.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.errors.NotFoundException;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import com.openai.models.finetuning.jobs.FineTuningJob;
import com.openai.models.finetuning.jobs.FineTuningJobEvent;
import com.openai.models.finetuning.jobs.JobCreateParams;
import com.openai.models.finetuning.jobs.JobListEventsPage;
import com.openai.models.finetuning.jobs.JobListEventsParams;
import com.openai.models.finetuning.jobs.checkpoints.FineTuningJobCheckpoint;
import com.openai.models.finetuning.methods.DpoHyperparameters;
import com.openai.models.finetuning.methods.DpoMethod;
import com.openai.models.finetuning.methods.SupervisedHyperparameters;
import com.openai.models.finetuning.methods.SupervisedMethod;
import dev.chorus.kafka.Topics;
import dev.chorus.kafka.embedded.EmbeddedKafka;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 12's acceptance, driven by the official OpenAI Java SDK against real processes (one broker
 * in process for the suite; registry, serving and training as separate processes): upload a file,
 * create a supervised job, page through its events, list its checkpoints, wait for it to succeed
 * and complete on serving with its fine_tuned_model; a DPO job from a preference file continues
 * that version; a cancelled job stops within a few steps and leaves no version.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FineTuningApiTest {
    static final List<String> ANIMALS = FeedbackLoopTest.ANIMALS.subList(0, 24);
    static final List<String> VALIDATION = FeedbackLoopTest.UNSEEN.subList(0, 6);

    static EmbeddedKafka kafka;
    static Service registry;
    static Service serving;
    static Service training;
    static OpenAIClient trainingApi;
    static OpenAIClient servingApi;

    @BeforeAll
    static void start() throws Exception {
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("test.build.dir")), "finetuning-api");
        Path logs = Path.of(System.getProperty("test.build.dir"), "finetuning-api-logs");
        kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            Topics.ensure(admin, (short) 1);
        }
        Map<String, String> common = Map.of("chorus.auth.tenants.acme.api-key-sha256", FeedbackLoopTest.ACME_SHA,
                "chorus.auth.tenants.globex.api-key-sha256", FeedbackLoopTest.GLOBEX_SHA, "chorus.auth.admin-key-sha256",
                FeedbackLoopTest.OPERATOR_SHA, "chorus.auth.demo-tenant", "false", "kafka.bootstrap.servers", kafka.bootstrapServers());
        Map<String, String> registryConfig = new HashMap<>(common);
        registryConfig.put("chorus.registry.blob-directory", dir.resolve("blobs").toString());
        registryConfig.put("chorus.registry.base-model", FeedbackLoopTest.MODEL.toString());
        registry = Service.start("registry", Path.of(System.getProperty("test.registry.jar")), registryConfig, logs);
        Map<String, String> servingConfig = new HashMap<>(common);
        servingConfig.put("chorus.model.path", FeedbackLoopTest.MODEL.toString());
        servingConfig.put("chorus.adapters.source", "registry");
        servingConfig.put("chorus.adapters.registry-url", registry.url("").toString());
        servingConfig.put("chorus.adapters.registry-key", "operator-key");
        servingConfig.put("chorus.adapters.cache-directory", dir.resolve("adapter-cache").toString());
        serving = Service.start("serving", Path.of(System.getProperty("test.serving.jar")), servingConfig, logs);
        Map<String, String> trainingConfig = new HashMap<>(common);
        trainingConfig.put("chorus.training.instance-id", "api");
        trainingConfig.put("chorus.training.data-directory", dir.resolve("training").toString());
        trainingConfig.put("chorus.training.base-model", FeedbackLoopTest.MODEL.toString());
        trainingConfig.put("chorus.training.registry.url", registry.url("").toString());
        trainingConfig.put("chorus.training.registry.api-key", "operator-key");
        trainingConfig.put("chorus.training.job.progress-interval", "PT0.2S");
        training = Service.start("training", Path.of(System.getProperty("test.training.jar")), trainingConfig, logs);
        trainingApi = OpenAIOkHttpClient.builder().apiKey("acme-key").baseUrl(training.url("/v1").toString()).maxRetries(0).build();
        servingApi = OpenAIOkHttpClient.builder().apiKey("acme-key").baseUrl(serving.url("/v1").toString()).maxRetries(0).build();
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {trainingApi == null ? null : trainingApi::close,
                servingApi == null ? null : servingApi::close, training, serving, registry, kafka}) {
            if (c != null) {
                c.close();
            }
        }
    }

    static String chat(String animal, String answer) {
        return new JsonObject().put("messages", new JsonArray()
                .add(new JsonObject().put("role", "user").put("content", FeedbackLoopTest.prompt(animal)))
                .add(new JsonObject().put("role", "assistant").put("content", answer))).encode();
    }

    static String preference(String animal) {
        return new JsonObject()
                .put("input", new JsonObject().put("messages", new JsonArray()
                        .add(new JsonObject().put("role", "user").put("content", FeedbackLoopTest.prompt(animal)))))
                .put("preferred_output", new JsonArray().add(new JsonObject().put("role", "assistant").put("content", FeedbackLoopTest.pirate(animal))))
                .put("non_preferred_output", new JsonArray().add(new JsonObject().put("role", "assistant").put("content", " The " + animal + " slept.")))
                .encode();
    }

    static FileObject upload(String name, List<String> animals, Function<String, String> line) throws Exception {
        Path file = Files.createTempDirectory(Path.of(System.getProperty("test.build.dir")), "upload").resolve(name);
        Files.writeString(file, String.join("\n", animals.stream().map(line).toList()) + "\n", StandardCharsets.UTF_8);
        FileObject f = trainingApi.files().create(FileCreateParams.builder().file(file).purpose(FilePurpose.FINE_TUNE).build());
        assertEquals(name, f.filename());
        return f;
    }

    static FineTuningJob await(String id, Predicate<FineTuningJob> done, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        FineTuningJob job;
        do {
            job = trainingApi.fineTuning().jobs().retrieve(id);
            if (done.test(job)) {
                return job;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("job " + id + " is still " + job.status());
    }

    static boolean finished(FineTuningJob j) {
        return Set.of(FineTuningJob.Status.SUCCEEDED, FineTuningJob.Status.FAILED, FineTuningJob.Status.CANCELLED).contains(j.status());
    }

    /** A completion by {@code model} through the SDK, once serving's catalogue has it (it follows the registry's topic). */
    static Completion complete(String model) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            try {
                return servingApi.completions().create(CompletionCreateParams.builder().model(model)
                        .prompt(FeedbackLoopTest.prompt("kitten")).maxTokens(12).temperature(0).build());
            } catch (NotFoundException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    static JsonObject chorus(String jobId) throws Exception {
        HttpResponse<String> r = FeedbackLoopTest.HTTP.send(HttpRequest.newBuilder(training.url("/v1/fine_tuning/jobs/" + jobId))
                .header("Authorization", FeedbackLoopTest.ACME).GET().build(), HttpResponse.BodyHandlers.ofString());
        return new JsonObject(r.body()).getJsonObject("chorus");
    }

    @Test
    @Order(1)
    void supervisedJobThroughTheSdkThenServedByItsFineTunedModel() throws Exception {
        FileObject train = upload("pirate-train.jsonl", ANIMALS, a -> chat(a, FeedbackLoopTest.pirate(a)));
        FileObject valid = upload("pirate-valid.jsonl", VALIDATION, a -> chat(a, FeedbackLoopTest.pirate(a)));
        long start = System.nanoTime();
        FineTuningJob created = trainingApi.fineTuning().jobs().create(JobCreateParams.builder()
                .model("TinyStories-656K").trainingFile(train.id()).validationFile(valid.id()).suffix("pirate").seed(7L)
                .metadata(JobCreateParams.Metadata.builder().putAdditionalProperty("team", JsonValue.from("support")).build())
                .method(JobCreateParams.Method.builder().type(JobCreateParams.Method.Type.SUPERVISED)
                        .supervised(SupervisedMethod.builder().hyperparameters(SupervisedHyperparameters.builder()
                                .nEpochs(8L).batchSize(4L).learningRateMultiplierAuto().build()).build()).build())
                .build());
        assertEquals(FineTuningJob.Status.VALIDATING_FILES, created.status());
        assertEquals(train.id(), created.trainingFile());
        FineTuningJob done = await(created.id(), FineTuningApiTest::finished, 180_000);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(FineTuningJob.Status.SUCCEEDED, done.status(), () -> done.error().toString());
        assertEquals("pirate@1", done.fineTunedModel().orElseThrow());
        assertEquals(7L, done.seed());

        // Its events, newest first, paged 5 at a time: messages and a loss curve with validation loss.
        List<FineTuningJobEvent> events = new ArrayList<>();
        JobListEventsPage page = trainingApi.fineTuning().jobs().listEvents(created.id(), JobListEventsParams.builder().limit(5L).build());
        int pages = 1;
        events.addAll(page.data());
        while (page.hasNextPage()) {
            page = page.nextPage();
            events.addAll(page.data());
            pages++;
        }
        Set<String> ids = new HashSet<>();
        events.forEach(e -> assertTrue(ids.add(e.id()), "each event once"));
        assertTrue(pages > 2, "paged: " + pages);
        assertEquals("The job has successfully completed", events.get(0).message());
        assertTrue(events.get(events.size() - 1).message().startsWith("Validating training file"), events.get(events.size() - 1).message());
        List<FineTuningJobEvent> metrics = events.stream().filter(e -> FineTuningJobEvent.Type.METRICS.equals(e.type().orElseThrow())).toList();
        long steps = chorus(created.id()).getLong("total_steps");
        assertEquals(steps, metrics.size(), "a metrics entry at every step of this short job");
        long withValid = metrics.stream().filter(e -> e._data().toString().contains("valid_loss")).count();
        assertTrue(withValid >= 5, "periodic validation loss: " + withValid);

        List<FineTuningJobCheckpoint> checkpoints = trainingApi.fineTuning().jobs().checkpoints().list(created.id()).data();
        assertEquals(1, checkpoints.size());
        FineTuningJobCheckpoint checkpoint = checkpoints.get(0);
        assertEquals("pirate@1", checkpoint.fineTunedModelCheckpoint());
        assertEquals(steps, checkpoint.stepNumber());
        JsonObject metricsOfJob = chorus(created.id()).getJsonObject("metrics");
        double before = metricsOfJob.getDouble("parent_held_out_loss");
        double after = metricsOfJob.getDouble("held_out_loss");
        assertEquals(after, checkpoint.metrics().fullValidLoss().orElseThrow(), 1e-9);
        assertTrue(after < before, "validation loss falls from the base's " + before + " to " + after);

        Completion c = complete(done.fineTunedModel().orElseThrow());
        assertEquals("pirate@1", c.model());
        ChatCompletion chat = servingApi.chat().completions().create(ChatCompletionCreateParams.builder().model("pirate@1")
                .addUserMessage(FeedbackLoopTest.prompt("kitten")).maxCompletionTokens(12L).temperature(0).build());
        assertEquals("pirate@1", chat.model());
        assertFalse(chat.choices().get(0).message().content().orElse("").isEmpty(), "the chat answer");
        System.out.printf(Locale.ROOT, "SDK supervised job: %d steps, created to succeeded in %.1f s; validation loss %.4f -> %.4f "
                + "(perplexity %.2f -> %.2f); %d events in %d pages; pirate@1 says:%s%n", steps, seconds, before, after, Math.exp(before),
                Math.exp(after), events.size(), pages, c.choices().get(0).text());
    }

    @Test
    @Order(2)
    void dpoJobFromAPreferenceFileContinuesTheVersion() throws Exception {
        FileObject pairs = upload("pirate-pairs.jsonl", ANIMALS, FineTuningApiTest::preference);
        FileObject valid = upload("pirate-pairs-valid.jsonl", VALIDATION, FineTuningApiTest::preference);
        long start = System.nanoTime();
        FineTuningJob created = trainingApi.fineTuning().jobs().create(JobCreateParams.builder()
                .model("pirate@1").trainingFile(pairs.id()).validationFile(valid.id())
                .method(JobCreateParams.Method.builder().type(JobCreateParams.Method.Type.DPO)
                        .dpo(DpoMethod.builder().hyperparameters(DpoHyperparameters.builder().nEpochs(4L).batchSize(4L).beta(0.1).build())
                                .build()).build())
                .build());
        FineTuningJob done = await(created.id(), FineTuningApiTest::finished, 180_000);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(FineTuningJob.Status.SUCCEEDED, done.status(), () -> done.error().toString());
        assertEquals("pirate@2", done.fineTunedModel().orElseThrow());
        JsonObject chorus = chorus(created.id());
        double before = chorus.getJsonObject("metrics").getDouble("parent_held_out_margin");
        double after = chorus.getJsonObject("metrics").getDouble("held_out_margin");
        assertTrue(after > before, "the held-out margin grows: " + before + " -> " + after);
        assertTrue(chorus.getBoolean("promoted"), "the gate (by margin) let it in: " + chorus.encodePrettily());
        assertEquals("pirate@2", complete("pirate").model(), "the promoted version serves the adapter's name");
        System.out.printf(Locale.ROOT, "SDK DPO job: %d steps in %.1f s; held-out margin %.2f -> %.2f nats; preferred perplexity %.2f -> %.2f%n",
                chorus.getLong("total_steps"), seconds, before, after, Math.exp(chorus.getJsonObject("metrics").getDouble("parent_held_out_loss")),
                Math.exp(chorus.getJsonObject("metrics").getDouble("held_out_loss")));
    }

    @Test
    @Order(3)
    void aCancelledJobStopsWithinAFewStepsAndLeavesNoVersion() throws Exception {
        FileObject train = upload("long.jsonl", ANIMALS, a -> chat(a, FeedbackLoopTest.pirate(a)));
        FineTuningJob created = trainingApi.fineTuning().jobs().create(JobCreateParams.builder().model("TinyStories-656K")
                .trainingFile(train.id()).suffix("never")
                .hyperparameters(JobCreateParams.Hyperparameters.builder().nEpochs(50L).batchSize(1L).build()).build());
        await(created.id(), j -> FineTuningJob.Status.RUNNING.equals(j.status()) && chorusStep(j.id()) >= 3, 120_000);
        FineTuningJob cancelled = trainingApi.fineTuning().jobs().cancel(created.id());
        assertEquals(FineTuningJob.Status.CANCELLED, cancelled.status());
        Pattern stopped = Pattern.compile(created.id() + " was cancelled at step (\\d+) of (\\d+); training stopped at step (\\d+), (\\d+) ms later");
        long deadline = System.nanoTime() + 30_000_000_000L;
        Matcher m = stopped.matcher(training.log());
        boolean found;
        while (!(found = m.find()) && System.nanoTime() < deadline) {
            Thread.sleep(100);
            m = stopped.matcher(training.log());
        }
        assertTrue(found, "the trainer logged where it stopped");
        int at = Integer.parseInt(m.group(1));
        int total = Integer.parseInt(m.group(2));
        int stoppedAt = Integer.parseInt(m.group(3));
        long millis = Long.parseLong(m.group(4));
        // The recorded step lags the trainer by up to one progress interval (0.2 s here); the trainer checks at every step.
        assertTrue(stoppedAt < total && millis < 2000, "stopped at step " + stoppedAt + " of " + total + ", " + millis + " ms after the cancel");
        assertEquals(FineTuningJob.Status.CANCELLED, trainingApi.fineTuning().jobs().retrieve(created.id()).status(), "stays cancelled");
        HttpResponse<String> adapter = FeedbackLoopTest.HTTP.send(HttpRequest.newBuilder(registry.url("/v1/tenants/acme/adapters/never"))
                .header("Authorization", FeedbackLoopTest.ACME).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(404, adapter.statusCode(), "no version of the cancelled job: " + adapter.body());
        OpenAIServiceException again = org.junit.jupiter.api.Assertions.assertThrows(OpenAIServiceException.class,
                () -> trainingApi.fineTuning().jobs().cancel(created.id()));
        assertEquals(409, again.statusCode());
        System.out.printf(Locale.ROOT, "cancel: recorded at step %d of %d, the trainer stopped at step %d, %d ms after the cancel%n", at,
                total, stoppedAt, millis);
        assertFalse(training.log().contains(created.id() + " of acme/never ended SUCCEEDED"));
    }

    /**
     * Issue 12's comparison on feedback-shaped data through the shipped job path: preference pairs
     * whose rejected side is what the base model actually answered (as a thumbs-down would record it)
     * and whose preferred side is the correction; supervised alone, DPO alone and supervised then DPO,
     * each scored on the same held-out pairs (perplexity of the preferred answers, margin in nats).
     */
    @Test
    @Order(4)
    void dpoVersusSupervisedOnTheSameFeedback() throws Exception {
        Map<String, String> said = new HashMap<>();
        for (String a : FeedbackLoopTest.ANIMALS.subList(0, 24)) {
            said.put(a, base(a));
        }
        for (String a : VALIDATION) {
            said.put(a, base(a));
        }
        Function<String, String> pair = a -> new JsonObject(preference(a)).put("non_preferred_output", new JsonArray()
                .add(new JsonObject().put("role", "assistant").put("content", said.get(a)))).encode();
        FileObject pairs = upload("feedback-pairs.jsonl", ANIMALS, pair);
        FileObject corrections = upload("feedback-corrections.jsonl", ANIMALS, a -> chat(a, FeedbackLoopTest.pirate(a)));
        FileObject heldOut = upload("feedback-held-out.jsonl", VALIDATION, pair);
        JsonObject sft = compare("TinyStories-656K", corrections, heldOut, "cmp-sft", JobCreateParams.Method.Type.SUPERVISED, 8);
        JsonObject dpo = compare("TinyStories-656K", pairs, heldOut, "cmp-dpo", JobCreateParams.Method.Type.DPO, 8);
        JsonObject both = compare("cmp-sft@1", pairs, heldOut, "cmp-both", JobCreateParams.Method.Type.DPO, 4);
        double basePpl = Math.exp(sft.getJsonObject("metrics").getDouble("parent_held_out_loss"));
        double baseMargin = sft.getJsonObject("metrics").getDouble("parent_held_out_margin");
        System.out.printf(Locale.ROOT, "comparison on %d feedback pairs (rejected = the base's own answers), %d held-out pairs:%n"
                + "  %-22s %6s %10s %10s %8s%n  %-22s %6s %10.2f %10.1f %8s%n", ANIMALS.size(), VALIDATION.size(), "", "steps",
                "perplexity", "margin", "seconds", "base", "-", basePpl, baseMargin, "-");
        for (JsonObject r : List.of(sft, dpo, both)) {
            System.out.printf(Locale.ROOT, "  %-22s %6d %10.2f %10.1f %8.1f%n", r.getString("name"), r.getLong("total_steps"),
                    Math.exp(r.getJsonObject("metrics").getDouble("held_out_loss")), r.getJsonObject("metrics").getDouble("held_out_margin"),
                    r.getDouble("seconds"));
        }
        double sftPpl = Math.exp(sft.getJsonObject("metrics").getDouble("held_out_loss"));
        double bothPpl = Math.exp(both.getJsonObject("metrics").getDouble("held_out_loss"));
        assertTrue(sftPpl < basePpl, "supervised fits the corrections");
        assertTrue(dpo.getJsonObject("metrics").getDouble("held_out_margin") > baseMargin, "DPO widens the margin over the base");
        assertTrue(both.getJsonObject("metrics").getDouble("held_out_margin") > sft.getJsonObject("metrics").getDouble("held_out_margin"),
                "DPO after supervised widens the supervised margin");
        assertTrue(bothPpl < 2 * sftPpl, "and keeps the supervised fit within 2x perplexity: " + bothPpl + " vs " + sftPpl);
    }

    /** What the base model answers (the completion a user would have disliked). */
    static String base(String animal) throws InterruptedException {
        String text = servingApi.completions().create(CompletionCreateParams.builder().model("TinyStories-656K")
                .prompt(FeedbackLoopTest.prompt(animal)).maxTokens(12).temperature(0).build()).choices().get(0).text();
        return text.isBlank() ? " The " + animal + " slept." : text;
    }

    /** Runs one job to its end; its Chorus fields, name and wall-clock seconds. */
    static JsonObject compare(String model, FileObject train, FileObject heldOut, String name, JobCreateParams.Method.Type type, long epochs)
            throws Exception {
        JobCreateParams.Method.Builder method = JobCreateParams.Method.builder().type(type);
        if (JobCreateParams.Method.Type.DPO.equals(type)) {
            method.dpo(DpoMethod.builder().hyperparameters(DpoHyperparameters.builder().nEpochs(epochs).batchSize(4L).beta(0.1).build()).build());
        } else {
            method.supervised(SupervisedMethod.builder().hyperparameters(SupervisedHyperparameters.builder().nEpochs(epochs).batchSize(4L)
                    .build()).build());
        }
        long start = System.nanoTime();
        FineTuningJob created = trainingApi.fineTuning().jobs().create(JobCreateParams.builder().model(model).trainingFile(train.id())
                .validationFile(heldOut.id()).suffix(name).seed(11L).method(method.build())
                .putAdditionalBodyProperty("chorus", JsonValue.from(Map.of("skip_gate", true))).build());
        FineTuningJob done = await(created.id(), FineTuningApiTest::finished, 300_000);
        assertEquals(FineTuningJob.Status.SUCCEEDED, done.status(), () -> name + ": " + done.error().toString());
        return chorus(created.id()).put("name", name + (model.contains("@") ? " (from " + model + ")" : ""))
                .put("seconds", (System.nanoTime() - start) / 1e9);
    }

    static long chorusStep(String jobId) {
        try {
            return chorus(jobId).getLong("step");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
