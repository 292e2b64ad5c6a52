package dev.chorus.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** One k8s/ overlay as {@code kubectl kustomize} renders it: the objects, and look-ups tests share. */
public final class Overlay {
    public static final List<String> NAMES = List.of("local", "production");
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ConcurrentHashMap<String, Overlay> RENDERED = new ConcurrentHashMap<>();

    public final String name;
    public final List<ObjectNode> objects;

    private Overlay(String name, List<ObjectNode> objects) {
        this.name = name;
        this.objects = objects;
    }

    /** Rendered once per test JVM: kustomize takes about a second per overlay. */
    public static Overlay of(String name) {
        return RENDERED.computeIfAbsent(name, n -> new Overlay(n, parse(kustomize(k8sDirectory().resolve("overlays").resolve(n)))));
    }

    static Path k8sDirectory() {
        return Path.of(System.getProperty("chorus.k8s.dir", "../k8s")).toAbsolutePath().normalize();
    }

    static String kustomize(Path directory) {
        try {
            Process p = new ProcessBuilder("kubectl", "kustomize", directory.toString()).redirectErrorStream(false).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError("kubectl kustomize " + directory + " failed: " + err);
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError("kubectl is needed to render k8s/ (https://kubernetes.io/docs/tasks/tools/): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static List<ObjectNode> parse(String yaml) {
        List<ObjectNode> objects = new ArrayList<>();
        try (var parser = YAML.getFactory().createParser(yaml)) {
            for (var it = YAML.readValues(parser, JsonNode.class); it.hasNext(); ) {
                JsonNode n = it.next();
                if (n != null && n.isObject()) {
                    objects.add((ObjectNode) n);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return objects;
    }

    static List<ObjectNode> parse(Path file) {
        try {
            return parse(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Stream<ObjectNode> ofKind(String kind) {
        return objects.stream().filter(o -> kind.equals(o.path("kind").asText()));
    }

    public Optional<ObjectNode> find(String kind, String name) {
        return ofKind(kind).filter(o -> name.equals(o.at("/metadata/name").asText())).findFirst();
    }

    public ObjectNode get(String kind, String name) {
        return find(kind, name).orElseThrow(() -> new AssertionError(this.name + " has no " + kind + " " + name));
    }

    /** The Deployment or StatefulSet of a service (chorus-serving, chorus-registry, chorus-training). */
    public ObjectNode workload(String name) {
        return objects.stream()
                .filter(isKind("Deployment").or(isKind("StatefulSet")))
                .filter(o -> name.equals(o.at("/metadata/name").asText()))
                .findFirst().orElseThrow(() -> new AssertionError(this.name + " has no workload " + name));
    }

    static Predicate<ObjectNode> isKind(String kind) {
        return o -> kind.equals(o.path("kind").asText());
    }

    public static String describe(JsonNode o) {
        return o.path("kind").asText() + " " + o.at("/metadata/name").asText();
    }

    @Override
    public String toString() {
        return name;
    }
}
