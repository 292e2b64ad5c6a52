package dev.chorus.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.chorus.kafka.Topics;
import dev.chorus.kafka.embedded.EmbeddedKafka;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Issue 17's console in a real headless Chromium (Debian's chromium and chromedriver, driven by
 * Selenium), against the real services as separate processes: broker, registry, serving, training
 * and the console, shared by every step. Each view is captured under target/console-screenshots.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserTest {
    static final Path CHROMIUM = Path.of(System.getProperty("test.chromium", "/usr/bin/chromium"));
    static final Path CHROMEDRIVER = Path.of(System.getProperty("test.chromedriver", "/usr/bin/chromedriver"));
    static final String ACME = "Bearer acme-key";
    static final HttpClient HTTP = HttpClient.newHttpClient();

    private final List<AutoCloseable> started = new ArrayList<>();
    private Path shots;
    private Service registry;
    private Service serving;
    private Service training;
    private Service console;
    private WebDriver browser;
    private int shot;

    @BeforeAll
    void startEverything(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        assertTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER), "the browser tests need Debian's chromium and "
                + "chromium-driver (" + CHROMIUM + ", " + CHROMEDRIVER + "): apt-get install chromium chromium-driver (.ci/run does)");
        Path build = Path.of(System.getProperty("test.build.dir"));
        Path logs = build.resolve("console-logs");
        shots = build.resolve("console-screenshots");
        Files.createDirectories(shots);
        EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        started.add(kafka);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            Topics.ensure(admin, (short) 1);
        }
        Map<String, String> common = Map.of("chorus.auth.tenants.acme.api-key-sha256", FeedbackLoopTest.ACME_SHA,
                "chorus.auth.tenants.globex.api-key-sha256", FeedbackLoopTest.GLOBEX_SHA,
                "chorus.auth.admin-key-sha256", FeedbackLoopTest.OPERATOR_SHA, "chorus.auth.demo-tenant", "false",
                "kafka.bootstrap.servers", kafka.bootstrapServers());
        Map<String, String> registryConfig = new HashMap<>(common);
        registryConfig.put("chorus.registry.blob-directory", dir.resolve("blobs").toString());
        registryConfig.put("chorus.registry.base-model", FeedbackLoopTest.MODEL.toString());
        registry = track(Service.start("registry", Path.of(System.getProperty("test.registry.jar")), registryConfig, logs));
        Map<String, String> servingConfig = new HashMap<>(common);
        servingConfig.put("chorus.model.path", FeedbackLoopTest.MODEL.toString());
        servingConfig.put("chorus.adapters.source", "registry");
        servingConfig.put("chorus.adapters.registry-url", registry.url("").toString());
        servingConfig.put("chorus.adapters.registry-key", "operator-key");
        servingConfig.put("chorus.adapters.cache-directory", dir.resolve("adapter-cache").toString());
        serving = track(Service.start("serving", Path.of(System.getProperty("test.serving.jar")), servingConfig, logs));
        Map<String, String> trainingConfig = new HashMap<>(common);
        trainingConfig.put("chorus.training.instance-id", "console");
        trainingConfig.put("chorus.training.data-directory", dir.resolve("training").toString());
        trainingConfig.put("chorus.training.base-model", FeedbackLoopTest.MODEL.toString());
        trainingConfig.put("chorus.training.registry.url", registry.url("").toString());
        trainingConfig.put("chorus.training.registry.api-key", "operator-key");
        training = track(Service.start("training", Path.of(System.getProperty("test.training.jar")), trainingConfig, logs));
        console = track(Service.start("console", Path.of(System.getProperty("test.console.jar")), Map.of(
                "chorus.console.serving-url", serving.url("").toString(), "chorus.console.registry-url", registry.url("").toString(),
                "chorus.console.training-url", training.url("").toString()), logs));

        // acme has pirate v1 (active) and v2 (uploaded, not promoted); globex has its own adapter.
        upload("acme", "pirate", 1, "acme-key");
        upload("acme", "pirate", 2, "acme-key");
        upload("globex", "secret", 3, "globex-key");

        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile());
        options.setCapability("goog:loggingPrefs", Map.of(LogType.BROWSER, "ALL"));
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1280,1100", "--user-data-dir=" + Files.createDirectories(dir.resolve("chromium-profile")));
        ChromeDriverService driver = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort()
                .withLogFile(logs.resolve("chromedriver.log").toFile()).build();
        browser = new ChromeDriver(driver, options);
        started.add(browser::quit);
    }

    private Service track(Service service) {
        started.add(service);
        return service;
    }

    /** A failed step shows what the page said (its console) and how it looked. */
    @RegisterExtension
    final TestWatcher pageOnFailure = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            if (browser != null) {
                browser.manage().logs().get(LogType.BROWSER).forEach(entry -> System.err.println("browser console: " + entry));
                try {
                    screenshot("failed-" + context.getRequiredTestMethod().getName());
                } catch (IOException | RuntimeException e) {
                    System.err.println("no screenshot: " + e);
                }
            }
        }
    };

    @AfterAll
    void stopEverything() {
        for (int i = started.size() - 1; i >= 0; i--) {
            try {
                started.get(i).close();
            } catch (Exception e) {
                System.err.println("closing: " + e);
            }
        }
    }

    @Test
    @Order(1)
    void aTenantSeesItsAdaptersAndNotAnotherTenants() throws Exception {
        signIn("globex-key");
        assertEquals("Tenant globex", text(By.id("who-name")));
        WebElement table = await(By.id("adapters-table"));
        assertTrue(table.getText().contains("secret"));
        assertFalse(table.getText().contains("pirate"), table.getText());

        signIn("acme-key");
        table = await(By.id("adapters-table"));
        wait(30).until(ExpectedConditions.textToBePresentInElementLocated(By.id("adapters-table"), "pirate"));
        assertFalse(table.getText().contains("secret"), table.getText());
        assertFalse(table.getText().contains("Tenant"), "a tenant's list has no tenant column");
        String row = browser.findElement(By.xpath("//table[@id='adapters-table']//tr[td/a[text()='pirate']]")).getText();
        assertTrue(row.contains("v1") && row.contains("lora") && row.contains("8"), row);
        screenshot("adapters");
    }

    @Test
    @Order(2)
    void promoteAndRollBackFromTheTimeline() throws Exception {
        go("#/adapters/acme/pirate");
        await(By.id("timeline"));
        assertEquals("Active version: v1", activeVersionText());
        assertEquals("active", await(By.id("version-1")).getAttribute("data-state"));

        browser.findElement(By.cssSelector("#version-2 button")).click();
        confirm();
        wait(30).until(d -> activeVersionText().equals("Active version: v2"));
        assertEquals(2, registryActive("pirate"), "the registry has v2 active");
        screenshot("adapter-timeline-promoted");

        WebElement rollback = await(By.cssSelector("#version-1 button"));
        assertEquals("Roll back to v1", rollback.getText());
        rollback.click();
        // the dialog's Cancel changes nothing
        WebElement cancel = wait(10).until(ExpectedConditions.elementToBeClickable(By.id("confirm-cancel")));
        cancel.click();
        assertEquals(2, registryActive("pirate"));
        await(By.cssSelector("#version-1 button")).click();
        confirm();
        wait(30).until(d -> activeVersionText().equals("Active version: v1"));
        assertEquals(1, registryActive("pirate"), "the registry has v1 active again");
        assertEquals("rolled-back", await(By.id("version-2")).getAttribute("data-state"));
        screenshot("adapter-timeline-rolled-back");
    }

    @Test
    @Order(3)
    void chatWithAnAdapterVersionStreamedThenCorrectItAndSeeTheFeedbackCountGrow() throws Exception {
        int before = feedbackTotal();
        go("#/playground");
        Select model = new Select(await(By.id("chat-model")));
        wait(60).until(d -> {
            d.navigate().refresh(); // serving follows the registry's topic: the option appears once it has the adapter
            return new Select(await(By.id("chat-model"))).getOptions().stream().anyMatch(o -> o.getAttribute("value").equals("pirate@1"));
        });
        model = new Select(await(By.id("chat-model")));
        model.selectByValue("pirate@1");
        WebElement input = await(By.id("chat-input"));
        input.sendKeys("Tell me about the cat.");
        browser.findElement(By.id("chat-send")).click();
        WebElement reply = wait(60).until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#chat-log li.assistant[data-completion-id]")));
        assertTrue(reply.findElement(By.cssSelector(".meta")).getText().startsWith("pirate@1 · chatcmpl-"), reply.getText());
        assertFalse(reply.findElement(By.cssSelector(".content")).getText().isBlank(), "a reply arrived");

        reply.findElement(By.cssSelector("button.suggest-open")).click();
        WebElement correction = reply.findElement(By.cssSelector("textarea.correction"));
        correction.sendKeys(" Arr, the cat sailed the sea with Captain Tom.");
        reply.findElement(By.cssSelector("form.suggest button[type=submit]")).click();
        wait(30).until(d -> reply.findElement(By.cssSelector(".meta.sent")).getText().startsWith("Feedback recorded"));
        screenshot("playground");

        go("#/feedback/acme/pirate");
        wait(60).until(d -> Integer.parseInt(await(By.id("feedback-total")).getText()) == before + 1);
        wait(30).until(ExpectedConditions.textToBePresentInElementLocated(By.id("feedback-table"), "Captain Tom"));
        screenshot("feedback");
    }

    @Test
    @Order(4)
    void theBackendForFrontendStreamsServerSentEventsWithTheCallersKey() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(console.url("/api/serving/chat/completions")).header("Authorization", ACME)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(new JsonObject()
                        .put("model", "pirate@1").put("stream", true).put("max_tokens", 8).put("temperature", 0)
                        .put("messages", new io.vertx.core.json.JsonArray().add(new JsonObject().put("role", "user").put("content", "Hi")))
                        .encode())).build();
        HttpResponse<java.util.stream.Stream<String>> r = HTTP.send(request, HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"), r.headers().toString());
        List<String> events = r.body().filter(l -> l.startsWith("data: ")).toList();
        assertTrue(events.size() >= 3, "several chunks, then [DONE]: " + events);
        assertEquals("data: [DONE]", events.get(events.size() - 1));
        // The console holds no key: without the caller's, the services refuse.
        HttpResponse<String> anonymous = HTTP.send(HttpRequest.newBuilder(console.url("/api/registry/tenants/acme/adapters")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(401, anonymous.statusCode(), anonymous.body());
        HttpResponse<String> other = HTTP.send(HttpRequest.newBuilder(console.url("/api/registry/tenants/acme/adapters"))
                .header("Authorization", "Bearer globex-key").build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(403, other.statusCode(), other.body());
    }

    @Test
    @Order(5)
    void servingShowsTheTenantsOwnFigures() throws Exception {
        go("#/serving");
        By mine = By.cssSelector("#serving-figures [data-tenant='acme']");
        wait(30).until(d -> Integer.parseInt(d.findElement(mine).findElement(By.cssSelector(".requests")).getText()) >= 1);
        wait(10).until(d -> !d.findElement(mine).findElement(By.cssSelector(".ttft-p50")).getText().equals("–"));
        assertTrue(browser.findElements(By.cssSelector("#serving-figures [data-tenant]")).size() == 1, "no other tenant's figures");
        screenshot("serving");
    }

    @Test
    @Order(6)
    void startAJobFromAFileWatchItsLossCurveGrowThenSeeTheNewVersion(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path file = dir.resolve("pirate-stories.jsonl");
        StringBuilder lines = new StringBuilder();
        for (String animal : FeedbackLoopTest.ANIMALS) {
            lines.append(new JsonObject().put("prompt", FeedbackLoopTest.prompt(animal)).put("completion", FeedbackLoopTest.pirate(animal))
                    .encode()).append('\n');
        }
        Files.writeString(file, lines);
        Path validation = dir.resolve("pirate-held-out.jsonl");
        StringBuilder held = new StringBuilder();
        for (String animal : FeedbackLoopTest.UNSEEN) {
            held.append(new JsonObject().put("prompt", FeedbackLoopTest.prompt(animal)).put("completion", FeedbackLoopTest.pirate(animal))
                    .encode()).append('\n');
        }
        Files.writeString(validation, held);
        go("#/jobs");
        for (Path upload : List.of(validation, file)) {
            await(By.id("upload-file")).sendKeys(upload.toString());
            browser.findElement(By.id("upload")).click();
            wait(30).until(d -> new Select(d.findElement(By.id("job-file"))).getFirstSelectedOption().getText()
                    .startsWith(upload.getFileName().toString()));
        }
        Select heldOut = new Select(browser.findElement(By.id("job-validation-file")));
        heldOut.getOptions().stream().filter(o -> o.getText().startsWith("pirate-held-out.jsonl")).findFirst().orElseThrow().click();
        new Select(browser.findElement(By.id("job-model"))).selectByValue("pirate");
        WebElement epochs = browser.findElement(By.id("job-epochs"));
        epochs.clear();
        epochs.sendKeys("8");
        browser.findElement(By.id("start-job")).click();
        await(By.id("job-title"));
        wait(30).until(ExpectedConditions.presenceOfElementLocated(By.id("job-status")));

        // Sample the page until the job ends: the curve must gain points while the job is still running.
        int pointsWhileRunning = 0;
        String status = "";
        long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
        boolean shotWhileRunning = false;
        while (System.nanoTime() < deadline) {
            // read in one script: the header is redrawn every second, so element handles would go stale
            @SuppressWarnings("unchecked")
            List<String> sample = (List<String>) ((JavascriptExecutor) browser).executeScript("return [document.getElementById('job-status')"
                    + "?.textContent ?? '', document.getElementById('loss-summary')?.dataset.points ?? '0']");
            status = sample.get(0);
            int n = Integer.parseInt(sample.get(1));
            if (status.equals("running")) {
                pointsWhileRunning = Math.max(pointsWhileRunning, n);
                if (n >= 2 && !shotWhileRunning) {
                    screenshot("job-running");
                    shotWhileRunning = true;
                }
            }
            if (status.equals("succeeded") || status.equals("failed") || status.equals("cancelled")) {
                break;
            }
            Service.sleep(100); // sampling the page, not waiting for a condition
        }
        assertEquals("succeeded", status, text(By.id("job-header")));
        assertTrue(pointsWhileRunning >= 1, "the loss curve had points while the job ran");
        wait(10).until(d -> ((JavascriptExecutor) d).executeScript("return document.getElementById('loss-summary').textContent")
                .toString().matches(".*[1-9]\\d* held-out points.*"));
        int finalPoints = Integer.parseInt(wait(10).until(d -> {
            String p = d.findElement(By.id("loss-summary")).getAttribute("data-points");
            return p != null && Integer.parseInt(p) > 0 ? p : null;
        }));
        assertTrue(finalPoints > pointsWhileRunning || finalPoints >= 2, "points kept coming: " + pointsWhileRunning + " -> " + finalPoints);
        await(By.cssSelector("#checkpoints table"));
        wait(10).until(ExpectedConditions.textToBePresentInElementLocated(By.id("events"), "Step"));
        screenshot("job-finished");

        WebElement produced = await(By.id("produced"));
        assertEquals("pirate@3", produced.getText());
        produced.click();
        WebElement v3 = await(By.id("version-3"));
        assertTrue(v3.getText().contains("from v1") && v3.getText().contains("fine-tuned by job"), v3.getText());
        screenshot("adapter-timeline-job-version");
    }

    @Test
    @Order(7)
    void anOperatorSeesEveryTenant() throws Exception {
        signIn("operator-key");
        assertEquals("Operator (all tenants)", text(By.id("who-name")));
        wait(30).until(ExpectedConditions.textToBePresentInElementLocated(By.id("adapters-table"), "globex"));
        String table = text(By.id("adapters-table"));
        assertTrue(table.contains("acme") && table.contains("pirate") && table.contains("secret"), table);
        go("#/jobs");
        await(By.id("jobs-list"));
        screenshot("operator-adapters");
        signOut();
    }

    // --- the page ---------------------------------------------------------------------------------

    private void signIn(String key) {
        browser.get(console.url("/").toString());
        if (!browser.findElements(By.id("sign-out")).isEmpty() && browser.findElement(By.id("sign-out")).isDisplayed()) {
            signOut();
        }
        WebElement input = await(By.id("api-key"));
        input.sendKeys(key);
        browser.findElement(By.id("sign-in")).click();
        wait(30).until(ExpectedConditions.visibilityOfElementLocated(By.id("sign-out")));
        Object stored = ((JavascriptExecutor) browser).executeScript("return sessionStorage.getItem('chorus.key')");
        assertEquals(key, stored, "the key is kept in the session's storage");
        Object persistent = ((JavascriptExecutor) browser).executeScript("return localStorage.length");
        assertEquals(0L, persistent, "and nowhere that outlives the session");
    }

    private void signOut() {
        browser.findElement(By.id("sign-out")).click();
        await(By.id("api-key"));
    }

    private void go(String hash) {
        browser.get(console.url("/" + hash).toString());
    }

    private void confirm() {
        wait(10).until(ExpectedConditions.elementToBeClickable(By.id("confirm-ok"))).click();
    }

    private String activeVersionText() {
        return await(By.id("active-version")).getText().split(" · ")[0];
    }

    private int feedbackTotal() {
        go("#/feedback/acme/pirate");
        return Integer.parseInt(await(By.id("feedback-total")).getText());
    }

    private WebElement await(By by) {
        return wait(30).until(ExpectedConditions.visibilityOfElementLocated(by));
    }

    private String text(By by) {
        return await(by).getText();
    }

    private WebDriverWait wait(int seconds) {
        // views that poll redraw their parts: an element found a moment ago may be gone, so look again
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(seconds), Duration.ofMillis(100));
        wait.ignoring(StaleElementReferenceException.class);
        return wait;
    }

    private void screenshot(String view) throws IOException {
        File png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
        Path target = shots.resolve(String.format("%02d-%s.png", ++shot, view));
        Files.copy(png.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
        System.out.println("console screenshot: " + target);
    }

    // --- the services, directly ---------------------------------------------------------------------

    private void upload(String tenant, String name, long seed, String key) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(registry.url("/v1/tenants/" + tenant + "/adapters/" + name))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/zip")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(EndToEndTest.adapterZip(seed))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, r.statusCode(), r.body());
    }

    private int registryActive(String name) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(registry.url("/v1/tenants/acme/adapters/" + name))
                .header("Authorization", ACME).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return new JsonObject(r.body()).getInteger("active_version");
    }
}
