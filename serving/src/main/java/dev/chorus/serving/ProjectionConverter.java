package dev.chorus.serving;

import dev.chorus.engine.llama.Projection;
import org.eclipse.microprofile.config.spi.Converter;

/** chorus.adapters.target-modules entries: PEFT module names (q_proj, ...) or the short names (q, ...), as the engine reads them. */
public final class ProjectionConverter implements Converter<Projection> {
    @Override
    public Projection convert(String value) {
        try {
            return Projection.fromModuleName(value.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("chorus.adapters.target-modules: " + e.getMessage(), e);
        }
    }
}
