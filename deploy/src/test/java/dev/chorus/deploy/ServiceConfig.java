package dev.chorus.deploy;

import dev.chorus.edge.auth.AuthConfig;
import dev.chorus.edge.kafka.KafkaSecurityConfig;
import dev.chorus.edge.topics.TopicsConfig;
import dev.chorus.registry.RegistryConfig;
import dev.chorus.serving.ChorusConfig;
import dev.chorus.training.TrainingConfig;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithName;
import io.smallrye.config.WithParentName;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.net.URL;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * What one service reads: its HTTP port and the configuration properties it knows, from its own
 * application.properties and its (and the service edge's) {@code @ConfigMapping} interfaces.
 */
public record ServiceConfig(String workload, Class<?> anchor, List<Class<?>> mappings) {
    /** The service edge's settings, which every service has. */
    private static final List<Class<?>> EDGE = List.of(AuthConfig.class, TopicsConfig.class, KafkaSecurityConfig.class);
    public static final List<ServiceConfig> ALL = List.of(
            new ServiceConfig("chorus-serving", ChorusConfig.class, with(ChorusConfig.class)),
            new ServiceConfig("chorus-registry", RegistryConfig.class, with(RegistryConfig.class)),
            new ServiceConfig("chorus-training", TrainingConfig.class, with(TrainingConfig.class)));

    private static List<Class<?>> with(Class<?> own) {
        return java.util.stream.Stream.concat(java.util.stream.Stream.of(own), EDGE.stream()).toList();
    }

    public static ServiceConfig of(String workload) {
        return ALL.stream().filter(s -> s.workload.equals(workload)).findFirst().orElseThrow();
    }

    /** The service's own application.properties (each service jar has one; the anchor class says whose). */
    public Properties applicationProperties() {
        URL location = anchor.getProtectionDomain().getCodeSource().getLocation();
        String base = location.toString();
        String url = base.endsWith(".jar") ? "jar:" + base + "!/application.properties"
                : base + (base.endsWith("/") ? "" : "/") + "application.properties";
        Properties p = new Properties();
        try (InputStream in = new URL(url).openStream()) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + url, e);
        }
        return p;
    }

    /** Where /q/metrics is served: the management interface's port when the service has one, else the HTTP port. */
    public int metricsPort() {
        Properties p = applicationProperties();
        return "true".equals(p.getProperty("quarkus.management.enabled")) ? Integer.parseInt(p.getProperty("quarkus.management.port"))
                : httpPort();
    }

    public int httpPort() {
        return Integer.parseInt(applicationProperties().getProperty("quarkus.http.port"));
    }

    /** Every property name the service reads; {@code *} stands for a map key (a tenant's name). */
    public Set<String> propertyNames() {
        Set<String> names = new TreeSet<>();
        for (String key : applicationProperties().stringPropertyNames()) {
            names.add(key.startsWith("%") ? key.substring(key.indexOf('.') + 1) : key);
        }
        for (Class<?> mapping : mappings) {
            collect(mapping, mapping.getAnnotation(ConfigMapping.class).prefix(), names);
        }
        return names;
    }

    /** Whether environment variable {@code env} maps to one of the properties (SmallRye's rule: upper case, '_' for the rest). */
    public boolean reads(String env) {
        return propertyNames().stream().anyMatch(p -> envPattern(p).matcher(env).matches());
    }

    static Pattern envPattern(String property) {
        StringBuilder regex = new StringBuilder();
        for (String part : property.split("\\*", -1)) {
            if (regex.length() > 0 || property.startsWith("*")) {
                regex.append("[A-Z0-9_]+");
            }
            regex.append(Pattern.quote(part.toUpperCase().replaceAll("[^A-Z0-9]", "_")));
        }
        return Pattern.compile(regex.toString());
    }

    private static void collect(Class<?> mapping, String prefix, Set<String> names) {
        for (Method m : mapping.getMethods()) {
            if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || m.isDefault()) {
                continue;
            }
            String name = m.isAnnotationPresent(WithParentName.class) ? prefix
                    : prefix + "." + (m.isAnnotationPresent(WithName.class) ? m.getAnnotation(WithName.class).value() : kebab(m.getName()));
            Class<?> type = m.getReturnType();
            if (type == java.util.Map.class) {
                Type value = ((ParameterizedType) m.getGenericReturnType()).getActualTypeArguments()[1];
                if (value instanceof Class<?> c && isGroup(c)) {
                    collect(c, name + ".*", names);
                } else {
                    names.add(name + ".*");
                }
            } else if (isGroup(type)) {
                collect(type, name, names);
            } else {
                names.add(name);
            }
        }
    }

    private static boolean isGroup(Class<?> type) {
        return type.isInterface() && type.getName().startsWith("dev.chorus.");
    }

    static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase();
    }
}
