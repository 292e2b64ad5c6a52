package dev.chorus.registry;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** {@link RegistryApiTest} against the packaged fast-jar, its embedded broker started by the inherited test resource. */
@QuarkusIntegrationTest
class RegistryApiIT extends RegistryApiTest {
}
