package dev.chorus.serving;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** {@link CompletionsTest} against the packaged fast-jar, as users run it. */
@QuarkusIntegrationTest
class CompletionsIT extends CompletionsTest {
}
