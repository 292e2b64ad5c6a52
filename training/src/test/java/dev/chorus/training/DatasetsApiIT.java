package dev.chorus.training;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** {@link DatasetsApiTest} against the packaged fast-jar, its embedded broker started by the inherited test resource. */
@QuarkusIntegrationTest
class DatasetsApiIT extends DatasetsApiTest {
}
