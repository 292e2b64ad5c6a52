package dev.chorus.deploy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Checks rendered objects offline, as strictly as {@code kubeconform -strict} would: Kubernetes' own kinds
 * against fabric8's typed models (generated from the Kubernetes OpenAPI), where a field the model does not know
 * is an error rather than silently kept; custom resources against the OpenAPI v3 schema of their CRD, made
 * strict the same way (an object schema with properties accepts no others unless it preserves unknown fields).
 */
public final class ManifestValidator {
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS);
    private final Map<String, JsonSchema> schemas = new HashMap<>(); // by group/version/kind

    /** Loads every CRD in {@code crdDirectory} (each version's schema). */
    public ManifestValidator(Path crdDirectory) {
        JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4);
        try (Stream<Path> files = Files.list(crdDirectory)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                for (ObjectNode crd : Overlay.parse(file)) {
                    String group = crd.at("/spec/group").asText();
                    String kind = crd.at("/spec/names/kind").asText();
                    for (JsonNode version : crd.at("/spec/versions")) {
                        JsonNode schema = strict(version.at("/schema/openAPIV3Schema").deepCopy());
                        schemas.put(group + "/" + version.path("name").asText() + "/" + kind, factory.getSchema(schema));
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the CRDs in " + crdDirectory, e);
        }
        if (schemas.isEmpty()) {
            throw new IllegalStateException("no CRDs in " + crdDirectory);
        }
    }

    /** What is wrong with {@code object}; empty when it is valid. */
    public List<String> problems(ObjectNode object) {
        String apiVersion = object.path("apiVersion").asText();
        String kind = object.path("kind").asText();
        if (apiVersion.isEmpty() || kind.isEmpty()) {
            return List.of("an object without apiVersion or kind");
        }
        String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
        String version = apiVersion.substring(apiVersion.indexOf('/') + 1);
        JsonSchema schema = schemas.get(group + "/" + version + "/" + kind);
        return schema != null ? againstSchema(schema, object) : againstModel(object);
    }

    private static List<String> againstSchema(JsonSchema schema, ObjectNode object) {
        List<String> problems = new ArrayList<>();
        for (ValidationMessage m : schema.validate(object)) {
            problems.add(m.getMessage());
        }
        return problems;
    }

    private static List<String> againstModel(ObjectNode object) {
        List<String> problems = new ArrayList<>();
        Object typed = typed(object, KubernetesResource.class, problems);
        if (problems.isEmpty() && (typed == null || typed instanceof GenericKubernetesResource)) {
            return List.of("no CRD and no Kubernetes model for " + object.path("apiVersion").asText() + " " + object.path("kind").asText());
        }
        return problems;
    }

    /** What is wrong with {@code part} read as fabric8's {@code model} (a pod template kept in a ConfigMap, say). */
    public List<String> problems(JsonNode part, Class<?> model) {
        List<String> problems = new ArrayList<>();
        typed(part, model, problems);
        return problems;
    }

    private static Object typed(JsonNode node, Class<?> model, List<String> problems) {
        Object typed;
        try {
            typed = JSON.treeToValue(node, model);
        } catch (IOException | IllegalArgumentException e) {
            problems.add("does not read as " + model.getSimpleName() + ": " + e.getMessage().lines().findFirst().orElse(""));
            return null;
        }
        if (!(typed instanceof GenericKubernetesResource)) { // no model: nothing to compare with
            unknownFields(typed, "", problems);
        }
        return typed;
    }

    /** fabric8 keeps fields its model does not know in additionalProperties: any there is a misspelling or a wrong level. */
    private static void unknownFields(Object value, String path, List<String> problems) {
        if (value instanceof Collection<?> c) {
            int i = 0;
            for (Object item : c) {
                unknownFields(item, path + "[" + i++ + "]", problems);
            }
            return;
        }
        if (value instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                unknownFields(e.getValue(), path + "[" + e.getKey() + "]", problems);
            }
            return;
        }
        if (value == null || !value.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Method getter : value.getClass().getMethods()) {
            if (getter.getParameterCount() != 0 || Modifier.isStatic(getter.getModifiers())
                    || !getter.getName().startsWith("get") || getter.getDeclaringClass() == Object.class) {
                continue;
            }
            Object field = invoke(getter, value);
            if (getter.getName().equals("getAdditionalProperties")) {
                if (field instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    problems.add("unknown field" + (extra.size() > 1 ? "s " : " ") + extra.keySet() + " at " + (path.isEmpty() ? "." : path));
                }
            } else {
                String name = getter.getName().substring(3);
                unknownFields(field, path + "." + Character.toLowerCase(name.charAt(0)) + name.substring(1), problems);
            }
        }
    }

    private static Object invoke(Method getter, Object target) {
        try {
            return getter.invoke(target);
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("cannot read " + getter, e);
        }
    }

    /**
     * The schema as the API server applies it, minus pruning: OpenAPI's nullable becomes a null type, and
     * unknown fields are rejected instead of dropped. Kubernetes' x- keywords are removed (JSON Schema has none).
     */
    static JsonNode strict(JsonNode schema) {
        if (schema instanceof ArrayNode a) {
            a.forEach(ManifestValidator::strict);
            return a;
        }
        if (!(schema instanceof ObjectNode s)) {
            return schema;
        }
        boolean preserve = s.path("x-kubernetes-preserve-unknown-fields").asBoolean(false);
        if (s.has("properties") && !s.has("additionalProperties") && !preserve) {
            s.put("additionalProperties", false);
        }
        if (s.path("nullable").asBoolean(false) && s.path("type").isTextual()) {
            s.putArray("type").add(s.path("type").asText()).add("null");
        }
        s.remove("nullable");
        s.remove("example"); // OpenAPI's, documentation only
        for (Iterator<String> names = s.fieldNames(); names.hasNext(); ) {
            if (names.next().startsWith("x-kubernetes-")) {
                names.remove();
            }
        }
        // Recurse into subschemas only: under "properties" the keys are field names, not keywords.
        s.fields().forEachRemaining(e -> {
            if (e.getKey().equals("properties") || e.getKey().equals("patternProperties")) {
                e.getValue().forEach(ManifestValidator::strict);
            } else if (e.getValue().isContainerNode() && !e.getKey().equals("enum") && !e.getKey().equals("required")
                    && !e.getKey().equals("default")) {
                strict(e.getValue());
            }
        });
        return s;
    }
}
