package dev.chorus.tests.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import com.tngtech.archunit.lang.syntax.ArchRuleDefinition;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The rules that keep the module and package structure as ARCHITECTURE.md draws it, checked on the
 * production classes of every module (this module has all of them on its test classpath).
 */
@AnalyzeClasses(packages = "dev.chorus", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    /** Root packages of the deployable services; none may use another. */
    static final List<String> SERVICES = List.of("dev.chorus.serving", "dev.chorus.registry", "dev.chorus.training", "dev.chorus.console");

    /** Packages whose job is HTTP: the only places allowed to know status codes. */
    static final String[] EDGE_PACKAGES = {"..api..", "..edge.."};

    /** The rules below are only as good as the classes they see: every module must be on this module's classpath. */
    @ArchTest
    static void everyModuleIsAnalysed(JavaClasses classes) {
        for (String module : List.of("dev.chorus.engine", "dev.chorus.kafka", "dev.chorus.kafka.embedded", "dev.chorus.edge", "dev.chorus.serving",
                "dev.chorus.registry", "dev.chorus.training", "dev.chorus.console")) {
            assertTrue(classes.containPackage(module), module + " is not on the analysed classpath");
        }
    }

    @ArchTest
    static void noPackageCycles(JavaClasses classes) {
        slices().matching("dev.chorus.(**)").should().beFreeOfCycles()
            .because("a package graph without cycles can be read bottom-up and changed one layer at a time").check(classes);
    }

    @ArchTest
    static void engineIsFrameworkFree(JavaClasses classes) {
        noClasses().that().resideInAPackage("dev.chorus.engine..")
            .should().dependOnClassesThat().resideInAnyPackage("io.quarkus..", "io.vertx..", "io.smallrye..", "org.apache.kafka..",
                    "jakarta..", "javax.ws..", "org.eclipse.microprofile..", "io.netty..")
            .because("the engine is a plain library: model math isolated from transport").check(classes);
    }

    @ArchTest
    static void servicesAreIndependent(JavaClasses classes) {
        for (String service : SERVICES) {
            String[] others = SERVICES.stream().filter(s -> !s.equals(service)).map(s -> s + "..").toArray(String[]::new);
            noClasses().that().resideInAPackage(service + "..").should().dependOnClassesThat().resideInAnyPackage(others)
                    .because("services depend on engine and kafka, never on each other").allowEmptyShould(true).check(classes);
        }
    }

    @ArchTest
    static void coreExceptionsCarryNoHttpStatus(JavaClasses classes) {
        ArchRuleDefinition.classes()
            .that().areAssignableTo(Throwable.class).and().resideInAPackage("dev.chorus..").and().resideOutsideOfPackages(EDGE_PACKAGES)
            .should(carryNoHttpStatus())
            .because("typed exceptions in the core are mapped to HTTP statuses only at the edge").check(classes);
    }

    private static final Pattern STATUS_FIELD = Pattern.compile("(?i).*(status|httpcode|statuscode).*");
    private static final Set<String> HTTP_PACKAGES = Set.of("io.vertx.core.http", "io.netty.handler.codec.http", "jakarta.ws.rs.core",
            "org.jboss.resteasy.reactive");

    private static ArchCondition<JavaClass> carryNoHttpStatus() {
        return new ArchCondition<>("carry no HTTP status") {
            @Override
            public void check(JavaClass item, ConditionEvents events) {
                for (JavaField f : item.getFields()) {
                    boolean number = f.getRawType().isPrimitive() || f.getRawType().isAssignableTo(Number.class);
                    if (number && STATUS_FIELD.matcher(f.getName()).matches()) {
                        events.add(SimpleConditionEvent.violated(item, item.getName() + " has a status field '" + f.getName() + "'"));
                    }
                }
                item.getDirectDependenciesFromSelf().stream().map(d -> d.getTargetClass())
                        .filter(httpType())
                        .forEach(t -> events.add(SimpleConditionEvent.violated(item, item.getName() + " uses the HTTP type " + t.getName())));
            }
        };
    }

    private static DescribedPredicate<JavaClass> httpType() {
        return DescribedPredicate.describe("an HTTP type", c -> HTTP_PACKAGES.stream().anyMatch(p -> c.getPackageName().startsWith(p)));
    }
}
